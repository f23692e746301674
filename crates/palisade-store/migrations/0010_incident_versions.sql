-- Per-tenant incident versions: a list page of incidents is a pure function of the tenant's
-- incident rows and their comments, so the resource server keeps whole rendered pages and
-- serves one again while the tenant's version has not moved, instead of reading and
-- fingerprinting every row of the page per request (BENCHMARKS.md, issue 13, fourth pass).
-- Every write to `incidents` or `incident_comments`, by whoever writes (this process, another
-- process on the same database, a foreign-key cascade), sets the tenant's version to the next
-- value of one global counter in the same statement, so a version never repeats for a tenant,
-- even if its row were deleted and written again. A tenant without a row has no kept pages.

CREATE TABLE incident_change_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO incident_change_counter (id, version) VALUES (1, 1);

CREATE TABLE tenant_incident_versions (
    tenant_id  TEXT PRIMARY KEY,
    version    INTEGER NOT NULL   -- incident_change_counter.version after the tenant's last write
);
INSERT INTO tenant_incident_versions (tenant_id, version) SELECT DISTINCT tenant_id, 1 FROM incidents;

CREATE TRIGGER incidents_insert_bumps_incident_version AFTER INSERT ON incidents
BEGIN
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (NEW.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

CREATE TRIGGER incidents_update_bumps_incident_version AFTER UPDATE ON incidents
BEGIN
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (OLD.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (NEW.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

CREATE TRIGGER incidents_delete_bumps_incident_version AFTER DELETE ON incidents
BEGIN
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (OLD.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

CREATE TRIGGER incident_comments_insert_bumps_incident_version AFTER INSERT ON incident_comments
BEGIN
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (NEW.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

CREATE TRIGGER incident_comments_update_bumps_incident_version AFTER UPDATE ON incident_comments
BEGIN
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (OLD.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (NEW.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

CREATE TRIGGER incident_comments_delete_bumps_incident_version AFTER DELETE ON incident_comments
BEGIN
    UPDATE incident_change_counter SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_incident_versions (tenant_id, version)
    VALUES (OLD.tenant_id, (SELECT version FROM incident_change_counter WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
