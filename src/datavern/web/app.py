"""The web application: privacy notice, admin console, REST API (DESIGN: Interfaces).

``create_app(settings)`` builds one FastAPI app bound to one database; nothing is
read from module state at request time, so tests and servers can run several
apps side by side.

Logging: one line per request with method, route path, status and duration; no
client address, no query string, no user name (DESIGN: no personal data in
application logs). Uvicorn's own access log, which has the client address, is
switched off by `datavern serve`.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datavern import __version__
from datavern.breaches import pages as breach_pages
from datavern.consent import api as consent_api
from datavern.consent import appender as consent_appender
from datavern.consent import assets as consent_assets
from datavern.consent import mine as consent_mine
from datavern.consent import pages as consent_pages
from datavern.core.config import Settings, get_settings
from datavern.dsr import api as dsr_api
from datavern.dsr import pages as dsr_pages
from datavern.retention import pages as retention_pages
from datavern.web import api, security
from datavern.web.deps import CsrfFailed, Forbidden, LoginRequired, admin_lang, render
from datavern.web.messages import translate
from datavern.web.pages import admin, health, public

log = logging.getLogger("datavern.web")
STATIC_DIR = Path(__file__).resolve().parent / "static"

DOCS_PATHS = ("/docs", "/openapi.json")

DESCRIPTION = """Datavern keeps the promises a privacy notice makes.

Systems authenticate with an API token (`datavern token create NAME --scope ...`)
sent as `Authorization: Bearer <token>`; each endpoint names the scope it needs.
People may instead use the admin console's session (log in at `/admin/login`) with
the CSRF header on writes. See docs/api.md.
"""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, title_key: str, text_key: str) -> Response:
    lang = admin_lang(request)
    return render(
        request,
        "error.html",
        {
            "heading": translate(lang, title_key),
            "message": translate(lang, text_key),
            "back_url": f"{request.scope.get('root_path', '')}/admin",
        },
        lang=lang,
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def login_required(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "login required"}, status_code=401)
        target = request.url.path
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        root = request.scope.get("root_path", "")
        return RedirectResponse(
            f"{root}/admin/login?notice=login_required&next={quote(target, safe='/')}",
            status_code=303,
        )

    async def forbidden(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "your role does not allow this"}, status_code=403)
        return _error_page(request, 403, "error_forbidden_title", "error_forbidden_text")

    async def csrf_failed(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "CSRF token missing or wrong"}, status_code=403)
        return _error_page(request, 403, "error_csrf_title", "error_csrf_text")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if exc.status_code == 404 and not _is_api(request) and not path.startswith("/static"):
            return _error_page(request, 404, "error_not_found_title", "error_not_found_text")
        return await http_exception_handler(request, exc)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _is_api(request) or request.url.path.startswith(DOCS_PATHS):
            return JSONResponse({"detail": validation_problems(exc)}, status_code=422)
        # A page address with a malformed part (/admin/notices/x/nb, ?version=abc) names
        # nothing that exists: the not-found page, not a JSON error in the browser.
        return _error_page(request, 404, "error_not_found_title", "error_not_found_text")

    async def server_error(request: Request, exc: Exception) -> Response:
        # Only the kind of error and where: messages of database errors can hold values.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "unhandled %s on %s %s\n%s", type(exc).__name__, request.method, _route(request), frames
        )
        if _is_api(request):
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return _error_page(request, 500, "error_server_title", "error_server_text")

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfFailed, csrf_failed)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, server_error)


def validation_problems(exc: RequestValidationError) -> list[dict[str, object]]:
    """Where and what, never the value: FastAPI's default answer repeats the input
    (e-mail addresses, fødselsnummer) back in `input` and `ctx`."""
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]


def _route(request: Request | Scope) -> str:
    scope = request.scope if isinstance(request, Request) else request
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "(no route)"


class RequestLog:
    """One log line per request without personal data (route template, not the URL)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            log.info(
                "%s %s %s %.0fms",
                scope.get("method"),
                _route(scope),
                status["code"],
                (time.perf_counter() - start) * 1000,
            )


def local_swagger() -> Path | None:
    """Swagger UI's files from the ``swagger-ui-bundle`` package, when it is installed:
    /docs then loads nothing from a CDN. Without it, FastAPI's page (from jsDelivr)."""
    try:
        from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    if (path / "swagger-ui-bundle.js").is_file() and (path / "swagger-ui.css").is_file():
        return path
    return None


def _serve_docs_locally(app: FastAPI, assets: Path) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html

    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="Datavern – API",
            swagger_js_url=f"{root}/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs-assets/swagger-ui.css",
            swagger_favicon_url="data:,",
        )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Shutting down: the consent appender answers what it holds, then lets go of its
    # connection (consent/appender.py).
    await run_in_threadpool(consent_appender.close, app.state.database_url)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole web app bound to ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    swagger = local_swagger()
    app = FastAPI(
        lifespan=_lifespan,
        title="Datavern",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None if swagger else "/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    if swagger:
        _serve_docs_locally(app, swagger)
    app.state.settings = settings
    app.state.database_url = settings.effective_database_url
    app.state.secret_key = settings.effective_secret_key()
    app.state.login_throttle = security.LoginThrottle()

    # The consent reads systems call on every use of a subject's data come first: routes
    # are matched in order, and matching thirty routes costs more than the read itself.
    app.include_router(consent_api.router)
    app.include_router(consent_mine.router)
    app.include_router(health.router)
    app.include_router(public.router)
    app.include_router(admin.login_router)
    app.include_router(admin.router)
    app.include_router(api.router)
    app.include_router(consent_assets.router)
    app.include_router(consent_pages.public_router)
    app.include_router(consent_pages.admin_router)
    app.include_router(breach_pages.router)
    app.include_router(dsr_pages.public_router)
    app.include_router(dsr_pages.admin_router)
    app.include_router(dsr_api.router)
    app.include_router(retention_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_handlers(app)
    app.add_middleware(consent_api.FastReads)  # innermost: headers and log apply to it
    app.add_middleware(security.SecurityHeaders, settings=settings, local_docs=bool(swagger))
    app.add_middleware(RequestLog)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/personvern", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # Browsers ask for it on every site; the pages also link the same icon.
        return FileResponse(
            STATIC_DIR / "favicon.svg",
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return app
