"""The DSR benchmark: Datavern against Fides on the same database, dataset and identities.

    .venv/bin/python bench/dsr/run.py [--scale S] [--runs N] [--skip-generate] [--skip-fides]

1. Generates the hosting-company database (generate.py) unless --skip-generate.
2. Picks sample identities: customers with data in every table. They are split, taking
   every third one, into three disjoint groups of warm-up + N:
   access (run by both Datavern and Fides; access changes nothing), erasure by Datavern,
   erasure by Fides. Erasure is destructive, so no identity is erased twice and each
   engine erases customers of the same shape. A later --skip-generate run picks new
   identities: erased customers no longer match the sample query.
3. Datavern (datavern_side.py: the hook the DSR engine plugs into) runs access, erasure and
   the 1,000 queued access requests; a hook that is not written yet shows as "pending".
4. Fides (fides_runner.py) runs the same access and erasure requests through its REST API.
5. Prints the medians of the warm runs and the ratio Fides/Datavern, and writes every
   measurement to bench/.work/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

try:
    import psycopg  # noqa: F401  (only to fail early with a clear message)
except ImportError:  # pragma: no cover
    sys.exit("run the benchmark with the project's venv: .venv/bin/python bench/dsr/run.py")

import datavern_side
import generate
from fides_runner import (
    DATASET_YAML,
    WORK_DIR,
    FidesError,
    FidesReference,
    RequestResult,
    run_requests,
)

TARGETS = {"access": 0.25, "erasure": 0.5, "queued_access": 120.0}
QUEUED_COUNT = 1000


@dataclass
class Measurement:
    """The timings of one operation by one engine."""

    engine: str
    operation: str
    seconds: list[float] = field(default_factory=list)
    state: str = "ok"  # ok | pending | failed | skipped
    detail: str = ""
    extra: list[Any] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds and self.state == "ok" else None

    def cell(self) -> str:
        if self.state == "pending":
            return "pending"
        if self.state == "skipped":
            return "not run"
        if self.state == "failed":
            return "FAILED"
        return f"{self.median:.3f} s" if self.median is not None else "-"


def time_datavern(
    operation: str, call: Callable[[str], object], identities: list[str], warmup: int
) -> Measurement:
    result = Measurement("datavern", operation)
    for index, email in enumerate(identities):
        started = time.perf_counter()
        try:
            returned = call(email)
        except NotImplementedError as exc:
            result.state, result.detail = "pending", str(exc)
            print(f"Datavern: pending ({operation}: {exc})")
            return result
        except Exception as exc:  # the hook is someone else's code; report, do not crash
            result.state, result.detail = "failed", f"{type(exc).__name__}: {exc}"
            print(f"Datavern {operation} failed on run {index + 1}: {result.detail}")
            traceback.print_exc(limit=3)
            return result
        elapsed = time.perf_counter() - started
        label = "warm-up" if index < warmup else f"run {index - warmup + 1}"
        print(f"[datavern] {operation} {label}: {elapsed:.3f}s")
        if index >= warmup:
            result.seconds.append(elapsed)
            if isinstance(returned, dict):
                result.extra.append(returned)
    return result


def time_datavern_queued(identities: list[str]) -> Measurement:
    result = Measurement("datavern", "queued_access")
    started = time.perf_counter()
    try:
        returned = datavern_side.datavern_access_many(identities)
    except NotImplementedError as exc:
        result.state, result.detail = "pending", str(exc)
        print(f"Datavern: pending (queued access: {exc})")
        return result
    except Exception as exc:
        result.state, result.detail = "failed", f"{type(exc).__name__}: {exc}"
        print(f"Datavern queued access failed: {result.detail}")
        return result
    elapsed = time.perf_counter() - started
    # The hook times the requests themselves: worker processes are started and warmed
    # up before its clock starts (as a running `datavern worker` would be).
    if isinstance(returned, dict) and isinstance(returned.get("seconds"), int | float):
        result.seconds.append(float(returned["seconds"]))
        returned = dict(returned, seconds_with_start_up=round(elapsed, 2))
    else:
        result.seconds.append(elapsed)
    if isinstance(returned, dict):
        result.extra.append(returned)
    print(f"[datavern] {len(identities)} queued access requests: {result.seconds[0]:.1f}s")
    return result


def fides_measurement(operation: str, results: list[RequestResult]) -> Measurement:
    m = Measurement("fides", operation, extra=[asdict(r) for r in results])
    failed = [r for r in results if r.status != "complete"]
    if failed:
        m.state = "failed"
        m.detail = (
            f"{len(failed)} of {len(results)} not complete: {failed[0].status} {failed[0].detail}"
        )
    m.seconds = [r.seconds for r in results if r.status == "complete"]
    return m


def print_table(rows: list[tuple[str, Measurement, Measurement, str]]) -> None:
    header = (
        f"{'operation':<22}{'Datavern median':>17}{'Fides median':>15}{'Fides/Datavern':>16}  runs"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, dv, fides, runs in rows:
        ratio = f"{fides.median / dv.median:.1f}x" if dv.median and fides.median else "-"
        print(f"{name:<22}{dv.cell():>17}{fides.cell():>15}{ratio:>16}  {runs}")
    print()
    print(
        "targets: access < 0.25 s, erasure < 0.5 s (median of warm runs, inline mode), "
        "1,000 queued access requests < 120 s, Fides/Datavern >= 10x"
    )
    for _, dv, fides, _ in rows:
        for m in (dv, fides):
            if m.state == "failed":
                print(f"{m.engine} {m.operation} FAILED: {m.detail}")


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            info["memory_gib"] = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M customers (default)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per operation (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-generate", action="store_true", help="use the existing database")
    parser.add_argument("--skip-fides", action="store_true", help="do not run Fides")
    parser.add_argument("--skip-queued", action="store_true", help="skip the 1,000 queued requests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--dbname", default="datavern_bench")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.scale <= 0:
        parser.error("--runs must be >= 1, --warmup >= 0 and --scale > 0")
    target = {"host": args.host, "port": args.port, "user": args.user, "dbname": args.dbname}
    generate.require_loopback(args.host)
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine()}

    try:
        if not args.skip_generate:
            generate.generate(**target, scale=args.scale, seed=args.seed, force=False)
        admin = generate.conninfo(args.host, args.port, args.user, "postgres")
        marker = generate.existing_marker(admin, args.dbname)
        if marker is None:
            print(f"database {args.dbname!r} is missing or incomplete: run without --skip-generate")
            return 2
        print(f"database: {args.dbname} ({marker})")
        report["database"] = marker

        per_group = args.warmup + args.runs
        pool = generate.sample_identities(**target, count=3 * per_group)
        if len(pool) < 3 * per_group:
            print(
                f"only {len(pool)} unused sample identities left, {3 * per_group} needed: "
                "regenerate the database (run without --skip-generate) or lower --runs"
            )
            return 2
        access_ids, dv_erase_ids, fides_erase_ids = pool[0::3], pool[1::3], pool[2::3]
    except generate.psycopg.Error as exc:
        print(f"database error: {exc}")
        return 1

    database_url = f"postgresql+psycopg://{args.user}@{args.host}:{args.port}/{args.dbname}"
    runs_label = f"{args.runs} (+{args.warmup} warm-up)"

    # ---- Datavern
    dv: dict[str, Measurement] = {}
    try:
        datavern_side.configure(database_url, DATASET_YAML)
        dv["access"] = time_datavern(
            "access", datavern_side.datavern_access, access_ids, args.warmup
        )
        dv["erasure"] = time_datavern(
            "erasure", datavern_side.datavern_erase, dv_erase_ids, args.warmup
        )
        if args.skip_queued:
            dv["queued_access"] = Measurement("datavern", "queued_access", state="skipped")
        else:
            queued_ids = generate.sample_identities(**target, count=QUEUED_COUNT)
            if queued_ids and len(queued_ids) < QUEUED_COUNT:
                # small scales have fewer sample customers; access changes nothing, so repeat
                print(f"only {len(queued_ids)} sample identities: repeating them to {QUEUED_COUNT}")
                queued_ids = (queued_ids * (QUEUED_COUNT // len(queued_ids) + 1))[:QUEUED_COUNT]
            dv["queued_access"] = time_datavern_queued(queued_ids)
    except NotImplementedError as exc:
        print(f"Datavern: pending ({exc})")
        for op in ("access", "erasure", "queued_access"):
            dv.setdefault(op, Measurement("datavern", op, state="pending", detail=str(exc)))

    # ---- Fides
    fides: dict[str, Measurement] = {
        op: Measurement("fides", op, state="skipped")
        for op in ("access", "erasure", "queued_access")
    }
    if not args.skip_fides:
        reference = FidesReference(
            db_host=args.host, db_port=args.port, db_user=args.user, bench_db=args.dbname
        )
        try:
            reference.install()
            reference.configure()
            with reference:
                reference.start()
                reference.setup()
                report["fides_version"] = reference.version
                fides["access"] = fides_measurement(
                    "access", run_requests(reference, "access", access_ids, args.warmup)
                )
                fides["erasure"] = fides_measurement(
                    "erasure", run_requests(reference, "erasure", fides_erase_ids, args.warmup)
                )
        except FidesError as exc:
            print(f"Fides reference run failed: {exc}")
            for op in ("access", "erasure"):
                if fides[op].state == "skipped":
                    fides[op] = Measurement("fides", op, state="failed", detail=str(exc)[:500])

    rows = [
        ("access", dv["access"], fides["access"], runs_label),
        ("erasure", dv["erasure"], fides["erasure"], runs_label),
        (f"{QUEUED_COUNT:,} queued access", dv["queued_access"], fides["queued_access"], "1"),
    ]
    print_table(rows)

    report["runs"], report["warmup"] = args.runs, args.warmup
    report["measurements"] = [asdict(m) for m in list(dv.values()) + list(fides.values())]
    out_dir = WORK_DIR / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"dsr-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"measurements written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
