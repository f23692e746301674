//! The Entra ID data model and its rules.
//!
//! Tenants with their domains, application registrations (single- or multi-tenant, public
//! or confidential, with web, SPA and mobile/desktop redirect URIs), client secrets
//! (generated, shown once, stored as hashes), service principals per tenant, app-role
//! assignments ("Grant admin consent"), users (Argon2id passwords, smart lockout), their
//! directory roles and Defender device groups, delegated permission grants (consent), and
//! owners of applications and service principals, and the built-in *Microsoft Threat
//! Protection* resource app present in every tenant.
//! Storage goes through `palisade-store`; time through `palisade-clock`.

mod admin_consent;
mod app_patch;
mod builtin;
pub mod certificates;
mod consent;
mod devices;
mod directory;
mod error;
mod model;
mod owners;
pub mod password;
mod redirect;
mod registration;
pub mod roles;
mod secret;
pub mod snapshot;
mod users;

pub use admin_consent::{AdminConsentOutcome, RequiredPermission};
pub use app_patch::ApplicationPatch;
pub use builtin::{
    builtin_apps, BuiltinApp, GRAPH_APP_ID, GRAPH_DISPLAY_NAME, GRAPH_PERMISSIONS, MDE_APP_ID,
    MICROSOFT_SERVICES_TENANT_ID, MTP_APP_ID, MTP_DISPLAY_NAME,
};
pub use certificates::{
    parse_certificate, parse_certificate_der, CertificateInfo, KeyCredentialPatch, NewKeyCredential,
};
pub use consent::{ConsentType, ALL_PRINCIPALS, PRINCIPAL};
pub use directory::{Directory, GrantOutcome, NewApplication};
pub use error::DirectoryError;
pub use model::{
    normalize_identifier_uri, AppRole, Application, ApplicationDefinition, PermissionScope,
    RequiredResourceAccess, ResourceAccess, SignInAudience,
};
pub use owners::{OwnedKind, OwnedRef, Owner, OWNER_EXISTS};
pub use redirect::{check_redirect_uri, redirect_uri_matches, RedirectKind};
pub use roles::{DefenderRight, DirectoryRole};
pub use secret::{generate_secret, hash_secret, verify_secret_hash, GeneratedSecret, SecretCheck};
pub use snapshot::{AppDirectory, DirectorySnapshot, Snapshots, TenantPart};
pub use users::{
    DeviceGroupScope, NewUser, SignInFailure, User, UserAccess, UserPatch, LOCKOUT_SECONDS,
    LOCKOUT_THRESHOLD,
};
