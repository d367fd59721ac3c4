"""The cookie banner in Debian's Chromium against a live Datavern and its consent ledger.

The page under test is /consent/demo: an analytics script and a marketing script marked
``type="text/plain"``, which set cookies when they run. Every test reads the ledger
through the consent service, so "recorded" means recorded, not "the banner said so".
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from webhelpers import ARTIFACTS

from datavern.consent import service as consent
from datavern.core.db import session_scope
from datavern.register.loader import load_register
from datavern.register.service import apply_register

pytestmark = pytest.mark.browser

STATS_NB = "Ja, dere kan telle besøkene mine med Matomo på våre egne servere."
STATS_NB_V2 = "Ja, dere kan telle besøkene mine og se hvilke sider jeg leser."

# Analytics cookies by prefix (`_ga_*`, `_pk_id*`), as real tags name them; the demo
# page's scripts set `_pk_id` and `fv_kampanje`, the tests add more.
REGISTER = """\
datavern: 1
organisation:
  name: Bannertest AS
  org_nr: "312345609"
  email: personvern@bannertest.example
  address: {{street: Testveien 3, postal_code: "0150", city: Oslo}}
  languages: [nb, en]
consent_purposes:
  - key: statistikk
    name: {{nb: Besøksstatistikk, en: Website statistics}}
    text: {{nb: "{stats_nb}", en: "Yes, you may count my visits."}}
    withdraw:
      nb: Trekk samtykket under Innstillinger for informasjonskapsler.
      en: Withdraw under Cookie settings.
    data_use: analytics.reporting
  - key: kampanjemaling
    name: {{nb: Kampanjemåling, en: Campaign measurement}}
    text:
      nb: Ja, dere kan måle om besøket mitt kom fra en annonse.
      en: Yes, you may measure whether my visit came from an advert.
    withdraw:
      nb: Trekk samtykket under Innstillinger for informasjonskapsler.
      en: Withdraw under Cookie settings.
    data_use: marketing.advertising
cookies:
  - name: okt
    provider: Bannertest AS
    purpose: {{nb: Holder deg innlogget., en: Keeps you signed in.}}
    duration: session
    category: necessary
  - name: "_pk_id*"
    provider: Bannertest AS (Matomo)
    purpose: {{nb: Skiller besøk fra hverandre., en: Tells visits apart.}}
    duration: P13M
    category: analytics
    consent_purpose: statistikk
  - name: "_ga_*"
    provider: Bannertest AS
    purpose: {{nb: Teller sidevisninger., en: Counts page views.}}
    duration: P2Y
    category: analytics
    consent_purpose: statistikk
  - name: fv_kampanje
    provider: Annonsepartner AS
    purpose: {{nb: Husker hvilken kampanje du kom fra., en: Remembers the campaign you came from.}}
    duration: P30D
    category: marketing
    consent_purpose: kampanjemaling
    third_party: true
"""

POST = "/api/v1/consent/banner"


def apply(tmp: Path, stats_nb: str = STATS_NB) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "register.yaml").write_text(
        textwrap.dedent(REGISTER).format(stats_nb=stats_nb), encoding="utf-8"
    )
    with session_scope() as session:
        apply_register(session, load_register(tmp), "test", "banner test")


@pytest.fixture
def site(live_server: str, tmp_path: Path) -> str:
    apply(tmp_path / "register")
    return live_server


def ledger(visitor: str) -> list[consent.RecordView]:
    with session_scope() as session:
        return consent.history(session, f"visitor:{visitor}")


def decisions(visitor: str) -> list[tuple[str, str, str]]:
    return [(r.purpose, r.decision, r.method) for r in ledger(visitor)]


def stored(page: Any) -> dict[str, Any]:
    for cookie in page.context.cookies():
        if cookie["name"] == "datavern_consent":
            return dict(json.loads(unquote(cookie["value"])))
    raise AssertionError("no datavern_consent cookie")


def cookie_names(page: Any) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def ran(page: Any) -> list[str]:
    return list(page.evaluate("window.demoRan || []"))


def wait_for(page: Any, condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` from here: page.wait_for_function would evaluate a string in the
    page, which the demo page's Content-Security-Policy (no 'unsafe-eval') refuses."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + 15
    while True:
        try:
            if condition():
                return
        except Error:
            pass  # the page is navigating; ask again
        if time.monotonic() > deadline:
            raise AssertionError(f"waited 15 s for {what}")
        page.wait_for_timeout(50)


def is_post(response: Any) -> bool:
    return bool(response.url.endswith(POST) and response.request.method == "POST")


def choose(page: Any, button: str) -> Any:
    """Click a banner button and wait for the ledger's answer."""
    with page.expect_response(is_post) as answer:
        page.get_by_role("dialog").get_by_role("button", name=button).click()
    assert answer.value.status == 201, answer.value.text()
    # The banner drops its "not yet recorded" mark once it has read the answer; a page
    # left before that posts the choice again on the next view (by design).
    wait_for(page, lambda: "p" not in stored(page), "the choice to be marked as recorded")
    return answer.value


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="nb-NO")
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield p
    finally:
        context.close()
    assert errors == []


def test_first_visit_shows_the_banner_and_scripts_wait_for_accept(page: Any, site: str) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{site}/consent/demo")
    dialog = page.get_by_role("dialog", name="Informasjonskapsler")
    dialog.wait_for()
    assert "Besøksstatistikk og Kampanjemåling" in dialog.inner_text()
    # Focus is inside the banner; nothing optional has run or set a cookie.
    assert page.evaluate("document.activeElement.closest('[role=dialog]') !== null")
    assert ran(page) == []
    assert page.locator("#demo-analytics").inner_text() == "nei"
    assert cookie_names(page) == set()
    # Accepting and rejecting look the same and weigh the same.
    boxes = [
        dialog.get_by_role("button", name=n).bounding_box() for n in ("Godta alle", "Avvis alle")
    ]
    assert boxes[0] and boxes[1]
    assert (boxes[0]["width"], boxes[0]["height"]) == (boxes[1]["width"], boxes[1]["height"])
    styles = [
        dialog.get_by_role("button", name=n).evaluate(
            "b => { const s = getComputedStyle(b);"
            " return [s.backgroundColor, s.color, s.fontSize, s.fontWeight] }"
        )
        for n in ("Godta alle", "Avvis alle", "Tilpass")
    ]
    assert styles[0] == styles[1] == styles[2]

    answer = choose(page, "Godta alle")
    wait_for(page, lambda: len(ran(page)) == 2, "2 blocked script(s) to run")
    assert sorted(ran(page)) == ["analytics", "marketing"]
    assert page.get_by_role("dialog").count() == 0
    assert {"_pk_id", "fv_kampanje"} <= cookie_names(page)

    choice = stored(page)
    visitor = choice["id"]
    assert answer.json()["visitor_id"] == visitor
    records = ledger(visitor)
    assert sorted((r.purpose, r.decision, r.method) for r in records) == [
        ("kampanjemaling", "grant", "banner_accept_all"),
        ("statistikk", "grant", "banner_accept_all"),
    ]
    assert {r.text_version_id for r in records} == {"kampanjemaling/nb/1", "statistikk/nb/1"}
    assert {r.collection_point for r in records} == {f"{site}/consent/demo"}
    assert choice["v"] == {"kampanjemaling": "kampanjemaling/nb/1", "statistikk": "statistikk/nb/1"}

    # The next page view does not ask again and runs the scripts at once.
    page.reload()
    wait_for(page, lambda: len(ran(page)) == 2, "2 blocked script(s) to run")
    assert page.get_by_role("dialog").count() == 0
    assert len(ledger(visitor)) == 2
    # The banner talks to nobody but Datavern.
    assert requests and all(url.startswith(site + "/") for url in requests)


def test_reject_all_leaves_the_scripts_blocked(page: Any, site: str) -> None:
    page.goto(f"{site}/consent/demo")
    choose(page, "Avvis alle")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert ran(page) == []
    assert page.get_by_role("dialog").count() == 0
    assert page.locator("#demo-marketing").inner_text() == "nei"
    assert cookie_names(page) == {"datavern_consent"}
    assert sorted(decisions(stored(page)["id"])) == [
        ("kampanjemaling", "deny", "banner_reject_all"),
        ("statistikk", "deny", "banner_reject_all"),
    ]


def test_custom_choice_per_service(page: Any, site: str) -> None:
    page.goto(f"{site}/consent/demo")
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Tilpass").click()
    # Nothing is ticked in advance; the necessary category cannot be switched off.
    assert dialog.get_by_label("Statistikk").is_checked() is False
    assert dialog.get_by_label("Markedsføring").is_checked() is False
    assert dialog.get_by_label("Nødvendige").is_disabled()
    assert dialog.get_by_label("Nødvendige").is_checked()
    dialog.get_by_label("Markedsføring").check()
    choose(page, "Lagre valgene")
    wait_for(page, lambda: len(ran(page)) == 1, "1 blocked script(s) to run")
    assert ran(page) == ["marketing"]
    assert "_pk_id" not in cookie_names(page)
    assert sorted(decisions(stored(page)["id"])) == [
        ("kampanjemaling", "grant", "banner_custom"),
        ("statistikk", "deny", "banner_custom"),
    ]


@pytest.mark.parametrize("signal", ["header and navigator", "header only", "navigator only"])
def test_gpc_is_recorded_as_refusal(browser: Any, site: str, signal: str) -> None:
    headers = {} if signal == "navigator only" else {"Sec-GPC": "1"}
    context = browser.new_context(extra_http_headers=headers, locale="nb-NO")
    if signal != "header only":
        context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
        )
    page = context.new_page()
    try:
        with page.expect_response(is_post) as answer:
            page.goto(f"{site}/consent/demo")
        assert answer.value.status == 201
        note = page.get_by_role("dialog", name="Du har sagt nei til sporing")
        note.wait_for()
        assert "Global Privacy Control" in note.inner_text()
        assert note.get_by_role("button", name="Godta alle").count() == 0
        visitor = stored(page)["id"]
        assert sorted(decisions(visitor)) == [
            ("kampanjemaling", "deny", "gpc"),
            ("statistikk", "deny", "gpc"),
        ]
        assert ran(page) == []
        note.get_by_role("button", name="OK").click()
        # Recorded once: the next page view neither posts nor shows the note again.
        page.reload()
        page.wait_for_load_state("networkidle")
        assert page.get_by_role("dialog").count() == 0
        assert len(ledger(visitor)) == 2
        assert ran(page) == []
    finally:
        context.close()


def test_withdrawal_records_withdraw_and_deletes_the_category_cookies(page: Any, site: str) -> None:
    page.goto(f"{site}/consent/demo")
    choose(page, "Godta alle")
    wait_for(page, lambda: len(ran(page)) == 2, "2 blocked script(s) to run")
    # Cookies an analytics tag names by prefix, and a necessary one that must stay.
    page.evaluate("document.cookie = '_ga_ABC=1; path=/'; document.cookie = 'okt=1; path=/'")
    visitor = stored(page)["id"]

    page.get_by_role("link", name="Innstillinger for informasjonskapsler").click()
    dialog = page.get_by_role("dialog")
    # The reopened banner shows the current choice.
    assert dialog.get_by_label("Statistikk").is_checked()
    assert dialog.get_by_label("Markedsføring").is_checked()
    dialog.get_by_label("Statistikk").uncheck()
    # The analytics script already ran on this page: the banner reloads it so it stops.
    with page.expect_navigation():
        choose(page, "Lagre valgene")
    wait_for(page, lambda: len(ran(page)) == 1, "1 blocked script(s) to run")
    assert ran(page) == ["marketing"]
    names = cookie_names(page)
    assert "_ga_ABC" not in names and "_pk_id" not in names
    assert {"fv_kampanje", "okt", "datavern_consent"} <= names
    assert [d for d in decisions(visitor) if d[1] != "grant"] == [
        ("statistikk", "withdraw", "banner_custom")
    ]
    assert decisions(visitor)[-2:] == [
        ("kampanjemaling", "grant", "banner_custom"),
        ("statistikk", "withdraw", "banner_custom"),
    ]


def test_withdrawal_deletes_cookies_on_the_parent_domain(page: Any, site: str) -> None:
    """On www.bannertest.localhost (Chromium resolves *.localhost to this machine), analytics
    cookies that a tag set on the parent domain .bannertest.localhost are deleted too."""
    host_site = site.replace("127.0.0.1", "www.bannertest.localhost")
    page.goto(f"{host_site}/consent/demo")
    choose(page, "Godta alle")
    wait_for(page, lambda: len(ran(page)) == 2, "2 blocked script(s) to run")
    page.evaluate(
        "document.cookie = '_ga_PARENT=1; domain=.bannertest.localhost; path=/';"
        "document.cookie = '_pk_id.9=1; domain=bannertest.localhost; path=/';"
        "document.cookie = 'okt=1; domain=.bannertest.localhost; path=/'"
    )
    assert {"_ga_PARENT", "_pk_id.9", "_pk_id"} <= cookie_names(page)
    page.get_by_role("link", name="Innstillinger for informasjonskapsler").click()
    with page.expect_navigation():
        choose(page, "Avvis alle")
    page.wait_for_load_state("load")
    names = cookie_names(page)
    assert not {"_ga_PARENT", "_pk_id.9", "_pk_id", "fv_kampanje"} & names
    assert {"okt", "datavern_consent"} <= names
    assert ran(page) == []


def test_banner_asks_again_when_a_text_changes(page: Any, site: str, tmp_path: Path) -> None:
    page.goto(f"{site}/consent/demo")
    choose(page, "Godta alle")
    wait_for(page, lambda: len(ran(page)) == 2, "2 blocked script(s) to run")
    visitor = stored(page)["id"]

    apply(tmp_path / "register-v2", stats_nb=STATS_NB_V2)
    page.reload()
    dialog = page.get_by_role("dialog", name="Informasjonskapsler")
    dialog.wait_for()
    # The old consent no longer counts: nothing optional runs, its cookies are gone.
    assert ran(page) == []
    assert "_pk_id" not in cookie_names(page)
    dialog.get_by_role("button", name="Tilpass").click()
    assert STATS_NB_V2 in dialog.inner_text()
    assert dialog.get_by_label("Statistikk").is_checked() is False
    choose(page, "Godta alle")
    wait_for(page, lambda: len(ran(page)) == 2, "2 blocked script(s) to run")
    assert stored(page)["id"] == visitor
    latest = [r for r in ledger(visitor) if r.purpose == "statistikk"][-1]
    assert (latest.decision, latest.text_version_id) == ("grant", "statistikk/nb/2")


def test_keyboard_only_accept_and_reject(browser: Any, site: str) -> None:
    for key, button, expected in (
        ("Enter", "Godta alle", "grant"),
        ("Space", "Avvis alle", "deny"),
    ):
        context = browser.new_context(locale="nb-NO")
        page = context.new_page()
        try:
            page.goto(f"{site}/consent/demo")
            page.get_by_role("dialog").wait_for()
            for _ in range(10):
                page.keyboard.press("Tab")
                label = page.evaluate("document.activeElement.textContent")
                if label == button:
                    break
            assert page.evaluate("document.activeElement.textContent") == button
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none"  # the focus is visible
            with page.expect_response(is_post):
                page.keyboard.press(key)
            visitor = stored(page)["id"]
            assert {d for _, d, _ in decisions(visitor)} == {expected}
            # Focus is back on the page, not lost with the removed banner.
            assert page.evaluate("document.activeElement !== null")
        finally:
            context.close()


def test_keyboard_only_custom_choice_and_escape(page: Any, site: str) -> None:
    page.goto(f"{site}/consent/demo")
    page.get_by_role("dialog").wait_for()
    page.get_by_role("button", name="Tilpass").focus()
    page.keyboard.press("Enter")
    # Focus moves to the first box that can be changed.
    assert page.evaluate("document.activeElement.getAttribute('data-cat')") == "analytics"
    page.keyboard.press("Space")
    assert page.get_by_label("Statistikk").is_checked()
    page.get_by_role("button", name="Lagre valgene").focus()
    with page.expect_response(is_post):
        page.keyboard.press("Enter")
    assert sorted(decisions(stored(page)["id"]))[1] == ("statistikk", "grant", "banner_custom")
    # The reopen link, used with the keyboard, opens the choices; Escape closes them and
    # puts the focus back on the link.
    link = page.get_by_role("link", name="Innstillinger for informasjonskapsler")
    link.focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for()
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").count() == 0
    assert page.evaluate("document.activeElement.hasAttribute('data-datavern-consent-open')")


def test_english_and_small_screen(browser: Any, site: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{site}/consent/demo?lang=en")
        dialog = page.get_by_role("dialog", name="Cookies")
        dialog.wait_for()
        assert "Website statistics and Campaign measurement" in dialog.inner_text()
        for name in ("Accept all", "Reject all", "Customise"):
            box = dialog.get_by_role("button", name=name).bounding_box()
            assert box is not None
            # Every button is on screen and at least 44 px tall (a finger-sized target).
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360
            assert box["y"] + box["height"] <= 640 and box["height"] >= 44
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "banner-en-small.png"), animations="disabled")
        dialog.get_by_role("button", name="Customise").click()
        assert dialog.get_by_text("Yes, you may count my visits.").count() == 1
        assert dialog.get_by_label("Necessary").is_disabled()
        choose(page, "Reject all")
        assert stored(page)["c"] == {"analytics": False, "marketing": False}
        assert {r.language for r in ledger(stored(page)["id"])} == {"en"}
    finally:
        context.close()


def test_notice_page_carries_the_banner_and_the_settings_link(page: Any, site: str) -> None:
    page.goto(f"{site}/personvern")
    dialog = page.get_by_role("dialog", name="Informasjonskapsler")
    dialog.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "banner-notice-nb.png"), animations="disabled")
    choose(page, "Avvis alle")
    page.get_by_role("link", name="Innstillinger for informasjonskapsler").click()
    dialog.wait_for()
    assert dialog.get_by_label("Statistikk").is_checked() is False
    page.screenshot(path=str(ARTIFACTS / "banner-settings-nb.png"), animations="disabled")
    dialog.get_by_label("Statistikk").check()
    choose(page, "Lagre valgene")
    assert ("statistikk", "grant", "banner_custom") in decisions(stored(page)["id"])


def test_gpc_replaces_an_earlier_accept(browser: Any, site: str) -> None:
    first = browser.new_context(locale="nb-NO")
    page = first.new_page()
    page.goto(f"{site}/consent/demo")
    choose(page, "Godta alle")
    visitor = stored(page)["id"]
    state = first.storage_state()
    first.close()

    # The same browser, now sending GPC: the earlier grants are withdrawn, method gpc.
    later = browser.new_context(storage_state=state, extra_http_headers={"Sec-GPC": "1"})
    page = later.new_page()
    try:
        with page.expect_response(is_post):
            page.goto(f"{site}/consent/demo")
        page.get_by_role("dialog", name="Du har sagt nei til sporing").wait_for()
        assert ran(page) == []
        assert "_pk_id" not in cookie_names(page)
        assert decisions(visitor)[2:] == [
            ("kampanjemaling", "withdraw", "gpc"),
            ("statistikk", "withdraw", "gpc"),
        ]
    finally:
        later.close()


def test_a_choice_that_could_not_be_posted_holds_and_is_posted_next_time(
    page: Any, site: str
) -> None:
    page.route(f"{site}{POST}", lambda route: route.abort())
    page.goto(f"{site}/consent/demo")
    page.get_by_role("dialog").get_by_role("button", name="Avvis alle").click()
    wait_for(page, lambda: page.get_by_role("dialog").count() == 0, "the banner to close")
    visitor = stored(page)["id"]
    assert stored(page)["p"] == 1
    assert ledger(visitor) == []
    page.unroute(f"{site}{POST}")

    with page.expect_response(is_post) as answer:
        page.reload()
    assert answer.value.status == 201
    # Not asked again; the refusal is in the ledger now.
    assert page.get_by_role("dialog").count() == 0
    wait_for(page, lambda: "p" not in stored(page), "the choice to be marked as recorded")
    assert sorted(decisions(visitor)) == [
        ("kampanjemaling", "deny", "banner_reject_all"),
        ("statistikk", "deny", "banner_reject_all"),
    ]
