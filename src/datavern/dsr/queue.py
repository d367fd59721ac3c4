"""The agent's queue: cases by type, status, assignee, due soon and overdue, with counts.

"Due soon" and "overdue" use the legal due date in Oslo (deadlines.py): due soon
is open and due within seven days, today included; overdue is open and past its
due day. Closed cases (done, denied) are never due soon or overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, Date, and_, bindparam, case, func, select
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


# The dates a query compares with, as bound parameters: the statements are built once
# per filter combination and reused (SQLAlchemy caches their compiled form too).
TODAY: Final = bindparam("today", type_=Date())
SOON_FIRST: Final = bindparam("soon_first", type_=Date())
SOON_LAST: Final = bindparam("soon_last", type_=Date())


def _dates() -> dict[str, date]:
    first, last = deadlines.due_soon_range(clock.now(), DUE_SOON_DAYS)
    return {"today": _today(), "soon_first": first, "soon_last": last}


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``filters`` (all must hold), dates as bound parameters."""
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
        found += [PrivacyCase.status.in_(OPEN_STATUSES), PrivacyCase.due_on < TODAY]
    elif filters.due == "soon":
        found += [
            PrivacyCase.status.in_(OPEN_STATUSES),
            PrivacyCase.due_on >= SOON_FIRST,
            PrivacyCase.due_on <= SOON_LAST,
        ]
    return found


def _count_where(conditions: list[ColumnElement[bool]]) -> ColumnElement[int]:
    """COUNT of the rows meeting every condition: a conditional aggregate (portable SQL)."""
    if not conditions:
        return func.count()
    return func.count(case((and_(*conditions), 1)))


_statements: dict[tuple[str | None, ...], tuple[Any, list[str]]] = {}


def _counts_query(filters: Filters) -> tuple[Any, list[str]]:
    """One SELECT of conditional aggregates: the filtered total and every figure of counts()."""
    key = (filters.kind, filters.status, filters.assignee, filters.due)
    built = _statements.get(key)
    if built is not None:
        return built
    columns: dict[str, ColumnElement[int]] = {"total": _count_where(_conditions(filters))}
    is_open = PrivacyCase.status.in_(OPEN_STATUSES)
    for status in CASE_STATUSES:
        columns[f"status:{status}"] = _count_where([PrivacyCase.status == status])
    for kind in CASE_KINDS:
        columns[f"kind:{kind}"] = _count_where([is_open, PrivacyCase.kind == kind])
    columns["due_soon"] = _count_where(_conditions(Filters(due="soon")))
    columns["overdue"] = _count_where(_conditions(Filters(due="overdue")))
    columns["unassigned"] = _count_where(_conditions(Filters(status="open", assignee=UNASSIGNED)))
    built = select(*columns.values()).select_from(PrivacyCase), list(columns)
    if len(_statements) > 64:  # assignee names make the combinations open-ended
        _statements.clear()
    _statements[key] = built
    return built


def _counted(
    session: Session, filters: Filters, dates: dict[str, date]
) -> tuple[int, dict[str, Any]]:
    """(filtered total, counts) from one grouped query over the cases table."""
    query, names = _counts_query(filters)
    values = session.execute(query, dates).one()
    row = dict(zip(names, (int(v or 0) for v in values), strict=True))
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
    dates = _dates()
    total, figures = _counted(session, filters, dates)
    rows: list[PrivacyCase] = []
    if total > filters.offset:
        query = select(PrivacyCase).where(*_conditions(filters))
        rows = list(
            session.execute(
                query.order_by(PrivacyCase.due_on, PrivacyCase.received_at, PrivacyCase.id)
                .offset(filters.offset)
                .limit(filters.limit),
                dates,
            ).scalars()
        )
    return QueuePage(rows, total, figures)


def counts(session: Session) -> dict[str, Any]:
    """Cases per status and per kind (open ones), open, due soon, overdue, unassigned."""
    return _counted(session, Filters(), _dates())[1]


def overdue(session: Session) -> list[PrivacyCase]:
    """The overdue list: open cases past their legal due date, oldest due first."""
    return search(session, Filters(due="overdue", limit=500)).cases
