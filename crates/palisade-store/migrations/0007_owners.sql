-- Owners of applications and service principals (Graph's `owners` navigation property):
-- directory objects of the same tenant, a user or a service principal. One row per
-- (owned object, owner). Exactly one of application_id/service_principal_id names the
-- owned object and exactly one of owner_user_id/owner_service_principal_id the owner;
-- target_id/owner_id repeat them for the key. Every reference cascades, so deleting the
-- application, the service principal, the owning user or service principal, or the
-- tenant removes the ownership. Tenant isolation: the store checks that both objects
-- belong to tenant_id before inserting, and every read names tenant_id.

CREATE TABLE directory_owners (
    tenant_id                   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    target_id                   TEXT NOT NULL,
    application_id              TEXT REFERENCES applications(id) ON DELETE CASCADE,
    service_principal_id        TEXT REFERENCES service_principals(id) ON DELETE CASCADE,
    owner_id                    TEXT NOT NULL,
    owner_user_id               TEXT REFERENCES users(id) ON DELETE CASCADE,
    owner_service_principal_id  TEXT REFERENCES service_principals(id) ON DELETE CASCADE,
    created_at                  INTEGER NOT NULL,
    PRIMARY KEY (target_id, owner_id),
    CHECK ((application_id IS NULL) <> (service_principal_id IS NULL)),
    CHECK (target_id = COALESCE(application_id, service_principal_id)),
    CHECK ((owner_user_id IS NULL) <> (owner_service_principal_id IS NULL)),
    CHECK (owner_id = COALESCE(owner_user_id, owner_service_principal_id))
);
CREATE INDEX directory_owners_tenant_owner ON directory_owners(tenant_id, owner_id);
CREATE INDEX directory_owners_application ON directory_owners(application_id);
CREATE INDEX directory_owners_service_principal ON directory_owners(service_principal_id);
CREATE INDEX directory_owners_owner_user ON directory_owners(owner_user_id);
CREATE INDEX directory_owners_owner_service_principal ON directory_owners(owner_service_principal_id);
