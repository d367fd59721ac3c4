"""A small shop database and its register for the DSR engine tests, on SQLite, PostgreSQL, MariaDB.

Subjects:

* Ola (customer 1, ola@example.no): two orders; an invoice from 2024 (held by
  bokføringsloven § 13 until 31 Dec 2029) and one from 2019 (hold ended); three
  access-log rows; a newsletter subscription; a support ticket with two messages.
* Kari (customer 2, kari@example.no): one order with an invoice, one log row, a
  newsletter subscription. Nobody's request may touch her.
* Per (customer 3): no orders.

Import the fixtures into a test module: ``from dsr_fixtures import dsr_shop``.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
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
    false,
    insert,
    text,
)

from datavern.connectors import service as connections
from datavern.core import clock
from datavern.core.db import migrate, session_scope
from datavern.register.loader import load_register
from datavern.register.service import apply_register

OLA = "ola@example.no"
KARI = "kari@example.no"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

DATASET = """
dataset:
  - fides_key: shop
    name: Nettbutikk
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
          - name: phone
            data_categories: [user.contact.phone_number]
            fides_meta: {identity: phone}
          - name: fnr
            data_categories: [user.government_id.national_identification_number]
            fides_meta: {identity: fnr}
          - name: born
            data_categories: [user.demographic.date_of_birth]
          - name: password_hash
            data_categories: [user.authorization.password]
          - name: status
            data_categories: [system.operations]
      - name: orders
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customers.id, direction: from}]
          - name: shipped_to
            data_categories: [user.contact.address]
          - name: amount
            data_categories: [system.operations]
      - name: order_lines
        fields:
          - name: order_id
            fides_meta:
              primary_key: true
              references: [{dataset: shop, field: orders.id, direction: from}]
          - name: line_no
            fides_meta: {primary_key: true}
          - name: gift_message
            data_categories: [user.content]
      - name: invoices
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: order_id
            fides_meta:
              references: [{dataset: shop, field: orders.id, direction: from}]
          - name: buyer_name
            data_categories: [user.name]
          - name: buyer_address
            data_categories: [user.contact.address]
          - name: buyer_email
            data_categories: [user.contact.email]
          - name: invoice_date
            data_categories: [system.operations]
      - name: access_log
        fields:
          - name: customer_email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: ip
            data_categories: [user.device.ip_address]
          - name: at
            data_categories: [system.operations]
      - name: newsletter
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: name
            data_categories: [user.name]
      - name: tickets
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customers.id, direction: from}]
          - name: subject
            data_categories: [user.content]
      - name: ticket_messages
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: ticket_id
            fides_meta:
              references: [{dataset: shop, field: tickets.id, direction: from}]
          - name: body
            data_categories: [user.content]
"""

DSR_DEFAULT = """
dsr:
  connections:
    shop: shopdb
  holds:
    - key: invoices
      collection: shop.invoices
      fields: [buyer_name, buyer_address]
      rule: bokforingsloven-13-1-1-4
      date_field: invoice_date
      reason:
        nb: Bokføringsloven § 13 krever at fakturaer oppbevares i fem år.
        en: The Bookkeeping Act § 13 requires invoices to be kept for five years.
  restriction_flags:
    shop.customers: restricted
"""

ORGANISATION = """
organisation:
  name: Nettbutikken AS
  org_nr: "923609016"
  email: personvern@example.no
"""


def shop_metadata() -> MetaData:
    metadata = MetaData()
    Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(100), unique=True, nullable=True),
        Column("name", String(60), nullable=False),
        Column("phone", String(20), nullable=True),
        Column("fnr", String(11), nullable=True),
        Column("born", Date, nullable=True),
        Column("password_hash", String(100), nullable=True),
        Column("status", String(10), nullable=False),
        Column("restricted", Boolean, nullable=False, server_default=false()),
    )
    Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("shipped_to", String(200), nullable=True),
        Column("amount", Numeric(10, 2), nullable=False),
    )
    Table(
        "order_lines",
        metadata,
        Column("order_id", Integer, nullable=False),
        Column("line_no", Integer, nullable=False),
        Column("gift_message", String(200), nullable=True),
        PrimaryKeyConstraint("order_id", "line_no"),
        ForeignKeyConstraint(["order_id"], ["orders.id"]),
    )
    Table(
        "invoices",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
        Column("buyer_name", String(100), nullable=True),
        Column("buyer_address", String(200), nullable=True),
        Column("buyer_email", String(100), nullable=True),
        Column("invoice_date", Date, nullable=False),
    )
    Table(
        "access_log",
        metadata,
        Column("customer_email", String(100), nullable=True),
        Column("ip", String(45), nullable=True),
        Column("at", DateTime, nullable=False),
    )
    Table(
        "newsletter",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(100), nullable=False, unique=True),
        Column("name", String(60), nullable=True),
    )
    Table(
        "tickets",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("subject", String(200), nullable=True),
    )
    Table(
        "ticket_messages",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
        Column("body", Text, nullable=True),
    )
    return metadata


def fill(engine: Engine, metadata: MetaData) -> None:
    t = metadata.tables
    at = datetime(2026, 5, 1, 12, 0)
    with engine.begin() as conn:
        conn.execute(
            insert(t["customers"]),
            [
                {
                    "id": 1, "email": OLA, "name": "Ola Nordmann", "phone": "+4791234567",
                    "fnr": "17058012327", "born": date(1980, 5, 17), "password_hash": "pbkdf2$x",
                    "status": "active", "restricted": False,
                },
                {
                    "id": 2, "email": KARI, "name": "Kari Nordmann", "phone": "+4792222222",
                    "fnr": None, "born": None, "password_hash": "pbkdf2$y",
                    "status": "active", "restricted": False,
                },
                {
                    "id": 3, "email": "per@example.no", "name": "Per Hansen", "phone": None,
                    "fnr": None, "born": None, "password_hash": None,
                    "status": "closed", "restricted": False,
                },
            ],
        )  # fmt: skip
        conn.execute(
            insert(t["orders"]),
            [
                {"id": i, "customer_id": c, "shipped_to": to, "amount": Decimal(a)}
                for i, c, to, a in (
                    (10, 1, "Storgata 1, Oslo", "100.00"),
                    (11, 1, "Bryggen 2, Bergen", "50.50"),
                    (12, 2, "Torget 3, Tromsø", "75.00"),
                )
            ],
        )
        conn.execute(
            insert(t["order_lines"]),
            [
                {"order_id": 10, "line_no": 1, "gift_message": "Gratulerer, Ola!"},
                {"order_id": 10, "line_no": 2, "gift_message": None},
                {"order_id": 11, "line_no": 1, "gift_message": "Til mor"},
                {"order_id": 12, "line_no": 1, "gift_message": "Til Kari"},
            ],
        )
        conn.execute(
            insert(t["invoices"]),
            [
                {
                    "id": i,
                    "order_id": o,
                    "buyer_name": name,
                    "buyer_address": address,
                    "buyer_email": email,
                    "invoice_date": day,
                }
                for i, o, name, address, email, day in (
                    (100, 10, "Ola Nordmann", "Storgata 1, Oslo", OLA, date(2024, 3, 15)),
                    (101, 11, "Ola Nordmann", "Bryggen 2, Bergen", OLA, date(2019, 6, 1)),
                    (102, 12, "Kari Nordmann", "Torget 3, Tromsø", KARI, date(2025, 2, 1)),
                )
            ],
        )
        conn.execute(
            insert(t["access_log"]),
            [
                {"customer_email": OLA, "ip": "10.0.0.1", "at": at},
                {"customer_email": OLA, "ip": "10.0.0.2", "at": at},
                {"customer_email": OLA, "ip": "10.0.0.9", "at": at},
                {"customer_email": KARI, "ip": "10.0.0.3", "at": at},
                {"customer_email": None, "ip": "10.0.0.4", "at": at},
            ],
        )
        conn.execute(
            insert(t["newsletter"]),
            [
                {"id": 1, "email": OLA, "name": "Ola"},
                {"id": 2, "email": KARI, "name": "Kari"},
            ],
        )
        conn.execute(
            insert(t["tickets"]),
            [
                {"id": 7, "customer_id": 1, "subject": "Where is my parcel?"},
                {"id": 8, "customer_id": 2, "subject": "Refund"},
            ],
        )
        conn.execute(
            insert(t["ticket_messages"]),
            [
                {"id": 70, "ticket_id": 7, "body": "Hi, this is Ola, my phone is 91234567"},
                {"id": 71, "ticket_id": 7, "body": "Thanks!"},
                {"id": 80, "ticket_id": 8, "body": "Kari here"},
            ],
        )


def reset(url: str, metadata: MetaData | None = None, data: bool = True) -> None:
    """Drop every table of the database and create the shop afresh."""
    engine = create_engine(url)
    old = MetaData()
    old.reflect(engine)
    old.drop_all(engine)
    metadata = metadata or shop_metadata()
    metadata.create_all(engine)
    if data:
        fill(engine, metadata)
    engine.dispose()


@dataclass
class Shop:
    """The shop database and a Datavern home that knows it."""

    url: str
    backend: str
    root: Path
    engine: Engine
    fixed_clock: clock.FixedClock
    dsr_yaml: str = DSR_DEFAULT
    extra: dict[str, Any] = field(default_factory=dict)

    def read(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def table(self, name: str, order: str = "1") -> list[dict[str, Any]]:
        return self.read(f"SELECT * FROM {name} ORDER BY {order}")

    def apply(self, dsr_yaml: str | None = None, dataset: str = DATASET) -> None:
        """Apply the register (organisation, dataset, dsr section) as a new version."""
        if dsr_yaml is not None:
            self.dsr_yaml = dsr_yaml
        folder = self.root / f"register-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        (folder / "register.yaml").write_text(
            textwrap.dedent(ORGANISATION) + dataset + textwrap.dedent(self.dsr_yaml)
        )
        loaded = load_register(folder)
        with session_scope() as session:
            apply_register(session, loaded, "test")


SHOP_BACKENDS = ["sqlite", "postgres", "mariadb"]


@pytest.fixture(scope="session")
def dsr_pg_url(pg_database: str) -> Iterator[str]:
    # Each test module imports the fixture, so each gets a database of its own.
    name = f"{pg_database.rsplit('/', 1)[1]}_dsr_{uuid.uuid4().hex[:6]}"
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
def dsr_mariadb_url(mariadb_database: str) -> Iterator[str]:
    base = mariadb_database.rsplit("/", 1)[0]
    name = f"datavern_dsr_{uuid.uuid4().hex[:10]}"
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
        return str(request.getfixturevalue("dsr_pg_url"))
    return str(request.getfixturevalue("dsr_mariadb_url"))


def prepare_home(url: str, monkeypatch: pytest.MonkeyPatch, *, keep_keys: bool = False) -> None:
    """Datavern's own database migrated, the connection key set, the shop connection stored."""
    if not keep_keys:
        monkeypatch.setenv("DATAVERN_CONNECTION_KEY", Fernet.generate_key().decode())
        monkeypatch.delenv("DATAVERN_MASKING_KEY", raising=False)
    migrate()
    with session_scope() as session:
        connections.add_connection(session, "shopdb", url, actor="test")


@pytest.fixture(params=SHOP_BACKENDS)
def dsr_shop(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    """The filled shop on each backend, a Datavern home with its connection and register."""
    backend: str = request.param
    url = shop_url_for(request, backend, tmp_path)
    reset(url)
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


@pytest.fixture
def sqlite_shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """The shop on SQLite only, for tests of the engine's logic rather than of a backend."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    reset(url)
    fixed = clock.FixedClock(NOW)
    previous = clock.use_clock(fixed)
    prepare_home(url, monkeypatch)
    engine = create_engine(url)
    shop = Shop(url=url, backend="sqlite", root=tmp_path, engine=engine, fixed_clock=fixed)
    shop.apply()
    try:
        yield shop
    finally:
        clock.use_clock(previous)
        engine.dispose()
        connections.close_connectors()


def others_snapshot(shop: Shop) -> dict[str, list[dict[str, Any]]]:
    """Every row that is not Ola's, to prove a request about Ola left them alone."""
    return {
        "customers": shop.read("SELECT * FROM customers WHERE id <> 1 ORDER BY id"),
        "orders": shop.read("SELECT * FROM orders WHERE customer_id <> 1 ORDER BY id"),
        "order_lines": shop.read("SELECT * FROM order_lines WHERE order_id = 12"),
        "invoices": shop.read("SELECT * FROM invoices WHERE id = 102"),
        "access_log": shop.read(
            "SELECT * FROM access_log WHERE ip IN ('10.0.0.3', '10.0.0.4') ORDER BY ip"
        ),
        "newsletter": shop.read("SELECT * FROM newsletter WHERE id = 2"),
        "tickets": shop.read("SELECT * FROM tickets WHERE id = 8"),
        "ticket_messages": shop.read("SELECT * FROM ticket_messages WHERE id = 80"),
    }
