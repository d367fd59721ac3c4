# mypy: disallow-any-generics, disallow-subclassing-any, disallow-untyped-calls
# mypy: disallow-untyped-defs, disallow-incomplete-defs, check-untyped-defs
# mypy: disallow-untyped-decorators, warn-redundant-casts, warn-unused-ignores
# mypy: warn-return-any, no-implicit-reexport, strict-equality, extra-checks
"""Legal holds on erasure; pure, no I/O.

GDPR art. 17(3)(b) lets a controller keep data that a law requires it to keep.
The register's ``dsr.holds`` names, per collection, the fields a law requires
kept and for how long, counted from a date field of each row. For an erasure
request this module decides, row by row, which fields are held and until when;
the DSR engine erases everything else at once and schedules the held fields'
erasure for the day after the hold ends.

The Norwegian rule the holds are written for (bokføringsloven § 13 andre
ledd): accounting records are kept for five years (nr. 1-4) or three years and
six months (nr. 5-8) *after the end of the financial year*. An invoice dated
15 March 2024 with a calendar financial year is kept until 31 December 2029 and
may be erased from 1 January 2030.

Decisions:

* A row whose date field is empty or unreadable is held as if it were dated
  today: its real date cannot be later than today, so the hold computed from
  today is never shorter than the true one (erasing early would break the law;
  erasing late only waits).
* When several holds cover the same field of a row, the one that ends last wins.
* A hold has ended when today is after its last day; such a row is erased at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from datavern.register.rules import BUILTIN_RETENTION_RULES
from datavern.register.schema import DsrHold, DsrSettings

# The calendar arithmetic is shared with retention sweeps (one implementation).
from datavern.retention.rules import OSLO, add_period, end_of_financial_year, row_date

__all__ = [
    "OSLO",
    "HeldField",
    "HoldRule",
    "add_period",
    "end_of_financial_year",
    "held_fields",
    "hold_end",
    "holds_by_collection",
    "resolve_holds",
    "row_date",
]


@dataclass(frozen=True)
class HoldRule:
    """A ``dsr.holds`` entry with its period resolved (a named rule gives its own)."""

    key: str
    dataset: str
    collection: str
    fields: tuple[str, ...]
    date_field: str
    period: str
    counts_from: Literal["end_of_financial_year", "date"]
    financial_year_end: tuple[int, int]
    legal_source: str | None = None
    reason: Mapping[str, str] = field(default_factory=dict)

    @property
    def collection_key(self) -> str:
        return f"{self.dataset}.{self.collection}"

    @property
    def why(self) -> str:
        """A short reason for results and the audit log (no personal data)."""
        if self.legal_source:
            return f"legal hold {self.key!r}: {self.legal_source}"
        return f"legal hold {self.key!r}: kept {self.period} ({self.counts_from})"


@dataclass(frozen=True)
class HeldField:
    """One field of one row that an erasure must keep for now."""

    field: str
    hold: str
    """The hold's key."""
    until: date
    """The last day the field must be kept."""

    @property
    def due(self) -> date:
        """The first day the field may (and will) be erased."""
        return self.until + timedelta(days=1)


def resolve_holds(settings: DsrSettings | None) -> list[HoldRule]:
    """The register's holds with periods resolved from the built-in legal rules."""
    if settings is None:
        return []
    return [_resolve(h) for h in settings.holds]


def _resolve(hold: DsrHold) -> HoldRule:
    dataset, _, collection = hold.collection.partition(".")
    month, day = (int(p) for p in hold.financial_year_end.split("-"))
    legal_source: str | None = None
    counts_from = hold.counts_from
    if hold.rule is not None:
        rule = BUILTIN_RETENTION_RULES[hold.rule]
        period = rule.period
        legal_source = rule.legal_source
        counts_from = "end_of_financial_year" if rule.trigger == "end_of_financial_year" else "date"
    else:
        assert hold.period is not None  # the schema requires one of rule and period
        period = hold.period
    return HoldRule(
        key=hold.key,
        dataset=dataset,
        collection=collection,
        fields=tuple(hold.fields),
        date_field=hold.date_field,
        period=period,
        counts_from=counts_from,
        financial_year_end=(month, day),
        legal_source=legal_source,
        reason=dict(hold.reason or {}),
    )


def hold_end(rule: HoldRule, value: Any, today: date) -> date:
    """The last day ``rule`` keeps a row whose date field holds ``value``.

    An empty or unreadable date counts as today (see the module docstring).
    """
    start = row_date(value) or today
    if rule.counts_from == "end_of_financial_year":
        start = end_of_financial_year(start, rule.financial_year_end)
    return add_period(start, rule.period)


def held_fields(
    rules: Sequence[HoldRule], row: Mapping[str, Any], today: date
) -> dict[str, HeldField]:
    """The fields of ``row`` that ``rules`` (the holds of its collection) keep today.

    Returns ``{field: HeldField}``; a field several holds cover keeps the latest end.
    """
    held: dict[str, HeldField] = {}
    for rule in rules:
        until = hold_end(rule, row.get(rule.date_field), today)
        if until < today:
            continue
        for name in rule.fields:
            current = held.get(name)
            if current is None or until > current.until:
                held[name] = HeldField(field=name, hold=rule.key, until=until)
    return held


def holds_by_collection(rules: Iterable[HoldRule]) -> dict[str, list[HoldRule]]:
    """Holds grouped by ``dataset.collection``."""
    grouped: dict[str, list[HoldRule]] = {}
    for rule in rules:
        grouped.setdefault(rule.collection_key, []).append(rule)
    return grouped
