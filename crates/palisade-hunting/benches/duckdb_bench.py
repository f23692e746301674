#!/usr/bin/env python3
"""Runs the SQL of examples/bench.rs on DuckDB over the same Parquet store.

Usage: pip install duckdb && python3 duckdb_bench.py STORE_DIR [TENANT]
(STORE_DIR is printed by `cargo run --release -p palisade-hunting --example bench`.)
"""
import sys
import time

import duckdb

root = sys.argv[1]
tenant = sys.argv[2] if len(sys.argv) > 2 else "bench"
con = duckdb.connect()
for name, table in [("dpe", "DeviceProcessEvents"), ("dne", "DeviceNetworkEvents")]:
    con.execute(
        f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{root}/tenant={tenant}/table={table}/*/*.parquet')"
    )

QUERIES = [
    ("filter+summarize", """SELECT "DeviceName", count(*) AS c FROM dpe WHERE lower("FileName") = 'powershell.exe' GROUP BY "DeviceName" ORDER BY c DESC LIMIT 10"""),
    ("has filter+count", """SELECT count(*) FROM dpe WHERE "ProcessCommandLine" ILIKE '%shadows%'"""),
    ("join network", """SELECT count(*) FROM (SELECT DISTINCT "DeviceId" FROM dpe WHERE lower("FileName") = 'powershell.exe') p JOIN dne n ON p."DeviceId" = n."DeviceId" WHERE n."RemotePort" = 443"""),
    ("arg_max", """SELECT "DeviceId", CAST(max("Timestamp") AS VARCHAR), arg_max("FileName", "Timestamp"), arg_max("ProcessCommandLine", "Timestamp") FROM dpe GROUP BY "DeviceId\""""),
    ("make_set", """SELECT "DeviceId", list(DISTINCT "FileName") FROM dpe GROUP BY "DeviceId\""""),
]

print(f"{'query':<20} {'duckdb ms':>10} {'rows':>8}")
for name, sql in QUERIES:
    best = float("inf")
    rows = 0
    for _ in range(4):
        t = time.perf_counter()
        rows = len(con.execute(sql).fetchall())
        best = min(best, (time.perf_counter() - t) * 1e3)
    print(f"{name:<20} {best:>10.1f} {rows:>8}")
