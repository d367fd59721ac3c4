"""What a support agent does with a case: assign, approve, deny, extend, forward,
manual tasks, and following the DSR engine to the end (the admin console and the
API call these; neither holds any rule of its own).

* **Approve** a verified case. An access, portability, rectification, erasure or
  restriction request becomes a request of the DSR engine (service.py), which
  runs after the commit (``execute``); systems without a dataset get a manual
  task each. An objection or a withdrawal of consent is written to the consent
  ledger at once (consent/service/ledger.py). A case about data held for a customer
  (``controller_key``) is forwarded instead (processor.py).
* **Deny** with the reasons. The subject is told them, and that they may
  complain to Datatilsynet and take the matter to court (art. 12(4)).
* **Extend** by one or two months with a reason, only while the first month
  runs (deadlines.py); the subject is told at once (art. 12(3)).
* The case is **done** when the engine's request is done and every manual task
  is complete; the subject then gets the e-mail with the signed link to the
  package (links.py) for access and portability.

Each function takes the caller's session, records a case event and an audit
entry, and returns the ids of the e-mails it queued (deliver them after the
commit). Refusals are ``CaseRefused`` with a stable ``key`` the pages translate.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavern.core import audit, clock
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem
from datavern.dsr import deadlines, intake, links, processor
from datavern.dsr.case_models import CaseEvent, ManualTask, PrivacyCase
from datavern.dsr.intake import AUDIT_TARGET, CORRECTION_FIELDS, mail_subject, unseal

MIN_REASON: Final = 10
MAX_NOTE: Final = 5000


class CaseRefused(DatavernError):
    """An action the case's state or the law does not allow. ``key`` names it for the
    message catalog (``case_err_<key>``); the text is English for the API and logs."""

    exit_code = 2

    def __init__(self, key: str, message: str, **values: Any) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


@dataclass
class ActionResult:
    status: str
    messages: list[str] = field(default_factory=list)
    # An engine request to run after the commit (``execute``).
    run_engine: str | None = None


def get(session: Session, case_id: str) -> PrivacyCase:
    case = intake.find_case(session, case_id)
    if case is None:
        raise NotFound(f"no request {case_id!r}")
    return case


def _event(session: Session, case: PrivacyCase, event: str, actor: str, **details: Any) -> None:
    session.add(
        CaseEvent(case_id=case.id, at=clock.now(), actor=actor, event=event, details=details)
    )


def _audit(session: Session, case: PrivacyCase, action: str, actor: str, **details: Any) -> None:
    audit.record(session, action, AUDIT_TARGET.format(case.id), details, actor=actor)


def _text(value: str, name: str, *, minimum: int = 1) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        raise InvalidInput(
            Problem(
                f"write the reason in at least {minimum} characters (it is sent to the person)"
                if minimum > 1
                else "this field is required",
                path=name,
            )
        )
    if len(text) > MAX_NOTE:
        raise InvalidInput(Problem(f"at most {MAX_NOTE} characters", path=name))
    return text


def _open(case: PrivacyCase) -> None:
    if case.status in ("done", "denied"):
        raise CaseRefused("closed", "the request is closed")


# --------------------------------------------------------------------------- #
# Assignment and identity
# --------------------------------------------------------------------------- #


def assign(session: Session, case: PrivacyCase, assignee: str | None, *, actor: str) -> None:
    from datavern.accounts.models import User
    from datavern.accounts.rules import Permission, has_permission

    name = (assignee or "").strip().lower() or None
    if name is not None:
        user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
        if (
            user is None
            or not user.active
            or not has_permission(user.role, Permission.handle_requests)
        ):
            raise InvalidInput(Problem("choose a user who handles requests", path="assignee"))
    case.assignee = name
    _event(session, case, "assigned", actor, assignee=name)
    _audit(session, case, "dsr.case.assign", actor, assignee=name)


def verify_manually(session: Session, case: PrivacyCase, note: str, *, actor: str) -> list[str]:
    """The agent confirmed the identity another way (a phone call, an ID document)."""
    _open(case)
    if case.verified_at is not None:
        raise CaseRefused("already_verified", "the identity is already confirmed")
    text = _text(note, "note")
    case.code_attempts = 0
    case.locked_reason = None
    _event(session, case, "verified_by_agent", actor, note=text)
    return intake.mark_verified(session, case, method="agent", actor=actor)


def unlock(session: Session, case: PrivacyCase, *, actor: str) -> list[str]:
    """Let the subject try again: wrong codes forgotten and a new code sent."""
    _open(case)
    case.code_attempts = 0
    case.locked_reason = None
    if case.status == "locked":
        case.status = "unverified"
    case.codes_sent = 0
    _event(session, case, "unlocked", actor)
    _audit(session, case, "dsr.case.unlock", actor)
    _code, messages = intake.send_code(session, case, actor=actor)
    return messages


# --------------------------------------------------------------------------- #
# Approve: the engine, the consent ledger, or the controller
# --------------------------------------------------------------------------- #


def _needs_verified(case: PrivacyCase) -> None:
    _open(case)
    if case.verified_at is None:
        raise CaseRefused("not_verified", "the person's identity is not confirmed yet (art. 12(6))")


def rectify_items(case: PrivacyCase, given: list[str] | None) -> list[str]:
    """``--set`` items for the engine: the agent's, else the subject's own correction."""
    items = [g.strip() for g in (given or []) if g and g.strip()]
    if items:
        return items
    sealed = unseal(case)
    target = CORRECTION_FIELDS.get(sealed.correction_field, "")
    if not target:
        raise InvalidInput(
            Problem(
                "say which field to correct, as FIELD=VALUE (e.g. user.name=Ola Nordmann)",
                path="rectify",
            )
        )
    return [f"{target}={sealed.correction_value}"]


def _manual_tasks(session: Session, case: PrivacyCase, register: Any) -> int:
    """A task per system that no dataset covers (an accounting SaaS, paper archives)."""
    covered = {d.fides_key for d in register.dataset} | processor.processor_systems(register)
    count = 0
    now = clock.now()
    for system in register.systems:
        if system.key in covered:
            continue
        session.add(
            ManualTask(
                case_id=case.id,
                system=system.key,
                title=system.name,
                state="open",
                created_at=now,
            )
        )
        count += 1
    return count


def approve(
    session: Session, case: PrivacyCase, *, actor: str, rectify: list[str] | None = None
) -> ActionResult:
    _needs_verified(case)
    if case.status not in ("verified",):
        raise CaseRefused("not_waiting", "the request is not waiting for a decision")
    if case.controller_key:
        return forward(session, case, case.controller_key, actor=actor)
    register = intake.current_register(session)
    case.decided_by = actor
    case.decided_at = clock.now()
    if case.kind in ("objection", "withdraw_consent"):
        return _consent_decision(session, case, register, actor)
    if register is None:
        raise CaseRefused("no_register", "no register has been applied yet")
    from datavern.dsr import service

    sealed = unseal(case)
    items = [(name, value) for name, values in sealed.identities.items() for value in values]
    identities = service.parse_request_identities(register, items)
    request = service.create_request(
        session,
        case.kind,
        identities,
        actor=actor,
        options={"lang": case.lang, "case": case.id},
        rectify=rectify_items(case, rectify) if case.kind == "rectification" else (),
    )
    case.dsr_request_id = request.id
    case.status = "in_progress"
    tasks = _manual_tasks(session, case, register)
    _event(session, case, "approved", actor, engine_request=request.id, manual_tasks=tasks)
    _audit(session, case, "dsr.case.approve", actor, engine_request=request.id, manual_tasks=tasks)
    return ActionResult(case.status, [], request.id)


def _consent_decision(
    session: Session, case: PrivacyCase, register: Any, actor: str
) -> ActionResult:
    from datavern.consent import service as consent

    sealed = unseal(case)
    subject = f"email:{sealed.email}"
    if case.kind == "objection":
        purposes = case.purposes or [intake.DIRECT_MARKETING]
        decision = "object"
    else:
        purposes = case.purposes or intake.consent_choices(register)
        decision = "withdraw"
    recorded = []
    for purpose in purposes:
        consent.record(
            session,
            subject=subject,
            purpose=purpose,
            decision=decision,
            method="api",
            language=case.lang,
            collection_point=f"privacy-centre case {intake.reference(case.id)}",
            recorded_by=actor,
        )
        recorded.append(purpose)
    case.status = "in_progress"
    _event(session, case, "approved", actor, ledger=decision, purposes=recorded)
    _audit(session, case, "dsr.case.approve", actor, ledger=decision, purposes=recorded)
    messages = complete(session, case, actor=actor)
    return ActionResult(case.status, messages)


def execute(case_id: str, *, actor: str) -> str:
    """Run the case's engine request (after the approval is committed), then follow it.

    With ``DATAVERN_JOBS=inline`` the request runs here, now; the case is brought
    up to date and its e-mails delivered. Returns the case's status.
    """
    from datavern.core.db import session_scope
    from datavern.dsr import tasks

    with session_scope() as session:
        case = get(session, case_id)
        request_id = case.dsr_request_id
    if request_id:
        # The request records its own failure; sync shows it to the agent.
        with contextlib.suppress(DatavernError):
            tasks.submit(request_id, actor=actor)
    with session_scope() as session:
        case = get(session, case_id)
        messages = sync(session, case, actor=actor)
        status = case.status
    deliver(messages)
    return status


def deliver(messages: list[str]) -> None:
    """Send queued e-mails now when SMTP is configured (else they stay in the outbox)."""
    if not messages:
        return
    from datavern.notify import email

    settings = intake.smtp_settings()
    if not settings.host:
        return  # kept in the outbox: nothing to send

    # A message that cannot be sent now stays pending: the notify.deliver task retries.
    with contextlib.suppress(DatavernError):
        email.deliver(ids=messages, settings=settings)


def sync(session: Session, case: PrivacyCase, *, actor: str = "privacy-centre") -> list[str]:
    """Bring an approved case up to date with its engine request and manual tasks."""
    if case.status not in ("in_progress", "failed") or not case.dsr_request_id:
        return []
    from datavern.dsr.models import DataSubjectRequest

    request = session.get(DataSubjectRequest, case.dsr_request_id)
    if request is None:
        return []
    if request.status in ("failed", "partial"):
        if case.status != "failed":
            case.status = "failed"
            _event(session, case, "engine_failed", actor, engine_status=request.status)
            _audit(session, case, "dsr.case.failed", actor, engine_status=request.status)
        return []
    if request.status != "done":
        return []
    if case.status == "failed":
        case.status = "in_progress"
    open_tasks = session.execute(
        select(func.count())
        .select_from(ManualTask)
        .where(ManualTask.case_id == case.id, ManualTask.state == "open")
    ).scalar_one()
    if open_tasks:
        return []
    return complete(session, case, actor=actor)


def package_path(case: PrivacyCase) -> Any:
    from datavern.dsr.execute import default_output

    return default_output(case.dsr_request_id) if case.dsr_request_id else None


def download_url(case: PrivacyCase) -> str | None:
    if case.kind not in ("access", "portable") or case.closed_at is None:
        return None
    token = links.make_token(case.id, case.closed_at)
    suffix = "/last-ned" if case.lang == "nb" else "/download"
    return f"{intake.status_url(case.id, case.lang)}{suffix}?token={token}"


def complete(session: Session, case: PrivacyCase, *, actor: str) -> list[str]:
    case.status = "done"
    case.closed_at = clock.now()
    _event(session, case, "done", actor)
    _audit(session, case, "dsr.case.done", actor, kind=case.kind)
    url = download_url(case)
    expires = intake.received_text(links.expiry_of(case.closed_at), case.lang) if url else ""
    return mail_subject(
        session, case, "dsr_completed", download_url=url or "", link_expires=expires
    )


def retry(session: Session, case: PrivacyCase, *, actor: str) -> ActionResult:
    if case.status != "failed" or not case.dsr_request_id:
        raise CaseRefused("not_failed", "only a failed request can be run again")
    case.status = "in_progress"
    _event(session, case, "retried", actor)
    _audit(session, case, "dsr.case.retry", actor, engine_request=case.dsr_request_id)
    return ActionResult(case.status, [], case.dsr_request_id)


# --------------------------------------------------------------------------- #
# Deny, extend
# --------------------------------------------------------------------------- #


def deny(session: Session, case: PrivacyCase, reason: str, *, actor: str) -> ActionResult:
    """Refuse the request; the subject is told why and where to complain (art. 12(4))."""
    _open(case)
    if case.status == "in_progress":
        raise CaseRefused("in_progress", "the request is already being carried out")
    text = _text(reason, "reason", minimum=MIN_REASON)
    case.status = "denied"
    case.decision_reason = text
    case.decided_by = actor
    case.decided_at = case.closed_at = clock.now()
    _event(session, case, "denied", actor, reason=text)
    _audit(session, case, "dsr.case.deny", actor, reason=text)
    return ActionResult(case.status, mail_subject(session, case, "dsr_denied", reason=text))


def current_deadline(case: PrivacyCase) -> deadlines.Deadline:
    return deadlines.deadline(case.received_at, case.deadline_months)


def extend(
    session: Session, case: PrivacyCase, reason: str, *, months: int = 2, actor: str
) -> ActionResult:
    """Extend by ``months`` (1 or 2); refused after the first month (art. 12(3))."""
    _open(case)
    text = _text(reason, "reason", minimum=MIN_REASON)
    try:
        extension = deadlines.extend(
            current_deadline(case), reason=text, at=clock.now(), further_months=months
        )
    except deadlines.ExtensionRefused as exc:
        raise CaseRefused(
            f"extension_{exc.code}", str(exc), nb=exc.message("nb"), en=exc.message("en")
        ) from None
    previous = case.due_on
    case.due_on = extension.deadline.due
    case.deadline_months = extension.deadline.months
    case.extension_reason = text
    case.extended_at = clock.now()
    _event(
        session,
        case,
        "extended",
        actor,
        reason=text,
        previous_due=previous.isoformat(),
        due=case.due_on.isoformat(),
    )
    _audit(
        session,
        case,
        "dsr.case.extend",
        actor,
        months=months,
        previous_due=previous.isoformat(),
        due=case.due_on.isoformat(),
    )
    return ActionResult(case.status, mail_subject(session, case, "dsr_extended", reason=text))


# --------------------------------------------------------------------------- #
# Forwarding to the controller
# --------------------------------------------------------------------------- #


def forward(
    session: Session, case: PrivacyCase, controller_key: str, *, actor: str
) -> ActionResult:
    """Send the request to the customer who controls the data, and tell the subject."""
    from datavern.dsr.messages import kind_name
    from datavern.notify import email

    _needs_verified(case)
    if case.status not in ("verified",):
        raise CaseRefused("not_waiting", "the request is not waiting for a decision")
    register = intake.current_register(session)
    entry = processor.customer(register, controller_key)
    if entry is None:
        raise InvalidInput(Problem("choose a customer from the register", path="controller"))
    sealed = unseal(case)
    langs = register.organisation.languages if register else ["nb"]
    lang = "nb" if "nb" in langs else "en"
    context = intake.mail_context(session, case)
    context.update(processor.forward_context(entry))
    context.update(
        {
            "kind_name": kind_name(case.kind, lang),
            "identities": [
                (name, value)
                for name, values in sorted(sealed.identities.items())
                for value in values
            ],
            "details": sealed.details,
            "correction": (
                f"{sealed.correction_field}: {sealed.correction_value}"
                if sealed.correction_value
                else ""
            ),
            "purposes": ", ".join(case.purposes),
            "received": intake.received_text(case.received_at, lang),
            "contact": sealed.email,
        }
    )
    messages = [
        email.queue(
            session,
            to=entry.email,
            template="dsr_forward_controller",
            lang=lang,
            context=context,
            category="dsr_forward_controller",
        )
    ]
    case.controller_key = entry.key
    case.status = "forwarded"
    case.forwarded_at = clock.now()
    case.decided_by = actor
    case.decided_at = case.forwarded_at
    _event(session, case, "forwarded", actor, controller=entry.key)
    _audit(session, case, "dsr.case.forward", actor, controller=entry.key)
    messages += mail_subject(session, case, "dsr_forwarded", **processor.forward_context(entry))
    return ActionResult(case.status, messages)


def controller_answered(session: Session, case: PrivacyCase, note: str, *, actor: str) -> None:
    if case.status != "forwarded":
        raise CaseRefused("not_forwarded", "the request was not forwarded")
    text = _text(note, "note")
    case.status = "done"
    case.closed_at = clock.now()
    _event(session, case, "controller_answered", actor, note=text)
    _audit(session, case, "dsr.case.controller_answered", actor)


# --------------------------------------------------------------------------- #
# Manual tasks
# --------------------------------------------------------------------------- #


def add_task(session: Session, case: PrivacyCase, system: str, title: str, *, actor: str) -> int:
    _open(case)
    name = _text(system, "system")[:200]
    task = ManualTask(
        case_id=case.id,
        system=name,
        title=_text(title, "title"),
        state="open",
        created_at=clock.now(),
    )
    session.add(task)
    session.flush()
    _event(session, case, "task_added", actor, task=task.id, system=name)
    _audit(session, case, "dsr.case.task_add", actor, task=task.id, system=name)
    return task.id


def complete_task(
    session: Session, case: PrivacyCase, task_id: int, note: str, *, actor: str
) -> list[str]:
    task = session.get(ManualTask, task_id)
    if task is None or task.case_id != case.id:
        raise NotFound(f"no task {task_id} in this request")
    if task.state == "done":
        raise CaseRefused("task_done", "the task is already done")
    task.note = _text(note, "note")
    task.state = "done"
    task.done_by = actor
    task.done_at = clock.now()
    _event(session, case, "task_done", actor, task=task.id, system=task.system)
    _audit(session, case, "dsr.case.task_done", actor, task=task.id, system=task.system)
    return sync(session, case, actor=actor)


def tasks_of(session: Session, case: PrivacyCase) -> list[ManualTask]:
    return list(
        session.execute(
            select(ManualTask).where(ManualTask.case_id == case.id).order_by(ManualTask.id)
        ).scalars()
    )


def events_of(session: Session, case: PrivacyCase) -> list[CaseEvent]:
    return list(
        session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        ).scalars()
    )


# --------------------------------------------------------------------------- #
# Views
# --------------------------------------------------------------------------- #


def as_json(session: Session, case: PrivacyCase, *, reveal: bool = False) -> dict[str, Any]:
    """The case as the API returns it (identity values only when ``reveal``)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    data: dict[str, Any] = {
        "id": case.id,
        "reference": intake.reference(case.id),
        "kind": case.kind,
        "status": case.status,
        "lang": case.lang,
        "channel": case.channel,
        "identity_types": list(case.identity_types),
        "purposes": list(case.purposes),
        "controller": case.controller_key,
        "received_at": iso(case.received_at),
        "due_on": case.due_on.isoformat(),
        "extended": case.deadline_months > 1,
        "extension_reason": case.extension_reason,
        "verified": case.verified_at is not None,
        "verified_at": iso(case.verified_at),
        "verification_method": case.verification_method,
        "locked_reason": case.locked_reason,
        "assignee": case.assignee,
        "decision_reason": case.decision_reason,
        "decided_by": case.decided_by,
        "decided_at": iso(case.decided_at),
        "forwarded_at": iso(case.forwarded_at),
        "closed_at": iso(case.closed_at),
        "engine_request": case.dsr_request_id,
        "overdue": case.status not in ("done", "denied")
        and deadlines.is_overdue(clock.now(), case.due_on),
        "tasks": [
            {
                "id": t.id,
                "system": t.system,
                "title": t.title,
                "state": t.state,
                "note": t.note,
                "done_by": t.done_by,
                "done_at": iso(t.done_at),
            }
            for t in tasks_of(session, case)
        ],
    }
    if reveal:
        sealed = unseal(case)
        data["email"] = sealed.email or None
        data["identities"] = sealed.identities
        data["details"] = sealed.details or None
        data["correction"] = (
            {"field": sealed.correction_field, "value": sealed.correction_value}
            if sealed.correction_value
            else None
        )
    return data
