-- Per-tenant directory versions, so a write costs what it changed: every write to a table
-- that issuing an app-only token reads still bumps the global `directory_version` (0006),
-- and now also records, in `tenant_directory_versions`, the global version at which that
-- tenant's slice last changed. The in-memory snapshot reads the global counter per request
-- and, when it moved, only the tenants whose version is above what it has seen, and drops
-- just those tenants' parts (reloaded on their next use). The built-in (Microsoft-owned)
-- applications are the slice with tenant id '' (their `tenant_id` is NULL).
-- 0006's triggers are replaced by ones that do both, in this order, in one statement list,
-- so the tenant's version is the global version its write produced.
-- A tenant's row is kept after the tenant is deleted (it says when it went away).

CREATE TABLE tenant_directory_versions (
    tenant_id  TEXT PRIMARY KEY,   -- '' for the built-in applications
    version    INTEGER NOT NULL    -- directory_version.version after the tenant's last write
);
CREATE INDEX tenant_directory_versions_version ON tenant_directory_versions(version);

DROP TRIGGER tenants_insert_bumps_directory;
DROP TRIGGER tenants_update_bumps_directory;
DROP TRIGGER tenants_delete_bumps_directory;
CREATE TRIGGER tenants_insert_bumps_directory AFTER INSERT ON tenants
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER tenants_update_bumps_directory AFTER UPDATE ON tenants
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER tenants_delete_bumps_directory AFTER DELETE ON tenants
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

DROP TRIGGER domains_insert_bumps_directory;
DROP TRIGGER domains_update_bumps_directory;
DROP TRIGGER domains_delete_bumps_directory;
CREATE TRIGGER domains_insert_bumps_directory AFTER INSERT ON domains
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER domains_update_bumps_directory AFTER UPDATE ON domains
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER domains_delete_bumps_directory AFTER DELETE ON domains
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

DROP TRIGGER applications_insert_bumps_directory;
DROP TRIGGER applications_update_bumps_directory;
DROP TRIGGER applications_delete_bumps_directory;
CREATE TRIGGER applications_insert_bumps_directory AFTER INSERT ON applications
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (COALESCE(NEW.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER applications_update_bumps_directory AFTER UPDATE ON applications
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (COALESCE(OLD.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (COALESCE(NEW.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER applications_delete_bumps_directory AFTER DELETE ON applications
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (COALESCE(OLD.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

DROP TRIGGER identifier_uris_insert_bumps_directory;
DROP TRIGGER identifier_uris_update_bumps_directory;
DROP TRIGGER identifier_uris_delete_bumps_directory;
CREATE TRIGGER identifier_uris_insert_bumps_directory AFTER INSERT ON identifier_uris
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.app_id = NEW.app_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER identifier_uris_update_bumps_directory AFTER UPDATE ON identifier_uris
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.app_id = OLD.app_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.app_id = NEW.app_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER identifier_uris_delete_bumps_directory AFTER DELETE ON identifier_uris
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.app_id = OLD.app_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

DROP TRIGGER password_credentials_insert_bumps_directory;
DROP TRIGGER password_credentials_update_bumps_directory;
DROP TRIGGER password_credentials_delete_bumps_directory;
CREATE TRIGGER password_credentials_insert_bumps_directory AFTER INSERT ON password_credentials
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = NEW.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER password_credentials_update_bumps_directory AFTER UPDATE ON password_credentials
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = OLD.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = NEW.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER password_credentials_delete_bumps_directory AFTER DELETE ON password_credentials
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = OLD.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

DROP TRIGGER key_credentials_insert_bumps_directory;
DROP TRIGGER key_credentials_update_bumps_directory;
DROP TRIGGER key_credentials_delete_bumps_directory;
CREATE TRIGGER key_credentials_insert_bumps_directory AFTER INSERT ON key_credentials
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = NEW.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER key_credentials_update_bumps_directory AFTER UPDATE ON key_credentials
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = OLD.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = NEW.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER key_credentials_delete_bumps_directory AFTER DELETE ON key_credentials
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version)
    SELECT COALESCE(a.tenant_id, ''), (SELECT version FROM directory_version WHERE id = 1) FROM applications a WHERE a.id = OLD.application_id
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

DROP TRIGGER service_principals_insert_bumps_directory;
DROP TRIGGER service_principals_update_bumps_directory;
DROP TRIGGER service_principals_delete_bumps_directory;
CREATE TRIGGER service_principals_insert_bumps_directory AFTER INSERT ON service_principals
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER service_principals_update_bumps_directory AFTER UPDATE ON service_principals
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER service_principals_delete_bumps_directory AFTER DELETE ON service_principals
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;

DROP TRIGGER app_role_assignments_insert_bumps_directory;
DROP TRIGGER app_role_assignments_update_bumps_directory;
DROP TRIGGER app_role_assignments_delete_bumps_directory;
CREATE TRIGGER app_role_assignments_insert_bumps_directory AFTER INSERT ON app_role_assignments
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER app_role_assignments_update_bumps_directory AFTER UPDATE ON app_role_assignments
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (NEW.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER app_role_assignments_delete_bumps_directory AFTER DELETE ON app_role_assignments
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    INSERT INTO tenant_directory_versions (tenant_id, version) VALUES (OLD.tenant_id, (SELECT version FROM directory_version WHERE id = 1))
    ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version;
END;
