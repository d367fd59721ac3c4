"""The agent's queue: cases by type, status, assignee, due soon and overdue, with counts.

"Due soon" and "overdue" use the legal due date in Oslo (deadlines.py): due soon
is open and due within seven days, today included; overdue is open and past its
due day. Closed cases (done, denied) are never due soon or overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from datavern.core import clock
from datavern.core.errors import InvalidInput, Problem
from datavern.dsr import deadlines
from datavern.dsr.case_models import CASE_KINDS, CASE_STATUSES, OPEN_STATUSES, PrivacyCase

DUE_SOON_DAYS: Final = deadlines.REMINDER_DAYS[0]
PAGE_SIZE: Final = 50
UNASSIGNED: Final = "-"


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    status: str | None = None  # a status, or "open"
    assignee: str | None = None  # a username, or "-" for nobody
    due: str | None = None  # "soon" | "overdue"
    offset: int = 0
    limit: int = PAGE_SIZE

    def problems(self) -> list[Problem]:
        found = []
        if self.kind and self.kind not in CASE_KINDS:
            found.append(Problem(f"one of {', '.join(CASE_KINDS)}", path="kind"))
        if self.status and self.status not in (*CASE_STATUSES, "open"):
            found.append(Problem(f"one of open, {', '.join(CASE_STATUSES)}", path="status"))
        if self.due and self.due not in ("soon", "overdue"):
            found.append(Problem("soon or overdue", path="due"))
        if self.offset < 0:
            found.append(Problem("zero or more", path="offset"))
        if not 1 <= self.limit <= 500:
            found.append(Problem("between 1 and 500", path="limit"))
        return found

    def as_params(self) -> dict[str, str]:
        params = {"kind": self.kind, "status": self.status, "assignee": self.assignee}
        params["due"] = self.due
        return {k: v for k, v in params.items() if v}


@dataclass
class QueuePage:
    cases: list[PrivacyCase]
    total: int
    counts: dict[str, Any] = field(default_factory=dict)


def _today() -> date:
    return deadlines.oslo_date(clock.now())


def _filtered(query: Select[Any], filters: Filters, today: date) -> Select[Any]:
    if filters.kind:
        query = query.where(PrivacyCase.kind == filters.kind)
    if filters.status == "open":
        query = query.where(PrivacyCase.status.in_(OPEN_STATUSES))
    elif filters.status:
        query = query.where(PrivacyCase.status == filters.status)
    if filters.assignee == UNASSIGNED:
        query = query.where(PrivacyCase.assignee.is_(None))
    elif filters.assignee:
        query = query.where(PrivacyCase.assignee == filters.assignee.strip().lower())
    if filters.due == "overdue":
        query = query.where(PrivacyCase.status.in_(OPEN_STATUSES), PrivacyCase.due_on < today)
    elif filters.due == "soon":
        first, last = deadlines.due_soon_range(clock.now(), DUE_SOON_DAYS)
        query = query.where(
            PrivacyCase.status.in_(OPEN_STATUSES),
            PrivacyCase.due_on >= first,
            PrivacyCase.due_on <= last,
        )
    return query


def search(session: Session, filters: Filters) -> QueuePage:
    """Cases matching ``filters``, soonest due first, and the queue's counts."""
    problems = filters.problems()
    if problems:
        raise InvalidInput(problems)
    today = _today()
    query = _filtered(select(PrivacyCase), filters, today)
    total = session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    rows = list(
        session.execute(
            query.order_by(PrivacyCase.due_on, PrivacyCase.received_at, PrivacyCase.id)
            .offset(filters.offset)
            .limit(filters.limit)
        ).scalars()
    )
    return QueuePage(rows, int(total), counts(session))


def counts(session: Session) -> dict[str, Any]:
    """Cases per status and per kind (open ones), open, due soon, overdue, unassigned."""
    today = _today()
    by_status = dict.fromkeys(CASE_STATUSES, 0)
    for status, n in session.execute(
        select(PrivacyCase.status, func.count()).group_by(PrivacyCase.status)
    ):
        by_status[status] = int(n)
    by_kind = dict.fromkeys(CASE_KINDS, 0)
    for kind, n in session.execute(
        select(PrivacyCase.kind, func.count())
        .where(PrivacyCase.status.in_(OPEN_STATUSES))
        .group_by(PrivacyCase.kind)
    ):
        by_kind[kind] = int(n)

    def count(filters: Filters) -> int:
        query = _filtered(select(func.count()).select_from(PrivacyCase), filters, today)
        return int(session.execute(query).scalar_one())

    return {
        "status": by_status,
        "kind": by_kind,
        "open": sum(by_status[s] for s in OPEN_STATUSES),
        "due_soon": count(Filters(due="soon")),
        "overdue": count(Filters(due="overdue")),
        "unassigned": count(Filters(status="open", assignee=UNASSIGNED)),
    }


def overdue(session: Session) -> list[PrivacyCase]:
    """The overdue list: open cases past their legal due date, oldest due first."""
    return search(session, Filters(due="overdue", limit=500)).cases
