"""The privacy centre and the request pages through the ASGI client: the whole flow on the
shop database (file, code by e-mail, verify, approve, status, download), forms with errors
tied to their fields, roles, and every public and admin form's CSRF check."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator

import pytest
from webhelpers import TestClient, add_user, csrf_of, login

from datavern.core.db import session_scope
from datavern.dsr.case_models import PrivacyCase
from datavern.notify.models import OutboxMessage
from dsr_fixtures import OLA, Shop, sqlite_shop  # noqa: F401

CODE_RE = re.compile(r"Koden din er: (\d{6})|Your code is: (\d{6})")


@pytest.fixture
def shop_client(sqlite_shop: Shop) -> Iterator[TestClient]:  # noqa: F811
    from datavern.core.config import get_settings
    from datavern.web.app import create_app

    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def last_code(to: str) -> str:
    with session_scope() as session:
        rows = (
            session.query(OutboxMessage)
            .filter(OutboxMessage.to_addr == to, OutboxMessage.template == "dsr_code")
            .order_by(OutboxMessage.created_at.desc())
            .all()
        )
    assert rows, "no code e-mail"
    match = CODE_RE.search(rows[0].text_body)
    assert match
    return match.group(1) or match.group(2)


def file_request(client: TestClient, lang: str = "nb", **fields: str) -> str:
    start = "/personvern/rettigheter" if lang == "nb" else "/privacy/rights"
    page = client.get(start)
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), "kind": "access", "email": OLA, **fields}
    response = client.post(
        "/personvern/foresporsel" if lang == "nb" else "/privacy/requests", data=data
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return location.split("/")[-2]


def verify(client: TestClient, case_id: str, code: str, lang: str = "nb") -> object:
    path = (
        f"/personvern/foresporsel/{case_id}/bekreft"
        if lang == "nb"
        else f"/privacy/requests/{case_id}/verify"
    )
    page = client.get(path)
    if 'name="csrf_token"' not in page.text:  # a locked request shows no form
        page = client.get("/personvern/rettigheter")
    return client.post(path, data={"csrf_token": csrf_of(page.text), "code": code})


def test_the_whole_flow_by_the_asgi_client(shop_client: TestClient) -> None:
    case_id = file_request(shop_client)
    response = verify(shop_client, case_id, last_code(OLA))
    assert response.status_code == 303
    status = shop_client.get(f"/personvern/foresporsel/{case_id}")
    assert status.status_code == 200
    assert "Mottatt" in status.text
    add_user("agent-a", "agent")
    login(shop_client, "agent-a")
    page = shop_client.get(f"/admin/requests/{case_id}")
    assert page.status_code == 200
    assert OLA in page.text
    done = shop_client.post(
        f"/admin/requests/{case_id}/approve", data={"csrf_token": csrf_of(page.text)}
    )
    assert done.status_code == 303, done.text
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        assert case.status == "done", case.status
    status = shop_client.get(f"/personvern/foresporsel/{case_id}")
    link = re.search(r'href="([^"]+/last-ned\?token=[^"]+)"', status.text)
    assert link, status.text
    package = shop_client.get(link.group(1).replace("&amp;", "&"))
    assert package.status_code == 200
    data = json.loads(zipfile.ZipFile(io.BytesIO(package.content)).read("data.json"))
    emails = data["datasets"]["shop"]["customers"]["rows"]
    assert [r["email"] for r in emails] == [OLA]


OLA_FNR = "17058012327"
KARI = "kari@example.no"


def approve_as_agent(client: TestClient, case_id: str, username: str = "agent-a") -> None:
    add_user(username, "agent")
    login(client, username)
    page = client.get(f"/admin/requests/{case_id}")
    response = client.post(
        f"/admin/requests/{case_id}/approve", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303, response.text
    client.cookies.delete("datavern_session")


def verified(client: TestClient, email: str = OLA, **fields: str) -> str:
    case_id = file_request(client, email=email, **fields)
    assert verify(client, case_id, last_code(email)).status_code == 303  # type: ignore[attr-defined]
    return case_id


def test_form_errors_are_tied_to_their_fields_and_nothing_is_stored(
    shop_client: TestClient,
) -> None:
    page = shop_client.get("/personvern/rettigheter")
    response = shop_client.post(
        "/personvern/foresporsel",
        data={"csrf_token": csrf_of(page.text), "kind": "", "email": "feil", "fnr": "12345678901"},
    )
    assert response.status_code == 400
    html = response.text
    assert 'id="f-email" name="email" type="email" value="feil"' in html
    assert 'aria-describedby="f-email-hint f-email-error" aria-invalid="true"' in html
    assert 'id="f-email-error">Skriv en gyldig e-postadresse' in html
    assert 'id="f-fnr-error"' in html and "12345678901" not in html
    assert 'id="f-kind-error"' in html
    assert 'href="#f-email"' in html  # the summary links to the field
    with session_scope() as session:
        assert session.query(PrivacyCase).count() == 0


def test_english_pages_and_emails(shop_client: TestClient) -> None:
    case_id = file_request(shop_client, lang="en")
    page = shop_client.get(f"/privacy/requests/{case_id}/verify?sent=1")
    assert page.status_code == 200 and 'lang="en"' in page.text
    assert "Confirm that it is you" in page.text
    assert verify(shop_client, case_id, last_code(OLA), lang="en").status_code == 303  # type: ignore[attr-defined]
    status = shop_client.get(f"/privacy/requests/{case_id}")
    assert "Request for access" in status.text
    with session_scope() as session:
        mail = session.query(OutboxMessage).filter(OutboxMessage.template == "dsr_code").one()
    assert mail.language == "en" and mail.subject.startswith("Your code:")


def test_the_rights_page_links_to_my_consents_in_its_language(shop_client: TestClient) -> None:
    for start, consents, label in (
        ("/personvern/rettigheter", "/personvern/samtykker", "Mine samtykker"),
        ("/privacy/rights", "/privacy/consents", "My consents"),
    ):
        page = shop_client.get(start)
        assert f'href="{consents}">{label}</a>' in page.text
        assert shop_client.get(consents).status_code == 200


def test_a_subject_sees_only_their_own_requests_and_package(shop_client: TestClient) -> None:
    ola_case = verified(shop_client, OLA)
    approve_as_agent(shop_client, ola_case)
    status = shop_client.get(f"/personvern/foresporsel/{ola_case}")
    ola_link = re.search(r'href="([^"]+/last-ned\?token=[^"]+)"', status.text)
    assert ola_link
    ola_link_url = ola_link.group(1).replace("&amp;", "&")

    # Kari, in her own browser, verified for her own request.
    from datavern.core.config import get_settings
    from datavern.web.app import create_app

    with TestClient(create_app(get_settings()), follow_redirects=False) as kari:
        kari_case = verified(kari, KARI)
        assert kari.get(f"/personvern/foresporsel/{kari_case}").status_code == 200
        # Ola's status page, Ola's link and Ola's id with Kari's token: nothing.
        assert kari.get(f"/personvern/foresporsel/{ola_case}").status_code == 404
        assert kari.get(ola_link_url).status_code == 404
        token = ola_link_url.split("token=")[1]
        crossed = kari.get(f"/personvern/foresporsel/{kari_case}/last-ned?token={token}")
        assert crossed.status_code == 404
        mine = kari.get("/personvern/mine-foresporsler").text
        assert kari_case[:8].upper() in mine and ola_case[:8].upper() not in mine
    # A browser that proved nothing is sent to verify, and gets no package.
    with TestClient(create_app(get_settings()), follow_redirects=False) as stranger:
        answer = stranger.get(ola_link_url)
        assert answer.status_code == 303 and "/bekreft" in answer.headers["location"]
        assert stranger.get(f"/personvern/foresporsel/{ola_case}").status_code == 303
    # Ola's own browser still gets it; a changed token does not.
    assert shop_client.get(ola_link_url).status_code == 200
    assert shop_client.get(ola_link_url[:-3] + "abc").status_code == 404


def test_the_link_expires_after_seven_days(shop_client: TestClient, sqlite_shop: Shop) -> None:  # noqa: F811
    from datetime import timedelta

    case_id = verified(shop_client)
    approve_as_agent(shop_client, case_id)
    status = shop_client.get(f"/personvern/foresporsel/{case_id}")
    link = re.search(r'href="([^"]+/last-ned\?token=[^"]+)"', status.text)
    assert link
    url = link.group(1).replace("&amp;", "&")
    start = sqlite_shop.fixed_clock.now()

    def prove_again() -> None:  # the subject session lasts 12 hours: a new code
        code_page = shop_client.get(f"/personvern/foresporsel/{case_id}/bekreft")
        shop_client.post(
            f"/personvern/foresporsel/{case_id}/ny-kode",
            data={"csrf_token": csrf_of(code_page.text)},
        )
        assert verify(shop_client, case_id, last_code(OLA)).status_code == 303  # type: ignore[attr-defined]

    sqlite_shop.fixed_clock.set(start + timedelta(days=6, hours=23))
    assert shop_client.get(url).status_code == 303  # session over: prove it again first
    prove_again()
    assert shop_client.get(url).status_code == 200
    sqlite_shop.fixed_clock.set(start + timedelta(days=7, minutes=1))
    assert shop_client.get(url).status_code == 410
    assert "last-ned?token" not in shop_client.get(f"/personvern/foresporsel/{case_id}").text


def test_brute_forcing_a_code_locks_the_request(shop_client: TestClient) -> None:
    case_id = file_request(shop_client)
    code = last_code(OLA)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = [verify(shop_client, case_id, wrong).status_code for _ in range(5)]  # type: ignore[attr-defined]
    assert statuses == [400, 400, 400, 400, 423]
    answer = verify(shop_client, case_id, code)
    assert answer.status_code == 423  # type: ignore[attr-defined]
    assert "sperret" in answer.text  # type: ignore[attr-defined]
    add_user("agent-b", "agent")
    login(shop_client, "agent-b")
    page = shop_client.get(f"/admin/requests/{case_id}")
    assert "Sperret: koden ble skrevet feil 5 ganger" in page.text


def test_rate_limits_on_filing_and_on_codes(
    shop_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_client.app.state.pc_limits = None  # type: ignore[attr-defined]
    monkeypatch.setenv("DATAVERN_PC_SUBMIT_PER_IP", "3")
    monkeypatch.setenv("DATAVERN_PC_SUBMIT_PER_IDENTITY", "2")
    monkeypatch.setenv("DATAVERN_PC_VERIFY_PER_IP", "4")
    file_request(shop_client, email="a@example.no")
    file_request(shop_client, email="a@example.no")
    page = shop_client.get("/personvern/rettigheter")
    data = {"csrf_token": csrf_of(page.text), "kind": "access", "email": "a@example.no"}
    over_identity = shop_client.post("/personvern/foresporsel", data=data)
    assert over_identity.status_code == 429 and "Retry-After" in over_identity.headers
    case_id = file_request(shop_client, email="b@example.no")
    over_ip = shop_client.post("/personvern/foresporsel", data={**data, "email": "c@example.no"})
    assert over_ip.status_code == 429
    with session_scope() as session:
        assert session.query(PrivacyCase).count() == 3
    codes = [verify(shop_client, case_id, "000000").status_code for _ in range(5)]  # type: ignore[attr-defined]
    assert codes[-1] == 429 and 429 not in codes[:4]


def test_a_viewer_sees_the_queue_but_cannot_approve_or_see_identities(
    shop_client: TestClient,
) -> None:
    case_id = verified(shop_client)
    add_user("viewer-v", "viewer")
    login(shop_client, "viewer-v")
    queue_page = shop_client.get("/admin/requests")
    assert queue_page.status_code == 200 and case_id[:8].upper() in queue_page.text
    page = shop_client.get(f"/admin/requests/{case_id}")
    assert page.status_code == 200
    assert OLA not in page.text and "Godkjenn og utfør" not in page.text
    response = shop_client.post(
        f"/admin/requests/{case_id}/approve", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 403
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None and case.status == "verified"


def test_the_queue_filters_in_the_console(shop_client: TestClient) -> None:
    access = verified(shop_client)
    erasure = verified(shop_client, kind="erasure")
    add_user("agent-q", "agent")
    login(shop_client, "agent-q")
    page = shop_client.get("/admin/requests?kind=erasure").text
    assert erasure[:8].upper() in page and access[:8].upper() not in page
    assert shop_client.get("/admin/requests?due=overdue").text.count("/admin/requests/") == 0
    bad = shop_client.get("/admin/requests?status=bogus")
    assert bad.status_code == 200 and "ukjent verdi" in bad.text


PUBLIC_FORMS = [
    ("/personvern/foresporsel", {"kind": "access", "email": OLA}),
    ("/personvern/foresporsel/{id}/bekreft", {"code": "123456"}),
    ("/personvern/foresporsel/{id}/ny-kode", {}),
    ("/personvern/logg-ut", {}),
    ("/privacy/requests", {"kind": "access", "email": OLA}),
    ("/privacy/requests/{id}/verify", {"code": "123456"}),
    ("/privacy/requests/{id}/new-code", {}),
    ("/privacy/log-out", {}),
]


def test_every_public_form_checks_its_csrf_token(shop_client: TestClient) -> None:
    case_id = file_request(shop_client)
    with session_scope() as session:
        before = session.query(PrivacyCase).count()
        codes_before = session.query(OutboxMessage).count()
    for path, data in PUBLIC_FORMS:
        url = path.format(id=case_id)
        missing = shop_client.post(url, data=data)
        forged = shop_client.post(url, data={**data, "csrf_token": "0" * 64})
        assert (missing.status_code, forged.status_code) == (403, 403), url
    with session_scope() as session:
        assert session.query(PrivacyCase).count() == before
        assert session.query(OutboxMessage).count() == codes_before
        case = session.get(PrivacyCase, case_id)
        assert case is not None and case.code_attempts == 0


ADMIN_FORMS = [
    ("assign", {"assignee": "agent-c"}),
    ("approve", {}),
    ("deny", {"reason": "Dette er en grunnløs forespørsel."}),
    ("extend", {"reason": "Dette er en sammensatt forespørsel.", "months": "2"}),
    ("verify", {"note": "Ringte kunden"}),
    ("unlock", {}),
    ("forward", {"controller": "x"}),
    ("controller-answered", {"note": "Ferdig"}),
    ("retry", {}),
    ("tasks", {"system": "regnskap", "title": "Slett i regnskapet"}),
    ("tasks/1/done", {"note": "Slettet"}),
]


def test_every_admin_form_checks_the_sessions_csrf_token(shop_client: TestClient) -> None:
    case_id = file_request(shop_client)
    add_user("agent-c", "agent")
    login(shop_client, "agent-c")
    for action, data in ADMIN_FORMS:
        url = f"/admin/requests/{case_id}/{action}"
        missing = shop_client.post(url, data=data)
        forged = shop_client.post(url, data={**data, "csrf_token": "forged"})
        assert (missing.status_code, forged.status_code) == (403, 403), action
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        assert (case.status, case.assignee, case.verified_at) == ("unverified", None, None)


def test_no_personal_data_in_the_application_log(
    shop_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    case_id = verified(shop_client, OLA, fnr=OLA_FNR, phone="+4791234567")
    approve_as_agent(shop_client, case_id)
    status = shop_client.get(f"/personvern/foresporsel/{case_id}")
    link = re.search(r'href="([^"]+/last-ned\?token=[^"]+)"', status.text)
    assert link and shop_client.get(link.group(1).replace("&amp;", "&")).status_code == 200
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None and case.status == "done"
    text = caplog.text
    assert "GET /personvern/foresporsel/{case_id}" in text  # the log ran, by route only
    for value in (OLA, OLA_FNR, "91234567", "Ola Nordmann"):
        assert value not in text
