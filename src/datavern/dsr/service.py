"""Data-subject requests: create, run, resume, report; restriction and "may I process?".

A request is created from identities the subject gave (parsed and normalised
by ``dsr.rules``) against the applied register version; its steps are written
at once (see execute.py for how they run). The service never prints and never
imports the CLI or the web layer.

What the engine keeps about a request, and for how long, is in docs/dsr.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavern.core import audit, clock
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem
from datavern.dsr import crypto
from datavern.dsr.execute import (
    AUDIT_TARGET,
    RequestRun,
    cached_plan,
    column_of,
    connection_name,
    describe,
    referenced_keys,
    register_for,
    rows_by_keys,
    table_name,
)
from datavern.dsr.graph import Plan, PlanError, declared_identities, plan_walk
from datavern.dsr.holds import held_fields, holds_by_collection, resolve_holds
from datavern.dsr.masking import MaskingProblem, masking_key, resolve_mask
from datavern.dsr.models import (
    REQUEST_KINDS,
    DataSubjectRequest,
    DeferredErasure,
    DsrStep,
    Restriction,
)
from datavern.dsr.processor import problems as processor_problems
from datavern.dsr.rules import IdentityError, UnknownIdentity, parse_identities, parse_identity
from datavern.register.schema import DsrSettings, Register

# Purposes still allowed while processing is restricted (art. 18(1)): storing the data.
STORAGE_PURPOSES: Final = frozenset({"storage", "functional.storage"})

# --set NAME=... where NAME is a built-in identity: the data category it corrects,
# and the value is checked and normalised like the identity.
IDENTITY_CATEGORIES: Final = {
    "email": "user.contact.email",
    "phone": "user.contact.phone_number",
    "fnr": "user.government_id.national_identification_number",
}


class PlanProblem(DatavernError):
    """The register's datasets cannot be walked (see docs/dsr-plan.md)."""

    exit_code = 2


# --------------------------------------------------------------------------- #
# Register, identities, plan
# --------------------------------------------------------------------------- #


def applied_register(session: Session) -> tuple[int, Register]:
    """The newest applied register version and its register (NotFound when none)."""
    from datavern.register.models import RegisterVersion

    # Only the number and hash: the content is parsed once per hash (register_for).
    newest = session.execute(
        select(RegisterVersion.number, RegisterVersion.content_hash)
        .order_by(RegisterVersion.number.desc())
        .limit(1)
    ).first()
    if newest is None:
        raise NotFound("no register has been applied yet (run `datavern register apply`)")
    return newest.number, register_for(session, newest.number, digest=newest.content_hash)


_declared: dict[int, tuple[Register, tuple[str, ...]]] = {}


def _declared_identities(register: Register) -> tuple[str, ...]:
    """The identity names the register's datasets declare (once per register object)."""
    cached = _declared.get(id(register))
    if cached is None or cached[0] is not register:
        if len(_declared) > 16:
            _declared.clear()
        cached = _declared[id(register)] = (register, declared_identities(register.dataset))
    return cached[1]


def parse_request_identities(
    register: Register, items: Iterable[str | tuple[str, str]]
) -> dict[str, list[str]]:
    """``NAME=VALUE`` items as normalised identities; InvalidInput (exit 2) naming each problem."""
    items = list(items)
    if not items:
        raise InvalidInput(
            Problem("give at least one identity, e.g. --identity email=ola@eksempel.no")
        )
    try:
        return parse_identities(
            items,
            _declared_identities(register),
            today=clock.now().astimezone(clock.OSLO).date(),
        )
    except UnknownIdentity as exc:
        raise InvalidInput([Problem(p, path="identity") for p in exc.problems]) from None
    except IdentityError as exc:
        raise InvalidInput([Problem(p, path="identity") for p in exc.problems]) from None


def make_plan(register: Register, identities: Iterable[str]) -> Plan:
    try:
        # Data held for customers (dsr.processor_for) is theirs to decide on: never walked
        # (own_datasets). The walk is cached per register and identity types.
        return cached_plan(register, list(identities), plan_walk)
    except PlanError as exc:
        raise PlanProblem(f"the datasets cannot be walked: {exc}") from None
    except UnknownIdentity as exc:
        raise InvalidInput([Problem(p, path="identity") for p in exc.problems]) from None


_RELEVANT_SETTINGS: Final[dict[str, tuple[str, ...]]] = {
    "access": ("dsr.connections", "dsr.portable"),
    "portable": ("dsr.connections", "dsr.portable"),
    "erasure": ("dsr.connections", "dsr.masking", "dsr.holds"),
    "rectification": ("dsr.connections", "dsr.holds"),
    "restriction": ("dsr.connections", "dsr.restriction_flags"),
    "lift_restriction": ("dsr.connections", "dsr.restriction_flags"),
}


def settings_problems(register: Register) -> list[str]:
    """Names in ``dsr:`` that no dataset declares (a typo would silently do nothing)."""
    settings = register.dsr
    if settings is None:
        return []
    collections: dict[str, set[str]] = {}
    for ds in register.dataset:
        for c in ds.collections:
            names: set[str] = set()
            stack = [(f, "") for f in c.fields]
            while stack:
                f, prefix = stack.pop()
                names.add(prefix + f.name)
                stack.extend((sub, prefix + f.name + ".") for sub in f.fields or [])
            collections[f"{ds.fides_key}.{c.name}"] = names
    datasets = {ds.fides_key for ds in register.dataset}
    problems = []
    for key in settings.connections:
        if key not in datasets:
            problems.append(
                f"dsr.connections names dataset {key!r}, which no register file declares"
            )

    def field_known(address: str, where: str) -> None:
        coll, _, name = address.rpartition(".")
        while coll and coll not in collections:
            coll, _, head = coll.rpartition(".")
            name = f"{head}.{name}"
        if coll not in collections:
            problems.append(f"{where} names {address!r}: no such dataset collection")
        elif name not in collections[coll]:
            problems.append(f"{where} names {address!r}: collection {coll} has no field {name!r}")

    for address in settings.masking.fields:
        field_known(address, "dsr.masking.fields")
    for address in settings.masking.collections:
        if address not in collections:
            problems.append(f"dsr.masking.collections names {address!r}: no such collection")
    for hold in settings.holds:
        if hold.collection not in collections:
            problems.append(f"dsr.holds {hold.key!r}: no collection {hold.collection!r}")
            continue
        for name in (*hold.fields, hold.date_field):
            if name not in collections[hold.collection]:
                problems.append(
                    f"dsr.holds {hold.key!r}: collection {hold.collection} has no field {name!r}"
                )
    for address in settings.restriction_flags:
        if address not in collections:
            problems.append(f"dsr.restriction_flags names {address!r}: no such collection")
    for item in settings.portable or []:
        if item == "user" or item.startswith("user."):
            continue
        if item.count(".") >= 2:
            field_known(item, "dsr.portable")
        else:
            problems.append(
                f"dsr.portable names {item!r}: write a field address "
                "(dataset.collection.field) or a data category under user"
            )
    problems.extend(processor_problems(register))
    return problems


def live_problems(session: Session, register: Register) -> list[str]:
    """Dataset collections and fields that the live databases do not have.

    For ``datavern check`` and ``datavern dsr plan``: each dataset's connection
    (``dsr.connections``, else the connection named like the dataset) is opened
    and its tables described; nothing is read. A connection that cannot be
    opened or reached is one problem, named with the reason.
    """
    from datavern.connectors.service import open_connector

    settings = register.dsr or DsrSettings()
    problems: list[str] = []
    for ds in register.dataset:
        name = connection_name(settings, ds.fides_key)
        try:
            connector = open_connector(session, name)
            tables = {c.name: c for c in describe(connector).collections}
        except DatavernError as exc:
            problems.append(f"dataset {ds.fides_key}: {exc}")
            continue
        for collection in ds.collections:
            table = table_name(register, ds.fides_key, collection.name)
            info = tables.get(table)
            if info is None:
                try:
                    info = connector.collection(table)
                except DatavernError:
                    problems.append(
                        f"{ds.fides_key}.{collection.name}: connection {name!r} has no table "
                        f"{table!r}"
                    )
                    continue
            columns = set(info.column_names)
            missing = sorted({f.name for f in collection.fields} - columns)
            if missing:
                problems.append(
                    f"{ds.fides_key}.{collection.name}: field(s) {', '.join(missing)} are "
                    f"declared but table {table!r} in connection {name!r} has no such column"
                )
    return problems


# --------------------------------------------------------------------------- #
# Rectification targets
# --------------------------------------------------------------------------- #


def resolve_rectification(
    register: Register, plan: Plan, items: Sequence[str]
) -> dict[str, dict[str, str]]:
    """``--set NAME=VALUE`` items as ``{dataset.collection: {column: value}}``.

    NAME is, in this order:

    * ``dataset.collection.field``: that field;
    * a built-in identity (``email``, ``phone``, ``fnr``): every personal field
      with its data category (``user.contact.email``, ...) the walk reaches; the
      value is checked and normalised like the identity;
    * a data category (``user.contact.address.city``): every personal field the
      walk reaches with that category or one below it;
    * a field name: every personal field of that name the walk reaches.

    A NAME that reaches no field, or two items setting one field differently,
    are invalid input (exit 2), reported together, without the values.
    """
    if not items:
        raise InvalidInput(Problem("give at least one --set FIELD=VALUE", path="set"))
    targets: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    personal = [(step, p) for step in plan.steps for p in step.personal_fields]
    for position, item in enumerate(items, start=1):
        name, sep, value = item.partition("=")
        name = name.strip()
        where = f"set {position}"
        if not sep or not name:
            problems.append(
                Problem("write --set FIELD=VALUE, e.g. --set phone=+4791234567", path=where)
            )
            continue
        matched: list[tuple[str, str]] = []
        if name in IDENTITY_CATEGORIES:
            try:
                value = parse_identity(name, value).value
            except IdentityError as exc:
                problems.extend(Problem(p, path=where) for p in exc.problems)
                continue
            category = IDENTITY_CATEGORIES[name]
            matched = [
                (step.key, column_of(p.field))
                for step, p in personal
                if any(c == category or c.startswith(category + ".") for c in p.categories)
            ]
        elif name.count(".") >= 2 and any(name.startswith(f"{s.key}.") for s in plan.steps):
            matched = [
                (step.key, column_of(p.field))
                for step, p in personal
                if f"{step.key}.{p.field}" == name
            ]
        elif name == "user" or name.startswith("user."):
            matched = [
                (step.key, column_of(p.field))
                for step, p in personal
                if any(c == name or c.startswith(name + ".") for c in p.categories)
            ]
        else:
            matched = [
                (step.key, column_of(p.field))
                for step, p in personal
                if p.field == name or p.field.rsplit(".", 1)[-1] == name
            ]
        if not matched:
            known = sorted({p.field for _, p in personal})
            problems.append(
                Problem(
                    f"{name!r} matches no personal field the request reaches; fields: "
                    f"{', '.join(known) or '(none)'}",
                    path=where,
                )
            )
            continue
        for key, column in matched:
            current = targets.setdefault(key, {})
            if column in current and current[column] != value:
                problems.append(
                    Problem(f"{key}.{column} is given two different values", path=where)
                )
            current[column] = value
    if problems:
        raise InvalidInput(problems)
    return targets


# --------------------------------------------------------------------------- #
# Creating requests
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class StepSpec:
    dataset: str
    collection: str
    action: str
    depends_on: tuple[int, ...] = ()


def _closure(plan: Plan, keys: Iterable[str]) -> set[int]:
    """Step numbers of the collections ``keys`` and every step they depend on."""
    numbers = {s.key: s.number for s in plan.steps}
    by_number = {s.number: s for s in plan.steps}
    todo = [numbers[k] for k in keys if k in numbers]
    seen: set[int] = set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(by_number[n].depends_on)
    return seen


def build_steps(
    kind: str,
    plan: Plan,
    settings: DsrSettings,
    *,
    dry_run: bool = False,
    targets: Mapping[str, Any] | None = None,
) -> list[StepSpec]:
    """The steps of a request, in the order they run."""
    masking = settings.masking

    def delete_rows(key: str) -> bool:
        policy = masking.collections.get(key)
        return policy == "delete_row" or (policy is None and masking.default == "delete_row")

    if kind in ("access", "portable"):
        wanted = {s.number for s in plan.steps if s.required}
    elif kind == "erasure":
        wanted = {s.number for s in plan.steps if s.required}
        wanted |= _closure(plan, [s.key for s in plan.steps if delete_rows(s.key)])
    elif kind == "rectification":
        wanted = _closure(plan, (targets or {}).keys())
    else:  # restriction, lift_restriction
        wanted = _closure(plan, settings.restriction_flags.keys())
    specs: list[StepSpec] = []
    position: dict[int, int] = {}
    for step in plan.steps:
        if step.number in wanted:
            position[step.number] = len(specs) + 1
            depends = tuple(position[d] for d in step.depends_on if d in position)
            specs.append(StepSpec(step.dataset, step.collection, "retrieve", depends))
    retrieves = tuple(range(1, len(specs) + 1))
    retrieved = {f"{s.dataset}.{s.collection}" for s in specs}
    if kind in ("access", "portable"):
        specs.append(StepSpec("", "", "export", retrieves))
    elif kind == "erasure":
        erase_number: dict[str, int] = {}
        for erasure in plan.erasure_order:
            found = plan.step(erasure.dataset, erasure.collection)
            if found is None or erasure.key not in retrieved:
                continue
            if not found.personal_fields and not delete_rows(erasure.key):
                continue
            after = tuple(erase_number[a] for a in erasure.after if a in erase_number)
            action = "delete" if delete_rows(erasure.key) else "mask"
            specs.append(
                StepSpec(erasure.dataset, erasure.collection, action, (*retrieves, *after))
            )
            erase_number[erasure.key] = len(specs)
        if not dry_run and erase_number:
            specs.append(StepSpec("", "", "verify", tuple(sorted(erase_number.values()))))
    elif kind == "rectification":
        for key in sorted((targets or {}).keys()):
            dataset, _, collection = key.partition(".")
            specs.append(StepSpec(dataset, collection, "update", retrieves))
    else:
        for key in sorted(settings.restriction_flags):
            if key in retrieved:
                dataset, _, collection = key.partition(".")
                specs.append(StepSpec(dataset, collection, "flag", retrieves))
    return specs


def create_request(
    session: Session,
    kind: str,
    identities: Mapping[str, Sequence[str]],
    *,
    actor: str,
    dry_run: bool = False,
    options: Mapping[str, Any] | None = None,
    rectify: Sequence[str] = (),
) -> DataSubjectRequest:
    """Write a request and its steps (in the caller's transaction); run it with ``run_request``.

    ``identities`` are normalised (``parse_request_identities``). For a
    restriction the subject is restricted here, at once (art. 18): before any
    flag is set in a dataset, ``may_process`` already answers no.
    """
    if kind not in REQUEST_KINDS:
        raise InvalidInput(f"unknown request kind {kind!r}; one of {', '.join(REQUEST_KINDS)}")
    version, register = applied_register(session)
    plan = make_plan(register, identities.keys())
    settings = register.dsr or DsrSettings()
    # A typo in the parts of `dsr:` this kind of request uses would silently do
    # nothing (a hold not kept, a field not masked): refuse. Other parts do not
    # hold up the request (an access request is not delayed by a masking typo).
    relevant = _RELEVANT_SETTINGS[kind]
    problems = [p for p in settings_problems(register) if p.startswith(relevant)]
    if problems:
        raise InvalidInput([Problem(p, path="dsr") for p in problems])
    secret: dict[str, Any] = {}
    targets: dict[str, dict[str, str]] | None = None
    if kind == "rectification":
        targets = resolve_rectification(register, plan, rectify)
        secret["targets"] = targets
    specs = build_steps(kind, plan, settings, dry_run=dry_run, targets=targets)
    now = clock.now()
    request = DataSubjectRequest(
        id=uuid.uuid4().hex,
        kind=kind,
        status="pending",
        dry_run=dry_run,
        register_version=version,
        identity_types=sorted(identities),
        identities=crypto.seal({k: list(v) for k, v in identities.items()}),
        options=dict(options or {}),
        secret_options=crypto.seal(secret) if secret else None,
        summary={},
        created_by=actor,
        created_at=now,
    )
    session.add(request)
    session.flush()
    for number, spec in enumerate(specs, start=1):
        session.add(
            DsrStep(
                request_id=request.id,
                number=number,
                dataset=spec.dataset,
                collection=spec.collection,
                action=spec.action,
                depends_on=list(spec.depends_on),
                state="pending",
                attempts=0,
                result={},
            )
        )
    if kind == "restriction":
        _restrict(session, request, identities, actor)
    elif kind == "lift_restriction":
        _lift(session, request, identities, actor)
    session.flush()
    audit.record(
        session,
        "dsr.request.create",
        AUDIT_TARGET.format(request.id),
        {
            "kind": kind,
            "dry_run": dry_run,
            "identity_types": sorted(identities),
            "register_version": version,
            "steps": len(specs),
            "unmatched_identities": list(plan.unmatched_identities),
        },
        actor=actor,
    )
    return request


def run_request(request_id: str, *, actor: str) -> str:
    """Run (or resume) a request to its end in this process; returns its status."""
    return RequestRun(request_id, actor=actor).run()


def run_step(step_id: int, *, actor: str) -> str:
    """Run one step (by its id) whose dependencies are done; returns the request's status.

    The unit of work a distributed runner hands out: a worker that dies in a
    step leaves it to be run again, which changes nothing (the steps are
    idempotent). Raises ``NotFound`` for an unknown id and ``StepNotReady``
    naming the steps it still waits for.
    """
    from datavern.core.db import session_scope

    with session_scope() as session:
        step = session.get(DsrStep, step_id)
        if step is None:
            raise NotFound(f"no request step with id {step_id}")
        request_id, number = step.request_id, step.number
    return RequestRun(request_id, actor=actor).run(only=number)


# --------------------------------------------------------------------------- #
# Looking at requests
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class StepView:
    number: int
    collection: str
    action: str
    state: str
    attempts: int
    depends_on: list[int]
    result: dict[str, Any]
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "collection": self.collection,
            "action": self.action,
            "state": self.state,
            "attempts": self.attempts,
            "depends_on": self.depends_on,
            "result": self.result,
            "error": self.error,
        }


@dataclass(frozen=True)
class RequestView:
    id: str
    kind: str
    status: str
    dry_run: bool
    identity_types: list[str]
    register_version: int | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    summary: dict[str, Any]
    options: dict[str, Any]
    steps: list[StepView] = field(default_factory=list)

    @property
    def resumable(self) -> bool:
        return self.status in ("failed", "partial", "running", "pending")

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "dry_run": self.dry_run,
            "identity_types": self.identity_types,
            "register_version": self.register_version,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "error": self.error,
            "summary": self.summary,
            "options": self.options,
            "steps": [s.as_json() for s in self.steps],
        }


def _view(request: DataSubjectRequest, steps: Sequence[DsrStep]) -> RequestView:
    return RequestView(
        id=request.id,
        kind=request.kind,
        status=request.status,
        dry_run=request.dry_run,
        identity_types=list(request.identity_types),
        register_version=request.register_version,
        created_by=request.created_by,
        created_at=request.created_at,
        started_at=request.started_at,
        finished_at=request.finished_at,
        error=request.error,
        summary=dict(request.summary or {}),
        options=dict(request.options or {}),
        steps=[
            StepView(
                number=s.number,
                collection=s.key if s.dataset else "",
                action=s.action,
                state=s.state,
                attempts=s.attempts,
                depends_on=list(s.depends_on),
                result={k: v for k, v in (s.result or {}).items() if not k.startswith("_")},
                error=s.error,
            )
            for s in sorted(steps, key=lambda s: s.number)
        ],
    )


def _find(session: Session, request_id: str) -> DataSubjectRequest:
    text = request_id.strip().lower()
    if not text or len(text) > 32 or any(c not in "0123456789abcdef" for c in text):
        raise NotFound(f"no request with id {request_id!r} (ids are 32 hex digits)")
    request = session.get(DataSubjectRequest, text)
    if request is not None:
        return request
    # A unique prefix is enough, as with git commits.
    matches = list(
        session.execute(
            select(DataSubjectRequest).where(DataSubjectRequest.id.startswith(text)).limit(2)
        ).scalars()
    )
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise NotFound(f"request id {request_id!r} is ambiguous; give more digits")
    raise NotFound(f"no request with id {request_id!r}; `datavern dsr status` lists them")


def request_id_of(session: Session, request_id: str) -> str:
    return _find(session, request_id).id


def get_request(session: Session, request_id: str) -> RequestView:
    request = _find(session, request_id)
    steps = list(session.execute(select(DsrStep).where(DsrStep.request_id == request.id)).scalars())
    return _view(request, steps)


def list_requests(session: Session, limit: int = 20) -> list[RequestView]:
    requests = list(
        session.execute(
            select(DataSubjectRequest).order_by(DataSubjectRequest.created_at.desc()).limit(limit)
        ).scalars()
    )
    return [_view(r, []) for r in requests]


# --------------------------------------------------------------------------- #
# Restriction (art. 18) and "may I process?"
# --------------------------------------------------------------------------- #


def _hashes(identities: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    return [
        (name, crypto.identity_hash(name, v)) for name, values in identities.items() for v in values
    ]


def _restrict(
    session: Session,
    request: DataSubjectRequest,
    identities: Mapping[str, Sequence[str]],
    actor: str,
) -> None:
    now = clock.now()
    active = set(_active_restrictions(session, identities))
    for name, digest in _hashes(identities):
        if digest in active:
            continue
        session.add(
            Restriction(
                identity_type=name,
                identity_hash=digest,
                request_id=request.id,
                created_by=actor,
                created_at=now,
            )
        )
    audit.record(
        session,
        "dsr.restriction.add",
        AUDIT_TARGET.format(request.id),
        {"identity_types": sorted(identities)},
        actor=actor,
    )


def _lift(
    session: Session,
    request: DataSubjectRequest,
    identities: Mapping[str, Sequence[str]],
    actor: str,
) -> None:
    digests = [d for _, d in _hashes(identities)]
    rows = list(
        session.execute(
            select(Restriction).where(
                Restriction.identity_hash.in_(digests), Restriction.lifted_at.is_(None)
            )
        ).scalars()
    )
    now = clock.now()
    for row in rows:
        row.lifted_at = now
        row.lifted_by = actor
        row.lift_request_id = request.id
    audit.record(
        session,
        "dsr.restriction.lift",
        AUDIT_TARGET.format(request.id),
        {"identity_types": sorted(identities), "restrictions_lifted": len(rows)},
        actor=actor,
    )


def _active_restrictions(session: Session, identities: Mapping[str, Sequence[str]]) -> list[str]:
    digests = [d for _, d in _hashes(identities)]
    if not digests:
        return []
    return list(
        session.execute(
            select(Restriction.identity_hash).where(
                Restriction.identity_hash.in_(digests), Restriction.lifted_at.is_(None)
            )
        ).scalars()
    )


@dataclass(frozen=True)
class Decision:
    """The answer to "may this subject's data be processed for this purpose now?"."""

    allowed: bool
    purpose: str
    reason: str
    restricted: bool = False
    restricted_since: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "purpose": self.purpose,
            "reason": self.reason,
            "restricted": self.restricted,
            "restricted_since": self.restricted_since.isoformat()
            if self.restricted_since
            else None,
        }


def may_process(
    session: Session, identities: Mapping[str, Sequence[str]], purpose: str
) -> Decision:
    """Whether the subject's data may be processed for ``purpose`` now.

    ``identities`` are normalised (``parse_request_identities``); ``purpose`` is
    a purpose key or a fideslang data use. While the subject's processing is
    restricted (art. 18), only storing is allowed (``storage`` or
    ``functional.storage``). The consent ledger (a later feature) adds its own
    answer here; today restriction is the only reason for "no".
    """
    purpose = purpose.strip()
    if not purpose:
        raise InvalidInput(
            Problem("name a purpose, e.g. marketing or functional.storage", path="purpose")
        )
    digests = [d for _, d in _hashes(identities)]
    since = None
    if digests:
        since = session.execute(
            select(func.min(Restriction.created_at)).where(
                Restriction.identity_hash.in_(digests), Restriction.lifted_at.is_(None)
            )
        ).scalar_one_or_none()
    if since is None:
        return Decision(True, purpose, "no restriction or objection is recorded for this subject")
    if purpose in STORAGE_PURPOSES:
        return Decision(
            True,
            purpose,
            "processing is restricted (GDPR art. 18); storing the data is still allowed",
            restricted=True,
            restricted_since=since,
        )
    return Decision(
        False,
        purpose,
        "processing is restricted (GDPR art. 18): only storage is allowed until the "
        "restriction is lifted",
        restricted=True,
        restricted_since=since,
    )


# --------------------------------------------------------------------------- #
# Deferred erasure: held fields erased when their hold ends
# --------------------------------------------------------------------------- #


@dataclass
class DueResult:
    due: int = 0
    done: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"due": self.due, "done": self.done, "failed": self.failed, "errors": self.errors}


def pending_deferred(session: Session) -> list[DeferredErasure]:
    return list(
        session.execute(
            select(DeferredErasure)
            .where(DeferredErasure.state == "pending")
            .order_by(DeferredErasure.due_on, DeferredErasure.id)
        ).scalars()
    )


def run_due(*, actor: str, today: date | None = None) -> DueResult:
    """Erase held fields whose hold has ended (``datavern dsr run-due``, the scheduler).

    Each due row is erased with the current register's masking for its fields (or
    deleted, when its collection is erased by deleting rows and nothing refers to
    it), read back to check, then marked done and its key forgotten. A row that
    fails stays pending with the reason and is tried again next time.
    """
    from datavern.connectors.service import open_connector
    from datavern.core.db import session_scope

    day = today or clock.now().astimezone(clock.OSLO).date()
    result = DueResult()
    with session_scope() as session:
        due = list(
            session.execute(
                select(DeferredErasure).where(
                    DeferredErasure.state == "pending", DeferredErasure.due_on <= day
                )
            ).scalars()
        )
        for item in due:
            session.expunge(item)
        if not due:
            return result
        _version, register = applied_register(session)
        settings = register.dsr or DsrSettings()
        names = {connection_name(settings, d.dataset) for d in due}
        connectors = {}
        for name in names:
            try:
                connectors[name] = open_connector(session, name)
            except DatavernError as exc:
                result.errors.append(str(exc))
    result.due = len(due)
    holds = holds_by_collection(resolve_holds(settings))
    legal = _legal_holds(register, connectors)
    if isinstance(legal, str):
        result.errors.append(legal)
        result.failed = len(due)
        return result
    # Rows a legal hold keeps wait: looked at again the day after the hold's last day.
    wait: dict[int, date] = {}
    groups: dict[tuple[str, str, str, tuple[str, ...]], list[DeferredErasure]] = {}
    for item in due:
        groups.setdefault(
            (item.dataset, item.collection, item.action, tuple(item.fields)), []
        ).append(item)
    key = masking_key()
    for (dataset, collection, action, fields), items in groups.items():
        where = f"{dataset}.{collection}"
        connector = connectors.get(connection_name(settings, dataset))
        outcome: dict[int, str | None] = {}
        details: dict[str, Any] = {"collection": where, "fields": list(fields), "rows": len(items)}
        try:
            if connector is None:
                raise DatavernError(
                    f"{where}: connection {connection_name(settings, dataset)!r} cannot be opened"
                )
            table = table_name(register, dataset, collection)
            info = connector.collection(table)
            keys = [crypto.unseal(i.row_key, "a held row's key") for i in items if i.row_key]
            # A hold may have been lengthened since (a new register): what is still
            # held today waits for its new date instead of being erased early.
            rules = holds.get(where, [])
            still_held: set[int] = set()
            if rules:
                dates = {h.date_field for h in rules}
                rows = rows_by_keys(connector, table, keys, sorted(dates))
                by_key = {_tuple_key(info.primary_key, r): r for r in rows}
                for item, k in zip(items, keys, strict=True):
                    row = by_key.get(_tuple_key(info.primary_key, k))
                    if row is not None and set(held_fields(rules, row, day)) & set(fields):
                        still_held.add(item.id)
            if not legal.empty:
                names = legal.condition_fields(where)
                values: dict[tuple[Any, ...], dict[str, Any]] = {}
                if names:
                    for row in rows_by_keys(
                        connector, table, keys, [n for n in names if n in info.column_names]
                    ):
                        values[_tuple_key(info.primary_key, row)] = row
                for item, k in zip(items, keys, strict=True):
                    row = values.get(_tuple_key(info.primary_key, k), {})
                    covering = legal.covering(where, info.primary_key, k, row)
                    if covering:
                        still_held.add(item.id)
                        last = max(legal.last_day(h) for h in covering)
                        wait[item.id] = last + timedelta(days=1)
            work = [(i, k) for i, k in zip(items, keys, strict=True) if i.id not in still_held]
            work_keys = [k for _, k in work]
            masks = {}
            for name in fields:
                override = settings.masking.fields.get(f"{where}.{name}")
                strategy = override.strategy if override else settings.masking.default
                if strategy == "delete_row":
                    strategy = "null"
                masks[name] = resolve_mask(
                    name,
                    strategy,
                    info.column(name),
                    explicit=override is not None,
                    fixed_value=(override.value if override and override.value else None)
                    or settings.masking.fixed_value,
                    key=key,
                    where=f"{where}.{name}",
                )
            to_delete: list[dict[str, Any]] = []
            to_mask = work_keys
            if action == "delete_row" and work_keys:
                blocked = referenced_keys(connector, info, table, work_keys)
                to_delete = [k for k in work_keys if tuple(sorted(k.items())) not in blocked]
                to_mask = [k for k in work_keys if tuple(sorted(k.items())) in blocked]
            if to_mask:
                connector.mask(table, to_mask, {f: m.write_value() for f, m in masks.items()})
            if to_delete:
                connector.delete(table, to_delete)
            # Check: nothing of the held fields may remain.
            remaining = 0
            for row in rows_by_keys(connector, table, work_keys, list(fields)):
                if _tuple_key(info.primary_key, row) in {
                    _tuple_key(info.primary_key, k) for k in to_delete
                }:
                    remaining += 1
                    continue
                remaining += sum(1 for f in fields if not masks[f].erased(row.get(f)))
            if remaining:
                raise DatavernError(
                    f"{where}: {remaining} held value(s) remain after erasure; tried again "
                    "at the next run"
                )
            for item, _ in work:
                outcome[item.id] = None
            details.update(
                {"masked": len(to_mask), "deleted": len(to_delete), "still_held": len(still_held)}
            )
        except (DatavernError, MaskingProblem) as exc:
            for item in items:
                outcome[item.id] = str(exc)
            result.errors.append(str(exc))
        with session_scope() as session:
            for item in items:
                if item.id in wait:
                    waiting = session.get(DeferredErasure, item.id)
                    if waiting is not None:
                        waiting.due_on = wait[item.id]
                if item.id not in outcome:
                    continue
                stored = session.get(DeferredErasure, item.id)
                if stored is None:
                    continue
                stored.attempts += 1
                error = outcome[item.id]
                if error is None:
                    stored.state = "done"
                    stored.done_at = clock.now()
                    stored.row_key = None
                    stored.error = None
                    result.done += 1
                else:
                    stored.error = error
                    result.failed += 1
            audit.record(
                session,
                "dsr.deferred_erasure",
                AUDIT_TARGET.format(items[0].request_id or "none"),
                {**details, "ok": all(v is None for v in outcome.values())},
                actor=actor,
            )
    return result


def _legal_holds(register: Register, connectors: dict[str, Any]) -> Any:
    """The legal holds (datavern retention holds) for deferred erasures, or the error text."""
    from datavern.connectors.service import open_connector
    from datavern.core.db import session_scope
    from datavern.retention.service import erasure_holds

    def connector_for(name: str) -> Any:
        if name not in connectors:
            with session_scope() as session:
                connectors[name] = open_connector(session, name)
        return connectors[name]

    try:
        with session_scope() as session:
            return erasure_holds(session, register, {}, connector_for)
    except DatavernError as exc:
        return f"the legal holds cannot be checked, nothing was erased: {exc}"


def _tuple_key(key_fields: Sequence[str], row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(f) for f in key_fields) if key_fields else tuple(sorted(row.items()))


__all__ = [
    "Decision",
    "DueResult",
    "PlanProblem",
    "RequestView",
    "StepView",
    "applied_register",
    "build_steps",
    "create_request",
    "get_request",
    "list_requests",
    "live_problems",
    "make_plan",
    "may_process",
    "parse_request_identities",
    "pending_deferred",
    "resolve_rectification",
    "run_due",
    "run_request",
    "run_step",
    "settings_problems",
]
