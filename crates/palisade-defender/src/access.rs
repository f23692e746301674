//! The user half of a delegated call ("if you can do it in the portal you can do it in
//! the API"): the signed-in user's account state, Defender rights and device groups,
//! read through [`UserAccessSource`] on every delegated request, so a disabled account's
//! still-valid token stops working at once and role or group changes apply to the next
//! call. App-only calls never reach it.

use crate::auth::Caller;
use crate::hunting::DeviceSet;
use crate::permissions::Operation;
use palisade_directory::{DefenderRight, DeviceGroupScope, Directory, UserAccess};
use std::future::Future;
use std::pin::Pin;

/// A boxed future of [`UserAccessSource`].
pub type AccessFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Where the resource server reads users' rights and device groups.
pub trait UserAccessSource: Send + Sync + 'static {
    /// The user's access, or `None` if the user does not exist in the tenant.
    fn user_access<'a>(
        &'a self,
        tenant_id: &'a str,
        user_id: &'a str,
    ) -> AccessFuture<'a, Option<UserAccess>>;

    /// The devices of the given groups (for scoping hunting scans).
    fn devices_in_groups<'a>(
        &'a self,
        tenant_id: &'a str,
        groups: &'a [i64],
    ) -> AccessFuture<'a, DeviceSet>;

    /// The names of the given groups (for `whoami`).
    fn group_names<'a>(
        &'a self,
        tenant_id: &'a str,
        groups: &'a [i64],
    ) -> AccessFuture<'a, Vec<String>>;
}

/// The directory as the access source (the default).
#[derive(Debug, Clone)]
pub struct DirectoryAccess(pub Directory);

impl UserAccessSource for DirectoryAccess {
    fn user_access<'a>(
        &'a self,
        tenant_id: &'a str,
        user_id: &'a str,
    ) -> AccessFuture<'a, Option<UserAccess>> {
        Box::pin(async move {
            self.0
                .user_access(tenant_id, user_id)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn devices_in_groups<'a>(
        &'a self,
        tenant_id: &'a str,
        groups: &'a [i64],
    ) -> AccessFuture<'a, DeviceSet> {
        Box::pin(async move {
            let devices = self
                .0
                .store()
                .devices_in_groups(tenant_id, groups)
                .await
                .map_err(|e| e.to_string())?;
            let mut set = DeviceSet::default();
            for (id, name) in devices {
                set.ids.insert(id.to_lowercase());
                set.names.insert(name.to_lowercase());
            }
            Ok(set)
        })
    }

    fn group_names<'a>(
        &'a self,
        tenant_id: &'a str,
        groups: &'a [i64],
    ) -> AccessFuture<'a, Vec<String>> {
        Box::pin(async move {
            Ok(self
                .0
                .list_device_groups(tenant_id)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|g| groups.contains(&g.id))
                .map(|g| g.name)
                .collect())
        })
    }
}

/// The right an operation needs.
pub fn required_right(op: Operation) -> DefenderRight {
    match op {
        Operation::UpdateIncident => DefenderRight::ManageIncidents,
        Operation::ListIncidents | Operation::GetIncident | Operation::RunHuntingQuery => {
            DefenderRight::ViewData
        }
    }
}

/// The 403 message when the user lacks the operation's right.
pub fn missing_right_message(op: Operation) -> String {
    let right = required_right(op);
    format!(
        "The signed-in user does not have the '{}' right in Microsoft Defender XDR, which one of these roles grants: {}.",
        right.display_name(),
        right.granted_by().join(", ")
    )
}

/// What a delegated caller may see: every device group, or these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// The whole tenant (application tokens, users scoped to all device groups).
    All,
    /// Only incidents and rows of these device groups' devices (and those naming none).
    Groups(Vec<i64>),
}

impl Visibility {
    /// From a user's scope.
    pub fn of(scope: &DeviceGroupScope) -> Self {
        match scope {
            DeviceGroupScope::All => Visibility::All,
            DeviceGroupScope::Groups(g) => Visibility::Groups(g.clone()),
        }
    }
}

/// A caller that passed every check, with what it may see.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The validated token's identity.
    pub caller: Caller,
    /// Device-group visibility.
    pub visibility: Visibility,
    /// The user's rights (delegated calls).
    pub rights: Vec<DefenderRight>,
}
