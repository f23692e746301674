//! Microsoft Sentinel workspaces connected to tenants (`sentinel_workspaces`): whether a
//! tenant's advanced hunting is the unified portal (Sentinel tables, workspace columns).

use sqlx::Row;

use crate::{Result, Store};

/// A tenant's connected Sentinel workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelWorkspaceRow {
    /// The tenant.
    pub tenant_id: String,
    /// The workspace id (a GUID): the `TenantId` column of the workspace's rows.
    pub workspace_id: String,
    /// When it was connected (unix seconds).
    pub connected_at: i64,
}

impl Store {
    /// Connects the tenant's Sentinel workspace `workspace_id`; connecting again keeps the
    /// first connection (its workspace id and time). Returns the connection.
    pub async fn connect_sentinel(
        &self,
        tenant_id: &str,
        workspace_id: &str,
        now: i64,
    ) -> Result<SentinelWorkspaceRow> {
        sqlx::query(
            "INSERT INTO sentinel_workspaces (tenant_id, workspace_id, connected_at) \
             VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(workspace_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        self.sentinel_workspace(tenant_id)
            .await?
            .ok_or_else(|| crate::StoreError::NotFound(format!("tenant '{tenant_id}'")))
    }

    /// Disconnects the tenant's Sentinel workspace; true when one was connected.
    pub async fn disconnect_sentinel(&self, tenant_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sentinel_workspaces WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The tenant's connected Sentinel workspace, if any (one indexed read).
    pub async fn sentinel_workspace(
        &self,
        tenant_id: &str,
    ) -> Result<Option<SentinelWorkspaceRow>> {
        let row = sqlx::query(
            "SELECT tenant_id, workspace_id, connected_at FROM sentinel_workspaces WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SentinelWorkspaceRow {
                tenant_id: r.try_get("tenant_id")?,
                workspace_id: r.try_get("workspace_id")?,
                connected_at: r.try_get("connected_at")?,
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connect_is_per_tenant_and_idempotent() {
        let store = Store::open_in_memory().await.unwrap();
        for id in ["a", "b"] {
            let t = crate::TenantRow {
                id: id.into(),
                display_name: id.into(),
                initial_domain: format!("{id}.example"),
                created_at: 0,
            };
            store.create_tenant(&t).await.unwrap();
        }
        let (a, b) = ("a".to_string(), "b".to_string());
        assert_eq!(store.sentinel_workspace(&a).await.unwrap(), None);
        let first = store.connect_sentinel(&a, "ws-1", 10).await.unwrap();
        let again = store.connect_sentinel(&a, "ws-2", 20).await.unwrap();
        assert_eq!(first, again, "connecting again keeps the first connection");
        assert_eq!(
            store.sentinel_workspace(&b).await.unwrap(),
            None,
            "tenant isolation"
        );
        assert!(!store.disconnect_sentinel(&b).await.unwrap());
        assert!(store.disconnect_sentinel(&a).await.unwrap());
        assert_eq!(store.sentinel_workspace(&a).await.unwrap(), None);
        // An unknown tenant cannot be connected (foreign key).
        assert!(store.connect_sentinel("nope", "ws", 1).await.is_err());
    }
}
