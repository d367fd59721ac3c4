"""The admin console's pages: register, processing map, notice versions, audit log,
users, and the language choice (ASGI client, real database)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from sqlalchemy import select, update
from webhelpers import PASSWORD, TestClient, add_user, apply_fixture, csrf_of, login

from datavern.accounts.models import User
from datavern.core import audit
from datavern.core.db import session_scope


def _row(html: str, text: str) -> str:
    """The table row (or map node) that holds ``text``."""
    for block in re.findall(r"<(?:tr|li)[^>]*>.*?</(?:tr|li)>", html, flags=re.S):
        if text in block:
            return block
    raise AssertionError(f"{text!r} not in any row")


def test_dashboard_without_a_register_says_how_to_apply_one(
    logged_in: Callable[[str], TestClient],
) -> None:
    page = logged_in("viewer").get("/admin")
    assert page.status_code == 200
    assert "Ingen register er tatt i bruk ennå" in page.text
    assert "datavern register apply" in page.text


def test_register_page_shows_the_current_version(logged_in: Callable[[str], TestClient]) -> None:
    apply_fixture("web_small.yaml")
    page = logged_in("viewer").get("/admin/register").text
    assert "Testfjord Web AS" in page and "312345609" in page
    assert "Ta imot og levere bestillingene dine" in page
    assert "Avtale (art. 6 nr. 1 b)" in page
    assert "user.contact.address" in page
    assert "3 år etter order_delivered (slettes)" in page
    assert "Postkanon Mail Inc." in page
    assert "Nyhetsbrev på e-post" in page  # consent purpose
    assert "handlekurv" in page  # cookie
    assert 'id="version-select"' not in page  # one version: nothing to choose


def test_register_version_selector(logged_in: Callable[[str], TestClient]) -> None:
    apply_fixture("web_small.yaml")
    apply_fixture("web_small_v2.yaml")
    client = logged_in("viewer")
    current = client.get("/admin/register").text
    assert '<label for="version-select">' in current
    assert "Tallverk Analyse AS" in current
    old = client.get("/admin/register?version=1").text
    assert "Tallverk Analyse AS" not in old
    assert re.search(r'<option value="1" selected>', old)
    assert client.get("/admin/register?version=9").status_code == 404


def test_map_highlights_transfers_and_invalid_bases(
    logged_in: Callable[[str], TestClient],
) -> None:
    apply_fixture("web_small.yaml")
    page = logged_in("viewer").get("/admin/map").text
    mailer = _row(page, "Postkanon Mail Inc.")
    assert "status-invalid" in mailer
    assert "Ugyldig grunnlag" in mailer and "EU–US Privacy Shield" in mailer
    assert "DV101" in mailer
    host = _row(page, "Nordlys Drift AS")
    assert "status-eea" in host and "Innenfor EØS" in host
    transfers = page.split('id="transfers"')[1].split('id="countries"')[0]
    assert "Postkanon Mail Inc." in transfers and "Nordlys Drift" not in transfers
    assert "USA (US)" in transfers
    assert "Nettbutikken" in page and "Sende deg nyhetsbrev når du har bedt om det" in page


def test_map_of_a_newer_version_shows_a_valid_transfer(
    logged_in: Callable[[str], TestClient],
) -> None:
    apply_fixture("web_small.yaml")
    apply_fixture("web_small_v2.yaml")
    client = logged_in("viewer")
    page = client.get("/admin/map").text
    mailer = _row(page, "Postkanon Mail Inc.")
    assert "status-transfer" in mailer and "status-invalid" not in mailer
    assert "standardavtaler 2021/914" in mailer
    old = client.get("/admin/map?version=1").text
    assert "status-invalid" in _row(old, "Postkanon Mail Inc.")


def test_dashboard_counts_invalid_transfers(logged_in: Callable[[str], TestClient]) -> None:
    apply_fixture("web_small.yaml")
    page = logged_in("viewer").get("/admin").text
    assert "1 overføring(er) ut av EØS mangler gyldig overføringsgrunnlag." in page
    assert "Kontrollen av registeret finner 1 feil og 0 advarsler" in page


def test_notice_versions_list_and_diff(logged_in: Callable[[str], TestClient]) -> None:
    apply_fixture("web_small.yaml")
    apply_fixture("web_small_v2.yaml")
    client = logged_in("viewer")
    page = client.get("/admin/notices").text
    assert 'href="/admin/notices/1/nb"' in page and 'href="/admin/notices/2/en"' in page
    assert 'href="/admin/notices/2/diff"' in page
    assert "Første versjon" in page
    row2 = _row(page, 'href="/admin/notices/2/diff"')
    assert "Vesentlig" in row2
    diff = client.get("/admin/notices/2/diff").text
    new_recipient = _row(diff, "sub_processors[tallverk]")
    assert "row-material" in new_recipient and "Lagt til" in new_recipient
    notice = client.get("/admin/notices/1/en").text
    assert "Postkanon Mail Inc." in notice and 'lang="en"' in notice
    assert client.get("/admin/notices/7/nb").status_code == 404
    assert client.get("/admin/notices/1/de").status_code == 404
    assert client.get("/admin/register?version=abc").status_code == 404


def test_audit_log_and_verification(logged_in: Callable[[str], TestClient]) -> None:
    apply_fixture("web_small.yaml")
    client = logged_in("privacy_officer")
    page = client.get("/admin/audit")
    assert "register.apply" in page.text and "session.login" in page.text
    result = client.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert result.status_code == 200
    assert "Loggen er intakt" in result.text
    with session_scope() as session:
        session.execute(
            update(audit.AuditEntry).where(audit.AuditEntry.seq == 1).values(target="x")
        )
    result = client.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert "Loggen er endret ved oppføring 1" in result.text


def test_admin_adds_a_user_who_can_then_log_in(
    logged_in: Callable[[str], TestClient], app: object
) -> None:
    client = logged_in("admin")
    page = client.get("/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "Nina",
            "role": "agent",
            "email": "",
            "password": "et eget og langt passord",
        },
    )
    assert response.status_code == 303
    listing = client.get(response.headers["location"]).text
    assert "Brukeren nina er lagt til." in listing
    with TestClient(app, follow_redirects=False) as other:  # type: ignore[arg-type]
        login(other, "nina", "et eget og langt passord")
        assert other.get("/admin/users").status_code == 403


def test_add_user_errors_are_tied_to_their_fields(
    logged_in: Callable[[str], TestClient],
) -> None:
    client = logged_in("admin")
    page = client.get("/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "admin-user",
            "role": "admin",
            "email": "not-an-address",
            "password": "kort",
        },
    )
    assert response.status_code == 400
    html = response.text
    assert "Brukernavnet er allerede i bruk." in html
    assert "Passordet må ha minst 12 tegn." in html
    assert "E-postadressen er ikke gyldig." in html
    assert re.search(r'id="new-password"[^>]*aria-describedby="[^"]*new-password-error', html)
    assert re.search(r'id="new-password"[^>]*aria-invalid="true"', html)
    assert 'id="new-password-error"' in html and 'id="new-username-error"' in html


def test_admin_changes_a_role_and_disables_a_user(
    logged_in: Callable[[str], TestClient],
) -> None:
    client = logged_in("admin")
    ola = add_user("ola", "viewer")
    token = csrf_of(client.get("/admin/users").text)
    response = client.post(f"/admin/users/{ola}/role", data={"csrf_token": token, "role": "agent"})
    assert response.status_code == 303
    assert "Rollen til ola er endret." in client.get(response.headers["location"]).text
    client.post(f"/admin/users/{ola}/disable", data={"csrf_token": token})
    with session_scope() as session:
        user = session.execute(select(User).where(User.username == "ola")).scalar_one()
        assert (user.role, user.active) == ("agent", False)


def test_the_last_admin_cannot_demote_themself(logged_in: Callable[[str], TestClient]) -> None:
    client = logged_in("admin")
    with session_scope() as session:
        me = session.execute(select(User).where(User.username == "admin-user")).scalar_one().id
    token = csrf_of(client.get("/admin/users").text)
    response = client.post(f"/admin/users/{me}/role", data={"csrf_token": token, "role": "viewer"})
    assert response.status_code == 400
    assert "siste aktive administratoren" in response.text


def test_console_language_switch_is_remembered(logged_in: Callable[[str], TestClient]) -> None:
    apply_fixture("web_small.yaml")
    client = logged_in("viewer")
    nb = client.get("/admin/map").text
    assert '<html lang="nb">' in nb and "Behandlingskart" in nb
    assert 'href="/admin/map?lang=en"' in nb
    en = client.get("/admin/map?lang=en")
    assert '<html lang="en">' in en.text and "Processing map" in en.text
    assert "Invalid basis" in en.text
    assert "datavern_lang=en" in en.headers["set-cookie"]
    assert '<html lang="en">' in client.get("/admin/register").text
    assert "Record of processing" in client.get("/admin/register").text


def test_login_page_in_english(client: TestClient) -> None:
    add_user("kari", "admin")
    page = client.get("/admin/login?lang=en").text
    assert '<html lang="en">' in page and "Sign in to Datavern" in page
    assert '<label for="username">Username</label>' in page
    failed = client.post(
        "/admin/login",
        data={"username": "kari", "password": PASSWORD + "x", "csrf_token": csrf_of(page)},
    )
    assert "Wrong username or password." in failed.text


def test_accessibility_basics(logged_in: Callable[[str], TestClient]) -> None:
    apply_fixture("web_small.yaml")
    client = logged_in("admin")
    paths = ["/admin", "/admin/register", "/admin/map", "/admin/notices", "/admin/audit"]
    paths += ["/admin/notices/1/nb", "/admin/users", "/personvern", "/privacy"]
    for path in paths:
        html = client.get(path).text
        assert 'class="skip-link" href="#main"' in html and 'id="main"' in html
        levels = [int(h) for h in re.findall(r"<h([1-6])[\s>]", html)]
        assert levels and levels[0] == 1 and levels.count(1) == 1, path
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), path
        if path.startswith("/admin"):
            assert 'aria-current="page"' in html
    users = client.get("/admin/users").text
    for field_id in re.findall(r'<(?:input|select)[^>]*id="([^"]+)"', users):
        assert f'for="{field_id}"' in users, field_id


def test_map_shows_what_the_register_admits_without_facts(
    logged_in: Callable[[str], TestClient],
) -> None:
    apply_fixture("web_gaps.yaml")
    page = logged_in("viewer").get("/admin/map").text
    assert "DV111" in page and "«Vi kan overføre data til land utenfor EØS.»" in page
    unknown = _row(page, "Ukjent Leverandør")
    assert "status-invalid" in unknown and "Ukjent land" in unknown and "DV110" in unknown
    clauses = _row(page, "Sky Leverandør Ltd")
    assert "status-invalid" in clauses and "DV109" in clauses and "India" in page


def test_every_example_register_renders_in_the_console_and_notice(
    logged_in: Callable[[str], TestClient],
) -> None:
    from webhelpers import REPO

    from datavern.register.loader import load_register
    from datavern.register.service import apply_register

    examples = sorted(p for p in (REPO / "examples").iterdir() if (p / "register.yaml").is_file())
    assert examples, "no example registers"
    client = logged_in("admin")
    for folder in examples:
        with session_scope() as session:
            apply_register(session, load_register(folder), "test", folder.name)
        for path in ("/admin", "/admin/register", "/admin/map", "/admin/notices", "/personvern"):
            response = client.get(path)
            assert response.status_code == 200, (folder.name, path)
        for lang in ("nb", "en"):
            assert client.get(f"/admin/map?lang={lang}").status_code == 200
