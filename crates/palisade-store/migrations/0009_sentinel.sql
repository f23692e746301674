-- Microsoft Sentinel in the unified portal (issue 12): a tenant whose Sentinel workspace is
-- connected sees the Sentinel tables and the Log Analytics columns of the XDR tables in
-- advanced hunting. One row per connected tenant; no row: not connected.
CREATE TABLE sentinel_workspaces (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    workspace_id  TEXT NOT NULL,              -- a GUID: the Log Analytics TenantId column
    connected_at  INTEGER NOT NULL
);
