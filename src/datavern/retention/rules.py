"""Retention: due dates, legal holds and their precedence; pure, no I/O.

GDPR art. 5(1)(e) says personal data is kept no longer than its purpose needs;
some laws say how long it *must* be kept (bokføringsloven § 13). A retention
rule in the register names a collection, the date that starts the period (a
date field of each row, or the end of the financial year that date falls in),
the period (ISO 8601) and what happens when it has run out (delete, anonymise,
aggregate then delete). A legal hold stops all of it: a held row is never due,
and an erasure request leaves it alone until the hold ends.

Decisions (docs/retention.md says the same for users):

* **Last day kept, first day due.** A row is kept through ``start + period``
  and is due from the day after. An invoice dated 15 March 2024 under
  bokføringsloven § 13 (1) nr. 1-4 (five years after the end of the financial
  year, calendar year) is kept through 31 December 2029 and swept from
  1 January 2030. A log line of 15 March 2024 kept ``P90D`` is kept through
  13 June 2024 and swept from 14 June.
* **Calendar arithmetic.** Years and months move the calendar date and keep the
  day of the month, clamped to the month's last day: 29 February 2024 + P1Y is
  28 February 2025 (there is no 29 February 2025), 31 August + P6M is the last
  day of February. Weeks and days are then added as days.
* **Days are Norwegian days.** "Today" is the date in Europe/Oslo. A
  timezone-aware timestamp counts on its Oslo date. A naive timestamp (no zone)
  may have been written in UTC or in Norwegian time; Datavern counts it on the
  *later* of the two dates (it adds two hours, Oslo's largest offset), so that
  no row is ever swept before its time; at worst it is swept a day late. A row
  whose date is empty or unreadable is never due (its age is unknown).
* **Financial year.** The calendar year unless the organisation has another
  (regnskapsloven § 1-7); its last day is given as ``MM-DD``. A 30 June year
  end on 29 February clamps like any other date.
* **Holds win.** A hold covers a row when it is active (started, not ended) and
  its scope reaches the row: the whole collection, a record set (conditions on
  the row's fields), or a data subject (the rows Datavern finds for that
  person). A covered row is neither swept nor erased. A condition that cannot
  be evaluated (an empty field, a value of the wrong type) counts as covering:
  when in doubt, the data is kept.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "HOLD_KINDS",
    "HOLD_SCOPES",
    "NAIVE_SHIFT",
    "OPERATORS",
    "OSLO",
    "Condition",
    "ConditionError",
    "HoldSpec",
    "Period",
    "PeriodError",
    "RowDecision",
    "RuleSpec",
    "add_period",
    "bound_for_cutoff",
    "canonical_json",
    "coerce_for_kind",
    "conditions_match",
    "covering_holds",
    "cutoff",
    "decide",
    "due_on",
    "end_of_financial_year",
    "erasure_allowed",
    "hold_active",
    "last_kept_day",
    "parse_condition",
    "parse_month_day",
    "parse_period",
    "period_problem",
    "row_date",
    "sign_report",
    "sql_bound",
    "trigger_date",
    "verify_report",
]

OSLO: Final = ZoneInfo("Europe/Oslo")
NAIVE_SHIFT: Final = timedelta(hours=2)
"""Oslo's largest UTC offset (summer time): a naive timestamp is counted this much later."""

_PERIOD_RE = re.compile(r"^P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_MONTH_DAY_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_MAX_PERIOD_YEARS: Final = 200


# --------------------------------------------------------------------------- #
# Periods
# --------------------------------------------------------------------------- #


class PeriodError(ValueError):
    """A period that is not an ISO 8601 calendar duration; the message says how to write one."""


@dataclass(frozen=True)
class Period:
    """An ISO 8601 calendar duration: years, months, weeks, days."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    def __str__(self) -> str:
        text = "P"
        for amount, unit in (
            (self.years, "Y"),
            (self.months, "M"),
            (self.weeks, "W"),
            (self.days, "D"),
        ):
            if amount:
                text += f"{amount}{unit}"
        return text if text != "P" else "P0D"

    @property
    def approximate_days(self) -> int:
        """An upper bound of the period in days (for searching, never for deciding)."""
        return self.years * 366 + self.months * 31 + self.weeks * 7 + self.days


def period_problem(text: object) -> str | None:
    """Why ``text`` is not a usable retention period, or None when it is."""
    if not isinstance(text, str):
        return "a period is text such as P5Y, P3Y6M or P90D"
    value = text.strip()
    if not value:
        return "the period is empty; write an ISO 8601 duration such as P5Y, P3Y6M or P90D"
    if value != value.upper() and _PERIOD_RE.match(value.upper()):
        return f"write the period in capitals: {value.upper()!r}"
    if "T" in value.upper():
        return (
            "hours, minutes and seconds (the part after T) are not retention periods; "
            "write days, e.g. P1D or P90D"
        )
    match = _PERIOD_RE.match(value)
    if match is None:
        return (
            "not an ISO 8601 period: write P, then a number and a unit in this order: "
            "Y (years), M (months), W (weeks), D (days), e.g. P5Y, P3Y6M, P90D"
        )
    parts = [int(g) if g else 0 for g in match.groups()]
    if not any(parts):
        return "the period is zero; data kept for no time at all needs no retention rule"
    if parts[0] + parts[1] // 12 + parts[2] // 52 + parts[3] // 365 > _MAX_PERIOD_YEARS:
        return f"the period is longer than {_MAX_PERIOD_YEARS} years"
    return None


def parse_period(text: str | Period) -> Period:
    """``P5Y``, ``P3Y6M``, ``P2W``, ``P90D`` as a :class:`Period`; PeriodError says why not."""
    if isinstance(text, Period):
        return text
    problem = period_problem(text)
    if problem is not None:
        raise PeriodError(problem)
    match = _PERIOD_RE.match(text.strip())
    assert match is not None
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    return Period(years, months, weeks, days)


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_period(start: date, period: str | Period) -> date:
    """``start`` plus a calendar period (see the module docstring for the clamping).

    Accepts any period the register schema accepts, including ``P0D`` (the DSR
    engine's holds use this function too).
    """
    if isinstance(period, str):
        match = _PERIOD_RE.match(period.strip())
        if match is None:
            raise PeriodError(f"not a calendar period: {period!r}")
        years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    else:
        years, months, weeks, days = period.years, period.months, period.weeks, period.days
    total = start.year * 12 + (start.month - 1) + years * 12 + months
    moved = _clamped(total // 12, total % 12 + 1, start.day)
    return moved + timedelta(weeks=weeks, days=days)


def parse_month_day(text: str) -> tuple[int, int]:
    """``12-31`` as (12, 31); ValueError when it is not MM-DD."""
    match = _MONTH_DAY_RE.match(text.strip())
    if match is None:
        raise ValueError("write the last day of the financial year as MM-DD, e.g. 12-31")
    month, day = int(match.group(1)), int(match.group(2))
    if day > calendar.monthrange(2024, month)[1]:
        raise ValueError(f"{text.strip()} is not a day of the year")
    return month, day


def end_of_financial_year(day: date, year_end: tuple[int, int] = (12, 31)) -> date:
    """The last day of the financial year ``day`` falls in (``year_end`` is (month, day))."""
    month, last = year_end
    candidate = _clamped(day.year, month, last)
    if candidate >= day:
        return candidate
    return _clamped(day.year + 1, month, last)


# --------------------------------------------------------------------------- #
# Dates of rows
# --------------------------------------------------------------------------- #


def row_date(value: Any) -> date | None:
    """The calendar date of a row's date field (DSR holds), or None when it has none.

    A timezone-aware timestamp counts in Norwegian time (a voucher dated
    31 December 23:30 in Oslo belongs to that year, not the next); a naive one
    as written. Retention uses :func:`trigger_date`, which counts a naive
    timestamp later still.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(OSLO).date()
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                return date.fromisoformat(text[:10])
            except ValueError:
                return None
        return row_date(parsed if parsed.tzinfo is None else parsed.astimezone(UTC))
    return None


def trigger_date(value: Any) -> date | None:
    """The day a row's retention period counts from; None when the row has no usable date.

    Dates as they are; aware timestamps on their Oslo date; naive timestamps on
    the later of their UTC and Norwegian readings (see the module docstring).
    """
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.match(text):
            return None
        try:
            value = datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(OSLO).date()
        return (value + NAIVE_SHIFT).date()
    if isinstance(value, date):
        return value
    return None


# --------------------------------------------------------------------------- #
# Retention rules
# --------------------------------------------------------------------------- #

CountsFrom = Literal["date", "end_of_financial_year"]
Action = Literal["delete", "anonymise", "aggregate"]


@dataclass(frozen=True)
class RuleSpec:
    """One retention rule, resolved: the built-in legal rule's period filled in."""

    key: str
    dataset: str
    collection: str
    trigger_field: str
    counts_from: CountsFrom
    period: Period
    action: Action = "delete"
    financial_year_end: tuple[int, int] = (12, 31)
    anonymise_fields: tuple[str, ...] = ()
    legal_source: str | None = None
    builtin: str | None = None

    @property
    def collection_key(self) -> str:
        return f"{self.dataset}.{self.collection}"

    def describe(self) -> str:
        """``P5Y after the end of the financial year of invoice_date`` (for plans and reports)."""
        if self.counts_from == "end_of_financial_year":
            month, day = self.financial_year_end
            fy = "" if (month, day) == (12, 31) else f" (year ends {month:02d}-{day:02d})"
            return f"{self.period} after the end of the financial year of {self.trigger_field}{fy}"
        return f"{self.period} after {self.trigger_field}"


def _start(day: date, rule: RuleSpec) -> date:
    if rule.counts_from == "end_of_financial_year":
        return end_of_financial_year(day, rule.financial_year_end)
    return day


def last_kept_day(day: date, rule: RuleSpec) -> date:
    """The last day a row whose trigger date is ``day`` must be kept."""
    return add_period(_start(day, rule), rule.period)


def due_on(day: date, rule: RuleSpec) -> date:
    """The first day a row whose trigger date is ``day`` is swept."""
    return last_kept_day(day, rule) + timedelta(days=1)


def cutoff(rule: RuleSpec, today: date) -> date:
    """The latest trigger date that is due ``today``: a row is due iff its date <= cutoff.

    ``due_on`` never decreases as the trigger date grows (clamping maps two days
    onto one, never backwards), so the due dates form one interval ending here;
    found by bisection between a date surely due and today.
    """
    lo = (today - timedelta(days=rule.period.approximate_days + 400)).toordinal()
    hi = today.toordinal() + 1  # first candidate known not due: due_on(today) > today
    # Invariant: due_on(lo) <= today < due_on(hi).
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if due_on(date.fromordinal(mid), rule) <= today:
            lo = mid
        else:
            hi = mid
    return date.fromordinal(lo)


def is_due(value: Any, rule: RuleSpec, today: date) -> bool:
    """Whether a row whose trigger field holds ``value`` is due today (ignoring holds)."""
    day = trigger_date(value)
    return day is not None and due_on(day, rule) <= today


ColumnKind = Literal["date", "naive", "aware"]


def sql_bound(rule: RuleSpec, today: date, kind: ColumnKind) -> date | datetime:
    """The exclusive upper bound for ``trigger_field < bound`` selecting the due rows.

    ``kind``: a DATE column, a timestamp without zone (naive) or with zone (aware).
    Agrees with :func:`is_due` for every value (property-tested).
    """
    return bound_for_cutoff(cutoff(rule, today), kind)


def bound_for_cutoff(last_due: date, kind: ColumnKind) -> date | datetime:
    """``trigger < bound`` selects the rows whose trigger date is ``last_due`` or earlier."""
    next_day = last_due + timedelta(days=1)
    if kind == "date":
        return next_day
    midnight = datetime.combine(next_day, time(0, 0))
    if kind == "naive":
        return midnight - NAIVE_SHIFT
    return midnight.replace(tzinfo=OSLO).astimezone(UTC)


# --------------------------------------------------------------------------- #
# Legal holds
# --------------------------------------------------------------------------- #

HoldScope = Literal["subject", "records", "collection"]
HoldKind = Literal["litigation", "authority_order", "tax_authority_order", "investigation", "other"]
HOLD_SCOPES: Final[tuple[str, ...]] = ("subject", "records", "collection")
HOLD_KINDS: Final[tuple[str, ...]] = (
    "litigation",
    "authority_order",
    "tax_authority_order",
    "investigation",
    "other",
)
"""Why data is held: a legal claim or dispute (art. 17(3)(e)); an order from an
authority, the police or a court; an order from the tax authorities to keep
accounting material longer than bokføringsloven § 13 requires (e.g. during a
tax audit); an internal investigation (e.g. of a security breach); other."""

Operator = Literal["=", "!=", "<", "<=", ">", ">=", "in", "is_null", "not_null"]
OPERATORS: Final[tuple[str, ...]] = ("=", "!=", "<", "<=", ">", ">=", "in", "is_null", "not_null")
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_COMPARISON_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$", re.S)
_IN_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+in\s*\((.*)\)\s*$", re.S | re.I)
_NULL_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+is\s+(not\s+)?null\s*$", re.I)
MAX_IN_VALUES: Final = 1000
MAX_VALUE_LENGTH: Final = 500


class ConditionError(ValueError):
    """A record-set condition that cannot be used; never repeats the value."""


Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Condition:
    """``field op value``: data, never SQL. Values are text as typed; compared by the field's
    type when the row (or the database column) is known."""

    field: str
    op: Operator
    value: Scalar | tuple[Scalar, ...] = None

    def __post_init__(self) -> None:
        if not _FIELD_RE.match(self.field):
            raise ConditionError(
                "a field name holds letters, digits and '_' and starts with a letter or '_'"
            )
        if self.op not in OPERATORS:
            raise ConditionError(f"unknown operator; use one of {', '.join(OPERATORS)}")
        if self.op == "in":
            if not isinstance(self.value, tuple) or not self.value:
                raise ConditionError(f"{self.field} in (...): list at least one value")
            if len(self.value) > MAX_IN_VALUES:
                raise ConditionError(f"{self.field} in (...): at most {MAX_IN_VALUES} values")
        elif self.op in ("is_null", "not_null"):
            if self.value is not None:
                raise ConditionError(f"{self.field} {self.op} takes no value")
        elif self.value is None or isinstance(self.value, tuple):
            raise ConditionError(f"{self.field} {self.op}: give one value")
        for item in self.values:
            if isinstance(item, str) and len(item) > MAX_VALUE_LENGTH:
                raise ConditionError(
                    f"{self.field}: a value may be at most {MAX_VALUE_LENGTH} characters"
                )

    @property
    def values(self) -> tuple[Scalar, ...]:
        if isinstance(self.value, tuple):
            return self.value
        return () if self.value is None else (self.value,)

    def as_json(self) -> dict[str, Any]:
        value: Any = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field, "op": self.op, "value": value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Condition:
        value = data.get("value")
        if isinstance(value, list):
            value = tuple(value)
        return cls(str(data.get("field", "")), data.get("op", ""), value)

    def __str__(self) -> str:
        if self.op in ("is_null", "not_null"):
            return f"{self.field} {'is null' if self.op == 'is_null' else 'is not null'}"
        if self.op == "in":
            return f"{self.field} in ({len(self.values)} values)"
        return f"{self.field} {self.op} (value)"


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_condition(text: str) -> Condition:
    """``status=closed``, ``invoice_date<2020-01-01``, ``customer_id in (7, 9)``,
    ``closed_at is null``, ``closed_at is not null``.

    Values stay text here (quotes optional); they are compared by the field's
    type later. ConditionError never repeats the value (it may be personal data).
    """
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition is FIELD OP VALUE, e.g. customer_id=7")
    if len(text) > MAX_VALUE_LENGTH * 4:
        raise ConditionError("the condition is too long")
    match = _NULL_RE.match(text)
    if match:
        return Condition(match.group(1), "not_null" if match.group(2) else "is_null")
    match = _IN_RE.match(text)
    if match:
        items = tuple(_unquote(v) for v in match.group(2).split(",") if v.strip())
        return Condition(match.group(1), "in", items)
    match = _COMPARISON_RE.match(text)
    if match is None:
        raise ConditionError(
            "a condition is FIELD OP VALUE with OP one of = != < <= > >=, or "
            "'FIELD in (A, B)', 'FIELD is null', 'FIELD is not null'"
        )
    field_name, op, raw = match.groups()
    value = _unquote(raw)
    if not value:
        raise ConditionError(f"{field_name} {op}: the value is empty; use 'is null' for empty")
    return Condition(field_name, op, value)  # type: ignore[arg-type]


def _coerce(value: Scalar, like: Any) -> Any:
    """``value`` (as typed) in the type of a row's value ``like``; raises ValueError."""
    if value is None:
        return None
    if isinstance(like, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "ja"):
            return True
        if text in ("false", "0", "no", "nei"):
            return False
        raise ValueError("not a yes/no value")
    if isinstance(like, int):
        if isinstance(value, bool):
            raise ValueError("not a number")
        return int(str(value).strip())
    if isinstance(like, float):
        return float(str(value).strip())
    if isinstance(like, Decimal):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("not a number") from None
    if isinstance(like, datetime):
        parsed = datetime.fromisoformat(str(value).strip())
        if (parsed.tzinfo is None) != (like.tzinfo is None):
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=OSLO)
            else:
                parsed = parsed.astimezone(OSLO).replace(tzinfo=None)
        return parsed
    if isinstance(like, date):
        return date.fromisoformat(str(value).strip()[:10])
    return str(value)


_SAMPLES: Final[dict[str, Any]] = {
    "integer": 0,
    "number": Decimal(0),
    "boolean": False,
    "date": date(2000, 1, 1),
    "naive": datetime(2000, 1, 1),
    "aware": datetime(2000, 1, 1, tzinfo=UTC),
    "string": "",
}


def coerce_for_kind(value: Scalar, kind: str) -> Any:
    """A condition value in the type of a database column of ``kind`` (``integer``,
    ``number``, ``boolean``, ``date``, ``naive``/``aware`` timestamps, ``string``); other
    kinds compare as text. Raises ValueError when the value cannot be that type."""
    return _coerce(value, _SAMPLES.get(kind, ""))


def _compare(op: Operator, left: Any, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _same(given: Any, current: Any) -> bool:
    # Text equal but for case counts as equal: databases with case-insensitive collations
    # (MariaDB's default) match it in a sweep, so an erasure must keep it too.
    if isinstance(given, str) and isinstance(current, str):
        return given.casefold() == current.casefold()
    return bool(given == current)


def condition_matches(condition: Condition, row: Mapping[str, Any]) -> bool | None:
    """True, False, or None when unknown (SQL's three values: an empty field compares as
    unknown, and so does a value that cannot be read in the field's type)."""
    current = row.get(condition.field)
    if condition.op == "is_null":
        return current is None
    if condition.op == "not_null":
        return current is not None
    if current is None:
        return None
    try:
        if condition.op == "in":
            return any(_same(_coerce(v, current), current) for v in condition.values)
        if condition.op == "=":
            return _same(_coerce(condition.values[0], current), current)
        return _compare(condition.op, current, _coerce(condition.values[0], current))
    except (ValueError, TypeError, ArithmeticError):
        return None


def conditions_match(conditions: Sequence[Condition], row: Mapping[str, Any]) -> bool | None:
    """The conditions AND-ed in three-valued logic (False wins, then unknown)."""
    result: bool | None = True
    for condition in conditions:
        outcome = condition_matches(condition, row)
        if outcome is False:
            return False
        if outcome is None:
            result = None
    return result


@dataclass(frozen=True)
class HoldSpec:
    """A legal hold as the rules see it (models.LegalHold without the bookkeeping)."""

    id: int
    scope: HoldScope
    kind: HoldKind
    starts_at: datetime
    ends_at: datetime | None = None
    collection: str | None = None
    """``dataset.collection``; for a subject hold, None means every collection."""
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        if self.scope in ("records", "collection") and not self.collection:
            raise ValueError(f"a {self.scope} hold names its collection")
        if self.scope == "records" and not self.conditions:
            raise ValueError("a record-set hold has at least one condition")
        if self.starts_at.tzinfo is None or (self.ends_at and self.ends_at.tzinfo is None):
            raise ValueError("hold times are timezone-aware")

    @property
    def label(self) -> str:
        return f"hold {self.id}"


def hold_active(hold: HoldSpec, now: datetime) -> bool:
    """Started and not ended: ``starts_at <= now < ends_at`` (open-ended without ``ends_at``)."""
    return hold.starts_at <= now and (hold.ends_at is None or now < hold.ends_at)


def covering_holds(
    holds: Iterable[HoldSpec],
    collection: str,
    row: Mapping[str, Any],
    now: datetime,
    subjects: Iterable[int] = (),
) -> list[HoldSpec]:
    """The active holds that keep ``row`` of ``collection`` (``dataset.collection``).

    ``subjects``: ids of the subject holds whose data subject owns this row (the
    service finds a subject's rows by walking the datasets from the identity).
    """
    owners = set(subjects)
    found: list[HoldSpec] = []
    for hold in holds:
        if not hold_active(hold, now):
            continue
        if hold.scope == "subject":
            if hold.id in owners and hold.collection in (None, collection):
                found.append(hold)
        elif hold.collection != collection:
            continue
        elif hold.scope == "collection" or conditions_match(hold.conditions, row) is not False:
            found.append(hold)
    return found


RowOutcome = Literal["held", "due", "kept"]


@dataclass(frozen=True)
class RowDecision:
    outcome: RowOutcome
    """held: a hold keeps it; due: the rule's action applies now; kept: not due yet."""
    holds: tuple[int, ...] = ()
    due: date | None = None
    """The first day the rule sweeps the row (None: no usable trigger date)."""


def decide(
    rule: RuleSpec,
    row: Mapping[str, Any],
    holds: Iterable[HoldSpec],
    now: datetime,
    subjects: Iterable[int] = (),
) -> RowDecision:
    """What a sweep does with ``row`` now. A held row is never due."""
    today = now.astimezone(OSLO).date()
    day = trigger_date(row.get(rule.trigger_field))
    first = due_on(day, rule) if day is not None else None
    covering = covering_holds(holds, rule.collection_key, row, now, subjects)
    if covering:
        return RowDecision("held", tuple(h.id for h in covering), first)
    if first is not None and first <= today:
        return RowDecision("due", (), first)
    return RowDecision("kept", (), first)


def erasure_allowed(
    collection: str,
    row: Mapping[str, Any],
    holds: Iterable[HoldSpec],
    now: datetime,
    subjects: Iterable[int] = (),
) -> bool:
    """Whether an erasure request may erase ``row`` now: never while a hold covers it."""
    return not covering_holds(holds, collection, row, now, subjects)


# --------------------------------------------------------------------------- #
# Signed reports
# --------------------------------------------------------------------------- #


def canonical_json(value: Any) -> bytes:
    """The bytes a report's signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")


def sign_report(report: Mapping[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) of the report's canonical JSON."""
    return hmac.new(key, canonical_json(report), hashlib.sha256).hexdigest()


def verify_report(report: Mapping[str, Any], signature: str, key: bytes) -> bool:
    return hmac.compare_digest(sign_report(report, key), signature or "")
