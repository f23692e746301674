#!/usr/bin/env python3
"""Crash safety: SIGKILL `palisade serve` again and again while clients write, and check
after every restart that each acknowledged write is there exactly once, that no write is
there twice, and that the database passes SQLite's integrity and foreign-key checks.

Writers, all running during every kill:
  - incident PATCHes that add a uniquely marked comment (and set assignedTo);
  - admin writes: new applications with unique names;
  - secret rotations: addPassword then removePassword of the previous secret on one app;
  - signing-key rotations (POST /admin/keys/rotate);
  - hunting ingest through the CLI (`palisade ingest DeviceInfo FILE`, one marked row each).

A write counts as acknowledged when its response (or the CLI's exit status) said it
succeeded. Unacknowledged writes may or may not be present, but never twice.

Usage: crash.py --bin target/debug/palisade --kills 3 [--seed N]   (scripts/faults.sh runs it)
Standard library only; loopback only; every loop is bounded.
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data, port):
        self.binary, self.data, self.port = binary, data, port
        self.proc = None
        self.base = f"https://localhost:{port}"
        self.starts = 0

    def start(self):
        log = open(os.path.join(os.path.dirname(self.data), f"serve-{self.starts}.log"), "w")
        self.starts += 1
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--demo", "--no-quotas", "--data-dir", self.data,
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}: see {log.name}")
            with open(log.name) as f:
                if "Hello world" in f.read():
                    return
            time.sleep(0.1)
        raise SystemExit("server did not start in 300 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Api:
    def __init__(self, server):
        self.server = server
        self.ctx = ssl.create_default_context(cafile=os.path.join(server.data, "ca.pem"))
        with open(os.path.join(server.data, "admin-key")) as f:
            self.admin_key = f.read().strip()
        with open(os.path.join(server.data, "demo-credentials.json")) as f:
            self.demo = json.load(f)
        self.token = None

    def call(self, method, path, body=None, bearer=None, form=None, timeout=20):
        """(status, json) or raises OSError / urllib errors when the server is gone."""
        headers = {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        req = urllib.request.Request(self.server.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text.decode(errors="replace")

    def admin(self, method, path, body=None):
        return self.call(method, path, body=body, bearer=self.admin_key)

    def refresh_token(self):
        d = self.demo
        s, t = self.call("POST", f"/{d['tenant_id']}/oauth2/token", form={
            "grant_type": "client_credentials", "client_id": d["client_id"],
            "client_secret": d["client_secret"], "resource": "https://api.security.microsoft.com"})
        assert s == 200, (s, t)
        self.token = t["access_token"]


class Ledger:
    """What was attempted and what was acknowledged, per kind of write."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {k: [] for k in ("comment", "app", "secret_add", "secret_remove", "key", "ingest")}
        self.tried = {k: [] for k in self.acked}

    def attempt(self, kind, item):
        with self.lock:
            self.tried[kind].append(item)

    def ack(self, kind, item):
        with self.lock:
            self.acked[kind].append(item)


def writers(api, ledger, stop, binary, data, tenant, secret_app, incident_ids, rng_seed):
    rng = random.Random(rng_seed)

    def guard(fn):
        def loop():
            while not stop.is_set():
                try:
                    fn()
                except (OSError, urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
                    time.sleep(0.05)  # the server is down: not acknowledged
        return threading.Thread(target=loop, daemon=True)

    def comment():
        iid = rng.choice(incident_ids)
        marker = f"fault-comment-{uuid.uuid4()}"
        ledger.attempt("comment", (iid, marker))
        s, _ = api.call("PATCH", f"/api/incidents/{iid}", body={"comment": marker, "assignedTo": f"{marker[:20]}@palisadedemo.onmicrosoft.com"}, bearer=api.token)
        if s == 200:
            ledger.ack("comment", (iid, marker))
        elif s == 401:
            api.refresh_token()

    def app():
        marker = f"fault-app-{uuid.uuid4()}"
        ledger.attempt("app", marker)
        s, _ = api.admin("POST", f"/admin/{tenant}/v1.0/applications", {"displayName": marker})
        if s == 201:
            ledger.ack("app", marker)

    last_secret = [None]

    def secret():
        marker = f"fault-secret-{uuid.uuid4()}"
        s, body = api.admin("POST", f"/admin/{tenant}/v1.0/applications/{secret_app}/addPassword",
                            {"passwordCredential": {"displayName": marker}})
        if s == 200:
            ledger.ack("secret_add", body["keyId"])
            old, last_secret[0] = last_secret[0], body["keyId"]
            if old:
                ledger.attempt("secret_remove", old)
                s, _ = api.admin("POST", f"/admin/{tenant}/v1.0/applications/{secret_app}/removePassword", {"keyId": old})
                if s in (200, 204):
                    ledger.ack("secret_remove", old)

    def key():
        s, body = api.admin("POST", "/admin/keys/rotate")
        if s == 200:
            active = [k["kid"] for k in body["value"] if k["active"]]
            ledger.ack("key", active[0])
        time.sleep(0.2)

    def ingest():
        marker = f"fault-ingest-{uuid.uuid4()}"
        path = os.path.join(data, "..", f"{marker}.jsonl")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(path, "w") as f:
            f.write(json.dumps({"Timestamp": now, "DeviceId": marker, "DeviceName": marker}) + "\n")
        ledger.attempt("ingest", marker)
        r = subprocess.run([binary, "ingest", "DeviceInfo", path, "--data-dir", data],
                           capture_output=True, text=True, timeout=120)
        os.remove(path)
        if r.returncode == 0:
            ledger.ack("ingest", marker)
        time.sleep(0.1)

    return [guard(f) for f in (comment, comment, app, secret, key, ingest)]


def integrity(data):
    db = sqlite3.connect(os.path.join(data, "palisade.db"))
    try:
        check = db.execute("PRAGMA integrity_check").fetchall()
        fks = db.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        db.close()
    assert check == [("ok",)], f"integrity_check: {check}"
    assert fks == [], f"foreign_key_check: {fks}"


def verify(api, ledger, tenant, secret_app):
    """Every acknowledged write present once; nothing twice. Returns counts checked."""
    api.refresh_token()
    problems = []
    # Comments.
    by_incident = {}
    for iid, marker in ledger.tried["comment"]:
        by_incident.setdefault(iid, set()).add(marker)
    acked_comments = set(m for _, m in ledger.acked["comment"])
    for iid in by_incident:
        s, inc = api.call("GET", f"/api/incidents/{iid}", bearer=api.token)
        assert s == 200, (s, inc)
        texts = [c.get("comment") for c in inc.get("comments", [])]
        for marker in by_incident[iid]:
            n = texts.count(marker)
            if marker in acked_comments and n != 1:
                problems.append(f"acknowledged comment {marker} on incident {iid} found {n} times")
            if n > 1:
                problems.append(f"comment {marker} stored {n} times")
    # Applications.
    s, apps = api.admin("GET", f"/admin/{tenant}/v1.0/applications")
    assert s == 200, (s, apps)
    names = [a["displayName"] for a in apps["value"]]
    for marker in ledger.tried["app"]:
        n = names.count(marker)
        if marker in ledger.acked["app"] and n != 1:
            problems.append(f"acknowledged app {marker} found {n} times")
        if n > 1:
            problems.append(f"app {marker} stored {n} times")
    # Secrets.
    s, app = api.admin("GET", f"/admin/{tenant}/v1.0/applications/{secret_app}")
    assert s == 200, (s, app)
    key_ids = [p["keyId"] for p in app["passwordCredentials"]]
    removed = set(ledger.acked["secret_remove"])
    removal_tried = set(ledger.tried["secret_remove"])
    for kid in ledger.acked["secret_add"]:
        # A removal that was sent may have been stored even if its answer was lost.
        if kid not in removal_tried and key_ids.count(kid) != 1:
            problems.append(f"acknowledged secret {kid} found {key_ids.count(kid)} times")
        if key_ids.count(kid) > 1:
            problems.append(f"secret {kid} stored {key_ids.count(kid)} times")
    for kid in removed:
        if kid in key_ids:
            problems.append(f"acknowledged removal of secret {kid}, but it is still there")
    # Signing keys.
    s, keys = api.admin("GET", "/admin/keys")
    assert s == 200, (s, keys)
    kids = [k["kid"] for k in keys["value"]]
    for kid in ledger.acked["key"]:
        if kids.count(kid) != 1:
            problems.append(f"acknowledged signing key {kid} found {kids.count(kid)} times")
    # Hunting rows.
    q = "DeviceInfo | where DeviceName startswith 'fault-ingest-' | summarize n = count() by DeviceName"
    s, out = api.call("POST", "/api/advancedhunting/run", body={"Query": q}, bearer=api.token, timeout=120)
    assert s == 200, (s, out)
    rows = {r["DeviceName"]: r["n"] for r in out["Results"]}
    for marker in ledger.tried["ingest"]:
        n = rows.get(marker, 0)
        if marker in ledger.acked["ingest"] and n != 1:
            problems.append(f"acknowledged ingest {marker} found {n} rows")
        if n > 1:
            problems.append(f"ingest {marker} stored {n} rows")
    return problems, {k: len(v) for k, v in ledger.acked.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--min-run", type=float, default=0.5, help="seconds of writes before a kill, at least")
    ap.add_argument("--max-run", type=float, default=2.5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="palisade-crash-")
    data = os.path.join(work, "data")
    server = Server(os.path.abspath(args.bin), data, free_port())
    print(f"crash test: {args.kills} kills, seed {args.seed}, data {data}", flush=True)
    server.start()
    api = Api(server)
    api.refresh_token()
    tenant = api.demo["tenant_id"]
    s, secret_app = api.admin("POST", f"/admin/{tenant}/v1.0/applications", {"displayName": "fault-secret-rotation"})
    assert s == 201, secret_app
    secret_app = secret_app["id"]
    s, page = api.call("GET", "/api/incidents?$top=20", bearer=api.token)
    incident_ids = [i["incidentId"] for i in page["value"]]
    ledger = Ledger()
    started = time.time()
    for cycle in range(1, args.kills + 1):
        stop = threading.Event()
        threads = writers(api, ledger, stop, server.binary, data, tenant, secret_app, incident_ids, rng.random())
        for t in threads:
            t.start()
        time.sleep(rng.uniform(args.min_run, args.max_run))
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=180)
        integrity(data)
        server.start()
        problems, counts = verify(api, ledger, tenant, secret_app)
        print(f"kill {cycle}/{args.kills}: acknowledged so far {counts}; integrity ok; "
              f"{'OK' if not problems else 'FAILED'}", flush=True)
        if problems:
            for p in problems[:20]:
                print("  " + p)
            server.kill()
            sys.exit(1)
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(timeout=60)
    integrity(data)
    total = sum(len(v) for v in ledger.acked.values())
    print(f"crash test passed: {args.kills} SIGKILLs in {time.time() - started:.0f} s, "
          f"{total} acknowledged writes all present exactly once, clean SIGTERM exit ({rc})")
    if rc != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
