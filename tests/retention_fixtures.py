"""A small company database and its register for the retention tests, on SQLite, PostgreSQL
and MariaDB.

Today (the fixed clock) is 1 June 2026 in Oslo. The data:

* ``access_log`` (timestamps without zone): 40 rows, one every 5 days back from
  31 May 2026; a P90D rule sweeps those of 1 March 2026 and older (kept through
  day + 90). Row 3 is from Ola (``ola@example.no``), whose person a subject hold
  may keep.
* ``invoices`` (dates): one per year 2017-2025 plus 31 Dec 2020 and 1 Jan 2021;
  bokføringsloven § 13 (1) nr. 1-4 keeps them five years after the end of the
  financial year, so on 1 June 2026 those of 2020 and older are due.
* ``sessions`` (aware timestamps on PostgreSQL): 10 rows, anonymised after P30D.
* ``page_views``: 12 rows on two paths, counted into ``page_view_counts`` and deleted
  after P7D.

Import the fixtures into a test module: ``from retention_fixtures import shop``.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    insert,
    text,
)

from datavern.connectors import service as connections
from datavern.core import clock
from datavern.core.db import migrate, session_scope
from datavern.register.loader import load_register
from datavern.register.service import apply_register

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 6, 1)
OLA = "ola@example.no"
KARI = "kari@example.no"

ORGANISATION = """
organisation:
  name: Nettbutikken AS
  org_nr: "923609016"
  email: personvern@example.no
"""

DATASET = """
dataset:
  - fides_key: shop
    collections:
      - name: customers
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: name
            data_categories: [user.name]
      - name: invoices
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customers.id, direction: from}]
          - name: buyer_name
            data_categories: [user.name]
          - name: invoice_date
            data_categories: [system.operations]
          - name: status
            data_categories: [system.operations]
          - name: amount
            data_categories: [system.operations]
      - name: access_log
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: ip
            data_categories: [user.device.ip_address]
          - name: created_at
            data_categories: [system.operations]
      - name: sessions
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: user_email
            data_categories: [user.contact.email]
          - name: ip
            data_categories: [user.device.ip_address]
          - name: started_at
            data_categories: [system.operations]
      - name: page_views
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: path
            data_categories: [system.operations]
          - name: ip
            data_categories: [user.device.ip_address]
          - name: viewed_at
            data_categories: [system.operations]
      - name: page_view_counts
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: path
            data_categories: [system.operations]
          - name: row_count
            data_categories: [system.operations]
"""

RULES = """
dsr:
  connections:
    shop: shopdb
retention_rules:
  - key: access-log
    collection: shop.access_log
    trigger: {field: created_at}
    period: P90D
    legal_basis:
      nb: Logger trengs i 90 dager for feilsøking og sikkerhet.
      en: Logs are needed for 90 days for troubleshooting and security.
  - key: invoices
    collection: shop.invoices
    trigger: {financial_year_end_of: invoice_date}
    rule: bokforingsloven-13-1-1-4
  - key: sessions
    collection: shop.sessions
    trigger: {field: started_at}
    period: P30D
    action: anonymise
    anonymise_fields: [user_email, ip]
  - key: page-views
    collection: shop.page_views
    trigger: {field: viewed_at}
    period: P7D
    action: aggregate
    aggregate:
      into: shop.page_view_counts
      group_by: [path]
"""


def shop_metadata(aware_sessions: bool) -> MetaData:
    metadata = MetaData()
    Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(100)),
        Column("name", String(60)),
    )
    Table(
        "invoices",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("buyer_name", String(100)),
        Column("invoice_date", Date, nullable=True),
        Column("status", String(20)),
        Column("amount", Numeric(10, 2)),
    )
    Table(
        "access_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(100)),
        Column("ip", String(45)),
        Column("created_at", DateTime, nullable=True),
    )
    Table(
        "sessions",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("user_email", String(100), nullable=True),
        Column("ip", String(45), nullable=True),
        Column("started_at", DateTime(timezone=aware_sessions), nullable=False),
    )
    Table(
        "page_views",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("path", String(100), nullable=False),
        Column("ip", String(45)),
        Column("viewed_at", DateTime, nullable=False),
    )
    Table(
        "page_view_counts",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("path", String(100), nullable=False),
        Column("row_count", Integer, nullable=False),
    )
    return metadata


INVOICE_DATES = [
    (1, date(2017, 3, 1)),
    (2, date(2018, 3, 1)),
    (3, date(2019, 3, 1)),
    (4, date(2020, 3, 1)),
    (5, date(2020, 12, 31)),
    (6, date(2021, 1, 1)),
    (7, date(2021, 6, 1)),
    (8, date(2022, 6, 1)),
    (9, date(2023, 6, 1)),
    (10, date(2024, 2, 29)),
    (11, date(2025, 6, 1)),
]


def log_time(i: int) -> datetime:
    """Row i of access_log: 31 May 2026 12:00 minus 5*(i-1) days (naive)."""
    return datetime(2026, 5, 31, 12, 0) - timedelta(days=5 * (i - 1))


def fill(engine: Engine, metadata: MetaData, aware_sessions: bool) -> None:
    t = metadata.tables
    with engine.begin() as conn:
        conn.execute(
            insert(t["customers"]),
            [
                {"id": 1, "email": OLA, "name": "Ola Nordmann"},
                {"id": 2, "email": KARI, "name": "Kari Nordmann"},
            ],
        )
        conn.execute(
            insert(t["invoices"]),
            [
                {
                    "id": i,
                    "customer_id": 1 if i % 2 else 2,
                    "buyer_name": "Ola Nordmann" if i % 2 else "Kari Nordmann",
                    "invoice_date": day,
                    "status": "disputed" if i == 3 else "paid",
                    "amount": 100 + i,
                }
                for i, day in INVOICE_DATES
            ],
        )
        conn.execute(
            insert(t["access_log"]),
            [
                {
                    "id": i,
                    "email": OLA if i % 10 == 3 else f"user{i}@example.no",
                    "ip": f"10.0.0.{i}",
                    "created_at": log_time(i),
                }
                for i in range(1, 41)
            ],
        )
        start = datetime(2026, 5, 30, 10, 0, tzinfo=UTC)
        conn.execute(
            insert(t["sessions"]),
            [
                {
                    "id": i,
                    "user_email": f"s{i}@example.no",
                    "ip": f"10.1.0.{i}",
                    "started_at": (start - timedelta(days=10 * (i - 1)))
                    if aware_sessions
                    else (start - timedelta(days=10 * (i - 1))).replace(tzinfo=None),
                }
                for i in range(1, 11)
            ],
        )
        conn.execute(
            insert(t["page_views"]),
            [
                {
                    "id": i,
                    "path": "/" if i % 3 else "/kontakt",
                    "ip": f"10.2.0.{i}",
                    "viewed_at": datetime(2026, 5, 31, 8, 0) - timedelta(days=2 * (i - 1)),
                }
                for i in range(1, 13)
            ],
        )


def reset(url: str, aware_sessions: bool) -> None:
    engine = create_engine(url)
    old = MetaData()
    old.reflect(engine)
    old.drop_all(engine)
    metadata = shop_metadata(aware_sessions)
    metadata.create_all(engine)
    fill(engine, metadata, aware_sessions)
    engine.dispose()


@dataclass
class Shop:
    url: str
    backend: str
    root: Path
    engine: Engine
    fixed_clock: clock.FixedClock
    rules_yaml: str = RULES

    def read(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def ids(self, table: str) -> list[int]:
        return [r["id"] for r in self.read(f"SELECT id FROM {table} ORDER BY id")]

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        tables = ("customers", "invoices", "access_log", "sessions", "page_views")
        state = {t: self.read(f"SELECT * FROM {t} ORDER BY id") for t in tables}
        state["page_view_counts"] = self.read(
            "SELECT path, SUM(row_count) AS n FROM page_view_counts GROUP BY path ORDER BY path"
        )
        for row in state["page_view_counts"]:
            row["n"] = int(row["n"])
        return state

    def apply(self, rules_yaml: str | None = None, dataset: str = DATASET) -> None:
        if rules_yaml is not None:
            self.rules_yaml = rules_yaml
        folder = self.root / f"register-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        (folder / "register.yaml").write_text(
            textwrap.dedent(ORGANISATION) + dataset + textwrap.dedent(self.rules_yaml)
        )
        loaded = load_register(folder)
        with session_scope() as session:
            apply_register(session, loaded, "test")


@pytest.fixture(scope="session")
def retention_pg_url(pg_database: str) -> Iterator[str]:
    name = f"{pg_database.rsplit('/', 1)[1]}_ret_{uuid.uuid4().hex[:6]}"
    admin = create_engine(pg_database.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_database.rsplit("/", 1)[0] + "/" + name
    finally:
        connections.close_connectors()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def retention_mariadb_url(mariadb_database: str) -> Iterator[str]:
    base = mariadb_database.rsplit("/", 1)[0]
    name = f"datavern_ret_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        base + "/" + mariadb_database.rsplit("/", 1)[1], isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield base + "/" + name
    finally:
        connections.close_connectors()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def shop_url_for(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    if backend == "postgres":
        return str(request.getfixturevalue("retention_pg_url"))
    return str(request.getfixturevalue("retention_mariadb_url"))


def prepare_home(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVERN_CONNECTION_KEY", Fernet.generate_key().decode())
    migrate()
    with session_scope() as session:
        connections.add_connection(session, "shopdb", url, actor="test")


def make_shop(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    url = shop_url_for(request, backend, tmp_path)
    reset(url, aware_sessions=backend == "postgres")
    fixed = clock.FixedClock(NOW)
    previous = clock.use_clock(fixed)
    prepare_home(url, monkeypatch)
    engine = create_engine(url)
    shop = Shop(url=url, backend=backend, root=tmp_path, engine=engine, fixed_clock=fixed)
    shop.apply()
    try:
        yield shop
    finally:
        clock.use_clock(previous)
        engine.dispose()
        connections.close_connectors()


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def shop(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    """The filled shop on each backend and a Datavern home that knows it."""
    yield from make_shop(request, request.param, tmp_path, monkeypatch)


@pytest.fixture
def sqlite_shop(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    yield from make_shop(request, "sqlite", tmp_path, monkeypatch)


# --------------------------------------------------------------------------- #
# A bigger table of many slices: events, every third one recent, the rest due
# --------------------------------------------------------------------------- #

EVENTS_DATASET = (
    DATASET
    + """      - name: events
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: ip
            data_categories: [user.device.ip_address]
          - name: created_at
            data_categories: [system.operations]
"""
)
EVENTS_RULES = """
dsr:
  connections:
    shop: shopdb
retention_rules:
  - key: events
    collection: shop.events
    trigger: {field: created_at}
    period: P1Y
"""


def make_events(url: str, count: int, now: datetime | None = None) -> int:
    """``count`` rows: every third one less than a month old, the rest two years old (due);
    returns how many are due."""
    engine = create_engine(url)
    metadata = MetaData()
    events = Table(
        "events",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("ip", String(45)),
        Column("created_at", DateTime, nullable=False),
    )
    metadata.drop_all(engine)
    metadata.create_all(engine)
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    rows = [
        {
            "id": i,
            "ip": f"10.{i % 250}.{i % 200}.{i % 100}",
            "created_at": moment - (timedelta(days=20) if i % 3 == 0 else timedelta(days=730)),
        }
        for i in range(1, count + 1)
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(events), rows[start : start + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE events")
    engine.dispose()
    return sum(1 for i in range(1, count + 1) if i % 3 != 0)
