"""DATAVERN_JOBS=celery: requests run on `datavern worker` processes (real Redis, real workers).

Datavern's own database on SQLite and PostgreSQL (``database_url``), the shop
(several collections) on SQLite. Each test uses a queue of its own, on a Redis
database that was empty, so runs do not cross.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import dsr_fixtures
from datavern.connectors.service import close_connectors
from datavern.core import clock
from datavern.core.audit import AuditEntry, verify
from datavern.core.config import reset_settings
from datavern.core.db import session_scope
from datavern.dsr import service
from datavern.dsr.masking import is_marked
from datavern.dsr.models import DataSubjectRequest, DsrStep
from dsr_fixtures import OLA, Shop

sqlite_shop = dsr_fixtures.sqlite_shop

TABLES = (
    "customers",
    "orders",
    "order_lines",
    "invoices",
    "access_log",
    "newsletter",
    "tickets",
    "ticket_messages",
)
ORDER = {"order_lines": "order_id, line_no", "access_log": "ip, at"}
REDIS = ("127.0.0.1", 6379)


def state(shop: Shop) -> dict[str, list[dict[str, Any]]]:
    """Every table of the shop, with values Datavern masked at random shown as <masked>."""
    return {
        t: [
            {k: "<masked>" if is_marked(v) else v for k, v in row.items()}
            for row in shop.read(f"SELECT * FROM {t} ORDER BY {ORDER.get(t, '1')}")
        ]
        for t in TABLES
    }


def _redis_ping(db: int = 0) -> Any:
    import redis

    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=db, socket_connect_timeout=1)
    client.ping()
    return client


@pytest.fixture(scope="module")
def redis_server() -> None:
    """Redis on this machine, started when it is not running; skipped without it (not in CI)."""
    import redis

    try:
        _redis_ping()
        return
    except redis.RedisError:
        pass
    if shutil.which("redis-server"):
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                REDIS[0],
                "--port",
                str(REDIS[1]),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=False,
            capture_output=True,
        )
        for _ in range(50):
            try:
                _redis_ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
    if os.environ.get("CI") == "true":
        pytest.fail("Redis is not reachable on 127.0.0.1:6379")
    pytest.skip("Redis is not reachable on 127.0.0.1:6379")


@pytest.fixture
def celery_env(redis_server: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DATAVERN_JOBS=celery on a queue of this test's own, in an empty Redis database."""
    index = next((i for i in range(1, 16) if _redis_ping(i).dbsize() == 0), 15)
    monkeypatch.setenv("DATAVERN_BROKER_URL", f"redis://{REDIS[0]}:{REDIS[1]}/{index}")
    monkeypatch.setenv("DATAVERN_QUEUE", f"datavern-test-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("DATAVERN_MASKING_KEY", "the same key for every run")
    yield
    reset_settings()


class Workers:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes: list[subprocess.Popen[bytes]] = []
        self.files: list[Any] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        self.files.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "datavern.jobs.cli", "--concurrency", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DATAVERN_JOBS": "celery", **env},
            start_new_session=True,  # its own process group: killed with its children
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.root.glob("worker-*")))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=20)
        for file in self.files:
            file.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    root = tmp_path / "workers"
    root.mkdir()
    pool = Workers(root)
    yield pool
    pool.stop()


def create(kind: str = "erasure") -> str:
    with session_scope() as session:
        _version, register = service.applied_register(session)
        parsed = service.parse_request_identities(register, [f"email={OLA}"])
        return service.create_request(session, kind, parsed, actor="test").id


def status(request_id: str) -> str:
    with session_scope() as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        return request.status


def wait_for(request_id: str, pool: Workers, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = status(request_id)
        if current in ("done", "failed", "partial"):
            return current
        time.sleep(0.2)
    raise AssertionError(f"request {request_id} is still {status(request_id)}:\n{pool.logs()}")


def steps(request_id: str) -> list[DsrStep]:
    with session_scope() as session:
        return list(
            session.execute(
                select(DsrStep).where(DsrStep.request_id == request_id).order_by(DsrStep.number)
            ).scalars()
        )


def audit_shape(request_id: str) -> Counter[tuple[str, str]]:
    """How many audit entries of each action and collection the request wrote."""
    with session_scope() as session:
        entries = session.execute(
            select(AuditEntry).where(AuditEntry.target == f"dsr_request:{request_id}")
        ).scalars()
        return Counter((e.action, str(e.details.get("collection", ""))) for e in entries)


def inline_result(shop: Shop) -> tuple[dict[str, list[dict[str, Any]]], Counter[tuple[str, str]]]:
    """The erasure run inline; the shop is put back as it was before it."""
    path = Path(shop.url.removeprefix("sqlite:///"))
    pristine = path.with_name("pristine.db")
    shutil.copy(path, pristine)
    request_id = create()
    assert service.run_request(request_id, actor="test") == "done"
    expected = state(shop), audit_shape(request_id)
    shop.engine.dispose()
    close_connectors()
    shutil.copy(pristine, path)
    return expected


def test_a_request_runs_on_a_worker_to_the_same_end_as_inline(
    database_url: str,
    sqlite_shop: Shop,
    celery_env: None,
    workers: Workers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected_rows, expected_audit = inline_result(sqlite_shop)
    assert state(sqlite_shop) != expected_rows  # put back: Ola's data is there again

    workers.start()
    monkeypatch.setenv("DATAVERN_JOBS", "celery")
    reset_settings()
    request_id = create()
    from datavern.dsr import tasks

    assert tasks.submit(request_id, actor="test") is None  # queued, not run here
    assert wait_for(request_id, workers) == "done", workers.logs()
    assert state(sqlite_shop) == expected_rows
    assert audit_shape(request_id) == expected_audit
    assert {s.attempts for s in steps(request_id)} == {1}  # every step ran once
    with session_scope() as session:
        assert verify(session).ok


def test_a_worker_killed_mid_request_is_replaced_and_nothing_is_done_twice(
    database_url: str,
    sqlite_shop: Shop,
    celery_env: None,
    workers: Workers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected_rows, expected_audit = inline_result(sqlite_shop)
    # Each write step pauses (first attempt only) after it wrote and before it
    # is marked done: the worst moment to be killed.
    victim = workers.start(DATAVERN_TEST_STEP_DELAY="60")
    monkeypatch.setenv("DATAVERN_JOBS", "celery")
    reset_settings()
    request_id = create()
    from datavern.jobs import celery_runner

    assert celery_runner.submit(request_id, actor="test")
    deadline = time.monotonic() + 120
    killed_step = None
    while time.monotonic() < deadline and killed_step is None:
        running = [s for s in steps(request_id) if s.state == "running"]
        if running:
            killed_step = running[0].number
        else:
            time.sleep(0.1)
    assert killed_step is not None, workers.logs()
    workers.kill(victim)
    assert status(request_id) == "running"  # not done, not failed: its worker was killed

    workers.start()
    # The killed task is not acknowledged; the sweeper, once the request has not
    # moved for a lease period (the clock moved on an hour), queues it again.
    later = clock.FixedClock(datetime.now(UTC) + timedelta(hours=1))
    previous = clock.use_clock(later)
    try:
        assert celery_runner.sweep() == [request_id]
    finally:
        clock.use_clock(previous)
    assert wait_for(request_id, workers) == "done", workers.logs()

    assert state(sqlite_shop) == expected_rows
    assert audit_shape(request_id) == expected_audit  # every read and write recorded once
    attempts = {s.number: s.attempts for s in steps(request_id)}
    assert attempts[killed_step] == 2
    assert all(n == 1 for number, n in attempts.items() if number != killed_step)
    with session_scope() as session:
        assert verify(session).ok
