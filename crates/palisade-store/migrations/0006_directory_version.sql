-- The directory's change counter: one row, bumped by a trigger on every write to a table
-- that issuing an app-only token reads (tenants, domains, applications and their identifier
-- URIs, client secrets, certificates, service principals, app-role assignments), whoever
-- writes: this process, another process on the same database (the CLI's admin commands),
-- or a foreign-key cascade. An in-memory directory snapshot compares it per request and
-- reloads when it moved. (PostgreSQL would use the same table with statement triggers.)

CREATE TABLE directory_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);
CREATE TRIGGER tenants_insert_bumps_directory AFTER INSERT ON tenants
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_update_bumps_directory AFTER UPDATE ON tenants
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_delete_bumps_directory AFTER DELETE ON tenants
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER domains_insert_bumps_directory AFTER INSERT ON domains
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER domains_update_bumps_directory AFTER UPDATE ON domains
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER domains_delete_bumps_directory AFTER DELETE ON domains
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER applications_insert_bumps_directory AFTER INSERT ON applications
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER applications_update_bumps_directory AFTER UPDATE ON applications
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER applications_delete_bumps_directory AFTER DELETE ON applications
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identifier_uris_insert_bumps_directory AFTER INSERT ON identifier_uris
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identifier_uris_update_bumps_directory AFTER UPDATE ON identifier_uris
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identifier_uris_delete_bumps_directory AFTER DELETE ON identifier_uris
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER password_credentials_insert_bumps_directory AFTER INSERT ON password_credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER password_credentials_update_bumps_directory AFTER UPDATE ON password_credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER password_credentials_delete_bumps_directory AFTER DELETE ON password_credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER key_credentials_insert_bumps_directory AFTER INSERT ON key_credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER key_credentials_update_bumps_directory AFTER UPDATE ON key_credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER key_credentials_delete_bumps_directory AFTER DELETE ON key_credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_principals_insert_bumps_directory AFTER INSERT ON service_principals
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_principals_update_bumps_directory AFTER UPDATE ON service_principals
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_principals_delete_bumps_directory AFTER DELETE ON service_principals
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER app_role_assignments_insert_bumps_directory AFTER INSERT ON app_role_assignments
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER app_role_assignments_update_bumps_directory AFTER UPDATE ON app_role_assignments
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER app_role_assignments_delete_bumps_directory AFTER DELETE ON app_role_assignments
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
