-- Defender XDR incidents, per tenant.
-- Portable SQL: TEXT ids, timestamps as fixed-width ISO-8601 UTC text
-- (`YYYY-MM-DDTHH:MM:SS.fffffffZ`, sorts lexicographically in time order), JSON as TEXT.

CREATE TABLE incidents (
    tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    incident_id           INTEGER NOT NULL,
    incident_name         TEXT NOT NULL,
    created_time          TEXT NOT NULL,
    last_update_time      TEXT NOT NULL,
    status                TEXT NOT NULL,
    severity              TEXT NOT NULL,
    assigned_to           TEXT,
    classification        TEXT NOT NULL,
    determination         TEXT NOT NULL,
    detection_source      TEXT,
    redirect_incident_id  INTEGER,
    tags                  TEXT NOT NULL,     -- JSON array of strings
    alerts                TEXT NOT NULL,     -- JSON array of alert documents
    demo_key              TEXT,              -- set only on demo data; makes reseeding idempotent
    PRIMARY KEY (tenant_id, incident_id)
);
CREATE INDEX incidents_order ON incidents(tenant_id, created_time, incident_id);
CREATE INDEX incidents_last_update ON incidents(tenant_id, last_update_time);
CREATE UNIQUE INDEX incidents_demo_key ON incidents(tenant_id, demo_key);

CREATE TABLE incident_comments (
    tenant_id     TEXT NOT NULL,
    incident_id   INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    comment       TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_time  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, seq),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents(tenant_id, incident_id) ON DELETE CASCADE
);
