"""Legal holds: adding, ending and listing them, the holds active now, the rows a subject
hold keeps, and the holds that stop an erasure (DSR)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from datavern.connectors.sql import SQLConnector
from datavern.core import audit, clock
from datavern.core.errors import InvalidInput, NotFound, Problem
from datavern.dsr import crypto
from datavern.register.schema import (
    DsrSettings,
    Register,
)
from datavern.retention import rules
from datavern.retention.common import (
    AUDIT_HOLD,
    MAX_REASON,
    RetentionError,
    _Connectors,
    applied_register,
    today_oslo,
)
from datavern.retention.models import LegalHold
from datavern.retention.rules import (
    HOLD_KINDS,
    HOLD_SCOPES,
    OSLO,
    Condition,
    ConditionError,
    HoldSpec,
)

# --------------------------------------------------------------------------- #
# Legal holds
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class HoldView:
    id: int
    scope: str
    kind: str
    collection: str | None
    conditions: list[dict[str, Any]]
    identity_type: str | None
    reason: str
    authority: str | None
    reference: str | None
    starts_at: datetime
    ends_at: datetime | None
    created_by: str
    created_at: datetime
    ended_by: str | None
    ended_at: datetime | None
    end_reason: str | None
    active: bool

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "scope": self.scope,
            "kind": self.kind,
            "collection": self.collection,
            "conditions": self.conditions,
            "identity_type": self.identity_type,
            "reason": self.reason,
            "authority": self.authority,
            "reference": self.reference,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "ended_by": self.ended_by,
            "ended_at": iso(self.ended_at),
            "end_reason": self.end_reason,
            "active": self.active,
        }

    def conditions_text(self) -> str:
        parts = []
        for item in self.conditions:
            cond = Condition.from_json(item)
            if cond.op in ("is_null", "not_null"):
                parts.append(str(cond))
            elif cond.op == "in":
                parts.append(f"{cond.field} in ({', '.join(str(v) for v in cond.values)})")
            else:
                parts.append(f"{cond.field} {cond.op} {cond.value}")
        return " and ".join(parts)


def _hold_view(row: LegalHold, now: datetime) -> HoldView:
    return HoldView(
        id=row.id,
        scope=row.scope,
        kind=row.kind,
        collection=row.collection,
        conditions=list(row.conditions or []),
        identity_type=row.identity_type,
        reason=row.reason,
        authority=row.authority,
        reference=row.reference,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        created_at=row.created_at,
        ended_by=row.ended_by,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        active=rules.hold_active(_spec(row), now),
    )


def _spec(row: LegalHold) -> HoldSpec:
    return HoldSpec(
        id=row.id,
        scope=row.scope,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        collection=row.collection,
        conditions=tuple(Condition.from_json(c) for c in row.conditions or []),
    )


def _oslo_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0)).replace(tzinfo=OSLO).astimezone(UTC)


def _dataset_fields(register: Register) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for dataset in register.dataset:
        for collection in dataset.collections:
            found[f"{dataset.fides_key}.{collection.name}"] = {f.name for f in collection.fields}
    return found


def add_hold(
    session: Session,
    *,
    scope: str,
    reason: str,
    actor: str,
    kind: str = "other",
    authority: str | None = None,
    reference: str | None = None,
    collection: str | None = None,
    conditions: Sequence[str] = (),
    identity: str | None = None,
    starts: date | None = None,
    until: date | None = None,
) -> HoldView:
    """Record a legal hold. Every problem is reported at once (InvalidInput, exit 2).

    ``until`` is the last day held (inclusive, Norwegian time); without it the
    hold lasts until ended. ``starts`` defaults to now.
    """
    problems: list[Problem] = []
    reason = (reason or "").strip()
    if not reason:
        problems.append(Problem("a hold needs a reason: why must the data be kept?", path="reason"))
    elif len(reason) > MAX_REASON:
        problems.append(
            Problem(f"the reason may be at most {MAX_REASON} characters", path="reason")
        )
    if scope not in HOLD_SCOPES:
        problems.append(Problem(f"scope is one of {', '.join(HOLD_SCOPES)}", path="scope"))
    if kind not in HOLD_KINDS:
        problems.append(Problem(f"kind is one of {', '.join(HOLD_KINDS)}", path="kind"))
    for name, value, limit in (("authority", authority, 300), ("reference", reference, 200)):
        if value is not None and len(value.strip()) > limit:
            problems.append(Problem(f"{name} may be at most {limit} characters", path=name))
    register: Register | None = None
    try:
        _version, register = applied_register(session)
    except NotFound:
        if scope != "collection" or collection is None:
            problems.append(
                Problem("apply a register first (`datavern register apply`): holds name its data")
            )
    known = _dataset_fields(register) if register is not None else {}
    collection = (collection or "").strip() or None
    if scope in ("records", "collection") and collection is None:
        problems.append(
            Problem(f"a {scope} hold names its collection as dataset.collection", path="collection")
        )
    if collection is not None and register is not None and collection not in known:
        listed = ", ".join(sorted(known)[:20]) or "none"
        problems.append(
            Problem(
                f"no collection {collection!r} in the register's datasets (declared: {listed})",
                path="collection",
            )
        )
    parsed: list[Condition] = []
    for position, text in enumerate(conditions, start=1):
        try:
            cond = rules.parse_condition(text)
        except ConditionError as exc:
            problems.append(Problem(f"condition {position}: {exc}", path="where"))
            continue
        if collection in known and cond.field not in known[collection]:
            problems.append(
                Problem(
                    f"condition {position}: collection {collection} has no field {cond.field!r}",
                    path="where",
                )
            )
        parsed.append(cond)
    if scope == "records" and not conditions:
        problems.append(
            Problem("a record-set hold needs at least one condition (--where)", path="where")
        )
    if scope != "records" and conditions:
        problems.append(
            Problem("only a record-set hold (scope records) takes conditions", path="where")
        )
    identity_type: str | None = None
    identity_hash: str | None = None
    sealed: str | None = None
    if scope == "subject":
        if not identity:
            problems.append(
                Problem(
                    "a subject hold needs the person's identity, e.g. email=...", path="identity"
                )
            )
        elif register is not None:
            from datavern.dsr.service import parse_request_identities

            try:
                identities = parse_request_identities(register, [identity])
            except InvalidInput as exc:
                problems.extend(exc.problems)
            else:
                identity_type, values = next(iter(identities.items()))
                identity_hash = crypto.identity_hash(identity_type, values[0])
                sealed = crypto.seal({identity_type: values[:1]})
    elif identity:
        problems.append(Problem("only a subject hold takes an identity", path="identity"))
    now = clock.now()
    starts_at = _oslo_midnight(starts) if starts is not None else now
    ends_at = _oslo_midnight(until + timedelta(days=1)) if until is not None else None
    if ends_at is not None and ends_at <= now:
        problems.append(Problem("the last day of the hold is in the past", path="until"))
    elif ends_at is not None and ends_at <= starts_at:
        problems.append(Problem("the hold would end before it starts", path="until"))
    if problems:
        raise InvalidInput(problems)
    row = LegalHold(
        scope=scope,
        kind=kind,
        collection=collection,
        conditions=[c.as_json() for c in parsed],
        identity_type=identity_type,
        identity_hash=identity_hash,
        identity_sealed=sealed,
        reason=reason,
        authority=(authority or "").strip() or None,
        reference=(reference or "").strip() or None,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    # The audit entry names the hold, its scope and the fields it looks at; the reason and the
    # condition values stay on the hold (they may name a person).
    audit.record(
        session,
        "retention.hold.add",
        AUDIT_HOLD.format(row.id),
        {
            "scope": scope,
            "kind": kind,
            "collection": collection,
            "condition_fields": sorted({c.field for c in parsed}),
            "identity_type": identity_type,
            "authority": row.authority,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat() if ends_at else None,
        },
        actor=actor,
    )
    return _hold_view(row, now)


def end_hold(session: Session, hold_id: int, *, actor: str, reason: str | None = None) -> HoldView:
    """End a hold now. Data it kept becomes due again at the next sweep."""
    row = session.get(LegalHold, hold_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no legal hold with id {hold_id}")
    now = clock.now()
    if row.ended_at is not None or (row.ends_at is not None and row.ends_at <= now):
        raise InvalidInput(Problem(f"hold {hold_id} has already ended", path="id"))
    row.ends_at = now
    row.ended_at = now
    row.ended_by = actor
    row.end_reason = (reason or "").strip() or None
    row.identity_sealed = None  # the person's identity is no longer needed
    audit.record(
        session,
        "retention.hold.end",
        AUDIT_HOLD.format(row.id),
        {"scope": row.scope, "kind": row.kind, "collection": row.collection},
        actor=actor,
    )
    return _hold_view(row, now)


def list_holds(session: Session, *, active_only: bool = False) -> list[HoldView]:
    now = clock.now()
    rows = session.execute(select(LegalHold).order_by(LegalHold.id.desc())).scalars()
    views = [_hold_view(r, now) for r in rows]
    return [v for v in views if v.active] if active_only else views


def get_hold(session: Session, hold_id: int) -> HoldView:
    row = session.get(LegalHold, hold_id)
    if row is None:
        raise NotFound(f"no legal hold with id {hold_id}")
    return _hold_view(row, clock.now())


def _forget_ended_identities(session: Session, now: datetime) -> None:
    """Holds that ended by their date keep no identity (wiped at the next read)."""
    for row in session.execute(
        select(LegalHold).where(
            LegalHold.identity_sealed.is_not(None), LegalHold.ends_at.is_not(None)
        )
    ).scalars():
        if row.ends_at is not None and row.ends_at <= now:
            row.identity_sealed = None


@dataclass
class ActiveHolds:
    """The active holds, with what a subject hold needs to find its person's rows."""

    specs: list[HoldSpec]
    identities: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)

    def ids(self) -> tuple[int, ...]:
        return tuple(sorted(h.id for h in self.specs))

    def for_collection(self, collection: str) -> list[HoldSpec]:
        return [
            h
            for h in self.specs
            if h.collection == collection or (h.scope == "subject" and h.collection is None)
        ]


def active_holds(session: Session, now: datetime | None = None) -> ActiveHolds:
    """Every hold active at ``now`` (default: now)."""
    now = now or clock.now()
    _forget_ended_identities(session, now)
    result = ActiveHolds([])
    for row in session.execute(select(LegalHold).order_by(LegalHold.id)).scalars():
        spec = _spec(row)
        if not rules.hold_active(spec, now):
            continue
        result.specs.append(spec)
        if row.scope == "subject":
            if row.identity_hash:
                result.hashes[row.id] = row.identity_hash
            if row.identity_sealed:
                result.identities[row.id] = crypto.unseal(
                    row.identity_sealed, f"legal hold {row.id}'s identity"
                )
    return result


def _column_of(field_path: str) -> str:
    return field_path.split(".", 1)[0]


def subject_keys(
    register: Register,
    identities: Mapping[str, Sequence[str]],
    connector_for: Callable[[str], SQLConnector],
) -> dict[str, set[tuple[Any, ...]]]:
    """Primary keys of a person's rows per collection (``dataset.collection``), found by
    walking the datasets from the identity as an access request does (dsr/graph.py)."""
    from datavern.dsr.graph import PlanError, plan_walk

    try:
        plan = plan_walk(register.dataset, list(identities))
    except PlanError as exc:
        raise RetentionError(f"a subject hold cannot be resolved: {exc}") from None
    settings = register.dsr or DsrSettings()
    rows_by: dict[str, list[dict[str, Any]]] = {}
    keys: dict[str, set[tuple[Any, ...]]] = {}
    for step in plan.steps:
        from datavern.dsr.execute import connection_name, table_name

        connector = connector_for(connection_name(settings, step.dataset))
        table = table_name(register, step.dataset, step.collection)
        info = connector.collection(table)
        inputs: list[tuple[str, list[Any]]] = []
        for ident in step.identity_inputs:
            inputs.append((_column_of(ident.field), list(identities.get(ident.identity, []))))
        for ref in step.reference_inputs:
            source = rows_by.get(ref.source.collection_key, [])
            column = _column_of(ref.source.field)
            values = list(dict.fromkeys(r[column] for r in source if r.get(column) is not None))
            inputs.append((_column_of(ref.field), values))
        read = list(
            dict.fromkeys(
                [
                    *info.primary_key,
                    *(c for c, _ in inputs),
                    *(_column_of(f) for f in step.join_fields),
                ]
            )
        )
        found: list[dict[str, Any]] = []
        for column, values in inputs:
            if values:
                found.extend(connector.retrieve(table, {column: values}, read))
        rows_by[step.key] = found
        if info.primary_key:
            keys[step.key] = {tuple(r[k] for k in info.primary_key) for r in found}
    return keys


# --------------------------------------------------------------------------- #
# Holds against erasure (the DSR engine asks these)
# --------------------------------------------------------------------------- #

LEGAL_HOLD_PREFIX = "legal-hold-"


@dataclass
class ErasureHolds:
    """The legal holds as an erasure sees them: which rows of each collection they keep.

    A subject hold keeps every row of its person: the rows of a request whose
    identities hash to the hold's identity, and the rows Datavern finds by
    walking the datasets from the hold's identity (so a hold by e-mail address
    also keeps rows an erasure reaches by phone number).
    """

    holds: ActiveHolds
    now: datetime
    matched: set[int] = field(default_factory=set)
    """Subject holds whose identity is one of the request's."""
    subject_rows: dict[int, dict[str, set[tuple[Any, ...]]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.holds.specs

    def condition_fields(self, collection: str) -> list[str]:
        """Fields of ``collection`` that record-set holds look at (read with the rows)."""
        names: dict[str, None] = {}
        for hold in self.holds.for_collection(collection):
            for cond in hold.conditions:
                names.setdefault(cond.field, None)
        return list(names)

    def covering(
        self,
        collection: str,
        key_fields: Sequence[str],
        key: Mapping[str, Any],
        row: Mapping[str, Any],
    ) -> list[HoldSpec]:
        """The holds that keep this row (``key``: its primary key; ``row``: its values)."""
        subjects = set(self.matched)
        if key_fields:
            value = tuple(key.get(f) for f in key_fields)
            subjects |= {
                h for h, rows in self.subject_rows.items() if value in rows.get(collection, ())
            }
        return rules.covering_holds(self.holds.specs, collection, row, self.now, subjects)

    def last_day(self, hold: HoldSpec) -> date:
        """The last day the hold keeps data; an open-ended hold is looked at again tomorrow."""
        today = today_oslo(self.now)
        if hold.ends_at is None:
            return today
        return max(today, (hold.ends_at - timedelta(microseconds=1)).astimezone(OSLO).date())

    @staticmethod
    def why(hold_key: str, kinds: Mapping[int, str]) -> str:
        number = int(hold_key.removeprefix(LEGAL_HOLD_PREFIX))
        return f"legal hold {number} ({kinds.get(number, 'hold')}): see `datavern retention holds`"

    def kinds(self) -> dict[int, str]:
        return {h.id: h.kind for h in self.holds.specs}


def erasure_holds(
    session: Session,
    register: Register,
    identities: Mapping[str, Sequence[str]],
    connector_for: Callable[[str], SQLConnector] | None = None,
) -> ErasureHolds:
    """The active holds for an erasure of the person with ``identities`` (may be empty:
    a deferred erasure no longer knows its person, only its rows)."""
    holds = active_holds(session)
    result = ErasureHolds(holds, clock.now())
    hashes = {crypto.identity_hash(n, v) for n, values in identities.items() for v in values}
    for hold_id, digest in holds.hashes.items():
        if digest in hashes:
            result.matched.add(hold_id)
    opener = connector_for or _Connectors()
    for hold_id, hold_identities in holds.identities.items():
        if hold_id in result.matched:
            continue
        result.subject_rows[hold_id] = subject_keys(register, hold_identities, opener)
    return result
