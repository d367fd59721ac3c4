"""Admin console pages of the breach register under /admin/breaches.

The list with each breach's countdown, registering a breach, a staged update,
the risk assessment, an art. 34(3) exception, recording the notification to
Datatilsynet, the draft of that notification (view, text, PDF), the version
history, and telling the people affected (select, preview, send).

Every POST carries the session's CSRF token (the router's ``csrf_protect``);
every page needs the ``manage_breaches`` permission. Pages work without
JavaScript: the countdown is the time left when the page was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from datavern.accounts.rules import Permission
from datavern.breaches import rules, service, subjects
from datavern.breaches.draft import draft_pdf, draft_text, moment_text
from datavern.breaches.rules import BREACH_TYPES, RISK_LEVELS, BreachFacts, Finding
from datavern.core.clock import OSLO
from datavern.core.errors import DatavernError, InvalidInput, NotFound
from datavern.core.i18n import Lang
from datavern.web.deps import Principal, admin_lang, csrf_protect, db, render_admin, require
from datavern.web.messages import MESSAGES, translate

router = APIRouter(
    prefix="/admin/breaches", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)

NEEDED = require(Permission.manage_breaches)
DONE_KEYS = frozenset(
    {"registered", "updated", "assessed", "exception", "submitted", "notified", "resumed"}
)
UNFINISHED = ("queued", "running", "failed")
TEXT_FIELDS = (
    "title",
    "description",
    "cause",
    "discovered_by",
    "how_discovered",
    "consequences",
    "measures_taken",
    "measures_planned",
    "data_location",
    "contact",
    "advice",
    "delay_reasons",
)
MOMENT_FIELDS = ("aware_at", "discovered_at", "started_at", "ended_at")
LIST_FIELDS = ("systems", "data_categories", "data_subjects")
COUNT_FIELDS = ("people_affected", "records_affected")
MAX_FORM_FIELD = 25_000


def _url(request: Request, path: str) -> str:
    return f"{request.scope.get('root_path', '')}{path}"


def _page(
    request: Request,
    principal: Principal,
    template: str,
    context: dict[str, Any],
    title_key: str,
    status_code: int = 200,
) -> Response:
    return render_admin(
        request,
        f"admin/breaches/{template}",
        context,
        principal=principal,
        active="breaches",
        title_key=title_key,
        status_code=status_code,
    )


def _lang(request: Request) -> Lang:
    return admin_lang(request)


def _when(value: datetime | None, lang: Lang) -> str:
    return moment_text(value, lang) if value else ""


def _clock_view(clock: rules.ClockStatus, lang: Lang) -> dict[str, Any]:
    left = clock.remaining.total_seconds()
    tone = {
        "running": "transfer" if left < 24 * 3600 else "editorial",
        "overdue": "error",
        "notified": "ok",
        "notified_late": "transfer",
        "not_required": "ok",
    }[clock.state]
    return {
        "state": clock.state,
        "text": rules.format_countdown(clock, lang),
        "deadline": moment_text(clock.deadline, lang),
        "deadline_iso": clock.deadline.isoformat(),
        "tone": tone,
    }


def _error_text(finding: Finding, lang: Lang) -> str:
    key = f"breach_err_{finding.code}"
    if finding.code and key in MESSAGES[lang]:
        return translate(lang, key, value=finding.value)
    return finding.message


def _errors(exc: InvalidInput, lang: Lang) -> dict[str, list[str]]:
    """Problems by form field ("" for the form as a whole), in the page's language."""
    errors: dict[str, list[str]] = {}
    findings = getattr(exc, "findings", None)
    if findings is None:
        for problem in exc.problems:
            errors.setdefault(problem.path.split(".", 1)[0], []).append(problem.message)
        return errors
    for finding in findings:
        field = finding.path.split(".", 1)[0]
        errors.setdefault(field, []).append(_error_text(finding, lang))
    return errors


async def _form(request: Request) -> dict[str, Any]:
    """The posted form: single values as text, repeated names as lists; oversized values cut."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in set(form.keys()):
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        if key in LIST_FIELDS or key == "breach_types":
            data[key] = [v[:200] for v in values]
        elif values:
            data[key] = values[-1][:MAX_FORM_FIELD]
    return data


def _facts_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The breach fields of a posted form; empty optional fields left out."""
    data: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, *MOMENT_FIELDS, *COUNT_FIELDS):
        value = str(form.get(name, "")).strip()
        if value:
            data[name] = value
    for name in LIST_FIELDS:
        chosen = [v.strip() for v in form.get(name, []) if v.strip()]
        extra = str(form.get(f"{name}_other", ""))
        chosen += [v.strip() for v in extra.replace("\n", ",").split(",") if v.strip()]
        if chosen:
            data[name] = list(dict.fromkeys(chosen))
    types = [t for t in form.get("breach_types", []) if t]
    if types:
        data["breach_types"] = types
    return data


def _local_input(value: Any) -> str:
    """An ISO moment as the value of a datetime-local input (Norwegian time)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value)).astimezone(OSLO)
    # Seconds only when there are any, so an unchanged field saves the same moment.
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


def _form_values(facts: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {name: facts.get(name) or "" for name in TEXT_FIELDS}
    for name in MOMENT_FIELDS:
        values[name] = _local_input(facts.get(name))
    for name in COUNT_FIELDS:
        count = facts.get(name)
        values[name] = str(rules.Count.model_validate(count)) if isinstance(count, dict) else ""
    for name in LIST_FIELDS:
        values[name] = list(facts.get(name) or [])
        values[f"{name}_other"] = ""
    values["breach_types"] = list(facts.get("breach_types") or [])
    return values


def _choices(request: Request, lang: Lang) -> dict[str, Any]:
    """Systems, categories and data subjects of the applied register, for checkboxes."""
    from datavern.notices.vocabulary import category_name, subject_name

    with db(request) as session:
        register = service._register(session)
    systems: list[dict[str, str]] = []
    categories: dict[str, str] = {}
    people: dict[str, str] = {}
    if register is not None:
        systems = [{"key": s.key, "name": s.name} for s in register.systems]
        for _system, activity in register.activities():
            for key in activity.data_categories:
                categories.setdefault(key, category_name(key, lang))
            for key in activity.data_subjects:
                people.setdefault(key, subject_name(key, lang))
    return {
        "system_choices": systems,
        "category_choices": sorted(categories.items(), key=lambda kv: kv[1]),
        "subject_choices": sorted(people.items(), key=lambda kv: kv[1]),
        "breach_types": BREACH_TYPES,
        "risk_levels": RISK_LEVELS,
    }


def _with_other(values: dict[str, Any], choices: dict[str, Any]) -> dict[str, Any]:
    """Chosen keys that have no checkbox go to the free-text field."""
    offered = {
        "systems": {s["key"] for s in choices["system_choices"]},
        "data_categories": {k for k, _ in choices["category_choices"]},
        "data_subjects": {k for k, _ in choices["subject_choices"]},
    }
    for name, keys in offered.items():
        other = [v for v in values.get(name, []) if v not in keys]
        if other:
            values[f"{name}_other"] = ", ".join(other)
    return values


def _breach_or_404(request: Request, breach_id: int) -> service.BreachView:
    with db(request) as session:
        try:
            return service.get_breach(session, breach_id)
        except NotFound:
            raise HTTPException(404) from None


# --- list and registration -----------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def breach_list(request: Request, principal: Principal = Depends(NEEDED)) -> Response:
    lang = _lang(request)
    with db(request) as session:
        rows = service.list_breaches(session)
    items = [
        {
            "id": r.id,
            "title": r.title,
            "aware": _when(r.aware_at, lang),
            "risk": r.risk,
            "clock": _clock_view(r.clock, lang),
            "people_told": r.people_told,
        }
        for r in rows
    ]
    open_count = sum(1 for r in rows if r.clock.state in ("running", "overdue"))
    overdue = sum(1 for r in rows if r.clock.state == "overdue")
    return _page(
        request,
        principal,
        "list.html",
        {"rows": items, "open_count": open_count, "overdue_count": overdue},
        "breaches_heading",
    )


@router.get("/new", response_class=HTMLResponse)
def breach_new(request: Request, principal: Principal = Depends(NEEDED)) -> Response:
    lang = _lang(request)
    choices = _choices(request, lang)
    values = _form_values({})
    values.update({"risk": "", "risk_reasoning": ""})
    return _page(
        request,
        principal,
        "form.html",
        {"mode": "new", "values": values, "errors": {}, **choices},
        "breach_new_heading",
    )


@router.post("", response_class=HTMLResponse)
async def breach_create(request: Request, principal: Principal = Depends(NEEDED)) -> Response:
    lang = _lang(request)
    form = await _form(request)
    data = _facts_from_form(form)
    risk = str(form.get("risk", "")).strip()
    if risk:
        data["risk"] = risk
        data["risk_reasoning"] = str(form.get("risk_reasoning", ""))
    try:
        with db(request) as session:
            saved = service.create_breach(session, data, actor=f"web:{principal.username}")
    except InvalidInput as exc:
        choices = _choices(request, lang)
        values = _form_values({})
        values.update({k: form.get(k, "") for k in (*TEXT_FIELDS, *MOMENT_FIELDS, *COUNT_FIELDS)})
        for name in LIST_FIELDS:
            values[name] = list(form.get(name, []))
            values[f"{name}_other"] = form.get(f"{name}_other", "")
        values["breach_types"] = list(form.get("breach_types", []))
        values["risk"] = risk
        values["risk_reasoning"] = form.get("risk_reasoning", "")
        return _page(
            request,
            principal,
            "form.html",
            {"mode": "new", "values": values, "errors": _errors(exc, lang), **choices},
            "breach_new_heading",
            status_code=422,
        )
    return RedirectResponse(
        _url(request, f"/admin/breaches/{saved.breach_id}?done=registered"), status_code=303
    )


# --- one breach ----------------------------------------------------------------------------


def _detail_context(view: service.BreachView, lang: Lang) -> dict[str, Any]:
    from datavern.breaches.draft import CHANNEL_NAMES, EXCEPTION_NAMES, count_text

    s = view.summary
    facts = view.facts
    versions = [
        {
            "number": v.number,
            "kind": v.kind,
            "changed": v.changed,
            "note": v.note,
            "when": _when(v.created_at, lang),
            "by": v.created_by,
        }
        for v in reversed(view.versions)
    ]
    submissions = [
        {
            "version": sub.version,
            "stage": sub.stage,
            "when": _when(sub.submitted_at, lang),
            "reference": sub.reference,
            "late": sub.late,
            "hash": sub.draft_hash[:12],
        }
        for sub in view.submissions
    ]
    runs = [
        {
            "id": r.id,
            "channel": CHANNEL_NAMES.get(r.channel, (r.channel, r.channel))[lang == "en"],
            "lang": r.lang,
            "selection": r.selection,
            "state": r.state,
            "state_text": translate(lang, f"breach_run_state_{r.state}"),
            "unfinished": r.state in UNFINISHED,
            "to_tell": r.counts.get("to_tell"),
            "sent": r.counts.get("sent", 0),
            "failed": r.counts.get("failed", 0),
            "already": r.counts.get("already_told", 0),
            "message": r.message_number,
            "when": _when(r.started_at, lang),
            "by": r.created_by,
        }
        for r in reversed(view.runs)
    ]
    exception = None
    if view.exception:
        letter = str(view.exception.get("letter"))
        exception = {
            "letter": letter,
            "name": EXCEPTION_NAMES[letter][lang == "en"] if letter in EXCEPTION_NAMES else letter,
            "reasoning": view.exception.get("reasoning"),
            "public": view.exception.get("public_communication"),
        }
    return {
        "breach": {
            "id": s.id,
            "title": s.title,
            "aware": _when(s.aware_at, lang),
            "discovered": _when(facts.discovered_at, lang),
            "discovered_by": facts.discovered_by,
            "description": facts.description,
            "people": count_text(facts.people_affected, lang),
            "records": count_text(facts.records_affected, lang),
            "version": s.version,
            "created_by": view.created_by,
            "delay_reasons": facts.delay_reasons,
        },
        "clock": _clock_view(s.clock, lang),
        "risk": view.risk,
        "exception": exception,
        "next_steps": view.next_steps,
        "versions": versions,
        "submissions": submissions,
        "runs": runs,
        "notices": [
            {
                "channel": CHANNEL_NAMES.get(n.channel, (n.channel, n.channel))[lang == "en"],
                "count": n.count,
            }
            for n in view.notices
            if n.count
        ],
        "late": s.clock.state in ("overdue", "notified_late"),
        "risk_levels": RISK_LEVELS,
    }


@router.get("/{breach_id}", response_class=HTMLResponse)
def breach_detail(
    breach_id: int,
    request: Request,
    done: str | None = None,
    principal: Principal = Depends(NEEDED),
) -> Response:
    lang = _lang(request)
    view = _breach_or_404(request, breach_id)
    return _page(
        request,
        principal,
        "detail.html",
        {
            **_detail_context(view, lang),
            "done_key": done if done in DONE_KEYS else None,
            "errors": {},
            "form": {},
        },
        "breaches_heading",
    )


def _detail_with_errors(
    request: Request,
    principal: Principal,
    breach_id: int,
    exc: InvalidInput,
    form_name: str,
    form: Mapping[str, Any],
) -> Response:
    lang = _lang(request)
    view = _breach_or_404(request, breach_id)
    return _page(
        request,
        principal,
        "detail.html",
        {
            **_detail_context(view, lang),
            "done_key": None,
            "errors": {form_name: _errors(exc, lang)},
            "form": {form_name: dict(form)},
        },
        "breaches_heading",
        status_code=422,
    )


@router.post("/{breach_id}/assess", response_class=HTMLResponse)
async def breach_assess(
    breach_id: int, request: Request, principal: Principal = Depends(NEEDED)
) -> Response:
    form = await _form(request)
    _breach_or_404(request, breach_id)
    try:
        with db(request) as session:
            service.assess_risk(
                session,
                breach_id,
                str(form.get("risk", "")),
                str(form.get("risk_reasoning", "")),
                actor=f"web:{principal.username}",
            )
    except InvalidInput as exc:
        return _detail_with_errors(request, principal, breach_id, exc, "assess", form)
    return RedirectResponse(
        _url(request, f"/admin/breaches/{breach_id}?done=assessed"), status_code=303
    )


@router.post("/{breach_id}/exception", response_class=HTMLResponse)
async def breach_exception(
    breach_id: int, request: Request, principal: Principal = Depends(NEEDED)
) -> Response:
    form = await _form(request)
    _breach_or_404(request, breach_id)
    try:
        with db(request) as session:
            service.record_exception(
                session,
                breach_id,
                str(form.get("art34_3", "")),
                str(form.get("reasoning", "")),
                public_communication=str(form.get("public_communication", "")),
                actor=f"web:{principal.username}",
            )
    except InvalidInput as exc:
        return _detail_with_errors(request, principal, breach_id, exc, "exception", form)
    return RedirectResponse(
        _url(request, f"/admin/breaches/{breach_id}?done=exception"), status_code=303
    )


@router.post("/{breach_id}/submitted", response_class=HTMLResponse)
async def breach_submitted(
    breach_id: int, request: Request, principal: Principal = Depends(NEEDED)
) -> Response:
    lang = _lang(request)
    form = await _form(request)
    _breach_or_404(request, breach_id)
    try:
        with db(request) as session:
            service.record_submission(
                session,
                breach_id,
                actor=f"web:{principal.username}",
                submitted_at=str(form.get("submitted_at", "")).strip() or None,
                reference=str(form.get("reference", "")),
                delay_reasons=str(form.get("delay_reasons", "")) or None,
                lang=lang,
            )
    except InvalidInput as exc:
        return _detail_with_errors(request, principal, breach_id, exc, "submitted", form)
    return RedirectResponse(
        _url(request, f"/admin/breaches/{breach_id}?done=submitted"), status_code=303
    )


# --- staged update -------------------------------------------------------------------------


@router.get("/{breach_id}/edit", response_class=HTMLResponse)
def breach_edit(
    breach_id: int, request: Request, principal: Principal = Depends(NEEDED)
) -> Response:
    lang = _lang(request)
    view = _breach_or_404(request, breach_id)
    choices = _choices(request, lang)
    values = _with_other(_form_values(view.facts.content()), choices)
    values["note"] = ""
    return _page(
        request,
        principal,
        "form.html",
        {"mode": "edit", "breach_id": breach_id, "values": values, "errors": {}, **choices},
        "breach_edit_heading",
    )


@router.post("/{breach_id}/update", response_class=HTMLResponse)
async def breach_update(
    breach_id: int, request: Request, principal: Principal = Depends(NEEDED)
) -> Response:
    lang = _lang(request)
    form = await _form(request)
    view = _breach_or_404(request, breach_id)
    data = _facts_from_form(form)
    # A field emptied in the form is cleared; required ones are then reported as missing.
    changes: dict[str, Any] = {name: None for name in BreachFacts.model_fields}
    changes.update(data)
    try:
        with db(request) as session:
            service.update_breach(
                session,
                breach_id,
                changes,
                actor=f"web:{principal.username}",
                note=str(form.get("note", "")) or None,
            )
    except InvalidInput as exc:
        choices = _choices(request, lang)
        values = _form_values({})
        values.update({k: form.get(k, "") for k in (*TEXT_FIELDS, *MOMENT_FIELDS, *COUNT_FIELDS)})
        for name in LIST_FIELDS:
            values[name] = list(form.get(name, []))
            values[f"{name}_other"] = form.get(f"{name}_other", "")
        values["breach_types"] = list(form.get("breach_types", []))
        values["note"] = form.get("note", "")
        return _page(
            request,
            principal,
            "form.html",
            {
                "mode": "edit",
                "breach_id": view.id,
                "values": values,
                "errors": _errors(exc, lang),
                **choices,
            },
            "breach_edit_heading",
            status_code=422,
        )
    return RedirectResponse(
        _url(request, f"/admin/breaches/{breach_id}?done=updated"), status_code=303
    )


# --- the draft to Datatilsynet -------------------------------------------------------------


def _draft_lang(value: str | None, fallback: Lang) -> Lang:
    return "en" if value == "en" else "nb" if value == "nb" else fallback


def _draft(request: Request, breach_id: int, lang: Lang, version: int | None) -> Any:
    with db(request) as session:
        try:
            return service.draft_for(session, breach_id, lang=lang, version=version)
        except (NotFound, InvalidInput):
            raise HTTPException(404) from None


@router.get("/{breach_id}/draft", response_class=HTMLResponse)
def breach_draft(
    breach_id: int,
    request: Request,
    draft_lang: str | None = None,
    version: int | None = None,
    principal: Principal = Depends(NEEDED),
) -> Response:
    lang = _lang(request)
    view = _breach_or_404(request, breach_id)
    chosen = _draft_lang(draft_lang, lang)
    made = _draft(request, breach_id, chosen, version)
    number = version or view.summary.version
    return _page(
        request,
        principal,
        "draft.html",
        {
            "breach_id": breach_id,
            "draft": made,
            "draft_lang": chosen,
            "version": number,
            "versions": [v.number for v in reversed(view.versions)],
            "missing": made.missing(),
        },
        "breach_draft_heading",
    )


@router.get("/{breach_id}/draft.{fmt}")
def breach_draft_download(
    breach_id: int,
    fmt: str,
    request: Request,
    draft_lang: str | None = None,
    version: int | None = None,
    principal: Principal = Depends(NEEDED),
) -> Response:
    if fmt not in ("txt", "pdf"):
        raise HTTPException(404)
    chosen = _draft_lang(draft_lang, _lang(request))
    made = _draft(request, breach_id, chosen, version)
    number = version or _breach_or_404(request, breach_id).summary.version
    with db(request) as session:
        service.record_draft_export(
            session,
            breach_id,
            version=number,
            fmt="text" if fmt == "txt" else "pdf",
            lang=chosen,
            actor=f"web:{principal.username}",
        )
    name = f"avvik-{breach_id}-v{number}-{chosen}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{quote(name)}"'}
    if fmt == "txt":
        return Response(
            draft_text(made).encode("utf-8"),
            media_type="text/plain; charset=utf-8",
            headers=headers,
        )
    return Response(draft_pdf(made), media_type="application/pdf", headers=headers)


# --- telling the people affected -----------------------------------------------------------


def _notify_page(
    request: Request,
    principal: Principal,
    breach_id: int,
    form: Mapping[str, Any],
    *,
    preview: Any = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    lang = _lang(request)
    view = _breach_or_404(request, breach_id)
    with db(request) as session:
        register = service._register(session)
    datasets = []
    if register is not None:
        for ds in register.dataset:
            for collection in ds.collections:
                datasets.append(f"{ds.fides_key}.{collection.name}")
    return _page(
        request,
        principal,
        "notify.html",
        {
            "breach": {"id": view.id, "title": view.summary.title},
            "risk": view.risk,
            "exception": view.exception,
            "clock": _clock_view(view.summary.clock, lang),
            "form": {
                "select": form.get("select", ""),
                "channel": form.get("channel", "email"),
                "notice_lang": form.get("notice_lang", lang),
                "message": form.get("message", ""),
            },
            "collections": datasets,
            "preview": preview,
            "errors": errors or {},
            "told": sum(n.count for n in view.notices),
        },
        "breach_notify_heading",
        status_code=status_code,
    )


@router.get("/{breach_id}/notify", response_class=HTMLResponse)
def breach_notify_form(
    breach_id: int, request: Request, principal: Principal = Depends(NEEDED)
) -> Response:
    return _notify_page(request, principal, breach_id, {})


def _dispatch(request: Request, background: BackgroundTasks, run_id: int) -> None:
    """Hand the sending to the job runner: inline, it runs in this process after the
    response; with Celery, on a worker (which reads its own configured database)."""
    from datavern.jobs.runner import get_runner

    runner = get_runner()
    if runner.name == "inline":
        background.add_task(
            runner.enqueue,
            "breach.notify_subjects",
            run_id=run_id,
            url=request.app.state.database_url,
        )
    else:
        runner.enqueue("breach.notify_subjects", run_id=run_id)


@router.post("/{breach_id}/notify", response_class=HTMLResponse)
async def breach_notify(
    breach_id: int,
    request: Request,
    background: BackgroundTasks,
    principal: Principal = Depends(NEEDED),
) -> Response:
    lang = _lang(request)
    form = await _form(request)
    _breach_or_404(request, breach_id)
    send = form.get("action") == "send"
    try:
        if send:
            # Selecting and sending can take long for a large selection: the job does it.
            queued = subjects.queue_notice(
                breach_id,
                str(form.get("select", "")),
                str(form.get("channel", "")),
                str(form.get("notice_lang", "")),
                actor=f"web:{principal.username}",
                custom_message=str(form.get("message", "")) or None,
                url=request.app.state.database_url,
            )
            _dispatch(request, background, queued.run_id)
        else:
            result = subjects.notify_subjects(
                breach_id,
                str(form.get("select", "")),
                str(form.get("channel", "")),
                str(form.get("notice_lang", "")),
                actor=f"web:{principal.username}",
                dry_run=True,
                custom_message=str(form.get("message", "")) or None,
                url=request.app.state.database_url,
            )
    except InvalidInput as exc:
        return _notify_page(
            request, principal, breach_id, form, errors=_errors(exc, lang), status_code=422
        )
    except DatavernError as exc:
        return _notify_page(
            request, principal, breach_id, form, errors={"": [str(exc)]}, status_code=502
        )
    if send:
        return RedirectResponse(
            _url(request, f"/admin/breaches/{breach_id}?done=notified"), status_code=303
        )
    return _notify_page(request, principal, breach_id, form, preview=result)


@router.post("/{breach_id}/notices/{run_id}/resume", response_class=HTMLResponse)
async def breach_notice_resume(
    breach_id: int,
    run_id: int,
    request: Request,
    background: BackgroundTasks,
    principal: Principal = Depends(NEEDED),
) -> Response:
    """Continue a sending that stopped (failed, or its process was killed)."""
    await _form(request)
    view = _breach_or_404(request, breach_id)
    run = next((r for r in view.runs if r.id == run_id), None)
    if run is None or run.state not in UNFINISHED:
        raise HTTPException(status_code=404)
    _dispatch(request, background, run_id)
    return RedirectResponse(
        _url(request, f"/admin/breaches/{breach_id}?done=resumed"), status_code=303
    )
