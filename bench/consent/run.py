"""The consent benchmark (issue 5, "Numbers"): ledger appends, and may-process and state
reads over HTTP, on SQLite and PostgreSQL, each beside a reference measured in the
same run.

    .venv/bin/python bench/consent/run.py                    # both databases
    .venv/bin/python bench/consent/run.py --backends sqlite --seconds 5

What it does, per database:

1. a fresh Datavern database with the demo company's register (examples/demo);
2. **appends in process**: ``--appends`` ledger records one after another, each in its
   own transaction through ``consent.service.record`` (the library call the API and
   CLI use), then the same number from 4 threads at once and again from 8 (one Python
   process: bound by its GIL);
3. **appends over HTTP**, the system figure: uvicorn serving ``create_app()`` on
   127.0.0.1 with ``--http httptools --loop uvloop --workers N`` (``--workers``,
   default 2: one per CPU of this 2-CPU machine), an API token with ``consent:write``
   (how a company's systems append) and ``wrk`` with bench/consent/append.lua:
   ``POST /api/v1/consent/records`` with a random subject ``account:<n>``, purpose
   ``nyhetsbrev``, grant and withdraw alternating, ``--connections`` connections,
   ``--warmup`` then ``--seconds``; answers other than 2xx are errors (the first one
   is printed, and one POST with httpx shows its message);
4. **reads over HTTP** on the same server: an API token with ``consent:read`` and
   ``wrk`` (installed with apt-get when missing; else load.py, slower, with a note;
   the appends over HTTP then are skipped) with one thread, ``--connections``
   keep-alive connections (default 8: at 2,000 requests/s, 8 connections mean 4 ms
   per request on average by Little's law) and bench/consent/paths.lua picking a
   random subject per request, asking ``/api/v1/consent/may-process`` and
   ``/api/v1/consent/state``;
5. **the ledger, after all appends**: ``verify_ledger`` walks the whole chain and must
   find it intact, and holds as many records as were appended in process plus every
   2xx answer over HTTP (up to 2 x connections more: requests in flight when wrk
   stopped, appended but never counted); fewer, more, or a sequence number answered
   twice is printed as a MISMATCH;
6. **reference**: the same uvicorn set-up serving a bare Starlette endpoint that runs
   one plain SQL SELECT of the same state (bench/consent/reference_app.py).

``--appends-only`` skips the reads and the reference (not the appends over HTTP).

Results are printed as a table and written to bench/.work/results/consent-*.json.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "bench" / ".work"
PYTHON = sys.executable
PG_ADMIN = os.environ.get(
    "DATAVERN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_DB = "datavern_bench_consent"
APPEND_THREADS = (4, 8)  # appends from this many threads at once, after the one-by-one run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database(backend: str, home: Path) -> str:
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        db = home / "datavern.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{db}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB


def _in_threads(work: Any, threads_n: int, per: int, base: int) -> float:
    """Seconds ``threads_n`` threads take to call ``work(i)`` ``per`` times each, with the
    numbers from ``base`` on shared out; the first error of any thread is raised."""
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(per):
                work(base + t * per + i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return seconds


def _prepare(backend: str, appends: int) -> dict[str, Any]:
    """Database, register, appends (timed), verification (timed), a session token."""
    home = WORK / f"consent-{backend}"
    home.mkdir(parents=True, exist_ok=True)
    url = _database(backend, home)
    os.environ["DATAVERN_DATA_DIR"] = str(home)
    os.environ["DATAVERN_DATABASE_URL"] = url
    from datavern.core.config import reset_settings

    reset_settings()
    from datavern.accounts import tokens
    from datavern.consent import service
    from datavern.core.db import dispose_engines, migrate, session_scope
    from datavern.register.loader import load_register
    from datavern.register.service import apply_register

    migrate(url)
    with session_scope(url) as session:
        apply_register(session, load_register(REPO / "examples" / "demo"), "bench", "bench")

    def append(i: int, purpose: str) -> None:
        with session_scope(url) as session:
            service.record(
                session,
                subject=f"account:{i}",
                purpose=purpose,
                decision="grant" if i % 3 else "deny",
                method="form_checkbox",
                collection_point="https://bench.example/skjema",
                ip="192.0.2.10",
                user_agent="bench",
                recorded_by="bench",
            )

    append(-1, "statistikk")  # warm the register cache
    start = time.perf_counter()
    for i in range(appends):
        append(i, "statistikk")
    sequential = time.perf_counter() - start

    # Then the same number of records from several threads at once, as a web server's
    # request threads append: PostgreSQL then shares one flush of the disk among the
    # commits waiting for it (the chain itself is still extended one record at a time).
    concurrent_runs: dict[str, dict[str, Any]] = {}
    offset = appends
    for threads_n in APPEND_THREADS:
        per = appends // threads_n

        def one(i: int) -> None:
            append(i, "nyhetsbrev")

        concurrent = _in_threads(one, threads_n, per, offset)
        offset += per * threads_n
        concurrent_runs[f"threads_{threads_n}"] = {
            "records": per * threads_n,
            "seconds": round(concurrent, 3),
            "per_second": round(per * threads_n / concurrent, 1),
        }

    with session_scope(url) as session:
        # How a company's systems call may-process: an API token with consent:read;
        # and how they append: a token with consent:write.
        token = tokens.create_token(session, "bench", ["consent:read"], actor="bench")
        write_token = tokens.create_token(session, "bench-write", ["consent:write"], actor="bench")

    # And through the group appender the API uses (consent/appender.py), from as many
    # threads as the largest run above: each thread's requests one after another, the
    # appender grouping what arrives together into one transaction.
    from datavern.consent import appender

    group = appender.GroupAppender(url)
    threads_n = APPEND_THREADS[-1]
    per = appends // threads_n
    digest = tokens.hash_token(write_token)

    def submit(i: int) -> None:
        values = {
            "subject": f"account:{i}",
            "purpose": "nyhetsbrev",
            "decision": "grant" if i % 3 else "deny",
            "method": "form_checkbox",
            "collection_point": "https://bench.example/skjema",
            "ip": "192.0.2.10",
            "user_agent": "bench",
        }
        group.submit(values, token_hash=digest).result(timeout=120)

    grouped = _in_threads(submit, threads_n, per, offset)
    group.close()
    offset += per * threads_n
    concurrent_runs["grouped"] = {
        "threads": threads_n,
        "records": per * threads_n,
        "seconds": round(grouped, 3),
        "per_second": round(per * threads_n / grouped, 1),
        "transactions": group.stats.batches,
        "largest_transaction": group.stats.largest,
    }
    dispose_engines()
    return {
        "url": url,
        "home": str(home),
        "token": token,
        "write_token": write_token,
        "subjects": appends,
        # the warm-up record, the one-by-one run and the threaded runs
        "in_process_records": offset + 1,
        "appends": {
            "sequential": {
                "records": appends,
                "seconds": round(sequential, 3),
                "per_second": round(appends / sequential, 1),
            },
            **concurrent_runs,
        },
    }


def _verify(url: str) -> dict[str, Any]:
    """verify_ledger over the whole chain, after every append (in process and HTTP)."""
    from datavern.consent import service
    from datavern.core.db import dispose_engines, session_scope

    start = time.perf_counter()
    with session_scope(url) as session:
        check = service.verify_ledger(session)
    verify_s = time.perf_counter() - start
    dispose_engines()
    return {
        "ok": check.ok,
        "records": check.records,
        "seconds": round(verify_s, 3),
        "first_bad_record": check.first_bad_seq,
    }


def _serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            *args,
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                message = proc.stderr.read().decode() if proc.stderr else "no server"
                raise RuntimeError(message) from None
            time.sleep(0.2)
    raise RuntimeError("uvicorn did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrk_path() -> str | None:
    """wrk (a load generator in C), installed with apt-get when missing; None if it cannot
    be had (the benchmark then falls back to load.py and says so)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    update = [*sudo, "apt-get", "update", "-q"]
    print("wrk is missing; trying: " + " ".join(install), flush=True)
    for steps in ([install], [update, install]):  # the package lists may be stale
        try:
            for step in steps:
                subprocess.run(step, check=True, capture_output=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            problem = type(exc).__name__
            continue
        return shutil.which("wrk")
    print(f"could not install wrk ({problem}); using load.py", flush=True)
    return None


def _wrk_raw(
    wrk: str, url: str, script: str, args: list[str], seconds: float, c: int
) -> tuple[dict[str, Any], str | None]:
    """One wrk run with a script of bench/consent: its WRK_JSON line, and the first error
    answer if the script reports one (WRK_FIRST_ERROR)."""
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{c}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            str(REPO / "bench" / "consent" / script),
            url,
            "--",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    lines = out.stdout.splitlines()
    line = next(x for x in lines if x.startswith("WRK_JSON "))
    first = next(
        (x[len("WRK_FIRST_ERROR ") :] for x in lines if x.startswith("WRK_FIRST_ERROR ")), None
    )
    return json.loads(line[len("WRK_JSON ") :]), first


def _wrk(wrk: str, url: str, paths: Path, auth: str, seconds: float, c: int) -> dict[str, Any]:
    raw, _first = _wrk_raw(wrk, url, "paths.lua", [str(paths), auth], seconds, c)
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "requests": raw["requests"],
        "errors": errors,
        "rps": round(raw["requests"] / raw["duration_s"], 1),
        **{k: round(raw[k], 2) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms")},
        "tool": "wrk",
    }


def _load(url: str, paths: Path, auth: str, opts: argparse.Namespace) -> dict[str, Any]:
    if opts.wrk:
        _wrk(opts.wrk, url, paths, auth, opts.warmup, opts.connections)  # warm-up, not kept
        return _wrk(opts.wrk, url, paths, auth, opts.seconds, opts.connections)
    out = subprocess.run(
        [
            PYTHON,
            str(REPO / "bench" / "consent" / "load.py"),
            "--url",
            url,
            "--paths",
            str(paths),
            *(["--header", f"Authorization: {auth}"] if auth else []),
            "--concurrency",
            str(opts.connections),
            "--seconds",
            str(opts.seconds),
            "--warmup",
            str(opts.warmup),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    result["tool"] = "load.py"
    return result


APPEND_PURPOSE = "nyhetsbrev"  # a consent purpose of the demo register (examples/demo)
APPEND_PATH = "/api/v1/consent/records"


def _post_one(port: int, auth: str, subject: str) -> tuple[int, str]:
    """One append over HTTP with httpx (before wrk, and to show an error's message)."""
    import httpx

    response = httpx.post(
        f"http://127.0.0.1:{port}{APPEND_PATH}",
        headers={"Authorization": auth},
        json={
            "subject": subject,
            "purpose": APPEND_PURPOSE,
            "decision": "grant",
            "method": "form_checkbox",
            "collection_point": "https://bench.example/skjema",
            "ip": "192.0.2.10",
            "user_agent": "bench-httpx",
        },
        timeout=10,
    )
    return response.status_code, response.text[:500]


def _http_appends(port: int, auth: str, subjects: int, opts: argparse.Namespace) -> dict[str, Any]:
    """Appends over HTTP: POST /api/v1/consent/records with a consent:write token, from
    wrk (bench/consent/append.lua), a warm-up and then the measured run. Every 2xx
    answer is one record the server says it has appended; the ledger is checked
    against these counts after all appends (bench_backend)."""
    status, body = _post_one(port, auth, "account:0")
    if not 200 <= status < 300:
        raise RuntimeError(f"POST {APPEND_PATH} answered {status}: {body}")
    url = f"http://127.0.0.1:{port}"
    args = [str(subjects), APPEND_PURPOSE, auth]
    c = opts.connections
    warm, warm_error = _wrk_raw(opts.wrk, url, "append.lua", args, opts.warmup, c)
    raw, first_error = _wrk_raw(opts.wrk, url, "append.lua", args, opts.seconds, c)
    socket_errors = sum(
        raw[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")
    )
    errors = raw["non2xx"] + socket_errors
    result: dict[str, Any] = {
        "requests": raw["requests"],
        "ok_2xx": raw["ok"],
        "non_2xx": raw["non2xx"],
        "socket_errors": socket_errors,
        "errors": errors,
        "rps": round(raw["ok"] / raw["duration_s"], 1),
        **{k: round(raw[k], 2) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms")},
        "warmup_ok_2xx": warm["ok"],
        "warmup_errors": warm["non2xx"],
        "preflight_ok_2xx": 1,
        "duplicate_seqs_answered": warm["duplicates"] + raw["duplicates"],
        "max_seq_answered": max(warm["max_seq"], raw["max_seq"]),
        # requests still in flight when wrk stopped may have been appended unanswered
        "in_flight_at_stop_max": 2 * c,
        "tool": "wrk",
    }
    first = first_error or warm_error
    if errors or warm["non2xx"]:
        result["first_error_wrk"] = first
        status, body = _post_one(port, auth, "account:1")
        result["first_error_httpx"] = f"{status} {body}"
        if 200 <= status < 300:
            result["preflight_ok_2xx"] += 1
    return result


def _reference_appends(port: int, subjects: int, opts: argparse.Namespace) -> dict[str, Any]:
    """The same wrk load on reference_app.py's POST /append (one plain INSERT)."""
    url = f"http://127.0.0.1:{port}"
    args = [str(subjects), APPEND_PURPOSE, "", "/append"]
    c = opts.connections
    _wrk_raw(opts.wrk, url, "append.lua", args, opts.warmup, c)  # warm-up, not kept
    raw, first_error = _wrk_raw(opts.wrk, url, "append.lua", args, opts.seconds, c)
    socket_errors = sum(
        raw[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")
    )
    return {
        "requests": raw["requests"],
        "ok_2xx": raw["ok"],
        "errors": raw["non2xx"] + socket_errors,
        "first_error_wrk": first_error,
        "rps": round(raw["ok"] / raw["duration_s"], 1),
        **{k: round(raw[k], 2) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms")},
        "tool": "wrk",
    }


def _reference_table(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_reference_appends (subject VARCHAR(320), "
                "purpose VARCHAR(200), decision VARCHAR(20), body TEXT)"
            )
        )
    engine.dispose()


def _ledger_check(
    verify: dict[str, Any], in_process: int, http: dict[str, Any] | None
) -> dict[str, Any]:
    """Records expected (in process + every 2xx answer over HTTP) against records found
    in the verified chain. Requests in flight when wrk stopped may have been appended
    without wrk counting the answer: up to that many extra records are explained, fewer
    records than answered (a lost record) or more (a duplicate) are a mismatch."""
    answered = (
        0 if http is None else (http["preflight_ok_2xx"] + http["warmup_ok_2xx"] + http["ok_2xx"])
    )
    expected = in_process + answered
    found = verify["records"]
    slack = 0 if http is None else http["in_flight_at_stop_max"]
    problems = []
    if not verify["ok"]:
        problems.append("chain broken")
    if found < expected:
        problems.append(f"{expected - found} answered records missing")
    if found > expected + slack:
        problems.append(f"{found - expected} records more than answered")
    if http is not None and http["duplicate_seqs_answered"]:
        problems.append(f"{http['duplicate_seqs_answered']} sequence numbers answered twice")
    if http is not None and http["max_seq_answered"] > found:
        problems.append("an answered sequence number is past the chain's end")
    return {
        "expected_in_process": in_process,
        "expected_http_2xx": answered,
        "expected": expected,
        "found": found,
        "unanswered_extra": found - expected,
        "ok": not problems,
        "problems": problems,
    }


def _paths(home: Path, name: str, template: str, subjects: int) -> Path:
    rng = random.Random(5)
    path = home / f"paths-{name}.txt"
    path.write_text("\n".join(template.format(i=rng.randrange(subjects)) for _ in range(2000)))
    return path


def _check_answer(port: int, auth: str, path: str) -> None:
    headers = {"Authorization": auth} if auth else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    if "allowed" not in body and "status" not in body and "decision" not in body:
        raise RuntimeError(f"unexpected answer from {path}: {body}")


def _settle(url: str) -> None:
    """Before reads are measured (Datavern's and the reference's alike): write back what
    the appends left in memory and the WAL (a checkpoint) and give the planner the
    tables' statistics (ANALYZE), so that neither the disk's write-back after tens of
    thousands of appends nor a plan made for empty tables lands in the read figures."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("CHECKPOINT"))
        else:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def bench_backend(backend: str, opts: argparse.Namespace) -> dict[str, Any]:
    threads = " and ".join(str(n) for n in APPEND_THREADS)
    print(
        f"[{backend}] appends in process: {opts.appends} one by one, then {opts.appends} "
        f"from {threads} threads each ...",
        flush=True,
    )
    prep = _prepare(backend, opts.appends)
    home = Path(prep["home"])
    env = {
        **os.environ,
        "DATAVERN_DATA_DIR": prep["home"],
        "DATAVERN_DATABASE_URL": prep["url"],
        "PYTHONPATH": str(REPO / "src"),
    }
    auth = f"Bearer {prep['token']}"
    write_auth = f"Bearer {prep['write_token']}"
    subjects = prep["subjects"]
    paths = {
        "may_process": _paths(
            home,
            "may",
            "/api/v1/consent/may-process?subject=account:{i}&purpose=statistikk",
            subjects,
        ),
        "state": _paths(
            home, "state", "/api/v1/consent/state?subject=account:{i}&purpose=statistikk", subjects
        ),
        "reference": _paths(home, "ref", "/state?subject=account:{i}&purpose=statistikk", subjects),
    }
    reads: dict[str, Any] = {}
    http: dict[str, Any] | None = None
    port = _free_port()
    server = _serve(
        ["--factory", "datavern.web.app:create_app", "--workers", str(opts.workers)], env, port
    )
    try:
        if opts.wrk:
            print(f"[{backend}] ledger appends over HTTP (POST {APPEND_PATH}) ...", flush=True)
            http = _http_appends(port, write_auth, subjects, opts)
        else:
            print(f"[{backend}] no wrk: ledger appends over HTTP skipped", flush=True)
        if not opts.appends_only:
            _settle(prep["url"])
            _check_answer(
                port, auth, "/api/v1/consent/may-process?subject=account:1&purpose=statistikk"
            )
            for name in ("may_process", "state"):
                print(f"[{backend}] {name} over HTTP ...", flush=True)
                reads[name] = _load(f"http://127.0.0.1:{port}", paths[name], auth, opts)
    finally:
        _stop(server)
    # After every append, in process and over HTTP (the server has stopped).
    print(f"[{backend}] verifying the ledger ...", flush=True)
    verify = _verify(prep["url"])
    appends = {**prep["appends"], "verify": verify}
    if http is not None:
        appends["http"] = http
    appends["ledger_count"] = _ledger_check(verify, prep["in_process_records"], http)
    if opts.appends_only:
        return {"appends": appends, "reads": {}}
    _reference_table(prep["url"])
    port = _free_port()
    server = _serve(
        ["--app-dir", "bench/consent", "reference_app:app", "--workers", str(opts.workers)],
        env,
        port,
    )
    try:
        _settle(prep["url"])
        _check_answer(port, "", "/state?subject=account:1&purpose=statistikk")
        print(f"[{backend}] reference (bare Starlette + plain SELECT) ...", flush=True)
        reads["reference"] = _load(f"http://127.0.0.1:{port}", paths["reference"], "", opts)
        if http is not None and opts.wrk:
            print(f"[{backend}] reference appends (bare Starlette + one INSERT) ...", flush=True)
            appends["reference_http"] = _reference_appends(port, subjects, opts)
    finally:
        _stop(server)
    ref = reads["reference"]["rps"] or 1
    for name in ("may_process", "state"):
        reads[name]["ratio_to_reference_rps"] = round(reads[name]["rps"] / ref, 3)
    if http is not None and "reference_http" in appends:
        ref_append = appends["reference_http"]["rps"] or 1
        http["ratio_to_reference_rps"] = round(http["rps"] / ref_append, 3)
    return {"appends": appends, "reads": reads}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--appends", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--appends-only", action="store_true", help="Measure the ledger appends, no reads."
    )
    parser.add_argument(
        "--load-generator", choices=("wrk", "load.py"), default="wrk", dest="generator"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    opts = parser.parse_args()
    opts.wrk = wrk_path() if opts.generator == "wrk" else None
    tool = (
        f"wrk ({opts.wrk}), 1 thread"
        if opts.wrk
        else "load.py (Python asyncio: it takes CPU from the server, figures are lower)"
    )
    setup = (
        f"load generator: {tool}, {opts.connections} keep-alive connections, random subjects; "
        f"server: uvicorn --http httptools --loop uvloop --workers {opts.workers} on "
        f"{os.cpu_count()} CPUs; reads authenticated with an API token (consent:read)"
    )
    print(setup, flush=True)
    results: dict[str, Any] = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        # Other work on the machine skews absolute numbers; the ratio to the reference,
        # measured minutes apart in the same run, much less so.
        "load_average_at_start": os.getloadavg(),
        "options": {k: v for k, v in vars(opts).items()},
        "setup": setup,
        "backends": {},
    }
    for backend in opts.backends.split(","):
        results["backends"][backend] = bench_backend(backend.strip(), opts)
    results["load_average_at_end"] = os.getloadavg()
    out = WORK / "results" / f"consent-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print()
    w = 56
    print(
        f"{'database':10} {'what':{w}} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'vs ref':>7}"
    )
    notes: list[str] = []
    for backend, r in results["backends"].items():
        for name in ("may_process", "state", "reference") if r["reads"] else ():
            x = r["reads"][name]
            label = {
                "may_process": "GET /api/v1/consent/may-process",
                "state": "GET /api/v1/consent/state",
                "reference": "reference: Starlette + plain SELECT",
            }[name]
            ratio = x.get("ratio_to_reference_rps", 1.0)
            print(
                f"{backend:10} {label:{w}} {x['rps']:>8} {x['p50_ms']:>8} {x['p99_ms']:>8} "
                f"{x['errors']:>7} {ratio:>7}"
            )
        a = r["appends"]
        label = "ledger appends in process, one by one"
        print(f"{backend:10} {label:{w}} {a['sequential']['per_second']:>8} /s")
        for threads_n in APPEND_THREADS:
            label = f"ledger appends in process, {threads_n} threads"
            print(f"{backend:10} {label:{w}} {a[f'threads_{threads_n}']['per_second']:>8} /s")
        g = a["grouped"]
        label = f"ledger appends in process, group appender, {g['threads']} threads"
        print(
            f"{backend:10} {label:{w}} {g['per_second']:>8} /s   "
            f"({g['records']} records in {g['transactions']} transactions, "
            f"at most {g['largest_transaction']} in one)"
        )
        h = a.get("http")
        if h is not None:
            label = (
                f"ledger appends over HTTP ({opts.workers} workers, {opts.connections} connections)"
            )
            ratio = h.get("ratio_to_reference_rps", "")
            print(
                f"{backend:10} {label:{w}} {h['rps']:>8} {h['p50_ms']:>8} {h['p99_ms']:>8} "
                f"{h['errors']:>7} {ratio:>7}"
            )
            ra = a.get("reference_http")
            if ra is not None:
                label = "reference: Starlette + one INSERT over HTTP"
                print(
                    f"{backend:10} {label:{w}} {ra['rps']:>8} {ra['p50_ms']:>8} "
                    f"{ra['p99_ms']:>8} {ra['errors']:>7} {1.0:>7}"
                )
                if ra["errors"]:
                    notes.append(f"{backend}: reference appends: {ra['first_error_wrk']}")
            if h["errors"] or h["warmup_errors"]:
                notes.append(
                    f"{backend}: {h['non_2xx']} non-2xx, {h['socket_errors']} socket errors "
                    f"(warm-up {h['warmup_errors']} non-2xx); first error from wrk: "
                    f"{h.get('first_error_wrk')}; one POST with httpx: "
                    f"{h.get('first_error_httpx')}"
                )
        v = a["verify"]
        print(
            f"{backend:10} {'chain verified after all appends':{w}} "
            f"{'intact' if v['ok'] else 'BROKEN':>8} ({v['records']} records in {v['seconds']} s)"
        )
        n = a["ledger_count"]
        label = "ledger records: found / expected"
        print(
            f"{backend:10} {label:{w}} {'match' if n['ok'] else 'MISMATCH':>8} "
            f"({n['found']} found; expected {n['expected']} = {n['expected_in_process']} "
            f"in process + {n['expected_http_2xx']} HTTP 2xx answers; "
            f"{n['unanswered_extra']} unanswered, in flight when wrk stopped)"
        )
        if n["problems"]:
            notes.append(f"{backend}: ledger: " + "; ".join(n["problems"]))
    for note in notes:
        print(note)
    print(
        f"\nload average at start {results['load_average_at_start'][0]:.1f}, "
        f"at end {results['load_average_at_end'][0]:.1f} ({os.cpu_count()} CPUs)"
    )
    print(setup)
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
