"""/docs without a CDN: when the swagger-ui-bundle package is installed, Swagger UI's
script and stylesheet come from Datavern itself and the page's CSP allows nothing
else; without it, FastAPI's page (from jsDelivr) as before. The package is stood in
for by a module with the same ``swagger_ui_path``, so this runs either way."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from webhelpers import TestClient

from datavern.core.config import Settings
from datavern.web.app import create_app


def test_docs_served_locally_when_the_bundle_is_installed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "swagger-ui"
    dist.mkdir()
    (dist / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};")
    (dist / "swagger-ui.css").write_text("body { margin: 0; }")
    fake = types.ModuleType("swagger_ui_bundle")
    fake.swagger_ui_path = str(dist)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "swagger_ui_bundle", fake)
    with TestClient(create_app(settings)) as client:
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "/docs-assets/swagger-ui-bundle.js" in docs.text
        assert "cdn.jsdelivr.net" not in docs.text
        csp = docs.headers["content-security-policy"]
        assert "https:" not in csp and "script-src 'self'" in csp
        script = client.get("/docs-assets/swagger-ui-bundle.js")
        assert script.status_code == 200 and "SwaggerUIBundle" in script.text
        assert client.get("/docs-assets/swagger-ui.css").status_code == 200
        assert client.get("/openapi.json").status_code == 200


def test_without_the_bundle_docs_use_fastapis_page(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "swagger_ui_bundle", None)  # import fails
    with TestClient(create_app(settings)) as client:
        docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.text
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]


def test_the_api_reference_renders_in_chromium_with_no_request_leaving_the_host(
    live_server: str, browser: object
) -> None:
    """The real swagger-ui-bundle (a project dependency): /docs draws the API reference,
    and every request the page makes goes to Datavern itself."""
    from urllib.parse import urlsplit

    page = browser.new_page()  # type: ignore[attr-defined]
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/requests" in p for p in paths)
    assert any("/api/v1/consent" in p for p in paths)
    assert hosts <= {urlsplit(live_server).netloc, ""}, hosts
    page.close()
