"""The privacy centre (public, bokmål and English) and the request pages of the admin console.

Public, under the notice's own addresses (``/personvern`` in bokmål, ``/privacy``
in English), so a person who reads the notice finds their rights next to it:

* ``/personvern/rettigheter``, ``/privacy/rights``: the rights, and the form;
* ``/personvern/foresporsel/{id}/bekreft``, ``/privacy/requests/{id}/verify``:
  enter the code, or log in;
* ``/personvern/foresporsel/{id}``, ``/privacy/requests/{id}``: the status;
* ``.../{id}/last-ned``, ``.../{id}/download``: the package (signed link);
* ``/personvern/mine-foresporsler``, ``/privacy/my-requests``: every request of
  the verified address.

Every form works without JavaScript and carries a CSRF token: public forms a
double-submit pair (a random cookie and its HMAC under the secret key, like
the login form), admin forms the session's token. A status page and a
download need a subject session that proved the case's e-mail address
(verification.py); an id or a link alone shows nothing (404, the same answer
as for an id that does not exist).

Admin, under ``/admin/requests``: the queue with filters and counts, and a
request's page with identity, verification, deadline, the engine's steps and
log, manual tasks and the actions. Seeing needs ``view_requests``; acting (and
seeing identity values) needs ``handle_requests``: a viewer cannot approve.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import partial
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from datavern.accounts.rules import Permission
from datavern.core import clock
from datavern.core.errors import DatavernError, InvalidInput, NotFound
from datavern.core.i18n import LANGUAGES, Lang, long_date
from datavern.dsr import cases, intake, links, processor, queue, verification
from datavern.dsr.case_models import CASE_KINDS, CASE_STATUSES, PrivacyCase
from datavern.dsr.messages import kind_name
from datavern.dsr.ratelimit import Limits
from datavern.web import deps
from datavern.web.deps import (
    Principal,
    admin_lang,
    csrf_protect,
    db,
    other_lang,
    require,
    url_with_lang,
)
from datavern.web.messages import translate

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = deps.feature_templates(TEMPLATES_DIR)

public_router = APIRouter(include_in_schema=False)
admin_router = APIRouter(
    prefix="/admin/requests", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)

PC_CSRF_COOKIE: Final = "datavern_pc_csrf"
OIDC_COOKIE: Final = "datavern_pc_oidc"
OIDC_LIFETIME: Final = 600
NO_STORE: Final = {"Cache-Control": "no-store"}
PATHS: Final[dict[str, dict[str, str]]] = {
    "nb": {
        "notice": "/personvern",
        "start": "/personvern/rettigheter",
        "requests": "/personvern/foresporsel",
        "mine": "/personvern/mine-foresporsler",
        "consents": "/personvern/samtykker",
        "logout": "/personvern/logg-ut",
        "verify": "bekreft",
        "new_code": "ny-kode",
        "download": "last-ned",
        "login": "innlogging",
    },
    "en": {
        "notice": "/privacy",
        "start": "/privacy/rights",
        "requests": "/privacy/requests",
        "mine": "/privacy/my-requests",
        "consents": "/privacy/consents",
        "logout": "/privacy/log-out",
        "verify": "verify",
        "new_code": "new-code",
        "download": "download",
        "login": "login",
    },
}
OIDC_CALLBACK: Final = "/personvern/oidc/callback"
FORM_FIELDS: Final = (
    "kind",
    "email",
    "phone",
    "fnr",
    "customer_id",
    "details",
    "correction_field",
    "correction_value",
    "controller",
)
MAX_FIELD: Final = 6000


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #


def _render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    lang: Lang,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return deps.render(
        request,
        name,
        {"kind_name": partial(kind_name, lang=lang), **context},
        lang=lang,
        status_code=status_code,
        headers=headers,
        templates=templates,
    )


def _url(request: Request, path: str) -> str:
    return f"{request.scope.get('root_path', '')}{path}"


def _case_path(lang: str, case_id: str, what: str | None = None) -> str:
    base = f"{PATHS[lang]['requests']}/{case_id}"
    return f"{base}/{PATHS[lang][what]}" if what else base


# --------------------------------------------------------------------------- #
# Public CSRF (double submit), rate limits, the subject session
# --------------------------------------------------------------------------- #


def _secret(request: Request) -> str:
    return str(request.app.state.secret_key)


def _csrf_for(request: Request, cookie: str) -> str:
    return hmac.new(
        _secret(request).encode(), f"pc-csrf:{cookie}".encode(), hashlib.sha256
    ).hexdigest()


def _public_csrf(request: Request) -> tuple[str, str | None]:
    """(form token, new cookie value or None when the browser has one)."""
    cookie = request.cookies.get(PC_CSRF_COOKIE)
    if cookie and 20 <= len(cookie) <= 200:
        return _csrf_for(request, cookie), None
    cookie = secrets.token_urlsafe(32)
    return _csrf_for(request, cookie), cookie


def _public_csrf_ok(request: Request, form: Any) -> bool:
    cookie = request.cookies.get(PC_CSRF_COOKIE)
    given = form.get("csrf_token")
    if not cookie or not isinstance(given, str) or len(cookie) > 200:
        return False
    return hmac.compare_digest(_csrf_for(request, cookie), given)


def _cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": request.app.state.settings.https_only}


def _with_csrf_cookie(request: Request, response: Response, cookie: str | None) -> Response:
    if cookie:
        response.set_cookie(PC_CSRF_COOKIE, cookie, path="/", **_cookie_options(request))
    return response


def limits(request: Request) -> Limits:
    found = getattr(request.app.state, "pc_limits", None)
    if found is None:
        found = Limits()
        request.app.state.pc_limits = found
    return found


def oidc_settings(request: Request) -> verification.OidcSettings:
    """The OIDC settings, read once per app (the environment does not change under it)."""
    found = getattr(request.app.state, "pc_oidc", None)
    if found is None:
        found = verification.OidcSettings()
        request.app.state.pc_oidc = found
    return found


def client_address(request: Request) -> str:
    if limits(request).settings.trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


def _subject_in(session: Any, request: Request) -> str | None:
    """The e-mail hash the request's subject session proved (no query without the cookie)."""
    token = request.cookies.get(verification.SUBJECT_COOKIE)
    return verification.session_identity(session, token) if token else None


def _subject(request: Request) -> str | None:
    if not request.cookies.get(verification.SUBJECT_COOKIE):
        return None
    with db(request) as session:
        return _subject_in(session, request)


def _set_subject(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        verification.SUBJECT_COOKIE,
        token,
        max_age=int(verification.SUBJECT_SESSION_LIFETIME.total_seconds()),
        path="/",
        **_cookie_options(request),
    )


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {"purposes": [], "csrf_token": None}
    for key in set(form.keys()):
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        if key == "purposes":
            data[key] = [v[:100] for v in values][:50]
        elif values:
            data[key] = values[-1][:MAX_FIELD]
    return data


def _message(
    request: Request, lang: Lang, title_key: str, text_key: str, status: int, **values: Any
) -> HTMLResponse:
    return _render(
        request,
        "pc/message.html",
        {
            "title_key": title_key,
            "text_key": text_key,
            "values": values,
            "paths": PATHS[lang],
            "other_url": _url(request, PATHS[other_lang(lang)]["start"]),
        },
        lang=lang,
        status_code=status,
        headers=NO_STORE,
    )


def _too_many(request: Request, lang: Lang, seconds: int) -> HTMLResponse:
    response = _message(
        request, lang, "pc_limit_title", "pc_limit_text", 429, minutes=max(1, seconds // 60)
    )
    response.headers["Retry-After"] = str(seconds)
    return response


# --------------------------------------------------------------------------- #
# Public: the rights and the form
# --------------------------------------------------------------------------- #


# What the form shows from a register version (choices, names), per content hash and
# language: versions never change, so it is worked out once, not on every page view.
_form_choices: dict[tuple[str | None, str], dict[str, Any]] = {}


def _register_choices(register: Any, lang: Lang) -> dict[str, Any]:
    from datavern.web.views import localized

    languages = list(register.organisation.languages) if register else ["nb", "en"]
    activities = {a.key: a for _s, a in register.activities()} if register else {}

    def activity_name(key: str) -> str:
        if key == intake.DIRECT_MARKETING:
            return translate(lang, "pc_direct_marketing")
        activity = activities.get(key)
        return localized(activity.purpose, lang, languages) if activity else key

    consents = []
    if register:
        consents = [(p.key, localized(p.name, lang, languages)) for p in register.consent_purposes]
    return {
        "organisation": intake.organisation_name(register),
        "objections": [(k, activity_name(k)) for k in intake.objection_choices(register)],
        "consents": consents,
        "controllers": [
            (c.key, processor.service_name(c, lang, languages), c.controller)
            for c in processor.listed_customers(register)
        ],
    }


def _form_context(request: Request, lang: Lang, session: Any) -> dict[str, Any]:
    register, digest = intake.current_register_keyed(session)
    key = (digest, lang)
    choices = _form_choices.get(key)
    if choices is None:
        choices = _register_choices(register, lang)
        if len(_form_choices) > 32:
            _form_choices.clear()
        _form_choices[key] = choices
    return {
        **choices,
        "kinds": CASE_KINDS,
        "correction_fields": list(intake.CORRECTION_FIELDS),
        "oidc": oidc_settings(request).enabled,
        "paths": PATHS[lang],
    }


def _start_page(
    request: Request,
    lang: Lang,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    token, cookie = _public_csrf(request)
    with db(request) as session:
        context = _form_context(request, lang, session)
        subject = _subject_in(session, request) is not None
    response = _render(
        request,
        "pc/start.html",
        {
            **context,
            "csrf_token": token,
            "values": {"purposes": [], "kind": "", **(values or {})},
            "errors": errors or {},
            "other_url": _url(request, PATHS[other_lang(lang)]["start"]),
            "subject": subject,
        },
        lang=lang,
        status_code=status_code,
        headers=NO_STORE,
    )
    return _with_csrf_cookie(request, response, cookie)


def _errors(exc: InvalidInput, lang: Lang) -> dict[str, list[str]]:
    """Problems by form field, in the page's language where the catalog words them."""
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        name = problem.path or ""
        key = f"pc_err_{name}"
        text = translate(lang, key) if key in _catalog(lang) else problem.message
        if name in ("phone", "fnr", "email") and problem.message:
            text = f"{text} ({problem.message})" if lang == "en" else text
        out.setdefault(name, [])
        if text not in out[name]:
            out[name].append(text)
    return out


def _catalog(lang: Lang) -> dict[str, str]:
    from datavern.web.messages import MESSAGES

    return MESSAGES[lang]


async def _submit(request: Request, lang: Lang) -> Response:
    data = await _form(request)
    if not _public_csrf_ok(request, data):
        return _message(request, lang, "pc_csrf_title", "pc_csrf_text", 403)
    address = client_address(request)
    rate = limits(request)
    wait = rate.submit_ip.retry_after(address)
    if wait:
        return _too_many(request, lang, wait)
    values = {k: str(data.get(k) or "") for k in FORM_FIELDS}
    values["purposes"] = data["purposes"]
    sub = intake.Submission(
        kind=values["kind"],
        email=values["email"],
        lang=lang,
        phone=values["phone"],
        fnr=values["fnr"],
        customer_id=values["customer_id"],
        details=values["details"],
        correction_field=values["correction_field"],
        correction_value=values["correction_value"],
        purposes=list(data["purposes"]),
        controller=values["controller"],
    )
    digest = verification.email_hash(values["email"]) if "@" in values["email"] else None
    if digest:
        wait = rate.submit_identity.retry_after(digest)
        if wait:
            return _too_many(request, lang, wait)
    try:
        with db(request) as session:
            submitted = intake.submit(session, sub, channel="web")
    except InvalidInput as exc:
        values["fnr"] = ""  # a fødselsnummer is not sent back into the page
        return _start_page(request, lang, values=values, errors=_errors(exc, lang), status_code=400)
    rate.submit_ip.hit(address)
    if digest:
        rate.submit_identity.hit(digest)
    cases.deliver(submitted.messages)
    return RedirectResponse(
        _url(request, _case_path(lang, submitted.case_id, "verify") + "?sent=1"), status_code=303
    )


# --------------------------------------------------------------------------- #
# Public: verification
# --------------------------------------------------------------------------- #


def _verify_page(
    request: Request,
    lang: Lang,
    case: PrivacyCase,
    *,
    error_key: str | None = None,
    error_values: dict[str, Any] | None = None,
    notice_key: str | None = None,
    status_code: int = 200,
) -> Response:
    token, cookie = _public_csrf(request)
    oidc = oidc_settings(request)
    response = _render(
        request,
        "pc/verify.html",
        {
            "case_id": case.id,
            "reference": intake.reference(case.id),
            "kind": case.kind,
            "locked": case.status == "locked"
            or case.code_attempts >= verification.MAX_CODE_ATTEMPTS,
            "csrf_token": token,
            "error_key": error_key,
            "error_values": error_values or {},
            "notice_key": notice_key,
            "minutes": int(verification.CODE_LIFETIME.total_seconds() // 60),
            "action": _url(request, _case_path(lang, case.id, "verify")),
            "new_code_action": _url(request, _case_path(lang, case.id, "new_code")),
            "login_url": _url(request, _case_path(lang, case.id, "login")) if oidc.enabled else "",
            "login_name": oidc.display_name,
            "paths": PATHS[lang],
            "other_url": _url(request, _case_path(other_lang(lang), case.id, "verify")),
        },
        lang=lang,
        status_code=status_code,
        headers=NO_STORE,
    )
    return _with_csrf_cookie(request, response, cookie)


def _not_found(request: Request, lang: Lang) -> HTMLResponse:
    return _message(request, lang, "pc_not_found_title", "pc_not_found_text", 404)


def _verify_get(request: Request, lang: Lang, case_id: str, sent: str) -> Response:
    with db(request) as session:
        case = intake.find_case(session, case_id)
        if case is None:
            return _not_found(request, lang)
        session.expunge(case)
    notice = "pc_code_sent" if sent == "1" else ("pc_confirm_to_see" if sent == "again" else None)
    return _verify_page(request, lang, case, notice_key=notice)


async def _verify_post(request: Request, lang: Lang, case_id: str) -> Response:
    data = await _form(request)
    if not _public_csrf_ok(request, data):
        return _message(request, lang, "pc_csrf_title", "pc_csrf_text", 403)
    rate = limits(request)
    address = client_address(request)
    wait = rate.verify_ip.retry_after(address)
    if wait:
        return _too_many(request, lang, wait)
    rate.verify_ip.hit(address)
    with db(request) as session:
        case = intake.find_case(session, case_id)
        if case is None:
            return _not_found(request, lang)
        result = intake.check_code(
            session, case, str(data.get("code") or ""), actor="privacy-centre"
        )
        session.flush()
        session.expunge(case)
    if result.outcome == "ok":
        cases.deliver(result.messages)
        response = RedirectResponse(_url(request, _case_path(lang, case_id)), status_code=303)
        assert result.session_token
        _set_subject(request, response, result.session_token)
        return response
    error = {
        "wrong": "pc_code_wrong",
        "expired": "pc_code_expired",
        "locked": "pc_code_locked",
        "no_code": "pc_code_none",
    }[result.outcome]
    status = 423 if result.outcome == "locked" else 400
    return _verify_page(
        request,
        lang,
        case,
        error_key=error,
        error_values={"left": result.attempts_left},
        status_code=status,
    )


async def _new_code(request: Request, lang: Lang, case_id: str) -> Response:
    data = await _form(request)
    if not _public_csrf_ok(request, data):
        return _message(request, lang, "pc_csrf_title", "pc_csrf_text", 403)
    rate = limits(request)
    address = client_address(request)
    wait = rate.submit_ip.retry_after(address)
    if wait:
        return _too_many(request, lang, wait)
    with db(request) as session:
        case = intake.find_case(session, case_id)
        if case is None:
            return _not_found(request, lang)
        wait = rate.submit_identity.retry_after(case.email_hash)
        if wait:
            return _too_many(request, lang, wait)
        rate.submit_ip.hit(address)
        rate.submit_identity.hit(case.email_hash)
        _code, messages = intake.send_code(session, case, actor="privacy-centre")
    cases.deliver(messages)
    # The same answer whether or not a code could be sent (a locked case says so itself).
    return RedirectResponse(
        _url(request, _case_path(lang, case_id, "verify") + "?sent=1"), status_code=303
    )


# --------------------------------------------------------------------------- #
# Public: status, download, the subject's requests
# --------------------------------------------------------------------------- #

# Events the subject is shown on the status page, in order.
SUBJECT_EVENTS: Final = (
    "received",
    "verified",
    "approved",
    "extended",
    "forwarded",
    "denied",
    "done",
    "controller_answered",
)


def _status_get(request: Request, lang: Lang, case_id: str) -> Response:
    with db(request) as session:
        owner = _subject_in(session, request)
        case = intake.find_case(session, case_id)
        if case is None or not intake.owned_by(case, owner):
            if case is not None and owner is None:
                # Not logged in as anyone: ask for the code (the owner can get one).
                return RedirectResponse(
                    _url(request, _case_path(lang, case_id, "verify") + "?sent=again"),
                    status_code=303,
                )
            return _not_found(request, lang)
        cases.sync(session, case)
        events = [
            {"event": e.event, "when": intake.received_text(e.at, lang)}
            for e in cases.events_of(session, case)
            if e.event in SUBJECT_EVENTS
        ]
        register = intake.current_register(session)
        entry = processor.customer(register, case.controller_key)
        authority = register.organisation.supervisory_authority if register else None
        download = None
        expired = False
        if case.kind in ("access", "portable") and case.status == "done" and case.closed_at:
            expires = links.expiry_of(case.closed_at)
            if expires > clock.now() and case.package_deleted_at is None:
                download = {
                    "url": _url(request, _case_path(lang, case.id, "download"))
                    + "?token="
                    + quote(links.make_token(case.id, case.closed_at)),
                    "until": long_date(expires.astimezone(clock.OSLO), lang),
                }
            else:
                expired = True
        context = {
            "case": {
                "id": case.id,
                "reference": intake.reference(case.id),
                "kind": case.kind,
                "status": case.status,
                "received": intake.received_text(case.received_at, lang),
                "due": intake.due_text(case, lang),
                "extended": case.deadline_months > 1,
                "extension_reason": case.extension_reason,
                "decision_reason": case.decision_reason,
            },
            "events": events,
            "controller": processor.forward_context(entry) if entry else None,
            "authority_name": authority.name if authority else "Datatilsynet",
            "authority_url": (authority.complaint_url or authority.url)
            if authority
            else "https://www.datatilsynet.no",
            "download": download,
            "download_expired": expired,
            "paths": PATHS[lang],
            "other_url": _url(request, _case_path(other_lang(lang), case.id)),
            "csrf_token": None,
        }
    token, cookie = _public_csrf(request)
    context["csrf_token"] = token
    response = _render(request, "pc/status.html", context, lang=lang, headers=NO_STORE)
    return _with_csrf_cookie(request, response, cookie)


def _download(request: Request, lang: Lang, case_id: str, token: str) -> Response:
    with db(request) as session:
        owner = _subject_in(session, request)
        case = intake.find_case(session, case_id)
        if case is None or not intake.owned_by(case, owner):
            if case is not None and owner is None:
                return RedirectResponse(
                    _url(request, _case_path(lang, case_id, "verify") + "?sent=again"),
                    status_code=303,
                )
            return _not_found(request, lang)
        check = links.check_token(token, case.id)
        path = cases.package_path(case)
        usable = (
            check.ok
            and case.status == "done"
            and case.package_deleted_at is None
            and path is not None
            and path.exists()
        )
        reference = intake.reference(case.id)
        if usable:
            cases._audit(session, case, "dsr.case.download", "subject")
    if not check.ok and check.reason != "expired":
        return _not_found(request, lang)
    if not usable:
        return _message(request, lang, "pc_download_gone_title", "pc_download_gone_text", 410)
    assert path is not None
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"personopplysninger-{reference}.zip"
        if lang == "nb"
        else f"personal-data-{reference}.zip",
        headers=NO_STORE,
    )


def _mine(request: Request, lang: Lang) -> Response:
    with db(request) as session:
        owner = _subject_in(session, request)
        if owner is None:
            return RedirectResponse(_url(request, PATHS[lang]["start"]), status_code=303)
        rows = [
            {
                "id": c.id,
                "reference": intake.reference(c.id),
                "kind": c.kind,
                "status": c.status,
                "received": intake.received_text(c.received_at, lang),
                "due": intake.due_text(c, lang),
                "url": _url(request, _case_path(lang, c.id)),
            }
            for c in intake.subject_cases(session, owner)
        ]
    token, cookie = _public_csrf(request)
    response = _render(
        request,
        "pc/mine.html",
        {
            "rows": rows,
            "paths": PATHS[lang],
            "csrf_token": token,
            "other_url": _url(request, PATHS[other_lang(lang)]["mine"]),
        },
        lang=lang,
        headers=NO_STORE,
    )
    return _with_csrf_cookie(request, response, cookie)


async def _logout(request: Request, lang: Lang) -> Response:
    data = await _form(request)
    if not _public_csrf_ok(request, data):
        return _message(request, lang, "pc_csrf_title", "pc_csrf_text", 403)
    with db(request) as session:
        verification.end_session(session, request.cookies.get(verification.SUBJECT_COOKIE))
    response = RedirectResponse(_url(request, PATHS[lang]["start"]), status_code=303)
    response.delete_cookie(verification.SUBJECT_COOKIE, path="/", **_cookie_options(request))
    return response


# --------------------------------------------------------------------------- #
# Public: OIDC login
# --------------------------------------------------------------------------- #


def _oidc_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(request), salt="datavern pc oidc v1")


def _login_start(request: Request, lang: Lang, case_id: str) -> Response:
    settings = oidc_settings(request)
    if not settings.enabled:
        return _not_found(request, lang)
    with db(request) as session:
        case = intake.find_case(session, case_id)
        if case is None:
            return _not_found(request, lang)
    try:
        start = verification.start_login(settings)
    except verification.OidcError:
        return _message(request, lang, "pc_login_failed_title", "pc_login_unavailable", 502)
    state = _oidc_serializer(request).dumps(
        {"c": case_id, "s": start.state, "n": start.nonce, "v": start.verifier, "l": lang}
    )
    response = RedirectResponse(start.url, status_code=303)
    response.set_cookie(
        OIDC_COOKIE, state, max_age=OIDC_LIFETIME, path="/", **_cookie_options(request)
    )
    return response


def _login_callback(request: Request, code: str, state: str, error: str) -> Response:
    raw = request.cookies.get(OIDC_COOKIE, "")
    try:
        stored = _oidc_serializer(request).loads(raw, max_age=OIDC_LIFETIME) if raw else None
    except (BadSignature, SignatureExpired):
        stored = None
    lang: Lang = "nb"
    if isinstance(stored, dict) and stored.get("l") in LANGUAGES:
        lang = stored["l"]
    if (
        not isinstance(stored, dict)
        or not state
        or not hmac.compare_digest(str(stored.get("s", "")), state)
    ):
        return _message(request, lang, "pc_login_failed_title", "pc_login_state", 400)
    case_id = str(stored["c"])
    if error or not code:
        return _message(request, lang, "pc_login_failed_title", "pc_login_cancelled", 400)
    settings = oidc_settings(request)
    try:
        claims = verification.finish_login(settings, code, str(stored["v"]), str(stored["n"]))
    except verification.OidcError:
        return _message(request, lang, "pc_login_failed_title", "pc_login_invalid", 400)
    with db(request) as session:
        case = intake.find_case(session, case_id)
        if case is None:
            return _not_found(request, lang)
        result = intake.verify_with_login(session, case, claims, settings, actor="privacy-centre")
    if result.outcome != "ok":
        key = "pc_code_locked" if result.outcome == "locked" else "pc_login_mismatch"
        return _message(request, lang, "pc_login_failed_title", key, 403)
    cases.deliver(result.messages)
    response = RedirectResponse(_url(request, _case_path(lang, case_id)), status_code=303)
    assert result.session_token
    _set_subject(request, response, result.session_token)
    response.delete_cookie(OIDC_COOKIE, path="/", **_cookie_options(request))
    return response


# --------------------------------------------------------------------------- #
# Public routes, one set per language
# --------------------------------------------------------------------------- #


def _public_routes(lang: Lang) -> None:
    p = PATHS[lang]
    base = p["requests"]

    @public_router.get(p["start"], response_class=HTMLResponse, name=f"pc_start_{lang}")
    def start(request: Request) -> Response:
        return _start_page(request, lang)

    @public_router.post(base, name=f"pc_submit_{lang}")
    async def submit(request: Request) -> Response:
        return await _submit(request, lang)

    @public_router.get(p["mine"], name=f"pc_mine_{lang}")
    def mine(request: Request) -> Response:
        return _mine(request, lang)

    @public_router.post(p["logout"], name=f"pc_logout_{lang}")
    async def logout(request: Request) -> Response:
        return await _logout(request, lang)

    @public_router.get(base + "/{case_id}/" + p["verify"], name=f"pc_verify_{lang}")
    def verify_get(request: Request, case_id: str, sent: str = "") -> Response:
        return _verify_get(request, lang, case_id, sent)

    @public_router.post(base + "/{case_id}/" + p["verify"], name=f"pc_verify_post_{lang}")
    async def verify_post(request: Request, case_id: str) -> Response:
        return await _verify_post(request, lang, case_id)

    @public_router.post(base + "/{case_id}/" + p["new_code"], name=f"pc_new_code_{lang}")
    async def new_code(request: Request, case_id: str) -> Response:
        return await _new_code(request, lang, case_id)

    @public_router.get(base + "/{case_id}/" + p["login"], name=f"pc_login_{lang}")
    def login(request: Request, case_id: str) -> Response:
        return _login_start(request, lang, case_id)

    @public_router.get(base + "/{case_id}/" + p["download"], name=f"pc_download_{lang}")
    def download(request: Request, case_id: str, token: str = "") -> Response:
        return _download(request, lang, case_id, token)

    @public_router.get(base + "/{case_id}", name=f"pc_status_{lang}")
    def status(request: Request, case_id: str) -> Response:
        return _status_get(request, lang, case_id)


for _lang in LANGUAGES:
    _public_routes(_lang)


@public_router.get(OIDC_CALLBACK, name="pc_oidc_callback")
def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    return _login_callback(request, code, state, error)


# --------------------------------------------------------------------------- #
# Admin: the queue
# --------------------------------------------------------------------------- #

VIEW = require(Permission.view_requests)
HANDLE = require(Permission.handle_requests)
DONE_KEYS: Final = frozenset(
    {
        "assigned",
        "approved",
        "denied",
        "extended",
        "verified",
        "unlocked",
        "forwarded",
        "answered",
        "retried",
        "task_added",
        "task_done",
    }
)


def _render_admin(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    principal: Principal,
    title_key: str,
    status_code: int = 200,
) -> HTMLResponse:
    lang = admin_lang(request)
    other = other_lang(lang)
    base = {
        "principal": principal,
        "csrf_token": principal.csrf_token,
        "nav": [item for item in deps.NAV if principal.can(item.permission)],
        "active_nav": "requests",
        "page_title_key": title_key,
        "other_lang": other,
        "other_lang_name": translate(lang, "other_language_name"),
        "lang_switch_url": url_with_lang(request, other),
        "can_handle": principal.can(Permission.handle_requests),
    }
    return _render(request, name, {**base, **context}, lang=lang, status_code=status_code)


def _row(case: PrivacyCase, lang: Lang) -> dict[str, Any]:
    from datavern.dsr import deadlines

    now = clock.now()
    open_ = case.status not in ("done", "denied")
    left = deadlines.days_left(now, case.due_on)
    return {
        "id": case.id,
        "reference": intake.reference(case.id),
        "kind": case.kind,
        "status": case.status,
        "assignee": case.assignee,
        "received": intake.received_text(case.received_at, lang),
        "due": intake.date_text(case.due_on, lang),
        "due_iso": case.due_on.isoformat(),
        "overdue": open_ and left < 0,
        "due_soon": open_ and 0 <= left <= queue.DUE_SOON_DAYS,
        "days_left": left,
        "controller": case.controller_key,
        "verified": case.verified_at is not None,
    }


def _handlers(session: Any) -> list[str]:
    from datavern.accounts.models import User
    from datavern.accounts.rules import has_permission

    users = session.execute(
        select(User).where(User.active.is_(True)).order_by(User.username)
    ).scalars()
    return [u.username for u in users if has_permission(u.role, Permission.handle_requests)]


@admin_router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    kind: str = "",
    status: str = "",
    assignee: str = "",
    due: str = "",
    page: int = 1,
    principal: Principal = Depends(VIEW),
) -> Response:
    lang = admin_lang(request)
    filters = queue.Filters(
        kind=kind or None,
        status=status or None,
        assignee=assignee or None,
        due=due or None,
        offset=max(0, page - 1) * queue.PAGE_SIZE,
    )
    errors: dict[str, list[str]] = {}
    with db(request) as session:
        try:
            found = queue.search(session, filters, summary=True)
        except InvalidInput as exc:
            errors = {p.path: [translate(lang, "rq_filter_invalid")] for p in exc.problems}
            found = queue.search(session, queue.Filters(), summary=True)
        rows = [_row(c, lang) for c in found.cases]
        handlers = _handlers(session)
    pages = max(1, (found.total + queue.PAGE_SIZE - 1) // queue.PAGE_SIZE)
    params = filters.as_params()
    return _render_admin(
        request,
        "pc_admin/queue.html",
        {
            "rows": rows,
            "total": found.total,
            "counts": found.counts,
            "filters": params,
            "errors": errors,
            "kinds": CASE_KINDS,
            "statuses": CASE_STATUSES,
            "handlers": handlers,
            "page": page,
            "pages": pages,
            "prev_url": f"?{urlencode({**params, 'page': page - 1})}" if page > 1 else None,
            "next_url": f"?{urlencode({**params, 'page': page + 1})}" if page < pages else None,
            "quick": {
                "overdue": f"?{urlencode({'due': 'overdue'})}",
                "soon": f"?{urlencode({'due': 'soon'})}",
                "unassigned": f"?{urlencode({'status': 'open', 'assignee': '-'})}",
                "open": f"?{urlencode({'status': 'open'})}",
            },
        },
        principal=principal,
        title_key="nav_requests",
    )


# --------------------------------------------------------------------------- #
# Admin: one request
# --------------------------------------------------------------------------- #


def _detail(
    request: Request,
    principal: Principal,
    case_id: str,
    *,
    errors: dict[str, list[str]] | None = None,
    error_text: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    from datavern.core.audit import AuditEntry
    from datavern.dsr import deadlines, service

    lang = admin_lang(request)
    reveal = principal.can(Permission.handle_requests)
    with db(request) as session:
        case = intake.find_case(session, case_id)
        if case is None:
            raise HTTPException(404)
        messages = cases.sync(session, case, actor=principal.username)
        data = cases.as_json(session, case, reveal=reveal)
        events = [
            {
                "when": e.at.astimezone(clock.OSLO).strftime("%Y-%m-%d %H:%M"),
                "actor": e.actor,
                "event": e.event,
                "details": e.details,
            }
            for e in cases.events_of(session, case)
        ]
        engine = None
        engine_log: list[dict[str, Any]] = []
        if case.dsr_request_id:
            try:
                engine = service.get_request(session, case.dsr_request_id)
            except NotFound:
                engine = None
            for entry in session.execute(
                select(AuditEntry)
                .where(AuditEntry.target == f"dsr_request:{case.dsr_request_id}")
                .order_by(AuditEntry.seq)
                .limit(500)
            ).scalars():
                engine_log.append(
                    {
                        "when": entry.at.astimezone(clock.OSLO).strftime("%Y-%m-%d %H:%M:%S"),
                        "action": entry.action,
                        "summary": _summary(entry.details),
                    }
                )
        register = intake.current_register(session)
        customers = [(c.key, c.controller) for c in processor.customers(register)]
        handlers = _handlers(session)
        first = deadlines.deadline(case.received_at)
        can_extend = (
            case.deadline_months < deadlines.MAX_TOTAL_MONTHS and clock.now() <= first.due_at
        )
        row = _row(case, lang)
    cases.deliver(messages)
    return _render_admin(
        request,
        "pc_admin/detail.html",
        {
            "case": data,
            "row": row,
            "events": events,
            "engine": engine,
            "engine_log": engine_log,
            "customers": customers,
            "handlers": handlers,
            "reveal": reveal,
            "errors": errors or {},
            "error_text": error_text,
            "done": done if done in DONE_KEYS else None,
            "first_due": long_date(first.due, lang),
            "can_extend": can_extend and data["status"] not in ("done", "denied"),
            "received": long_date(case.received_at.astimezone(clock.OSLO), lang),
            "verified_at": data["verified_at"],
            "max_attempts": verification.MAX_CODE_ATTEMPTS,
            "attempts": case.code_attempts,
        },
        principal=principal,
        title_key="nav_requests",
        status_code=status_code,
    )


def _summary(details: dict[str, Any]) -> str:
    parts = []
    for key in ("collection", "rows", "fields", "masked", "deleted", "kind", "path"):
        if key in details and details[key] not in (None, [], ""):
            value = details[key]
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value[:10])
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


@admin_router.get("/{case_id}", response_class=HTMLResponse)
def detail_page(
    request: Request, case_id: str, done: str = "", principal: Principal = Depends(VIEW)
) -> Response:
    return _detail(request, principal, case_id, done=done or None)


def _back(request: Request, case_id: str, done: str) -> Response:
    return RedirectResponse(
        _url(request, f"/admin/requests/{case_id}?done={done}"), status_code=303
    )


def _refused(request: Request, principal: Principal, case_id: str, exc: DatavernError) -> Response:
    lang = admin_lang(request)
    if isinstance(exc, InvalidInput):
        errors: dict[str, list[str]] = {}
        for p in exc.problems:
            key = f"rq_err_{p.path}"
            errors.setdefault(p.path, []).append(
                translate(lang, key) if key in _catalog(lang) else p.message
            )
        return _detail(request, principal, case_id, errors=errors, status_code=400)
    if isinstance(exc, cases.CaseRefused):
        key = f"case_err_{exc.key}"
        if lang in exc.values:
            text = str(exc.values[lang])
        elif key in _catalog(lang):
            text = translate(lang, key)
        else:
            text = str(exc)
        return _detail(request, principal, case_id, error_text=text, status_code=409)
    return _detail(request, principal, case_id, error_text=str(exc), status_code=400)


async def _act(
    request: Request,
    principal: Principal,
    case_id: str,
    done: str,
    action: Any,
) -> Response:
    data = await _form(request)
    run: str | None = None
    messages: list[str] = []
    try:
        with db(request) as session:
            case = intake.find_case(session, case_id)
            if case is None:
                raise HTTPException(404)
            outcome = action(session, case, data)
            if isinstance(outcome, cases.ActionResult):
                messages, run = outcome.messages, outcome.run_engine
            elif isinstance(outcome, list):
                messages = outcome
    except NotFound:
        raise HTTPException(404) from None
    except DatavernError as exc:
        return _refused(request, principal, case_id, exc)
    cases.deliver(messages)
    if run:
        cases.execute(case_id, actor=principal.username)
    return _back(request, case_id, done)


@admin_router.post("/{case_id}/assign")
async def assign(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "assigned",
        lambda s, c, d: cases.assign(s, c, d.get("assignee"), actor=principal.username),
    )


@admin_router.post("/{case_id}/approve")
async def approve(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    def act(session: Any, case: PrivacyCase, data: dict[str, Any]) -> Any:
        items = [line for line in str(data.get("rectify") or "").splitlines() if line.strip()]
        return cases.approve(session, case, actor=principal.username, rectify=items or None)

    return await _act(request, principal, case_id, "approved", act)


@admin_router.post("/{case_id}/deny")
async def deny(request: Request, case_id: str, principal: Principal = Depends(HANDLE)) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "denied",
        lambda s, c, d: cases.deny(s, c, str(d.get("reason") or ""), actor=principal.username),
    )


@admin_router.post("/{case_id}/extend")
async def extend(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    def act(session: Any, case: PrivacyCase, data: dict[str, Any]) -> Any:
        months = 1 if str(data.get("months")) == "1" else 2
        return cases.extend(
            session, case, str(data.get("reason") or ""), months=months, actor=principal.username
        )

    return await _act(request, principal, case_id, "extended", act)


@admin_router.post("/{case_id}/verify")
async def verify_identity(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "verified",
        lambda s, c, d: cases.verify_manually(
            s, c, str(d.get("note") or ""), actor=principal.username
        ),
    )


@admin_router.post("/{case_id}/unlock")
async def unlock(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "unlocked",
        lambda s, c, d: cases.unlock(s, c, actor=principal.username),
    )


@admin_router.post("/{case_id}/forward")
async def forward(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "forwarded",
        lambda s, c, d: cases.forward(
            s, c, str(d.get("controller") or ""), actor=principal.username
        ),
    )


@admin_router.post("/{case_id}/controller-answered")
async def controller_answered(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "answered",
        lambda s, c, d: cases.controller_answered(
            s, c, str(d.get("note") or ""), actor=principal.username
        ),
    )


@admin_router.post("/{case_id}/retry")
async def retry(request: Request, case_id: str, principal: Principal = Depends(HANDLE)) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "retried",
        lambda s, c, d: cases.retry(s, c, actor=principal.username),
    )


@admin_router.post("/{case_id}/tasks")
async def add_task(
    request: Request, case_id: str, principal: Principal = Depends(HANDLE)
) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "task_added",
        lambda s, c, d: (
            cases.add_task(
                s,
                c,
                str(d.get("system") or ""),
                str(d.get("title") or ""),
                actor=principal.username,
            )
            and None
        ),
    )


@admin_router.post("/{case_id}/tasks/{task_id}/done")
async def task_done(
    request: Request, case_id: str, task_id: int, principal: Principal = Depends(HANDLE)
) -> Response:
    return await _act(
        request,
        principal,
        case_id,
        "task_done",
        lambda s, c, d: cases.complete_task(
            s, c, task_id, str(d.get("note") or ""), actor=principal.username
        ),
    )


__all__ = ["admin_router", "public_router"]
