"""Stored connections: encrypted at rest, masked when shown, audited without the secret.

Datavern's own database is SQLite and PostgreSQL (`database_url`); the
connected database is a SQLite shop file.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from datavern.connectors import secrets, service
from datavern.connectors.models import Connection
from datavern.connectors.secrets import KEY_ENV, MissingKey, WrongKey
from datavern.core import audit
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput, NotFound

PASSWORD = "Sv4rt-Hemmelig!"
PG_URL = f"postgresql://shop_user:{PASSWORD}@db.internal:5432/shop"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = secrets.generate_key()
    monkeypatch.setenv(KEY_ENV, value)
    return value


@pytest.fixture
def shop_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    return path


def _stored() -> list[Connection]:
    with session_scope() as session:
        return list(session.execute(select(Connection)).scalars())


def _audit_text() -> str:
    with session_scope() as session:
        entries = session.execute(select(audit.AuditEntry)).scalars().all()
        return json.dumps([[e.action, e.target, e.details] for e in entries])


def test_url_is_stored_encrypted_and_shown_masked(database_url: str, key: str) -> None:
    with session_scope() as session:
        info = service.add_connection(session, "crm", PG_URL, actor="tester")
    assert info.url == "postgresql://shop_user:***@db.internal:5432/shop"
    assert info.backend == "postgresql"

    [row] = _stored()
    assert PASSWORD not in row.encrypted_url
    assert "shop_user" not in row.encrypted_url  # the whole URL is encrypted
    assert PASSWORD not in row.display_url
    with session_scope() as session:
        assert service.connection_url(session, "crm") == PG_URL
        assert [i.url for i in service.list_connections(session)] == [info.url]

    text = _audit_text()
    assert "connection.add" in text and "connection:crm" in text
    assert PASSWORD not in text


def test_secret_query_parameters_are_masked_too(database_url: str, key: str) -> None:
    url = f"postgresql://u@h/db?sslmode=require&sslpassword={PASSWORD}"
    with session_scope() as session:
        info = service.add_connection(session, "crm", url, actor="tester")
    assert "sslmode=require" in info.url and PASSWORD not in info.url
    assert PASSWORD not in _audit_text()


def test_adding_without_a_key_fails_clearly_and_stores_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(MissingKey) as caught, session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
    message = str(caught.value)
    assert KEY_ENV in message and "datavern connection keygen" in message
    assert PASSWORD not in message
    assert _stored() == []


def test_reading_with_another_key_fails_clearly(
    database_url: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
    monkeypatch.setenv(KEY_ENV, secrets.generate_key())
    with pytest.raises(WrongKey, match="cannot be decrypted") as caught, session_scope() as session:
        service.open_connector(session, "crm")
    assert "'crm'" in str(caught.value) and PASSWORD not in str(caught.value)
    # listing needs no key: the masked URL is stored beside the encrypted one
    with session_scope() as session:
        assert [i.name for i in service.list_connections(session)] == ["crm"]


def test_old_key_still_decrypts_after_rotation(
    database_url: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
    monkeypatch.setenv(KEY_ENV, f"{secrets.generate_key()},{key}")
    with session_scope() as session:
        assert service.connection_url(session, "crm") == PG_URL


@pytest.mark.parametrize("name", ["CRM", "my crm", "crm;drop", "", "x" * 65, "æøå"])
def test_invalid_names_are_refused(database_url: str, key: str, name: str) -> None:
    with pytest.raises(InvalidInput, match="not valid"), session_scope() as session:
        service.add_connection(session, name, PG_URL, actor="tester")
    assert _stored() == []


def test_valid_name_boundaries(database_url: str, key: str) -> None:
    with session_scope() as session:
        service.add_connection(session, "a", PG_URL, actor="tester")
        service.add_connection(session, "x" * 64, PG_URL, actor="tester")
        service.add_connection(session, "crm_2-eu", PG_URL, actor="tester")
    assert sorted(r.name for r in _stored()) == ["a", "crm_2-eu", "x" * 64]


def test_bad_urls_are_refused_without_echoing_them(database_url: str, key: str) -> None:
    with pytest.raises(InvalidInput, match="not a database URL") as caught, session_scope() as s:
        service.add_connection(s, "crm", f"not a url {PASSWORD}", actor="tester")
    assert PASSWORD not in str(caught.value)
    with pytest.raises(InvalidInput, match="not supported"), session_scope() as s:
        service.add_connection(s, "crm", f"oracle://u:{PASSWORD}@h/db", actor="tester")


def test_duplicate_needs_replace(database_url: str, key: str) -> None:
    with session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
    with pytest.raises(InvalidInput, match="already exists"), session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
    new_url = PG_URL.replace(PASSWORD, "Nytt-Passord-2")
    with session_scope() as session:
        service.add_connection(session, "crm", new_url, actor="tester", replace=True)
        assert service.connection_url(session, "crm") == new_url
    assert "connection.replace" in _audit_text()
    assert "Nytt-Passord-2" not in _audit_text()


def test_check_records_the_outcome(database_url: str, key: str, shop_file: Path) -> None:
    with session_scope() as session:
        service.add_connection(session, "shop", f"sqlite:///{shop_file}", actor="tester")
        service.add_connection(
            session, "gone", PG_URL.replace("db.internal:5432", "127.0.0.1:1"), actor="tester"
        )
    with session_scope() as session:
        ok = service.check_connection(session, "shop", actor="tester")
        failed = service.check_connection(session, "gone", actor="tester")
    assert ok.ok and "sqlite" in ok.message
    assert not failed.ok and "127.0.0.1:1" in failed.message and PASSWORD not in failed.message
    with session_scope() as session:
        infos = {i.name: i for i in service.list_connections(session)}
    assert infos["shop"].last_test_ok is True and infos["shop"].last_test_at is not None
    assert infos["gone"].last_test_ok is False
    assert PASSWORD not in (infos["gone"].last_test_message or "")
    assert PASSWORD not in _audit_text()


def test_relative_sqlite_path_is_stored_absolute(
    database_url: str, key: str, shop_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(shop_file.parent)
    with session_scope() as session:
        service.add_connection(session, "shop", "sqlite:///shop.db", actor="tester")
        assert service.connection_url(session, "shop") == f"sqlite:///{shop_file.resolve()}"


def test_describe_and_open_connector(database_url: str, key: str, shop_file: Path) -> None:
    with session_scope() as session:
        service.add_connection(session, "shop", f"sqlite:///{shop_file}", actor="tester")
    with session_scope() as session:
        description = service.describe_connection(session, "shop")
        connector = service.open_connector(session, "shop")
        assert service.open_connector(session, "shop") is connector  # one pool per connection
    assert [c.name for c in description.collections] == ["customers"]
    assert connector.count("customers", {}) == 0


def test_remove(database_url: str, key: str) -> None:
    with session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
    with session_scope() as session:
        service.remove_connection(session, "crm", actor="tester")
    assert _stored() == []
    assert "connection.remove" in _audit_text()
    with pytest.raises(NotFound, match="no connection named 'crm'"), session_scope() as session:
        service.get_connection(session, "crm")


def test_audit_chain_stays_valid(database_url: str, key: str, shop_file: Path) -> None:
    with session_scope() as session:
        service.add_connection(session, "shop", f"sqlite:///{shop_file}", actor="tester")
        service.check_connection(session, "shop", actor="tester")
        service.remove_connection(session, "shop", actor="tester")
    with session_scope() as session:
        result = audit.verify(session)
    assert result.ok and result.entries == 3


def test_rekey_moves_every_url_to_the_new_key(
    database_url: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
        service.add_connection(session, "erp", PG_URL.replace("shop", "erp"), actor="tester")
    new = secrets.generate_key()
    monkeypatch.setenv(KEY_ENV, f"{new},{key}")
    with session_scope() as session:
        assert service.rekey_connections(session, actor="tester") == 2
    monkeypatch.setenv(KEY_ENV, new)  # the old key is gone
    with session_scope() as session:
        assert service.connection_url(session, "crm") == PG_URL
        assert service.connection_url(session, "erp").endswith("/erp")
    assert "connection.rekey" in _audit_text()


def test_rekey_without_the_old_key_changes_nothing(
    database_url: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        service.add_connection(session, "crm", PG_URL, actor="tester")
    before = [r.encrypted_url for r in _stored()]
    monkeypatch.setenv(KEY_ENV, secrets.generate_key())
    with pytest.raises(WrongKey, match="'crm'"), session_scope() as session:
        service.rekey_connections(session, actor="tester")
    assert [r.encrypted_url for r in _stored()] == before
