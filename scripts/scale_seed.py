#!/usr/bin/env python3
"""Issue 13's scale directory: adds TENANTS tenants with APPS applications each (a client
secret and the demo app's Incident.Read.All grant on Microsoft Threat Protection each) to a
stopped Palisade's database, in one transaction, beside the demo tenant.

Usage: scale_seed.py DB TENANTS APPS
Prints `tenant_id client_id secret` of one application in the middle of the directory
(the token load's client). Rows are written exactly as palisade-store writes them: ids
are lower-case GUIDs, secrets are stored as their SHA-256, timestamps are unix seconds.
"""
import hashlib
import secrets
import sqlite3
import sys
import time
import uuid

MTP = "8ee8fdad-f234-4243-8f3b-15c294843740"


def main() -> None:
    db, tenants, apps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    c = sqlite3.connect(db, timeout=30)
    c.execute("PRAGMA foreign_keys = ON")
    # The demo app's grant decides the role; its definition is reused for every app.
    demo_app_id, demo_definition, role_id = c.execute(
        "SELECT a.app_id, a.definition, r.app_role_id FROM applications a "
        "JOIN service_principals p ON p.app_id = a.app_id "
        "JOIN app_role_assignments r ON r.principal_id = p.id "
        "WHERE a.tenant_id IS NOT NULL AND a.is_public_client = 0 ORDER BY a.created_at LIMIT 1"
    ).fetchone()
    now = int(time.time())
    pick = None
    with c:
        for t in range(tenants):
            tid = str(uuid.uuid4())
            label = f"scale{t:04d}{tid[:6]}"
            c.execute("INSERT INTO tenants (id, display_name, created_at) VALUES (?, ?, ?)", (tid, label, now))
            c.execute("INSERT INTO domains (name, tenant_id, is_initial, is_verified) VALUES (?, ?, 1, 1)",
                      (f"{label}.onmicrosoft.com", tid))
            mtp_sp = str(uuid.uuid4())
            c.execute("INSERT INTO service_principals (id, tenant_id, app_id, created_at) VALUES (?, ?, ?, ?)",
                      (mtp_sp, tid, MTP, now))
            for a in range(apps):
                oid, app_id, sp = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
                secret = secrets.token_urlsafe(32)
                c.execute(
                    "INSERT INTO applications (id, app_id, tenant_id, display_name, sign_in_audience, "
                    "is_public_client, definition, created_at) VALUES (?, ?, ?, ?, 'AzureADMyOrg', 0, ?, ?)",
                    (oid, app_id, tid, f"daemon {a}", demo_definition, now))
                c.execute(
                    "INSERT INTO password_credentials (key_id, application_id, display_name, hint, secret_hash, "
                    "start_at, end_at, created_at) VALUES (?, ?, 'scale', ?, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), oid, secret[:3], hashlib.sha256(secret.encode()).digest(),
                     now - 60, now + 86400 * 365, now))
                c.execute("INSERT INTO service_principals (id, tenant_id, app_id, created_at) VALUES (?, ?, ?, ?)",
                          (sp, tid, app_id, now))
                c.execute(
                    "INSERT INTO app_role_assignments (id, tenant_id, principal_id, resource_id, app_role_id, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), tid, sp, mtp_sp, role_id, now))
                if t == tenants // 2 and a == apps // 2:
                    pick = (tid, app_id, secret)
    assert demo_app_id and pick
    print(*pick)


if __name__ == "__main__":
    main()
