"""Admin console pages of retention under /admin/retention.

The rules of the applied register, the legal holds (add, with a reason; end),
and the sweeps with their signed reports and whether each signature still
matches. Every page needs the ``manage_retention`` permission; every POST
carries the session's CSRF token (the router's ``csrf_protect``). Pages work
without JavaScript.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from datavern.accounts.rules import Permission
from datavern.core.clock import OSLO
from datavern.core.errors import InvalidInput, NotFound
from datavern.core.i18n import Lang
from datavern.retention import rules, service
from datavern.retention.messages import translate
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

router = APIRouter(
    prefix="/admin/retention", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
NEEDED = require(Permission.manage_retention)
DONE_KEYS = frozenset({"hold_added", "hold_ended"})
FORM_FIELDS = ("scope", "kind", "collection", "where", "identity", "reason", "authority")
FORM_FIELDS_MORE = ("reference", "until")
MAX_FIELD = 5000


def _url(request: Request, path: str) -> str:
    return f"{request.scope.get('root_path', '')}{path}"


def _page(
    request: Request,
    principal: Principal,
    name: str,
    context: dict[str, Any],
    *,
    title_key: str,
    status_code: int = 200,
) -> HTMLResponse:
    return deps.render_admin(
        request,
        f"retention/{name}",
        context,
        principal=principal,
        active="retention",
        title_key=title_key,
        status_code=status_code,
        templates=templates,
        strings=translate,
    )


def period_words(period: rules.Period, lang: Lang) -> str:
    parts = []
    for amount, unit in (
        (period.years, "year"),
        (period.months, "month"),
        (period.weeks, "week"),
        (period.days, "day"),
    ):
        if amount == 1:
            parts.append(translate(lang, f"period_{unit}"))
        elif amount:
            parts.append(translate(lang, f"period_{unit}s", n=amount))
    return translate(lang, "list_and").join(parts) if parts else str(period)


def _rule_rows(entries: list[service.RuleEntry], lang: Lang) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        spec = entry.spec
        key = (
            "retention_after_year"
            if spec.counts_from == "end_of_financial_year"
            else ("retention_after_date")
        )
        then = translate(
            lang, f"retention_then_{spec.action}", fields=", ".join(spec.anonymise_fields)
        )
        rows.append(
            {
                "key": spec.key,
                "collection": spec.collection_key,
                "kept": translate(
                    lang, key, period=period_words(spec.period, lang), field=spec.trigger_field
                ),
                "then": then,
                "legal_basis": entry.legal_basis or "",
            }
        )
    return rows


def _local(value: datetime | None) -> str:
    return value.astimezone(OSLO).strftime("%Y-%m-%d %H:%M") if value else ""


def _last_day(value: datetime | None) -> str:
    if value is None:
        return ""
    from datetime import timedelta

    return (value - timedelta(microseconds=1)).astimezone(OSLO).strftime("%Y-%m-%d")


def _hold_rows(holds: list[service.HoldView], lang: Lang) -> list[dict[str, Any]]:
    rows = []
    for hold in holds:
        if hold.scope == "subject":
            covers = (
                translate(
                    lang,
                    "hold_covers_subject_in",
                    identity=hold.identity_type or "?",
                    collection=hold.collection,
                )
                if hold.collection
                else translate(lang, "hold_covers_subject", identity=hold.identity_type or "?")
            )
        elif hold.scope == "records":
            covers = translate(
                lang,
                "hold_covers_records",
                collection=hold.collection,
                conditions=hold.conditions_text(),
            )
        else:
            covers = hold.collection or ""
        rows.append(
            {
                "id": hold.id,
                "scope": translate(lang, f"hold_scope_{hold.scope}"),
                "kind": translate(lang, f"hold_kind_{hold.kind}"),
                "covers": covers,
                "reason": hold.reason,
                "authority": " ".join(p for p in (hold.authority, hold.reference) if p),
                "from": _local(hold.starts_at),
                "until": _last_day(hold.ends_at) or translate(lang, "until_ended"),
            }
        )
    return rows


def _run_rows(session: Any, runs: list[service.RunView]) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        signature = "missing"
        if run.report is not None and run.signature is not None:
            signature = (
                "valid"
                if rules.verify_report(run.report, run.signature, service.report_key())
                else "invalid"
            )
        rows.append(
            {
                "id": run.id,
                "short": run.id[:12],
                "state": run.state,
                "started": _local(run.started_at),
                "deleted": sum(r["deleted"] + r["aggregated"] for r in run.rules),
                "anonymised": sum(r["anonymised"] for r in run.rules),
                "held": sum(r["held"] for r in run.rules),
                "signature": signature,
            }
        )
    return rows


def _overview(
    request: Request,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    done: str | None = None,
    done_id: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = admin_lang(request)
    with db(request) as session:
        try:
            _version, register = service.applied_register(session)
        except NotFound:
            register = None
        entries = service.resolve_rules(register) if register is not None else []
        collections = sorted(
            f"{d.fides_key}.{c.name}"
            for d in (register.dataset if register else [])
            for c in d.collections
        )
        holds = service.list_holds(session, active_only=True)
        runs = service.list_runs(session, 20)
        run_rows = _run_rows(session, runs)
    return _page(
        request,
        principal,
        "overview.html",
        {
            "has_register": register is not None,
            "rules": _rule_rows(entries, lang),
            "holds": _hold_rows(holds, lang),
            "runs": run_rows,
            "collections": collections,
            "scopes": rules.HOLD_SCOPES,
            "kinds": rules.HOLD_KINDS,
            "form": form or {"scope": "records", "kind": "litigation"},
            "errors": errors or {},
            "done": done if done in DONE_KEYS else None,
            "done_id": done_id,
        },
        title_key="retention_heading",
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview(
    request: Request,
    done: str | None = None,
    hold: int | None = None,
    principal: Principal = Depends(NEEDED),
) -> Response:
    return _overview(request, principal, done=done, done_id=hold)


def _field_of(path: str) -> str:
    known = {"reason", "scope", "kind", "collection", "where", "identity", "until", "authority"}
    return path if path in known else ("reference" if path == "reference" else "")


@router.post("/holds", response_class=HTMLResponse)
async def add_hold(request: Request, principal: Principal = Depends(NEEDED)) -> Response:
    data = await request.form()
    form = {name: str(data.get(name, ""))[:MAX_FIELD] for name in (*FORM_FIELDS, *FORM_FIELDS_MORE)}
    errors: dict[str, list[str]] = {}
    until: date | None = None
    if form["until"].strip():
        try:
            until = date.fromisoformat(form["until"].strip())
        except ValueError:
            errors["until"] = ["YYYY-MM-DD"]
    conditions = [line.strip() for line in form["where"].splitlines() if line.strip()]
    if not errors:
        try:
            with db(request) as session:
                view = service.add_hold(
                    session,
                    scope=form["scope"],
                    kind=form["kind"],
                    reason=form["reason"],
                    collection=form["collection"] or None,
                    conditions=conditions,
                    identity=form["identity"].strip() or None,
                    authority=form["authority"] or None,
                    reference=form["reference"] or None,
                    until=until,
                    actor=f"user:{principal.user_id}",
                )
        except InvalidInput as exc:
            for problem in exc.problems:
                errors.setdefault(_field_of(problem.path), []).append(problem.message)
    if errors:
        form["identity"] = ""  # never echo a person's identity back into the page
        return _overview(request, principal, form=form, errors=errors, status_code=400)
    return RedirectResponse(
        _url(request, f"/admin/retention?done=hold_added&hold={view.id}"), status_code=303
    )


@router.post("/holds/{hold_id}/end", response_class=HTMLResponse)
def end_hold(
    hold_id: int,
    request: Request,
    reason: str = Form(""),
    principal: Principal = Depends(NEEDED),
) -> Response:
    try:
        with db(request) as session:
            service.end_hold(
                session, hold_id, actor=f"user:{principal.user_id}", reason=reason[:MAX_FIELD]
            )
    except NotFound:
        raise HTTPException(404) from None
    except InvalidInput:
        pass  # already ended: the list shows it is gone
    return RedirectResponse(
        _url(request, f"/admin/retention?done=hold_ended&hold={hold_id}"), status_code=303
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request, principal: Principal = Depends(NEEDED)) -> Response:
    try:
        with db(request) as session:
            view, valid = service.verify_run(session, run_id)
    except NotFound:
        raise HTTPException(404) from None
    report = view.report or {}
    return _page(
        request,
        principal,
        "run.html",
        {
            "run": view,
            "short": view.id[:12],
            "report": report,
            "valid": valid,
            "rules": report.get("rules", view.rules),
        },
        title_key="runs_heading",
    )
