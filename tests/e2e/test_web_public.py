"""Health, API docs and the public privacy notice (ASGI client, real database)."""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from webhelpers import TestClient, apply_fixture

from datavern.consent.assets import asset_url
from datavern.core.config import Settings
from datavern.web.app import create_app


def test_healthz_queries_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    # A PostgreSQL URL on a port where nothing listens: the query fails, the app answers.
    broken = settings.model_copy(
        update={"database_url": str(make_url("postgresql+psycopg://nobody@127.0.0.1:9/none"))}
    )
    with TestClient(create_app(broken)) as c:
        response = c.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert "nobody" not in response.text


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/register/versions" in spec["paths"]
    assert "/healthz" in spec["paths"]
    assert not any(p.startswith("/admin") for p in spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_notice_before_any_register_is_a_friendly_404_in_each_language(
    client: TestClient,
) -> None:
    nb = client.get("/personvern")
    assert nb.status_code == 404
    assert '<html lang="nb">' in nb.text
    assert "ikke publisert ennå" in nb.text
    assert 'href="/privacy"' in nb.text
    en = client.get("/privacy")
    assert en.status_code == 404
    assert '<html lang="en">' in en.text
    assert "not been published yet" in en.text
    assert 'href="/personvern"' in en.text


def test_notice_pages_show_the_applied_register(client: TestClient) -> None:
    apply_fixture("web_small.yaml")
    nb = client.get("/personvern")
    assert nb.status_code == 200
    assert '<html lang="nb">' in nb.text
    assert "Testfjord Web AS" in nb.text
    assert "Postkanon Mail Inc." in nb.text  # the sub-processor table
    assert 'id="dv-recipients"' in nb.text and 'id="dv-complaint"' in nb.text
    assert 'href="/privacy"' in nb.text and 'hreflang="en"' in nb.text
    en = client.get("/privacy")
    assert en.status_code == 200
    assert '<html lang="en">' in en.text
    assert "To receive and deliver your orders" in en.text
    assert 'href="/personvern"' in en.text


def test_notice_only_in_the_registers_languages(client: TestClient) -> None:
    apply_fixture("web_gaps.yaml")  # organisation.languages: [nb]
    assert client.get("/personvern").status_code == 200
    en = client.get("/privacy")
    assert en.status_code == 404
    assert "not available in English" in en.text and 'href="/personvern"' in en.text


def test_notice_follows_the_newest_version(client: TestClient) -> None:
    apply_fixture("web_small.yaml")
    assert "Tallverk" not in client.get("/personvern").text
    apply_fixture("web_small_v2.yaml")
    assert "Tallverk Analyse AS" in client.get("/personvern").text


def test_pages_need_no_scripts_and_no_external_assets(client: TestClient) -> None:
    apply_fixture("web_small.yaml")
    for path in ("/personvern", "/privacy", "/admin/login"):
        response = client.get(path)
        # The notice pages carry the cookie banner (one script from this origin, issue 5);
        # they read the same without it. Nothing else runs, nothing comes from elsewhere.
        scripts = re.findall(r"<script[^>]*>", response.text)
        banner = path != "/admin/login"
        assert scripts == ([f'<script src="{asset_url("banner.js")}" defer>'] if banner else [])
        assert "http://" not in response.text.split("</head>")[0]
        assert "https://" not in response.text.split("</head>")[0]
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert ("script-src 'self';" in csp) if banner else ("script-src" not in csp)
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/datavern.css")
    assert response.status_code == 200 and ":focus-visible" in response.text


def test_unknown_page_is_a_404_page(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Siden finnes ikke" in response.text


def test_notice_and_console_on_sqlite_and_postgresql(database_url: str) -> None:
    from webhelpers import add_user, login

    from datavern.core.config import get_settings

    apply_fixture("web_small.yaml")
    add_user("kari", "viewer")
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        assert c.get("/healthz").json() == {"status": "ok", "database": "ok"}
        assert "Postkanon Mail Inc." in c.get("/personvern").text
        login(c, "kari")
        assert "status-invalid" in c.get("/admin/map").text
        assert c.get("/api/v1/register/versions").json()[0]["number"] == 1


def test_every_page_has_an_icon_and_favicon_ico_answers(client: TestClient) -> None:
    page = client.get("/personvern")
    assert 'rel="icon" href="/static/favicon.svg"' in page.text
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
    assert client.get("/static/favicon.svg").status_code == 200
