"""The audit log: append-only and hash-chained (DESIGN capability 9).

Each entry's hash covers its own fields and the previous entry's hash, and a
one-row head table records the newest sequence number and hash. Editing an entry
breaks its hash; deleting or reordering breaks the chain or the head. Entries
name which record and which fields were touched, never the values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from datavern.core import clock
from datavern.core.db import Base, UTCDateTime

GENESIS = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest entry, so that deleting entries at the end is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


def _entry_hash(
    seq: int, at: datetime, actor: str, action: str, target: str, details: dict[str, Any], prev: str
) -> str:
    body = json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "target": target,
            "details": details,
            "prev": prev,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _locked_head(session: Session) -> AuditHead:
    """The chain's head, locked until the caller's transaction ends."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    return head


def record(
    session: Session, action: str, target: str, details: dict[str, Any] | None = None, *, actor: str
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the work)."""
    details = json.loads(json.dumps(details or {}, default=str))
    head = _locked_head(session)
    at = clock.now()
    seq = head.seq + 1
    digest = _entry_hash(seq, at, actor, action, target, details, head.hash)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        target=target,
        details=details,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(entry)
    head.seq, head.hash = seq, digest
    session.flush()
    return entry


def record_many(
    session: Session,
    entries: Sequence[tuple[str, dict[str, Any]]],
    target: str,
    *,
    actor: str,
) -> None:
    """Append ``(action, details)`` entries about one target in one statement: the same
    chain as :func:`record` entry after entry, the head read and locked once."""
    if not entries:
        return
    session.flush()  # pending writes first: the write lock before the head is read
    head = _locked_head(session)
    seq, previous = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    for action, details in entries:
        plain = json.loads(json.dumps(details or {}, default=str))
        at = clock.now()
        seq += 1
        digest = _entry_hash(seq, at, actor, action, target, plain, previous)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "target": target,
                "details": plain,
                "prev_hash": previous,
                "hash": digest,
            }
        )
        previous = digest
    session.execute(insert(AuditEntry), rows)
    head.seq, head.hash = seq, previous
    session.flush()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the start; report the first entry that does not hold."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        if entry.seq != expected_seq:
            return VerifyResult(False, count, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev:
            return VerifyResult(
                False, count, entry.seq, "chain broken: entries deleted or reordered before it"
            )
        digest = _entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.details,
            entry.prev_hash,
        )
        if digest != entry.hash:
            return VerifyResult(False, count, entry.seq, "entry was changed after it was written")
        prev = entry.hash
        expected_seq += 1
        count += 1
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != count or head_hash != prev:
        return VerifyResult(
            False, count, count + 1, f"log ends at entry {count} but {head_seq} were written"
        )
    return VerifyResult(True, count)
