#!/usr/bin/env python3
"""Reads a palisade lake with DuckDB, as a user who outgrew one machine would
(Athena, Trino and Spark read the same Hive layout): prints per-partition
counts and a few values as CSV. Usage: read_with_duckdb.py LAKE_DIR"""
import sys

import duckdb

lake = sys.argv[1]
con = duckdb.connect()
files = f"read_parquet('{lake}/*/*/*.parquet', hive_partitioning = true)"
print("source,dt,events,first,time_type")
for source, dt, events, first, time_type in con.execute(
    f"SELECT source, CAST(dt AS VARCHAR), count(*), "
    f"strftime(min(time) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), any_value(typeof(time)) "
    f"FROM {files} GROUP BY ALL ORDER BY ALL"
).fetchall():
    print(f"{source},{dt},{events},{first},{time_type}")
print("action,actor,mfa")
for action, actor, mfa in con.execute(
    f"SELECT action, actor, mfa FROM {files} WHERE identity_type = 'Root' OR action = 'CreateUser' "
    f"ORDER BY time"
).fetchall():
    print(f"{action},{actor},{str(mfa).lower()}")
