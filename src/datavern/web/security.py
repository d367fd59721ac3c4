"""Cookies, CSRF tokens, the login throttle and security headers of the web app.

CSRF has two forms:
- after login, every form carries the session's own token (WebSession.csrf_token),
  compared with the posted ``csrf_token`` on every POST;
- the login form has no session yet, so it uses a double-submit pair: a random
  pre-session cookie and, in the form, an HMAC of that cookie under the app's
  secret key. An attacker who can plant a cookie still cannot compute the form
  token without the key.

Forms that only read (the version selector, method GET) carry no token: they
change nothing, and a token in a GET form would end up in URLs and logs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datavern.accounts import rules
from datavern.core import clock
from datavern.core.config import Settings
from datavern.core.i18n import LANGUAGES

SESSION_COOKIE = "datavern_session"
LOGIN_CSRF_COOKIE = "datavern_login_csrf"
LANG_COOKIE = "datavern_lang"
CSRF_FIELD = "csrf_token"
LOGIN_CSRF_LIFETIME = timedelta(hours=1)


def cookie_options(settings: Settings) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": settings.https_only}


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(rules.SESSION_LIFETIME.total_seconds()),
        path="/",
        **cookie_options(settings),
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", **cookie_options(settings))


def new_login_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)


def login_csrf_token(secret_key: str, cookie_value: str) -> str:
    """The form half of the login double-submit pair."""
    return hmac.new(
        secret_key.encode(), f"login-csrf:{cookie_value}".encode(), hashlib.sha256
    ).hexdigest()


def login_csrf_valid(secret_key: str, cookie_value: str | None, form_value: str | None) -> bool:
    if not cookie_value or not form_value or len(cookie_value) > 200:
        return False
    return hmac.compare_digest(login_csrf_token(secret_key, cookie_value), form_value)


def set_login_csrf_cookie(response: Response, value: str, settings: Settings) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=int(LOGIN_CSRF_LIFETIME.total_seconds()),
        path="/admin",
        **cookie_options(settings),
    )


def clear_login_csrf_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin", **cookie_options(settings))


def session_csrf_valid(expected: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class LoginThrottle:
    """Failed logins per client address in a sliding window, in memory.

    In memory is enough for one process; several workers each keep their own
    count, which only loosens the limit by that factor. The number of tracked
    addresses is capped so that a flood of addresses cannot exhaust memory.
    """

    def __init__(
        self,
        max_failures: int = rules.LOGIN_MAX_FAILURES,
        window: timedelta = rules.LOGIN_WINDOW,
        max_clients: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, clock.now())) >= self.max_failures

    def failure(self, client: str) -> None:
        now = clock.now()
        with self._lock:
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()


# Every page is self-contained: own CSS, no scripts, no external assets.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Without the swagger-ui-bundle package, FastAPI's Swagger UI (/docs) loads its script and
# CSS from a CDN; the API reference is the only page that needs them, so only it gets a
# looser policy.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# With Swagger UI's files served by Datavern itself (the swagger-ui-bundle package):
# nothing from elsewhere. Its page starts the UI with an inline script.
DOCS_CSP_LOCAL = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response, and the admin
    language choice (``?lang=en``) remembered in a cookie."""

    def __init__(self, app: ASGIApp, settings: Settings, local_docs: bool = False) -> None:
        self.app = app
        self.settings = settings
        self.docs_csp = DOCS_CSP_LOCAL if local_docs else DOCS_CSP

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        lang_choice: str | None = None
        if path.startswith("/admin"):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            chosen = query.get("lang", [None])[0]
            if chosen in LANGUAGES:
                lang_choice = chosen
        csp = self.docs_csp if path.startswith(DOCS_PATHS) else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if self.settings.https_only:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                if path.startswith("/admin") or path.startswith("/api"):
                    # Pages behind a login must not be kept by shared caches or the back button.
                    extra.append((b"cache-control", b"no-store"))
                headers.extend((k, v) for k, v in extra if k not in names)
                if lang_choice:
                    cookie = (
                        f"{LANG_COOKIE}={lang_choice}; Path=/admin; Max-Age=31536000; SameSite=Lax"
                    )
                    if self.settings.https_only:
                        cookie += "; Secure"
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
