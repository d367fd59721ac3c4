"""My consents in Debian's Chromium (Playwright), without JavaScript: a subscriber asks
for the sign-in link, opens it, sees the newsletter with the text they agreed to,
withdraws with one button (art. 7(3)) and gives consent again; the ledger holds each
step. A pending re-consent is shown with its cut-off and answered with one button."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from webhelpers import ARTIFACTS

from consent_fixtures import NEWSLETTER_NB, apply_register_text, register_text
from datavern.consent import service
from datavern.core import clock
from datavern.core.db import session_scope
from datavern.core.i18n import long_date
from datavern.notify.models import OutboxMessage

pytestmark = pytest.mark.browser

OLA = "ola.nordmann@example.no"


def _link() -> str:
    with session_scope() as session:
        mails = session.query(OutboxMessage).order_by(OutboxMessage.created_at).all()
        body = mails[-1].text_body
    found = re.search(r"(https?://\S+)", body)
    assert found, body
    link = urlparse(found.group(1))
    return f"{link.path}?{link.query}"


def _decisions() -> list[tuple[str, str]]:
    ref = service.subject_of(OLA).ref
    with session_scope() as session:
        return [
            (r.record.decision, r.record.method) for r in service.proof(session, ref, actor="t")
        ]


def test_withdraw_and_grant_again_without_javascript(
    live_server: str, browser: Any, settings: Any, tmp_path: Path
) -> None:
    apply_register_text(tmp_path / "register")
    with session_scope() as session:
        service.record(
            session,
            subject=OLA,
            purpose="nyhetsbrev",
            decision="grant",
            method="double_opt_in",
            language="nb",
            recorded_by="test",
        )
    context = browser.new_context(locale="nb-NO", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/personvern/samtykker")
        assert page.locator("h1").inner_text() == "Mine samtykker"
        page.get_by_label("E-postadresse").fill(OLA)
        page.get_by_role("button", name="Send meg lenken").click()
        assert "Sjekk e-posten din" in page.locator("h1").inner_text()

        page.goto(live_server + _link())
        page.get_by_role("button", name="Vis mine samtykker").click()
        page.wait_for_url(f"{live_server}/personvern/samtykker")
        item = page.locator("#purpose-nyhetsbrev")
        assert "Du har sagt ja" in item.inner_text()
        assert NEWSLETTER_NB in item.inner_text()  # the text they agreed to
        assert "nyhetsbrev/nb/" in item.inner_text()  # and its version

        item.get_by_role("button", name=re.compile("Trekk tilbake samtykket")).click()
        page.wait_for_url(re.compile(r"/personvern/samtykker\?done=withdrawn$"))
        assert "Samtykket er trukket tilbake" in page.locator("#mine-done").inner_text()
        assert "Du har ikke sagt ja" in page.locator("#purpose-nyhetsbrev").inner_text()
        assert _decisions()[-1] == ("withdraw", "form_checkbox")

        page.locator("#purpose-nyhetsbrev").get_by_role(
            "button", name=re.compile("Gi samtykke")
        ).click()
        page.wait_for_url(re.compile(r"\?done=granted$"))
        assert "Du har sagt ja" in page.locator("#purpose-nyhetsbrev").inner_text()
        assert [d for d, _ in _decisions()] == ["grant", "withdraw", "grant"]
        # Cookie purposes are the banner's: not offered here.
        assert page.locator("#purpose-statistikk").count() == 0
        page.screenshot(path=str(ARTIFACTS / "my-consents.png"), full_page=True)

        page.get_by_role("button", name="Logg ut").click()
        assert page.get_by_label("E-postadresse").count() == 1
    finally:
        context.close()


NEW_NB = "Ja takk, send meg nyhetsbrevet og tilbud på e-post omtrent én gang i måneden."


def test_a_pending_reconsent_is_answered_on_my_consents(
    live_server: str, browser: Any, settings: Any, tmp_path: Path
) -> None:
    """The text changed and a re-consent campaign runs: the page says when the old yes
    stops counting and agrees to the new text with one button."""
    apply_register_text(tmp_path / "register")
    with session_scope() as session:
        service.record(
            session,
            subject=OLA,
            purpose="nyhetsbrev",
            decision="grant",
            method="double_opt_in",
            language="nb",
            recorded_by="test",
        )
    apply_register_text(tmp_path / "register", register_text(newsletter_nb=NEW_NB))
    cutoff = clock.now().astimezone(clock.OSLO).date() + timedelta(days=14)
    with session_scope() as session:
        service.start_reconsent(session, "nyhetsbrev", cutoff, actor="test", mail=False)
    context = browser.new_context(locale="nb-NO", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/personvern/samtykker")
        page.get_by_label("E-postadresse").fill(OLA)
        page.get_by_role("button", name="Send meg lenken").click()
        page.goto(live_server + _link())
        page.get_by_role("button", name="Vis mine samtykker").click()
        page.wait_for_url(f"{live_server}/personvern/samtykker")
        item = page.locator("#purpose-nyhetsbrev")
        text = item.inner_text()
        assert "Du har sagt ja" in text and NEWSLETTER_NB in text
        assert f"slutter å gjelde {long_date(cutoff, 'nb')}" in text
        assert NEW_NB in text
        page.screenshot(path=str(ARTIFACTS / "my-consents-reconsent.png"), full_page=True)

        item.get_by_role("button", name=re.compile("Si ja til den nye teksten")).click()
        page.wait_for_url(re.compile(r"\?done=granted$"))
        text = page.locator("#purpose-nyhetsbrev").inner_text()
        assert "Du har sagt ja" in text and NEW_NB in text and "slutter å gjelde" not in text
        with session_scope() as session:
            state = service.state(session, OLA, "nyhetsbrev", "nb")
        assert state.text_version == "nyhetsbrev/nb/2" and state.reconsent_cutoff is None
    finally:
        context.close()
