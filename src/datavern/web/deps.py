"""What every route needs: settings, the database, who is logged in, permissions, CSRF,
the page language, and rendering a template in that language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from datavern.accounts import rules, service
from datavern.accounts.rules import Permission
from datavern.core.config import Settings
from datavern.core.db import session_scope
from datavern.core.i18n import DEFAULT_LANG, LANGUAGES, Lang
from datavern.web import security
from datavern.web.messages import translate
from datavern.web.views import country_name

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)


def feature_templates(folder: Path) -> Jinja2Templates:
    """A feature's templates over the shared ones (base.html, the macros): its own folder
    is searched first. They ship inside the package, so they are compiled once and never
    checked for changes per request."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(folder)), _env.loader])  # type: ignore[list-item]
    return Jinja2Templates(env=_env.overlay(loader=loader, auto_reload=False))


class LoginRequired(Exception):
    """No live session: pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):
    """Logged in, but the role lacks the permission."""


class CsrfFailed(Exception):
    """A POST without the right CSRF token."""


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@contextmanager
def db(request: Request) -> Iterator[Session]:
    """A unit of work on the app's database (commits on success)."""
    with session_scope(request.app.state.database_url) as session:
        yield session


@dataclass(frozen=True)
class Principal:
    """The logged-in user of this request, detached from the database session."""

    user_id: int
    username: str
    role: str
    csrf_token: str

    def can(self, permission: Permission) -> bool:
        return rules.has_permission(self.role, permission)


def get_principal(request: Request) -> Principal | None:
    token = request.cookies.get(security.SESSION_COOKIE)
    if not token:
        return None
    with db(request) as session:
        found = service.get_session(session, token)
        if found is None:
            return None
        record, user = found
        return Principal(user.id, user.username, user.role, record.csrf_token)


def require(permission: Permission) -> Callable[..., Principal]:
    """Dependency: the principal, if logged in and allowed; else LoginRequired / Forbidden."""

    def dependency(principal: Principal | None = Depends(get_principal)) -> Principal:
        if principal is None:
            raise LoginRequired()
        if not principal.can(permission):
            raise Forbidden()
        return principal

    return dependency


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def csrf_protect(
    request: Request, principal: Principal | None = Depends(get_principal)
) -> None:
    """Router dependency: every unsafe request must carry the session's CSRF token,
    as the form field ``csrf_token`` or the ``X-CSRF-Token`` header."""
    if request.method in SAFE_METHODS:
        return
    if principal is None:
        raise LoginRequired()
    given = request.headers.get("x-csrf-token")
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(security.CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not security.session_csrf_valid(principal.csrf_token, given):
        raise CsrfFailed()


def admin_lang(request: Request) -> Lang:
    """The console's language: ``?lang=``, else the remembered choice, else bokmål."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(security.LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANG


def other_lang(lang: Lang) -> Lang:
    return "en" if lang == "nb" else "nb"


def url_with_lang(request: Request, lang: Lang) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", lang))
    return f"{request.scope.get('root_path', '')}{request.url.path}?{urlencode(params)}"


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    lang: Lang,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    templates: Jinja2Templates = templates,
    strings: Callable[..., str] = translate,
) -> HTMLResponse:
    """A page with what every template uses (language, strings, root path); a feature
    passes its own ``templates`` (`feature_templates`) and ``strings`` (its catalog,
    which falls back to the console's)."""
    full = {
        "lang": lang,
        "t": partial(strings, lang),
        "root_path": request.scope.get("root_path", ""),
        "country_name": partial(country_name, lang=lang),
        **context,
    }
    response: HTMLResponse = templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=headers
    )
    return response


@dataclass(frozen=True)
class NavItem:
    key: str
    url: str
    label: str
    permission: Permission


NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", "/admin", "nav_dashboard", Permission.view_register),
    NavItem("register", "/admin/register", "nav_register", Permission.view_register),
    NavItem("map", "/admin/map", "nav_map", Permission.view_register),
    NavItem("notices", "/admin/notices", "nav_notices", Permission.view_register),
    NavItem("requests", "/admin/requests", "nav_requests", Permission.view_requests),
    NavItem("consent", "/admin/consent", "nav_consent", Permission.view_consent),
    NavItem("outbox", "/admin/outbox", "nav_outbox", Permission.view_consent),
    NavItem("breaches", "/admin/breaches", "nav_breaches", Permission.manage_breaches),
    NavItem("retention", "/admin/retention", "nav_retention", Permission.manage_retention),
    NavItem("audit", "/admin/audit", "nav_audit", Permission.view_audit),
    NavItem("users", "/admin/users", "nav_users", Permission.manage_users),
)


def render_admin(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    principal: Principal | None,
    active: str,
    title_key: str,
    status_code: int = 200,
    templates: Jinja2Templates = templates,
    strings: Callable[..., str] = translate,
) -> HTMLResponse:
    """An admin-console page with its menu, language switch and the session's CSRF token."""
    lang = admin_lang(request)
    other = other_lang(lang)
    base = {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "nav": [item for item in NAV if principal and principal.can(item.permission)],
        "active_nav": active,
        "page_title_key": title_key,
        "other_lang": other,
        "other_lang_name": strings(lang, "other_language_name"),
        "lang_switch_url": url_with_lang(request, other),
    }
    return render(
        request,
        name,
        {**base, **context},
        lang=lang,
        status_code=status_code,
        templates=templates,
        strings=strings,
    )
