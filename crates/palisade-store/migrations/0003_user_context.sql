-- The user context: users who sign in, their directory roles and Defender device groups,
-- delegated permission grants (consent), and the sign-in state of the authority
-- (browser sessions, authorization flows, codes, device codes, refresh tokens).
-- Portable SQL as in 0001; the incident_devices backfill at the end uses SQLite's JSON1
-- (a PostgreSQL migration would use jsonb_array_elements instead).

-- Users exist since 0001; they gain their sign-in state.
ALTER TABLE users ADD COLUMN password_expires_at INTEGER;        -- unix seconds; NULL: never
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;        -- unix seconds
ALTER TABLE users ADD COLUMN all_device_groups INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0;  -- in a row
ALTER TABLE users ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;         -- since the last success
ALTER TABLE users ADD COLUMN locked_until INTEGER;               -- unix seconds
CREATE INDEX users_tenant ON users(tenant_id, created_at);

-- The directory role catalogue (Entra built-in role templates), refreshed at start.
CREATE TABLE directory_roles (
    template_id   TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    description   TEXT NOT NULL
);

CREATE TABLE directory_role_assignments (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    principal_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_template_id  TEXT NOT NULL REFERENCES directory_roles(template_id),
    created_at        INTEGER NOT NULL,
    UNIQUE (principal_id, role_template_id)
);
CREATE INDEX directory_role_assignments_tenant ON directory_role_assignments(tenant_id, principal_id);

-- Defender RBAC: a tenant's device groups, its devices, and which groups a user may see.
CREATE TABLE device_groups (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           INTEGER NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,       -- lower case, for case-insensitive uniqueness
    description  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE devices (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id    TEXT NOT NULL,       -- MDE device id (lower case)
    device_name  TEXT NOT NULL,       -- FQDN, lower case (hunting's DeviceName)
    group_id     INTEGER,             -- NULL: in no group (visible to all-groups users only)
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES device_groups(tenant_id, id)
);
CREATE INDEX devices_group ON devices(tenant_id, group_id);

CREATE TABLE user_device_groups (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id   INTEGER NOT NULL,
    PRIMARY KEY (user_id, group_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES device_groups(tenant_id, id) ON DELETE CASCADE
);

-- The devices each incident's alerts name (for device-group scoping in SQL).
CREATE TABLE incident_devices (
    tenant_id    TEXT NOT NULL,
    incident_id  INTEGER NOT NULL,
    device_id    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, device_id),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents(tenant_id, incident_id) ON DELETE CASCADE
);
CREATE INDEX incident_devices_device ON incident_devices(tenant_id, device_id);
INSERT OR IGNORE INTO incident_devices (tenant_id, incident_id, device_id)
    SELECT i.tenant_id, i.incident_id, lower(json_extract(d.value, '$.mdatpDeviceId'))
    FROM incidents i, json_each(i.alerts) a, json_each(a.value, '$.devices') d
    WHERE json_extract(d.value, '$.mdatpDeviceId') IS NOT NULL;

-- Delegated permission grants (Graph oauth2PermissionGrant): consentType AllPrincipals
-- (admin consent for every user) or Principal (one user's own consent).
CREATE TABLE oauth2_permission_grants (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    consent_type  TEXT NOT NULL,
    principal_id  TEXT REFERENCES users(id) ON DELETE CASCADE,
    resource_id   TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    scope         TEXT NOT NULL,      -- space-separated scope values
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX oauth2_permission_grants_key
    ON oauth2_permission_grants(client_id, resource_id, consent_type, COALESCE(principal_id, ''));
CREATE INDEX oauth2_permission_grants_tenant ON oauth2_permission_grants(tenant_id, client_id);

-- Browser sign-in sessions (the SSO cookie holds the secret; only its hash is stored).
CREATE TABLE sign_in_sessions (
    id            TEXT PRIMARY KEY,
    secret_hash   BLOB NOT NULL UNIQUE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    client_ids    TEXT NOT NULL        -- JSON array: apps signed in through this session
);
CREATE INDEX sign_in_sessions_user ON sign_in_sessions(user_id);

-- An interactive sign-in in progress (authorize request or device login), bound to the
-- browser that started it.
CREATE TABLE authorize_flows (
    id            TEXT PRIMARY KEY,
    browser_hash  BLOB NOT NULL,
    request       TEXT NOT NULL,       -- JSON, owned by palisade-authority
    user_id       TEXT REFERENCES users(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX authorize_flows_expiry ON authorize_flows(expires_at);

CREATE TABLE authorization_codes (
    code_hash       BLOB PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    grant_json      TEXT NOT NULL,     -- JSON, owned by palisade-authority
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    redeemed_at     INTEGER
);
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);

CREATE TABLE device_codes (
    id                 TEXT PRIMARY KEY,
    device_code_hash   BLOB NOT NULL UNIQUE,
    user_code          TEXT NOT NULL UNIQUE,
    client_id          TEXT NOT NULL,
    request            TEXT NOT NULL,  -- JSON, owned by palisade-authority
    interval_secs      INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    last_poll_ms       INTEGER,
    status             TEXT NOT NULL,  -- pending | approved | declined | redeemed
    tenant_id          TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    user_id            TEXT REFERENCES users(id) ON DELETE CASCADE,
    auth_time          INTEGER
);
CREATE INDEX device_codes_expiry ON device_codes(expires_at);

CREATE TABLE refresh_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,        -- the client's app id
    auth_time    INTEGER NOT NULL,
    amr          TEXT NOT NULL,        -- JSON array
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,     -- 90 days of inactivity
    max_expires_at INTEGER,            -- a hard end that refreshing never passes (SPA: 24 h)
    revoked_at   INTEGER
);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);
