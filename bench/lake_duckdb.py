#!/usr/bin/env python3
"""Runs one SQL query RUNS times on a palisade lake with DuckDB (the lake's
`cloudtrail` table as a view over its Hive-partitioned Parquet files) and
prints the fastest time in milliseconds and the row count.
Usage: lake_duckdb.py LAKE_DIR RUNS SQL"""
import sys
import time

import duckdb

lake, runs, sql = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(
    "CREATE VIEW cloudtrail AS SELECT * FROM read_parquet("
    f"'{lake}/source=cloudtrail/*/*.parquet', hive_partitioning = true)"
)
best = float("inf")
rows = 0
for _ in range(max(runs, 1)):
    started = time.perf_counter()
    rows = len(con.execute(sql).fetchall())
    best = min(best, time.perf_counter() - started)
print(f"{best * 1000:.1f} {rows}")
