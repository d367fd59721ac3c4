"""The Datavern side of the DSR benchmark: the hook the DSR engine plugs into.

run.py calls, in this order:

1. ``configure(database_url, dataset_path)`` once, before anything is timed: set up
   whatever Datavern needs (register/dataset loaded, a connection named for the
   bench database, inline jobs). ``database_url`` is a SQLAlchemy URL such as
   ``postgresql+psycopg://postgres@127.0.0.1:5432/datavern_bench``;
   ``dataset_path`` is ``bench/dsr/hosting_dataset.yml``.
2. ``datavern_access(identity_email)`` per access request: run a complete access
   request for ``email=<identity_email>`` in inline mode and return when its
   result is ready (the package built, like Fides' JSON upload).
3. ``datavern_erase(identity_email)`` per erasure request: run a complete
   erasure (every `user` field nulled, as the Fides policy does) and return when
   it is done. Identities given here are never used for anything else.
4. ``datavern_access_many(identity_emails)`` once, for the "1,000 queued access
   requests" target: have them all worked off and return when all are done.

Each call is timed by run.py (wall time around the call); the median of the warm
runs is reported. A function that raises NotImplementedError is reported as
"pending" instead of a number. Return values are ignored, except that a returned
``dict`` is stored with the run's results (e.g. row counts) for the record.

What the Datavern side does (the same work a user's ``datavern dsr access`` /
``datavern dsr erase`` does, minus the command-line start-up):

* ``configure`` makes a Datavern home of its own under ``bench/.work/datavern-home``
  (SQLite for Datavern's own tables, the embedded default), stores the bench
  database as the connection ``hosting`` (the dataset's ``fides_key``, so no
  ``dsr.connections`` entry is needed) and applies a register made of a small
  organisation and the dataset file as it is. Masking: the default, ``null``.
* ``datavern_access`` runs a complete access request: every retrieve step, the
  audit entries, and the package zip with ``data.json``, the CSVs and the readable
  report in HTML (nb + en). ``DATAVERN_BENCH_REPORT=pdf`` adds the PDF report
  (by far the largest part of the time; Fides' access result has no report) and
  ``DATAVERN_BENCH_REPORT=0`` leaves the report out.
* ``datavern_erase`` runs a complete erasure with the check afterwards that reads
  every erased row back.
* ``datavern_access_many`` queues the requests through the job runner.
  ``DATAVERN_BENCH_JOBS=inline`` (default) works them off in this process with
  ``DATAVERN_BENCH_WORKERS`` threads (4 by default; 1: one after another), each
  running one request inline at a time; ``DATAVERN_BENCH_PROCESSES=P`` shares
  them out to P spawned worker processes with that many threads each (started
  and warmed up before the clock starts). ``DATAVERN_BENCH_JOBS=celery`` starts
  ``datavern worker`` (Celery, Redis on this machine, a queue of its own,
  ``DATAVERN_BENCH_WORKERS`` processes, 2 by default) for the run, submits every
  request, waits until all are done and stops the worker; the worker's start-up
  is not timed.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

PENDING = "pending the DSR engine"

_settings: dict[str, Any] = {}

WORK = Path(__file__).resolve().parent.parent / ".work"
HOME = WORK / "datavern-home"

ORGANISATION = """\
organisation:
  name: Fjordhost AS
  org_nr: "923609016"
  email: personvern@fjordhost.example
  languages: [nb, en]
"""


def configure(database_url: str, dataset_path: Path) -> None:
    """A fresh Datavern home that knows the bench database and its dataset."""
    from cryptography.fernet import Fernet

    _settings["database_url"] = database_url
    _settings["dataset_path"] = dataset_path
    if HOME.exists():
        shutil.rmtree(HOME)
    (HOME / "register").mkdir(parents=True)
    os.environ["DATAVERN_DATA_DIR"] = str(HOME)
    os.environ.pop("DATAVERN_DATABASE_URL", None)
    os.environ["DATAVERN_JOBS"] = "inline"
    os.environ["DATAVERN_ACTOR"] = "bench"
    os.environ.setdefault("DATAVERN_CONNECTION_KEY", Fernet.generate_key().decode())

    from datavern.connectors import service as connections
    from datavern.core.config import reset_settings
    from datavern.core.db import migrate, session_scope
    from datavern.register.loader import load_register
    from datavern.register.service import apply_register

    reset_settings()
    migrate()
    dataset = Path(dataset_path).read_text(encoding="utf-8")
    (HOME / "register" / "register.yaml").write_text(ORGANISATION + "\n" + dataset)
    loaded = load_register(HOME / "register")
    with session_scope() as session:
        connections.add_connection(session, "hosting", database_url, actor="bench", replace=True)
        apply_register(session, loaded, "bench", "DSR benchmark")
    _settings["report"] = os.environ.get("DATAVERN_BENCH_REPORT", "html")


def _request(kind: str, email: str, **options: Any) -> dict[str, Any]:
    from datavern.core.db import session_scope
    from datavern.dsr import service, tasks

    if "database_url" not in _settings:
        raise RuntimeError("configure() was not called")
    with session_scope() as session:
        _version, register = service.applied_register(session)
        identities = service.parse_request_identities(register, [f"email={email}"])
        request = service.create_request(session, kind, identities, actor="bench", options=options)
        request_id = request.id
    status = tasks.submit(request_id, actor="bench")
    with session_scope() as session:
        view = service.get_request(session, request_id)
    if status != "done":
        raise RuntimeError(f"{kind} request {request_id} ended {status}: {view.error}")
    return {"request": request_id, "rows_found": view.summary.get("rows_found")}


def _access_options(name: str) -> dict[str, Any]:
    options: dict[str, Any] = {"output": str(WORK / "datavern-packages" / name)}
    report = _settings.get("report", "html")
    if report == "0":
        options["report"] = False
    elif report != "pdf":
        options["report_formats"] = ["html"]
    return options


def _report_label() -> str:
    return {"0": "none", "pdf": "html+pdf"}.get(str(_settings.get("report", "html")), "html")


def datavern_access(identity_email: str) -> object:
    result = _request("access", identity_email, **_access_options("access.zip"))
    result["report"] = _report_label()
    return result


def datavern_erase(identity_email: str) -> object:
    return _request("erasure", identity_email)


def datavern_access_many(identity_emails: list[str]) -> object:
    if os.environ.get("DATAVERN_BENCH_JOBS", "inline") == "celery":
        return _access_many_celery(identity_emails)
    workers = max(1, int(os.environ.get("DATAVERN_BENCH_WORKERS", "4")))
    processes = max(1, int(os.environ.get("DATAVERN_BENCH_PROCESSES", "1")))
    if processes > 1:
        seconds = _access_many_processes(identity_emails, processes, workers)
    else:
        started = time.perf_counter()
        _access_many_threads(identity_emails, workers, "queued")
        seconds = time.perf_counter() - started
    return {
        "requests": len(identity_emails),
        "seconds": round(seconds, 2),
        "mode": f"inline, {processes} process(es) x {workers} thread(s)",
        "report": _report_label(),
    }


def _access_many_processes(identity_emails: list[str], processes: int, workers: int) -> float:
    """The requests shared out to ``processes`` worker processes; seconds until all are done.

    Each process is started (spawned: a fresh interpreter, with this process'
    environment, i.e. the same Datavern home and connection key), runs one access
    request to warm up (imports, table reflection, templates) and waits; the
    clock starts when every process is ready and stops when the last one is
    done. Worker start-up is not timed, as with ``datavern worker``.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    done = context.Queue()
    go = context.Event()
    settings = {k: v for k, v in _settings.items() if k != "dataset_path"}
    children = [
        context.Process(
            target=_worker_process,
            args=(number, identity_emails[number::processes], workers, settings, ready, done, go),
            daemon=True,
        )
        for number in range(processes)
    ]
    for child in children:
        child.start()
    try:
        for _ in children:
            failure = ready.get(timeout=300)
            if failure:
                raise RuntimeError(f"a queued-request worker could not start: {failure}")
        started = time.perf_counter()
        go.set()
        problems = [done.get(timeout=3600) for _ in children]
        seconds = time.perf_counter() - started
    finally:
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.terminate()
    failed = [p for p in problems if p]
    if failed:
        raise RuntimeError(f"queued access requests failed: {failed[0]}")
    return seconds


def _worker_process(
    number: int,
    emails: list[str],
    workers: int,
    settings: dict[str, Any],
    ready: Any,
    done: Any,
    go: Any,
) -> None:
    """One worker process of ``_access_many_processes`` (runs in the spawned child)."""
    _settings.update(settings)
    try:
        if emails:
            _request("access", emails[0], **_access_options(f"queued-warm-{number}.zip"))
    except Exception as exc:
        ready.put(f"{type(exc).__name__}: {exc}")
        return
    ready.put("")
    go.wait()
    try:
        _access_many_threads(emails, workers, f"queued-{number}")
    except Exception as exc:
        done.put(f"{type(exc).__name__}: {exc}")
        return
    done.put("")


def _access_many_threads(identity_emails: list[str], workers: int, name: str) -> None:
    """The queue worked off by ``workers`` threads, each running requests inline.

    Each thread takes the next request as soon as it has finished one (what a
    pool of in-process workers does); every request is the same complete access
    request as above, with its package written to a file of the thread's own.
    """
    import queue
    import threading

    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for email in identity_emails:
        todo.put(email)
    errors: list[BaseException] = []

    def work(number: int) -> None:
        options = _access_options(f"{name}-{number}.zip")
        while not errors:
            try:
                email = todo.get_nowait()
            except queue.Empty:
                return
            try:
                _request("access", email, **options)
            except BaseException as exc:  # stop every thread, report the first error
                errors.append(exc)
                return

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _access_many_celery(identity_emails: list[str]) -> dict[str, Any]:
    import subprocess
    import sys

    from sqlalchemy import func, select

    from datavern.core.config import reset_settings
    from datavern.core.db import session_scope
    from datavern.dsr import service, tasks
    from datavern.dsr.models import DataSubjectRequest

    os.environ["DATAVERN_QUEUE"] = f"datavern-bench-{os.getpid()}"
    workers = os.environ.get("DATAVERN_BENCH_WORKERS", "2")
    log = (WORK / "datavern-worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "datavern.jobs.cli",
            "--concurrency",
            workers,
            "--loglevel",
            "WARNING",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, DATAVERN_JOBS="celery"),
    )
    try:
        time.sleep(5)  # the worker's start-up, not timed
        os.environ["DATAVERN_JOBS"] = "celery"
        reset_settings()
        options = _access_options("queued-{}.zip")
        started = time.perf_counter()
        ids: list[str] = []
        for number, email in enumerate(identity_emails):
            with session_scope() as session:
                _version, register = service.applied_register(session)
                identities = service.parse_request_identities(register, [f"email={email}"])
                opts = dict(options, output=options["output"].format(number % 16))
                request = service.create_request(
                    session, "access", identities, actor="bench", options=opts
                )
                ids.append(request.id)
            tasks.submit(request.id, actor="bench")
        while True:
            with session_scope() as session:
                finished = session.execute(
                    select(func.count()).where(
                        DataSubjectRequest.id.in_(ids),
                        DataSubjectRequest.status.in_(("done", "failed", "partial")),
                    )
                ).scalar_one()
            if finished == len(ids) or worker.poll() is not None:
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        with session_scope() as session:
            done = session.execute(
                select(func.count()).where(
                    DataSubjectRequest.id.in_(ids), DataSubjectRequest.status == "done"
                )
            ).scalar_one()
    finally:
        os.environ["DATAVERN_JOBS"] = "inline"
        reset_settings()
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    if done != len(ids):
        raise RuntimeError(f"only {done} of {len(ids)} queued requests are done (see the log)")
    return {
        "requests": len(ids),
        "seconds": round(seconds, 2),
        "mode": f"celery, {workers} worker processes",
        "report": _report_label(),
    }
