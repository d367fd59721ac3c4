"""My consents through the ASGI app: the sign-in link, CSRF on every form, forged or
expired links and cookies, what cannot be changed here (cookie purposes, purposes
that need no consent), and a pending re-consent (the cut-off and a button to agree to the
current text; not given after the cut-off)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from webhelpers import TestClient

from consent_fixtures import NEWSLETTER_EN, apply_register_text, register_text
from datavern.consent import mine, service
from datavern.core import clock
from datavern.core.db import session_scope
from datavern.core.i18n import long_date
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


# --- a pending re-consent --------------------------------------------------------------

NEW_EN = "Yes please, send me the newsletter and our offers by e-mail once a month."


def _reconsent_pending(tmp_path: Path) -> date:
    """OLA said yes to nyhetsbrev/en/1; the English text changed and a re-consent
    campaign cuts the old text off in ten days. Returns the cut-off day."""
    with session_scope() as session:
        service.record(
            session,
            subject=OLA,
            purpose="nyhetsbrev",
            decision="grant",
            language="en",
            recorded_by="test",
        )
    apply_register_text(tmp_path / "register", register_text(newsletter_en=NEW_EN))
    cutoff = clock.now().astimezone(clock.OSLO).date() + timedelta(days=10)
    with session_scope() as session:
        service.start_reconsent(session, "nyhetsbrev", cutoff, actor="test", mail=False)
    return cutoff


def test_a_pending_reconsent_is_shown_with_its_cutoff_and_a_button(
    client: TestClient, applied: None, tmp_path: Path
) -> None:
    cutoff = _reconsent_pending(tmp_path)
    csrf = _signed_in(client)
    item = _item(client.get("/privacy/consents").text, "nyhetsbrev")
    assert "You said yes" in item and NEWSLETTER_EN in item  # the old text still counts
    notice = f"Your consent to the old text stops counting on {long_date(cutoff, 'en')}"
    assert notice in item
    assert NEW_EN in item and "nyhetsbrev/en/2" in item
    assert "Agree to the new text for \u201cNewsletter\u201d" in item
    # The Norwegian page says the same in Norwegian.
    nb = _item(client.get("/personvern/samtykker").text, "nyhetsbrev")
    assert f"slutter å gjelde {long_date(cutoff, 'nb')}" in nb
    assert "Si ja til den nye teksten" in nb

    agreed = client.post(
        "/privacy/consents",
        data={
            "action": "grant",
            "purpose": "nyhetsbrev",
            "text_version": "nyhetsbrev/en/2",
            "csrf_token": csrf,
        },
    )
    assert agreed.status_code == 303 and agreed.headers["location"].endswith("?done=granted")
    with session_scope() as session:
        state = service.state(session, OLA, "nyhetsbrev", "en")
    assert state.status == "granted" and state.text_version == "nyhetsbrev/en/2"
    assert state.reconsent_cutoff is None and state.method == "form_checkbox"
    item = _item(client.get("/privacy/consents").text, "nyhetsbrev")
    assert "You said yes" in item and NEW_EN in item and "stops counting" not in item


def test_agreeing_to_a_text_that_is_no_longer_current_is_refused(
    client: TestClient, applied: None, tmp_path: Path
) -> None:
    _reconsent_pending(tmp_path)
    csrf = _signed_in(client)
    size = _size()
    stale = client.post(
        "/privacy/consents",
        data={
            "action": "grant",
            "purpose": "nyhetsbrev",
            "text_version": "nyhetsbrev/en/1",
            "csrf_token": csrf,
        },
    )
    assert stale.status_code == 400 and _size() == size


def test_after_the_cutoff_the_purpose_shows_as_not_given(
    client: TestClient, applied: None, tmp_path: Path
) -> None:
    cutoff = _reconsent_pending(tmp_path)
    csrf = _signed_in(client)
    previous = clock.use_clock(
        clock.FixedClock(datetime.combine(cutoff, time(0, 1), tzinfo=clock.OSLO))
    )
    try:
        item = _item(client.get("/privacy/consents").text, "nyhetsbrev")
        assert "You have not said yes" in item and "You said yes" not in item
        assert "no longer counts" in item and "stops counting" not in item
        assert NEW_EN in item  # the current text, to agree to again
        given = client.post(
            "/privacy/consents",
            data={
                "action": "grant",
                "purpose": "nyhetsbrev",
                "text_version": "nyhetsbrev/en/2",
                "csrf_token": csrf,
            },
        )
        assert given.status_code == 303
        with session_scope() as session:
            assert service.may_process(session, OLA, "nyhetsbrev").allowed
    finally:
        clock.use_clock(previous)


def _item(html: str, key: str) -> str:
    found = re.search(rf'<li id="purpose-{key}">(.*?)</li>', html, re.S)
    assert found, html
    return unescape(re.sub(r"<[^>]+>", " ", found.group(1)))
