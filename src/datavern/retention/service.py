"""Retention use cases: rules from the register, legal holds, plans, sweeps, signed reports.

A sweep (``datavern retention run``) works rule by rule and, inside a rule,
batch by batch in primary-key order:

1. read the keys of the next ``batch_size`` due rows after the last key done
   (no lock is taken: a plain read);
2. note the batch (its key range and size) in Datavern's database;
3. in the company's database, in one short transaction: delete (or anonymise,
   or count into the summary table and delete) the due, unheld rows of that key
   range; the predicates are checked again inside the transaction, so a row
   that changed or was put on hold meanwhile is left alone;
4. record the batch as done: the last key, the counts.

No lock is held longer than step 3 of one batch. A run killed at any point
continues with ``datavern retention run``: a batch noted but not recorded is
checked (rows of its range still due and unheld were not done; the rest were)
and counted once; the cutoffs are those of the day the run started, so the end
state is the same as if it had never stopped.

Holds are read again before every batch: a hold added while a sweep runs
applies from the next batch on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
import time as _time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    cast,
    create_engine,
    delete,
    event,
    false,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from datavern.connectors.base import CollectionInfo, ColumnInfo, ConnectorError, Locked
from datavern.connectors.sql import SQLConnector
from datavern.core import audit, clock
from datavern.core.config import get_settings
from datavern.core.db import get_engine, session_scope
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem
from datavern.dsr import crypto
from datavern.register.rules import BUILTIN_RETENTION_RULES, LegalRetentionRule
from datavern.register.schema import (
    DsrSettings,
    Register,
    RetentionAggregate,
    RetentionRule,
    text_for,
)
from datavern.retention import rules
from datavern.retention.models import LegalHold, SweepRule, SweepRun
from datavern.retention.rules import (
    HOLD_KINDS,
    HOLD_SCOPES,
    OSLO,
    Condition,
    ConditionError,
    HoldSpec,
    RuleSpec,
)

AUDIT_RUN = "retention_run:{}"
AUDIT_HOLD = "retention_hold:{}"
LEASE = timedelta(minutes=5)
DEFAULT_BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 100_000
MAX_REASON = 2000
LOCK_RETRIES = 3
PARALLEL_SETTING = "DATAVERN_RETENTION_PARALLEL"
DEFAULT_PARALLEL = 2
MAX_PARALLEL = 8


class RetentionError(DatavernError):
    """A sweep could not do its work; the message names the rule, table and field."""


class RunBusy(DatavernError):
    """Another process is running the sweep right now."""


class SimulatedCrash(BaseException):
    """Raised by a test's fault hook to stop a run as a killed process would."""


FaultHook = Callable[[str, str, int], None]
_fault_hook: FaultHook | None = None


def set_fault_hook(hook: FaultHook | None) -> FaultHook | None:
    """Install a hook called with (point, rule, batch) around each batch (tests).

    Points: ``noted`` (batch noted, nothing written), ``written`` (the company's
    database committed, Datavern's record not yet).
    """
    global _fault_hook
    previous, _fault_hook = _fault_hook, hook
    return previous


def report_key() -> bytes:
    """The key signing run reports: derived from Datavern's secret key (the data folder's
    ``secret.key`` or DATAVERN_SECRET_KEY)."""
    secret = get_settings().effective_secret_key().encode("utf-8")
    return hmac.new(secret, b"datavern retention report v1", hashlib.sha256).digest()


def today_oslo(now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(OSLO).date()


# --------------------------------------------------------------------------- #
# Rules from the register
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RuleEntry:
    """A register retention rule, resolved and ready to sweep."""

    spec: RuleSpec
    source: RetentionRule
    legal_basis: str | None
    aggregate: RetentionAggregate | None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.spec.key,
            "collection": self.spec.collection_key,
            "trigger": self.spec.trigger_field,
            "counts_from": self.spec.counts_from,
            "period": str(self.spec.period),
            "rule": self.spec.builtin,
            "action": self.spec.action,
            "anonymise_fields": list(self.spec.anonymise_fields),
            "aggregate": self.aggregate.model_dump() if self.aggregate else None,
            "legal_basis": self.legal_basis,
            "describe": self.spec.describe(),
        }


def _first_text(value: Mapping[str, str] | None, languages: Sequence[str]) -> str | None:
    if not value:
        return None
    for lang in languages:
        text = text_for(dict(value), lang, list(languages))
        if text:
            return text
    return next(iter(value.values()), None)


def resolve_rules(register: Register) -> list[RuleEntry]:
    """The register's retention rules with built-in legal rules' periods filled in."""
    year_end = rules.parse_month_day(register.organisation.financial_year_end)
    languages = list(register.organisation.languages)
    entries: list[RuleEntry] = []
    for rule in register.retention_rules:
        dataset, _, collection = rule.collection.partition(".")
        builtin: LegalRetentionRule | None = None
        if rule.rule is not None:
            builtin = BUILTIN_RETENTION_RULES[rule.rule]
            period = rules.parse_period(builtin.period)
        else:
            assert rule.period is not None  # the schema requires one of the two
            period = rules.parse_period(rule.period)
        counts_from: rules.CountsFrom = (
            "end_of_financial_year" if rule.trigger.financial_year_end_of else "date"
        )
        legal = _first_text(rule.legal_basis, languages) or (
            builtin.legal_source if builtin else None
        )
        spec = RuleSpec(
            key=rule.key,
            dataset=dataset,
            collection=collection,
            trigger_field=rule.trigger.date_field,
            counts_from=counts_from,
            period=period,
            action=rule.action.value,
            financial_year_end=year_end,
            anonymise_fields=tuple(rule.anonymise_fields),
            legal_source=builtin.legal_source if builtin else None,
            builtin=rule.rule,
        )
        entries.append(RuleEntry(spec, rule, legal, rule.aggregate))
    return entries


def builtin_rules() -> list[dict[str, Any]]:
    """The legal rules Datavern knows, usable as ``rule:`` in a retention rule."""
    return [
        {
            "rule": r.name,
            "period": r.period,
            "counts_from": r.trigger,
            "legal_source": r.legal_source,
            "description": r.description,
        }
        for r in BUILTIN_RETENTION_RULES.values()
    ]


def applied_register(session: Session) -> tuple[int, Register]:
    from datavern.dsr.service import applied_register as newest

    return newest(session)


def _register_version(session: Session, number: int) -> Register:
    from datavern.dsr.execute import register_for

    return register_for(session, number)


def _connection_and_table(register: Register, dataset: str, collection: str) -> tuple[str, str]:
    from datavern.dsr.execute import connection_name, table_name

    settings = register.dsr or DsrSettings()
    return connection_name(settings, dataset), table_name(register, dataset, collection)


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


# --------------------------------------------------------------------------- #
# Sweeping one rule
# --------------------------------------------------------------------------- #


def _kind_of(column: ColumnInfo, sql_column: Any) -> rules.ColumnKind | None:
    if column.kind == "date":
        return "date"
    if column.kind == "datetime":
        return "aware" if getattr(sql_column.type, "timezone", False) else "naive"
    return None


@dataclass
class Counts:
    due: int = 0
    held: int = 0
    oldest: Any = None


class RuleSweep:
    """One rule against its live table: predicates, counts, batches."""

    def __init__(
        self,
        entry: RuleEntry,
        register: Register,
        connector_for: Callable[[str], SQLConnector],
        cutoff_day: date,
    ) -> None:
        self.entry = entry
        self.spec = entry.spec
        self.register = register
        self.connector_for = connector_for
        self.cutoff = cutoff_day
        self.connection, self.table_name = _connection_and_table(
            register, self.spec.dataset, self.spec.collection
        )
        self.connector = connector_for(self.connection)
        self.problems: list[str] = []
        self.info: CollectionInfo | None = None
        self.table: Table | None = None
        self.pk: tuple[str, ...] = ()
        self.server_version: tuple[int, ...] = ()
        self._block_statement: Any = None
        self.trigger_kind: rules.ColumnKind | None = None
        self.masks: dict[str, Any] = {}
        self.constant_masks = True
        self.summary: Table | None = None
        self.summary_name: str | None = None
        self.holds: list[HoldSpec] = []
        self.hold_ids: tuple[int, ...] = ()
        self.whole_collection_held = False
        self.held_expr: ColumnElement[bool] | None = None
        self.subject_held: set[tuple[Any, ...]] = set()

    # -- checks against the live database ------------------------------------------

    def check(self) -> list[str]:
        """Every reason this rule cannot run; nothing is read but the table's definition."""
        spec = self.spec
        where = f"rule {spec.key!r}"
        try:
            self.info = self.connector.collection(self.table_name)
            self.table = self.connector.table(self.table_name)
        except ConnectorError as exc:
            return [f"{where}: {exc}"]
        info = self.info
        problems: list[str] = []
        self.pk = info.primary_key
        self.server_version = self._server_version()
        if not self.pk and not self.blocks_possible():
            problems.append(
                f"{where}: table {self.table_name!r} has no primary key; a sweep pages through "
                "a table by its primary key (add one, e.g. an identity column), or by its "
                "physical blocks on PostgreSQL 14 and later"
            )
        columns = set(info.column_names)
        if spec.trigger_field not in columns:
            problems.append(
                f"{where}: table {self.table_name!r} in connection {self.connection!r} has no "
                f"field {spec.trigger_field!r}"
            )
        else:
            self.trigger_kind = _kind_of(
                info.column(spec.trigger_field), self.table.c[spec.trigger_field]
            )
            if self.trigger_kind is None:
                problems.append(
                    f"{where}: field {spec.trigger_field!r} is "
                    f"{info.column(spec.trigger_field).type}, not a date or a timestamp"
                )
        if spec.action == "anonymise":
            problems.extend(self._check_masks(columns))
        if spec.action == "aggregate":
            problems.extend(self._check_summary(columns))
        self.problems = problems
        return problems

    def _check_masks(self, columns: set[str]) -> list[str]:
        from datavern.dsr.masking import MaskingProblem, masking_key, resolve_mask

        assert self.info is not None
        problems: list[str] = []
        settings = self.register.dsr or DsrSettings()
        key = masking_key()
        for name in self.spec.anonymise_fields:
            address = f"{self.spec.collection_key}.{name}"
            if name not in columns:
                problems.append(f"rule {self.spec.key!r}: table has no field {name!r}")
                continue
            override = settings.masking.fields.get(address)
            try:
                mask = resolve_mask(
                    name,
                    override.strategy if override else "null",
                    self.info.column(name),
                    explicit=override is not None,
                    fixed_value=(override.value if override and override.value else None)
                    or settings.masking.fixed_value,
                    key=key,
                    where=address,
                )
            except MaskingProblem as exc:
                problems.append(f"rule {self.spec.key!r}: {exc}")
                continue
            self.masks[name] = mask
            self.constant_masks = self.constant_masks and mask.is_constant
        return problems

    def _check_summary(self, columns: set[str]) -> list[str]:
        aggregate = self.entry.aggregate
        assert aggregate is not None
        where = f"rule {self.spec.key!r}"
        dataset, _, collection = aggregate.into.partition(".")
        connection, name = _connection_and_table(self.register, dataset, collection)
        if connection != self.connection:
            return [
                f"{where}: the summary collection {aggregate.into} is in connection "
                f"{connection!r}, the rows in {self.connection!r}; both must be in one database"
            ]
        try:
            info = self.connector.collection(name)
            self.summary = self.connector.table(name)
            self.summary_name = name
        except ConnectorError as exc:
            return [f"{where}: {exc}"]
        problems = []
        have = set(info.column_names)
        for group in aggregate.group_by:
            if group not in columns:
                problems.append(f"{where}: table {self.table_name!r} has no field {group!r}")
            if group not in have:
                problems.append(f"{where}: summary table {name!r} has no field {group!r}")
        if aggregate.count_field not in have:
            problems.append(
                f"{where}: summary table {name!r} has no field {aggregate.count_field!r}"
            )
        return problems

    # -- predicates ----------------------------------------------------------------

    def _pk_expr(self) -> Any:
        assert self.table is not None
        columns = [self.table.c[k] for k in self.pk]
        return columns[0] if len(columns) == 1 else tuple_(*columns)

    def _key_value(self, key: Sequence[Any]) -> Any:
        return key[0] if len(self.pk) == 1 else tuple_(*(literal(v) for v in key))

    def due_expr(self) -> ColumnElement[bool]:
        assert self.table is not None and self.trigger_kind is not None
        column = self.table.c[self.spec.trigger_field]
        bound = rules.bound_for_cutoff(self.cutoff, self.trigger_kind)
        return and_(column.is_not(None), column < bound)

    def work_expr(self) -> ColumnElement[bool]:
        """Rows the action still has to do: anonymised rows are not anonymised twice."""
        if self.spec.action != "anonymise":
            return true()
        assert self.table is not None
        parts = []
        for name, mask in self.masks.items():
            column = self.table.c[name]
            if mask.is_constant:
                parts.append(column.is_distinct_from(mask.constant))
            else:
                parts.append(and_(column.is_not(None), not_(column.like("dv:%"))))
        return or_(*parts)

    def set_holds(self, holds: ActiveHolds) -> None:
        """Compile the active holds on this collection into predicates and key sets."""
        collection = self.spec.collection_key
        self._block_statement = None
        relevant = holds.for_collection(collection)
        self.holds = relevant
        self.hold_ids = tuple(h.id for h in relevant)
        self.whole_collection_held = any(h.scope == "collection" for h in relevant)
        record_exprs = [self._conditions_expr(h) for h in relevant if h.scope == "records"]
        self.held_expr = or_(*record_exprs) if record_exprs else None
        self.subject_held = set()
        subjects = [h for h in relevant if h.scope == "subject"]
        for hold in subjects:
            identities = holds.identities.get(hold.id)
            if not identities or not self.pk:
                # A person's rows cannot be told apart here (no identity to walk from, or
                # no key to name them by): the hold keeps the whole collection.
                self.whole_collection_held = True
                continue
            found = subject_keys(self.register, identities, self.connector_for)
            self.subject_held |= found.get(collection, set())

    def _conditions_expr(self, hold: HoldSpec) -> ColumnElement[bool]:
        assert self.table is not None and self.info is not None
        parts: list[ColumnElement[bool]] = []
        for cond in hold.conditions:
            if cond.field not in self.table.c:
                # A field the table does not have cannot be checked: the hold covers every
                # row (when in doubt, keep).
                parts.append(cast(null(), Boolean))
                continue
            column = self.table.c[cond.field]
            info = self.info.column(cond.field)
            kind = _kind_of(info, column) or info.kind
            if cond.op == "is_null":
                parts.append(column.is_(None))
                continue
            if cond.op == "not_null":
                parts.append(column.is_not(None))
                continue
            try:
                values = [rules.coerce_for_kind(v, kind) for v in cond.values]
            except (ValueError, TypeError, ArithmeticError):
                parts.append(cast(null(), Boolean))
                continue
            left: Any = column
            if kind == "string":
                left = func.lower(column)
                values = [str(v).lower() for v in values]
            if cond.op == "in":
                parts.append(left.in_(values))
            else:
                parts.append(_compare_expr(cond.op, left, values[0]))
        return and_(*parts)

    def sweep_expr(self) -> ColumnElement[bool]:
        """Due, not held by a record-set hold, still to do."""
        parts = [self.due_expr(), self.work_expr()]
        if self.whole_collection_held:
            parts.append(false())
        if self.held_expr is not None:
            # NOT(unknown) is unknown, so a row a condition cannot judge stays (held).
            parts.append(not_(self.held_expr))
        return and_(*parts)

    # -- counts -------------------------------------------------------------------------

    def estimate_due(self) -> int:
        """The planner's estimate of the rows due (PostgreSQL), for progress only."""
        assert self.table is not None
        # The estimate of the rows a plain SELECT returns: the top node's "Plan Rows".
        query = select(literal(1)).select_from(self.table).where(self.sweep_expr())
        with self.connector.connection(self.table_name) as conn:
            compiled = query.compile(conn)
            plan = conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params
            ).scalar_one()
        try:
            node = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            return max(0, int(node.get("Plan Rows", 0)))
        except (KeyError, IndexError, TypeError, ValueError):
            return 0

    def counts(self) -> Counts:
        """Rows due (still to do) and, of them, the held; the oldest due trigger date."""
        assert self.table is not None
        table = self.table
        trigger = table.c[self.spec.trigger_field]
        due = and_(self.due_expr(), self.work_expr())
        with self.connector.connection(self.table_name) as conn:
            total, oldest = conn.execute(
                select(func.count(), func.min(trigger)).select_from(table).where(due)
            ).one()
            sweepable = total
            if self.whole_collection_held:
                sweepable = 0
            elif self.held_expr is not None:
                sweepable = conn.execute(
                    select(func.count()).select_from(table).where(self.sweep_expr())
                ).scalar_one()
            subject = 0
            if self.subject_held and sweepable:
                subject = sum(
                    conn.execute(
                        select(func.count())
                        .select_from(table)
                        .where(self.sweep_expr(), self._pk_expr().in_(chunk))
                    ).scalar_one()
                    for chunk in _chunks(self._pk_values(self.subject_held), 1000)
                )
        return Counts(due=int(total), held=int(total - sweepable + subject), oldest=oldest)

    def _pk_values(self, keys: Iterable[tuple[Any, ...]]) -> list[Any]:
        return [k[0] if len(self.pk) == 1 else k for k in keys]

    # -- batches ---------------------------------------------------------------------------

    def next_batch(self, after: tuple[Any, ...] | None, size: int) -> list[tuple[Any, ...]]:
        """Keys of the next ``size`` due, unheld rows after ``after`` (a plain read)."""
        assert self.table is not None
        pk = [self.table.c[k] for k in self.pk]
        query = select(*pk).where(self.sweep_expr())
        if after is not None:
            query = query.where(self._pk_expr() > self._key_value(after))
        query = query.order_by(*pk).limit(size)
        with self.connector.connection(self.table_name) as conn:
            return [tuple(row) for row in conn.execute(query)]

    # -- physical blocks (PostgreSQL 14+): the same scan as one DELETE, a slice at a time --

    def _server_version(self) -> tuple[int, ...]:
        if self.connector.backend != "postgresql":
            return ()
        with self.connector.connection(self.table_name) as conn:
            info = conn.dialect.server_version_info or ()
        return tuple(int(part) for part in info if isinstance(part, int))

    def blocks_possible(self) -> bool:
        """Whether batches can be slices of the table's blocks (TID range scans, PG 14+)."""
        return self.connector.backend == "postgresql" and self.server_version >= (14,)

    def block_mode(self) -> bool:
        """Blocks unless a batch must name its rows (a person's rows kept, pseudonyms)."""
        return (
            self.blocks_possible()
            and not self.subject_held
            and not (self.spec.action == "anonymise" and not self.constant_masks)
        )

    def block_layout(self) -> tuple[int, float]:
        """(blocks in the table now, rows per block as the statistics have it)."""
        assert self.table is not None
        with self.connector.connection(self.table_name) as conn:
            name = conn.dialect.identifier_preparer.format_table(self.table)
            blocks, rows, pages = conn.execute(
                sql_text(
                    "SELECT pg_relation_size(CAST(:rel AS regclass)) "
                    "/ current_setting('block_size')::bigint, c.reltuples, c.relpages "
                    "FROM pg_class c WHERE c.oid = CAST(:rel AS regclass)"
                ),
                {"rel": name},
            ).one()
        per_block = float(rows) / float(pages) if pages and rows and rows > 0 else 50.0
        return int(blocks), max(1.0, per_block)

    @staticmethod
    def block_expr(lo: int, hi: int) -> ColumnElement[bool]:
        clause = sql_text(_BLOCKS_SQL).bindparams(dv_block_lo=f"({lo},0)", dv_block_hi=f"({hi},0)")
        return clause  # type: ignore[return-value]

    def remaining_blocks(self, lo: int, hi: int) -> int:
        assert self.table is not None
        with self.connector.connection(self.table_name) as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(self.table)
                    .where(self.sweep_expr(), self.block_expr(lo, hi))
                ).scalar_one()
            )

    def apply_blocks(
        self, lo: int, hi: int, before_commit: Callable[[int], bool]
    ) -> tuple[int, float] | None:
        """The action on blocks [lo, hi) in one transaction. ``before_commit(rows)`` records
        the batch in Datavern's database while the rows are still locked; when it answers
        False (a hold changed meanwhile) the transaction is rolled back and None returned."""
        assert self.table is not None
        if self._block_statement is None:
            # Built once per set of holds and reused: only the block numbers change.
            where = and_(self.sweep_expr(), sql_text(_BLOCKS_SQL))
            if self.spec.action == "delete":
                self._block_statement = delete(self.table).where(where)
            elif self.spec.action == "anonymise":
                values = {self.table.c[f]: m.constant for f, m in self.masks.items()}
                self._block_statement = update(self.table).where(where).values(values)
            else:
                self._block_statement = where
        params = {"dv_block_lo": f"({lo},0)", "dv_block_hi": f"({hi},0)"}
        started = _time.perf_counter()
        try:
            with self.connector.transaction(self.table_name) as conn:
                if self.spec.action == "aggregate":
                    done = self._aggregate(conn, self._block_statement, lock=False, params=params)
                else:
                    done = int(conn.execute(self._block_statement, params).rowcount)
                if not before_commit(done):
                    raise _Rollback()
        except _Rollback:
            return None
        return done, _time.perf_counter() - started

    def next_range(
        self, after: tuple[Any, ...] | None, size: int
    ) -> tuple[tuple[Any, ...] | None, int, list[tuple[Any, ...]]]:
        """(last key, number of rows, keys) of the next batch; keys only when the batch needs
        them (subject holds, pseudonyms, composite keys): otherwise one aggregate row is read
        instead of ``size`` keys."""
        assert self.table is not None
        needs_keys = (
            bool(self.subject_held)
            or len(self.pk) > 1
            or (self.spec.action == "anonymise" and not self.constant_masks)
        )
        if needs_keys:
            keys = self.next_batch(after, size)
            return (keys[-1] if keys else None), len(keys), keys
        column = self.table.c[self.pk[0]]
        inner = select(column).where(self.sweep_expr())
        if after is not None:
            inner = inner.where(column > after[0])
        batch = inner.order_by(column).limit(size).subquery()
        first = next(iter(batch.c))
        with self.connector.connection(self.table_name) as conn:
            last, count = conn.execute(
                select(func.max(first), func.count()).select_from(batch)
            ).one()
        return ((last,) if count else None), int(count), []

    def range_expr(
        self, lo: tuple[Any, ...] | None, hi: tuple[Any, ...], skip: Sequence[tuple[Any, ...]]
    ) -> ColumnElement[bool]:
        parts = [self.sweep_expr(), self._pk_expr() <= self._key_value(hi)]
        if lo is not None:
            parts.append(self._pk_expr() > self._key_value(lo))
        if skip:
            parts.append(self._pk_expr().not_in(self._pk_values(skip)))
        return and_(*parts)

    def remaining(
        self, lo: tuple[Any, ...] | None, hi: tuple[Any, ...], skip: Sequence[tuple[Any, ...]]
    ) -> int:
        assert self.table is not None
        with self.connector.connection(self.table_name) as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(self.table)
                    .where(self.range_expr(lo, hi, skip))
                ).scalar_one()
            )

    def apply(
        self,
        lo: tuple[Any, ...] | None,
        hi: tuple[Any, ...],
        keys: Sequence[tuple[Any, ...]],
        skip: Sequence[tuple[Any, ...]],
    ) -> tuple[int, float]:
        """Do the rule's action on the batch in one transaction; (rows done, seconds locked)."""
        assert self.table is not None
        where = self.range_expr(lo, hi, skip)
        action = self.spec.action
        if action == "anonymise" and not self.constant_masks:
            # Pseudonyms and random texts are computed row by row: the connector reads and
            # writes the batch's rows in one transaction (SELECT ... FOR UPDATE).
            act = [k for k in keys if k not in set(skip)]
            started = _time.perf_counter()
            done = self.connector.mask(
                self.table_name,
                [dict(zip(self.pk, k, strict=True)) for k in act],
                {f: m.write_value() for f, m in self.masks.items()},
            )
            return done, _time.perf_counter() - started
        started = _time.perf_counter()
        with self.connector.transaction(self.table_name) as conn:
            if action == "delete":
                done = conn.execute(delete(self.table).where(where)).rowcount
            elif action == "anonymise":
                values = {self.table.c[f]: m.constant for f, m in self.masks.items()}
                done = conn.execute(update(self.table).where(where).values(values)).rowcount
            else:
                done = self._aggregate(conn, where)
        return int(done), _time.perf_counter() - started

    def _aggregate(
        self,
        conn: Any,
        where: ColumnElement[bool],
        lock: bool = True,
        params: Mapping[str, Any] | None = None,
    ) -> int:
        assert self.table is not None and self.summary is not None
        aggregate = self.entry.aggregate
        assert aggregate is not None
        # Lock the batch's rows first, so that the count and the delete see the same rows.
        if lock and self.connector.backend != "sqlite":
            conn.execute(select(*[self.table.c[k] for k in self.pk]).where(where).with_for_update())
        groups = [self.table.c[g] for g in aggregate.group_by]
        counted = select(*groups, func.count()).where(where)
        if groups:
            counted = counted.group_by(*groups)
        target = [self.summary.c[g] for g in aggregate.group_by]
        target.append(self.summary.c[aggregate.count_field])
        conn.execute(insert(self.summary).from_select(target, counted), dict(params or {}))
        return int(conn.execute(delete(self.table).where(where), dict(params or {})).rowcount)


_BLOCKS_SQL = "ctid >= CAST(:dv_block_lo AS tid) AND ctid < CAST(:dv_block_hi AS tid)"


class _Rollback(Exception):
    """Undo a batch's transaction (a hold changed while it ran)."""


def _compare_expr(op: str, left: Any, value: Any) -> ColumnElement[bool]:
    if op == "=":
        return left == value  # type: ignore[no-any-return]
    if op == "!=":
        return left != value  # type: ignore[no-any-return]
    if op == "<":
        return left < value  # type: ignore[no-any-return]
    if op == "<=":
        return left <= value  # type: ignore[no-any-return]
    if op == ">":
        return left > value  # type: ignore[no-any-return]
    return left >= value  # type: ignore[no-any-return]


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


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


class _Connectors:
    """Connectors opened once per plan or run, from the stored connections."""

    def __init__(self) -> None:
        self._open: dict[str, SQLConnector] = {}

    def __call__(self, name: str) -> SQLConnector:
        connector = self._open.get(name)
        if connector is None:
            from datavern.connectors.service import open_connector

            with session_scope() as session:
                connector = open_connector(session, name)
            self._open[name] = connector
        return connector


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


# --------------------------------------------------------------------------- #
# Runs
# --------------------------------------------------------------------------- #


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lease_free(run: SweepRun, now: datetime) -> bool:
    owner = run.lease_owner
    if owner is None or owner == _owner():
        return True
    if run.lease_until is None or run.lease_until <= now:
        return True
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


def unfinished_run(session: Session) -> SweepRun | None:
    return session.execute(
        select(SweepRun)
        .where(SweepRun.state.in_(("running", "failed")))
        .order_by(SweepRun.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class StartResult:
    run_id: str
    resumed: bool


def start_run(
    session: Session,
    *,
    actor: str,
    only: Sequence[str] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    scheduled: bool = False,
    fresh: bool = False,
) -> StartResult:
    """A new run, or the unfinished one (killed or failed) to continue.

    ``fresh`` abandons an unfinished run first (its report says so) and starts anew.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidInput(Problem(f"the batch size is 1 to {MAX_BATCH_SIZE}", path="batch-size"))
    now = clock.now()
    previous = unfinished_run(session)
    if previous is not None and not _lease_free(previous, now):
        raise RunBusy(
            f"sweep {previous.id} is being run by {previous.lease_owner}; try again later"
        )
    if previous is not None and fresh:
        previous.state = "abandoned"
        previous.finished_at = now
        previous.lease_owner = None
        audit.record(
            session, "retention.run.abandoned", AUDIT_RUN.format(previous.id), {}, actor=actor
        )
        previous = None
    if previous is not None:
        if only and sorted(only) != sorted(previous.only_rules):
            raise InvalidInput(
                Problem(
                    f"sweep {previous.id} (rules: {', '.join(previous.only_rules) or 'all'}) is "
                    "unfinished: continue it with `datavern retention run` first, or start "
                    "anew with --fresh",
                    path="rule",
                )
            )
        previous.resumed += 1
        previous.state = "running"
        previous.error = None
        previous.lease_owner = _owner()
        previous.lease_until = now + LEASE
        return StartResult(previous.id, True)
    version, register = applied_register(session)
    entries = _select(resolve_rules(register), only)
    if not entries:
        raise InvalidInput(
            Problem(
                "the register has no retention_rules; add rules for your collections "
                "(see docs/retention.md) and apply the register",
                path="retention_rules",
            )
        )
    day = today_oslo(now)
    run = SweepRun(
        id=uuid.uuid4().hex,
        state="running",
        register_version=version,
        today=day,
        batch_size=batch_size,
        only_rules=list(only),
        created_by=actor,
        started_at=now,
        resumed=0,
        lease_owner=_owner(),
        lease_until=now + LEASE,
        scheduled=scheduled,
    )
    session.add(run)
    session.flush()  # the run's row first: its rules refer to it
    for position, entry in enumerate(entries):
        session.add(
            SweepRule(
                run_id=run.id,
                position=position,
                rule=entry.spec.key,
                collection=entry.spec.collection_key,
                action=entry.spec.action,
                description=entry.spec.describe(),
                legal_basis=entry.legal_basis,
                cutoff=rules.cutoff(entry.spec, day),
                state="pending",
                batches=0,
                due_at_start=0,
                deleted=0,
                anonymised=0,
                aggregated=0,
                held=0,
                holds=[],
                max_batch_seconds=0.0,
            )
        )
    audit.record(
        session,
        "retention.run.start",
        AUDIT_RUN.format(run.id),
        {
            "rules": [e.spec.key for e in entries],
            "today": day.isoformat(),
            "batch_size": batch_size,
        },
        actor=actor,
    )
    return StartResult(run.id, False)


Progress = Callable[[str, int, int], None]
"""Called with (rule, rows done, rows to do) as batches finish."""


def run_sweep(
    run_id: str, *, actor: str, progress: Progress | None = None, parallel: int | None = None
) -> RunView:
    """Execute (or continue) run ``run_id`` to its end; returns the finished run.

    ``parallel``: connections sweeping slices of a table at once on PostgreSQL (see
    parallel_degree); elsewhere batches run one at a time."""
    degree = parallel_degree(parallel)
    with session_scope() as session:
        run = session.get(SweepRun, run_id)
        if run is None:
            raise NotFound(f"no retention run {run_id!r}")
        register = _register_version(session, run.register_version)
        rule_rows = list(
            session.execute(
                select(SweepRule).where(SweepRule.run_id == run_id).order_by(SweepRule.position)
            ).scalars()
        )
        for row in rule_rows:
            session.expunge(row)
        batch_size = run.batch_size
    entries = {e.spec.key: e for e in resolve_rules(register)}
    connectors = _Connectors()
    failed: list[str] = []
    try:
        _sweep_rules(
            run_id, rule_rows, entries, register, connectors, batch_size, actor, progress, failed,
            degree,
        )  # fmt: skip
    finally:
        _close_bookkeeping()
    return _finish(run_id, actor, failed)


def _sweep_rules(
    run_id: str,
    rule_rows: list[SweepRule],
    entries: Mapping[str, RuleEntry],
    register: Register,
    connectors: _Connectors,
    batch_size: int,
    actor: str,
    progress: Progress | None,
    failed: list[str],
    degree: int = 1,
) -> None:
    for row in rule_rows:
        if row.state in ("done", "skipped"):
            continue
        entry = entries.get(row.rule)
        if entry is None:  # pragma: no cover - the register version is pinned
            _rule_failed(row.id, f"rule {row.rule!r} is not in register version")
            failed.append(row.rule)
            continue
        try:
            _sweep_rule(
                run_id, row, entry, register, connectors, batch_size, actor, progress, degree
            )
        except (DatavernError, ConnectorError) as exc:
            _rule_failed(row.id, str(exc))
            failed.append(f"{row.rule}: {exc}")


def _rule_failed(rule_id: int, error: str) -> None:
    with session_scope() as session:
        row = session.get(SweepRule, rule_id)
        assert row is not None
        row.state = "failed"
        row.error = error
        row.finished_at = clock.now()


def _sweep_rule(
    run_id: str,
    row: SweepRule,
    entry: RuleEntry,
    register: Register,
    connectors: _Connectors,
    batch_size: int,
    actor: str,
    progress: Progress | None,
    degree: int = 1,
) -> None:
    sweep = RuleSweep(entry, register, connectors, row.cutoff)
    problems = sweep.check()
    if problems:
        raise RetentionError("; ".join(problems) + "; nothing was changed for this rule")
    with session_scope() as session:
        holds = active_holds(session)
    sweep.set_holds(holds)
    first = row.state == "pending"
    with session_scope() as session:
        stored = session.get(SweepRule, row.id)
        assert stored is not None
        if first:
            if sweep.holds or not sweep.blocks_possible():
                counts = sweep.counts()
                stored.due_at_start = counts.due
                stored.held = counts.held
            else:
                # Nothing held: the rows due are the rows the sweep does (counted as it
                # goes); the planner's estimate is enough for the progress bar. Counting
                # ten million rows first would cost a scan of its own.
                stored.due_at_start = sweep.estimate_due()
                stored.held = 0
            stored.started_at = clock.now()
        stored.state = "running"
        stored.error = None
        stored.holds = list(sweep.hold_ids)
        last = _load(stored.last_key, "a sweep's last key")
        pending = _load(stored.pending, "a sweep's batch")
        total = stored.due_at_start - stored.held
        done = stored.deleted + stored.anonymised + stored.aggregated
        batches = stored.batches
    blocks = sweep.block_mode()
    last_key: tuple[Any, ...] | None = None
    position: tuple[int, int] | None = None  # block mode: (next block, blocks at the start)
    if last is not None and last and last[0] == BLOCKS:
        position = (int(last[1]), int(last[2])) if blocks else None
    elif last is not None and not blocks:
        last_key = tuple(last)
    # (Progress kept in the other mode is not used: the sweep starts over in this one, which
    # finds nothing twice, as done rows are no longer due.)
    if pending is not None:
        # A batch was under way when the run stopped: what of it is still to do was not done.
        if pending.get("mode") == "blocks":
            # Slices noted on one or more connections; the saved position is below each.
            slices = pending.get("slices") or [pending]
            left = 0
            finished_slices = 0
            for noted in slices:
                still = sweep.remaining_blocks(int(noted["lo"]), int(noted["hi"]))
                finished_slices += 1 if int(noted["expected"]) - still > 0 else 0
                left += still
            if blocks and position is None:
                position = (min(int(n["lo"]) for n in slices), int(pending["total"]))
            marker: tuple[Any, ...] | None = (
                (BLOCKS, *position) if position is not None else last_key
            )
            pending["expected"] = sum(int(n["expected"]) for n in slices)
        else:
            lo = tuple(pending["lo"]) if pending["lo"] is not None else None
            hi = tuple(pending["hi"])
            skip = [tuple(k) for k in pending["skip"]]
            left = sweep.remaining(lo, hi, skip)
            if not blocks:
                last_key = hi if left == 0 else lo
            marker = (
                last_key if not blocks else ((BLOCKS, *position) if position is not None else None)
            )
        finished = max(0, int(pending["expected"]) - left)
        done += finished
        if pending.get("mode") != "blocks":
            finished_slices = 1 if finished else 0
        batches += finished_slices
        _record(row.id, entry.spec.action, finished, marker, 0.0, batches_add=finished_slices)
    if blocks:
        switched = _sweep_blocks(
            run_id, row, sweep, holds, position, batch_size, done, batches, total, progress,
            degree,
        )  # fmt: skip
        if switched is None:
            _finish_rule(row.id, sweep)
            return
        holds, done, batches = switched
        last_key = None
    attempts = 0
    action = entry.spec.action
    recorded: tuple[int, tuple[Any, ...], float] | None = None
    while not sweep.whole_collection_held:
        upper, size, keys = sweep.next_range(last_key, batch_size)
        if upper is None:
            break
        hi = upper
        skip = [k for k in keys if k in sweep.subject_held]
        act = size - len(skip)
        note = {
            "lo": list(last_key) if last_key is not None else None,
            "hi": list(hi),
            "expected": act,
            "skip": [list(k) for k in skip],
        }
        # One commit per batch: the batch before is recorded, this one noted.
        current = _checkpoint(row.id, run_id, action, recorded, note)
        recorded = None
        if current != holds.ids():
            # A hold was added or ended since the batch was chosen: choose again under it.
            _checkpoint(row.id, run_id, action, None, None)
            with session_scope() as session:
                holds = active_holds(session)
            sweep.set_holds(holds)
            continue
        batch_number = batches + 1
        if _fault_hook is not None:
            _fault_hook("noted", row.rule, batch_number)
        try:
            count, seconds = sweep.apply(last_key, hi, keys, skip) if act else (0, 0.0)
        except Locked:
            attempts += 1
            _checkpoint(row.id, run_id, action, None, None)
            if attempts > LOCK_RETRIES:
                raise
            _time.sleep(0.5 * attempts)
            continue
        attempts = 0
        if _fault_hook is not None:
            _fault_hook("written", row.rule, batch_number)
        batches += 1
        done += count
        recorded = (count, hi, seconds)
        last_key = hi
        if progress is not None:
            progress(row.rule, done, max(total, done))
    _checkpoint(row.id, run_id, action, recorded, None)
    _finish_rule(row.id, sweep)


def _finish_rule(rule_id: int, sweep: RuleSweep) -> None:
    with session_scope() as session:
        stored = session.get(SweepRule, rule_id)
        assert stored is not None
        if sweep.whole_collection_held:
            stored.held = stored.due_at_start
        # What was due is what the sweep did and what holds kept (on PostgreSQL without
        # holds the count at the start is only the planner's estimate).
        done = stored.deleted + stored.anonymised + stored.aggregated
        stored.due_at_start = done + stored.held
        stored.state = "done"
        stored.finished_at = clock.now()
        stored.pending = None


BLOCKS = "__blocks__"
MAX_STEP_FACTOR = 64


def parallel_degree(value: int | None = None) -> int:
    """How many connections a block sweep uses: ``value``, else the setting
    DATAVERN_RETENTION_PARALLEL, else min(2, the machine's cores)."""
    source = "parallel"
    if value is None:
        text = os.environ.get(PARALLEL_SETTING, "").strip()
        if not text:
            return max(1, min(DEFAULT_PARALLEL, os.cpu_count() or 1))
        source = PARALLEL_SETTING
        try:
            value = int(text)
        except ValueError:
            value = 0
    if not 1 <= value <= MAX_PARALLEL:
        raise InvalidInput(
            Problem(f"the number of parallel connections is 1 to {MAX_PARALLEL}", path=source)
        )
    return value


class _Slices:
    """A block sweep's shared state: the slices handed out to its connections, what each
    has noted, and what is done but not yet recorded. Everything is read and changed under
    ``lock``, and each record written from it is consistent: every slice committed in the
    company's database is either counted in the record or noted in its ``pending`` (to be
    checked on resume), and the position saved (``frontier``) is below every slice not
    known to be done, so a resumed run starts there and finds nothing twice."""

    def __init__(
        self,
        run_id: str,
        row: SweepRule,
        sweep: RuleSweep,
        holds: ActiveHolds,
        start: int,
        blocks_total: int,
        step: int,
        batch_size: int,
        done: int,
        batches: int,
        total: int,
        progress: Progress | None,
    ) -> None:
        self.lock = threading.Lock()
        self.run_id = run_id
        self.row = row
        self.sweep = sweep
        self.holds = holds
        self.next_lo = start
        self.blocks_total = blocks_total
        self.step = step
        self.max_step = step * MAX_STEP_FACTOR
        self.batch_size = batch_size
        self.done = done
        self.batches = batches
        self.handed = batches
        self.total = total
        self.progress = progress
        self.open: dict[int, int] = {}  # slice number -> its first block
        self.noted: dict[int, dict[str, int]] = {}  # slice number -> {lo, hi, expected}
        self.unrecorded: list[tuple[int, float]] = []  # (rows, seconds) committed, not counted
        self.stop = False
        self.hold_changed = False
        self.error: BaseException | None = None

    def frontier(self) -> int:
        return min([self.next_lo, *self.open.values()])

    def take(self) -> tuple[int, int, int] | None:
        """(slice number, first block, end block) of the next slice, or None when done."""
        with self.lock:
            if self.stop or self.next_lo >= self.blocks_total:
                return None
            lo = self.next_lo
            hi = min(self.blocks_total, lo + self.step)
            self.next_lo = hi
            self.handed += 1
            self.open[self.handed] = lo
            return self.handed, lo, hi

    def write(self) -> tuple[int, ...]:
        """Record what is done and note what is under way, in one commit (under ``lock``);
        returns the ids of the holds active now."""
        rows = sum(count for count, _ in self.unrecorded)
        seconds = max((s for _, s in self.unrecorded), default=0.0)
        pending: dict[str, Any] | None = None
        if self.noted:
            pending = {
                "mode": "blocks",
                "total": self.blocks_total,
                "slices": [self.noted[k] for k in sorted(self.noted)],
            }
        ids = _write_progress(
            self.row.id,
            self.run_id,
            self.sweep.spec.action,
            rows=rows,
            batches=len(self.unrecorded),
            seconds=seconds,
            last_key=(BLOCKS, self.frontier(), self.blocks_total),
            pending=pending,
        )
        self.unrecorded = []
        return ids

    def before_commit(self, number: int, lo: int, hi: int, count: int) -> bool:
        """Note the slice (its rows still locked); False rolls it back."""
        with self.lock:
            if self.stop:
                return False
            self.noted[number] = {"lo": lo, "hi": hi, "expected": count}
            ids = self.write()
            if ids != self.holds.ids():
                # A hold was added or ended meanwhile: every connection stops, the sweep
                # continues under the new holds from the saved position.
                del self.noted[number]
                self.stop = True
                self.hold_changed = True
                return False
        if _fault_hook is not None:
            _fault_hook("noted", self.row.rule, number)
        return True

    def committed(self, number: int, lo: int, hi: int, count: int, seconds: float) -> None:
        with self.lock:
            del self.open[number]
            self.noted.pop(number, None)
            self.unrecorded.append((count, seconds))
            self.batches += 1
            self.done += count
            # Aim the next slice at about batch_size due rows: as dense as this one was.
            density = count / (hi - lo)
            wanted = int(self.batch_size / density) if density > 0 else self.step * 2
            self.step = max(1, min(self.max_step, wanted))
            if self.progress is not None:
                self.progress(self.row.rule, self.done, max(self.total, self.done))

    def failed(self, error: BaseException) -> None:
        with self.lock:
            self.stop = True
            if self.error is None:
                self.error = error

    def work(self) -> None:
        """One connection's loop: slices until none is left or the sweep stops."""
        try:
            while True:
                taken = self.take()
                if taken is None:
                    return
                number, lo, hi = taken
                attempts = 0
                while True:
                    try:
                        result = self.sweep.apply_blocks(
                            lo, hi, partial(self.before_commit, number, lo, hi)
                        )
                    except Locked:
                        attempts += 1
                        with self.lock:
                            self.noted.pop(number, None)
                        if attempts > LOCK_RETRIES:
                            raise
                        _time.sleep(0.5 * attempts)
                        continue
                    break
                if result is None:
                    return  # rolled back: the slice stays open, the position below it
                count, seconds = result
                if _fault_hook is not None:
                    _fault_hook("written", self.row.rule, number)
                self.committed(number, lo, hi, count, seconds)
        except BaseException as exc:  # handed to the sweep's thread, raised there
            self.failed(exc)

    def sweep_all(self, degree: int) -> None:
        """Run ``degree`` connections (this thread is one of them) until the end or a stop."""
        helpers = [
            threading.Thread(target=self.work, name=f"retention-slices-{n}", daemon=True)
            for n in range(1, degree)
        ]
        for thread in helpers:
            thread.start()
        self.work()
        for thread in helpers:
            thread.join()


def _sweep_blocks(
    run_id: str,
    row: SweepRule,
    sweep: RuleSweep,
    holds: ActiveHolds,
    position: tuple[int, int] | None,
    batch_size: int,
    done: int,
    batches: int,
    total: int,
    progress: Progress | None,
    degree: int = 1,
) -> tuple[ActiveHolds, int, int] | None:
    """Sweep slices of the table's blocks on PostgreSQL (TID range scans), each slice about
    ``batch_size`` due rows: the same scan as one DELETE, committed a slice at a time, on
    ``degree`` connections at once (each holding the locks of one slice at a time).

    A slice is noted in Datavern's database after its statement and before its commit,
    while its rows are still locked: a run stopped before the commit finds the rows still
    due (not done), one stopped after finds them gone (done), and counts them once.

    Returns None when done, or (holds, done, batches) when a new hold means the batch must
    name its rows: the caller continues by primary key.
    """
    layout_blocks, per_block = sweep.block_layout()
    start, blocks_total = position if position is not None else (0, layout_blocks)
    step = max(1, int(batch_size / per_block))
    while True:
        state = _Slices(
            run_id, row, sweep, holds, start, blocks_total, step, batch_size,
            done, batches, total, progress,
        )  # fmt: skip
        if not sweep.whole_collection_held:
            state.sweep_all(degree)
        if state.error is not None:
            # Nothing more is written: the last record is consistent (see _Slices).
            raise state.error
        with state.lock:
            state.write()
        done, batches, step = state.done, state.batches, state.step
        if not state.hold_changed:
            return None
        # A hold was added or ended meanwhile: nothing of the stopped slices was written.
        start = state.frontier()
        with session_scope() as session:
            holds = active_holds(session)
        sweep.set_holds(holds)
        if not sweep.block_mode():
            return holds, done, batches


@contextmanager
def _bookkeeping() -> Iterator[Connection]:
    """A transaction for a sweep's per-batch record, committed without waiting for the disk.

    A sweep writes one record per batch, and waiting for the disk each time would cost more
    than the batch. Without the wait a killed process loses nothing (the record is with the
    database server, or in SQLite's write-ahead log); only a power failure of the machine
    holding Datavern's own database can lose the last records, and then the batches they
    describe are done but missing from the counts (docs/retention.md). SQLite: a connection
    of its own with synchronous=NORMAL (write-ahead log); PostgreSQL: synchronous_commit off
    for this transaction only.
    """
    url = get_settings().effective_database_url
    if make_url(url).get_backend_name() != "sqlite":
        with get_engine(url).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield conn
        return
    engine = _relaxed_engines.get(url)
    if engine is None:
        # One connection, kept for the run and closed when it ends (_close_bookkeeping).
        engine = create_engine(
            url,
            pool_size=1,
            max_overflow=2,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _relaxed_sqlite)
        _relaxed_engines[url] = engine
    with engine.begin() as conn:
        yield conn


_relaxed_engines: dict[str, Any] = {}


def _close_bookkeeping() -> None:
    while _relaxed_engines:
        _url, engine = _relaxed_engines.popitem()
        engine.dispose()


def _relaxed_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_LEASE_EVERY = timedelta(seconds=30)
_lease_written: dict[str, datetime] = {}


def _store(value: Any) -> str | None:
    """A position or batch note for the database: block numbers as they are (they say
    nothing about anyone), primary keys sealed (a key can be an e-mail address)."""
    if value is None:
        return None
    if _is_blocks(value):
        return "json:" + json.dumps(list(value) if isinstance(value, tuple) else value)
    return crypto.seal(list(value) if isinstance(value, tuple) else value)


def _load(text: str | None, what: str) -> Any:
    if not text:
        return None
    if text.startswith("json:"):
        return json.loads(text[5:])
    return crypto.unseal(text, what)


def _is_blocks(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("mode") == "blocks"
    return isinstance(value, list | tuple) and bool(value) and value[0] == BLOCKS


def _checkpoint(
    rule_id: int,
    run_id: str,
    action: str,
    recorded: tuple[int, tuple[Any, ...], float] | None,
    note: dict[str, Any] | None,
) -> tuple[int, ...]:
    """Record the batch just done and note the next one, in one commit; returns the ids of
    the holds active now (so that the caller sees a hold added meanwhile)."""
    if recorded is None:
        return _write_progress(rule_id, run_id, action, pending=note)
    count, last_key, seconds = recorded
    return _write_progress(
        rule_id,
        run_id,
        action,
        rows=count,
        batches=1,
        seconds=seconds,
        last_key=last_key,
        pending=note,
    )


_KEEP = object()


def _write_progress(
    rule_id: int,
    run_id: str,
    action: str,
    *,
    rows: int = 0,
    batches: int = 0,
    seconds: float = 0.0,
    last_key: Any = _KEEP,
    pending: dict[str, Any] | None,
) -> tuple[int, ...]:
    """Add ``rows`` done in ``batches`` batches, save the position and the batches under
    way, in one commit; returns the ids of the holds active now.

    A few statements, once per batch: it is most of what a sweep costs beyond the work."""
    values: dict[str, Any] = {"pending": _store(pending)}
    if batches:
        column = {"delete": SweepRule.deleted, "anonymise": SweepRule.anonymised}.get(
            action, SweepRule.aggregated
        )
        values[column.key] = column + rows
        values["batches"] = SweepRule.batches + batches
        values["max_batch_seconds"] = case(
            (SweepRule.max_batch_seconds < seconds, seconds),
            else_=SweepRule.max_batch_seconds,
        )
    if last_key is not _KEEP:
        values["last_key"] = _store(last_key)
    now = clock.now()
    with _bookkeeping() as session:
        session.execute(update(SweepRule).where(SweepRule.id == rule_id).values(**values))
        if now - _lease_written.get(run_id, now - _LEASE_EVERY) >= _LEASE_EVERY:
            session.execute(
                update(SweepRun).where(SweepRun.id == run_id).values(lease_until=now + LEASE)
            )
            _lease_written[run_id] = now
        active = [
            hold_id
            for hold_id, starts, ends in session.execute(
                select(LegalHold.id, LegalHold.starts_at, LegalHold.ends_at)
            )
            if starts <= now and (ends is None or now < ends)
        ]
        return tuple(sorted(active))


def _add_count(stored: SweepRule, action: str, count: int) -> None:
    if action == "delete":
        stored.deleted += count
    elif action == "anonymise":
        stored.anonymised += count
    else:
        stored.aggregated += count


def _record(
    rule_id: int,
    action: str,
    count: int,
    last_key: tuple[Any, ...] | None,
    seconds: float,
    *,
    batches_add: int,
    run_id: str | None = None,
) -> None:
    with session_scope() as session:
        stored = session.get(SweepRule, rule_id)
        assert stored is not None
        _add_count(stored, action, count)
        stored.batches += batches_add
        stored.max_batch_seconds = max(stored.max_batch_seconds, seconds)
        stored.last_key = _store(last_key)
        stored.pending = None
        if run_id is not None:
            run = session.get(SweepRun, run_id)
            if run is not None:
                run.lease_until = clock.now() + LEASE


# --------------------------------------------------------------------------- #
# Reports
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RunView:
    id: str
    state: str
    register_version: int
    today: date
    batch_size: int
    started_at: datetime
    finished_at: datetime | None
    resumed: int
    scheduled: bool
    error: str | None
    created_by: str
    report: dict[str, Any] | None
    signature: str | None
    rules: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "register_version": self.register_version,
            "today": self.today.isoformat(),
            "batch_size": self.batch_size,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "resumed": self.resumed,
            "scheduled": self.scheduled,
            "error": self.error,
            "created_by": self.created_by,
            "rules": self.rules,
            "report": self.report,
            "signature": self.signature,
        }


def _rule_json(row: SweepRule) -> dict[str, Any]:
    return {
        "rule": row.rule,
        "collection": row.collection,
        "action": row.action,
        "describe": row.description,
        "legal_basis": row.legal_basis,
        "cutoff": row.cutoff.isoformat(),
        "state": row.state,
        "due_at_start": row.due_at_start,
        "deleted": row.deleted,
        "anonymised": row.anonymised,
        "aggregated": row.aggregated,
        "held": row.held,
        "holds": list(row.holds or []),
        "batches": row.batches,
        "max_batch_seconds": round(row.max_batch_seconds, 6),
        "error": row.error,
    }


def _run_view(session: Session, run: SweepRun) -> RunView:
    rows = session.execute(
        select(SweepRule).where(SweepRule.run_id == run.id).order_by(SweepRule.position)
    ).scalars()
    return RunView(
        id=run.id,
        state=run.state,
        register_version=run.register_version,
        today=run.today,
        batch_size=run.batch_size,
        started_at=run.started_at,
        finished_at=run.finished_at,
        resumed=run.resumed,
        scheduled=run.scheduled,
        error=run.error,
        created_by=run.created_by,
        report=run.report,
        signature=run.signature,
        rules=[_rule_json(r) for r in rows],
    )


def _finish(run_id: str, actor: str, failed: list[str]) -> RunView:
    with session_scope() as session:
        run = session.get(SweepRun, run_id)
        assert run is not None
        now = clock.now()
        run.state = "failed" if failed else "done"
        run.error = "\n".join(failed) if failed else None
        run.finished_at = now
        run.lease_owner = None
        run.lease_until = None
        view = _run_view(session, run)
        totals = {
            k: sum(int(r[k]) for r in view.rules)
            for k in ("due_at_start", "deleted", "anonymised", "aggregated", "held", "batches")
        }
        report = {
            "run": run.id,
            "state": run.state,
            "register_version": run.register_version,
            "today": run.today.isoformat(),
            "started_at": run.started_at.isoformat(),
            "finished_at": now.isoformat(),
            "duration_seconds": round((now - run.started_at).total_seconds(), 3),
            "batch_size": run.batch_size,
            "resumed": run.resumed,
            "scheduled": run.scheduled,
            "created_by": run.created_by,
            "rules": view.rules,
            "totals": totals,
            "error": run.error,
        }
        # Canonical JSON round trip: the stored report is exactly what was signed.
        report = json.loads(rules.canonical_json(report))
        run.report = report
        run.signature = rules.sign_report(report, report_key())
        audit.record(
            session,
            f"retention.run.{run.state}",
            AUDIT_RUN.format(run.id),
            {"report": report, "signature": run.signature},
            actor=actor,
        )
        return _run_view(session, run)


def list_runs(session: Session, limit: int = 20) -> list[RunView]:
    runs = session.execute(
        select(SweepRun).order_by(SweepRun.started_at.desc()).limit(limit)
    ).scalars()
    return [_run_view(session, r) for r in runs]


def _find_run(session: Session, run_id: str) -> SweepRun:
    text = (run_id or "").strip().lower()
    if len(text) < 4 or not all(c in "0123456789abcdef" for c in text):
        raise NotFound(
            f"no retention run {run_id!r} (give the id or at least 4 of its first digits)"
        )
    matches = list(
        session.execute(select(SweepRun).where(SweepRun.id.startswith(text)).limit(2)).scalars()
    )
    if not matches:
        raise NotFound(f"no retention run {run_id!r}")
    if len(matches) > 1:
        raise NotFound(f"{run_id!r} names several runs; give more of the id")
    return matches[0]


def get_run(session: Session, run_id: str) -> RunView:
    return _run_view(session, _find_run(session, run_id))


def verify_run(session: Session, run_id: str) -> tuple[RunView, bool]:
    """The run and whether its stored report still matches its signature."""
    run = _find_run(session, run_id)
    view = _run_view(session, run)
    if run.report is None or run.signature is None:
        return view, False
    return view, rules.verify_report(run.report, run.signature, report_key())


def run(
    *,
    actor: str,
    only: Sequence[str] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    scheduled: bool = False,
    fresh: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[StartResult], None] | None = None,
    parallel: int | None = None,
) -> RunView:
    """Start (or continue) a sweep and run it to the end."""
    parallel_degree(parallel)  # a bad number is refused before anything starts
    with session_scope() as session:
        started = start_run(
            session,
            actor=actor,
            only=only,
            batch_size=batch_size,
            scheduled=scheduled,
            fresh=fresh,
        )
    if on_start is not None:
        on_start(started)
    return run_sweep(started.run_id, actor=actor, progress=progress, parallel=parallel)
