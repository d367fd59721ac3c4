"""The breach pages of the admin console through the ASGI client: roles, CSRF, forms
with errors in bokmål and English, the flow to the Datatilsynet draft, and notices."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pypdf import PdfReader
from sqlalchemy import create_engine, func, select, text
from webhelpers import TestClient, apply_fixture, csrf_of

from datavern.breaches.models import Breach, BreachVersion
from datavern.connectors import service as connections
from datavern.core import clock
from datavern.core.audit import AuditEntry
from datavern.core.db import session_scope
from datavern.notify.models import OutboxMessage
from datavern.register.loader import load_register
from datavern.register.service import apply_register

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 10:00 in Oslo
FORM = {
    "title": "Kundeliste sendt til feil mottaker",
    "description": "En kundeliste med navn og e-post ble sendt til en ekstern mottaker.",
    "aware_at": "2026-11-19T14:30",
    "discovered_by": "Kundeservice",
    "data_categories": ["user.name", "user.contact.email"],
    "data_subjects": ["customer"],
    "people_affected": "120-150",
    "risk": "high_risk",
    "risk_reasoning": "Navn og e-post til mange kunder; phishing er sannsynlig.",
}


@pytest.fixture
def fixed() -> Iterator[clock.FixedClock]:
    fixed = clock.FixedClock(NOW)
    previous = clock.use_clock(fixed)
    try:
        yield fixed
    finally:
        clock.use_clock(previous)


@pytest.fixture
def officer(logged_in: Callable[[str], TestClient], fixed: clock.FixedClock) -> TestClient:
    apply_fixture("web_small.yaml")
    return logged_in("privacy_officer")


def token(client: TestClient, path: str = "/admin/breaches/new") -> str:
    return csrf_of(client.get(path).text)


def stored() -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(Breach)).scalar_one())


def register(client: TestClient, **changes: object) -> str:
    response = client.post("/admin/breaches", data={"csrf_token": token(client), **FORM, **changes})
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0]


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_only_privacy_officers_and_admins_see_breaches(
    logged_in: Callable[[str], TestClient], role: str
) -> None:
    client = logged_in(role)
    assert client.get("/admin/breaches").status_code == 403
    assert client.get("/admin/breaches/new").status_code == 403
    assert 'href="/admin/breaches"' not in client.get("/admin").text


def test_login_is_required(client: TestClient) -> None:
    response = client.get("/admin/breaches")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_the_list_is_in_the_menu_and_empty_at_first(officer: TestClient) -> None:
    page = officer.get("/admin/breaches")
    assert page.status_code == 200
    assert 'href="/admin/breaches" aria-current="page"' in page.text
    assert "Ingen avvik er registrert." in page.text


def test_posting_without_the_csrf_token_is_refused(officer: TestClient) -> None:
    response = officer.post("/admin/breaches", data=FORM)
    assert response.status_code == 403
    assert stored() == 0


def test_bad_input_shows_every_problem_and_stores_nothing(officer: TestClient) -> None:
    response = officer.post(
        "/admin/breaches",
        data={
            "csrf_token": token(officer),
            "title": "",
            "aware_at": "2026-11-21T09:00",
            "risk": "medium",
            "people_affected": "mange",
        },
    )
    assert response.status_code == 422
    text = plain(response.text)
    assert "Avviket er ikke lagret." in text
    assert "Tidspunktet ligger fram i tid." in text
    assert "Velg ingen risiko, risiko eller høy risiko." in text
    assert "Skriv et tall (120) eller et spenn (100-500)." in text
    assert text.count("Må fylles ut.") == 3  # title, description, discovered_by
    assert 'value="2026-11-21T09:00"' in response.text  # what was typed is kept
    assert 'aria-invalid="true"' in response.text
    assert stored() == 0
    english = officer.post(
        "/admin/breaches?lang=en",
        data={"csrf_token": token(officer), **FORM, "aware_at": "2026-03-29T02:30"},
    )
    assert english.status_code == 422
    assert "the clocks skip that hour when summer time starts" in plain(english.text)
    assert stored() == 0


def test_from_registration_to_the_draft(officer: TestClient, fixed: clock.FixedClock) -> None:
    url = register(officer)
    detail = officer.get(url + "?done=registered")
    text = plain(detail.text)
    assert "Avviket er registrert." in text
    assert "52 t 30 min igjen" in text
    assert "22. november 2026 kl. 14:30" in text  # the deadline, Norwegian time
    assert "Meld avviket til Datatilsynet" in text and "Varsle de berørte" in text

    draft = officer.get(url + "/draft")
    assert draft.status_code == 200
    text = plain(draft.text)
    for label in (
        "Hovedårsak",
        "Tidsrom",
        "Når ble avviket oppdaget",
        "Antall berørte personer",
        "Typer personopplysninger",
        "Relasjon til de berørte",
        "Hvor opplysningene befinner seg nå",
        "Mulige konsekvenser for de berørte",
        "Tiltak som er gjort",
        "Er de berørte informert, og hvordan",
        "Personvernombud eller annen kontaktperson",
    ):
        assert label in text, label
    assert "mellom 120 og 150 personer" in text
    assert "Ikke kjent ennå – ettersendes (artikkel 33 nr. 4)" in text
    assert "Testfjord Web AS" in text

    english = officer.get(url + "/draft?draft_lang=en")
    assert "Main cause" in plain(english.text)

    download = officer.get(url + "/draft.txt")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="avvik-1-v1-nb.txt"'
    assert "MELDING OM BRUDD PÅ PERSONOPPLYSNINGSSIKKERHETEN" in download.text
    pdf = officer.get(url + "/draft.pdf?draft_lang=en")
    assert pdf.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    assert "Number of people affected" in "".join(p.extract_text() for p in pages)
    assert officer.get(url + "/draft.docx").status_code == 404
    with session_scope() as session:
        exports = session.execute(
            select(AuditEntry.details).where(AuditEntry.action == "breach.draft")
        ).scalars()
        assert sorted(d["format"] for d in exports) == ["pdf", "text"]


def test_a_staged_update_is_a_new_version(officer: TestClient) -> None:
    url = register(officer)
    edit = officer.get(url + "/edit")
    assert edit.status_code == 200
    assert 'value="2026-11-19T14:30"' in edit.text
    assert 'value="user.contact.email" checked' in edit.text
    data = {
        "csrf_token": csrf_of(edit.text),
        **{k: v for k, v in FORM.items() if not k.startswith("risk")},
        "people_affected": "1240",
        "data_location": "Slettet hos mottakeren, bekreftet skriftlig.",
        "note": "Antallet er bekreftet",
    }
    response = officer.post(url + "/update", data=data)
    assert response.status_code == 303, response.text
    text = plain(officer.get(url).text)
    assert "Antallet er bekreftet" in text and "people_affected, data_location" in text
    # The risk assessment stays with the record.
    with session_scope() as session:
        risk = session.execute(
            select(BreachVersion.risk).where(BreachVersion.number == 2)
        ).scalar_one()
    assert risk is not None and risk["level"] == "high_risk"
    bad = officer.post(url + "/update", data={**data, "title": "", "ended_at": "2026-11-01T10:00"})
    assert bad.status_code == 422
    assert "Må fylles ut." in plain(bad.text)
    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(BreachVersion)).scalar_one() == 2


def test_assessment_exception_and_late_notification(officer: TestClient) -> None:
    # Aware 74 hours ago (moving the clock instead would end the login session).
    url = register(officer, aware_at="2026-11-17T08:00")
    csrf = token(officer, url)
    wrong = officer.post(url + "/assess", data={"csrf_token": csrf, "risk": "høy"})
    assert wrong.status_code == 422
    assert "Velg ingen risiko, risiko eller høy risiko." in plain(wrong.text)
    assert "Skriv en begrunnelse." in plain(wrong.text)
    exception = officer.post(
        url + "/exception", data={"csrf_token": csrf, "art34_3": "c", "reasoning": "Mangler."}
    )
    assert exception.status_code == 422
    assert "Unntak c krever en offentlig kunngjøring" in plain(exception.text)
    ok = officer.post(
        url + "/exception",
        data={
            "csrf_token": csrf,
            "art34_3": "a",
            "reasoning": "Vedlegget var kryptert, og passordet ble ikke sendt med.",
        },
    )
    assert ok.status_code == 303
    assert "Unntak registrert:" in plain(officer.get(url).text)

    page = officer.get(url)
    assert "fristen gikk ut for 2 t 0 min siden" in plain(page.text)
    assert 'name="delay_reasons"' in page.text
    late = officer.post(url + "/submitted", data={"csrf_token": csrf, "reference": "AR-7"})
    assert late.status_code == 422
    assert "må begrunne forsinkelsen" in plain(late.text)
    sent = officer.post(
        url + "/submitted",
        data={"csrf_token": csrf, "reference": "AR-7", "delay_reasons": "Helg og sykdom."},
    )
    assert sent.status_code == 303
    text = plain(officer.get(url).text)
    assert "referanse AR-7" in text and "etter fristen" in text
    assert "meldt til Datatilsynet 2 t 0 min etter fristen" in text


def test_unknown_breach_is_not_found(officer: TestClient) -> None:
    assert officer.get("/admin/breaches/42").status_code == 404
    assert officer.get("/admin/breaches/42/draft").status_code == 404
    assert officer.get("/admin/breaches/abc").status_code == 404


REGISTER = """
organisation:
  name: Testfjord Web AS
  org_nr: "312345609"
  email: personvern@testfjord.example
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
          - name: created_at
            data_categories: [system.operations]
dsr:
  connections:
    crm: crmdb
"""


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: object) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, created_at TEXT)")
        )
        conn.execute(
            text(
                "INSERT INTO customers VALUES (1, 'ola@example.no', '2023-02-01'), "
                "(2, 'kari@example.no', '2023-05-01'), (3, 'ny@example.no', '2025-01-01')"
            )
        )
    engine.dispose()
    monkeypatch.setenv("DATAVERN_CONNECTION_KEY", Fernet.generate_key().decode())
    with session_scope() as session:
        connections.add_connection(session, "crmdb", url, actor="test")
    folder = tmp_path / "register"
    folder.mkdir()
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER))
    with session_scope() as session:
        apply_register(session, load_register(folder), "test")
    return url


def test_notify_the_people_affected_with_a_preview_first(
    logged_in: Callable[[str], TestClient], fixed: clock.FixedClock, crm: str
) -> None:
    client = logged_in("privacy_officer")
    url = register(client, data_subjects=[], data_categories=["user.contact.email"])
    form = client.get(url + "/notify")
    assert form.status_code == 200
    assert "<code>crm.customers</code>" in form.text
    base = {
        "csrf_token": csrf_of(form.text),
        "select": "crm.customers where created_at < 2024-01-01",
        "channel": "email",
        "notice_lang": "nb",
    }
    bad = client.post(url + "/notify", data={**base, "select": "crm.customers where x = Oslo"})
    assert bad.status_code == 422
    assert "quote text values" in plain(bad.text)
    preview = client.post(url + "/notify", data={**base, "action": "preview"})
    assert preview.status_code == 200
    text = plain(preview.text)
    assert "2 skal varsles" in text
    assert "Viktig melding fra Testfjord Web AS" in text
    assert "ola@example.no" not in preview.text  # no addresses on the page
    with session_scope() as session:
        assert session.execute(select(OutboxMessage)).first() is None
    sent = client.post(url + "/notify", data={**base, "action": "send"})
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("?done=notified")
    detail = plain(client.get(sent.headers["location"]).text)
    assert "2 varslet på e-post" in detail
    # The sending ran as a job after the response (DATAVERN_JOBS=inline); its state shows.
    assert "Utsendelsen er satt i gang" in detail and "Ferdig" in detail
    again = client.post(url + "/notify", data={**base, "action": "preview"})
    assert "Ingen nye å varsle i dette utvalget." in plain(again.text)
    with session_scope() as session:
        kept = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    assert kept == 2


def test_a_stopped_sending_is_continued_from_the_console(
    logged_in: Callable[[str], TestClient], fixed: clock.FixedClock, crm: str
) -> None:
    from datavern.breaches import subjects

    client = logged_in("privacy_officer")
    url = register(client, data_subjects=[], data_categories=["user.contact.email"])
    breach_id = int(url.rsplit("/", 1)[1])
    # Queued, but its job never ran (say the worker was stopped).
    queued = subjects.queue_notice(
        breach_id, "crm.customers where created_at < 2024-01-01", "email", "nb", actor="test"
    )
    page = client.get(url)
    assert "I kø" in plain(page.text) and "Fortsett" in page.text
    resume = f"{url}/notices/{queued.run_id}/resume"
    assert client.post(resume, data={}).status_code == 403  # CSRF token required
    done = client.post(resume, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=resumed")
    detail = plain(client.get(url).text)
    assert "2 varslet på e-post" in detail and "Ferdig" in detail
    # Only an unfinished sending can be continued.
    again = client.post(resume, data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 404
    with session_scope() as session:
        kept = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    assert kept == 2
