//! Defender device groups (RBAC): a tenant's named groups, its devices each in at most one
//! group, and the groups a user may see (all by default).

use crate::directory::{now_secs, Directory};
use crate::error::DirectoryError;
use crate::users::DeviceGroupScope;
use palisade_store::{DeviceGroupRow, DeviceRow};

type Result<T> = std::result::Result<T, DirectoryError>;

impl Directory {
    /// Creates a device group (`id` fixed for demo data, else the next free one).
    pub async fn create_device_group(
        &self,
        tenant_id: &str,
        name: &str,
        description: &str,
        id: Option<i64>,
    ) -> Result<DeviceGroupRow> {
        self.require_tenant(tenant_id).await?;
        let name = name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(DirectoryError::Invalid(
                "a device group name has 1 to 128 characters".into(),
            ));
        }
        if let Some(id) = id {
            if id <= 0 {
                return Err(DirectoryError::Invalid(
                    "a device group id is positive".into(),
                ));
            }
        }
        Ok(self
            .store()
            .insert_device_group(
                tenant_id,
                id,
                name,
                description.trim(),
                now_secs(self.clock()),
            )
            .await?)
    }

    /// The tenant's device groups.
    pub async fn list_device_groups(&self, tenant_id: &str) -> Result<Vec<DeviceGroupRow>> {
        Ok(self.store().list_device_groups(tenant_id).await?)
    }

    /// A device group by name or id.
    pub async fn get_device_group(
        &self,
        tenant_id: &str,
        name_or_id: &str,
    ) -> Result<DeviceGroupRow> {
        self.store()
            .find_device_group(tenant_id, name_or_id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("device group '{name_or_id}'")))
    }

    /// Deletes a device group; its devices become ungrouped.
    pub async fn delete_device_group(&self, tenant_id: &str, name_or_id: &str) -> Result<()> {
        let g = self.get_device_group(tenant_id, name_or_id).await?;
        self.store().delete_device_group(tenant_id, g.id).await?;
        Ok(())
    }

    /// Registers a device in a group (or in none), or moves it.
    pub async fn register_device(
        &self,
        tenant_id: &str,
        device_id: &str,
        device_name: &str,
        group: Option<&str>,
    ) -> Result<DeviceRow> {
        self.require_tenant(tenant_id).await?;
        let device_id = device_id.trim().to_lowercase();
        if device_id.is_empty() || device_id.len() > 128 || device_name.trim().is_empty() {
            return Err(DirectoryError::Invalid(
                "a device needs an id and a name".into(),
            ));
        }
        let group_id = match group {
            Some(g) => Some(self.get_device_group(tenant_id, g).await?.id),
            None => None,
        };
        let row = DeviceRow {
            tenant_id: tenant_id.into(),
            device_id,
            device_name: device_name.trim().to_lowercase(),
            group_id,
            created_at: now_secs(self.clock()),
        };
        self.store().upsert_device(&row).await?;
        Ok(row)
    }

    /// The tenant's devices.
    pub async fn list_devices(&self, tenant_id: &str) -> Result<Vec<DeviceRow>> {
        Ok(self.store().list_devices(tenant_id).await?)
    }

    /// Scopes a user to every device group or to the named ones (names or ids).
    pub async fn set_user_device_groups(
        &self,
        tenant_id: &str,
        user: &str,
        groups: Option<&[String]>,
    ) -> Result<DeviceGroupScope> {
        let user = self.get_user(tenant_id, user).await?;
        let scope = match groups {
            None => DeviceGroupScope::All,
            Some(names) => {
                let mut ids = Vec::new();
                for n in names {
                    ids.push(self.get_device_group(tenant_id, n).await?.id);
                }
                ids.sort();
                ids.dedup();
                DeviceGroupScope::Groups(ids)
            }
        };
        let (all, ids): (bool, &[i64]) = match &scope {
            DeviceGroupScope::All => (true, &[]),
            DeviceGroupScope::Groups(ids) => (false, ids),
        };
        self.store()
            .set_user_device_groups(tenant_id, &user.id, all, ids)
            .await?;
        Ok(scope)
    }

    /// A user's device-group scope.
    pub async fn user_device_groups(
        &self,
        tenant_id: &str,
        user: &str,
    ) -> Result<DeviceGroupScope> {
        let user = self.get_user(tenant_id, user).await?;
        Ok(if user.all_device_groups {
            DeviceGroupScope::All
        } else {
            DeviceGroupScope::Groups(self.store().user_device_groups(tenant_id, &user.id).await?)
        })
    }
}
