#!/usr/bin/env python3
"""The DuckDB side of examples/bench.rs, over exactly the Parquet files the store lists.

Usage: python3 duckdb_bench.py SPEC.json   (needs `pip install duckdb`)
SPEC.json: {"files": {"dpe": [path, ...], "dne": [...]}, "queries": [{"name", "sql"}, ...]}.
examples/bench.rs writes the spec and runs this itself. For each query it prints one JSON
line, {"name", "ms", "rows"}: the best of three runs after one warm-up, and the result rows
(datetimes as epoch nanoseconds, lists as arrays) for the value-for-value comparison.
"""
import json
import sys
import time

import duckdb

spec = json.load(open(sys.argv[1]))
con = duckdb.connect()
for name, files in spec["files"].items():
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}])")


def plain(v):
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


for q in spec["queries"]:
    rows = con.execute(q["sql"]).fetchall()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        rows = con.execute(q["sql"]).fetchall()
        best = min(best, (time.perf_counter() - t) * 1e3)
    print(json.dumps({"name": q["name"], "ms": best, "rows": [plain(r) for r in rows]}))
