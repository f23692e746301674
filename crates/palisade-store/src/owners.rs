//! Owners of applications and service principals (Graph's `owners`): users and service
//! principals of the same tenant. Both ends are checked to belong to the tenant inside the
//! inserting transaction; every read and delete names the tenant. Deleting either end (or
//! the tenant) removes the row by cascade (migration `0007_owners.sql`).

use crate::{Result, Store, StoreError};
use sqlx::Row;

/// What is owned: an application or a service principal, by object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnedObject<'a> {
    /// An application registration (object id).
    Application(&'a str),
    /// A service principal (object id).
    ServicePrincipal(&'a str),
}

impl OwnedObject<'_> {
    fn id(&self) -> String {
        match self {
            OwnedObject::Application(id) | OwnedObject::ServicePrincipal(id) => {
                id.to_ascii_lowercase()
            }
        }
    }
}

/// The kind of directory object that owns something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// A user of the tenant.
    User,
    /// A service principal of the tenant.
    ServicePrincipal,
}

/// One owner of an application or service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRow {
    /// Tenant.
    pub tenant_id: String,
    /// The owned object's id.
    pub target_id: String,
    /// The owner's object id.
    pub owner_id: String,
    /// User or service principal.
    pub kind: OwnerKind,
    /// Unix seconds.
    pub created_at: i64,
}

fn from_row(r: &sqlx::sqlite::SqliteRow) -> Result<OwnerRow> {
    let user: Option<String> = r.try_get("owner_user_id")?;
    Ok(OwnerRow {
        tenant_id: r.try_get("tenant_id")?,
        target_id: r.try_get("target_id")?,
        owner_id: r.try_get("owner_id")?,
        kind: if user.is_some() {
            OwnerKind::User
        } else {
            OwnerKind::ServicePrincipal
        },
        created_at: r.try_get("created_at")?,
    })
}

const COLUMNS: &str = "tenant_id, target_id, owner_id, owner_user_id, created_at";

impl Store {
    /// Makes `owner_id` (a user or service principal of `tenant_id`) an owner of `target`
    /// (of `tenant_id` too). `Ok(false)` when it already is; [`StoreError::NotFound`] when
    /// either object is not in the tenant.
    pub async fn add_owner(
        &self,
        tenant_id: &str,
        target: OwnedObject<'_>,
        owner_id: &str,
        created_at: i64,
    ) -> Result<bool> {
        let target_id = target.id();
        let owner_id = owner_id.to_ascii_lowercase();
        let mut tx = self.pool().begin().await?;
        let target_sql = match target {
            OwnedObject::Application(_) => {
                "SELECT 1 FROM applications WHERE tenant_id = $1 AND id = $2"
            }
            OwnedObject::ServicePrincipal(_) => {
                "SELECT 1 FROM service_principals WHERE tenant_id = $1 AND id = $2"
            }
        };
        if sqlx::query(target_sql)
            .bind(tenant_id)
            .bind(&target_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(target_id));
        }
        let is_user = sqlx::query("SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(&owner_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let is_sp = !is_user
            && sqlx::query("SELECT 1 FROM service_principals WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(&owner_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if !is_user && !is_sp {
            return Err(StoreError::NotFound(owner_id));
        }
        let (app, sp) = match target {
            OwnedObject::Application(_) => (Some(target_id.as_str()), None),
            OwnedObject::ServicePrincipal(_) => (None, Some(target_id.as_str())),
        };
        let (owner_user, owner_sp) = if is_user {
            (Some(owner_id.as_str()), None)
        } else {
            (None, Some(owner_id.as_str()))
        };
        let done = sqlx::query(
            "INSERT INTO directory_owners (tenant_id, target_id, application_id, service_principal_id, \
             owner_id, owner_user_id, owner_service_principal_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (target_id, owner_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(&target_id)
        .bind(app)
        .bind(sp)
        .bind(&owner_id)
        .bind(owner_user)
        .bind(owner_sp)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The owners of `target` in `tenant_id`, oldest first.
    pub async fn list_owners(
        &self,
        tenant_id: &str,
        target: OwnedObject<'_>,
    ) -> Result<Vec<OwnerRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM directory_owners WHERE tenant_id = $1 AND target_id = $2 \
             ORDER BY created_at, owner_id"
        ))
        .bind(tenant_id)
        .bind(target.id())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Whether `owner_id` owns `target` in `tenant_id`.
    pub async fn is_owner(
        &self,
        tenant_id: &str,
        target: OwnedObject<'_>,
        owner_id: &str,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM directory_owners WHERE tenant_id = $1 AND target_id = $2 AND owner_id = $3",
        )
        .bind(tenant_id)
        .bind(target.id())
        .bind(owner_id.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await?
        .is_some())
    }

    /// Removes `owner_id` from the owners of `target`; `false` if it was not one.
    pub async fn remove_owner(
        &self,
        tenant_id: &str,
        target: OwnedObject<'_>,
        owner_id: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM directory_owners WHERE tenant_id = $1 AND target_id = $2 AND owner_id = $3",
        )
        .bind(tenant_id)
        .bind(target.id())
        .bind(owner_id.to_ascii_lowercase())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApplicationRow, ServicePrincipalRow, TenantRow, UserRow};

    async fn tenant(store: &Store, id: &str) {
        store
            .create_tenant(&TenantRow {
                id: id.into(),
                display_name: id.into(),
                initial_domain: format!("{id}.example"),
                created_at: 0,
            })
            .await
            .unwrap();
    }

    async fn app(store: &Store, tenant_id: &str, id: &str) -> ServicePrincipalRow {
        let app_id = format!("{id}-appid");
        store
            .insert_application(&ApplicationRow {
                id: id.into(),
                app_id: app_id.clone(),
                tenant_id: Some(tenant_id.into()),
                display_name: id.into(),
                sign_in_audience: "AzureADMyOrg".into(),
                is_public_client: false,
                definition_json: "{}".into(),
                identifier_uris: vec![],
                created_at: 0,
            })
            .await
            .unwrap();
        let sp = ServicePrincipalRow {
            id: format!("{id}-sp"),
            tenant_id: tenant_id.into(),
            app_id,
            created_at: 0,
        };
        store.insert_service_principal(&sp).await.unwrap();
        sp
    }

    async fn user(store: &Store, tenant_id: &str, id: &str) {
        store
            .insert_user(&UserRow {
                id: id.into(),
                tenant_id: tenant_id.into(),
                user_principal_name: format!("{id}@{tenant_id}.example"),
                display_name: id.into(),
                password_hash: None,
                account_enabled: true,
                created_at: 0,
                password_expires_at: None,
                password_changed_at: None,
                all_device_groups: true,
                failed_sign_ins: 0,
                lockouts: 0,
                locked_until: None,
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn owners_are_tenant_scoped_and_cascade() {
        let store = Store::open_in_memory().await.unwrap();
        tenant(&store, "t1").await;
        tenant(&store, "t2").await;
        let sp_a = app(&store, "t1", "a").await;
        let sp_b = app(&store, "t1", "b").await;
        app(&store, "t2", "c").await;
        user(&store, "t1", "u1").await;
        user(&store, "t2", "u2").await;
        let a = OwnedObject::Application("a");
        assert!(store.add_owner("t1", a, "u1", 1).await.unwrap());
        assert!(
            !store.add_owner("t1", a, "U1", 2).await.unwrap(),
            "duplicate"
        );
        assert!(store.add_owner("t1", a, &sp_b.id, 3).await.unwrap());
        // Cross-tenant: a user of t2, an app of t2, or t1's app named under t2.
        assert!(matches!(
            store.add_owner("t1", a, "u2", 4).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .add_owner("t1", OwnedObject::Application("c"), "u1", 4)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.add_owner("t2", a, "u2", 4).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.list_owners("t2", a).await.unwrap().is_empty());
        let owners = store.list_owners("t1", a).await.unwrap();
        assert_eq!(owners.len(), 2);
        assert_eq!(owners[0].kind, OwnerKind::User);
        assert_eq!(owners[1].kind, OwnerKind::ServicePrincipal);
        assert!(store.is_owner("t1", a, &sp_b.id).await.unwrap());
        assert!(!store.is_owner("t2", a, &sp_b.id).await.unwrap());
        // Service principals can be owned too.
        let spa = OwnedObject::ServicePrincipal(&sp_a.id);
        assert!(store.add_owner("t1", spa, "u1", 5).await.unwrap());
        // Deleting the owning app (and so its service principal) removes its ownerships.
        assert!(store.delete_application("t1", "b").await.unwrap());
        assert!(!store.is_owner("t1", a, &sp_b.id).await.unwrap());
        // Deleting the user removes theirs; removing twice reports false.
        assert!(store.delete_user("t1", "u1").await.unwrap());
        assert!(store.list_owners("t1", a).await.unwrap().is_empty());
        assert!(store.list_owners("t1", spa).await.unwrap().is_empty());
        assert!(!store.remove_owner("t1", a, "u1").await.unwrap());
    }
}
