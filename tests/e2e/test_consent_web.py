"""The consent API and pages through the ASGI app: the banner's config and post (CORS,
nonces, 4xx JSON naming the field), the session API with roles and CSRF, the public
confirmation and one-click unsubscribe pages (RFC 8058), and the admin pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from webhelpers import PASSWORD, TestClient, add_user, csrf_of

from consent_fixtures import apply_register_text
from datavern.consent import service
from datavern.core.db import session_scope
from datavern.notify.models import OutboxMessage

OLA = "ola@example.no"


@pytest.fixture
def applied(settings: Any, tmp_path: Path) -> None:
    apply_register_text(tmp_path / "register")


def _size() -> int:
    with session_scope() as session:
        return service.ledger_size(session)


def _csrf(client: TestClient) -> str:
    return csrf_of(client.get("/admin/consent").text)


# --- the banner ----------------------------------------------------------------------


def _banner_body(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "nonce": config["nonce"],
        "visitor_id": "3f1c2e9a-7b44-4c1e-9d2a-0a1b2c3d4e5f",
        "method": "accept_all",
        "lang": config["lang"],
        "categories": {"analytics": True, "marketing": True},
        "services": {"statistikk": True, "kampanje": True},
        "text_versions": config["text_versions"],
        "url": "https://samtykketest.example/side",
    }
    body.update(changes)
    return body


def test_banner_config_and_post_with_cors(client: TestClient, applied: None) -> None:
    origin = {"Origin": "https://www.samtykketest.example"}
    config = client.get("/api/v1/consent/banner/config?lang=en", headers=origin)
    assert config.status_code == 200
    assert config.headers["access-control-allow-origin"] == "*"
    data = config.json()
    assert data["text_versions"]["statistikk"] == "statistikk/en/1"
    preflight = client.options(
        "/api/v1/consent/banner",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    posted = client.post("/api/v1/consent/banner", json=_banner_body(data), headers=origin)
    assert posted.status_code == 201, posted.text
    assert posted.headers["access-control-allow-origin"] == "*"
    out = posted.json()
    assert {r["decision"] for r in out["records"]} == {"grant"}
    assert out["nonce"] and out["nonce"] != data["nonce"]
    assert _size() == 2


def test_sec_gpc_header_is_reported_in_the_config(client: TestClient, applied: None) -> None:
    assert client.get("/api/v1/consent/banner/config", headers={"Sec-GPC": "1"}).json()["gpc"]
    assert not client.get("/api/v1/consent/banner/config").json()["gpc"]


def test_forged_and_replayed_banner_posts_are_4xx_and_append_nothing(
    client: TestClient, applied: None
) -> None:
    config = client.get("/api/v1/consent/banner/config").json()
    forged = client.post(
        "/api/v1/consent/banner", json=_banner_body(config, nonce=config["nonce"] + "x")
    )
    assert forged.status_code == 403 and forged.json()["code"] == "nonce_invalid"
    missing = client.post("/api/v1/consent/banner", json=_banner_body(config, nonce=None))
    assert missing.status_code == 403
    assert _size() == 0
    assert client.post("/api/v1/consent/banner", json=_banner_body(config)).status_code == 201
    size = _size()
    replay = client.post("/api/v1/consent/banner", json=_banner_body(config))
    assert replay.status_code == 409 and replay.json()["code"] == "nonce_used"
    assert _size() == size


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"services": {"statistikk": True, "kampanje": True, "spam": True}}, "services.spam"),
        (
            {"text_versions": {"statistikk": "statistikk/nb/7", "kampanje": "kampanje/nb/1"}},
            "text_versions.statistikk",
        ),
        ({"services": {"statistikk": True, "kampanje": False}}, "method"),
    ],
)
def test_bad_banner_posts_are_422_naming_the_field(
    client: TestClient, applied: None, changes: dict[str, Any], field: str
) -> None:
    config = client.get("/api/v1/consent/banner/config").json()
    response = client.post("/api/v1/consent/banner", json=_banner_body(config, **changes))
    assert response.status_code == 422
    assert field in [d["loc"][1] for d in response.json()["detail"]]
    assert _size() == 0


def test_a_body_that_is_not_json_is_422(client: TestClient, applied: None) -> None:
    response = client.post(
        "/api/v1/consent/banner", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_banner_config_before_any_register_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/consent/banner/config").status_code == 404


# --- the session API -----------------------------------------------------------------


def test_record_state_may_process_proof(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    client = logged_in("agent")
    token = _csrf(client)
    response = client.post(
        "/api/v1/consent/records",
        json={
            "subject": OLA,
            "purpose": "nyhetsbrev",
            "decision": "grant",
            "method": "form_checkbox",
            "text_version": "nyhetsbrev/nb/1",
            "collection_point": "https://samtykketest.example/skjema",
            "ip": "192.0.2.44",
        },
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 201, response.text
    rec = response.json()
    assert rec["ip"] == "192.0.2.0/24" and OLA not in rec["subject"]
    answer = client.get(
        "/api/v1/consent/may-process", params={"subject": OLA, "purpose": "nyhetsbrev"}
    )
    assert answer.status_code == 200 and answer.json()["allowed"] is True
    state = client.get("/api/v1/consent/state", params={"subject": OLA, "purpose": "nyhetsbrev"})
    assert state.json()["status"] == "granted"
    withdrawn = client.post(
        "/api/v1/consent/withdraw",
        json={"subject": OLA, "purpose": "nyhetsbrev"},
        headers={"X-CSRF-Token": token},
    )
    assert withdrawn.status_code == 201
    answer = client.get(
        "/api/v1/consent/may-process", params={"subject": OLA, "purpose": "nyhetsbrev"}
    )
    assert answer.json()["allowed"] is False
    proof = client.get("/api/v1/consent/proof", params={"subject": OLA}).json()
    assert [r["decision"] for r in proof["records"]] == ["grant", "withdraw"]
    assert proof["records"][0]["text"]["text"].startswith("Ja takk")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "spam"}, "purpose"),
        ({"purpose": "kundeklubb"}, "purpose"),
        ({"text_version": "nyhetsbrev/nb/9"}, "text_version"),
        ({"subject": "nobody"}, "subject"),
    ],
)
def test_bad_records_are_422_naming_the_field(
    logged_in: Callable[[str], TestClient], applied: None, body: dict[str, str], field: str
) -> None:
    client = logged_in("agent")
    payload = {"subject": OLA, "purpose": "nyhetsbrev", "decision": "grant", **body}
    response = client.post(
        "/api/v1/consent/records", json=payload, headers={"X-CSRF-Token": _csrf(client)}
    )
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", field]]
    assert OLA not in response.text
    assert _size() == 0


def test_unknown_purpose_in_may_process_is_422(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    client = logged_in("agent")
    response = client.get("/api/v1/consent/may-process", params={"subject": OLA, "purpose": "x"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][1] == "purpose"


def test_the_api_needs_a_login_a_role_and_csrf(
    client: TestClient, logged_in: Callable[[str], TestClient], applied: None
) -> None:
    params = {"subject": OLA, "purpose": "nyhetsbrev"}
    assert client.get("/api/v1/consent/may-process", params=params).status_code == 401
    viewer = logged_in("viewer")
    assert viewer.get("/api/v1/consent/may-process", params=params).status_code == 403
    viewer.cookies.clear()
    agent = logged_in("agent")
    body = {"subject": OLA, "purpose": "nyhetsbrev", "decision": "grant"}
    assert agent.post("/api/v1/consent/records", json=body).status_code == 403  # no CSRF
    assert _size() == 0


# --- double opt-in and unsubscribe through the pages ---------------------------------


def test_subscribe_confirm_and_one_click_unsubscribe(client: TestClient, applied: None) -> None:
    response = client.post(
        "/api/v1/consent/subscribe", json={"email": OLA, "purpose": "nyhetsbrev", "lang": "nb"}
    )
    assert response.status_code == 202
    with session_scope() as session:
        mail = session.query(OutboxMessage).one()
    link = urlparse(re.search(r"(https?://\S+)", mail.text_body).group(1))  # type: ignore[union-attr]
    assert link.path == "/samtykke/bekreft"
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200 and "Ja takk, send meg nyhetsbrevet" in page.text
    assert _size() == 0  # opening the link records nothing (mail scanners open links)
    token = unquote(link.query.partition("=")[2])
    done = client.post("/samtykke/bekreft", data={"token": token})
    assert done.status_code == 200 and 'id="consent-result"' in done.text
    assert _size() == 1
    # One-click unsubscribe: the List-Unsubscribe URI, POSTed as RFC 8058 says.
    headers = service.marketing_headers(OLA, "nyhetsbrev", "nb")
    uri = urlparse(headers["List-Unsubscribe"].strip("<>"))
    assert client.get(f"{uri.path}?{uri.query}").status_code == 200
    assert _size() == 1  # the GET page changes nothing
    one_click = client.post(
        f"{uri.path}?{uri.query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    assert _size() == 2
    with session_scope() as session:
        assert not service.may_process(session, OLA, "nyhetsbrev").allowed


def test_bad_links_get_a_page_not_a_traceback(client: TestClient, applied: None) -> None:
    assert client.get("/samtykke/bekreft?token=nope").status_code == 404
    assert client.post("/consent/confirm", data={"token": "nope"}).status_code == 404
    assert client.get("/samtykke/avmelding?token=nope").status_code == 400
    assert client.post("/consent/unsubscribe?token=nope").status_code == 400
    assert _size() == 0


# --- admin pages ---------------------------------------------------------------------


def test_admin_overview_purpose_chart_and_subject_history(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    with session_scope() as session:
        service.record(
            session, subject=OLA, purpose="nyhetsbrev", decision="grant", recorded_by="t"
        )
        service.record(
            session, subject="account:2", purpose="nyhetsbrev", decision="deny", recorded_by="t"
        )
    client = logged_in("privacy_officer")
    overview = client.get("/admin/consent")
    assert overview.status_code == 200
    assert 'data-granted="1"' in overview.text and 'data-refused="1"' in overview.text
    assert "<svg" in overview.text and "<script" not in overview.text
    purpose = client.get("/admin/consent/purposes/nyhetsbrev?lang=en")
    assert purpose.status_code == 200
    assert 'role="img"' in purpose.text and "<polyline" in purpose.text
    assert "nyhetsbrev/nb/1" in purpose.text
    assert client.get("/admin/consent/purposes/spam").status_code == 404


def _lookup(client: TestClient, subject: str, lang: str = "nb") -> Any:
    page = client.get(f"/admin/consent?lang={lang}")
    return client.post(
        "/admin/consent/subject", data={"subject": subject, "csrf_token": csrf_of(page.text)}
    )


def test_subject_lookup_is_a_post_and_links_carry_no_address(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    with session_scope() as session:
        service.record(
            session, subject=OLA, purpose="nyhetsbrev", decision="grant", recorded_by="t"
        )
    client = logged_in("privacy_officer")
    overview = client.get("/admin/consent")
    form = re.search(r'<form method="(\w+)" action="[^"]*/admin/consent/subject"', overview.text)
    assert form and form.group(1) == "post"
    history = _lookup(client, OLA)
    assert history.status_code == 200 and "Ja takk, send meg nyhetsbrevet" in history.text
    assert history.headers["cache-control"] == "no-store"
    assert str(history.url).endswith("/admin/consent/subject") and OLA not in str(history.url)
    assert "bekreftet på e-post" not in history.text  # recorded with method api
    # The page links the history by the stored reference, never by the address.
    link = re.search(r'href="([^"]+)" id="subject-link"', history.text)
    assert link
    href = unescape(link.group(1))
    ref = service.subject_of(OLA).ref
    assert "emailhash%3A" in href and OLA not in unquote(href) and "@" not in unquote(href)
    by_ref = client.get(href)
    assert by_ref.status_code == 200 and "Ja takk, send meg nyhetsbrevet" in by_ref.text
    assert ref in by_ref.text
    # An address put in the URL by hand is not looked up.
    in_url = client.get("/admin/consent/subject", params={"subject": OLA})
    assert in_url.status_code == 400 and "Ja takk" not in in_url.text
    assert "slås ikke opp fra en lenke" in in_url.text
    # Without the CSRF token the POST is refused.
    refused = client.post("/admin/consent/subject", data={"subject": OLA})
    assert refused.status_code == 403 and "Ja takk" not in refused.text


@pytest.mark.parametrize(
    ("subject", "nb", "en"),
    [
        ("nobody", "Skriv referansen som account:ID", "Write the reference as account:ID"),
        ("emailhash:12", "64 heksadesimale tegn", "64 hexadecimal characters"),
        ("visitor:x", "En besøks-ID er 16–64 tegn", "A visitor id is 16–64 characters"),
        ("ola@", "E-postadressen er ikke gyldig", "The e-mail address is not valid"),
        ("", "Skriv en referanse", "Enter a reference"),
    ],
)
def test_subject_lookup_errors_are_in_the_page_language(
    logged_in: Callable[[str], TestClient], applied: None, subject: str, nb: str, en: str
) -> None:
    client = logged_in("privacy_officer")
    answer = _lookup(client, subject, "nb")
    assert answer.status_code == 422
    assert nb in unescape(answer.text) and en not in unescape(answer.text)
    answer = _lookup(client, subject, "en")
    assert answer.status_code == 422 and en in unescape(answer.text)


def test_purpose_pages_explain_the_basis_in_the_page_language(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    client = logged_in("privacy_officer")
    nb = unescape(client.get("/admin/consent/purposes/nyhetsbrev?lang=nb").text)
    assert "Hvorfor samtykke: en behandlingsaktivitet som viser til formålet" in nb
    assert "rests on consent" not in nb
    en = unescape(client.get("/admin/consent/purposes/nyhetsbrev?lang=en").text)
    assert "Why consent: a processing activity that names it rests on consent" in en
    nb = unescape(client.get("/admin/consent/purposes/kundeklubb?lang=nb").text)
    assert "Dette formålet krever ikke samtykke: behandlingsaktivitetene bygger på Avtale" in nb
    assert "not consent" not in nb and "contract" not in nb
    en = unescape(client.get("/admin/consent/purposes/kundeklubb?lang=en").text)
    assert "This purpose needs no consent: its processing activities rest on Contract" in en


def test_admin_reconsent_form(logged_in: Callable[[str], TestClient], applied: None) -> None:
    client = logged_in("privacy_officer")
    page = client.get("/admin/consent/purposes/nyhetsbrev")
    refused = client.post(
        "/admin/consent/purposes/nyhetsbrev/reconsent",
        data={"csrf_token": csrf_of(page.text), "cutoff": "2999-01-01"},
    )
    # Only one text version exists: nothing to ask again, said on the page, in its language.
    assert refused.status_code == 422 and "Formålet har bare den gjeldende teksten" in refused.text
    assert "nothing to ask again" not in refused.text
    page = client.get("/admin/consent/purposes/nyhetsbrev?lang=en")
    token = csrf_of(page.text)
    refused = client.post(
        "/admin/consent/purposes/nyhetsbrev/reconsent?lang=en",
        data={"csrf_token": token, "cutoff": "2999-01-01"},
    )
    assert refused.status_code == 422 and "The purpose has only its current text" in refused.text
    past = client.post(
        "/admin/consent/purposes/nyhetsbrev/reconsent?lang=nb",
        data={"csrf_token": token, "cutoff": "2001-01-01"},
    )
    assert past.status_code == 422 and "Skjæringsdatoen 1. januar 2001 har vært" in past.text
    assert "in the past" not in past.text
    bad = client.post(
        "/admin/consent/purposes/nyhetsbrev/reconsent?lang=nb",
        data={"csrf_token": token, "cutoff": "31.12.2999"},
    )
    assert bad.status_code == 422 and "Skriv skjæringsdatoen som ÅÅÅÅ-MM-DD" in bad.text


def test_outbox_page_shows_kept_mail(
    client: TestClient, logged_in: Callable[[str], TestClient], applied: None
) -> None:
    client.post("/api/v1/consent/subscribe", json={"email": OLA, "purpose": "nyhetsbrev"})
    agent = logged_in("agent")  # the same client, now logged in
    page = agent.get("/admin/outbox")
    assert page.status_code == 200 and OLA in page.text
    with session_scope() as session:
        message_id = session.query(OutboxMessage).one().id
    one = agent.get(f"/admin/outbox/{message_id}")
    assert one.status_code == 200 and "samtykke/bekreft" in one.text
    assert agent.get("/admin/outbox/nope").status_code == 404


def test_viewer_sees_neither_consents_nor_outbox(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    viewer = logged_in("viewer")
    assert viewer.get("/admin/consent").status_code == 403
    assert viewer.get("/admin/outbox").status_code == 403
    assert "/admin/consent" not in viewer.get("/admin").text


def test_no_address_in_the_logs(
    client: TestClient,
    logged_in: Callable[[str], TestClient],
    applied: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    client.post("/api/v1/consent/subscribe", json={"email": OLA, "purpose": "nyhetsbrev"})
    agent = logged_in("agent")
    token = _csrf(agent)
    agent.post(
        "/api/v1/consent/records",
        json={"subject": OLA, "purpose": "nyhetsbrev", "decision": "grant"},
        headers={"X-CSRF-Token": token},
    )
    agent.post(
        "/api/v1/consent/records",
        json={"subject": OLA, "purpose": "spam", "decision": "grant"},
        headers={"X-CSRF-Token": token},
    )
    agent.get("/api/v1/consent/may-process", params={"subject": OLA, "purpose": "nyhetsbrev"})
    _lookup(agent, OLA)
    assert caplog.records, "the requests were logged"
    assert OLA not in caplog.text and "ola@" not in caplog.text


def test_subscribing_is_rate_limited_per_address(client: TestClient, applied: None) -> None:
    answers = [
        client.post("/api/v1/consent/subscribe", json={"email": OLA, "purpose": "nyhetsbrev"})
        for _ in range(4)
    ]
    # Past the limit the answer is the same as for a sent mail (a 429 would tell that the
    # address was used), but no fourth mail is sent.
    assert [a.status_code for a in answers] == [202, 202, 202, 202]
    assert answers[3].json() == answers[0].json()
    with session_scope() as session:
        assert session.query(OutboxMessage).count() == 3
    other = client.post(
        "/api/v1/consent/subscribe", json={"email": "kari@example.no", "purpose": "nyhetsbrev"}
    )
    assert other.status_code == 202


def test_may_process_before_any_register_is_404(
    logged_in: Callable[[str], TestClient],
) -> None:
    agent = logged_in("agent")
    params = {"subject": OLA, "purpose": "nyhetsbrev"}
    response = agent.get("/api/v1/consent/may-process", params=params)
    assert response.status_code == 404 and "register" in response.json()["detail"]


@pytest.mark.browser
def test_subject_lookup_in_chromium_puts_no_address_in_any_url(
    live_server: str, browser: Any, applied: None
) -> None:
    """Type an address into the look-up form, see the history, follow its link: no URL the
    browser requests (or keeps in its history) holds the address."""
    with session_scope() as session:
        service.record(
            session, subject=OLA, purpose="nyhetsbrev", decision="grant", recorded_by="t"
        )
    add_user("kari", "privacy_officer")
    context = browser.new_context(locale="nb-NO")
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    try:
        page.goto(f"{live_server}/admin/login")
        page.get_by_label("Brukernavn").fill("kari")
        page.get_by_label("Passord").fill(PASSWORD)
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_url(f"{live_server}/admin")
        page.goto(f"{live_server}/admin/consent")
        page.get_by_label("Referanse").fill(OLA)
        page.get_by_role("button", name="Vis historikk").click()
        page.wait_for_url(f"{live_server}/admin/consent/subject")
        assert OLA not in page.url
        assert "Ja takk, send meg nyhetsbrevet" in page.locator("#consent-history").inner_text()
        page.locator("#subject-link").click()
        page.wait_for_url(re.compile(r"/admin/consent/subject\?subject=emailhash"))
        assert "Ja takk, send meg nyhetsbrevet" in page.locator("#consent-history").inner_text()
    finally:
        context.close()
    assert any(u.endswith("/admin/consent/subject") for u in requested)
    for url in requested:
        plain = unquote(unquote(url)).lower()
        assert OLA not in plain and "ola@" not in plain and "example.no" not in plain, url


ENGLISH = re.compile(r"\b(the|is|and|not|of|with|rests|needs|consent|purpose|subject)\b", re.I)


def _words(html: str) -> str:
    """The page's main text, without code (keys, ids, version ids), texts marked
    English and tag attributes."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    main = re.sub(r"<(code|svg|script|style)\b.*?</\1>", " ", main, flags=re.S)
    # Texts marked as English (a consent text's English version) are meant to be.
    main = re.sub(r'<(\w+)\b[^>]*\blang="en"[^>]*>.*?</\1>', " ", main, flags=re.S)
    main = re.sub(r"<[^>]+>", " ", main)
    return unescape(main)


def test_norwegian_consent_admin_pages_have_no_english(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    with session_scope() as session:
        service.record(
            session, subject=OLA, purpose="nyhetsbrev", decision="grant", recorded_by="t"
        )
    client = logged_in("privacy_officer")
    pages = [client.get("/admin/consent?lang=nb")]
    pages += [
        client.get(f"/admin/consent/purposes/{key}")
        for key in ("nyhetsbrev", "statistikk", "kampanje", "kundeklubb")
    ]
    pages.append(_lookup(client, OLA))
    pages.append(_lookup(client, "nobody"))
    page = client.get("/admin/consent/purposes/nyhetsbrev")
    pages.append(
        client.post(
            "/admin/consent/purposes/nyhetsbrev/reconsent",
            data={"csrf_token": csrf_of(page.text), "cutoff": "2999-01-01"},
        )
    )
    pages.append(client.get("/admin/consent/subject", params={"subject": OLA}))
    pages.append(client.get("/admin/outbox"))
    for answer in pages:
        found = ENGLISH.findall(_words(answer.text))
        assert found == [], (answer.url, found)
