"""Shared fixtures: an isolated Datavern home per test and real databases.

PostgreSQL is real (127.0.0.1:5432). If it is down, setup tries to start it; under
CI (CI=true) a server that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from datavern.consent import service as consent_service
from datavern.core import clock
from datavern.core.config import reset_settings
from datavern.core.db import dispose_engines, migrate

PG_ADMIN_URL = os.environ.get(
    "DATAVERN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def _pg_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _start_postgres() -> None:
    versions = Path("/etc/postgresql")
    if not versions.is_dir():
        return
    for version in sorted(p.name for p in versions.iterdir()):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
            timeout=60,
        )


def postgres_or_fail() -> None:
    if _pg_reachable():
        return
    _start_postgres()
    if _pg_reachable():
        return
    message = f"PostgreSQL is not reachable at {PG_ADMIN_URL.split('@')[-1]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def datavern_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder and SQLite database; settings are re-read."""
    home = tmp_path / "datavern-home"
    monkeypatch.setenv("DATAVERN_DATA_DIR", str(home))
    monkeypatch.delenv("DATAVERN_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATAVERN_ACTOR", "test")
    before = {k: v for k, v in os.environ.items() if k.startswith("DATAVERN_")}
    reset_settings()
    yield home
    dispose_engines()
    consent_service.forget_caches()  # the PostgreSQL test database keeps its URL
    # Commands run in-process may set DATAVERN_* for their own process (`datavern demo`
    # sets the base URL and its connection key): never let that reach the next test.
    for key in [k for k in os.environ if k.startswith("DATAVERN_")]:
        if key not in before:
            del os.environ[key]
    os.environ.update(before)
    reset_settings()


@pytest.fixture
def fixed_clock() -> Iterator[clock.FixedClock]:
    """Datavern's clock stopped at the test's start; ``.set()`` moves it."""
    fixed = clock.FixedClock(datetime.now(UTC))
    previous = clock.use_clock(fixed)
    try:
        yield fixed
    finally:
        clock.use_clock(previous)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    postgres_or_fail()
    name = f"datavern_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, datavern_home: Path
) -> Iterator[str]:
    """Datavern's own database, migrated, on SQLite and on PostgreSQL (emptied per test)."""
    if request.param == "sqlite":
        url = f"sqlite:///{datavern_home / 'datavern.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    monkeypatch.setenv("DATAVERN_DATABASE_URL", url)
    reset_settings()
    migrate(url)
    yield url
    dispose_engines()
