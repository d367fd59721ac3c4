"""My consents through the ASGI app: the sign-in link, CSRF on every form, forged or
expired links and cookies, and what cannot be changed here (cookie purposes, purposes
that need no consent)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from webhelpers import TestClient

from consent_fixtures import apply_register_text
from datavern.consent import mine, service
from datavern.core.db import session_scope
from datavern.notify.models import OutboxMessage

OLA = "ola@example.no"


@pytest.fixture
def applied(settings: Any, tmp_path: Path) -> None:
    apply_register_text(tmp_path / "register")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _signed_in(client: TestClient, lang_path: str = "/privacy/consents") -> str:
    page = client.get(lang_path)
    sent = client.post(
        lang_path, data={"action": "signin", "email": OLA, "csrf_token": _csrf(page.text)}
    )
    assert sent.status_code == 200
    with session_scope() as session:
        body = session.query(OutboxMessage).one().text_body
    assert OLA not in body.split("http")[1]  # the link carries no address
    link = urlparse(re.search(r"(https?://\S+)", body).group(1))  # type: ignore[union-attr]
    assert link.path == "/privacy/consents/sign-in"
    assert client.get(f"{link.path}?{link.query}").status_code == 200  # a button, no action
    token = unquote(link.query.partition("=")[2])
    opened = client.post(link.path, data={"token": token}, follow_redirects=False)
    assert opened.status_code == 303
    page = client.get(lang_path)
    assert "My consents" in page.text and "Sign out" in page.text
    return _csrf(page.text)


def _size() -> int:
    with session_scope() as session:
        return service.ledger_size(session)


def test_sign_in_grant_and_withdraw(client: TestClient, applied: None) -> None:
    csrf = _signed_in(client)
    page = client.get("/privacy/consents")
    assert 'id="purpose-nyhetsbrev"' in page.text and 'id="purpose-statistikk"' not in page.text
    assert 'id="purpose-kundeklubb"' not in page.text  # needs no consent: no choice to make
    done = client.post(
        "/privacy/consents", data={"action": "grant", "purpose": "nyhetsbrev", "csrf_token": csrf}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=granted")
    assert "We have recorded your consent" in client.get(done.headers["location"]).text
    with session_scope() as session:
        state = service.state(session, OLA, "nyhetsbrev")
    assert state.status == "granted" and state.method == "form_checkbox"
    client.post(
        "/privacy/consents",
        data={"action": "withdraw", "purpose": "nyhetsbrev", "csrf_token": csrf},
    )
    with session_scope() as session:
        assert service.state(session, OLA, "nyhetsbrev").status != "granted"


def test_without_the_csrf_token_nothing_is_recorded(client: TestClient, applied: None) -> None:
    _signed_in(client)
    refused = client.post(
        "/privacy/consents", data={"action": "grant", "purpose": "nyhetsbrev", "csrf_token": "x"}
    )
    assert refused.status_code == 403
    assert _size() == 0
    page = client.get("/personvern/samtykker")
    no_pair = client.post(
        "/personvern/samtykker",
        data={"action": "signin", "email": OLA, "csrf_token": "forged"},
    )
    assert page.status_code == 200 and no_pair.status_code == 403


def test_cookie_purposes_and_unknown_ones_are_refused(client: TestClient, applied: None) -> None:
    csrf = _signed_in(client)
    for purpose in ("statistikk", "kundeklubb", "nope"):
        answer = client.post(
            "/privacy/consents", data={"action": "grant", "purpose": purpose, "csrf_token": csrf}
        )
        assert answer.status_code == 400
    assert _size() == 0


def test_forged_or_expired_links_and_cookies_show_nothing(
    client: TestClient, applied: None
) -> None:
    ref = service.subject_of(OLA).ref
    assert client.get("/privacy/consents/sign-in?token=abc").status_code == 404
    expired = mine.sign("link", ref, timedelta(seconds=-1))
    assert client.post("/privacy/consents/sign-in", data={"token": expired}).status_code == 404
    # A session cookie is not a link, and a link is not a session cookie.
    session_value = mine.sign("session", ref, timedelta(hours=1))
    assert (
        client.post("/privacy/consents/sign-in", data={"token": session_value}).status_code == 404
    )
    client.cookies.set(mine.SESSION_COOKIE, mine.sign("link", ref, timedelta(hours=1)))
    assert "Send me the link" in client.get("/privacy/consents").text


def test_a_bad_address_is_422_and_sends_nothing(client: TestClient, applied: None) -> None:
    page = client.get("/privacy/consents")
    answer = client.post(
        "/privacy/consents",
        data={"action": "signin", "email": "not an address", "csrf_token": _csrf(page.text)},
    )
    assert answer.status_code == 422 and "Enter a valid e-mail address" in answer.text
    with session_scope() as session:
        assert session.query(OutboxMessage).count() == 0
