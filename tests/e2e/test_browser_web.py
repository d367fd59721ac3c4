"""The notice pages and the admin console in a real browser (Debian's Chromium)."""

from __future__ import annotations

from typing import Any

import pytest
from webhelpers import ARTIFACTS, PASSWORD, add_user, apply_fixture

pytestmark = pytest.mark.browser


def test_notice_pages_in_chromium(live_server: str, browser: Any) -> None:
    apply_fixture("web_small.yaml")
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="nb-NO")
    try:
        page.goto(f"{live_server}/personvern")
        assert page.locator("html").get_attribute("lang") == "nb"
        assert "Personvernerklæring for Testfjord Web AS" in page.locator("h1").inner_text()
        headings = page.locator("h2").all_inner_texts()
        assert "Hvem vi deler opplysningene med" in headings
        assert "Dine rettigheter" in headings
        table = page.locator("#dv-recipients table")
        assert table.locator("caption").inner_text() == "Mottakere av personopplysninger"
        rows = table.locator("tbody tr").all_inner_texts()
        assert any("Postkanon Mail Inc." in r for r in rows)
        assert any("Nordlys Drift AS" in r for r in rows)

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "notice-nb.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        page.get_by_role("link", name="English").click()
        page.wait_for_url(f"{live_server}/privacy")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Privacy notice" in page.locator("h1").inner_text()
        assert page.locator("#dv-recipients table").get_by_text("Postkanon Mail Inc.").count() == 1
        page.get_by_role("link", name="Norsk").click()
        page.wait_for_url(f"{live_server}/personvern")
    finally:
        page.close()


def test_skip_link_is_the_first_stop_and_visible_on_focus(live_server: str, browser: Any) -> None:
    apply_fixture("web_small.yaml")
    page = browser.new_page()
    try:
        page.goto(f"{live_server}/personvern")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        assert focused == "skip-link"
        box = page.locator(".skip-link").bounding_box()
        assert box is not None and box["y"] >= 0
    finally:
        page.close()


def test_admin_login_register_and_map_in_chromium(live_server: str, browser: Any) -> None:
    apply_fixture("web_small.yaml")
    add_user("kari", "privacy_officer")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{live_server}/admin/map")
        assert page.url.startswith(f"{live_server}/admin/login")
        assert page.get_by_role("status").inner_text() == "Logg inn for å fortsette."

        page.get_by_label("Brukernavn").fill("kari")
        page.get_by_label("Passord").fill("feil passord her")
        page.get_by_role("button", name="Logg inn").click()
        assert page.get_by_role("alert").inner_text() == "Feil brukernavn eller passord."
        assert page.get_by_label("Passord").get_attribute("aria-invalid") == "true"

        page.get_by_label("Passord").fill(PASSWORD)
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_url(f"{live_server}/admin/map")
        assert page.locator("h1").inner_text() == "Behandlingskart"
        invalid = page.locator(".node-recipient.status-invalid")
        assert invalid.count() == 1
        assert "Postkanon Mail Inc." in invalid.inner_text()
        assert "Ugyldig grunnlag" in invalid.inner_text()

        page.get_by_role("navigation", name="Hovedmeny").get_by_role(
            "link", name="Behandlingsprotokoll"
        ).click()
        assert page.locator("h1").inner_text() == "Behandlingsprotokoll"
        processors = page.get_by_role("region", name="Underleverandører og mottakere")
        assert processors.get_by_role("cell", name="Nordlys Drift AS").count() == 1
        assert page.get_by_text("Ta imot og levere bestillingene dine").count() >= 1

        page.get_by_role("link", name="English").click()
        assert page.locator("h1").inner_text() == "Record of processing"

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{live_server}/admin/login?notice=logged_out")
        page.goto(f"{live_server}/admin")
        assert page.url.startswith(f"{live_server}/admin/login")
    finally:
        page.close()
