"""The retention pages of the admin console: rules, legal holds (add with a reason, end; CSRF),
run reports with their signature status; only privacy officers and admins get in."""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

import retention_fixtures
from datavern.accounts import service as accounts
from datavern.core.config import get_settings
from datavern.core.db import session_scope
from datavern.retention import service
from retention_fixtures import Shop

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

sqlite_shop = retention_fixtures.sqlite_shop
PASSWORD = "et langt og trygt testpassord"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def client(sqlite_shop: Shop) -> Iterator[TestClient]:
    from datavern.web.app import create_app

    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def login(client: TestClient, role: str) -> None:
    name = f"{role.replace('_', '-')}-user"
    with session_scope() as session:
        accounts.create_user(session, name, PASSWORD, role, actor="test")
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": name, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text


def test_rules_holds_and_runs_are_shown_in_both_languages(client: TestClient) -> None:
    login(client, "privacy_officer")
    page = client.get("/admin/retention")
    assert page.status_code == 200
    html = page.text
    assert "Sletteregler" in html and 'href="/admin/retention" aria-current="page"' in html
    assert "90 dager etter created_at" in html
    assert "5 år etter utgangen av regnskapsåret for invoice_date" in html
    assert "anonymiseres (user_email, ip)" in html
    assert "Ingen sletteforbud gjelder nå." in html
    english = client.get("/admin/retention?lang=en").text
    assert "Retention rules" in english and "90 days after created_at" in english


def test_a_hold_needs_a_reason_and_a_csrf_token(client: TestClient) -> None:
    login(client, "privacy_officer")
    token = csrf_of(client.get("/admin/retention").text)
    form = {
        "scope": "records",
        "kind": "litigation",
        "collection": "shop.invoices",
        "where": "status=disputed\namount>=100",
        "reason": "  ",
        "identity": "",
        "until": "",
    }
    refused = client.post("/admin/retention/holds", data={**form, "csrf_token": token})
    assert refused.status_code == 400
    assert "a hold needs a reason" in refused.text and 'aria-invalid="true"' in refused.text
    forged = client.post("/admin/retention/holds", data={**form, "reason": "Tvist"})
    assert forged.status_code == 403
    with session_scope() as session:
        assert service.list_holds(session) == []

    added = client.post(
        "/admin/retention/holds",
        data={**form, "reason": "Kunden bestrider fakturaen", "csrf_token": token},
    )
    assert added.status_code == 303
    page = client.get(added.headers["location"]).text
    assert "Sletteforbud 1 er lagt inn." in page
    assert "shop.invoices der status = disputed and amount &gt;= 100" in page
    assert "Kunden bestrider fakturaen" in page

    ended = client.post(
        "/admin/retention/holds/1/end", data={"reason": "Forlikt", "csrf_token": token}
    )
    assert ended.status_code == 303
    page = client.get(ended.headers["location"]).text
    assert "Sletteforbud 1 er avsluttet." in page and "Ingen sletteforbud gjelder nå." in page
    assert (
        client.post("/admin/retention/holds/99/end", data={"csrf_token": token}).status_code == 404
    )


def test_a_subject_hold_never_shows_the_identity(client: TestClient) -> None:
    login(client, "admin")
    token = csrf_of(client.get("/admin/retention").text)
    base = {"scope": "subject", "kind": "litigation", "reason": "Søksmål", "csrf_token": token}
    bad = client.post("/admin/retention/holds", data={**base, "identity": "email=kari.hansen@"})
    assert bad.status_code == 400 and "kari.hansen" not in bad.text
    good = client.post("/admin/retention/holds", data={**base, "identity": "email=ola@example.no"})
    assert good.status_code == 303
    page = client.get("/admin/retention").text
    assert "Alt om personen (email)" in page and "ola@example.no" not in page


def test_run_reports_show_whether_the_signature_matches(client: TestClient) -> None:
    login(client, "privacy_officer")
    view = service.run(actor="test")
    page = client.get("/admin/retention").text
    assert view.id[:12] in page and "gyldig" in page
    report = client.get(f"/admin/retention/runs/{view.id}").text
    assert "Signaturen er gyldig" in report and "2026-03-02" in report and view.signature in report
    database = Path(get_settings().data_dir) / "datavern.db"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE retention_runs SET signature = ?", ("0" * 64,))
    page = client.get("/admin/retention").text
    assert "stemmer ikke" in page and "status-invalid" in page
    report = client.get(f"/admin/retention/runs/{view.id}").text
    assert "Signaturen stemmer ikke" in report
    assert client.get("/admin/retention/runs/ffffffff").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_only_privacy_officers_and_admins_get_in(client: TestClient, role: str) -> None:
    login(client, role)
    assert client.get("/admin/retention").status_code == 403
    assert 'href="/admin/retention"' not in client.get("/admin").text


def test_the_page_asks_for_a_login(client: TestClient) -> None:
    response = client.get("/admin/retention")
    assert response.status_code == 303 and "/admin/login" in response.headers["location"]
