"""Retention plans: per rule, the rows due today, the held, the oldest (changes nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from datavern.core.errors import DatavernError, InvalidInput, Problem
from datavern.retention import rules
from datavern.retention.common import (
    NO_RULES,
    RuleEntry,
    _Connectors,
    applied_register,
    resolve_rules,
    today_oslo,
)
from datavern.retention.holds import active_holds
from datavern.retention.tables import RuleSweep

# --------------------------------------------------------------------------- #
# Plan (dry run)
# --------------------------------------------------------------------------- #


@dataclass
class PlanLine:
    rule: str
    collection: str
    action: str
    describe: str
    legal_basis: str | None
    cutoff: date
    due: int = 0
    held: int = 0
    oldest: Any = None
    holds: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        oldest = self.oldest.isoformat() if hasattr(self.oldest, "isoformat") else self.oldest
        return {
            "rule": self.rule,
            "collection": self.collection,
            "action": self.action,
            "describe": self.describe,
            "legal_basis": self.legal_basis,
            "cutoff": self.cutoff.isoformat(),
            "due": self.due,
            "held": self.held,
            "to_do": max(0, self.due - self.held),
            "oldest": oldest,
            "holds": self.holds,
            "problems": self.problems,
        }


def _select(entries: list[RuleEntry], only: Sequence[str]) -> list[RuleEntry]:
    if not only:
        return entries
    known = {e.spec.key for e in entries}
    unknown = [r for r in only if r not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none (the register has no retention_rules)"
        raise InvalidInput(
            [
                Problem(f"no retention rule {r!r}; the register's rules: {listed}", path="rule")
                for r in unknown
            ]
        )
    return [e for e in entries if e.spec.key in set(only)]


def plan(
    session: Session, *, only: Sequence[str] = (), today: date | None = None
) -> list[PlanLine]:
    """Per rule: rows due, held, the oldest due date. Reads counts only; changes nothing."""
    _version, register = applied_register(session)
    entries = _select(resolve_rules(register), only)
    if not entries:
        raise InvalidInput(Problem(NO_RULES, path="retention_rules"))
    day = today or today_oslo()
    holds = active_holds(session)
    connectors = _Connectors()
    lines: list[PlanLine] = []
    for entry in entries:
        spec = entry.spec
        line = PlanLine(
            rule=spec.key,
            collection=spec.collection_key,
            action=spec.action,
            describe=spec.describe(),
            legal_basis=entry.legal_basis,
            cutoff=rules.cutoff(spec, day),
        )
        lines.append(line)
        try:
            sweep = RuleSweep(entry, register, connectors, line.cutoff)
            line.problems = sweep.check()
            if line.problems:
                continue
            sweep.set_holds(holds)
            counts = sweep.counts()
        except DatavernError as exc:
            line.problems.append(f"rule {spec.key!r}: {exc}")
            continue
        line.due, line.held, line.oldest = counts.due, counts.held, counts.oldest
        line.holds = list(sweep.hold_ids)
    return lines
