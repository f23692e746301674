//! Users, their directory role assignments, and Defender device groups (groups, devices,
//! and the groups a user may see).

use crate::{map_unique, Result, Store, StoreError};
use sqlx::Row;

/// A user of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Object id (GUID).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// User principal name, lower case.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// PHC string of the password hash (Argon2id); `None`: no password (cannot sign in).
    pub password_hash: Option<String>,
    /// Whether the account may sign in.
    pub account_enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// When the password expires (unix seconds); `None`: never.
    pub password_expires_at: Option<i64>,
    /// When the password was last set (unix seconds).
    pub password_changed_at: Option<i64>,
    /// Scoped to every device group (`true`) or only to its listed groups.
    pub all_device_groups: bool,
    /// Failed sign-ins in a row.
    pub failed_sign_ins: i64,
    /// Lockouts since the last successful sign-in.
    pub lockouts: i64,
    /// Locked out until (unix seconds).
    pub locked_until: Option<i64>,
}

/// A change to a user; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// Enable or disable.
    pub account_enabled: Option<bool>,
    /// New password hash, with its change time and expiry.
    pub password: Option<PasswordChange>,
}

/// A new password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange {
    /// PHC hash string.
    pub hash: String,
    /// Unix seconds.
    pub changed_at: i64,
    /// Unix seconds; `None`: never expires.
    pub expires_at: Option<i64>,
}

/// A directory role (Entra built-in role template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRoleRow {
    /// Role template id (GUID).
    pub template_id: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
}

/// A directory role assigned to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignmentRow {
    /// Assignment id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The user.
    pub principal_id: String,
    /// Role template id.
    pub role_template_id: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A Defender device group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGroupRow {
    /// Tenant.
    pub tenant_id: String,
    /// Group id (Defender's `rbacGroupId`).
    pub id: i64,
    /// Name (`rbacGroupName`).
    pub name: String,
    /// Description.
    pub description: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A device known to Defender, in at most one device group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// Tenant.
    pub tenant_id: String,
    /// MDE device id, lower case.
    pub device_id: String,
    /// FQDN, lower case.
    pub device_name: String,
    /// Its group.
    pub group_id: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// What the resource server needs to know about a signed-in user, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccessRow {
    /// Whether the account is enabled.
    pub account_enabled: bool,
    /// Assigned role template ids.
    pub role_template_ids: Vec<String>,
    /// All device groups, or only `device_group_ids`.
    pub all_device_groups: bool,
    /// The listed device groups.
    pub device_group_ids: Vec<i64>,
}

const USER_COLUMNS: &str = "id, tenant_id, user_principal_name, display_name, password_hash, account_enabled, created_at, \
     password_expires_at, password_changed_at, all_device_groups, failed_sign_ins, lockouts, locked_until";

fn user_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<UserRow> {
    Ok(UserRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        user_principal_name: r.try_get("user_principal_name")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        account_enabled: r.try_get::<i64, _>("account_enabled")? != 0,
        created_at: r.try_get("created_at")?,
        password_expires_at: r.try_get("password_expires_at")?,
        password_changed_at: r.try_get("password_changed_at")?,
        all_device_groups: r.try_get::<i64, _>("all_device_groups")? != 0,
        failed_sign_ins: r.try_get("failed_sign_ins")?,
        lockouts: r.try_get("lockouts")?,
        locked_until: r.try_get("locked_until")?,
    })
}

fn group_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<DeviceGroupRow> {
    Ok(DeviceGroupRow {
        tenant_id: r.try_get("tenant_id")?,
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Revokes every refresh token and browser session of a user (inside a transaction).
async fn revoke_in(
    conn: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    user_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM sign_in_sessions WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    // ----- users -----------------------------------------------------------------------

    /// Creates a user. A second user with the same UPN in the tenant is a conflict.
    pub async fn insert_user(&self, u: &UserRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&u.id)
        .bind(&u.tenant_id)
        .bind(u.user_principal_name.to_lowercase())
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(u.account_enabled as i64)
        .bind(u.created_at)
        .bind(u.password_expires_at)
        .bind(u.password_changed_at)
        .bind(u.all_device_groups as i64)
        .bind(u.failed_sign_ins)
        .bind(u.lockouts)
        .bind(u.locked_until)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, &format!("user {}", u.user_principal_name)))?;
        Ok(())
    }

    /// A user of the tenant by object id.
    pub async fn get_user(&self, tenant_id: &str, id: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// A user of the tenant by user principal name (case-insensitive).
    pub async fn find_user_by_upn(&self, tenant_id: &str, upn: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND user_principal_name = $2"
        ))
        .bind(tenant_id)
        .bind(upn.to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The users of a tenant, oldest first.
    pub async fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at, user_principal_name"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Applies a change to a user in one transaction. With `revoke_at`, every refresh
    /// token and session of the user is revoked in the same transaction (disabling the
    /// account, changing its password). Returns false if the user does not exist.
    pub async fn update_user(
        &self,
        tenant_id: &str,
        id: &str,
        change: &UserUpdate,
        revoke_at: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let (hash, changed, expires, set_password) = match &change.password {
            Some(p) => (Some(p.hash.clone()), Some(p.changed_at), p.expires_at, 1i64),
            None => (None, None, None, 0),
        };
        let done = sqlx::query(
            "UPDATE users SET \
             display_name = COALESCE($3, display_name), \
             account_enabled = COALESCE($4, account_enabled), \
             password_hash = CASE WHEN $5 = 1 THEN $6 ELSE password_hash END, \
             password_changed_at = CASE WHEN $5 = 1 THEN $7 ELSE password_changed_at END, \
             password_expires_at = CASE WHEN $5 = 1 THEN $8 ELSE password_expires_at END, \
             failed_sign_ins = CASE WHEN $5 = 1 THEN 0 ELSE failed_sign_ins END, \
             lockouts = CASE WHEN $5 = 1 THEN 0 ELSE lockouts END, \
             locked_until = CASE WHEN $5 = 1 THEN NULL ELSE locked_until END \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(&change.display_name)
        .bind(change.account_enabled.map(i64::from))
        .bind(set_password)
        .bind(hash)
        .bind(changed)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(now) = revoke_at {
            revoke_in(&mut tx, tenant_id, id, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes every refresh token and browser session of a user
    /// (`revokeSignInSessions`). Returns false if the user does not exist.
    pub async fn revoke_user_sessions(&self, tenant_id: &str, id: &str, now: i64) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let exists = sqlx::query("SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        revoke_in(&mut tx, tenant_id, id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a user with everything that refers to it. Returns false if absent.
    pub async fn delete_user(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts a failed sign-in, atomically. On the `threshold`-th failure in a row the
    /// account is locked until `now + base_lockout_secs × 2^(lockouts so far)` (capped at
    /// 2^16) and the count starts again. Returns the lock's end if one is in force now.
    pub async fn record_failed_sign_in(
        &self,
        tenant_id: &str,
        id: &str,
        now: i64,
        threshold: i64,
        base_lockout_secs: i64,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "UPDATE users SET \
             failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= $4 THEN 0 ELSE failed_sign_ins + 1 END, \
             locked_until = CASE WHEN failed_sign_ins + 1 >= $4 THEN $3 + $5 * (1 << MIN(lockouts, 16)) ELSE locked_until END, \
             lockouts = CASE WHEN failed_sign_ins + 1 >= $4 THEN lockouts + 1 ELSE lockouts END \
             WHERE tenant_id = $1 AND id = $2 RETURNING locked_until",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(now)
        .bind(threshold)
        .bind(base_lockout_secs)
        .fetch_optional(self.pool())
        .await?;
        let until: Option<i64> = match row {
            Some(r) => r.try_get("locked_until")?,
            None => None,
        };
        Ok(until.filter(|u| *u > now))
    }

    /// Resets the failure count and lockout history after a successful sign-in.
    pub async fn record_successful_sign_in(&self, tenant_id: &str, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE users SET failed_sign_ins = 0, lockouts = 0, locked_until = NULL \
             WHERE tenant_id = $1 AND id = $2 AND (failed_sign_ins <> 0 OR lockouts <> 0 OR locked_until IS NOT NULL)",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    // ----- directory roles -------------------------------------------------------------

    /// Inserts or refreshes a role of the built-in catalogue.
    pub async fn upsert_directory_role(&self, role: &DirectoryRoleRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO directory_roles (template_id, display_name, description) VALUES ($1, $2, $3) \
             ON CONFLICT (template_id) DO UPDATE SET display_name = excluded.display_name, description = excluded.description",
        )
        .bind(&role.template_id)
        .bind(&role.display_name)
        .bind(&role.description)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Assigns a role; an existing identical assignment is returned instead of a duplicate.
    pub async fn insert_role_assignment(&self, a: &RoleAssignmentRow) -> Result<RoleAssignmentRow> {
        sqlx::query(
            "INSERT INTO directory_role_assignments (id, tenant_id, principal_id, role_template_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (principal_id, role_template_id) DO NOTHING",
        )
        .bind(&a.id)
        .bind(&a.tenant_id)
        .bind(&a.principal_id)
        .bind(&a.role_template_id)
        .bind(a.created_at)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "role or user"))?;
        self.list_role_assignments(&a.tenant_id, Some(&a.principal_id))
            .await?
            .into_iter()
            .find(|x| x.role_template_id == a.role_template_id)
            .ok_or_else(|| StoreError::NotFound("role assignment".into()))
    }

    /// The tenant's role assignments, optionally of one user.
    pub async fn list_role_assignments(
        &self,
        tenant_id: &str,
        principal_id: Option<&str>,
    ) -> Result<Vec<RoleAssignmentRow>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, principal_id, role_template_id, created_at FROM directory_role_assignments \
             WHERE tenant_id = $1 AND ($2 IS NULL OR principal_id = $2) ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .bind(principal_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoleAssignmentRow {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    principal_id: r.try_get("principal_id")?,
                    role_template_id: r.try_get("role_template_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Removes a role assignment by id. Returns false if absent.
    pub async fn delete_role_assignment(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM directory_role_assignments WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Everything the resource server checks for a user, or `None` if the user does not
    /// exist in the tenant.
    pub async fn user_access(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Option<UserAccessRow>> {
        let Some(user) = sqlx::query(
            "SELECT account_enabled, all_device_groups FROM users WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let roles = sqlx::query(
            "SELECT role_template_id FROM directory_role_assignments WHERE tenant_id = $1 AND principal_id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("role_template_id"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
        let all_device_groups = user.try_get::<i64, _>("all_device_groups")? != 0;
        let device_group_ids = if all_device_groups {
            Vec::new()
        } else {
            self.user_device_groups(tenant_id, user_id).await?
        };
        Ok(Some(UserAccessRow {
            account_enabled: user.try_get::<i64, _>("account_enabled")? != 0,
            role_template_ids: roles,
            all_device_groups,
            device_group_ids,
        }))
    }

    // ----- device groups ---------------------------------------------------------------

    /// Creates a device group. Without `id`, the next free id of the tenant (from 1).
    pub async fn insert_device_group(
        &self,
        tenant_id: &str,
        id: Option<i64>,
        name: &str,
        description: &str,
        now: i64,
    ) -> Result<DeviceGroupRow> {
        let mut tx = self.pool().begin().await?;
        let id = match id {
            Some(id) => id,
            None => sqlx::query(
                "SELECT COALESCE(MAX(id), 0) + 1 AS next FROM device_groups WHERE tenant_id = $1",
            )
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("next")?,
        };
        sqlx::query(
            "INSERT INTO device_groups (tenant_id, id, name, name_key, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(name)
        .bind(name.to_lowercase())
        .bind(description)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &format!("device group '{name}'")))?;
        tx.commit().await?;
        Ok(DeviceGroupRow {
            tenant_id: tenant_id.into(),
            id,
            name: name.into(),
            description: description.into(),
            created_at: now,
        })
    }

    /// The tenant's device groups, by id.
    pub async fn list_device_groups(&self, tenant_id: &str) -> Result<Vec<DeviceGroupRow>> {
        let rows = sqlx::query(
            "SELECT tenant_id, id, name, description, created_at FROM device_groups WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(group_from_row).collect()
    }

    /// A device group by name (case-insensitive) or id.
    pub async fn find_device_group(
        &self,
        tenant_id: &str,
        name_or_id: &str,
    ) -> Result<Option<DeviceGroupRow>> {
        let id: Option<i64> = name_or_id.parse().ok();
        let row = sqlx::query(
            "SELECT tenant_id, id, name, description, created_at FROM device_groups \
             WHERE tenant_id = $1 AND (name_key = $2 OR id = $3)",
        )
        .bind(tenant_id)
        .bind(name_or_id.to_lowercase())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    /// Deletes a device group: its devices become ungrouped, users lose it. Returns false
    /// if absent.
    pub async fn delete_device_group(&self, tenant_id: &str, id: i64) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE devices SET group_id = NULL WHERE tenant_id = $1 AND group_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM device_groups WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Registers a device (or moves it to another group, or renames it).
    pub async fn upsert_device(&self, d: &DeviceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO devices (tenant_id, device_id, device_name, group_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, device_id) DO UPDATE SET device_name = excluded.device_name, group_id = excluded.group_id",
        )
        .bind(&d.tenant_id)
        .bind(d.device_id.to_lowercase())
        .bind(d.device_name.to_lowercase())
        .bind(d.group_id)
        .bind(d.created_at)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "device group"))?;
        Ok(())
    }

    /// The tenant's devices, by name.
    pub async fn list_devices(&self, tenant_id: &str) -> Result<Vec<DeviceRow>> {
        let rows = sqlx::query(
            "SELECT tenant_id, device_id, device_name, group_id, created_at FROM devices WHERE tenant_id = $1 ORDER BY device_name",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeviceRow {
                    tenant_id: r.try_get("tenant_id")?,
                    device_id: r.try_get("device_id")?,
                    device_name: r.try_get("device_name")?,
                    group_id: r.try_get("group_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Scopes a user to every device group, or only to `groups` (which replace the list).
    pub async fn set_user_device_groups(
        &self,
        tenant_id: &str,
        user_id: &str,
        all: bool,
        groups: &[i64],
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done =
            sqlx::query("UPDATE users SET all_device_groups = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(user_id)
                .bind(all as i64)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM user_device_groups WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if !all {
            for g in groups {
                sqlx::query(
                    "INSERT INTO user_device_groups (tenant_id, user_id, group_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(tenant_id)
                .bind(user_id)
                .bind(g)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_unique(e, &format!("device group {g}")))?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The device groups a user is listed in (meaningful when not scoped to all).
    pub async fn user_device_groups(&self, tenant_id: &str, user_id: &str) -> Result<Vec<i64>> {
        sqlx::query(
            "SELECT group_id FROM user_device_groups WHERE tenant_id = $1 AND user_id = $2 ORDER BY group_id",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| Ok(r.try_get("group_id")?))
        .collect()
    }

    /// The (id, name) of every device in the given groups.
    pub async fn devices_in_groups(
        &self,
        tenant_id: &str,
        groups: &[i64],
    ) -> Result<Vec<(String, String)>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..groups.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT device_id, device_name FROM devices WHERE tenant_id = $1 AND group_id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(tenant_id);
        for g in groups {
            q = q.bind(g);
        }
        q.fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("device_id")?, r.try_get("device_name")?)))
            .collect()
    }
}
