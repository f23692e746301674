-- The directory: tenants, domains, users, applications, credentials, service principals,
-- app-role assignments, signing keys and admin credentials.
-- Portable SQL (TEXT ids, INTEGER unix seconds, BLOB bytes) so a PostgreSQL migration can
-- mirror it column for column.

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE domains (
    name          TEXT PRIMARY KEY,          -- lower case
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    is_initial    INTEGER NOT NULL,
    is_verified   INTEGER NOT NULL
);
CREATE INDEX domains_tenant ON domains(tenant_id);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_principal_name  TEXT NOT NULL,       -- lower case
    display_name         TEXT NOT NULL,
    password_hash        TEXT,
    account_enabled      INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    UNIQUE (tenant_id, user_principal_name)
);

CREATE TABLE applications (
    id                        TEXT PRIMARY KEY,  -- object id
    app_id                    TEXT NOT NULL UNIQUE,
    tenant_id                 TEXT REFERENCES tenants(id) ON DELETE CASCADE, -- NULL: built-in (Microsoft-owned)
    display_name              TEXT NOT NULL,
    sign_in_audience          TEXT NOT NULL,
    is_public_client          INTEGER NOT NULL,
    definition                TEXT NOT NULL,     -- JSON: redirect URIs, identifier URIs, required access, roles, scopes
    created_at                INTEGER NOT NULL
);
CREATE INDEX applications_tenant ON applications(tenant_id);

-- Identifier URIs (App ID URIs) are unique across the whole directory, as in Entra.
CREATE TABLE identifier_uris (
    uri     TEXT PRIMARY KEY,    -- lower case, no trailing slash
    app_id  TEXT NOT NULL REFERENCES applications(app_id) ON DELETE CASCADE
);
CREATE INDEX identifier_uris_app ON identifier_uris(app_id);

CREATE TABLE password_credentials (
    key_id          TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    display_name    TEXT,
    hint            TEXT NOT NULL,
    secret_hash     BLOB NOT NULL,
    start_at        INTEGER NOT NULL,
    end_at          INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX password_credentials_app ON password_credentials(application_id);

CREATE TABLE service_principals (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id      TEXT NOT NULL REFERENCES applications(app_id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, app_id)
);

CREATE TABLE app_role_assignments (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    principal_id  TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    resource_id   TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    app_role_id   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (principal_id, resource_id, app_role_id)
);
CREATE INDEX app_role_assignments_principal ON app_role_assignments(tenant_id, principal_id);

CREATE TABLE signing_keys (
    kid              TEXT PRIMARY KEY,
    private_key_der  BLOB NOT NULL,   -- PKCS#8
    certificate_der  BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    activated_at     INTEGER,         -- the newest activated key signs
    retire_at        INTEGER          -- no longer published from this time on
);

CREATE TABLE admin_credentials (
    id          TEXT PRIMARY KEY,
    key_hash    BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
