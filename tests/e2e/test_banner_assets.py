"""The banner's two files as a browser and a cache see them (ASGI client)."""

from __future__ import annotations

import gzip
import re

from webhelpers import TestClient

from datavern.consent.assets import STATIC_DIR, asset

LIMIT = 15_000  # issue 5: banner.js + banner.css under 15 kB gzipped


def test_both_files_together_are_under_15_kb_gzipped() -> None:
    total = sum(
        len(gzip.compress((STATIC_DIR / n).read_bytes(), compresslevel=9))
        for n in ("banner.js", "banner.css")
    )
    assert total < LIMIT


def test_the_script_loads_nothing_and_talks_to_nobody_but_its_own_origin() -> None:
    js = (STATIC_DIR / "banner.js").read_text()
    assert not re.search(r"https?://", js)
    assert "import(" not in js and "require(" not in js
    assert "innerHTML" not in js  # server texts are set as text, never parsed
    # ES2017: no optional chaining or nullish coalescing (ES2020).
    assert "?." not in js and "??" not in js
    css = (STATIC_DIR / "banner.css").read_text()
    assert "url(" not in css and "@import" not in css


def test_script_and_stylesheet_are_served_with_etag_and_cache(client: TestClient) -> None:
    for name, media in (("banner.js", "text/javascript"), ("banner.css", "text/css")):
        response = client.get(f"/consent/{name}", headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert response.content == (STATIC_DIR / name).read_bytes()
        assert "content-encoding" not in response.headers
        etag = response.headers["etag"]
        assert response.headers["cache-control"].startswith("public, max-age=86400")
        # Embeddable from the company's own site.
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"

        again = client.get(
            f"/consent/{name}", headers={"If-None-Match": etag, "Accept-Encoding": "identity"}
        )
        assert again.status_code == 304 and again.content == b""

        versioned = client.get(f"/consent/{name}?v={asset(name).etag}")
        assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
        stale = client.get(f"/consent/{name}?v=old")
        assert stale.headers["cache-control"].startswith("public, max-age=86400")


def test_gzip_for_clients_that_accept_it(client: TestClient) -> None:
    response = client.get("/consent/banner.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"].endswith('-gz"')
    assert response.content == (STATIC_DIR / "banner.js").read_bytes()  # httpx decoded it
    assert int(response.headers["content-length"]) < len(response.content)


def test_demo_page_blocks_its_scripts_and_allows_them_by_nonce(client: TestClient) -> None:
    response = client.get("/consent/demo")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="nb">' in html
    blocked = re.findall(
        r'<script type="text/plain" data-category="(\w+)"[^>]*nonce="([^"]+)"', html
    )
    assert [c for c, _ in blocked] == ["analytics", "marketing"]
    nonce = blocked[0][1]
    csp = response.headers["content-security-policy"]
    assert f"script-src 'self' 'nonce-{nonce}';" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "data-datavern-consent-open" in html
    # A fresh nonce per view.
    assert nonce not in client.get("/consent/demo").headers["content-security-policy"]
    english = client.get("/consent/demo?lang=en").text
    assert '<html lang="en">' in english and "Cookie settings" in english
