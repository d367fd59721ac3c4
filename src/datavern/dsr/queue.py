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
from sqlalchemy.orm import Session, load_only

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


_PAST = case((PrivacyCase.due_on < TODAY, 1), else_=0).label("past")
_SOON = case(
    (and_(PrivacyCase.due_on >= SOON_FIRST, PrivacyCase.due_on <= SOON_LAST), 1), else_=0
).label("soon")
# One GROUP BY over every dimension a filter or a count looks at: status, type,
# assignee, past due, due soon. The groups are few (statuses x types x handlers x 3),
# so the filtered total and every count of the header are summed from them.
COUNTS_QUERY: Final = select(
    PrivacyCase.status, PrivacyCase.kind, PrivacyCase.assignee, _PAST, _SOON, func.count()
).group_by(PrivacyCase.status, PrivacyCase.kind, PrivacyCase.assignee, _PAST, _SOON)


@dataclass(frozen=True)
class _Group:
    status: str
    kind: str
    assignee: str | None
    past: bool
    soon: bool
    count: int

    def matches(self, filters: Filters) -> bool:
        """The same rules as _conditions, for a group instead of a row."""
        is_open = self.status in OPEN_STATUSES
        if filters.kind and self.kind != filters.kind:
            return False
        if filters.status == "open" and not is_open:
            return False
        if filters.status and filters.status != "open" and self.status != filters.status:
            return False
        if filters.assignee == UNASSIGNED and self.assignee is not None:
            return False
        if (
            filters.assignee
            and filters.assignee != UNASSIGNED
            and self.assignee != filters.assignee.strip().lower()
        ):
            return False
        if filters.due == "overdue" and not (is_open and self.past):
            return False
        return not (filters.due == "soon" and not (is_open and self.soon))


def _counted(
    session: Session, filters: Filters, dates: dict[str, date]
) -> tuple[int, dict[str, Any]]:
    """(filtered total, counts) from one GROUP BY query over the cases table."""
    groups = [
        _Group(status, kind, assignee, bool(past), bool(soon), int(n))
        for status, kind, assignee, past, soon, n in session.execute(COUNTS_QUERY, dates)
    ]

    def total(wanted: Filters) -> int:
        return sum(g.count for g in groups if g.matches(wanted))

    by_status = dict.fromkeys(CASE_STATUSES, 0)
    by_kind = dict.fromkeys(CASE_KINDS, 0)
    for group in groups:
        by_status[group.status] = by_status.get(group.status, 0) + group.count
        if group.status in OPEN_STATUSES:
            by_kind[group.kind] = by_kind.get(group.kind, 0) + group.count
    figures: dict[str, Any] = {
        "status": by_status,
        "kind": by_kind,
        "open": sum(by_status[s] for s in OPEN_STATUSES),
        "due_soon": total(Filters(due="soon")),
        "overdue": total(Filters(due="overdue")),
        "unassigned": total(Filters(status="open", assignee=UNASSIGNED)),
    }
    return total(filters), figures


# What a row of the queue shows: the list loads only these (no sealed identities,
# no JSON columns to decode); the other attributes load on first use.
SUMMARY_COLUMNS: Final = (
    PrivacyCase.id,
    PrivacyCase.kind,
    PrivacyCase.status,
    PrivacyCase.assignee,
    PrivacyCase.received_at,
    PrivacyCase.due_on,
    PrivacyCase.controller_key,
    PrivacyCase.verified_at,
)


def search(session: Session, filters: Filters, *, summary: bool = False) -> QueuePage:
    """Cases matching ``filters``, soonest due first, and the queue's counts.

    Two queries: one GROUP BY (the filtered total and every count of the
    queue's header), and the page of rows (with ``summary``, only
    the columns of SUMMARY_COLUMNS).
    """
    problems = filters.problems()
    if problems:
        raise InvalidInput(problems)
    dates = _dates()
    total, figures = _counted(session, filters, dates)
    rows: list[PrivacyCase] = []
    if total > filters.offset:
        query = select(PrivacyCase).where(*_conditions(filters))
        if summary:
            query = query.options(load_only(*SUMMARY_COLUMNS))
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
