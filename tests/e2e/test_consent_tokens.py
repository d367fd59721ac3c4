"""The consent REST API with API tokens: how a company's systems call it (docs/api.md).

``consent:read`` reads state, may-process, proof and texts; ``consent:write`` records
and withdraws (no CSRF header: a token is not a browser's cookie). A missing,
unknown or revoked token is 401, a token without the scope 403, each with a clear
``detail``; nothing is appended then."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from webhelpers import TestClient

from consent_fixtures import apply_register_text
from datavern.accounts import tokens
from datavern.consent import service
from datavern.core import clock
from datavern.core.db import session_scope

OLA = "ola@example.no"
STATE = {"subject": OLA, "purpose": "nyhetsbrev"}


@pytest.fixture
def applied(settings: Any, tmp_path: Path) -> None:
    apply_register_text(tmp_path / "register")


def _token(*scopes: str, name: str) -> dict[str, str]:
    with session_scope() as session:
        value = tokens.create_token(session, name, list(scopes), actor="test")
    return {"Authorization": f"Bearer {value}"}


def _size() -> int:
    with session_scope() as session:
        return service.ledger_size(session)


def test_a_system_records_withdraws_and_asks_with_scoped_tokens(
    client: TestClient, applied: None
) -> None:
    writer = _token("consent:write", name="crm")
    reader = _token("consent:read", name="mailer")
    body = {**STATE, "decision": "grant", "collection_point": "crm"}
    made = client.post("/api/v1/consent/records", json=body, headers=writer)
    assert made.status_code == 201, made.text
    assert made.json()["recorded_by"] == "token:crm"

    asked = client.get("/api/v1/consent/may-process", params=STATE, headers=reader)
    assert asked.status_code == 200 and asked.json()["allowed"] is True
    # The fast path keeps the app's security headers.
    assert asked.headers["cache-control"] == "no-store"
    assert asked.headers["x-content-type-options"] == "nosniff"
    state = client.get("/api/v1/consent/state", params=STATE, headers=reader)
    assert state.json()["status"] == "granted"

    gone = client.post("/api/v1/consent/withdraw", json=STATE, headers=writer)
    assert gone.status_code == 201
    # The very next question sees the withdrawal.
    asked = client.get("/api/v1/consent/may-process", params=STATE, headers=reader)
    assert asked.json()["allowed"] is False
    proof = client.get("/api/v1/consent/proof", params={"subject": OLA}, headers=reader)
    assert [r["decision"] for r in proof.json()["records"]] == ["grant", "withdraw"]
    assert client.get("/api/v1/consent/texts", headers=reader).status_code == 200


def test_a_token_without_the_scope_is_403_and_appends_nothing(
    client: TestClient, applied: None
) -> None:
    reader = _token("consent:read", name="mailer")
    other = _token("requests:read", name="reports")
    body = {**STATE, "decision": "grant"}
    refused = client.post("/api/v1/consent/records", json=body, headers=reader)
    assert refused.status_code == 403
    assert "consent:write" in refused.json()["detail"]
    asked = client.get("/api/v1/consent/may-process", params=STATE, headers=other)
    assert asked.status_code == 403 and "consent:read" in asked.json()["detail"]
    assert (
        client.get("/api/v1/consent/proof", params={"subject": OLA}, headers=other).status_code
        == 403
    )
    assert _size() == 0


@pytest.mark.parametrize("path", ["/api/v1/consent/may-process", "/api/v1/consent/proof"])
def test_no_unknown_or_revoked_token_is_401(client: TestClient, applied: None, path: str) -> None:
    params = {**STATE}
    nothing = client.get(path, params=params)
    assert nothing.status_code == 401 and "Bearer" in nothing.json()["detail"]
    forged = client.get(path, params=params, headers={"Authorization": "Bearer dv_forged"})
    assert forged.status_code == 401 and "unknown or revoked" in forged.json()["detail"]
    reader = _token("consent:read", name="mailer")
    assert client.get(path, params=params, headers=reader).status_code == 200
    with session_scope() as session:
        tokens.revoke_token(session, "mailer", actor="test")
    revoked = client.get(path, params=params, headers=reader)
    assert revoked.status_code == 401 and "unknown or revoked" in revoked.json()["detail"]


def test_a_forged_write_token_appends_nothing(client: TestClient, applied: None) -> None:
    body = {**STATE, "decision": "grant"}
    bad = client.post("/api/v1/consent/records", json=body, headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401
    assert _size() == 0


def test_last_use_is_kept_to_the_minute(client: TestClient, applied: None) -> None:
    reader = _token("consent:read", name="mailer")

    def last_used() -> Any:
        with session_scope() as session:
            return {t.name: t.last_used_at for t in tokens.list_tokens(session)}["mailer"]

    assert last_used() is None
    client.get("/api/v1/consent/may-process", params=STATE, headers=reader)
    first = last_used()
    assert first is not None
    client.get("/api/v1/consent/state", params=STATE, headers=reader)
    assert last_used() == first  # not rewritten on every call
    with session_scope() as session:
        row = session.get(tokens.ApiToken, tokens.hash_token(reader["Authorization"][7:]))
        assert row is not None
        row.last_used_at = clock.now() - timedelta(minutes=2)
    client.get("/api/v1/consent/may-process", params=STATE, headers=reader)
    assert last_used() > first


@pytest.mark.parametrize("subject", [OLA, "emailhash"])
def test_a_restriction_is_seen_by_the_next_call(
    client: TestClient, applied: None, subject: str
) -> None:
    """The restriction is read with the token in one query: a new one counts at once."""
    from datavern.dsr import crypto
    from datavern.dsr.models import Restriction

    if subject == "emailhash":
        subject = service.subject_of(OLA).ref
    writer = _token("consent:write", name="crm")
    reader = _token("consent:read", name="mailer")
    body = {"subject": OLA, "purpose": "nyhetsbrev", "decision": "grant"}
    assert client.post("/api/v1/consent/records", json=body, headers=writer).status_code == 201
    params = {"subject": subject, "purpose": "nyhetsbrev"}
    asked = client.get("/api/v1/consent/may-process", params=params, headers=reader).json()
    assert asked["allowed"] is True and asked["restricted"] is False
    with session_scope() as session:
        session.add(
            Restriction(
                identity_type="email",
                identity_hash=crypto.identity_hash("email", OLA),
                created_by="test",
                created_at=clock.now(),
            )
        )
    asked = client.get("/api/v1/consent/may-process", params=params, headers=reader).json()
    assert asked["allowed"] is False and asked["restricted"] is True
    assert asked["restricted_since"] is not None


def test_malformed_reads_get_the_usual_422(client: TestClient, applied: None) -> None:
    """What the fast path does not take (a missing or repeated parameter, a too long
    subject) goes to the ordinary route and its validation."""
    reader = _token("consent:read", name="mailer")
    for query in (
        "subject=ola%40example.no",
        "subject=a&subject=b&purpose=nyhetsbrev",
        f"subject={'x' * 321}&purpose=nyhetsbrev",
    ):
        answer = client.get(f"/api/v1/consent/may-process?{query}", headers=reader)
        assert answer.status_code == 422, query
        assert answer.json()["detail"][0]["loc"][0] == "query"
