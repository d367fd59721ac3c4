"""Consent: checking a caller's input: problems collected per field, a decision's
purpose against the register, and the collection point as the ledger keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from datavern.consent import rules
from datavern.consent.rules import Decision
from datavern.consent.service.subjects import Subject, subject_of
from datavern.consent.service.texts import Context
from datavern.core.errors import InvalidInput, Problem

MAX_COLLECTION_POINT: Final = rules.MAX_COLLECTION_POINT


@dataclass
class _Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, message: str, path: str) -> None:
        self.items.append(Problem(message, path=path))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidInput(self.items)


def _enum(value: str, enum: type[Any], path: str, problems: _Problems) -> Any:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(m.value for m in enum)
        problems.add(f"unknown {path} {value!r}; expected one of {known}", path)
        return None


def _subject(value: str, problems: _Problems) -> Subject | None:
    """The parsed subject, or None with the problem (naming ``subject``) collected."""
    try:
        return subject_of(value)
    except InvalidInput as exc:
        problems.items.extend(exc.problems)
        return None


def _check_purpose(
    ctx: Context, purpose: str, decision: Decision | None, problems: _Problems, path: str
) -> bool:
    index = ctx.index
    if decision is Decision.object:
        if rules.objection_allowed(index, purpose):
            return True
        if purpose in index.activities:
            basis = index.activities[purpose].basis or "no legal basis"
            problems.add(
                f"an objection (art. 21) applies to legitimate interests, public task or "
                f"direct marketing; {purpose} rests on {basis}",
                path,
            )
        else:
            problems.add(str(rules.UnknownPurpose(purpose, index.known())), path)
        return False
    info = index.purposes.get(purpose)
    if info is None:
        if purpose in index.activities:
            activity = index.activities[purpose]
            if activity.consent_purpose and activity.basis == "consent":
                problems.add(
                    f"{purpose} is a processing activity; record consent for its consent "
                    f"purpose {activity.consent_purpose}",
                    path,
                )
            else:
                problems.add(
                    f"{purpose} needs no consent: it rests on "
                    f"{activity.basis or 'no legal basis'}, not consent",
                    path,
                )
        else:
            problems.add(str(rules.UnknownPurpose(purpose, index.known())), path)
        return False
    if not info.needs_consent:
        problems.add(f"{purpose} needs no consent: {info.reason}", path)
        return False
    return True


def _collection_point(value: Any, path: str, problems: _Problems) -> str | None:
    """The collection point as the ledger keeps it (``rules.clean_collection_point``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add("a collection point is text: a URL or a system name", path)
        return None
    try:
        return rules.clean_collection_point(value)
    except rules.CollectionPointError as exc:
        problems.add(str(exc), path)
        return None
