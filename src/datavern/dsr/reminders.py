"""The privacy centre's periodic task (``dsr.case_reminders``, daily, via ``datavern scheduler``).

* **Reminders** to the assignee 7 and 2 days before the legal due date
  (deadlines.reminder_due: moved back to a working day, one e-mail per
  reminder, never twice). A case nobody has taken goes to every active privacy
  officer and administrator with an e-mail address, so that it does not wait
  unnoticed.
* **The overdue list** (queue.overdue) is counted in the task's result; the
  admin queue shows it (filter "overdue").
* **Packages** whose download link has expired (7 days after the case closed)
  are deleted, and the case's sealed contact details wiped: nothing about the
  person stays longer than the link needs it.

The task keeps no state of its own outside the cases, so running it twice in
a day sends nothing twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavern.core import audit, clock
from datavern.core.config import get_settings
from datavern.core.db import session_scope
from datavern.dsr import deadlines, intake, links, queue
from datavern.dsr.case_models import OPEN_STATUSES, PrivacyCase
from datavern.jobs.runner import task


def _recipients(session: Session, case: PrivacyCase) -> list[str]:
    from datavern.accounts.models import User

    if case.assignee:
        user = session.execute(
            select(User).where(User.username == case.assignee, User.active.is_(True))
        ).scalar_one_or_none()
        if user is not None and user.email:
            return [user.email]
    users = session.execute(
        select(User).where(User.active.is_(True), User.role.in_(("privacy_officer", "admin")))
    ).scalars()
    return sorted({u.email for u in users if u.email})


def send_reminders(session: Session) -> int:
    from datavern.dsr.messages import kind_name
    from datavern.notify import email

    now = clock.now()
    register = intake.current_register(session)
    lang = "nb" if register is None or "nb" in register.organisation.languages else "en"
    sent = 0
    cases = session.execute(
        select(PrivacyCase).where(
            PrivacyCase.status.in_(OPEN_STATUSES),
            PrivacyCase.due_on <= deadlines.oslo_date(now) + timedelta(days=10),
        )
    ).scalars()
    base = get_settings().base_url.rstrip("/")
    for case in cases:
        already = [deadlines.Reminder.model_validate(r) for r in case.reminders_sent or []]
        due = deadlines.reminder_due(now, case.received_at, case.due_on, already)
        if due is None:
            continue
        for address in _recipients(session, case):
            email.queue(
                session,
                to=address,
                template="dsr_reminder",
                lang=lang,
                context={
                    "organisation": intake.organisation_name(register),
                    "reference": intake.reference(case.id),
                    "kind_name": kind_name(case.kind, lang),
                    "days": due.days_before,
                    "due_date": intake.due_text(case, lang),
                    "case_url": f"{base}/admin/requests/{case.id}",
                },
                category="dsr_reminder",
            )
        case.reminders_sent = [*(case.reminders_sent or []), due.model_dump(mode="json")]
        audit.record(
            session,
            "dsr.case.reminder",
            intake.AUDIT_TARGET.format(case.id),
            {"days_before": due.days_before, "due_on": case.due_on.isoformat()},
            actor="scheduler",
        )
        sent += 1
    return sent


def purge_packages(session: Session) -> int:
    """Delete packages whose link has expired; wipe the closed case's sealed details."""
    from datavern.dsr.cases import package_path

    cutoff = clock.now() - links.LINK_LIFETIME
    purged = 0
    for case in session.execute(
        select(PrivacyCase).where(
            PrivacyCase.closed_at.is_not(None),
            PrivacyCase.closed_at < cutoff,
            PrivacyCase.package_deleted_at.is_(None),
        )
    ).scalars():
        path = package_path(case)
        if path is not None and path.exists():
            path.unlink()
        case.package_deleted_at = clock.now()
        case.sealed = None
        audit.record(
            session,
            "dsr.case.purge",
            intake.AUDIT_TARGET.format(case.id),
            {"package": path is not None},
            actor="scheduler",
        )
        purged += 1
    return purged


@task("dsr.case_reminders", every=timedelta(days=1))
def case_reminders() -> dict[str, Any]:
    """Remind assignees of requests due in 7 and 2 days; count overdue; purge old packages."""
    from datavern.notify import email

    with session_scope() as session:
        reminded = send_reminders(session)
        overdue = len(queue.overdue(session))
        purged = purge_packages(session)
    email.deliver()
    return {"reminded": reminded, "overdue": overdue, "packages_deleted": purged}


@task("dsr.case_sync", every=timedelta(minutes=5))
def case_sync() -> dict[str, Any]:
    """Close approved cases whose engine request has ended (a queued runner finishes later
    than the approval): the subject gets the completion e-mail without anyone looking."""
    from datavern.dsr import cases

    messages: list[str] = []
    changed = 0
    with session_scope() as session:
        for case in session.execute(
            select(PrivacyCase).where(
                PrivacyCase.status.in_(("in_progress", "failed")),
                PrivacyCase.dsr_request_id.is_not(None),
            )
        ).scalars():
            before = case.status
            messages += cases.sync(session, case, actor="scheduler")
            changed += case.status != before
    cases.deliver(messages)
    return {"changed": changed}
