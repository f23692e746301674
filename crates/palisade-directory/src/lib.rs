//! The Entra ID data model and its rules.
//!
//! Tenants with their domains, application registrations (single- or multi-tenant, public
//! or confidential), client secrets (generated, shown once, stored as hashes), service
//! principals per tenant, app-role assignments ("Grant admin consent"), and the built-in
//! *Microsoft Threat Protection* resource app present in every tenant. Storage goes through
//! `palisade-store`; time through `palisade-clock`.

mod builtin;
mod directory;
mod model;
mod secret;

pub use builtin::{
    builtin_apps, BuiltinApp, MDE_APP_ID, MICROSOFT_SERVICES_TENANT_ID, MTP_APP_ID,
    MTP_DISPLAY_NAME,
};
pub use directory::{Directory, DirectoryError, GrantOutcome, NewApplication, SecretCheck};
pub use model::{
    normalize_identifier_uri, AppRole, Application, ApplicationDefinition, PermissionScope,
    RequiredResourceAccess, ResourceAccess, SignInAudience,
};
pub use secret::{generate_secret, hash_secret, verify_secret_hash, GeneratedSecret};
