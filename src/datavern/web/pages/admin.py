"""The admin console under /admin: login, the register, the processing map, notice
versions, the audit log and users.

Every page needs a session and a permission (accounts/rules.py); every POST on
``router`` is checked for the session's CSRF token by the router dependency
``csrf_protect``. The login form, which has no session yet, is on
``login_router`` and checks its own double-submit CSRF pair.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from datavern.accounts import rules, service
from datavern.accounts.models import User
from datavern.accounts.rules import Permission
from datavern.core import audit, clock
from datavern.core.clock import OSLO
from datavern.core.errors import InvalidInput
from datavern.core.i18n import Lang, long_date
from datavern.register.models import RegisterVersion
from datavern.register.schema import Email
from datavern.web import published, security
from datavern.web.deps import (
    CsrfFailed,
    Principal,
    admin_lang,
    app_settings,
    csrf_protect,
    db,
    get_principal,
    render_admin,
    require,
)
from datavern.web.views import build_register_view, dataset_views, localized

login_router = APIRouter(prefix="/admin", include_in_schema=False)
router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(csrf_protect)])

LOGIN_NOTICES = frozenset({"logged_out", "login_required"})
USER_FLASHES = frozenset({"user_added", "role_changed", "user_disabled", "user_enabled"})


def _safe_next(value: str | None) -> str:
    """Only a path inside the console: never another site (open redirect)."""
    if (
        value
        and value.startswith("/admin")
        and not value.startswith("/admin/login")
        and "//" not in value
        and "\\" not in value
        and all(32 < ord(ch) < 127 for ch in value)
    ):
        return value
    return "/admin"


def _url(request: Request, path: str) -> str:
    return f"{request.scope.get('root_path', '')}{path}"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- login and logout ------------------------------------------------------------------


def _login_page(
    request: Request,
    *,
    cookie_value: str,
    status_code: int = 200,
    error_key: str | None = None,
    notice_key: str | None = None,
    username: str = "",
    next_url: str = "/admin",
) -> HTMLResponse:
    settings = app_settings(request)
    response = render_admin(
        request,
        "admin/login.html",
        {
            "login_csrf": security.login_csrf_token(request.app.state.secret_key, cookie_value),
            "error_key": error_key,
            "notice_key": notice_key,
            "username": username,
            "next_url": next_url,
        },
        principal=None,
        active="",
        title_key="login_heading",
        status_code=status_code,
    )
    security.set_login_csrf_cookie(response, cookie_value, settings)
    return response


def _login_cookie(request: Request) -> str:
    value = request.cookies.get(security.LOGIN_CSRF_COOKIE)
    if value and 20 <= len(value) <= 200:
        return value
    return security.new_login_csrf_cookie()


@login_router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    next: str | None = None,
    notice: str | None = None,
    principal: Principal | None = Depends(get_principal),
) -> Response:
    if principal is not None:
        return RedirectResponse(_url(request, _safe_next(next)), status_code=303)
    return _login_page(
        request,
        cookie_value=_login_cookie(request),
        notice_key=notice if notice in LOGIN_NOTICES else None,
        next_url=_safe_next(next),
    )


@login_router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/admin"),
) -> Response:
    settings = app_settings(request)
    cookie_value = request.cookies.get(security.LOGIN_CSRF_COOKIE)
    if not security.login_csrf_valid(request.app.state.secret_key, cookie_value, csrf_token):
        raise CsrfFailed()
    assert cookie_value is not None
    throttle: security.LoginThrottle = request.app.state.login_throttle
    client = _client(request)
    next_url = _safe_next(next)
    shown_name = username.strip()[:150]
    if throttle.blocked(client):
        return _login_page(
            request,
            cookie_value=cookie_value,
            status_code=429,
            error_key="login_throttled",
            username=shown_name,
            next_url=next_url,
        )
    token: str | None = None
    with db(request) as session:
        user = service.authenticate(session, username, password)
        if user is not None:
            token = service.create_session(session, user).token
    if token is None:
        throttle.failure(client)
        return _login_page(
            request,
            cookie_value=cookie_value,
            status_code=401,
            error_key="login_failed",
            username=shown_name,
            next_url=next_url,
        )
    response = RedirectResponse(_url(request, next_url), status_code=303)
    security.set_session_cookie(response, token, settings)
    security.clear_login_csrf_cookie(response, settings)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    with db(request) as session:
        service.revoke_session(session, request.cookies.get(security.SESSION_COOKIE))
    response = RedirectResponse(_url(request, "/admin/login?notice=logged_out"), status_code=303)
    security.clear_session_cookie(response, app_settings(request))
    return response


# --- register pages ------------------------------------------------------------------------


def _date(version: RegisterVersion, lang: Lang) -> str:
    return long_date(version.applied_at.astimezone(OSLO), lang)


def _version_context(request: Request, number: int | None) -> dict[str, Any] | None:
    """The selected version (default: the newest) and the list for the selector; None when
    no register is applied. A number that does not exist is a 404."""
    lang = admin_lang(request)
    with db(request) as session:
        versions = published.list_versions(session)
        if not versions:
            return None
        selected = (
            versions[0]
            if number is None
            else next((v for v in versions if v.number == number), None)
        )
        if selected is None:
            raise HTTPException(404)
        register = published.register_of(selected)
    return {
        "versions": [{"number": v.number, "date": _date(v, lang)} for v in versions],
        "selected": {
            "number": selected.number,
            "date": _date(selected, lang),
            "applied_by": selected.applied_by,
        },
        "view": build_register_view(register, lang, clock.now().astimezone(OSLO).date()),
    }


def _no_register(request: Request, principal: Principal, active: str, title: str) -> Response:
    return render_admin(
        request, "admin/no_register.html", {}, principal=principal, active=active, title_key=title
    )


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request, principal: Principal = Depends(require(Permission.view_register))
) -> Response:
    context = _version_context(request, None)
    data: dict[str, Any] = {"current": None}
    if context:
        view = context["view"]
        data = {
            "current": context["selected"],
            "view": view,
            "activity_count": sum(len(s.activities) for s in view.systems),
        }
    return render_admin(
        request,
        "admin/dashboard.html",
        data,
        principal=principal,
        active="dashboard",
        title_key="nav_dashboard",
    )


@router.get("/register", response_class=HTMLResponse)
def register_page(
    request: Request,
    version: int | None = None,
    principal: Principal = Depends(require(Permission.view_register)),
) -> Response:
    context = _version_context(request, version)
    if context is None:
        return _no_register(request, principal, "register", "nav_register")
    lang = admin_lang(request)
    register = context["view"].register
    languages = list(register.organisation.languages)
    consents = [
        {
            "key": c.key,
            "name": localized(c.name, lang, languages),
            "text": localized(c.text, lang, languages),
            "withdraw": localized(c.withdraw, lang, languages),
            "double_opt_in": c.double_opt_in,
        }
        for c in register.consent_purposes
    ]
    cookies = [
        {
            "name": c.name,
            "provider": c.provider,
            "category": c.category.value,
            "duration": c.duration,
            "purpose": localized(c.purpose, lang, languages),
            "third_party": c.third_party,
        }
        for c in register.cookies
    ]
    return render_admin(
        request,
        "admin/register.html",
        {
            **context,
            "consents": consents,
            "cookies": cookies,
            "datasets": dataset_views(register),
        },
        principal=principal,
        active="register",
        title_key="nav_register",
    )


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    version: int | None = None,
    principal: Principal = Depends(require(Permission.view_register)),
) -> Response:
    context = _version_context(request, version)
    if context is None:
        return _no_register(request, principal, "map", "nav_map")
    return render_admin(
        request, "admin/map.html", context, principal=principal, active="map", title_key="nav_map"
    )


# --- notice versions -----------------------------------------------------------------------


@router.get("/notices", response_class=HTMLResponse)
def notices_page(
    request: Request, principal: Principal = Depends(require(Permission.view_register))
) -> Response:
    lang = admin_lang(request)
    rows = []
    with db(request) as session:
        for v in published.list_versions(session):
            changes = published.changes_of(v)
            material = sum(1 for c in changes if c.material)
            rows.append(
                {
                    "number": v.number,
                    "date": _date(v, lang),
                    "applied_by": v.applied_by,
                    "content_hash": v.content_hash,
                    "message": v.message,
                    "languages": published.languages_of(v),
                    "material": material,
                    "editorial": len(changes) - material,
                }
            )
    return render_admin(
        request,
        "admin/notices.html",
        {"rows": rows},
        principal=principal,
        active="notices",
        title_key="nav_notices",
    )


def _value_text(value: Any) -> str:
    """A short, readable form of a changed value (a Localized text, a list, an object)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if value and all(k in ("_", "nb", "en") for k in value):
            return " / ".join(str(v) for v in value.values())
        for key in ("name", "key", "fides_key", "basis", "period", "rule"):
            if key in value:
                return str(value[key])
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, [], {}))
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    return str(value)


@router.get("/notices/{number}/diff", response_class=HTMLResponse)
def notice_diff(
    number: int,
    request: Request,
    principal: Principal = Depends(require(Permission.view_register)),
) -> Response:
    with db(request) as session:
        version = published.get_version(session, number)
        if version is None:
            raise HTTPException(404)
        changes = published.changes_of(version)
    rows = [
        {
            "kind": c.kind,
            "path": c.path,
            "before": c.before,
            "after": c.after,
            "before_text": _value_text(c.before),
            "after_text": _value_text(c.after),
            "material": c.material,
            "reason": c.reason,
        }
        for c in sorted(changes, key=lambda c: not c.material)
    ]
    material = sum(1 for c in changes if c.material)
    return render_admin(
        request,
        "admin/notice_diff.html",
        {
            "number": number,
            "changes": rows,
            "material": material,
            "editorial": len(changes) - material,
        },
        principal=principal,
        active="notices",
        title_key="nav_notices",
    )


@router.get("/notices/{number}/{notice_lang}", response_class=HTMLResponse)
def notice_version(
    number: int,
    notice_lang: Literal["nb", "en"],
    request: Request,
    principal: Principal = Depends(require(Permission.view_register)),
) -> Response:
    with db(request) as session:
        version = published.get_version(session, number)
        if version is None:
            raise HTTPException(404)
        notice = published.notice_of(version, notice_lang)
    if notice is None:
        raise HTTPException(404)
    return render_admin(
        request,
        "admin/notice_view.html",
        {"number": number, "notice_lang": notice_lang, "notice_html": notice.html},
        principal=principal,
        active="notices",
        title_key="nav_notices",
    )


# --- audit log ------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 100


def _audit_page(
    request: Request,
    principal: Principal,
    result: audit.VerifyResult | None,
    ledger: Any = None,
    ledger_message: str = "",
) -> Response:
    with db(request) as session:
        entries = (
            session.execute(
                select(audit.AuditEntry)
                .order_by(audit.AuditEntry.seq.desc())
                .limit(AUDIT_PAGE_SIZE)
            )
            .scalars()
            .all()
        )
        rows = [
            {
                "seq": e.seq,
                "at": e.at,
                "at_local": e.at.astimezone(OSLO).strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
            }
            for e in entries
        ]
    return render_admin(
        request,
        "admin/audit.html",
        {"entries": rows, "result": result, "ledger": ledger, "ledger_message": ledger_message},
        principal=principal,
        active="audit",
        title_key="nav_audit",
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, principal: Principal = Depends(require(Permission.view_audit))
) -> Response:
    return _audit_page(request, principal, None)


@router.post("/audit/verify", response_class=HTMLResponse)
def audit_verify(
    request: Request, principal: Principal = Depends(require(Permission.view_audit))
) -> Response:
    """The audit log's chain and the consent ledger's (like `datavern audit verify`)."""
    from datavern.consent.messages import translate as consent_text
    from datavern.consent.service import verify_ledger

    with db(request) as session:
        result = audit.verify(session)
        ledger = verify_ledger(session)
    lang = admin_lang(request)
    if ledger.ok:
        ledger_message = consent_text(lang, "ledger_ok", n=ledger.records)
    else:
        named = f" (id {ledger.first_bad_id})" if ledger.first_bad_id else ""
        ledger_message = consent_text(
            lang, "ledger_tampered", seq=ledger.first_bad_seq, named=named, n=ledger.records
        )
    return _audit_page(request, principal, result, ledger, ledger_message)


# --- users ----------------------------------------------------------------------------------


def _users_page(
    request: Request,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    flash_key: str | None = None,
    flash_user: str = "",
    row_error: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = admin_lang(request)
    with db(request) as session:
        users = [
            {
                "id": u.id,
                "username": u.username,
                "role": u.role,
                "active": u.active,
                "created": long_date(u.created_at.astimezone(OSLO), lang),
            }
            for u in service.list_users(session)
        ]
    return render_admin(
        request,
        "admin/users.html",
        {
            "users": users,
            "roles": rules.ROLES,
            "form": form or {"username": "", "role": rules.Role.viewer.value, "email": ""},
            "errors": errors or {},
            "flash_key": flash_key,
            "flash_user": flash_user,
            "row_error": row_error,
        },
        principal=principal,
        active="users",
        title_key="nav_users",
        status_code=status_code,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    done: str | None = None,
    user: int | None = None,
    principal: Principal = Depends(require(Permission.manage_users)),
) -> Response:
    flash_key = done if done in USER_FLASHES else None
    flash_user = ""
    if flash_key and user is not None:
        with db(request) as session:
            found = session.get(User, user)
            flash_user = found.username if found else ""
    return _users_page(request, principal, flash_key=flash_key, flash_user=flash_user)


def _validate_new_user(
    request: Request, username: str, role: str, email: str, password: str
) -> dict[str, list[str]]:
    """Field errors in the console's language (the service checks the same rules again)."""
    from datavern.web.messages import translate

    lang = admin_lang(request)
    errors: dict[str, list[str]] = {}
    name = rules.normalize_username(username)
    if rules.username_problem(name):
        errors["username"] = [translate(lang, "error_username_invalid")]
    else:
        with db(request) as session:
            if service.get_user(session, name) is not None:
                errors["username"] = [translate(lang, "error_username_taken")]
    if role not in rules.ROLES:
        errors["role"] = [translate(lang, "error_role_invalid")]
    if email:
        from pydantic import TypeAdapter, ValidationError

        try:
            TypeAdapter(Email).validate_python(email)
        except ValidationError:
            errors["email"] = [translate(lang, "error_email_invalid")]
    problems = rules.password_problems(password, name)
    if problems:
        errors["password"] = [translate(lang, f"pw_{p.value}") for p in problems]
    return errors


@router.post("/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    username: str = Form(""),
    role: str = Form(""),
    email: str = Form(""),
    password: str = Form(""),
    principal: Principal = Depends(require(Permission.manage_users)),
) -> Response:
    email = email.strip()
    errors = _validate_new_user(request, username, role, email, password)
    form = {"username": username.strip(), "role": role, "email": email}
    if not errors:
        try:
            with db(request) as session:
                user = service.create_user(
                    session,
                    username,
                    password,
                    role,
                    actor=f"user:{principal.user_id}",
                    email=email or None,
                )
                user_id = user.id
        except InvalidInput as exc:
            errors = {p.path or "username": [p.message] for p in exc.problems}
    if errors:
        return _users_page(request, principal, form=form, errors=errors, status_code=400)
    return RedirectResponse(
        _url(request, f"/admin/users?done=user_added&user={user_id}"), status_code=303
    )


def _change_user(
    request: Request,
    principal: Principal,
    user_id: int,
    change: str,
    role: str = "",
) -> Response:
    from datavern.web.messages import translate

    lang = admin_lang(request)
    actor = f"user:{principal.user_id}"
    try:
        with db(request) as session:
            user = session.get(User, user_id)
            if user is None:
                raise HTTPException(404)
            if change == "role":
                if role not in rules.ROLES:
                    raise InvalidInput("role")
                service.set_role(session, user.username, role, actor=actor)
                flash = "role_changed"
            else:
                service.set_active(session, user.username, change == "enable", actor=actor)
                flash = "user_enabled" if change == "enable" else "user_disabled"
    except InvalidInput as exc:
        key = (
            "error_last_admin" if isinstance(exc, service.LastAdminError) else "error_role_invalid"
        )
        return _users_page(request, principal, row_error=translate(lang, key), status_code=400)
    return RedirectResponse(
        _url(request, f"/admin/users?done={flash}&user={user_id}"), status_code=303
    )


@router.post("/users/{user_id}/role", response_class=HTMLResponse)
def change_role(
    user_id: int,
    request: Request,
    role: str = Form(""),
    principal: Principal = Depends(require(Permission.manage_users)),
) -> Response:
    return _change_user(request, principal, user_id, "role", role)


@router.post("/users/{user_id}/disable", response_class=HTMLResponse)
def disable_user(
    user_id: int,
    request: Request,
    principal: Principal = Depends(require(Permission.manage_users)),
) -> Response:
    return _change_user(request, principal, user_id, "disable")


@router.post("/users/{user_id}/enable", response_class=HTMLResponse)
def enable_user(
    user_id: int,
    request: Request,
    principal: Principal = Depends(require(Permission.manage_users)),
) -> Response:
    return _change_user(request, principal, user_id, "enable")
