"""Consent pages: public (double opt-in confirmation, one-click unsubscribe) and admin
(consents per purpose with their trend, a subject's history, re-consent, the outbox).

Public pages never act on a GET: the confirmation link and the unsubscribe link
show a page with a button, because mail scanners open links on their own.
The unsubscribe address also takes the RFC 8058 one-click POST
(``List-Unsubscribe=One-Click``) that mail clients send.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from datavern.accounts.rules import Permission
from datavern.consent import service
from datavern.consent.chart import Series, line_chart
from datavern.consent.messages import translate
from datavern.core import clock
from datavern.core.errors import InvalidInput, NotFound
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


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


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
            done = service.confirm(session, token, ip=_client_ip(request), user_agent=agent)
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
            service.unsubscribe(session, token, ip=_client_ip(request), user_agent=agent)
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
    errors: list[str] | None = None,
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
    current_ids = {v.id for k, v in ctx.current.items() if k[0] == key}
    today = clock.now().astimezone(clock.OSLO).date()
    return _render_admin(
        request,
        "consent/purpose.html",
        {
            "key": key,
            "name": name,
            "info": info,
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
            request, key, principal, errors=["cutoff: YYYY-MM-DD"], status_code=422
        )
    try:
        with db(request) as session:
            view = service.start_reconsent(
                session, key, day, actor=f"user:{principal.user_id}", mail=send_mail is not None
            )
    except (InvalidInput, NotFound) as exc:
        problems = getattr(exc, "problems", None)
        messages = [str(p) for p in problems] if problems else [str(exc)]
        return _purpose_page(request, key, principal, errors=messages, status_code=422)
    from datavern.notify import email

    email.deliver()
    root = request.scope.get("root_path", "")
    return RedirectResponse(
        f"{root}/admin/consent/purposes/{key}?started={view.id}", status_code=303
    )


@admin_router.get("/consent/subject", response_class=HTMLResponse)
def consent_subject(
    request: Request,
    subject: str = "",
    principal: Principal = Depends(require(Permission.view_consent)),
) -> HTMLResponse:
    lang = admin_lang(request)
    error = None
    items: list[service.ProofItem] = []
    ref = None
    if subject.strip():
        try:
            with db(request) as session:
                ref = service.subject_of(subject).ref
                items = service.proof(session, subject, actor=f"user:{principal.user_id}")
        except InvalidInput as exc:
            error = "; ".join(p.message for p in exc.problems)
    return _render_admin(
        request,
        "consent/subject.html",
        {
            "subject": subject,
            "ref": ref,
            "items": items,
            "error": error,
            "fmt_time": _fmt_time,
            "lang_code": lang,
        },
        principal=principal,
        active="consent",
        title_key="subject_heading",
        status_code=422 if error else 200,
    )


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
        {"m": message, "fmt_time": _fmt_time},
        principal=principal,
        active="outbox",
        title_key="outbox_message_heading",
    )
