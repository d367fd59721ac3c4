"""The breach flow in a real browser (Debian's Chromium): log in, register a breach,
see the 72-hour countdown, assess the risk, open the draft for Datatilsynet and
download it as PDF. Works without JavaScript; a screenshot is kept as an artifact."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from webhelpers import ARTIFACTS, PASSWORD, add_user, apply_fixture

from datavern.core import clock

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Friday 10:00 in Oslo


@pytest.fixture
def fixed() -> Iterator[clock.FixedClock]:
    fixed = clock.FixedClock(NOW)
    previous = clock.use_clock(fixed)
    try:
        yield fixed
    finally:
        clock.use_clock(previous)


def test_from_registration_to_the_datatilsynet_draft(
    live_server: str, browser: Any, fixed: clock.FixedClock
) -> None:
    apply_fixture("web_small.yaml")
    add_user("kari", "privacy_officer")
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="nb-NO", java_script_enabled=False
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server}/admin/breaches")
        page.get_by_label("Brukernavn").fill("kari")
        page.get_by_label("Passord").fill(PASSWORD)
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_url(f"{live_server}/admin/breaches")
        assert page.locator("h1").inner_text() == "Avvik"

        page.get_by_role("link", name="Registrer avvik").click()
        page.wait_for_url(f"{live_server}/admin/breaches/new")
        # First a mistake: awareness in the future, and no description.
        page.get_by_label("Kort beskrivelse").fill("Kundeliste sendt til feil mottaker")
        page.get_by_label("Klar over bruddet").fill("2026-11-21T09:00")
        page.get_by_label("Oppdaget av").fill("Kundeservice")
        page.get_by_role("button", name="Registrer avviket").click()
        assert "Avviket er ikke lagret." in page.get_by_role("alert").first.inner_text()
        assert page.get_by_label("Klar over bruddet").get_attribute("aria-invalid") == "true"
        assert "Tidspunktet ligger fram i tid." in page.locator("#aware_at-error").inner_text()
        assert "Må fylles ut." in page.locator("#description-error").inner_text()

        page.get_by_label("Klar over bruddet").fill("2026-11-19T14:30")
        page.get_by_label("Hva har skjedd").fill(
            "En kundeliste med navn og e-post ble sendt til en ekstern mottaker."
        )
        page.get_by_label("Hovedårsak").fill("Feil mottaker valgt i e-postprogrammet.")
        page.get_by_role("checkbox", name="Konfidensialitet").check()
        page.get_by_role("checkbox", name="nettbutikk").check()
        page.get_by_role("checkbox", name="user.contact.email").check()
        page.get_by_role("checkbox", name="user.name").check()
        page.get_by_role("checkbox", name="customer").check()
        page.get_by_label("Antall berørte personer").fill("120-150")
        page.get_by_role("button", name="Registrer avviket").click()
        page.wait_for_url(f"{live_server}/admin/breaches/1?done=registered")

        assert page.locator("h1").inner_text() == "Avvik 1: Kundeliste sendt til feil mottaker"
        assert page.locator(".countdown").inner_text() == "52 t 30 min igjen"
        assert (
            "Vurder risikoen for de berørte."
            in page.get_by_role("region", name="Dette gjenstår").inner_text()
        )

        page.get_by_role("radio", name="Høy risiko").check()
        page.locator("#assess-reasoning").fill(
            "Navn og e-post til mange kunder; målrettet phishing er sannsynlig."
        )
        page.get_by_role("button", name="Lagre risikovurderingen").click()
        page.wait_for_url(f"{live_server}/admin/breaches/1?done=assessed")
        assert page.get_by_role("status").inner_text() == "Risikovurderingen er lagret."
        steps = page.get_by_role("region", name="Dette gjenstår").inner_text()
        assert "Varsle de berørte" in steps

        page.get_by_role("link", name="Utkast til Datatilsynet").click()
        page.wait_for_url(f"{live_server}/admin/breaches/1/draft")
        draft = page.locator("article.draft")
        assert "Melding om brudd på personopplysningssikkerheten – utkast" in draft.inner_text()
        assert "Feil mottaker valgt i e-postprogrammet." in draft.inner_text()
        assert "mellom 120 og 150 personer." in draft.inner_text()
        assert "Høy risiko for de berørte." in draft.inner_text()
        assert draft.get_by_text("Ikke kjent ennå – ettersendes (artikkel 33 nr. 4)").count() >= 1

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "breach-draft-nb.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        with page.expect_download() as info:
            page.get_by_role("link", name="Last ned som PDF").click()
        download = info.value
        assert download.suggested_filename == "avvik-1-v2-nb.pdf"
        pdf = PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
        assert "Hovedårsak" in "".join(p.extract_text() for p in pdf.pages)

        page.get_by_role("link", name="English").click()
        assert page.locator("h1").inner_text() == "Draft notification to Datatilsynet"

        page.get_by_role("navigation", name="Main menu").get_by_role(
            "link", name="Breaches"
        ).click()
        row = page.get_by_role("row", name="Kundeliste sendt til feil mottaker")
        assert "52 h 30 min left" in row.inner_text()
        assert "High risk" in row.inner_text()
    finally:
        context.close()
