"""The retention benchmark: Datavern's sweep against one hand-written DELETE, same run.

    .venv/bin/python bench/retention/run.py [--scale S] [--batch-size N] [--keep]

Issue 6 sets the number: sweeping 10M expired log rows out of 20M in PostgreSQL
reaches at least 0.8x the throughput of one hand-written
``DELETE FROM logs WHERE created_at < cutoff`` on an identical copy, measured in the
same run, while locking only one batch at a time.

1. Creates the database ``datavern_bench_retention`` (dropped and made anew) with two
   identical tables, ``logs_datavern`` and ``logs_plain``: 20M rows at scale 1 (id
   bigint primary key, created_at timestamptz with an index, ip, path, user agent),
   the oldest half more than a year old. Both are vacuumed and analysed.
2. Datavern: a fresh Datavern home (its own SQLite database in a temporary folder, as
   the embedded default), a stored connection to the bench database, a register with
   the dataset and one rule (``P1Y`` after ``created_at``, delete), then
   ``datavern retention run`` through the service, timed from start to signed report.
3. Plain SQL: one ``DELETE FROM logs_plain WHERE created_at < cutoff`` in one
   transaction, timed, with the same cutoff Datavern computed.
4. Checks that both tables hold the same rows afterwards, and prints the throughputs,
   their ratio, the longest time Datavern held locks for one batch, and how long the
   plain DELETE held its locks (all of its rows, until it committed). Every number is
   also written to bench/.work/results/retention-<time>.json.

No timing is asserted: the numbers are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    import psycopg
except ImportError:  # pragma: no cover
    sys.exit("run the benchmark with the project's venv: .venv/bin/python bench/retention/run.py")

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / ".work" / "results"
DBNAME = "datavern_bench_retention"
FULL_ROWS = 20_000_000
TABLES = ("logs_datavern", "logs_plain")

REGISTER = """
organisation:
  name: Benk AS
  org_nr: "923609016"
  email: personvern@example.no
dataset:
  - fides_key: bench
    collections:
      - name: logs_datavern
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: created_at
            data_categories: [system.operations]
          - name: ip
            data_categories: [user.device.ip_address]
          - name: path
            data_categories: [system.operations]
          - name: user_agent
            data_categories: [user.device]
dsr:
  connections:
    bench: benchdb
retention_rules:
  - key: logs
    collection: bench.logs_datavern
    trigger: {field: created_at}
    period: P1Y
    legal_basis: Logger trengs i ett år for sikkerhet og feilsøking.
"""


def admin_dsn(host: str, port: int, user: str, dbname: str = "postgres") -> str:
    return f"host={host} port={port} user={user} dbname={dbname}"


def create_database(args: argparse.Namespace, rows: int) -> float:
    """The two identical tables; returns the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(admin_dsn(args.host, args.port, args.user), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DBNAME}"')
    expired = rows // 2
    with psycopg.connect(admin_dsn(args.host, args.port, args.user, DBNAME)) as conn:
        # The older half spreads over the two years before a year and a month ago; the newer
        # half over the last ten months. Rows are in time order, as a log is written.
        conn.execute(
            """
            CREATE UNLOGGED TABLE seed AS
            SELECT g::bigint AS id,
                   CASE WHEN g <= %(expired)s
                        THEN now() - interval '1125 days'
                             + (g::double precision / %(expired)s) * interval '730 days'
                        ELSE now() - interval '300 days'
                             + ((g - %(expired)s)::double precision / %(newer)s)
                               * interval '299 days'
                   END AS created_at,
                   '10.' || (g %% 250) || '.' || (g %% 200) || '.' || (g %% 100) AS ip,
                   '/side/' || (g %% 5000) AS path,
                   'Mozilla/5.0 (X11; Linux x86_64) benk/' || (g %% 97) AS user_agent
            FROM generate_series(1, %(rows)s) AS g
            """,
            {"rows": rows, "expired": expired, "newer": max(1, rows - expired)},
        )
        for table in TABLES:
            conn.execute(
                f"""
                CREATE TABLE {table} (
                    id bigint PRIMARY KEY,
                    created_at timestamptz NOT NULL,
                    ip varchar(45),
                    path varchar(200),
                    user_agent varchar(200)
                )
                """
            )
            conn.execute(f"INSERT INTO {table} SELECT * FROM seed ORDER BY id")
            conn.execute(f"CREATE INDEX {table}_created_at ON {table} (created_at)")
        conn.execute("DROP TABLE seed")
        conn.commit()
    with psycopg.connect(
        admin_dsn(args.host, args.port, args.user, DBNAME), autocommit=True
    ) as conn:
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started


def count(args: argparse.Namespace, table: str) -> int:
    with psycopg.connect(admin_dsn(args.host, args.port, args.user, DBNAME)) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


def checkpoint(args: argparse.Namespace) -> None:
    with psycopg.connect(
        admin_dsn(args.host, args.port, args.user, DBNAME), autocommit=True
    ) as conn:
        conn.execute("CHECKPOINT")


def datavern_sweep(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    """Datavern's side: register, connection, one timed `retention run`."""
    os.environ["DATAVERN_DATA_DIR"] = str(home)
    os.environ.pop("DATAVERN_DATABASE_URL", None)
    os.environ.setdefault("DATAVERN_CONNECTION_KEY", "")
    if not os.environ["DATAVERN_CONNECTION_KEY"]:
        from cryptography.fernet import Fernet

        os.environ["DATAVERN_CONNECTION_KEY"] = Fernet.generate_key().decode()
    from datavern.connectors import service as connections
    from datavern.core.config import reset_settings
    from datavern.core.db import migrate, session_scope
    from datavern.register.loader import load_register
    from datavern.register.service import apply_register
    from datavern.retention import service

    reset_settings()
    migrate()
    folder = home / "register"
    folder.mkdir()
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER))
    url = f"postgresql+psycopg://{args.user}@{args.host}:{args.port}/{DBNAME}"
    with session_scope() as session:
        connections.add_connection(session, "benchdb", url, actor="bench")
    with session_scope() as session:
        apply_register(session, load_register(folder), "bench")
    progress_every = max(1, args.expected // 10)
    shown = {"next": progress_every}

    def progress(_rule: str, done: int, total: int) -> None:
        if done >= shown["next"]:
            print(f"  datavern: {done:>12,} of {total:,} rows", flush=True)
            shown["next"] += progress_every

    started = time.perf_counter()
    view = service.run(
        actor="bench", batch_size=args.batch_size, progress=progress, parallel=args.parallel
    )
    seconds = time.perf_counter() - started
    rule = view.rules[0]
    connections.close_connectors()
    return {
        "seconds": seconds,
        "state": view.state,
        "deleted": rule["deleted"],
        "batches": rule["batches"],
        "max_batch_lock_seconds": rule["max_batch_seconds"],
        "cutoff": rule["cutoff"],
        "signature": view.signature,
    }


def plain_delete(args: argparse.Namespace, cutoff: str) -> dict[str, Any]:
    """The hand-written side: one DELETE in one transaction, with the same bound."""
    from datetime import date

    from datavern.retention.rules import bound_for_cutoff

    bound = bound_for_cutoff(date.fromisoformat(cutoff), "aware")
    with psycopg.connect(admin_dsn(args.host, args.port, args.user, DBNAME)) as conn:
        started = time.perf_counter()
        deleted = conn.execute("DELETE FROM logs_plain WHERE created_at < %s", (bound,)).rowcount
        conn.commit()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "deleted": deleted, "bound": bound.isoformat()}


def one_pair(args: argparse.Namespace, rows: int, order: str) -> dict[str, Any]:
    """Fresh identical tables, then both deletes in ``order``; the measurements."""
    print(f"creating two tables of {rows:,} log rows ({args.expected:,} expired) ...", flush=True)
    generated = create_database(args, rows)
    print(f"  done in {generated:.1f} s", flush=True)

    def run_datavern() -> dict[str, Any]:
        checkpoint(args)
        with tempfile.TemporaryDirectory(prefix="datavern-bench-") as tmp:
            print(
                f"Datavern: retention run, batches of {args.batch_size:,} on "
                f"{args.parallel} connection(s) ...",
                flush=True,
            )
            result = datavern_sweep(args, Path(tmp))
        print(f"  {result['deleted']:,} rows in {result['seconds']:.1f} s", flush=True)
        return result

    def run_plain(cutoff: str) -> dict[str, Any]:
        checkpoint(args)
        print("plain SQL: one DELETE ... WHERE created_at < cutoff ...", flush=True)
        result = plain_delete(args, cutoff)
        print(f"  {result['deleted']:,} rows in {result['seconds']:.1f} s", flush=True)
        return result

    if order == "plain-first":
        from zoneinfo import ZoneInfo

        from datavern.retention.rules import RuleSpec, cutoff, parse_period

        # The cutoff Datavern will compute: the same rule, the same Oslo day.
        spec = RuleSpec("logs", "bench", "logs_plain", "created_at", "date", parse_period("P1Y"))
        day = cutoff(spec, datetime.now(ZoneInfo("Europe/Oslo")).date()).isoformat()
        plain = run_plain(day)
        ours = run_datavern()
    else:
        ours = run_datavern()
        plain = run_plain(ours["cutoff"])
    left_ours, left_plain = count(args, "logs_datavern"), count(args, "logs_plain")
    same = left_ours == left_plain and ours["deleted"] == plain["deleted"]
    ours_rate = ours["deleted"] / ours["seconds"]
    plain_rate = plain["deleted"] / plain["seconds"]
    ratio = ours_rate / plain_rate
    print()
    print(f"rows: {rows:,}, expired: {plain['deleted']:,}, left: {left_ours:,} / {left_plain:,}")
    print(f"same end state: {'yes' if same else 'NO'}")
    print(
        f"Datavern sweep: {ours['seconds']:8.1f} s  {ours_rate:12,.0f} rows/s  "
        f"({ours['batches']:,} batches of {args.batch_size:,} on {args.parallel} "
        "connection(s); report signed)"
    )
    print(f"plain DELETE:   {plain['seconds']:8.1f} s  {plain_rate:12,.0f} rows/s")
    print(f"throughput ratio (Datavern / plain): {ratio:.2f}x  (target >= 0.8x)")
    print(
        f"longest lock held: Datavern {ours['max_batch_lock_seconds'] * 1000:.0f} ms "
        f"(one batch); plain DELETE {plain['seconds']:.1f} s ({plain['deleted']:,} rows "
        "until commit)",
        flush=True,
    )
    return {
        "order": order,
        "generate_seconds": generated,
        "datavern": ours,
        "plain": plain,
        "ratio": ratio,
        "same_end_state": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="1.0 = 20M rows, 10M expired (default)"
    )
    parser.add_argument("--batch-size", type=int, default=50_000, help="rows per batch (50000)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="pairs on fresh tables, alternating which runs first; the median ratio counts",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=None,
        help="connections the sweep uses (default: Datavern's default, min(2, cores))",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--plain-first", action="store_true", help="run the plain DELETE first (in every pair)"
    )
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the benchmark drops and creates a database: only a local server is accepted")
    if args.parallel is None:
        from datavern.retention.service import parallel_degree

        args.parallel = parallel_degree(None)
    rows = max(1000, int(FULL_ROWS * args.scale))
    args.expected = rows // 2
    load_start = os.getloadavg()
    pairs = []
    for number in range(max(1, args.repeat)):
        order = "plain-first" if args.plain_first or number % 2 else "datavern-first"
        if args.repeat > 1:
            print(f"--- pair {number + 1} of {args.repeat} ({order})", flush=True)
        pairs.append(one_pair(args, rows, order))
        print()
    ratios = sorted(p["ratio"] for p in pairs)
    median = statistics.median(ratios)
    if len(pairs) > 1:
        print(
            f"median throughput ratio over {len(pairs)} pairs: {median:.2f}x "
            f"(each: {', '.join(f'{r:.2f}' for r in (p['ratio'] for p in pairs))})"
        )
        print(
            "longest lock held by one batch: "
            f"{max(p['datavern']['max_batch_lock_seconds'] for p in pairs) * 1000:.0f} ms"
        )
    print(
        "load average (1/5/15 min): start {:.2f} {:.2f} {:.2f}, end {:.2f} {:.2f} {:.2f}".format(
            *load_start, *os.getloadavg()
        )
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    result = {
        "rows": rows,
        "scale": args.scale,
        "batch_size": args.batch_size,
        "parallel": args.parallel,
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "pairs": pairs,
        "median_ratio": median,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    path = RESULTS / f"retention-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"written to {path.relative_to(REPO)}")
    if not args.keep:
        with psycopg.connect(admin_dsn(args.host, args.port, args.user), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')
    if not all(p["same_end_state"] for p in pairs):
        sys.exit("the two tables differ afterwards")


if __name__ == "__main__":
    main()
