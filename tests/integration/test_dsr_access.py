"""Access and portability requests against real SQLite, PostgreSQL and MariaDB databases."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import dsr_fixtures
from datavern.core.audit import AuditEntry
from datavern.core.db import session_scope
from datavern.dsr import service
from dsr_fixtures import KARI, OLA, Shop

# The shop on SQLite, PostgreSQL and MariaDB (fixtures live in tests/dsr_fixtures.py).
dsr_shop = dsr_fixtures.dsr_shop
dsr_pg_url = dsr_fixtures.dsr_pg_url
dsr_mariadb_url = dsr_fixtures.dsr_mariadb_url


def run(kind: str, identities: list[str], **options: Any) -> tuple[str, service.RequestView]:
    with session_scope() as session:
        _version, register = service.applied_register(session)
        parsed = service.parse_request_identities(register, identities)
        request = service.create_request(session, kind, parsed, actor="test", options=options)
        request_id = request.id
    service.run_request(request_id, actor="test")
    with session_scope() as session:
        view = service.get_request(session, request_id)
    return request_id, view


def package(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files["data.json"]), files


def rows(data: dict[str, Any], collection: str) -> list[dict[str, Any]]:
    return list(data["datasets"]["shop"].get(collection, {}).get("rows", []))


def test_access_returns_exactly_the_subjects_rows(dsr_shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "ola.zip"
    _, view = run("access", [f"email={OLA}"], output=str(out))
    assert view.status == "done", view.error
    data, files = package(out)
    assert data["empty"] is False
    assert [r["id"] for r in rows(data, "customers")] == [1]
    assert rows(data, "customers")[0]["fnr"] == "17058012327"
    assert sorted(r["id"] for r in rows(data, "orders")) == [10, 11]
    assert sorted(r["id"] for r in rows(data, "invoices")) == [100, 101]
    assert sorted((r["order_id"], r["line_no"]) for r in rows(data, "order_lines")) == [
        (10, 1),
        (10, 2),
        (11, 1),
    ]
    assert sorted(r["ip"] for r in rows(data, "access_log")) == ["10.0.0.1", "10.0.0.2", "10.0.0.9"]
    assert [r["id"] for r in rows(data, "newsletter")] == [1]
    assert sorted(r["id"] for r in rows(data, "ticket_messages")) == [70, 71]
    # Nothing of anyone else, in any file of the package.
    everything = b"".join(files.values()).decode("utf-8", "replace")
    for other in (KARI, "Kari", "Per Hansen", "10.0.0.3", "10.0.0.4", "Torget 3"):
        assert other not in everything
    # Only the fields with personal data (and the row keys): no amounts, no statuses.
    assert "amount" not in rows(data, "orders")[0]
    assert "status" not in rows(data, "customers")[0]
    assert "csv/shop.customers.csv" in files
    assert files["csv/shop.customers.csv"].decode("utf-8-sig").splitlines()[0].startswith("id,")


def test_every_identity_type_reaches_the_same_person(dsr_shop: Shop, tmp_path: Path) -> None:
    for number, identity in enumerate(["phone=912 34 567", "fnr=170580 12327"]):
        out = tmp_path / f"p{number}.zip"
        _, view = run("access", [identity], output=str(out))
        assert view.status == "done", view.error
        data, _ = package(out)
        assert [r["id"] for r in rows(data, "customers")] == [1]
        assert sorted(r["id"] for r in rows(data, "invoices")) == [100, 101]


def test_an_identity_that_matches_nobody_gives_an_empty_package(
    dsr_shop: Shop, tmp_path: Path
) -> None:
    out = tmp_path / "nobody.zip"
    _, view = run("access", ["email=nobody@example.no"], output=str(out))
    assert view.status == "done"
    data, files = package(out)
    assert data["empty"] is True
    assert "ingen opplysninger" in data["note"]["nb"]
    assert all(not c["rows"] for c in data["datasets"]["shop"].values())
    assert not [f for f in files if f.startswith("csv/")]
    assert view.summary["export"]["empty"] is True


def test_the_report_is_in_the_package_in_both_languages(dsr_shop: Shop, tmp_path: Path) -> None:
    if dsr_shop.backend != "sqlite":
        return  # the report does not depend on the database
    out = tmp_path / "ola.zip"
    _, view = run("access", [f"email={OLA}"], output=str(out))
    _, files = package(out)
    assert {"report.nb.html", "report.en.html", "report.nb.pdf", "report.en.pdf"} <= set(files)
    assert files["report.nb.pdf"].startswith(b"%PDF")
    assert "Ola Nordmann" in files["report.nb.html"].decode()
    assert view.summary["export"]["report"] == "included"


def test_portable_export_holds_what_the_subject_provided(dsr_shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "portable.zip"
    _, view = run("portable", [f"email={OLA}"], output=str(out))
    assert view.status == "done", view.error
    data, files = package(out)
    assert data["kind"] == "portable"
    customer = rows(data, "customers")[0]
    assert customer["email"] == OLA
    assert "password_hash" not in customer  # credentials are not portable
    assert "id" not in customer  # nor the company's own keys
    assert not [f for f in files if f.startswith("csv/")]


def test_portable_follows_the_register_list(dsr_shop: Shop, tmp_path: Path) -> None:
    dsr_shop.apply(dsr_shop.dsr_yaml + "  portable: [shop.customers.email, user.content]\n")
    out = tmp_path / "portable.zip"
    _, view = run("portable", [f"email={OLA}"], output=str(out))
    assert view.status == "done", view.error
    data, _ = package(out)
    assert rows(data, "customers") == [{"email": OLA}]
    assert sorted(r["body"] for r in rows(data, "ticket_messages"))[0].startswith("Hi, this is Ola")
    assert "orders" not in data["datasets"]["shop"]


def test_reads_are_audited_with_keys_and_fields_never_values(
    dsr_shop: Shop, tmp_path: Path
) -> None:
    request_id, _ = run("access", [f"email={OLA}"], output=str(tmp_path / "a.zip"))
    with session_scope() as session:
        entries = list(
            session.execute(
                select(AuditEntry).where(AuditEntry.target == f"dsr_request:{request_id}")
            ).scalars()
        )
    reads = {e.details["collection"]: e.details for e in entries if e.action == "dsr.read"}
    assert reads["shop.customers"]["keys"] == [1]
    assert "email" in reads["shop.customers"]["personal_fields"]
    assert sorted(reads["shop.orders"]["keys"]) == [10, 11]
    # access_log has no primary key: its rows are keyed by the e-mail, so the log
    # names them by keyed hashes.
    assert all(str(k).startswith("hash:") for k in reads["shop.access_log"]["keys"])
    assert {e.action for e in entries} >= {"dsr.request.create", "dsr.export", "dsr.request.done"}
    text = json.dumps([e.details for e in entries], ensure_ascii=False)
    for value in (OLA, "Nordmann", "17058012327", "+4791234567", "Storgata", "10.0.0.1"):
        assert value not in text


def test_a_dataset_in_another_postgresql_schema(
    dsr_pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fides_meta.namespace.schema names the schema the dataset's tables live in."""
    from sqlalchemy import create_engine, text

    engine = create_engine(dsr_pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS crm CASCADE"))
        conn.execute(text("CREATE SCHEMA crm"))
        conn.execute(text("CREATE TABLE crm.leads (id integer PRIMARY KEY, email text, note text)"))
        conn.execute(
            text("INSERT INTO crm.leads VALUES (1, :ola, 'called'), (2, :kari, 'no answer')"),
            {"ola": OLA, "kari": KARI},
        )
    try:
        dsr_fixtures.prepare_home(dsr_pg_url, monkeypatch)
        (tmp_path / "register.yaml").write_text(
            dsr_fixtures.ORGANISATION
            + """
dataset:
  - fides_key: crm
    fides_meta:
      namespace: {schema: crm}
    collections:
      - name: leads
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: note
            data_categories: [user.content]
dsr:
  connections: {crm: shopdb}
"""
        )
        from datavern.register.loader import load_register
        from datavern.register.service import apply_register

        with session_scope() as session:
            apply_register(session, load_register(tmp_path), "test")
        out = tmp_path / "crm.zip"
        _, view = run("access", [f"email={OLA}"], output=str(out), lang="en")
        assert view.status == "done", view.error
        data, _ = package(out)
        assert data["datasets"]["crm"]["leads"]["rows"] == [
            {"id": 1, "email": OLA, "note": "called"}
        ]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS crm CASCADE"))
        engine.dispose()
