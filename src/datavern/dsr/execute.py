"""The step runner: executes a data-subject request's persisted steps, one after another.

A request is split into steps when it is created (service.py): ``retrieve``
per collection the walk reaches, then per kind ``export`` (access), ``mask`` /
``delete`` per collection in erasure order and ``verify`` (erasure), ``update``
(rectification) or ``flag`` (restriction). :func:`run_request` runs the steps
that are not done, in order; each is idempotent, so a request interrupted at
any point (a killed process, a lost database) resumes by running the same
function again and does nothing twice:

* a retrieve step stores the keys of the rows it found and the values later
  steps select by (sealed, see models.py); a resumed request reads them back
  instead of querying again;
* erasure targets come from those stored keys; masking leaves values that are
  already masked as they are and deleting a deleted row deletes nothing;
* a step is marked done in the same transaction as its audit entries.

Before any step runs, the request is checked against the live databases: every
table and column the datasets name exists, every personal field can be masked
under its column type, holds and flags name real columns. Any problem fails
the request with every name listed, before anything is read or written.

Connector errors (unreachable database, locked table, refused write) fail the
step and the request with the connector's message, which names the connection,
table and field but never a value; the request can be resumed.
"""

from __future__ import annotations

import io
import json
import os
import time as _time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from datavern.connectors.base import (
    CollectionInfo,
    ColumnInfo,
    ConnectorError,
    DatabaseDescription,
    UnknownName,
)
from datavern.connectors.sql import SQLConnector, one_connection_each
from datavern.core import audit, clock, lease
from datavern.core.config import get_settings
from datavern.core.db import session_scope
from datavern.core.errors import DatavernError, NotFound
from datavern.dsr import crypto
from datavern.dsr.graph import Plan, PlanStep
from datavern.dsr.holds import HeldField, HoldRule, held_fields, holds_by_collection, resolve_holds
from datavern.dsr.masking import FieldMask, MaskingProblem, convert_text, masking_key, resolve_mask
from datavern.dsr.models import DataSubjectRequest, DeferredErasure, DsrStep
from datavern.dsr.processor import own_datasets
from datavern.register.schema import DsrSettings, Register
from datavern.retention.service import LEGAL_HOLD_PREFIX, ErasureHolds, erasure_holds

AUDIT_TARGET = "dsr_request:{}"
LEASE = timedelta(minutes=5)
DESCRIBE_TTL = 300.0
PORTABLE_EXCLUDED = ("user.authorization",)
READ_ONLY_ACTIONS = frozenset({"retrieve", "export", "verify"})


class RequestFailed(DatavernError):
    """A request stopped; its state and error say why. It can be resumed."""


class StepNotReady(DatavernError):
    """A step asked to run before the steps it depends on are done (nothing was changed)."""


class RequestBusy(DatavernError):
    """Another process is running the request right now."""


class SimulatedCrash(BaseException):
    """Raised by a test's fault hook to stop a run as a killed process would."""


@dataclass(frozen=True)
class StepInfo:
    request_id: str
    number: int
    dataset: str
    collection: str
    action: str
    attempt: int


FaultHook = Callable[[str, StepInfo], None]
_fault_hook: FaultHook | None = None


def set_fault_hook(hook: FaultHook | None) -> FaultHook | None:
    """Install a hook called with ("start" | "written", step) around each step (tests)."""
    global _fault_hook
    previous, _fault_hook = _fault_hook, hook
    return previous


# --------------------------------------------------------------------------- #
# Caches: register versions are immutable; live descriptions change rarely
# --------------------------------------------------------------------------- #

# Keyed by content hash: a version number means different registers in different databases.
_registers: dict[str, Register] = {}


def register_for(session: Session, number: int, *, digest: str | None = None) -> Register:
    """The register of applied version ``number`` (parsed once per content, then cached).

    ``digest``: the version's content hash when the caller has read it already.
    """
    from datavern.register.models import RegisterVersion
    from datavern.register.service import get_version, register_of

    if digest is None:
        digest = session.execute(
            select(RegisterVersion.content_hash).where(RegisterVersion.number == number)
        ).scalar_one_or_none()
    cached = _registers.get(digest) if digest else None
    if cached is None:
        version = get_version(session, number)
        cached = register_of(version)
        if len(_registers) > 16:
            _registers.clear()
        _registers[version.content_hash] = cached
    return cached


_descriptions: dict[int, tuple[SQLConnector, float, DatabaseDescription]] = {}


def describe(connector: SQLConnector) -> DatabaseDescription:
    """The live tables of a connection, cached for a few minutes per connector object."""
    now = _time.monotonic()
    cached = _descriptions.get(id(connector))
    if cached is not None and cached[0] is connector and now - cached[1] < DESCRIBE_TTL:
        return cached[2]
    description = connector.describe()
    if len(_descriptions) > 32:
        _descriptions.clear()
    _descriptions[id(connector)] = (connector, now, description)
    return description


# --------------------------------------------------------------------------- #
# Helpers on datasets and rows
# --------------------------------------------------------------------------- #


def column_of(field_path: str) -> str:
    """The table column a (possibly nested) dataset field lives in."""
    return field_path.split(".", 1)[0]


def table_name(register: Register, dataset: str, collection: str) -> str:
    """``schema.table`` when the dataset's ``fides_meta.namespace`` names a schema."""
    for ds in register.dataset:
        if ds.fides_key == dataset and ds.fides_meta and ds.fides_meta.namespace:
            schema = ds.fides_meta.namespace.get("schema")
            if isinstance(schema, str) and schema:
                return f"{schema}.{collection}"
    return collection


def connection_name(settings: DsrSettings, dataset: str) -> str:
    return settings.connections.get(dataset, dataset)


def portable_fields(settings: DsrSettings, step: PlanStep) -> list[str]:
    """The fields of ``step`` the subject provided (art. 20), per ``dsr.portable``.

    Unset, every personal field counts except credentials (``user.authorization``):
    the EDPB reads "provided" as given actively or observed through use of the
    service (WP242 rev.01), which fideslang categories cannot tell apart from
    inferred data; a register that needs a narrower export lists it.
    """
    chosen: list[str] = []
    for personal in step.personal_fields:
        if settings.portable is None:
            if all(
                any(c == x or c.startswith(x + ".") for x in PORTABLE_EXCLUDED)
                for c in personal.categories
            ):
                continue
            chosen.append(personal.field)
            continue
        address = f"{step.key}.{personal.field}"
        for item in settings.portable:
            if item == address or any(
                c == item or c.startswith(item + ".") for c in personal.categories
            ):
                chosen.append(personal.field)
                break
    return chosen


def json_value(value: Any) -> Any:
    """A database value as JSON for the access package."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, default=str))
    return str(value)


def _key_tuple(key: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(key.items()))


def _by_shape(keys: Iterable[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Keys grouped by the fields they name (tables without a primary key vary)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for key in keys:
        groups.setdefault(tuple(sorted(key)), []).append(key)
    return groups


@dataclass
class Found:
    """What a retrieve step found: row keys, values for later steps, hold dates."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    join: dict[str, list[Any]] = field(default_factory=dict)
    dates: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] | None = None
    """The rows as read, kept in memory only (an access request in one run)."""

    def sealed(self) -> str:
        return crypto.seal({"keys": self.keys, "join": self.join, "dates": self.dates})

    @classmethod
    def unsealed(cls, token: str | None, what: str) -> Found:
        if not token:
            return cls()
        data = crypto.unseal(token, what)
        return cls(keys=data["keys"], join=data["join"], dates=data["dates"])


@dataclass
class Collection:
    """One collection of the request with everything the steps need to know about it."""

    step: PlanStep
    table: str
    connector: SQLConnector
    info: CollectionInfo
    key_fields: tuple[str, ...]
    """The live primary key; empty for a table without one (rows keyed by selecting fields)."""
    read: tuple[str, ...]
    personal: tuple[str, ...]
    """Columns holding personal data."""
    masks: dict[str, FieldMask] = field(default_factory=dict)
    delete_rows: bool = False
    holds: list[HoldRule] = field(default_factory=list)
    flag: str | None = None
    updates: dict[str, Any] = field(default_factory=dict)
    legal_fields: tuple[str, ...] = ()
    """Fields the legal holds' record conditions look at (retention/service.py)."""

    @property
    def key(self) -> str:
        return self.step.key

    def personal_key(self) -> bool:
        """Whether the row keys are themselves personal data (then audited as hashes)."""
        fields = self.key_fields or self.selecting
        return any(f in self.personal for f in fields)

    @property
    def selecting(self) -> tuple[str, ...]:
        fields = [column_of(i.field) for i in self.step.identity_inputs]
        fields += [column_of(r.field) for r in self.step.reference_inputs]
        return tuple(dict.fromkeys(fields))

    def row_key(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if self.key_fields:
            return {f: row[f] for f in self.key_fields}
        return {f: row[f] for f in self.selecting if row.get(f) is not None}


# --------------------------------------------------------------------------- #
# The run
# --------------------------------------------------------------------------- #


_owner = lease.owner


def _lease_free(request: DataSubjectRequest, now: datetime) -> bool:
    return lease.lease_free(request.lease_owner, request.lease_until, now)


class RequestRun:
    """One run of a request: validate, then execute every step that is not done."""

    def __init__(self, request_id: str, *, actor: str) -> None:
        self.request_id = request_id
        self.actor = actor
        self.target = AUDIT_TARGET.format(request_id)
        self.found: dict[str, Found] = {}
        self.collections: dict[str, Collection] = {}
        self.kind = ""
        self.dry_run = False
        self.options: dict[str, Any] = {}
        self.secret: dict[str, Any] = {}
        self.identities: dict[str, list[str]] = {}
        self.created_at: datetime | None = None
        self.identity_types: list[str] = []
        self.register: Register | None = None
        self.register_version: int | None = None
        self.settings = DsrSettings()
        self.plan: Plan | None = None
        self.today = clock.now().astimezone(clock.OSLO).date()
        # Legal holds (datavern retention holds) keep whole rows from erasure.
        self.legal: ErasureHolds | None = None
        self._lease_until: datetime | None = None
        self._carry: list[
            tuple[DsrStep, int, dict[str, Any], str | None, list[Any], list[DeferredErasure]]
        ] = []

    # -- bookkeeping -------------------------------------------------------------

    def _claim(self, session: Session) -> DataSubjectRequest:
        request = session.get(DataSubjectRequest, self.request_id, with_for_update=True)
        if request is None:
            raise NotFound(f"no request with id {self.request_id!r}")
        now = clock.now()
        if request.status == "done":
            return request
        if not _lease_free(request, now):
            raise RequestBusy(
                f"request {self.request_id} is being run by {request.lease_owner} (until "
                f"{request.lease_until:%Y-%m-%d %H:%M} UTC); try again later"
            )
        request.lease_owner = _owner()
        request.lease_until = self._lease_until = now + LEASE
        request.status = "running"
        request.error = None
        if request.started_at is None:
            request.started_at = now
        return request

    def _load(self) -> list[DsrStep] | None:
        """The request's steps, or None when it is done already."""
        with session_scope() as session:
            request = self._claim(session)
            if request.status == "done":
                return None
            self.kind = request.kind
            self.dry_run = request.dry_run
            self.options = dict(request.options)
            self.identity_types = list(request.identity_types)
            self.created_at = request.created_at
            self.register_version = request.register_version
            if request.identities is None:
                raise RequestFailed(
                    f"request {self.request_id} no longer holds its identities; start a new request"
                )
            self.identities = crypto.unseal(request.identities, "the request's identities")
            if request.secret_options:
                self.secret = crypto.unseal(request.secret_options, "the request's values")
            if request.register_version is None:
                raise RequestFailed(f"request {self.request_id} names no register version")
            self.register = register_for(session, request.register_version)
            self.settings = self.register.dsr or DsrSettings()
            steps = list(
                session.execute(
                    select(DsrStep)
                    .where(DsrStep.request_id == self.request_id)
                    .order_by(DsrStep.number)
                ).scalars()
            )
            for step in steps:
                session.expunge(step)
            names = {connection_name(self.settings, s.dataset) for s in steps if s.dataset}
            from datavern.connectors.service import open_connector

            connectors: dict[str, SQLConnector] = {}
            problems: list[str] = []
            for name in sorted(names):
                try:
                    connectors[name] = open_connector(session, name)
                except DatavernError as exc:
                    problems.append(str(exc))
            self.connectors = connectors
            if problems:
                raise RequestFailed("\n".join(problems))
        return steps

    def _fail(self, error: str, status: str = "failed") -> None:
        with session_scope() as session:
            self._commit_carry(session)
            request = session.get(DataSubjectRequest, self.request_id)
            if request is None:
                return
            request.status = status
            request.error = error
            request.lease_owner = None
            request.lease_until = None
            request.finished_at = clock.now()
            audit.record(
                session,
                f"dsr.request.{status}",
                self.target,
                {"kind": request.kind, "error": error},
                actor=self.actor,
            )

    # -- entry -------------------------------------------------------------------

    def run(self, only: int | None = None) -> str:
        """Run to the end (or only step ``only``); returns the request's status after it.

        With ``only``, the step runs when every step it depends on is done (else
        RequestFailed says which are missing); the request is finished when that
        was its last step. This is the unit a distributed runner hands out.
        """
        # One connection per database for the whole run, not one per query.
        with one_connection_each():
            return self._run(only)

    def _run(self, only: int | None) -> str:
        from datavern.dsr.graph import PlanError, plan_walk

        try:
            steps = self._load()
            if steps is None:
                return "done"
            assert self.register is not None
            self.plan = cached_plan(self.register, self.identity_types, plan_walk)
            self._prepare(steps)
            for step in steps:
                if step.state == "done" and step.action == "retrieve":
                    self.found[step.key] = Found.unsealed(step.data, "a step's stored keys")
        except (RequestFailed, ConnectorError, crypto.SealError, PlanError) as exc:
            self._fail(str(exc))
            return "failed"
        pending = [s for s in steps if s.state != "done"]
        if only is not None:
            chosen = [s for s in pending if s.number == only]
            done = {s.number for s in steps if s.state == "done"}
            for step in chosen:
                waiting = [d for d in step.depends_on if d not in done]
                if waiting:
                    self._release()
                    raise StepNotReady(
                        f"step {only} waits for step(s) {', '.join(map(str, waiting))}"
                    )
            if not chosen:
                self._release()
                return "running" if pending else self._finish()
            pending = chosen
        for step in pending:
            outcome = self._run_step(step)
            if outcome is not None:
                status, error = outcome
                self._fail(error, status)
                return status
        if only is not None and len([s for s in steps if s.state != "done"]) > 1:
            self._release()
            return "running"
        return self._finish()

    def _release(self) -> None:
        with session_scope() as session:
            self._commit_carry(session)
            request = session.get(DataSubjectRequest, self.request_id)
            if request is not None and request.lease_owner == _owner():
                request.lease_owner = None
                request.lease_until = None

    def _commit_carry(self, session: Session) -> None:
        """Mark the finished steps done (with their audit entries) in ``session``.

        A step's completion is written together with the next write step's start,
        and consecutive retrieve steps are written together: a handful of commits
        per request instead of two per step. A crash before the commit leaves those
        steps not done; they run again on resume, and a step run twice changes
        nothing (a retrieve reads again; its audit entry is written with the read
        that completes).
        """
        carry, self._carry = self._carry, []
        if not carry:
            return
        now = clock.now()
        table = cast(Table, DsrStep.__table__)
        # One statement for all the steps (executemany), not a read and a write each.
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                state="done",
                attempts=bindparam("b_attempts"),
                result=bindparam("b_result", type_=table.c.result.type),
                data=func.coalesce(bindparam("b_data", type_=table.c.data.type), table.c.data),
                started_at=func.coalesce(
                    table.c.started_at, bindparam("b_now", type_=table.c.started_at.type)
                ),
                finished_at=bindparam("b_now", type_=table.c.finished_at.type),
            ),
            [
                {
                    "b_id": step.id,
                    "b_attempts": attempt,
                    "b_result": result,
                    "b_data": data,
                    "b_now": now,
                }
                for step, attempt, result, data, _audits, _deferred in carry
            ],
        )
        audit.record_many(
            session,
            [entry for *_, audits, _deferred in carry for entry in audits],
            self.target,
            actor=self.actor,
        )
        for *_, deferred in carry:
            session.add_all(deferred)

    def _run_step(self, step: DsrStep) -> tuple[str, str] | None:
        if step.action in READ_ONLY_ACTIONS:
            # A step that writes nothing to the company's databases needs no
            # "running" mark first: if the process dies it is simply done again
            # (see _commit_carry).
            attempt = step.attempts + 1
        else:
            attempt = step.attempts + 1  # the lease: nobody else runs this request's steps
            with session_scope() as session:
                self._commit_carry(session)
                now = clock.now()
                session.execute(
                    update(DsrStep)
                    .where(DsrStep.id == step.id)
                    .values(state="running", attempts=attempt, started_at=now, error=None),
                    execution_options={"synchronize_session": False},
                )
                if self._lease_until is None or now >= self._lease_until - LEASE / 2:
                    # The lease is renewed when half of it has run out, not per step.
                    self._lease_until = now + LEASE
                    session.execute(
                        update(DataSubjectRequest)
                        .where(DataSubjectRequest.id == self.request_id)
                        .values(lease_until=self._lease_until),
                        execution_options={"synchronize_session": False},
                    )
        info = StepInfo(
            self.request_id, step.number, step.dataset, step.collection, step.action, attempt
        )
        audits: list[tuple[str, dict[str, Any]]] = []
        deferred: list[DeferredErasure] = []
        try:
            if _fault_hook is not None:
                _fault_hook("start", info)
            result, data = self._execute(step, audits, deferred)
            if _fault_hook is not None:
                _fault_hook("written", info)
        except (ConnectorError, MaskingProblem, RequestFailed, crypto.SealError) as exc:
            message = f"step {step.number} ({step.action} {step.key or 'request'}): {exc}"
            self._step_failed(step, str(exc), audits, attempt)
            return "failed", message
        except VerificationFailed as exc:
            self._verification_failed(step, exc)
            return "partial", str(exc)
        except Exception as exc:
            # A fault in Datavern itself: the request says so without the
            # exception's text (it may quote a value), and the error propagates.
            self._step_failed(step, f"internal error ({type(exc).__name__})", audits, attempt)
            self._fail(f"step {step.number}: internal error ({type(exc).__name__})")
            raise
        self._carry.append((step, attempt, result, data, audits, deferred))
        return None

    def _step_failed(
        self,
        step: DsrStep,
        error: str,
        audits: list[tuple[str, dict[str, Any]]],
        attempt: int,
    ) -> None:
        with session_scope() as session:
            self._commit_carry(session)
            row = session.get(DsrStep, step.id)
            assert row is not None
            row.attempts = max(row.attempts, attempt)
            row.state = "failed"
            row.error = error
            row.finished_at = clock.now()
            # Reads and writes done before the failure are still on record.
            audit.record_many(session, audits, self.target, actor=self.actor)

    def _verification_failed(self, step: DsrStep, exc: VerificationFailed) -> None:
        with session_scope() as session:
            self._commit_carry(session)
            row = session.get(DsrStep, step.id)
            assert row is not None
            row.state = "failed"
            row.error = str(exc)
            row.result = {"remaining": exc.remaining}
            row.finished_at = clock.now()
            # The erasure steps that left data behind run again on resume.
            for erase in session.execute(
                select(DsrStep).where(
                    DsrStep.request_id == self.request_id,
                    DsrStep.action.in_(("mask", "delete")),
                )
            ).scalars():
                if erase.key in exc.remaining:
                    erase.state = "failed"
                    erase.error = "personal data remained after erasure; run again on resume"

    def _finish(self) -> str:
        with session_scope() as session:
            self._commit_carry(session)
            request = session.get(DataSubjectRequest, self.request_id)
            assert request is not None
            steps = list(
                session.execute(
                    select(DsrStep).where(DsrStep.request_id == self.request_id)
                ).scalars()
            )
            summary = _summary(request.kind, steps, self.dry_run)
            request.summary = summary
            request.status = "done"
            request.error = None
            request.finished_at = clock.now()
            request.lease_owner = None
            request.lease_until = None
            # Identities and new values are kept only as long as the request may
            # need them again (resume); a finished request keeps the types only.
            request.identities = None
            request.secret_options = None
            audit.record(
                session,
                "dsr.request.done",
                self.target,
                {"kind": request.kind, "dry_run": request.dry_run, "summary": summary},
                actor=self.actor,
            )
        return "done"

    # -- preparation: everything checked before anything is touched ---------------

    def _prepare(self, steps: Sequence[DsrStep]) -> None:
        assert self.plan is not None and self.register is not None
        problems: list[str] = []
        holds = holds_by_collection(resolve_holds(self.settings))
        key_bytes = masking_key() if self.kind == "erasure" else b""
        if self.kind == "erasure":
            self.legal = self._legal_holds()
        wanted = {s.key for s in steps if s.dataset}
        for plan_step in self.plan.steps:
            if plan_step.key not in wanted:
                continue
            table = table_name(self.register, plan_step.dataset, plan_step.collection)
            conn_name = connection_name(self.settings, plan_step.dataset)
            connector = self.connectors[conn_name]
            try:
                info = connector.collection(table)
            except UnknownName:
                problems.append(f"{plan_step.key}: connection {conn_name!r} has no table {table!r}")
                continue
            columns = set(info.column_names)
            declared = {column_of(f) for f in plan_step.retrieve}
            missing = sorted(declared - columns)
            if missing:
                problems.append(
                    f"{plan_step.key}: the dataset declares field(s) {', '.join(missing)} that "
                    f"table {table!r} in connection {conn_name!r} does not have (it has: "
                    f"{', '.join(sorted(columns)[:30])})"
                )
                continue
            personal = tuple(dict.fromkeys(column_of(p.field) for p in plan_step.personal_fields))
            coll = Collection(
                step=plan_step,
                table=table,
                connector=connector,
                info=info,
                key_fields=info.primary_key,
                read=(),
                personal=personal,
                holds=holds.get(plan_step.key, []),
            )
            if self.legal is not None:
                coll.legal_fields = tuple(
                    f for f in self.legal.condition_fields(plan_step.key) if f in columns
                )
            problems.extend(self._prepare_kind(coll, columns, key_bytes))
            coll.read = self._read_fields(coll)
            self.collections[plan_step.key] = coll
        if problems:
            raise RequestFailed(
                "the request cannot run; nothing was read or changed:\n  - "
                + "\n  - ".join(problems)
            )

    def _prepare_kind(self, coll: Collection, columns: set[str], key: bytes) -> list[str]:
        problems: list[str] = []
        for hold in coll.holds:
            absent = [f for f in (*hold.fields, hold.date_field) if f not in columns]
            if absent:
                problems.append(
                    f"dsr.holds {hold.key!r}: table {coll.table!r} has no field(s) "
                    f"{', '.join(absent)}"
                )
        if self.kind == "erasure":
            masking = self.settings.masking
            policy = masking.collections.get(coll.key)
            coll.delete_rows = policy == "delete_row" or (
                policy is None and masking.default == "delete_row"
            )
            for name in coll.personal:
                address = f"{coll.key}.{name}"
                override = masking.fields.get(address)
                column = coll.info.column(name)
                if column.primary_key and coll.delete_rows:
                    continue  # the row goes; its key cannot be masked and need not be
                strategy = override.strategy if override else masking.default
                if strategy == "delete_row":
                    strategy = "null"  # masking a row that is kept (held or referenced)
                try:
                    coll.masks[name] = resolve_mask(
                        name,
                        strategy,
                        column,
                        explicit=override is not None,
                        fixed_value=(override.value if override and override.value else None)
                        or masking.fixed_value,
                        key=key,
                        where=address,
                    )
                except MaskingProblem as exc:
                    problems.append(str(exc))
        elif self.kind in ("restriction", "lift_restriction"):
            flag = self.settings.restriction_flags.get(coll.key)
            if flag is not None:
                if flag not in columns:
                    problems.append(
                        f"dsr.restriction_flags: table {coll.table!r} has no field {flag!r}"
                    )
                else:
                    try:
                        flag_value(coll.info.column(flag), self.kind == "restriction", self.today)
                    except MaskingProblem as exc:
                        problems.append(f"dsr.restriction_flags {coll.key}.{flag}: {exc}")
                    coll.flag = flag
        elif self.kind == "rectification":
            targets = self.secret.get("targets", {}).get(coll.key, {})
            for name, text in targets.items():
                where = f"{coll.key}.{name}"
                if name not in columns:
                    problems.append(f"{where}: table {coll.table!r} has no such field")
                    continue
                column = coll.info.column(name)
                if column.primary_key:
                    problems.append(f"{where} is part of the primary key and cannot be changed")
                    continue
                try:
                    coll.updates[name] = new_value(text, column, where)
                except MaskingProblem as exc:
                    problems.append(str(exc))
        return problems

    def _read_fields(self, coll: Collection) -> tuple[str, ...]:
        step = coll.step
        fields = list(coll.key_fields)
        fields += coll.selecting
        fields += [column_of(f) for f in step.join_fields]
        fields += [h.date_field for h in coll.holds]
        fields += list(coll.legal_fields)
        if self.kind in ("access", "portable"):
            fields += list(coll.personal)
        return tuple(dict.fromkeys(fields))

    # -- steps -------------------------------------------------------------------

    def _execute(
        self,
        step: DsrStep,
        audits: list[tuple[str, dict[str, Any]]],
        deferred: list[DeferredErasure],
    ) -> tuple[dict[str, Any], str | None]:
        if step.action == "retrieve":
            return self._retrieve(self.collections[step.key], audits)
        if step.action in ("mask", "delete"):
            result = self._erase(self.collections[step.key], audits, deferred)
            # The keys erased, kept and held: sealed, for the check after erasure.
            return result, crypto.seal(result.pop("_plan"))
        if step.action == "verify":
            return self._verify(), None
        if step.action == "update":
            return self._update(self.collections[step.key], audits), None
        if step.action == "flag":
            return self._flag(self.collections[step.key], audits), None
        if step.action == "export":
            return self._export(audits), None
        raise RequestFailed(f"unknown step action {step.action!r}")

    def _audit_keys(self, coll: Collection, keys: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Row keys for the audit log: plain identifiers, or keyed hashes when personal."""
        if coll.personal_key():
            return [
                "hash:" + crypto.row_hash(coll.step.dataset, coll.step.collection, k)[:32]
                for k in keys
            ]
        if len(coll.key_fields) == 1:
            return [json_value(k[coll.key_fields[0]]) for k in keys]
        return [{f: json_value(v) for f, v in k.items()} for k in keys]

    def _inputs(self, coll: Collection) -> list[tuple[str, list[Any]]]:
        inputs: list[tuple[str, list[Any]]] = []
        for ident in coll.step.identity_inputs:
            inputs.append((column_of(ident.field), list(self.identities.get(ident.identity, []))))
        for ref in coll.step.reference_inputs:
            source = self.found.get(ref.source.collection_key)
            values = source.join.get(ref.source.field, []) if source else []
            inputs.append((column_of(ref.field), list(values)))
        return inputs

    def _retrieve(
        self, coll: Collection, audits: list[tuple[str, dict[str, Any]]]
    ) -> tuple[dict[str, Any], str]:
        keyed: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
        # A table without a primary key may hold several rows under one key (three
        # log lines of the same e-mail address): every row is the subject's data.
        loose: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for column, values in self._inputs(coll):
            if not values:
                continue
            for row in coll.connector.retrieve(coll.table, {column: values}, coll.read):
                keyed.setdefault(_key_tuple(coll.row_key(row)), row)
                if not coll.key_fields:
                    loose.setdefault(tuple(sorted((k, repr(v)) for k, v in row.items())), row)
        found = Found(rows=list(loose.values()) if not coll.key_fields else list(keyed.values()))
        for row in keyed.values():
            found.keys.append(coll.row_key(row))
            if coll.holds or coll.legal_fields:
                dated = {h.date_field: row.get(h.date_field) for h in coll.holds}
                dated.update({f: row.get(f) for f in coll.legal_fields})
                found.dates.append(dated)
        for join in coll.step.join_fields:
            column = column_of(join)
            seen: dict[Any, None] = {}
            for row in found.rows or []:
                value = row.get(column)
                if value is not None:
                    seen.setdefault(value, None)
            found.join[join] = list(seen)
        self.found[coll.key] = found
        read_personal = [f for f in coll.read if f in coll.personal]
        audits.append(
            (
                "dsr.read",
                {
                    "collection": coll.key,
                    "fields": list(coll.read),
                    "personal_fields": read_personal,
                    "rows": len(found.rows or ()),
                    "keys": self._audit_keys(coll, found.keys),
                },
            )
        )
        return {"rows": len(found.rows or ()), "fields": list(coll.read)}, found.sealed()

    # -- erasure -----------------------------------------------------------------

    def _held(self, coll: Collection, found: Found) -> list[dict[str, HeldField]]:
        if coll.holds:
            held = [held_fields(coll.holds, dates, self.today) for dates in found.dates]
        else:
            held = [{} for _ in found.keys]
        if self.legal is None or self.legal.empty:
            return held
        # A legal hold keeps the whole row: every field the erasure would touch.
        everything = sorted({*coll.personal, *coll.masks})
        for index, key in enumerate(found.keys):
            values = found.dates[index] if index < len(found.dates) else {}
            for hold in self.legal.covering(coll.key, coll.key_fields, key, values):
                until = self.legal.last_day(hold)
                name = f"{LEGAL_HOLD_PREFIX}{hold.id}"
                for field_name in everything:
                    current = held[index].get(field_name)
                    if current is None or until >= current.until:
                        held[index][field_name] = HeldField(field_name, name, until)
        return held

    def _legal_holds(self) -> ErasureHolds:
        from datavern.connectors.service import open_connector

        def connector_for(name: str) -> SQLConnector:
            if name not in self.connectors:
                with session_scope() as session:
                    self.connectors[name] = open_connector(session, name)
            return self.connectors[name]

        assert self.register is not None
        try:
            with session_scope() as session:
                return erasure_holds(session, self.register, self.identities, connector_for)
        except DatavernError as exc:
            raise RequestFailed(f"the legal holds cannot be checked: {exc}") from None

    def _why(self, coll: Collection, hold_key: str) -> str:
        if hold_key.startswith(LEGAL_HOLD_PREFIX) and self.legal is not None:
            return ErasureHolds.why(hold_key, self.legal.kinds())
        return next(h for h in coll.holds if h.key == hold_key).why

    def _erase(
        self,
        coll: Collection,
        audits: list[tuple[str, dict[str, Any]]],
        deferred: list[DeferredErasure],
    ) -> dict[str, Any]:
        found = self.found.get(coll.key, Found())
        held = self._held(coll, found)
        whole: list[dict[str, Any]] = []
        partly: dict[frozenset[str], list[dict[str, Any]]] = {}
        held_rows: list[tuple[dict[str, Any], dict[str, HeldField]]] = []
        for key, holding in zip(found.keys, held, strict=True):
            if not key:
                continue
            if holding:
                held_rows.append((key, holding))
                partly.setdefault(frozenset(holding), []).append(key)
            else:
                whole.append(key)
        kept_referenced: list[dict[str, Any]] = []
        to_delete: list[dict[str, Any]] = []
        if coll.delete_rows:
            blocked = referenced_keys(coll.connector, coll.info, coll.table, whole)
            for key in whole:
                (kept_referenced if _key_tuple(key) in blocked else to_delete).append(key)
            to_mask = kept_referenced
        else:
            to_mask = whole
        missing_masks = [f for f in coll.personal if f not in coll.masks]
        if (to_mask or partly) and missing_masks and coll.delete_rows:
            raise MaskingProblem(
                f"{coll.key}: rows that must be kept (held or still referenced) cannot be "
                f"masked: field(s) {', '.join(missing_masks)} are part of the primary key"
            )
        masked = deleted = 0
        strategies = {f: m.describe() for f, m in coll.masks.items()}
        if not self.dry_run:
            masked, deleted = self._write_erasure(coll, to_mask, partly, to_delete)
        if to_mask:
            audits.append(
                (
                    "dsr.mask" if not self.dry_run else "dsr.mask.preview",
                    {
                        "collection": coll.key,
                        "fields": sorted(coll.masks),
                        "strategies": strategies,
                        "rows": len(to_mask),
                        "keys": self._audit_keys(coll, to_mask),
                        "instead_of_delete": bool(kept_referenced),
                    },
                )
            )
        if to_delete:
            audits.append(
                (
                    "dsr.delete" if not self.dry_run else "dsr.delete.preview",
                    {
                        "collection": coll.key,
                        "rows": len(to_delete),
                        "keys": self._audit_keys(coll, to_delete),
                    },
                )
            )
        holds_summary: dict[str, dict[str, Any]] = {}
        for key, holding in held_rows:
            for item in holding.values():
                entry = holds_summary.setdefault(
                    item.hold,
                    {"rows": 0, "fields": set(), "until": item.until, "keys": []},
                )
                entry["fields"].add(item.field)
                entry["until"] = max(entry["until"], item.until)
            by_hold: dict[str, list[HeldField]] = {}
            for item in holding.values():
                by_hold.setdefault(item.hold, []).append(item)
            for hold_key, items in by_hold.items():
                holds_summary[hold_key]["rows"] += 1
                holds_summary[hold_key]["keys"].append(key)
                if self.dry_run:
                    continue
                why = self._why(coll, hold_key)
                deferred.append(
                    DeferredErasure(
                        request_id=self.request_id,
                        dataset=coll.step.dataset,
                        collection=coll.step.collection,
                        row_key=crypto.seal(key),
                        key_hash=crypto.row_hash(coll.step.dataset, coll.step.collection, key),
                        fields=sorted(i.field for i in items),
                        action="delete_row" if coll.delete_rows else "mask",
                        hold=hold_key,
                        reason=why,
                        due_on=max(i.until for i in items) + timedelta(days=1),
                        state="pending",
                        attempts=0,
                        created_at=clock.now(),
                    )
                )
        for hold_key, entry in holds_summary.items():
            why = self._why(coll, hold_key)
            audits.append(
                (
                    "dsr.hold",
                    {
                        "collection": coll.key,
                        "hold": hold_key,
                        "why": why,
                        "fields_kept": sorted(entry["fields"]),
                        "until": entry["until"].isoformat(),
                        "erase_on": (entry["until"] + timedelta(days=1)).isoformat(),
                        "rows": entry["rows"],
                        "keys": self._audit_keys(coll, entry["keys"]),
                    },
                )
            )
        return {
            "rows": len(found.keys),
            "policy": "delete_row" if coll.delete_rows else "mask",
            "masked": masked if not self.dry_run else len(to_mask) + len(held_rows),
            "deleted": deleted if not self.dry_run else len(to_delete),
            "kept_referenced": len(kept_referenced),
            "held_rows": len(held_rows),
            "strategies": strategies,
            "holds": {
                k: {
                    "rows": v["rows"],
                    "fields": sorted(v["fields"]),
                    "until": v["until"].isoformat(),
                    "why": self._why(coll, k),
                }
                for k, v in holds_summary.items()
            },
            "dry_run": self.dry_run,
            "_plan": {
                "delete": to_delete,
                "mask": to_mask,
                "held": [[k, sorted(h)] for k, h in held_rows],
            },
        }

    def _write_erasure(
        self,
        coll: Collection,
        to_mask: list[dict[str, Any]],
        partly: dict[frozenset[str], list[dict[str, Any]]],
        to_delete: list[dict[str, Any]],
    ) -> tuple[int, int]:
        """Mask and delete; returns the rows masked and deleted.

        The writes commit without waiting for the database's disk (one WAL flush
        per collection is most of an erasure's time): the verify step makes them
        durable (``flush``) before it reads every erased row back, so a request is
        never done before its erasure is on disk.
        """
        masked = deleted = 0
        values = {f: m.write_value() for f, m in coll.masks.items()}
        with coll.connector.unflushed_writes():
            for group in _by_shape(to_mask).values():
                if values:
                    masked += coll.connector.mask(coll.table, group, values)
            for fields, keys in partly.items():
                rest = {f: v for f, v in values.items() if f not in fields}
                for group in _by_shape(keys).values():
                    if rest:
                        masked += coll.connector.mask(coll.table, group, rest)
            for group in _by_shape(to_delete).values():
                deleted += coll.connector.delete(coll.table, group)
        return masked, deleted

    def _verify(self) -> dict[str, Any]:
        """Read back every erased row: nothing personal may remain but held fields."""
        with session_scope() as session:
            self._commit_carry(session)  # the erasure steps' keys, stored before checking
            erase_steps = list(
                session.execute(
                    select(DsrStep).where(
                        DsrStep.request_id == self.request_id,
                        DsrStep.action.in_(("mask", "delete")),
                    )
                ).scalars()
            )
        # The erasure's writes committed without waiting for the disk: make them
        # durable first, so that what is read back below stays so.
        flushed: set[int] = set()
        for step in erase_steps:
            coll = self.collections.get(step.key)
            if coll is not None and id(coll.connector) not in flushed:
                coll.connector.flush()
                flushed.add(id(coll.connector))
        remaining: dict[str, dict[str, int]] = {}
        checked = 0
        for step in erase_steps:
            coll = self.collections.get(step.key)
            if coll is None or step.data is None:
                continue
            plan = crypto.unseal(step.data, "an erasure step's keys")
            delete_keys = [k for k in plan["delete"] if k]
            mask_keys = [k for k in plan["mask"] if k]
            held = {_key_tuple(k): set(f) for k, f in plan["held"] if k}
            held_keys = [k for k, _ in plan["held"] if k]
            fields = sorted(coll.masks)
            problems: dict[str, int] = {}
            if delete_keys:
                for _row in rows_by_keys(
                    coll.connector, coll.table, delete_keys, coll.key_fields or ()
                ):
                    problems["(row not deleted)"] = problems.get("(row not deleted)", 0) + 1
            if fields and (mask_keys or held_keys):
                for row in rows_by_keys(
                    coll.connector, coll.table, [*mask_keys, *held_keys], fields
                ):
                    keep = held.get(_key_tuple(coll.row_key(row)), set())
                    for name in fields:
                        if name in keep:
                            continue
                        if not coll.masks[name].erased(row.get(name)):
                            problems[name] = problems.get(name, 0) + 1
            checked += len(delete_keys) + len(mask_keys) + len(held_keys)
            if problems:
                remaining[step.key] = problems
        if remaining:
            raise VerificationFailed(remaining)
        return {"rows_checked": checked, "remaining": {}}

    # -- rectification, restriction ---------------------------------------------

    def _update(self, coll: Collection, audits: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        found = self.found.get(coll.key, Found())
        held = self._held(coll, found)
        fields = sorted(coll.updates)
        keys = [k for k in found.keys if k]
        before = {
            _key_tuple(coll.row_key(r)): r
            for r in rows_by_keys(coll.connector, coll.table, keys, fields)
        }
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        kept = 0
        for key, holding in zip(found.keys, held, strict=True):
            if not key:
                continue
            skip = frozenset(f for f in holding if f in coll.updates)
            kept += bool(skip)
            groups.setdefault(skip, []).append(key)
        changes: list[dict[str, Any]] = []
        updated = 0
        for skip, group_keys in groups.items():
            values = {f: v for f, v in coll.updates.items() if f not in skip}
            if not values:
                continue
            for group in _by_shape(group_keys).values():
                updated += coll.connector.update(coll.table, group, values)
            audit_keys = self._audit_keys(coll, group_keys)
            for key, shown in zip(group_keys, audit_keys, strict=True):
                row = before.get(_key_tuple(key), {})
                for name, value in values.items():
                    # Art. 16 and accountability: the log shows what was corrected,
                    # so these entries hold personal data (docs/dsr.md).
                    changes.append(
                        {
                            "key": shown,
                            "field": name,
                            "before": json_value(row.get(name)),
                            "after": json_value(value),
                        }
                    )
        audits.append(
            (
                "dsr.rectify",
                {
                    "collection": coll.key,
                    "fields": fields,
                    "rows": len(keys),
                    "changes": changes,
                    "kept_under_hold": kept,
                },
            )
        )
        return {"rows": len(keys), "updated": updated, "fields": fields, "kept_under_hold": kept}

    def _flag(self, coll: Collection, audits: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        found = self.found.get(coll.key, Found())
        keys = [k for k in found.keys if k]
        assert coll.flag is not None
        restrict = self.kind == "restriction"
        value = flag_value(coll.info.column(coll.flag), restrict, self.today)
        changed = 0
        for group in _by_shape(keys).values():
            changed += coll.connector.update(coll.table, group, {coll.flag: value})
        audits.append(
            (
                "dsr.restrict" if restrict else "dsr.lift_restriction",
                {
                    "collection": coll.key,
                    "field": coll.flag,
                    "rows": len(keys),
                    "keys": self._audit_keys(coll, keys),
                },
            )
        )
        return {"rows": len(keys), "changed": changed, "field": coll.flag}

    # -- access package ----------------------------------------------------------

    def _export(self, audits: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        assert self.plan is not None and self.register is not None
        portable = self.kind == "portable"
        datasets: dict[str, dict[str, Any]] = {}
        total = 0
        for plan_step in self.plan.steps:
            coll = self.collections.get(plan_step.key)
            if coll is None or not plan_step.personal_fields:
                continue
            if portable:
                chosen = portable_fields(self.settings, plan_step)
                fields = list(dict.fromkeys(column_of(f) for f in chosen))
                shown_keys: list[str] = []
            else:
                fields = list(coll.personal)
                shown_keys = [k for k in coll.key_fields if k not in fields]
            if not fields:
                continue
            found = self.found.get(coll.key, Found())
            rows = found.rows
            if rows is None:
                keys = [k for k in found.keys if k]
                rows = (
                    rows_by_keys(coll.connector, coll.table, keys, [*shown_keys, *fields])
                    if keys
                    else []
                )
                audits.append(
                    (
                        "dsr.read",
                        {
                            "collection": coll.key,
                            "fields": [*shown_keys, *fields],
                            "personal_fields": fields,
                            "rows": len(rows),
                            "keys": self._audit_keys(coll, keys),
                        },
                    )
                )
            # Searched collections without rows are listed too: the report names
            # every place that was searched (art. 15(1): whether data is processed).
            categories = {column_of(p.field): list(p.categories) for p in plan_step.personal_fields}
            out_rows = [{f: json_value(r.get(f)) for f in [*shown_keys, *fields]} for r in rows]
            total += len(out_rows)
            datasets.setdefault(plan_step.dataset, {})[plan_step.collection] = {
                "fields": [
                    {"name": f, "categories": categories.get(f, []), "key": f in shown_keys}
                    for f in [*shown_keys, *fields]
                ],
                "rows": out_rows,
            }
        package = build_package(
            register=self.register,
            request_id=self.request_id,
            kind=self.kind,
            created_at=self.created_at or clock.now(),
            identity_types=self.identity_types,
            datasets=datasets,
            lang=str(self.options.get("lang") or ""),
            identities=self.identities,
            report=self.options.get("report", True) is not False,
            formats=tuple(self.options.get("report_formats") or ("html", "pdf")),
        )
        output = Path(self.options.get("output") or default_output(self.request_id))
        output.parent.mkdir(parents=True, exist_ok=True)
        temporary = output.with_name(output.name + ".partial")
        temporary.write_bytes(package.content)
        os.replace(temporary, output)
        audits.append(
            (
                "dsr.export",
                {
                    "path": str(output),
                    "portable": portable,
                    "rows": total,
                    "collections": sorted(
                        f"{d}.{c}" for d, cs in datasets.items() for c, v in cs.items() if v["rows"]
                    ),
                    "files": package.files,
                },
            )
        )
        return {
            "path": str(output),
            "rows": total,
            "collections": sum(1 for cs in datasets.values() for c in cs.values() if c["rows"]),
            "empty": total == 0,
            "files": package.files,
            "report": package.report_note,
        }


# --------------------------------------------------------------------------- #
# Rows by key, and rows other tables still refer to
# --------------------------------------------------------------------------- #


def rows_by_keys(
    connector: SQLConnector, table: str, keys: Sequence[dict[str, Any]], fields: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows named by ``keys`` (batched IN-lists; composite keys filtered here)."""
    out: list[dict[str, Any]] = []
    for shape, group in _by_shape(keys).items():
        if not shape:
            continue
        read = list(dict.fromkeys([*shape, *fields]))
        wanted = {_key_tuple(k) for k in group}
        filters = {f: list(dict.fromkeys(k[f] for k in group)) for f in shape}
        for row in connector.retrieve(table, filters, read):
            if len(shape) == 1 or _key_tuple({f: row[f] for f in shape}) in wanted:
                out.append(row)
    return out


def referenced_keys(
    connector: SQLConnector, info: CollectionInfo, table: str, keys: list[dict[str, Any]]
) -> set[Any]:
    """Keys (as sorted item tuples) of rows that rows of other tables still refer to.

    Deleting such a row would fail (or, with ON DELETE CASCADE, take rows with it
    that the request did not select, held invoices for example), so the caller
    masks them instead. One query per foreign key that points at the table.
    """
    key_fields = info.primary_key
    if not keys or not key_fields:
        return set()
    description = describe(connector)
    referenced: set[Any] = set()
    by_tuple = {_key_tuple(k): k for k in keys}
    for child in description.collections:
        for fk in child.foreign_keys:
            if fk.referred_collection not in (info.name, table):
                continue
            refs = list(fk.referred_columns)
            if all(r in key_fields for r in refs):
                values = {kt: tuple(k[r] for r in refs) for kt, k in by_tuple.items()}
            else:
                values = {
                    _key_tuple({f: r[f] for f in key_fields}): tuple(r[c] for c in refs)
                    for r in rows_by_keys(connector, table, keys, refs)
                }
            first = list(dict.fromkeys(v[0] for v in values.values() if v[0] is not None))
            if not first:
                continue
            read = list(dict.fromkeys([*fk.columns, *child.primary_key]))
            present: set[tuple[Any, ...]] = set()
            same_table = child.name == info.name
            for row in connector.retrieve(child.name, {fk.columns[0]: first}, read):
                if same_table and _key_tuple({f: row[f] for f in child.primary_key}) in by_tuple:
                    continue  # a row of this very request: deleted in the same statement
                present.add(tuple(row[c] for c in fk.columns))
            referenced.update(kt for kt, v in values.items() if v in present)
    return referenced


class VerificationFailed(DatavernError):
    def __init__(self, remaining: dict[str, dict[str, int]]) -> None:
        self.remaining = remaining
        parts = [
            f"{key}: " + ", ".join(f"{name} ({count})" for name, count in fields.items())
            for key, fields in sorted(remaining.items())
        ]
        super().__init__(
            "personal data remains after erasure (field (rows)): "
            + "; ".join(parts)
            + "; the erasure steps of these collections run again on resume"
        )


# --------------------------------------------------------------------------- #
# Values for flags and corrections
# --------------------------------------------------------------------------- #


def flag_value(column: ColumnInfo, restricted: bool, today: date) -> Any:
    """What a restriction flag column holds while restricted (or after it is lifted)."""
    kind = column.kind
    if kind == "boolean":
        return restricted
    if kind == "integer":
        return 1 if restricted else 0
    if kind == "datetime":
        if restricted:
            return clock.now().replace(tzinfo=None)
        if column.null_allowed:
            return None
    if kind == "date":
        if restricted:
            return today
        if column.null_allowed:
            return None
    if kind == "string":
        text = "restricted" if restricted else ""
        if column.max_length is not None and len(text) > column.max_length:
            raise MaskingProblem(f"the column ({column.type}) is too short for 'restricted'")
        if not restricted and column.null_allowed:
            return None
        return text
    if kind == "enum" and column.choices:
        raise MaskingProblem("an enum flag column is not supported; use a boolean column")
    raise MaskingProblem(
        f"a restriction flag must be a boolean, integer, date, timestamp or text column, "
        f"not {column.type}"
    )


def new_value(text: str | None, column: ColumnInfo, where: str) -> Any:
    """A rectified value as the column's type; empty text clears a field that may be empty."""
    if text is None or text == "":
        if column.null_allowed:
            return None
        raise MaskingProblem(f"{where}: the field may not be empty")
    return convert_text(text, column, where, what="the new value")


# --------------------------------------------------------------------------- #
# The package
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Package:
    content: bytes
    files: list[str]
    report_note: str


EMPTY_NOTE = {
    "nb": "Vi fant ingen opplysninger om deg i systemene våre for identitetene du oppga.",
    "en": "We found no data about you in our systems for the identities you gave.",
}
REPORT_MISSING = (
    "the readable report is not part of this package: this version of Datavern cannot render it yet"
)


def default_output(request_id: str) -> Path:
    return get_settings().data_dir / "dsr" / f"{request_id}.zip"


def _csv(collection: Mapping[str, Any]) -> bytes:
    import csv

    names = [f["name"] for f in collection["fields"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(names)
    for row in collection["rows"]:
        writer.writerow(
            [
                ""
                if row.get(n) is None
                else json.dumps(row[n], ensure_ascii=False)
                if isinstance(row.get(n), dict | list)
                else row[n]
                for n in names
            ]
        )
    # UTF-8 with BOM: Excel, which many people open a CSV with, reads æøå right.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def build_package(
    *,
    register: Register,
    request_id: str,
    kind: str,
    created_at: datetime,
    identity_types: Sequence[str],
    datasets: dict[str, dict[str, Any]],
    lang: str = "",
    identities: Mapping[str, Sequence[str]] | None = None,
    report: bool = True,
    formats: Sequence[str] = ("html", "pdf"),
) -> Package:
    """The zip: data.json, one CSV per collection with rows, and the readable report.

    ``data.json`` holds ``datasets -> dataset -> collection -> {fields, rows}``,
    every collection searched (an empty ``rows`` says nothing was found there).
    A portable package (art. 20) holds only what the subject provided and no CSV.
    """
    total = sum(len(c["rows"]) for cs in datasets.values() for c in cs.values())
    collected: dict[str, Any] = {
        "format": "datavern-access/1",
        "kind": kind,
        "request": {
            "id": request_id,
            "created_at": created_at.isoformat(),
            "identity_types": list(identity_types),
        },
        "controller": register.organisation.name,
        "empty": total == 0,
        "note": EMPTY_NOTE if total == 0 else None,
        "datasets": datasets,
    }
    files: dict[str, bytes] = {
        "data.json": json.dumps(collected, ensure_ascii=False, indent=2).encode("utf-8")
    }
    if kind != "portable":
        for dataset, collections in sorted(datasets.items()):
            for name, collection in sorted(collections.items()):
                if collection["rows"]:
                    files[f"csv/{dataset}.{name}.csv"] = _csv(collection)
    note = "not requested"
    if report:
        reports, note = _reports(
            register, request_id, kind, datasets, lang, identities or {}, formats
        )
        files.update(reports)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            info = zipfile.ZipInfo(path, date_time=created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, content)
    return Package(buffer.getvalue(), sorted(files), note)


def _reports(
    register: Register,
    request_id: str,
    kind: str,
    datasets: Mapping[str, Mapping[str, Any]],
    lang: str,
    identities: Mapping[str, Sequence[str]],
    formats: Sequence[str] = ("html", "pdf"),
) -> tuple[dict[str, bytes], str]:
    """The report in each notice language, HTML and PDF (dsr/report.py), when available."""
    try:
        from datavern.dsr import report
    except ImportError:
        return {}, REPORT_MISSING
    nested = {
        dataset: {
            name: {
                # Only the personal fields: keys used to walk are not the subject's data.
                "fields": [(f["name"], f["categories"]) for f in c["fields"] if not f["key"]],
                "rows": c["rows"],
            }
            for name, c in collections.items()
        }
        for dataset, collections in datasets.items()
    }
    searched = [(name, value) for name, values in identities.items() for value in values]
    collected = report.CollectedData.from_nested(nested, identities=searched)
    languages = [lang] if lang else list(register.organisation.languages)
    generated = clock.now()
    files: dict[str, bytes] = {}
    for language in languages:
        if language not in ("nb", "en"):
            continue
        for fmt in formats:
            if fmt not in ("html", "pdf"):
                continue
            files[f"report.{language}.{fmt}"] = report.render_access_report(
                register,
                collected,
                language,  # type: ignore[arg-type]
                fmt,  # type: ignore[arg-type]
                generated_at=generated,
                request_id=request_id,
                portable=kind == "portable",
            )
    return files, "included"


# --------------------------------------------------------------------------- #
# Plans and summaries
# --------------------------------------------------------------------------- #

_plans: dict[tuple[int, tuple[str, ...]], Plan] = {}


def cached_plan(
    register: Register, identity_types: Sequence[str], walk: Callable[..., Plan]
) -> Plan:
    """The walk for these identity types (cached per register object, which is immutable)."""
    key = (id(register), tuple(sorted(identity_types)))
    cached = _plans.get(key)
    if cached is None or not any(r is register for r in _registers.values()):
        # Data held for customers (dsr.processor_for) is never walked (dsr/processor.py).
        cached = walk(own_datasets(register), identity_types)
        if len(_plans) > 64:
            _plans.clear()
        _plans[key] = cached
    return cached


def _summary(kind: str, steps: Sequence[DsrStep], dry_run: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {"collections": {}}
    rows_found = 0
    for step in sorted(steps, key=lambda s: s.number):
        result = {k: v for k, v in (step.result or {}).items() if not k.startswith("_")}
        if step.action == "retrieve":
            rows_found += int(result.get("rows", 0))
            summary["collections"].setdefault(step.key, {})["found"] = result.get("rows", 0)
        elif step.action in ("mask", "delete", "update", "flag"):
            summary["collections"].setdefault(step.key, {}).update(
                {k: v for k, v in result.items() if k not in ("rows",)}
            )
        elif step.action in ("export", "verify"):
            summary[step.action] = result
    summary["rows_found"] = rows_found
    summary["dry_run"] = dry_run
    return summary
