"""The agent's queue: cases by type, status, assignee, due soon and overdue, with counts.

"Due soon" and "overdue" use the legal due date in Oslo (deadlines.py): due soon
is open and due within seven days, today included; overdue is open and past its
due day. Closed cases (done, denied) are never due soon or overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, case, func, select
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


def _conditions(filters: Filters, today: date) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``filters`` (all must hold)."""
    found: list[ColumnElement[bool]] = []
    if filters.kind:
        found.append(PrivacyCase.kind == filters.kind)
    if filters.status == "open":
        found.append(PrivacyCase.status.in_(OPEN_STATUSES))
    elif filters.status:
        found.append(PrivacyCase.status == filters.status)
    if filters.assignee == UNASSIGNED:
        found.append(PrivacyCase.assignee.is_(None))
    elif filters.assignee:
        found.append(PrivacyCase.assignee == filters.assignee.strip().lower())
    if filters.due == "overdue":
        found += [PrivacyCase.status.in_(OPEN_STATUSES), PrivacyCase.due_on < today]
    elif filters.due == "soon":
        first, last = deadlines.due_soon_range(clock.now(), DUE_SOON_DAYS)
        found += [
            PrivacyCase.status.in_(OPEN_STATUSES),
            PrivacyCase.due_on >= first,
            PrivacyCase.due_on <= last,
        ]
    return found


def _count_where(conditions: list[ColumnElement[bool]]) -> ColumnElement[int]:
    """COUNT of the rows meeting every condition: a conditional aggregate (portable SQL)."""
    if not conditions:
        return func.count()
    return func.count(case((and_(*conditions), 1)))


def _counts_query(filters: Filters, today: date) -> tuple[Any, list[str]]:
    """One SELECT of conditional aggregates: the filtered total and every figure of counts()."""
    columns: dict[str, ColumnElement[int]] = {"total": _count_where(_conditions(filters, today))}
    is_open = PrivacyCase.status.in_(OPEN_STATUSES)
    for status in CASE_STATUSES:
        columns[f"status:{status}"] = _count_where([PrivacyCase.status == status])
    for kind in CASE_KINDS:
        columns[f"kind:{kind}"] = _count_where([is_open, PrivacyCase.kind == kind])
    columns["due_soon"] = _count_where(_conditions(Filters(due="soon"), today))
    columns["overdue"] = _count_where(_conditions(Filters(due="overdue"), today))
    columns["unassigned"] = _count_where(
        _conditions(Filters(status="open", assignee=UNASSIGNED), today)
    )
    names = list(columns)
    return select(*columns.values()).select_from(PrivacyCase), names


def _counted(session: Session, filters: Filters) -> tuple[int, dict[str, Any]]:
    """(filtered total, counts) from one grouped query over the cases table."""
    query, names = _counts_query(filters, _today())
    row = dict(zip(names, (int(v or 0) for v in session.execute(query).one()), strict=True))
    by_status = {s: row[f"status:{s}"] for s in CASE_STATUSES}
    by_kind = {k: row[f"kind:{k}"] for k in CASE_KINDS}
    figures: dict[str, Any] = {
        "status": by_status,
        "kind": by_kind,
        "open": sum(by_status[s] for s in OPEN_STATUSES),
        "due_soon": row["due_soon"],
        "overdue": row["overdue"],
        "unassigned": row["unassigned"],
    }
    return row["total"], figures


def search(session: Session, filters: Filters) -> QueuePage:
    """Cases matching ``filters``, soonest due first, and the queue's counts.

    Two queries: one of conditional aggregates (the filtered total and every
    count of the queue's header), and the page of rows.
    """
    problems = filters.problems()
    if problems:
        raise InvalidInput(problems)
    total, figures = _counted(session, filters)
    rows: list[PrivacyCase] = []
    if total > filters.offset:
        query = select(PrivacyCase).where(*_conditions(filters, _today()))
        rows = list(
            session.execute(
                query.order_by(PrivacyCase.due_on, PrivacyCase.received_at, PrivacyCase.id)
                .offset(filters.offset)
                .limit(filters.limit)
            ).scalars()
        )
    return QueuePage(rows, total, figures)


def counts(session: Session) -> dict[str, Any]:
    """Cases per status and per kind (open ones), open, due soon, overdue, unassigned."""
    return _counted(session, Filters())[1]


def overdue(session: Session) -> list[PrivacyCase]:
    """The overdue list: open cases past their legal due date, oldest due first."""
    return search(session, Filters(due="overdue", limit=500)).cases
