"""The cookie banner's two files, and a demo page that shows it at work.

``GET /consent/banner.js`` and ``GET /consent/banner.css`` are what a company's web site
embeds (docs/cookie-banner.md). They are read once per process and served with an ETag and
a long cache life: a day (then revalidated, usually a 304) for the plain address, a year and
``immutable`` when the address carries ``?v=<etag>``, which changes with every new release of
the files. A client that accepts gzip gets the gzip -9 bytes (the size the issue limits to
15 kB for both files together, see bench/banner/).

``GET /consent/demo`` is a page with a blocked analytics script and a blocked marketing
script, for trying the banner and for the browser tests.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(tags=["cookie banner"])

# The notice pages embed the banner: they may run scripts from this origin and fetch from it,
# and nothing else (the rest of PAGE_CSP in web/security.py stays as it is).
BANNER_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

SHORT_CACHE = "public, max-age=86400, stale-while-revalidate=604800"
LONG_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str  # without quotes; also the value of ?v= for the long-cached address
    media_type: str


@cache
def asset(name: str) -> Asset:
    body = (STATIC_DIR / name).read_bytes()
    media_type = "text/javascript" if name.endswith(".js") else "text/css"
    # mtime=0: the same bytes on every start, so the gzip ETag is stable across processes.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    etag = hashlib.sha256(body).hexdigest()[:20]
    return Asset(body, gzipped, etag, f"{media_type}; charset=utf-8")


def asset_url(name: str) -> str:
    """The long-cached address of a banner file (changes when the file changes)."""
    return f"/consent/{name}?v={asset(name).etag}"


def _serve(request: Request, name: str) -> Response:
    item = asset(name)
    use_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    etag = f'"{item.etag}-gz"' if use_gzip else f'"{item.etag}"'
    headers = {
        "ETag": etag,
        "Cache-Control": LONG_CACHE if request.query_params.get("v") == item.etag else SHORT_CACHE,
        "Vary": "Accept-Encoding",
        # Company sites on other origins embed these files.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    given = request.headers.get("if-none-match", "")
    if etag in [tag.strip() for tag in given.split(",")] or given.strip() == "*":
        return Response(status_code=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    body = item.gzipped if use_gzip else item.body
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=item.media_type)
    return Response(body, headers=headers, media_type=item.media_type)


@router.api_route("/consent/banner.js", methods=["GET", "HEAD"], include_in_schema=False)
def banner_js(request: Request) -> Response:
    return _serve(request, "banner.js")


@router.api_route("/consent/banner.css", methods=["GET", "HEAD"], include_in_schema=False)
def banner_css(request: Request) -> Response:
    return _serve(request, "banner.css")


DEMO_TEXTS = {
    "nb": {
        "title": "Demo av samtykkebanneret",
        "intro": (
            "Denne siden viser hvordan Datavern-banneret holder tilbake skript til besøkende "
            "har sagt ja. Statistikkskriptet og markedsføringsskriptet under står som "
            "«text/plain» og kjører først når du samtykker."
        ),
        "analytics": "Statistikkskriptet har kjørt:",
        "marketing": "Markedsføringsskriptet har kjørt:",
        "no": "nei",
        "open": "Innstillinger for informasjonskapsler",
        "other": "English",
        "other_lang": "en",
    },
    "en": {
        "title": "Cookie banner demo",
        "intro": (
            "This page shows how the Datavern banner holds scripts back until the visitor "
            "says yes. The analytics and marketing scripts below are marked “text/plain” and "
            "run only once you consent."
        ),
        "analytics": "The analytics script has run:",
        "marketing": "The marketing script has run:",
        "no": "no",
        "open": "Cookie settings",
        "other": "Norsk",
        "other_lang": "nb",
    },
}

# The blocked scripts write a status line and a cookie of their category, as an analytics or
# advertising tag would. Their cookies and the marketing script's service are those of the
# demo company's register (examples/demo: `_pk_id` for `statistikk`, `fv_kampanje` for
# `kampanjemaling`), so `datavern demo` shows withdrawal deleting them.
DEMO_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title}</title>
<link rel="stylesheet" href="{root}/static/datavern.css">
<link rel="stylesheet" href="{css}">
<script src="{js}" defer></script>
</head>
<body class="public">
<main id="main" class="container">
<h1>{title}</h1>
<p>{intro}</p>
<ul>
<li>{analytics} <output id="demo-analytics">{no}</output></li>
<li>{marketing} <output id="demo-marketing">{no}</output></li>
</ul>
<p><a href="#" data-datavern-consent-open>{open}</a> ·
<a href="{root}/consent/demo?lang={other_lang}" hreflang="{other_lang}">{other}</a></p>
</main>
<script type="text/plain" data-category="analytics" nonce="{nonce}">
window.demoRan = window.demoRan || [];
window.demoRan.push("analytics");
document.cookie = "_pk_id=visit; path=/; max-age=3600";
document.getElementById("demo-analytics").textContent = "✓";
</script>
<script type="text/plain" data-category="marketing" data-service="kampanjemaling" nonce="{nonce}">
window.demoRan = window.demoRan || [];
window.demoRan.push("marketing");
document.cookie = "fv_kampanje=demo; path=/; max-age=3600";
document.getElementById("demo-marketing").textContent = "✓";
</script>
</body>
</html>
"""


@router.get("/consent/demo", response_class=HTMLResponse, include_in_schema=False)
def demo(request: Request, lang: str = "nb") -> HTMLResponse:
    texts = DEMO_TEXTS["en" if lang == "en" else "nb"]
    nonce = secrets.token_urlsafe(16)
    root = request.scope.get("root_path", "")
    page = DEMO_PAGE.format(
        lang="en" if lang == "en" else "nb",
        nonce=nonce,
        root=root,
        css=root + asset_url("banner.css"),
        js=root + asset_url("banner.js"),
        **{k: html.escape(v) for k, v in texts.items()},
    )
    # The blocked scripts are inline: the page allows them through its nonce, which the banner
    # copies onto the script it activates (a strict CSP keeps working with the banner).
    csp = BANNER_PAGE_CSP.replace("script-src 'self'", f"script-src 'self' 'nonce-{nonce}'")
    return HTMLResponse(page, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})
