"""The reads systems call on every use of a subject's data (``GET /state`` and
``/may-process`` with an API token), on SQLite and PostgreSQL: once the register's
purposes are known, the caller, the register head, the subject's restriction and its
state rows come from one query; every answer still reflects the ledger at that
moment (a grant, an objection, a withdrawal, a new register version), because
nothing about a subject is cached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from webhelpers import TestClient

from consent_fixtures import apply_register_text, register_text
from datavern.accounts import tokens
from datavern.core.db import session_scope

SUBJECT = {"subject": "account:41", "purpose": "nyhetsbrev"}


def _token(*scopes: str, name: str) -> dict[str, str]:
    with session_scope() as session:
        value = tokens.create_token(session, name, list(scopes), actor="test")
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL statements every engine of this process runs while the test runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


@pytest.fixture
def applied(database_url: str, tmp_path: Path) -> Path:
    folder = tmp_path / "register"
    apply_register_text(folder, url=database_url)
    return folder


def test_a_warm_read_is_one_query_and_sees_each_new_decision(
    applied: Path, client: TestClient, statements: list[str]
) -> None:
    writer = _token("consent:write", name="crm")
    reader = _token("consent:read", name="mailer")
    made = client.post(
        "/api/v1/consent/records", json={**SUBJECT, "decision": "grant"}, headers=writer
    )
    assert made.status_code == 201, made.text
    client.get("/api/v1/consent/may-process", params=SUBJECT, headers=reader)  # warm

    for path in ("/api/v1/consent/may-process", "/api/v1/consent/state"):
        statements.clear()
        answer = client.get(path, params=SUBJECT, headers=reader)
        assert answer.status_code == 200, answer.text
        assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements
        assert len(statements) == 1, statements
    assert (
        client.get("/api/v1/consent/state", params=SUBJECT, headers=reader).json()["status"]
        == "granted"
    )

    # An objection to direct marketing (art. 21) counts at the very next read ...
    objected = client.post(
        "/api/v1/consent/records",
        json={"subject": SUBJECT["subject"], "purpose": "direct_marketing", "decision": "object"},
        headers=writer,
    )
    assert objected.status_code == 201, objected.text
    asked = client.get("/api/v1/consent/may-process", params=SUBJECT, headers=reader).json()
    assert asked["allowed"] is False and asked["objected"] is True
    # ... and so does a withdrawal.
    assert client.post("/api/v1/consent/withdraw", json=SUBJECT, headers=writer).status_code == 201
    state = client.get("/api/v1/consent/state", params=SUBJECT, headers=reader).json()
    assert state["status"] == "withdrawn"
    # Another subject's read is not answered from this one's rows.
    other = client.get(
        "/api/v1/consent/state", params={**SUBJECT, "subject": "account:42"}, headers=reader
    ).json()
    assert other["status"] == "none" and other["decision"] is None


def test_reads_follow_a_new_register_version(
    applied: Path, client: TestClient, database_url: str
) -> None:
    writer = _token("consent:write", name="crm")
    reader = _token("consent:read", name="mailer")
    client.post("/api/v1/consent/records", json={**SUBJECT, "decision": "grant"}, headers=writer)
    before = client.get("/api/v1/consent/state", params=SUBJECT, headers=reader).json()
    assert before["current_text_version"] == before["text_version"] == "nyhetsbrev/nb/1"

    changed = register_text(newsletter_nb="Ja, send meg nyhetsbrevet hver uke.")
    apply_register_text(applied, changed, url=database_url)
    after = client.get("/api/v1/consent/state", params=SUBJECT, headers=reader).json()
    assert after["text_version"] == "nyhetsbrev/nb/1"  # what was agreed to
    assert after["current_text_version"] == "nyhetsbrev/nb/2"  # what is shown now
    assert after["status"] == "granted"  # a text change alone does not end consent
