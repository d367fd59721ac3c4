"""A customer database and a register for the breach tests, on SQLite and PostgreSQL.

The CRM (connection ``crmdb``, dataset ``crm``) holds customers created before
and after 1 January 2024, some without an e-mail address, one with an address
that is not valid, two rows of one person (the same address in other case), and
phone numbers written the Norwegian way. The register's organisation has a
contact address and a data protection officer, for reminders and messages.

Import the fixtures into a test module: ``from breach_fixtures import crm``.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
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

# Friday 20 November 2026, 10:00 in Oslo.
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

REGISTER = """
organisation:
  name: Nettbutikken AS
  org_nr: "923609016"
  email: personvern@nettbutikken.example
  dpo:
    name: Kari Hansen
    email: dpo@nettbutikken.example
  privacy_centre_url: https://nettbutikken.example/personvern
systems:
  - key: webshop
    name: Nettbutikken
dataset:
  - fides_key: crm
    name: Kunderegister
    collections:
      - name: customers
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: phone
            data_categories: [user.contact.phone_number]
          - name: name
            data_categories: [user.name]
          - name: created_at
            data_categories: [system.operations]
          - name: status
            data_categories: [system.operations]
      - name: suppliers
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: company
            data_categories: [system.operations]
dsr:
  connections:
    crm: crmdb
"""

# (id, email, phone, name, created_at, status)
CUSTOMERS: list[tuple[Any, ...]] = [
    (1, "ola@example.no", "912 34 567", "Ola Nordmann", datetime(2021, 3, 1, 12), "active"),
    (2, "kari@example.no", None, "Kari Nordmann", datetime(2023, 12, 31, 23, 30), "active"),
    (3, "Ola@Example.no", None, "Ola (duplikat)", datetime(2022, 5, 5, 8), "closed"),
    (4, None, "+47 481 23 456", "Per Uten E-post", datetime(2022, 1, 1, 9), "active"),
    (5, "ikke-en-adresse", None, "Feil Adresse", datetime(2022, 2, 2, 9), "active"),
    (6, "nina@example.no", "99 88 77 66", "Nina Ny", datetime(2024, 1, 1, 0, 0), "active"),
    (7, "ny@example.no", None, "Nils Nyere", datetime(2025, 6, 1, 10), "active"),
]
OLD_VALID = {"ola@example.no", "kari@example.no"}  # created before 2024 with a valid address


def crm_metadata() -> MetaData:
    metadata = MetaData()
    Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(100), nullable=True),
        Column("phone", String(30), nullable=True),
        Column("name", String(60), nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("status", String(10), nullable=False),
    )
    Table(
        "suppliers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("company", String(60)),
    )
    return metadata


@dataclass
class Crm:
    url: str
    backend: str
    root: Path
    fixed_clock: clock.FixedClock

    def apply(self, register: str = REGISTER) -> None:
        folder = self.root / f"register-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        (folder / "register.yaml").write_text(textwrap.dedent(register))
        loaded = load_register(folder)
        with session_scope() as session:
            apply_register(session, loaded, "test")

    def add_customers(self, rows: list[tuple[Any, ...]]) -> None:
        engine = create_engine(self.url)
        table = crm_metadata().tables["customers"]
        keys = ("id", "email", "phone", "name", "created_at", "status")
        with engine.begin() as conn:
            conn.execute(insert(table), [dict(zip(keys, row, strict=True)) for row in rows])
        engine.dispose()


def _fill(url: str) -> None:
    engine = create_engine(url)
    metadata = crm_metadata()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    keys = ("id", "email", "phone", "name", "created_at", "status")
    with engine.begin() as conn:
        conn.execute(
            insert(metadata.tables["customers"]),
            [dict(zip(keys, row, strict=True)) for row in CUSTOMERS],
        )
        conn.execute(insert(metadata.tables["suppliers"]), [{"id": 1, "company": "Leverandør AS"}])
    engine.dispose()


@pytest.fixture(scope="session")
def crm_pg_url(pg_database: str) -> Iterator[str]:
    name = f"{pg_database.rsplit('/', 1)[1]}_crm_{uuid.uuid4().hex[:6]}"
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


def _crm(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Crm]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
    else:
        url = str(request.getfixturevalue("crm_pg_url"))
    _fill(url)
    fixed = clock.FixedClock(NOW)
    previous = clock.use_clock(fixed)
    monkeypatch.setenv("DATAVERN_CONNECTION_KEY", Fernet.generate_key().decode())
    migrate()
    with session_scope() as session:
        connections.add_connection(session, "crmdb", url, actor="test")
    crm = Crm(url, backend, tmp_path, fixed)
    crm.apply()
    try:
        yield crm
    finally:
        clock.use_clock(previous)
        connections.close_connectors()


@pytest.fixture(params=["sqlite", "postgres"])
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Crm]:
    """The CRM on SQLite and PostgreSQL, Datavern's home with the connection and register."""
    yield from _crm(request.param, request, tmp_path, monkeypatch)


@pytest.fixture
def sqlite_crm(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Crm]:
    """The CRM on SQLite only, for tests that are not about the database."""
    yield from _crm("sqlite", request, tmp_path, monkeypatch)


BREACH: dict[str, Any] = {
    "title": "Kundeliste sendt til feil mottaker",
    "description": "En kundeliste med navn og e-postadresser ble sendt til en ekstern mottaker.",
    "cause": "Feil mottaker valgt i e-postprogrammet.",
    "discovered_by": "Kundeservice",
    "aware_at": "2026-11-19 14:30",
    "systems": ["webshop"],
    "data_categories": ["user.name", "user.contact.email"],
    "data_subjects": ["customer"],
    "people_affected": "2-5",
    "consequences": "Risiko for svindelforsøk (phishing) rettet mot kundene.",
    "measures_taken": "Mottakeren har bekreftet at e-posten er slettet.",
}
