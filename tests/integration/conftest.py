"""Real external databases for the connector tests: MariaDB and a sample shop schema.

MariaDB is real (127.0.0.1:3306, root without password). If it is down, setup
tries to start it; under CI (CI=true) a server that cannot be reached fails the
run instead of skipping. The "shop" is a small customer database created fresh
for each test on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    create_engine,
    insert,
    text,
)

from datavern.connectors import service

MARIADB_ADMIN_URL = os.environ.get(
    "DATAVERN_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)


def _mariadb_reachable() -> bool:
    try:
        engine = create_engine(MARIADB_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _start_mariadb() -> None:
    if not Path("/usr/sbin/mariadbd").exists():
        return
    subprocess.run(
        [
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            "/usr/sbin/mariadbd",
        ],
        check=False,
        capture_output=True,
        timeout=60,
    )
    for _ in range(30):
        if _mariadb_reachable():
            return
        time.sleep(1)


def mariadb_or_fail() -> None:
    if _mariadb_reachable():
        return
    _start_mariadb()
    if _mariadb_reachable():
        return
    message = f"MariaDB is not reachable at {MARIADB_ADMIN_URL.split('@')[-1]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mariadb_database() -> Iterator[str]:
    """A fresh MariaDB database for this test session, dropped at the end."""
    mariadb_or_fail()
    name = f"datavern_conn_{uuid.uuid4().hex[:10]}"
    admin = create_engine(MARIADB_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield MARIADB_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_shop_database(pg_database: str) -> Iterator[str]:
    """A PostgreSQL database for the shop, next to the session's Datavern database.

    Separate from `pg_database` because `database_url` empties that one per test.
    """
    name = pg_database.rsplit("/", 1)[1] + "_shop"
    admin_url = pg_database.rsplit("/", 1)[0] + "/postgres"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_database.rsplit("/", 1)[0] + "/" + name
    finally:
        service.close_connectors()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    yield
    service.close_connectors()


# -- the sample shop -----------------------------------------------------------

BULK_CUSTOMERS = 2500  # more than two IN-list batches of 1000


def shop_metadata(with_crm_schema: bool) -> MetaData:
    metadata = MetaData()
    Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(100), unique=True, nullable=True),
        Column("name", String(40), nullable=False),
        Column("phone", String(20), nullable=True),
        Column("status", Enum("active", "closed", name="customer_status"), nullable=True),
        Column("born", Date, nullable=True),
        Column("note", Text, nullable=True),
    )
    Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("amount", Numeric(10, 2), nullable=False),
        Column("shipped_to", String(200), nullable=True),
    )
    Table(
        "order_lines",
        metadata,
        Column("order_id", Integer, nullable=False),
        Column("line_no", Integer, nullable=False),
        Column("description", String(100), nullable=True),
        PrimaryKeyConstraint("order_id", "line_no"),
        ForeignKeyConstraint(["order_id"], ["orders.id"]),
    )
    Table(
        "access_log",  # no primary key, like many log tables
        metadata,
        Column("customer_email", String(100), nullable=True),
        Column("ip", String(45), nullable=True),
        Column("at", DateTime, nullable=False),
    )
    if with_crm_schema:
        Table(
            "contacts",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("email", String(100)),
            schema="crm",
        )
    return metadata


def _fill(engine: Engine, metadata: MetaData) -> None:
    t = metadata.tables
    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            insert(t["customers"]),
            [
                {
                    "id": 1,
                    "email": "ola@example.no",
                    "name": "Ola Nordmann",
                    "phone": "+4791234567",
                    "status": "active",
                    "born": date(1980, 5, 17),
                    "note": "likes skis",
                },
                {
                    "id": 2,
                    "email": "kari@example.no",
                    "name": "Kari Nordmann",
                    "phone": None,
                    "status": "active",
                    "born": None,
                    "note": None,
                },
                {
                    "id": 3,
                    "email": "per@example.no",
                    "name": "Per Hansen",
                    "phone": "+4799999999",
                    "status": "closed",
                    "born": date(1975, 1, 2),
                    "note": None,
                },
            ],
        )
        conn.execute(
            insert(t["orders"]),
            [
                {"id": 10, "customer_id": 1, "amount": Decimal("100.00"), "shipped_to": "Oslo"},
                {"id": 11, "customer_id": 1, "amount": Decimal("50.50"), "shipped_to": "Bergen"},
                {"id": 12, "customer_id": 2, "amount": Decimal("75.00"), "shipped_to": "Tromsø"},
            ],
        )
        conn.execute(
            insert(t["order_lines"]),
            [
                {"order_id": 10, "line_no": 1, "description": "ski"},
                {"order_id": 10, "line_no": 2, "description": "poles"},
                {"order_id": 11, "line_no": 1, "description": "wax"},
                {"order_id": 12, "line_no": 1, "description": "boots"},
            ],
        )
        conn.execute(
            insert(t["access_log"]),
            [
                {"customer_email": "ola@example.no", "ip": "10.0.0.1", "at": at},
                {"customer_email": "ola@example.no", "ip": "10.0.0.2", "at": at},
                {"customer_email": "kari@example.no", "ip": "10.0.0.3", "at": at},
                {"customer_email": None, "ip": "10.0.0.4", "at": at},
            ],
        )
        if "crm.contacts" in t:
            conn.execute(insert(t["crm.contacts"]), [{"id": 1, "email": "ola@example.no"}])


_created_shops: set[str] = set()


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def shop_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly created and filled shop database; the URL a connection would store."""
    backend: str = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    elif backend == "postgres":
        url = request.getfixturevalue("pg_shop_database")
    else:
        url = request.getfixturevalue("mariadb_database")
    engine = create_engine(url)
    metadata = shop_metadata(with_crm_schema=backend == "postgres")
    if backend != "sqlite" and url in _created_shops:
        # Tables made earlier this session: emptying them is much faster than DDL.
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    else:
        if backend == "postgres":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS crm CASCADE"))
                conn.execute(text("CREATE SCHEMA crm"))
        metadata.create_all(engine)
        _created_shops.add(url)
    _fill(engine, metadata)
    engine.dispose()
    yield url


@pytest.fixture
def bulk_customers(shop_url: str) -> list[int]:
    """Adds BULK_CUSTOMERS customers to the shop; returns their ids."""
    ids = [100 + i for i in range(BULK_CUSTOMERS)]
    engine = create_engine(shop_url)
    customers = shop_metadata(with_crm_schema=False).tables["customers"]
    with engine.begin() as conn:
        conn.execute(
            insert(customers),
            [
                {"id": i, "email": f"bulk{i}@example.no", "name": f"Bulk {i}", "status": "active"}
                for i in ids
            ],
        )
    engine.dispose()
    return ids


@pytest.fixture
def read_shop(shop_url: str) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """Read the shop directly with plain SQL, beside the connector under test."""
    engine = create_engine(shop_url)

    def read(sql: str, **params: Any) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    yield read
    engine.dispose()
