#!/usr/bin/env python3
"""The SQL of examples/bench.rs on DuckDB over the same Parquet store.

Usage: python3 duckdb_bench.py STORE_DIR [TENANT] [SINCE_SQL]   (needs `pip install duckdb`)
examples/bench.rs runs this itself; it prints one `name<TAB>best ms<TAB>rows` line per query.
Each query: one warm-up run, then the best of three.
"""
import sys
import time

import duckdb

root = sys.argv[1]
tenant = sys.argv[2] if len(sys.argv) > 2 else "bench"
since = sys.argv[3] if len(sys.argv) > 3 else "TIMESTAMP '1970-01-01T00:00:00Z'"
# The files store nanosecond UTC timestamps (DuckDB's TIMESTAMPTZ_NS).
since = since.replace("TIMESTAMP ", "", 1) + "::TIMESTAMPTZ_NS"
con = duckdb.connect()
for name, table in [("dpe", "DeviceProcessEvents"), ("dne", "DeviceNetworkEvents")]:
    con.execute(
        f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{root}/tenant={tenant}/table={table}/*/part-*.parquet')"
    )

S = since
QUERIES = [
    ("filter+summarize", f"""SELECT "DeviceName", count(*) AS c FROM dpe WHERE "Timestamp" >= {S} AND lower("FileName") = 'powershell.exe' GROUP BY "DeviceName" ORDER BY c DESC LIMIT 10"""),
    ("has filter+count", f"""SELECT count(*) FROM dpe WHERE "Timestamp" >= {S} AND "ProcessCommandLine" ILIKE '%shadows%'"""),
    ("bin(1h) summarize", f"""SELECT epoch_ns("Timestamp") // 3600000000000 AS t, count(*), count(DISTINCT "DeviceId") FROM dpe WHERE "Timestamp" >= {S} AND lower("InitiatingProcessFileName") = 'cmd.exe' GROUP BY 1"""),
    ("join network", f"""SELECT count(*) FROM (SELECT DISTINCT "DeviceId" FROM dpe WHERE "Timestamp" >= {S} AND lower("FileName") = 'powershell.exe') p JOIN dne n ON p."DeviceId" = n."DeviceId" WHERE n."Timestamp" >= {S} AND n."RemotePort" = 443"""),
    ("arg_max", f"""SELECT "DeviceId", CAST(max("Timestamp") AS VARCHAR), arg_max("FileName", "Timestamp"), arg_max("ProcessCommandLine", "Timestamp") FROM dpe WHERE "Timestamp" >= {S} GROUP BY "DeviceId\""""),
    ("make_set", f"""SELECT "DeviceId", list(DISTINCT "FileName") FROM dpe WHERE "Timestamp" >= {S} GROUP BY "DeviceId\""""),
]

for name, sql in QUERIES:
    rows = len(con.execute(sql).fetchall())
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        rows = len(con.execute(sql).fetchall())
        best = min(best, (time.perf_counter() - t) * 1e3)
    print(f"{name}\t{best:.1f}\t{rows}")
