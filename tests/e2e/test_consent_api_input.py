"""What the consent REST API answers to input it cannot take, and to callers it does not
serve: a misspelt field is a 422 naming it (nothing appended), the unsubscribe-headers
call names the purpose it refuses, calls for people only answer an API token 403, and
the double opt-in's limits neither count a typo nor tell anyone that an address was
used lately."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from webhelpers import TestClient

from consent_fixtures import apply_register_text
from datavern.accounts import tokens
from datavern.consent import service
from datavern.consent.models import OptIn
from datavern.core.db import session_scope
from datavern.notify.models import OutboxMessage

OLA = "ola@example.no"


@pytest.fixture
def applied(settings: Any, tmp_path: Path) -> None:
    apply_register_text(tmp_path / "register")


def _token(*scopes: str) -> dict[str, str]:
    with session_scope() as session:
        value = tokens.create_token(session, "crm", list(scopes), actor="test")
    return {"Authorization": f"Bearer {value}"}


def _count(model: Any) -> int:
    with session_scope() as session:
        return int(session.query(model).count())


def test_a_misspelt_field_is_422_naming_it_and_appends_nothing(
    client: TestClient, applied: None
) -> None:
    writer = _token("consent:write")
    body = {"subject": "account:1", "purpose": "nyhetsbrev", "decision": "grant", "purpse": "x"}
    answer = client.post("/api/v1/consent/records", json=body, headers=writer)
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "purpse"]]
    gone = client.post(
        "/api/v1/consent/withdraw",
        json={"subject": "account:1", "purpose": "nyhetsbrev", "decison": "withdraw"},
        headers=writer,
    )
    assert gone.status_code == 422
    with session_scope() as session:
        assert service.ledger_size(session) == 0


def test_unsubscribe_headers_name_the_purpose_they_refuse(
    client: TestClient, applied: None
) -> None:
    writer = _token("consent:write")
    path = "/api/v1/consent/unsubscribe-headers"
    unknown = client.get(path, params={"subject": OLA, "purpose": "nope"}, headers=writer)
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "purpose"]
    cookie = client.get(path, params={"subject": OLA, "purpose": "statistikk"}, headers=writer)
    assert cookie.status_code == 422
    assert "cookie purpose" in cookie.json()["detail"][0]["msg"]
    mail = client.get(path, params={"subject": OLA, "purpose": "nyhetsbrev"}, headers=writer)
    assert mail.status_code == 200
    assert mail.json()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_calls_for_people_answer_a_token_403(client: TestClient, applied: None) -> None:
    writer = _token("consent:write", "consent:read")
    verify = client.get("/api/v1/consent/verify", headers=writer)
    assert verify.status_code == 403 and "API tokens cannot" in verify.json()["detail"]
    campaign = client.post(
        "/api/v1/consent/reconsent",
        json={"purpose": "nyhetsbrev", "cutoff": "2099-01-01"},
        headers=writer,
    )
    assert campaign.status_code == 403 and "API tokens cannot" in campaign.json()["detail"]
    # Without anything, it is still "log in".
    assert client.get("/api/v1/consent/verify").status_code == 401


def test_subscribe_limits_count_good_input_only_and_do_not_reveal_an_address(
    client: TestClient, applied: None
) -> None:
    def subscribe(**body: Any) -> Any:
        return client.post("/api/v1/consent/subscribe", json={"purpose": "nyhetsbrev", **body})

    # Typos are 422 and do not use up the address's allowance (3 an hour).
    for _ in range(3):
        assert subscribe(email=OLA, purpose="nyhetsbrevv").status_code == 422
    answers = [subscribe(email=OLA) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 202]
    # The fourth looks the same as the others, but nothing was stored or sent.
    assert len({a.text for a in answers}) == 1
    assert _count(OutboxMessage) == 3 and _count(OptIn) == 3
    # Over the limit, bad input is still reported.
    bad = subscribe(email=OLA, purpose="nope")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "purpose"
    assert subscribe(email="kari@example.no").status_code == 202
    assert _count(OutboxMessage) == 4


@pytest.mark.parametrize("address", ["bad", "ola@", "account:1", "emailhash:" + "a" * 64])
def test_subscribe_asks_for_an_e_mail_address_in_those_words(
    client: TestClient, applied: None, address: str
) -> None:
    answer = client.post(
        "/api/v1/consent/subscribe", json={"email": address, "purpose": "nyhetsbrev"}
    )
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", "email"]
    assert problem["msg"] == "give a valid e-mail address, such as name@example.no"
    assert _count(OptIn) == 0
