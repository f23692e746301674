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
//! | `GET, POST /admin/{tenant}/v1.0/servicePrincipals`, `GET, DELETE …/{id}` | same |
//! | `GET, POST …/servicePrincipals/{id}/appRoleAssignments`, `DELETE …/{assignmentId}` | same |
//! | `POST /admin/{tenant}/grants` | portal "Add permission + Grant admin consent" in one step |
//! | `GET /admin/keys`, `POST /admin/keys/rotate` | — (signing key rotation) |
//!
//! Every request needs `Authorization: Bearer <admin key>`; keys are stored hashed and
//! compared in constant time. The bootstrap key is created on first start (see
//! [`bootstrap_admin_key`]).

mod auth;
mod graph;
mod routes;

pub use auth::{bootstrap_admin_key, AdminKeyError};
pub use routes::{router, AdminState};
