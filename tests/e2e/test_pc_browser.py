"""The privacy centre end to end in a real browser (Debian's Chromium, Playwright): a person
files an access request, gets the code by e-mail from a real SMTP server (aiosmtpd), verifies
it with the keyboard, an agent approves in the admin console, and the person downloads the
package. Also: every form control has a label, and the pages work without JavaScript."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from webhelpers import ARTIFACTS, PASSWORD, add_user

from dsr_fixtures import OLA, Shop, sqlite_shop  # noqa: F401


def _smtp_fixtures() -> Any:
    """The aiosmtpd fixture of tests/integration (not on this folder's import path)."""
    import importlib.util
    import sys
    from pathlib import Path

    if "smtp_fixtures" in sys.modules:
        return sys.modules["smtp_fixtures"]
    path = Path(__file__).resolve().parents[1] / "integration" / "smtp_fixtures.py"
    spec = importlib.util.spec_from_file_location("smtp_fixtures", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["smtp_fixtures"] = module
    spec.loader.exec_module(module)
    return module


smtp_server = _smtp_fixtures().smtp_server
SmtpBox = Any

pytestmark = pytest.mark.browser

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && e.labels.length === 0).map(e => e.name)"""


@pytest.fixture
def mailed(
    smtp_server: SmtpBox,
    sqlite_shop: Shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SmtpBox]:
    for key, value in {
        "HOST": smtp_server.host,
        "PORT": str(smtp_server.port),
        "SECURITY": "none",
        "FROM": "Nettbutikken <personvern@example.no>",
    }.items():
        monkeypatch.setenv(f"DATAVERN_SMTP_{key}", value)
    yield smtp_server


def code_from(box: SmtpBox) -> str:
    codes = [m for m in box.messages if m["Subject"].startswith("Koden din")]
    assert codes, [m["Subject"] for m in box.messages]
    match = re.search(r"Koden din er: (\d{6})", codes[-1].get_body(("plain",)).get_content())
    assert match
    return match.group(1)


def test_file_verify_approve_download_in_chromium(
    mailed: SmtpBox, live_server: str, browser: Any
) -> None:
    add_user("agent-browser", "agent")
    subject = browser.new_context(locale="nb-NO", java_script_enabled=False, accept_downloads=True)
    page = subject.new_page()
    try:
        page.goto(f"{live_server}/personvern/rettigheter")
        assert page.locator("html").get_attribute("lang") == "nb"
        assert page.evaluate(f"({UNLABELLED})()") == []
        page.get_by_label("Innsyn").check()
        page.get_by_label("E-postadresse").first.fill(OLA)
        page.get_by_role("button", name="Send forespørselen").click()
        page.wait_for_url(re.compile(r".*/personvern/foresporsel/[0-9a-f]{32}/bekreft\?sent=1"))
        assert "Vi har sendt en kode" in page.locator("main").inner_text()
        case_url = page.url.split("/bekreft")[0]

        code = code_from(mailed)
        page.get_by_label("Kode").fill(code[:3] + " " + code[3:])
        page.keyboard.press("Enter")
        page.wait_for_url(case_url)
        assert "Mottatt" in page.locator("main").inner_text()

        agent_context = browser.new_context(locale="nb-NO")
        agent = agent_context.new_page()
        agent.goto(f"{live_server}/admin/login")
        agent.get_by_label("Brukernavn").fill("agent-browser")
        agent.get_by_label("Passord").fill(PASSWORD)
        agent.get_by_role("button", name="Logg inn").click()
        agent.goto(f"{live_server}/admin/requests")
        reference = case_url.rsplit("/", 1)[1][:8].upper()
        agent.get_by_role("link", name=reference).click()
        assert OLA in agent.locator("main").inner_text()
        agent.get_by_role("button", name="Godkjenn og utfør").click()
        assert "satt i gang" in agent.locator(".flash-ok").inner_text()
        assert "Ferdig" in agent.locator("main").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        agent.screenshot(path=str(ARTIFACTS / "pc-admin-request.png"), full_page=True)
        agent_context.close()

        done = [
            m for m in mailed.messages if m["Subject"].startswith("Forespørselen din er ferdig")
        ]
        assert done and "/last-ned?token=" in done[0].get_body(("plain",)).get_content()

        page.reload()
        assert "Ferdig" in page.locator("main").inner_text()
        with page.expect_download() as info:
            page.get_by_role("link", name="Last ned opplysningene (zip-fil)").click()
        with open(info.value.path(), "rb") as downloaded:
            content = downloaded.read()
        data = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("data.json"))
        assert [r["email"] for r in data["datasets"]["shop"]["customers"]["rows"]] == [OLA]
        page.screenshot(path=str(ARTIFACTS / "pc-status.png"), full_page=True)

        # Another browser with the link from the e-mail gets nothing without proving it.
        link = re.search(
            r"(http\S+/last-ned\?token=\S+)", done[0].get_body(("plain",)).get_content()
        )
        assert link
        stranger = browser.new_context(locale="nb-NO").new_page()
        # The e-mail names DATAVERN_BASE_URL; the test server runs on another port.
        stranger.goto(live_server + "/personvern/" + link.group(1).split("/personvern/", 1)[1])
        assert "/bekreft" in stranger.url
        assert "Bekreft at det er deg" in stranger.locator("h1").inner_text()
        stranger.context.close()
    finally:
        subject.close()


def test_every_control_is_labelled_and_errors_are_announced(
    mailed: SmtpBox, live_server: str, browser: Any
) -> None:
    page = browser.new_page(locale="en-GB")
    try:
        page.goto(f"{live_server}/privacy/rights")
        assert page.evaluate(f"({UNLABELLED})()") == []
        page.get_by_label("E-mail address").first.fill("not-an-address")
        page.get_by_role("button", name="Send the request").click()
        alert = page.get_by_role("alert").first
        assert "must be corrected" in alert.inner_text()
        email = page.get_by_label("E-mail address").first
        assert email.get_attribute("aria-invalid") == "true"
        described = email.get_attribute("aria-describedby") or ""
        assert "f-email-error" in described
        assert "valid e-mail address" in page.locator("#f-email-error").inner_text()
        page.screenshot(path=str(ARTIFACTS / "pc-form-errors.png"), full_page=True)
    finally:
        page.close()
