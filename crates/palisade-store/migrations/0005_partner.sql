-- The partner context: certificate credentials (keyCredentials) of applications, and the
-- replay guard of client assertions (each jti once per application within its lifetime).
-- Portable SQL as in 0001.

CREATE TABLE key_credentials (
    key_id             TEXT PRIMARY KEY,
    application_id     TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    display_name       TEXT,
    key_type           TEXT NOT NULL,     -- AsymmetricX509Cert
    key_usage          TEXT NOT NULL,     -- Verify
    certificate_der    BLOB NOT NULL,
    thumbprint_sha1    BLOB NOT NULL,     -- customKeyIdentifier; the assertion's x5t
    thumbprint_sha256  BLOB NOT NULL,     -- the assertion's x5t#S256
    start_at           INTEGER NOT NULL,
    end_at             INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (application_id, thumbprint_sha1)
);
CREATE INDEX key_credentials_app ON key_credentials(application_id);

CREATE TABLE client_assertion_jtis (
    app_id      TEXT NOT NULL,     -- client id
    jti_hash    BLOB NOT NULL,     -- SHA-256 of the jti
    expires_at  INTEGER NOT NULL,  -- unix seconds: the assertion's exp plus the allowed skew
    PRIMARY KEY (app_id, jti_hash)
);
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis(expires_at);
