#!/usr/bin/env python3
"""DuckDB side of the archive query benchmark (DataFusion vs DuckDB).

The Rust archive bench writes a Hive-partitioned Parquet archive
(``DIR/<table>/date=YYYY-MM-DD/*.parquet``), times its queries with
DataFusion, then runs this script on the same files and the same SQL:

    python3 benches/archive_duckdb.py --archive DIR --queries QUERIES.json --runs N [--threads T]

QUERIES.json is an ordered JSON object ``{"name": "SQL", ...}``; the SQL uses
the bare table names ``events``, ``signals``, ``decisions`` and ``sessions``,
which are created here as views over ``read_parquet`` for every table that
has files.  The ``date`` partition column is read as VARCHAR (DataFusion uses
Utf8) and the session time zone is UTC, so ``TIMESTAMP '...+00'`` literals
compare with the archive's UTC timestamps the same way in both engines.

Each query runs once as a warm-up and then N timed runs.  A timed run
materialises the whole result inside DuckDB (``CREATE TEMP TABLE .. AS``),
the counterpart of DataFusion's ``collect()``, so converting rows to Python
objects is not part of the measurement.  stdout gets exactly one JSON object:

    {"duckdb_version": "1.5.6", "threads": 2,
     "queries": {"name": {"median_ms": 1.2, "min_ms": 1.1, "times_ms": [1.2, ...],
                          "rows": 3}, ...}}

Diagnostics go to stderr; any failure exits non-zero with a message.

Only the standard library and duckdb are needed.  When ``import duckdb``
fails, the script creates a venv (``target/bench-venv`` in the repo, or
``$VIGIL_BENCH_VENV``), pip-installs the pinned duckdb into it and re-executes
itself with the venv's python.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from duckdb_venv import VenvError, venv_python

TABLES = ("events", "signals", "decisions", "sessions")
REEXEC_MARKER = "VIGIL_BENCH_REEXEC"
RESULT_TABLE = "__vigil_bench_result"


def die(msg):
    print(f"archive_duckdb: error: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"archive_duckdb: {msg}", file=sys.stderr)


def bootstrap_duckdb():
    """Import duckdb, or install it into a venv and re-exec under that venv."""
    try:
        import duckdb  # noqa: F401

        return duckdb
    except ImportError:
        pass
    if os.environ.get(REEXEC_MARKER):
        die(f"duckdb is still not importable after switching to {sys.executable}")

    try:
        python = venv_python(log)
    except VenvError as error:
        die(str(error))

    os.environ[REEXEC_MARKER] = "1"
    sys.stderr.flush()
    os.execv(str(python), [str(python), str(Path(__file__).resolve())] + sys.argv[1:])


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def load_queries(path):
    try:
        with open(path, encoding="utf-8") as f:
            queries = json.load(f)
    except (OSError, ValueError) as e:
        die(f"cannot read queries file {path}: {e}")
    if not isinstance(queries, dict) or not queries:
        die(f"{path} must be a non-empty JSON object {{\"name\": \"SQL\", ...}}")
    for name, sql in queries.items():
        if not isinstance(sql, str) or not sql.strip():
            die(f"query {name!r} in {path} is not a non-empty SQL string")
    return queries


def register_tables(con, archive):
    found = []
    for table in TABLES:
        if not any((archive / table).glob("*/*.parquet")):
            continue
        pattern = str(archive / table / "*" / "*.parquet")
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet({sql_str(pattern)}, "
            f"hive_partitioning = true, hive_types = {{'date': VARCHAR}})"
        )
        found.append(table)
    if not found:
        die(f"no Parquet files under {archive}/{{{','.join(TABLES)}}}/*/")
    log(f"registered tables: {', '.join(found)}")


def run_once(con, sql):
    """Run sql to completion, materialising the result; return seconds taken."""
    start = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE {RESULT_TABLE} AS {sql}")
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", required=True, type=Path, help="Hive-partitioned archive root")
    ap.add_argument("--queries", required=True, type=Path, help='JSON object {"name": "SQL"}')
    ap.add_argument("--runs", type=int, default=5, help="timed runs per query (default 5)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="DuckDB threads (default: os.cpu_count())")
    args = ap.parse_args()
    if args.runs < 1:
        die("--runs must be at least 1")
    if args.threads < 1:
        die("--threads must be at least 1")
    if not args.archive.is_dir():
        die(f"archive directory {args.archive} does not exist")
    queries = load_queries(args.queries)

    duckdb = bootstrap_duckdb()

    try:
        con = duckdb.connect(":memory:")
        con.execute(f"SET threads = {args.threads}")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        register_tables(con, args.archive.resolve())
    except duckdb.Error as e:
        die(f"setting up DuckDB failed: {e}")

    results = {}
    for name, sql in queries.items():
        sql = sql.strip().rstrip(";").strip()
        try:
            run_once(con, sql)  # warm-up
            times = [run_once(con, sql) for _ in range(args.runs)]
            rows = con.execute(f"SELECT count(*) FROM {RESULT_TABLE}").fetchone()[0]
            con.execute(f"DROP TABLE {RESULT_TABLE}")
        except duckdb.Error as e:
            die(f"query {name!r} failed: {e}\n--- SQL ---\n{sql}")
        ms = [t * 1000.0 for t in times]
        results[name] = {
            "median_ms": round(statistics.median(ms), 3),
            "min_ms": round(min(ms), 3),
            "times_ms": [round(t, 3) for t in ms],
            "rows": rows,
        }
        log(f"{name}: median {results[name]['median_ms']} ms, {rows} rows")

    out = {"duckdb_version": duckdb.__version__, "threads": threads, "queries": results}
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
