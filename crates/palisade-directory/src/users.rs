//! Users: creation with a UPN in one of the tenant's domains, password changes, enabling
//! and disabling, session revocation, directory role assignments, Defender device-group
//! scoping, and password sign-in with Entra's smart lockout.

use crate::directory::{new_guid, now_secs, Directory};
use crate::error::DirectoryError;
use crate::password::{check_complexity, hash_password, verify_password, PasswordError};
use crate::roles::{builtin_roles, defender_rights, find_role, DefenderRight, DirectoryRole};
use palisade_store::{DirectoryRoleRow, PasswordChange, RoleAssignmentRow, UserRow, UserUpdate};

type Result<T> = std::result::Result<T, DirectoryError>;

/// Failed sign-ins in a row that lock an account (Entra's smart lockout default).
pub const LOCKOUT_THRESHOLD: i64 = 10;
/// The first lockout's length in seconds (Entra's default); each further lockout before a
/// successful sign-in doubles it.
pub const LOCKOUT_SECONDS: i64 = 60;

impl From<PasswordError> for DirectoryError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Weak(m) => DirectoryError::Invalid(m),
            PasswordError::Hash(m) => DirectoryError::Invalid(m),
        }
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Object id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// User principal name (lower case).
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// Whether the account may sign in.
    pub account_enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, if the password expires.
    pub password_expires_at: Option<i64>,
    /// Unix seconds.
    pub password_changed_at: Option<i64>,
    /// Scoped to every device group.
    pub all_device_groups: bool,
    /// Locked out until (unix seconds), if locked now or in the past.
    pub locked_until: Option<i64>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            tenant_id: r.tenant_id,
            user_principal_name: r.user_principal_name,
            display_name: r.display_name,
            account_enabled: r.account_enabled,
            created_at: r.created_at,
            password_expires_at: r.password_expires_at,
            password_changed_at: r.password_changed_at,
            all_device_groups: r.all_device_groups,
            locked_until: r.locked_until,
        }
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// UPN; its domain must be one of the tenant's.
    pub user_principal_name: String,
    /// Display name (default: the UPN's local part).
    pub display_name: Option<String>,
    /// Initial password.
    pub password: String,
    /// Enabled (default true).
    pub account_enabled: bool,
    /// When the password expires (unix seconds), if ever.
    pub password_expires_at: Option<i64>,
}

/// A change to a user (Graph `PATCH /users/{id}`).
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// `displayName`.
    pub display_name: Option<String>,
    /// `accountEnabled`. Disabling revokes every session and refresh token.
    pub account_enabled: Option<bool>,
    /// `passwordProfile.password`, with its expiry. Changing it revokes every session and
    /// refresh token.
    pub password: Option<(String, Option<i64>)>,
}

/// Which device groups a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceGroupScope {
    /// Every device group (and devices in none).
    All,
    /// Only devices of these groups (ids).
    Groups(Vec<i64>),
}

/// What the Defender resource server needs about a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccess {
    /// The account may be used.
    pub enabled: bool,
    /// Defender rights from the user's roles.
    pub rights: Vec<DefenderRight>,
    /// Device-group scope.
    pub devices: DeviceGroupScope,
}

/// Why a password sign-in failed; each maps to one AADSTS code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInFailure {
    /// No such user (50034).
    UnknownUser,
    /// Wrong password (50126).
    InvalidCredentials,
    /// Locked out by smart lockout until this unix time (50053).
    LockedOut(i64),
    /// Account disabled (50057).
    Disabled,
    /// Password expired (50055).
    PasswordExpired,
}

/// Checks a UPN's shape: `local@domain`, a local part of letters, digits and `.-_'+`.
fn valid_upn(upn: &str) -> Option<(&str, &str)> {
    let (local, domain) = upn.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_'+".contains(c));
    let domain_ok = !domain.is_empty()
        && domain.len() <= 255
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    (local_ok && domain_ok).then_some((local, domain))
}

impl Directory {
    // ----- users -----------------------------------------------------------------------

    /// Creates a user. The UPN's domain must be one of the tenant's verified domains.
    pub async fn create_user(&self, tenant_id: &str, new: NewUser) -> Result<User> {
        let tenant = self.require_tenant(tenant_id).await?;
        let upn = new.user_principal_name.trim().to_lowercase();
        let (local, domain) = valid_upn(&upn).ok_or_else(|| {
            DirectoryError::Invalid(format!(
                "userPrincipalName '{}' is not valid: use alias@domain",
                new.user_principal_name
            ))
        })?;
        let owner = self.store().find_tenant_by_domain(domain).await?;
        if owner.as_ref().map(|t| t.id.as_str()) != Some(tenant.id.as_str()) {
            return Err(DirectoryError::Invalid(format!(
                "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names \
                 in your organization ({}).",
                tenant.initial_domain
            )));
        }
        check_complexity(&new.password)?;
        let hash = hash_password(&new.password).await?;
        let now = now_secs(self.clock());
        let display_name = new
            .display_name
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| local.to_string());
        let row = UserRow {
            id: new_guid(),
            tenant_id: tenant.id.clone(),
            user_principal_name: upn.clone(),
            display_name,
            password_hash: Some(hash),
            account_enabled: new.account_enabled,
            created_at: now,
            password_expires_at: new.password_expires_at,
            password_changed_at: Some(now),
            all_device_groups: true,
            failed_sign_ins: 0,
            lockouts: 0,
            locked_until: None,
        };
        self.store().insert_user(&row).await?;
        Ok(row.into())
    }

    /// A user of the tenant by object id or UPN.
    pub async fn get_user(&self, tenant_id: &str, id_or_upn: &str) -> Result<User> {
        self.find_user_row(tenant_id, id_or_upn)
            .await?
            .map(User::from)
            .ok_or_else(|| DirectoryError::NotFound(format!("user {id_or_upn}")))
    }

    async fn find_user_row(&self, tenant_id: &str, id_or_upn: &str) -> Result<Option<UserRow>> {
        if id_or_upn.contains('@') {
            Ok(self.store().find_user_by_upn(tenant_id, id_or_upn).await?)
        } else {
            Ok(self.store().get_user(tenant_id, id_or_upn).await?)
        }
    }

    /// The users of a tenant.
    pub async fn list_users(&self, tenant_id: &str) -> Result<Vec<User>> {
        Ok(self
            .store()
            .list_users(tenant_id)
            .await?
            .into_iter()
            .map(User::from)
            .collect())
    }

    /// Changes a user. Disabling the account or changing the password revokes every
    /// session and refresh token of the user in the same transaction.
    pub async fn update_user(
        &self,
        tenant_id: &str,
        id_or_upn: &str,
        patch: UserPatch,
    ) -> Result<User> {
        let user = self.get_user(tenant_id, id_or_upn).await?;
        let now = now_secs(self.clock());
        let password = match patch.password {
            Some((p, expires_at)) => {
                check_complexity(&p)?;
                Some(PasswordChange {
                    hash: hash_password(&p).await?,
                    changed_at: now,
                    expires_at,
                })
            }
            None => None,
        };
        if let Some(d) = &patch.display_name {
            if d.trim().is_empty() {
                return Err(DirectoryError::Invalid(
                    "displayName cannot be empty".into(),
                ));
            }
        }
        let revoke = password.is_some() || patch.account_enabled == Some(false);
        let change = UserUpdate {
            display_name: patch.display_name.map(|d| d.trim().to_string()),
            account_enabled: patch.account_enabled,
            password,
        };
        if !self
            .store()
            .update_user(tenant_id, &user.id, &change, revoke.then_some(now))
            .await?
        {
            return Err(DirectoryError::NotFound(format!("user {id_or_upn}")));
        }
        self.get_user(tenant_id, &user.id).await
    }

    /// Deletes a user (with its roles, grants, sessions and tokens).
    pub async fn delete_user(&self, tenant_id: &str, id_or_upn: &str) -> Result<()> {
        let user = self.get_user(tenant_id, id_or_upn).await?;
        self.store().delete_user(tenant_id, &user.id).await?;
        Ok(())
    }

    /// `revokeSignInSessions`: every refresh token and browser session of the user stops
    /// working.
    pub async fn revoke_sign_in_sessions(&self, tenant_id: &str, id_or_upn: &str) -> Result<()> {
        let user = self.get_user(tenant_id, id_or_upn).await?;
        self.store()
            .revoke_user_sessions(tenant_id, &user.id, now_secs(self.clock()))
            .await?;
        Ok(())
    }

    // ----- password sign-in ------------------------------------------------------------

    /// Checks a user's password, with smart lockout: after [`LOCKOUT_THRESHOLD`] failures
    /// in a row the account is locked for [`LOCKOUT_SECONDS`], doubling with each further
    /// lockout until a successful sign-in. A disabled account or an expired password is
    /// reported only to someone who knows the password.
    pub async fn verify_user_password(
        &self,
        tenant_id: &str,
        upn: &str,
        password: &str,
    ) -> Result<std::result::Result<User, SignInFailure>> {
        let Some(row) = self.store().find_user_by_upn(tenant_id, upn.trim()).await? else {
            return Ok(Err(SignInFailure::UnknownUser));
        };
        let now = now_secs(self.clock());
        if let Some(until) = row.locked_until.filter(|u| *u > now) {
            return Ok(Err(SignInFailure::LockedOut(until)));
        }
        let ok = match &row.password_hash {
            Some(hash) => verify_password(password, hash).await,
            None => false,
        };
        if !ok {
            let locked = self
                .store()
                .record_failed_sign_in(tenant_id, &row.id, now, LOCKOUT_THRESHOLD, LOCKOUT_SECONDS)
                .await?;
            return Ok(Err(match locked {
                Some(until) => SignInFailure::LockedOut(until),
                None => SignInFailure::InvalidCredentials,
            }));
        }
        if !row.account_enabled {
            return Ok(Err(SignInFailure::Disabled));
        }
        if row.password_expires_at.is_some_and(|e| e <= now) {
            return Ok(Err(SignInFailure::PasswordExpired));
        }
        self.store()
            .record_successful_sign_in(tenant_id, &row.id)
            .await?;
        Ok(Ok(row.into()))
    }

    /// A user that may sign in now (exists, enabled, not locked out): for session-based
    /// sign-ins that present no password.
    pub async fn active_user(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>> {
        let now = now_secs(self.clock());
        Ok(self
            .store()
            .get_user(tenant_id, user_id)
            .await?
            .filter(|u| u.account_enabled && u.locked_until.is_none_or(|l| l <= now))
            .map(User::from))
    }

    // ----- directory roles -------------------------------------------------------------

    /// Refreshes the stored role catalogue (run at start).
    pub(crate) async fn ensure_roles(&self) -> Result<()> {
        for r in builtin_roles() {
            self.store()
                .upsert_directory_role(&DirectoryRoleRow {
                    template_id: r.template_id.into(),
                    display_name: r.display_name.into(),
                    description: r.description.into(),
                })
                .await?;
        }
        Ok(())
    }

    /// Assigns a directory role (by display name or template id) to a user.
    pub async fn assign_role(
        &self,
        tenant_id: &str,
        user: &str,
        role: &str,
    ) -> Result<(RoleAssignmentRow, &'static DirectoryRole)> {
        let role = find_role(role).ok_or_else(|| {
            let known: Vec<_> = builtin_roles().iter().map(|r| r.display_name).collect();
            DirectoryError::Invalid(format!(
                "'{role}' is not a directory role (known: {})",
                known.join(", ")
            ))
        })?;
        let user = self.get_user(tenant_id, user).await?;
        let row = self
            .store()
            .insert_role_assignment(&RoleAssignmentRow {
                id: new_guid(),
                tenant_id: tenant_id.into(),
                principal_id: user.id,
                role_template_id: role.template_id.into(),
                created_at: now_secs(self.clock()),
            })
            .await?;
        Ok((row, role))
    }

    /// Removes a role assignment by id.
    pub async fn remove_role_assignment(&self, tenant_id: &str, id: &str) -> Result<()> {
        if self.store().delete_role_assignment(tenant_id, id).await? {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(format!("role assignment {id}")))
        }
    }

    /// The tenant's role assignments, optionally of one user.
    pub async fn role_assignments(
        &self,
        tenant_id: &str,
        user: Option<&str>,
    ) -> Result<Vec<RoleAssignmentRow>> {
        let principal = match user {
            Some(u) => Some(self.get_user(tenant_id, u).await?.id),
            None => None,
        };
        Ok(self
            .store()
            .list_role_assignments(tenant_id, principal.as_deref())
            .await?)
    }

    /// The role template ids of a user (the `wids` claim).
    pub async fn user_role_ids(&self, tenant_id: &str, user_id: &str) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self
            .store()
            .list_role_assignments(tenant_id, Some(user_id))
            .await?
            .into_iter()
            .map(|a| a.role_template_id)
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// What the resource server checks on a delegated call, or `None` if the user does
    /// not exist (deleted).
    pub async fn user_access(&self, tenant_id: &str, user_id: &str) -> Result<Option<UserAccess>> {
        let Some(row) = self.store().user_access(tenant_id, user_id).await? else {
            return Ok(None);
        };
        Ok(Some(UserAccess {
            enabled: row.account_enabled,
            rights: defender_rights(row.role_template_ids.iter().map(String::as_str)),
            devices: if row.all_device_groups {
                DeviceGroupScope::All
            } else {
                DeviceGroupScope::Groups(row.device_group_ids)
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::{SECURITY_OPERATOR, SECURITY_READER};
    use palisade_clock::{Clock, ManualClock, SharedClock};
    use palisade_store::Store;
    use std::sync::Arc;
    use time::Duration;

    async fn setup() -> (Directory, ManualClock, String) {
        let clock = ManualClock::starting_now();
        let shared: SharedClock = Arc::new(clock.clone());
        let dir = Directory::new(Store::open_in_memory().await.unwrap(), shared);
        dir.ensure_builtins().await.unwrap();
        let t = dir.create_tenant("Contoso", None, None).await.unwrap();
        (dir, clock, t.id)
    }

    fn new_user(upn: &str) -> NewUser {
        NewUser {
            user_principal_name: upn.into(),
            display_name: None,
            password: "Passw0rd!x".into(),
            account_enabled: true,
            password_expires_at: None,
        }
    }

    #[tokio::test]
    async fn users_need_a_tenant_domain_and_a_strong_password() {
        let (dir, _, t) = setup().await;
        let u = dir
            .create_user(&t, new_user("Alice@CONTOSO.onmicrosoft.com"))
            .await
            .unwrap();
        assert_eq!(u.user_principal_name, "alice@contoso.onmicrosoft.com");
        assert_eq!(u.display_name, "alice");
        let other = dir.create_tenant("Fabrikam", None, None).await.unwrap();
        for (upn, pw) in [
            ("bob@fabrikam.onmicrosoft.com", "Passw0rd!x"),
            ("bob@example.com", "Passw0rd!x"),
            ("no-at-sign", "Passw0rd!x"),
            ("bob@contoso.onmicrosoft.com", "weak"),
        ] {
            let mut n = new_user(upn);
            n.password = pw.into();
            assert!(
                matches!(
                    dir.create_user(&t, n).await,
                    Err(DirectoryError::Invalid(_))
                ),
                "{upn}"
            );
        }
        assert!(matches!(
            dir.create_user(&t, new_user("alice@contoso.onmicrosoft.com"))
                .await,
            Err(DirectoryError::Conflict(_))
        ));
        // Another tenant cannot see the user.
        assert!(dir.get_user(&other.id, &u.id).await.is_err());
    }

    #[tokio::test]
    async fn sign_in_reports_each_failure_and_locks_out_with_doubling() {
        let (dir, clock, t) = setup().await;
        let u = dir
            .create_user(&t, new_user("a@contoso.onmicrosoft.com"))
            .await
            .unwrap();
        let upn = &u.user_principal_name;
        assert_eq!(
            dir.verify_user_password(&t, "ghost@contoso.onmicrosoft.com", "x")
                .await
                .unwrap(),
            Err(SignInFailure::UnknownUser)
        );
        assert!(dir
            .verify_user_password(&t, upn, "Passw0rd!x")
            .await
            .unwrap()
            .is_ok());
        for _ in 0..9 {
            assert_eq!(
                dir.verify_user_password(&t, upn, "wrong").await.unwrap(),
                Err(SignInFailure::InvalidCredentials)
            );
        }
        let start = clock.now().unix_timestamp();
        assert_eq!(
            dir.verify_user_password(&t, upn, "wrong").await.unwrap(),
            Err(SignInFailure::LockedOut(start + 60))
        );
        // Locked: even the right password is refused.
        assert_eq!(
            dir.verify_user_password(&t, upn, "Passw0rd!x")
                .await
                .unwrap(),
            Err(SignInFailure::LockedOut(start + 60))
        );
        clock.advance(Duration::seconds(61));
        for _ in 0..9 {
            dir.verify_user_password(&t, upn, "wrong")
                .await
                .unwrap()
                .unwrap_err();
        }
        let now = clock.now().unix_timestamp();
        assert_eq!(
            dir.verify_user_password(&t, upn, "wrong").await.unwrap(),
            Err(SignInFailure::LockedOut(now + 120)),
            "the second lockout is twice as long"
        );
        clock.advance(Duration::seconds(121));
        assert!(dir
            .verify_user_password(&t, upn, "Passw0rd!x")
            .await
            .unwrap()
            .is_ok());
        // A success resets the history: the next lockout is 60 s again.
        for _ in 0..9 {
            dir.verify_user_password(&t, upn, "wrong")
                .await
                .unwrap()
                .unwrap_err();
        }
        let now = clock.now().unix_timestamp();
        assert_eq!(
            dir.verify_user_password(&t, upn, "wrong").await.unwrap(),
            Err(SignInFailure::LockedOut(now + 60))
        );
    }

    #[tokio::test]
    async fn disabled_and_expired_are_told_only_with_the_right_password() {
        let (dir, clock, t) = setup().await;
        let mut n = new_user("e@contoso.onmicrosoft.com");
        n.password_expires_at = Some(clock.now().unix_timestamp() + 10);
        let u = dir.create_user(&t, n).await.unwrap();
        assert!(dir
            .verify_user_password(&t, &u.user_principal_name, "Passw0rd!x")
            .await
            .unwrap()
            .is_ok());
        clock.advance(Duration::seconds(10));
        assert_eq!(
            dir.verify_user_password(&t, &u.user_principal_name, "Passw0rd!x")
                .await
                .unwrap(),
            Err(SignInFailure::PasswordExpired)
        );
        dir.update_user(
            &t,
            &u.id,
            UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            dir.verify_user_password(&t, &u.user_principal_name, "nope")
                .await
                .unwrap(),
            Err(SignInFailure::InvalidCredentials)
        );
        assert_eq!(
            dir.verify_user_password(&t, &u.user_principal_name, "Passw0rd!x")
                .await
                .unwrap(),
            Err(SignInFailure::Disabled)
        );
    }

    #[tokio::test]
    async fn access_follows_roles_and_device_groups() {
        let (dir, _, t) = setup().await;
        let u = dir
            .create_user(&t, new_user("r@contoso.onmicrosoft.com"))
            .await
            .unwrap();
        let a = dir.user_access(&t, &u.id).await.unwrap().unwrap();
        assert!(a.rights.is_empty());
        assert_eq!(a.devices, DeviceGroupScope::All);
        dir.assign_role(&t, &u.user_principal_name, "Security Reader")
            .await
            .unwrap();
        let (again, _) = dir.assign_role(&t, &u.id, SECURITY_READER).await.unwrap();
        assert_eq!(
            dir.role_assignments(&t, Some(&u.id)).await.unwrap().len(),
            1
        );
        assert_eq!(
            dir.user_access(&t, &u.id).await.unwrap().unwrap().rights,
            [DefenderRight::ViewData]
        );
        dir.assign_role(&t, &u.id, SECURITY_OPERATOR).await.unwrap();
        assert_eq!(
            dir.user_role_ids(&t, &u.id).await.unwrap(),
            [SECURITY_READER, SECURITY_OPERATOR],
            "sorted template ids"
        );
        dir.remove_role_assignment(&t, &again.id).await.unwrap();
        assert!(dir.assign_role(&t, &u.id, "Cloud Wizard").await.is_err());

        let fin = dir
            .create_device_group(&t, "Finance", "finance laptops", None)
            .await
            .unwrap();
        let srv = dir
            .create_device_group(&t, "Servers", "", None)
            .await
            .unwrap();
        assert_eq!((fin.id, srv.id), (1, 2));
        assert!(dir
            .create_device_group(&t, "finance", "", None)
            .await
            .is_err());
        dir.register_device(&t, "AAA", "ws-1.contoso.com", Some("finance"))
            .await
            .unwrap();
        dir.register_device(&t, "bbb", "srv-1.contoso.com", Some("2"))
            .await
            .unwrap();
        let scope = dir
            .set_user_device_groups(&t, &u.id, Some(&["Finance".to_string()]))
            .await
            .unwrap();
        assert_eq!(scope, DeviceGroupScope::Groups(vec![1]));
        assert_eq!(
            dir.user_access(&t, &u.id).await.unwrap().unwrap().devices,
            DeviceGroupScope::Groups(vec![1])
        );
        assert_eq!(
            dir.store().devices_in_groups(&t, &[1]).await.unwrap(),
            [("aaa".to_string(), "ws-1.contoso.com".to_string())]
        );
        // Deleting the group leaves the user scoped to nothing, never to everything.
        dir.delete_device_group(&t, "Finance").await.unwrap();
        assert_eq!(
            dir.user_access(&t, &u.id).await.unwrap().unwrap().devices,
            DeviceGroupScope::Groups(vec![])
        );
        assert!(dir
            .user_access(&t, "00000000-0000-0000-0000-000000000000")
            .await
            .unwrap()
            .is_none());
    }
}
