//! The admin API: how tenants, app registrations, secrets, service principals and grants
//! are managed. The `palisade admin …` commands are its client.
//!
//! Shaped like Microsoft Graph v1.0 where Graph has the operation — same paths after the
//! tenant prefix, same bodies, same JSON, same error shape:
//!
//! | route | Graph equivalent |
//! |---|---|
//! | `GET, POST /admin/tenants`, `GET /admin/tenants/{tenant}` | — (Graph cannot create tenants) |
//! | `GET, POST /admin/{tenant}/v1.0/applications` | `/v1.0/applications` |
//! | `GET, DELETE /admin/{tenant}/v1.0/applications/{id}` | same (`{id}` = object id or appId) |
//! | `POST …/applications/{id}/addPassword`, `…/removePassword` | same |
//! | `PATCH …/applications/{id}` (properties and `keyCredentials`), `POST …/addKey`, `…/removeKey` (with proof) | same |
//! | `GET, POST /admin/{tenant}/v1.0/servicePrincipals`, `GET, DELETE …/{id}` | same |
//! | `GET …/{applications,servicePrincipals}/{id}/owners`, `POST …/owners/$ref`, `DELETE …/owners/{ownerId}/$ref` | same (owners: users and service principals of the tenant) |
//! | `GET, POST …/servicePrincipals/{id}/appRoleAssignments`, `DELETE …/{assignmentId}` | same (`appRoleAssignedTo`: only at Graph's paths) |
//! | `GET, POST /admin/{tenant}/v1.0/users`, `GET, PATCH, DELETE …/users/{id}` | same (`{id}` = object id or UPN) |
//! | `POST …/users/{id}/revokeSignInSessions` | same |
//! | `GET …/roleManagement/directory/roleDefinitions`, `GET, POST …/roleAssignments`, `DELETE …/roleAssignments/{id}` | same (built-in roles, scope `/`) |
//! | `GET, POST …/oauth2PermissionGrants`, `GET, PATCH, DELETE …/{id}` | same |
//! | `POST /admin/{tenant}/grants` | portal "Add permission + Grant admin consent" in one step (`"type": "Application"` app roles, `"Delegated"` scopes) |
//! | `GET, POST /admin/{tenant}/deviceGroups`, `DELETE …/{id}`, `GET /admin/{tenant}/devices`, `PUT …/devices/{id}`, `GET, PUT /admin/{tenant}/users/{id}/deviceGroups` | — (Defender RBAC device groups, set in the Defender portal) |
//! | `GET, PUT, DELETE /admin/{tenant}/sentinel` | — (connect the tenant's Microsoft Sentinel workspace to the unified portal's advanced hunting) |
//! | `GET /admin/keys`, `POST /admin/keys/rotate` | — (signing key rotation) |
//!
//! Every request needs `Authorization: Bearer <admin key>`; keys are stored hashed and
//! compared in constant time. The bootstrap key is created on first start (see
//! [`bootstrap_admin_key`]).

mod auth;
mod certificates;
mod graph;
mod owners;
mod routes;
mod sentinel;
mod state;
mod users;

pub use auth::{bootstrap_admin_key, AdminKeyError};
pub use routes::{directory_router, router};
pub use state::AdminState;
