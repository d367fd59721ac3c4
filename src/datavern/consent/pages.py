"""Consent pages: public (double opt-in confirmation, one-click unsubscribe) and admin
(consents per purpose with their trend, a subject's history, re-consent, the outbox).

Public pages never act on a GET: the confirmation link and the unsubscribe link
show a page with a button, because mail scanners open links on their own.
The unsubscribe address also takes the RFC 8058 one-click POST
(``List-Unsubscribe=One-Click``) that mail clients send.
"""

from __future__ import annotations

import ipaddress
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from datavern.accounts.rules import Permission
from datavern.consent import rules, service
from datavern.consent.chart import Series, line_chart
from datavern.consent.messages import translate
from datavern.core import clock
from datavern.core.errors import InvalidInput, NotFound, Problem
from datavern.core.i18n import Lang, long_date
from datavern.web import deps
from datavern.web.deps import (
    Principal,
    admin_lang,
    csrf_protect,
    db,
    require,
)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = deps.feature_templates(TEMPLATES_DIR)

public_router = APIRouter(include_in_schema=False)
admin_router = APIRouter(
    prefix="/admin", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)

GRANTED_COLOUR = "#2f6b3a"
REFUSED_COLOUR = "#a33a2a"


def _render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    lang: Lang,
    status_code: int = 200,
) -> HTMLResponse:
    return deps.render(
        request,
        name,
        context,
        lang=lang,
        status_code=status_code,
        templates=templates,
        strings=translate,
    )


def _render_admin(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    principal: Principal,
    active: str,
    title_key: str,
    status_code: int = 200,
) -> HTMLResponse:
    """web.deps.render_admin with the consent templates."""
    return deps.render_admin(
        request,
        name,
        context,
        principal=principal,
        active=active,
        title_key=title_key,
        status_code=status_code,
        templates=templates,
        strings=translate,
    )


def client_ip(request: Request) -> str | None:
    """The client's IP address for the ledger, or None when the connection has none
    (a Unix socket, a test client): a person's decision never fails on it."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- #
# Public: double opt-in confirmation
# --------------------------------------------------------------------------- #


def _confirm_get(request: Request, lang: Lang, token: str) -> HTMLResponse:
    with db(request) as session:
        try:
            view = service.optin_view(session, token)
        except (InvalidInput, NotFound):
            return _render(
                request,
                "consent/public_message.html",
                {"title_key": "confirm_unknown_title", "message_key": "confirm_unknown"},
                lang=lang,
                status_code=404,
            )
    return _render(
        request,
        "consent/confirm.html",
        {"view": view, "token": token, "action": request.url.path},
        lang=lang,
    )


def _confirm_post(request: Request, lang: Lang, token: str) -> HTMLResponse:
    agent = request.headers.get("user-agent")
    try:
        with db(request) as session:
            view = service.optin_view(session, token)
            done = service.confirm(session, token, ip=client_ip(request), user_agent=agent)
    except NotFound:
        return _render(
            request,
            "consent/public_message.html",
            {"title_key": "confirm_unknown_title", "message_key": "confirm_unknown"},
            lang=lang,
            status_code=404,
        )
    except InvalidInput:
        return _render(
            request,
            "consent/public_message.html",
            {"title_key": "confirm_unknown_title", "message_key": "confirm_expired"},
            lang=lang,
            status_code=410,
        )
    return _render(
        request,
        "consent/public_message.html",
        {
            "title_key": "confirm_done_title",
            "message_key": "confirm_done" if done is not None else "confirm_already",
            "name": view.purpose_name,
        },
        lang=lang,
    )


@public_router.get("/samtykke/bekreft", response_class=HTMLResponse)
def confirm_nb(request: Request, token: str = "") -> HTMLResponse:
    return _confirm_get(request, "nb", token)


@public_router.get("/consent/confirm", response_class=HTMLResponse)
def confirm_en(request: Request, token: str = "") -> HTMLResponse:
    return _confirm_get(request, "en", token)


@public_router.post("/samtykke/bekreft", response_class=HTMLResponse)
def confirm_nb_post(request: Request, token: str = Form("")) -> HTMLResponse:
    return _confirm_post(request, "nb", token)


@public_router.post("/consent/confirm", response_class=HTMLResponse)
def confirm_en_post(request: Request, token: str = Form("")) -> HTMLResponse:
    return _confirm_post(request, "en", token)


# --------------------------------------------------------------------------- #
# Public: one-click unsubscribe (RFC 8058)
# --------------------------------------------------------------------------- #


def _unsubscribe_invalid(request: Request, lang: Lang) -> HTMLResponse:
    return _render(
        request,
        "consent/public_message.html",
        {"title_key": "confirm_unknown_title", "message_key": "unsubscribe_invalid"},
        lang=lang,
        status_code=400,
    )


def _unsubscribe_get(request: Request, lang: Lang, token: str) -> HTMLResponse:
    with db(request) as session:
        try:
            name, _lang = service.unsubscribe_purpose_name(session, token)
        except InvalidInput:
            return _unsubscribe_invalid(request, lang)
    return _render(
        request,
        "consent/unsubscribe.html",
        {"name": name, "token": token, "action": request.url.path},
        lang=lang,
    )


async def _unsubscribe_post(request: Request, lang: Lang) -> HTMLResponse:
    # RFC 8058: the token is in the List-Unsubscribe URI (query); the body says
    # List-Unsubscribe=One-Click. The page's own form posts the token as a field.
    form = await request.form()
    token = request.query_params.get("token") or str(form.get("token") or "")
    agent = request.headers.get("user-agent")
    try:
        with db(request) as session:
            name, _lang = service.unsubscribe_purpose_name(session, token)
            service.unsubscribe(session, token, ip=client_ip(request), user_agent=agent)
    except InvalidInput:
        return _unsubscribe_invalid(request, lang)
    return _render(
        request,
        "consent/public_message.html",
        {"title_key": "unsubscribe_done_title", "message_key": "unsubscribe_done", "name": name},
        lang=lang,
    )


@public_router.get("/samtykke/avmelding", response_class=HTMLResponse)
def unsubscribe_nb(request: Request, token: str = "") -> HTMLResponse:
    return _unsubscribe_get(request, "nb", token)


@public_router.get("/consent/unsubscribe", response_class=HTMLResponse)
def unsubscribe_en(request: Request, token: str = "") -> HTMLResponse:
    return _unsubscribe_get(request, "en", token)


@public_router.post("/samtykke/avmelding", response_class=HTMLResponse)
async def unsubscribe_nb_post(request: Request) -> HTMLResponse:
    return await _unsubscribe_post(request, "nb")


@public_router.post("/consent/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_en_post(request: Request) -> HTMLResponse:
    return await _unsubscribe_post(request, "en")


# --------------------------------------------------------------------------- #
# Admin: consents per purpose
# --------------------------------------------------------------------------- #


def _chart(figures: service.PurposeFigures, lang: Lang, name: str, *, compact: bool) -> Any:
    labels = [long_date(d, lang) for d in figures.days]
    t = partial(translate, lang)
    return line_chart(
        [
            Series(t("chart_granted"), figures.granted_series, GRANTED_COLOUR),
            Series(t("chart_refused"), figures.refused_series, REFUSED_COLOUR, dash="6 4"),
        ],
        labels,
        title=t("chart_title", purpose=name, days=len(figures.days)),
        description=t(
            "chart_desc",
            granted_first=figures.granted_series[0] if figures.granted_series else 0,
            granted_last=figures.granted,
            refused_first=figures.refused_series[0] if figures.refused_series else 0,
            refused_last=figures.refused,
        ),
        ident=f"chart-{figures.purpose}".replace(".", "-"),
        compact=compact,
        width=180 if compact else 640,
        height=40 if compact else 220,
    )


def _purpose_name(ctx: service.Context, key: str, lang: str) -> str:
    version = ctx.current_for(key, lang)
    return str(version.content.get("name")) if version else key


# --------------------------------------------------------------------------- #
# English from the service, in the page's language
# --------------------------------------------------------------------------- #

# A catalog key and its values: what a page shows instead of a service's English text.
Message = tuple[str, dict[str, Any]]

# rules.analyse_register's reasons for whether a purpose needs consent.
REASONS: Final = {
    "an activity that names it rests on consent": "reason_activity_consent",
    "cookies outside the necessary category name it": "reason_cookies",
    "it is declared as a consent purpose": "reason_declared",
}

# rules.parse_subject's problems (SubjectError), by how they begin.
SUBJECT_PROBLEMS: Final = (
    ("the subject is empty", "subject_error_empty"),
    ("the subject is longer than", "subject_error_too_long"),
    ("write the subject as", "subject_error_form"),
    ("the subject's e-mail address is not valid", "subject_error_email"),
    ("an emailhash subject is", "subject_error_emailhash"),
    ("a visitor id is", "subject_error_visitor"),
    ("an account id is", "subject_error_account"),
)

METHODS: Final = frozenset(m.value for m in rules.Method)


def _reason_text(ctx: service.Context, info: rules.PurposeInfo, lang: Lang) -> str:
    """Why a purpose needs consent (or not), in ``lang``."""
    t = partial(translate, lang)
    key = REASONS.get(info.reason)
    if key is not None:
        return t(key)
    if not info.needs_consent and info.activities:
        bases = sorted({ctx.index.activities[k].basis or "missing" for k in info.activities})
        names = []
        for basis in bases:
            try:
                names.append(t(f"basis_{basis}"))
            except KeyError:
                names.append(basis)
        return t("reason_other_basis", bases=", ".join(names))
    return t("reason_needs_consent" if info.needs_consent else "reason_no_consent")


def subject_problem(problem: Problem) -> Message:
    """A catalog message for a subject reference the service refused."""
    for start, key in SUBJECT_PROBLEMS:
        if problem.message.startswith(start):
            if key == "subject_error_too_long":
                return key, {"n": rules.MAX_SUBJECT_LENGTH}
            return key, {}
    return "subject_error", {}


def reconsent_problem(problem: Problem, cutoff: date, lang: Lang) -> Message:
    """A catalog message for a re-consent the service refused."""
    text = problem.message
    if problem.path == "cutoff":
        return "reconsent_error_cutoff_past", {"cutoff": long_date(cutoff, lang)}
    if "nothing to ask again" in text:
        return "reconsent_error_only_current", {}
    if "needs no consent" in text:
        return "reconsent_error_no_consent", {}
    if text.startswith("unknown purpose"):
        return "unknown_purpose", {}
    return "reconsent_error", {}


@admin_router.get("/consent", response_class=HTMLResponse)
def consent_overview(
    request: Request, principal: Principal = Depends(require(Permission.view_consent))
) -> HTMLResponse:
    lang = admin_lang(request)
    rows: list[dict[str, Any]] = []
    with db(request) as session:
        try:
            ctx = service.context(session)
        except NotFound:
            ctx = None
        if ctx is not None:
            for key, info in sorted(ctx.index.purposes.items()):
                figures = service.purpose_figures(session, key)
                name = _purpose_name(ctx, key, lang)
                rows.append(
                    {
                        "key": key,
                        "name": name,
                        "info": info,
                        "figures": figures,
                        "chart": _chart(figures, lang, name, compact=True),
                        "versions": sorted(v.id for k, v in ctx.current.items() if k[0] == key),
                    }
                )
        size = service.ledger_size(session)
        subjects = service.subjects_count(session)
    return _render_admin(
        request,
        "consent/overview.html",
        {"rows": rows, "has_register": ctx is not None, "size": size, "subjects": subjects},
        principal=principal,
        active="consent",
        title_key="consent_heading",
    )


@admin_router.get("/consent/purposes/{key}", response_class=HTMLResponse)
def consent_purpose(
    key: str,
    request: Request,
    started: int | None = None,
    principal: Principal = Depends(require(Permission.view_consent)),
) -> HTMLResponse:
    return _purpose_page(request, key, principal, started=started)


def _purpose_page(
    request: Request,
    key: str,
    principal: Principal,
    *,
    started: int | None = None,
    errors: list[Message] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = admin_lang(request)
    with db(request) as session:
        try:
            ctx = service.context(session)
        except NotFound:
            ctx = None
        if ctx is None or key not in ctx.index.purposes:
            return _render_admin(
                request,
                "consent/message.html",
                {"message_key": "unknown_purpose"},
                principal=principal,
                active="consent",
                title_key="consent_heading",
                status_code=404,
            )
        info = ctx.index.purposes[key]
        figures = service.purpose_figures(session, key)
        name = _purpose_name(ctx, key, lang)
        versions = service.list_texts(session, key)
        campaigns = service.list_campaigns(session, key)
        started_view = next((c for c in campaigns if c.id == started), None)
        affected = {}
        for c in campaigns:
            affected[c.id] = service.campaign_affected(session, c)
        reason = _reason_text(ctx, info, lang)
    current_ids = {v.id for k, v in ctx.current.items() if k[0] == key}
    today = clock.now().astimezone(clock.OSLO).date()
    return _render_admin(
        request,
        "consent/purpose.html",
        {
            "key": key,
            "name": name,
            "info": info,
            "reason": reason,
            "figures": figures,
            "chart": _chart(figures, lang, name, compact=False),
            "table": list(
                zip(figures.days, figures.granted_series, figures.refused_series, strict=True)
            ),
            "versions": versions,
            "current_ids": current_ids,
            "campaigns": campaigns,
            "affected": affected,
            "started": started_view,
            "can_manage": principal.can(Permission.manage_consent),
            "today": today.isoformat(),
            "errors": errors or [],
            "fmt_date": partial(_fmt_date, lang=lang),
            "fmt_time": _fmt_time,
        },
        principal=principal,
        active="consent",
        title_key="consent_heading",
        status_code=status_code,
    )


def _fmt_date(value: date | datetime, lang: Lang) -> str:
    return long_date(value, lang)


def _fmt_time(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.astimezone(clock.OSLO).strftime("%Y-%m-%d %H:%M")


@admin_router.post("/consent/purposes/{key}/reconsent", response_class=HTMLResponse)
def consent_reconsent(
    key: str,
    request: Request,
    cutoff: str = Form(""),
    send_mail: str | None = Form(None),
    principal: Principal = Depends(require(Permission.manage_consent)),
) -> Response:
    try:
        day = date.fromisoformat(cutoff)
    except ValueError:
        return _purpose_page(
            request,
            key,
            principal,
            errors=[("reconsent_error_cutoff_format", {})],
            status_code=422,
        )
    try:
        with db(request) as session:
            view = service.start_reconsent(
                session, key, day, actor=f"user:{principal.user_id}", mail=send_mail is not None
            )
    except NotFound:
        return _purpose_page(
            request, key, principal, errors=[("consent_no_register", {})], status_code=422
        )
    except InvalidInput as exc:
        lang = admin_lang(request)
        messages = [reconsent_problem(p, day, lang) for p in exc.problems]
        return _purpose_page(request, key, principal, errors=messages, status_code=422)
    from datavern.notify import email

    email.deliver()
    root = request.scope.get("root_path", "")
    return RedirectResponse(
        f"{root}/admin/consent/purposes/{key}?started={view.id}", status_code=303
    )


def _is_address(subject: str) -> bool:
    """Whether ``subject`` is (or looks like) an e-mail address rather than a stored
    reference (``account:``, ``emailhash:``, ``visitor:``)."""
    try:
        return rules.parse_subject(subject).kind is rules.SubjectKind.email
    except rules.SubjectError:
        return "@" in subject


@admin_router.get("/consent/subject", response_class=HTMLResponse)
def consent_subject(
    request: Request,
    subject: str = "",
    principal: Principal = Depends(require(Permission.view_consent)),
) -> HTMLResponse:
    """The look-up form, or the history of a subject named by its stored reference
    (``?subject=emailhash:HEX``, ``account:ID``, ``visitor:ID``): links carry no address.
    An address in the URL is not looked up; the form posts it instead."""
    if _is_address(subject.strip()):
        return _subject_page(
            request, principal, "", problem=("subject_error_address_in_url", {}), status_code=400
        )
    return _subject_page(request, principal, subject)


@admin_router.post("/consent/subject", response_class=HTMLResponse)
def consent_subject_post(
    request: Request,
    subject: str = Form(""),
    principal: Principal = Depends(require(Permission.view_consent)),
) -> HTMLResponse:
    """The look-up form's POST (with the session's CSRF token): an e-mail address stays
    out of URLs, browser history and request logs."""
    if not subject.strip():
        return _subject_page(
            request, principal, "", problem=("subject_error_empty", {}), status_code=422
        )
    return _subject_page(request, principal, subject)


def _subject_page(
    request: Request,
    principal: Principal,
    subject: str,
    *,
    problem: Message | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = admin_lang(request)
    items: list[service.ProofItem] = []
    ref = None
    if problem is None and subject.strip():
        try:
            with db(request) as session:
                ref = service.subject_of(subject).ref
                items = service.proof(session, subject, actor=f"user:{principal.user_id}")
        except InvalidInput as exc:
            problem = subject_problem(exc.problems[0]) if exc.problems else ("subject_error", {})
            status_code = 422
    link = None
    if ref is not None and "@" not in ref:
        link = f"/admin/consent/subject?{urlencode({'subject': ref})}"
    response = _render_admin(
        request,
        "consent/subject.html",
        {
            "subject": subject,
            "ref": ref,
            "link": link,
            "items": items,
            "error": problem,
            "fmt_time": _fmt_time,
            "lang_code": lang,
            "methods": METHODS,
        },
        principal=principal,
        active="consent",
        title_key="subject_heading",
        status_code=status_code,
    )
    # A subject's history is personal data: not kept in caches.
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- #
# Admin: the outbox
# --------------------------------------------------------------------------- #


@admin_router.get("/outbox", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    status: str | None = None,
    principal: Principal = Depends(require(Permission.view_consent)),
) -> HTMLResponse:
    from datavern.notify import outbox

    with db(request) as session:
        page = outbox.list_messages(session, status=status)
    return _render_admin(
        request,
        "consent/outbox.html",
        {
            "page": page,
            "status": status if status in outbox.STATUSES else None,
            "statuses": outbox.STATUSES,
            "fmt_time": _fmt_time,
        },
        principal=principal,
        active="outbox",
        title_key="outbox_heading",
    )


@admin_router.get("/outbox/{message_id}", response_class=HTMLResponse)
def outbox_message(
    message_id: str,
    request: Request,
    principal: Principal = Depends(require(Permission.view_consent)),
) -> HTMLResponse:
    from datavern.notify import outbox

    with db(request) as session:
        message = outbox.get_message(session, message_id)
    if message is None:
        return _render_admin(
            request,
            "consent/message.html",
            {"message_key": "outbox_empty"},
            principal=principal,
            active="outbox",
            title_key="outbox_heading",
            status_code=404,
        )
    return _render_admin(
        request,
        "consent/outbox_message.html",
        {"m": message, "fmt_time": _fmt_time, "statuses": outbox.STATUSES},
        principal=principal,
        active="outbox",
        title_key="outbox_message_heading",
    )
