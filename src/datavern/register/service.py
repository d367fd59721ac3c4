"""Register versions: apply a loaded register, list and read what was applied.

Applying stores an immutable ``RegisterVersion`` (number, content hash, the
validated register as JSON, the YAML files as applied, who and when, and the
classified diff from the previous version) together with its audit entry, in
the caller's transaction: both are written or neither is.

Versions are never changed or deleted. No function here updates one, and the
ORM refuses to flush an update or a delete of a version row (see the listeners
at the bottom), so a future code path cannot do it by accident either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from datavern.core import audit, clock
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem
from datavern.notices.rules import Change, diff_registers, summarize
from datavern.register.loader import LoadedRegister
from datavern.register.models import RegisterVersion
from datavern.register.rules import Finding, Severity, path_str
from datavern.register.schema import Register

AUDIT_APPLY = "register.apply"


class ImmutableVersion(DatavernError):
    """Raised when code tries to change or delete an applied register version."""


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply_register`` did: a new version, or none because nothing changed."""

    version: RegisterVersion
    created: bool
    changes: list[Change] = field(default_factory=list)

    @property
    def material(self) -> int:
        return summarize(self.changes)[0]

    @property
    def editorial(self) -> int:
        return summarize(self.changes)[1]


def blocking_findings(loaded: LoadedRegister, today: date) -> list[Finding]:
    """Findings of severity error, the same `datavern check` reports without `--live`
    (register rules and the dataset graph): `apply` refuses them unless told otherwise."""
    from datavern.register.lint import register_findings

    return [f for f in register_findings(loaded.register, today) if f.severity is Severity.error]


def lint_problems(loaded: LoadedRegister, findings: list[Finding]) -> list[Problem]:
    """Findings as problems with file:line:column (the nearest node that exists)."""
    return [
        Problem(f"{f.id} {f.message} (fix: {f.fix})", loaded.where(f.path), path_str(f.path))
        for f in findings
    ]


def latest_version(session: Session) -> RegisterVersion | None:
    return session.execute(
        select(RegisterVersion).order_by(RegisterVersion.number.desc()).limit(1)
    ).scalar_one_or_none()


def apply_register(
    session: Session,
    loaded: LoadedRegister,
    actor: str,
    message: str | None = None,
    *,
    accepted_findings: int = 0,
) -> ApplyResult:
    """Store ``loaded`` as the next version with its audit entry (one transaction).

    When its content hash equals the newest version's, nothing is written and the
    newest version is returned with ``created=False``. ``accepted_findings`` is the
    number of lint errors the actor chose to apply anyway (``--allow-findings``);
    it goes into the audit entry.
    """
    previous = latest_version(session)
    if previous is not None and previous.content_hash == loaded.content_hash:
        return ApplyResult(previous, created=False)
    content = loaded.register.model_dump(mode="json")
    changes = diff_registers(previous.content, content) if previous is not None else []
    material, editorial = summarize(changes)
    number = (previous.number if previous is not None else 0) + 1
    version = RegisterVersion(
        number=number,
        content_hash=loaded.content_hash,
        content=content,
        source=dict(loaded.files),
        applied_by=actor,
        applied_at=clock.now(),
        diff=[c.to_dict() for c in changes],
        message=message.strip() if message and message.strip() else None,
    )
    session.add(version)
    session.flush()
    # Consent texts that changed get a new version (id + hash), in this transaction.
    from datavern.consent.service import sync_texts

    sync_texts(session, loaded.register, number)
    # The audit entry names the version and what kind of change it was; the
    # register's texts stay in the version row, not in the log.
    audit.record(
        session,
        AUDIT_APPLY,
        f"register_version:{number}",
        {
            "content_hash": loaded.content_hash,
            "previous": previous.number if previous is not None else None,
            "files": sorted(loaded.files),
            "material_changes": material,
            "editorial_changes": editorial,
            "accepted_lint_errors": accepted_findings,
        },
        actor=actor,
    )
    return ApplyResult(version, created=True, changes=changes)


def list_versions(session: Session) -> list[RegisterVersion]:
    """Every applied version, oldest first."""
    return list(session.execute(select(RegisterVersion).order_by(RegisterVersion.number)).scalars())


def version_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(RegisterVersion)).scalar_one())


def get_version(session: Session, number: int) -> RegisterVersion:
    """Version ``number``; NotFound (exit 2) naming the versions that exist."""
    version = session.get(RegisterVersion, number)
    if version is None:
        newest = latest_version(session)
        if newest is None:
            raise NotFound(
                f"register version {number} does not exist: no register has been applied yet "
                "(run `datavern register apply`)"
            )
        raise NotFound(
            f"register version {number} does not exist: versions are 1 to {newest.number}"
        )
    return version


def register_of(version: RegisterVersion) -> Register:
    """The register stored in ``version``, as the model."""
    try:
        return Register.model_validate(version.content)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise InvalidInput(
            f"register version {version.number} no longer matches the register format: {exc}"
        ) from None


def current_register(session: Session) -> tuple[RegisterVersion, Register]:
    """The newest applied version and its register; NotFound when none is applied."""
    version = latest_version(session)
    if version is None:
        raise NotFound("no register has been applied yet (run `datavern register apply`)")
    return version, register_of(version)


def changes_of(version: RegisterVersion) -> list[Change]:
    """The classified changes stored with ``version`` (from the version before it)."""
    return [Change.from_dict(c) for c in version.diff or []]


# --- immutability -----------------------------------------------------------------


@event.listens_for(RegisterVersion, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: RegisterVersion) -> None:
    raise ImmutableVersion(f"register version {target.number} is immutable and cannot be changed")


@event.listens_for(RegisterVersion, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: RegisterVersion) -> None:
    raise ImmutableVersion(f"register version {target.number} is immutable and cannot be deleted")
