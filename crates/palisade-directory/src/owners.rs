//! Owners of applications and service principals (Graph's `owners`): users and service
//! principals of the object's own tenant. An owner may manage what it owns without an
//! admin role (Entra's rule for owners; the Graph front applies it), and an app holding
//! `Application.ReadWrite.OwnedBy` may manage only the objects its service principal owns.

use crate::directory::{now_secs, Directory};
use crate::error::{DirectoryError, Result};
use crate::users::User;
use palisade_store::{OwnedObject, OwnerKind, ServicePrincipalRow};

/// Graph's message for an owner added twice (`400 Request_BadRequest`).
pub const OWNER_EXISTS: &str =
    "One or more added object references already exist for the following modified properties: 'owners'.";

/// The kind of object whose owners are meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnedKind {
    /// An application registration.
    Application,
    /// A service principal.
    ServicePrincipal,
}

/// An owned object of a tenant, resolved to its object id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRef {
    /// Application or service principal.
    pub kind: OwnedKind,
    /// Object id (lower case).
    pub id: String,
}

impl OwnedRef {
    fn store(&self) -> OwnedObject<'_> {
        match self.kind {
            OwnedKind::Application => OwnedObject::Application(&self.id),
            OwnedKind::ServicePrincipal => OwnedObject::ServicePrincipal(&self.id),
        }
    }
}

/// An owner, with what Graph shows of it.
#[derive(Debug, Clone)]
pub enum Owner {
    /// A user of the tenant.
    User(User),
    /// A service principal of the tenant, with its application's display name.
    ServicePrincipal(ServicePrincipalRow, Option<String>),
}

impl Owner {
    /// The owner's object id.
    pub fn id(&self) -> &str {
        match self {
            Owner::User(u) => &u.id,
            Owner::ServicePrincipal(sp, _) => &sp.id,
        }
    }
}

impl Directory {
    /// The application (object id or appId) or service principal (object id) of
    /// `tenant_id` whose owners are meant; built-in Microsoft apps are not owned by anyone
    /// in a tenant and are not found here.
    pub async fn owned(&self, tenant_id: &str, kind: OwnedKind, id: &str) -> Result<OwnedRef> {
        let id = match kind {
            OwnedKind::Application => self.get_application(tenant_id, id).await?.id,
            OwnedKind::ServicePrincipal => self.get_service_principal(tenant_id, id).await?.id,
        };
        Ok(OwnedRef {
            kind,
            id: id.to_ascii_lowercase(),
        })
    }

    /// Adds an owner: a user (object id or UPN) or a service principal (object id) of the
    /// same tenant. An object of another tenant is not found; an existing owner is Graph's
    /// 400 ([`OWNER_EXISTS`]).
    pub async fn add_owner(&self, tenant_id: &str, target: &OwnedRef, owner: &str) -> Result<()> {
        let owner_id = if owner.contains('@') {
            self.get_user(tenant_id, owner).await?.id
        } else {
            owner.to_ascii_lowercase()
        };
        let added = self
            .store()
            .add_owner(tenant_id, target.store(), &owner_id, now_secs(self.clock()))
            .await?;
        if added {
            Ok(())
        } else {
            Err(DirectoryError::Invalid(OWNER_EXISTS.into()))
        }
    }

    /// The owners of an object, oldest first.
    pub async fn owners(&self, tenant_id: &str, target: &OwnedRef) -> Result<Vec<Owner>> {
        let mut out = Vec::new();
        for row in self.store().list_owners(tenant_id, target.store()).await? {
            match row.kind {
                OwnerKind::User => {
                    out.push(Owner::User(self.get_user(tenant_id, &row.owner_id).await?))
                }
                OwnerKind::ServicePrincipal => {
                    let sp = self.get_service_principal(tenant_id, &row.owner_id).await?;
                    let name = self
                        .find_application_by_app_id(&sp.app_id)
                        .await?
                        .map(|a| a.display_name);
                    out.push(Owner::ServicePrincipal(sp, name));
                }
            }
        }
        Ok(out)
    }

    /// Removes an owner (object id or UPN); not found when it is not one.
    pub async fn remove_owner(
        &self,
        tenant_id: &str,
        target: &OwnedRef,
        owner: &str,
    ) -> Result<()> {
        let owner_id = if owner.contains('@') {
            self.get_user(tenant_id, owner).await?.id
        } else {
            owner.to_ascii_lowercase()
        };
        if self
            .store()
            .remove_owner(tenant_id, target.store(), &owner_id)
            .await?
        {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(owner.to_string()))
        }
    }

    /// Whether `principal_id` (a user's or service principal's object id) owns `target`.
    pub async fn is_owner(
        &self,
        tenant_id: &str,
        target: &OwnedRef,
        principal_id: &str,
    ) -> Result<bool> {
        Ok(self
            .store()
            .is_owner(tenant_id, target.store(), principal_id)
            .await?)
    }
}
