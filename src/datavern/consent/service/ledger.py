"""Consent: the ledger: checking a decision (``prepare``), appending records after the
head (``append_many``, durable after commit, the current-state upsert), and withdrawal."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import bindparam, event, insert, update
from sqlalchemy.orm import Session

from datavern.consent import rules
from datavern.consent.models import ConsentHead, ConsentRecord, ConsentState
from datavern.consent.rules import Decision, Method, RecordFields
from datavern.consent.service.checks import (
    _check_purpose,
    _collection_point,
    _enum,
    _Problems,
    _subject,
)
from datavern.consent.service.state import _campaigns, _latest
from datavern.consent.service.texts import ConsentTextView, Context, context, get_text
from datavern.core import clock
from datavern.core.errors import DatavernError
from datavern.core.i18n import LANGUAGES


@dataclass(frozen=True)
class RecordView(RecordFields):
    """A record as appended: its fields, its place in the chain and its hash
    (``RecordView.of(row)`` builds one from a ledger row)."""

    seq: int
    hash: str

    @classmethod
    def made(cls, seq: int, fields: RecordFields, digest: str) -> RecordView:
        """The view of a record just appended with ``fields`` at ``seq``."""
        return cls(**fields.__dict__, seq=seq, hash=digest)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "subject": self.subject,
            "purpose": self.purpose,
            "decision": self.decision,
            "text_version": self.text_version_id,
            "text_hash": self.text_hash,
            "method": self.method,
            "collection_point": self.collection_point,
            "at": self.at.isoformat(),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "language": self.language,
            "recorded_by": self.recorded_by,
            "hash": self.hash,
        }


def _append(session: Session, fields: RecordFields) -> RecordView:
    """Append one record after the head, in the caller's transaction (see ``append_many``)."""
    return append_many(session, [fields])[0]


def append_many(
    session: Session, items: Sequence[RecordFields], *, wait_for_disk: bool = True
) -> list[RecordView]:
    """Append ``items`` after the head, in this order, in the caller's transaction.

    The head row is written first: that takes the write lock (a row lock on
    PostgreSQL, the database's write lock on SQLite) before the head is read, so
    two appends at once queue up instead of both linking to the same predecessor.
    Plain statements, no ORM objects: the head is locked and read in one
    (``UPDATE ... RETURNING``), the records go in with one executemany, the head is
    moved once, and the current-state table gets the last decision per subject and
    purpose.

    On PostgreSQL the chain lock is not held while the disk flushes: the
    transaction commits without waiting for its WAL (``synchronous_commit = off``
    for this transaction only), which releases the head's row lock at once, and
    then, before the caller's commit returns, a second tiny transaction that does
    wait for the flush makes it durable (``_durable_after_commit``; with
    ``wait_for_disk=False`` the caller does that itself, as the group appender
    does on its own connection). WAL is written in order, so a crash between the
    two loses these records and every later one together, never one in the
    middle: the chain stays intact, and no caller was told "recorded" for a
    record that could still be lost. Concurrent appends then share the disk's
    flushes instead of queueing behind each one.
    """
    if not items:
        return []
    session.flush()  # anything the ORM holds goes first, in order
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        if wait_for_disk:
            _durable_after_commit(session)
    head = conn.execute(_LOCK_HEAD).first()
    if head is None:
        conn.execute(_NEW_HEAD)
        seq, digest = 0, rules.GENESIS
    else:
        seq, digest = int(head.seq), str(head.hash)
    rows: list[dict[str, Any]] = []
    views: list[RecordView] = []
    states: dict[tuple[str, str], dict[str, Any]] = {}
    for fields in items:
        prev_hash = digest
        seq += 1
        digest = rules.record_hash(seq, fields, prev_hash)
        rows.append({**fields.__dict__, "seq": seq, "prev_hash": prev_hash, "hash": digest})
        views.append(RecordView.made(seq, fields, digest))
        # The state table keeps the newest decision per subject and purpose.
        states[(fields.subject, fields.purpose)] = {
            "subject": fields.subject,
            "purpose": fields.purpose,
            "seq": seq,
            "decision": fields.decision,
            "text_version_id": fields.text_version_id,
            "method": fields.method,
            "at": fields.at,
            "expires_at": fields.expires_at,
        }
    conn.execute(_INSERT_RECORD, rows)
    conn.execute(_SET_HEAD, {"seq": seq, "hash": digest})
    # One row per subject and purpose, so even a batched multi-row upsert is safe.
    conn.execute(_upsert_state(conn.dialect.name), list(states.values()))
    return views


def _durable_after_commit(session: Session) -> None:
    """Once the session's transaction has committed (asynchronously), wait until the
    WAL holding it is on disk: a transaction with a transaction id commits
    synchronously, and its flush covers every earlier commit (one flush for many
    concurrent appends)."""
    if session.info.get("consent_durable_hook"):
        return
    session.info["consent_durable_hook"] = True

    def flush(committed: Session) -> None:
        committed.info.pop("consent_durable_hook", None)
        with committed.get_bind().engine.connect() as conn:
            conn.exec_driver_sql("SELECT txid_current()")
            conn.commit()

    def forget(rolled_back: Session, _transaction: Any = None) -> None:
        rolled_back.info.pop("consent_durable_hook", None)

    event.listen(session, "after_commit", flush, once=True)
    event.listen(session, "after_soft_rollback", forget, once=True)


def _append_statements() -> tuple[Any, Any, Any, Any, Any]:
    touch = update(ConsentHead).where(ConsentHead.id == 1).values(seq=ConsentHead.seq)
    read = touch.returning(ConsentHead.seq, ConsentHead.hash)
    new = insert(ConsentHead).values(id=1, seq=0, hash=rules.GENESIS)
    insert_record = insert(ConsentRecord)
    set_head = (
        update(ConsentHead)
        .where(ConsentHead.id == 1)
        .values(seq=bindparam("seq"), hash=bindparam("hash"))
    )
    return touch, read, new, insert_record, set_head


_TOUCH_HEAD, _LOCK_HEAD, _NEW_HEAD, _INSERT_RECORD, _SET_HEAD = _append_statements()


@lru_cache(maxsize=4)
def _upsert_state(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (subject, purpose) DO UPDATE, as the database spells it."""
    dialect_insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise DatavernError(f"the consent ledger does not support the {dialect} database")
    stmt = dialect_insert(ConsentState)
    columns = ("seq", "decision", "text_version_id", "method", "at", "expires_at")
    return stmt.on_conflict_do_update(
        index_elements=[ConsentState.subject, ConsentState.purpose],
        set_={c: stmt.excluded[c] for c in columns},
    )


class RecordInput(TypedDict, total=False):
    """One decision as a caller gives it: ``prepare``'s keyword arguments."""

    subject: Required[str]
    purpose: Required[str]
    decision: Required[str]
    method: str
    text_version: str | None
    language: str | None
    collection_point: str | None
    ip: str | None
    user_agent: str | None
    expires_at: datetime | None
    recorded_by: Required[str]


def record(session: Session, **given: Unpack[RecordInput]) -> RecordView:
    """Validate and append one decision (``prepare``'s arguments). InvalidInput lists
    every problem, each naming its field; nothing is appended then."""
    return _append(session, prepare(session, context(session), **given))


def prepare(
    session: Session,
    ctx: Context,
    *,
    subject: str,
    purpose: str,
    decision: str,
    method: str = Method.api.value,
    text_version: str | None = None,
    language: str | None = None,
    collection_point: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    expires_at: datetime | None = None,
    recorded_by: str,
) -> RecordFields:
    """The checked content of one record under the register ``ctx``, ready to append;
    InvalidInput lists every problem, each naming its field. Reads the subject's
    current state for a withdrawal (the text version granted), writes nothing."""
    problems = _Problems()
    who = _subject(subject, problems)
    dec = _enum(decision, Decision, "decision", problems)
    how = _enum(method, Method, "method", problems)
    if how is not None and dec is not None:
        wrong = rules.method_problem(how, dec)
        if wrong is not None:
            problems.add(wrong, "method")
    if language is not None and language not in LANGUAGES:
        problems.add(f"unknown language {language!r}; expected one of nb, en", "language")
        language = None
    purpose_ok = _check_purpose(ctx, purpose, dec, problems, "purpose")
    collection_point = _collection_point(collection_point, "collection_point", problems)
    if ip and not rules.is_ip_address(ip):
        # The caller names an address: a wrong one is refused, never stored as none.
        problems.add("not an IPv4 or IPv6 address", "ip")
    now = clock.now()
    if expires_at is not None:
        if expires_at.tzinfo is None:
            problems.add("give the expiry with a time zone (e.g. ...Z)", "expires_at")
        elif expires_at <= now:
            problems.add("the expiry must be in the future", "expires_at")
    version: ConsentTextView | None = None
    if purpose_ok and dec is not None and dec is not Decision.object:
        if text_version is not None:
            version = get_text(session, text_version)
            if version is None:
                problems.add(f"unknown text version {text_version!r}", "text_version")
            elif version.purpose != purpose:
                problems.add(
                    f"text version {text_version!r} belongs to {version.purpose}, not {purpose}",
                    "text_version",
                )
                version = None
            else:
                if language is not None and language != version.language:
                    problems.add(
                        f"text version {version.id} is in {version.language}, not {language}: "
                        "the record's language is the language of the text shown",
                        "language",
                    )
                if dec is Decision.grant:
                    stale = _superseded_problem(session, ctx, version)
                    if stale is not None:
                        problems.add(stale, "text_version")
        elif dec is Decision.withdraw and who is not None:
            version = _granted_version(session, who.ref, purpose) or ctx.current_for(
                purpose, language
            )
        else:
            version = ctx.current_for(purpose, language)
            if version is None:
                problems.add(f"{purpose} has no text in any language", "text_version")
    problems.raise_if_any()
    assert who is not None and dec is not None and how is not None
    if dec is Decision.grant and expires_at is None:
        expires_at = rules.default_expiry(how, now)
    return RecordFields(
        id=uuid.uuid4().hex,
        subject=who.ref,
        purpose=purpose,
        decision=dec.value,
        text_version_id=version.id if version else None,
        text_hash=version.content_hash if version else None,
        method=how.value,
        collection_point=collection_point,
        at=now,
        ip=rules.truncate_ip(ip),
        user_agent=rules.clip_user_agent(user_agent),
        expires_at=expires_at if dec is Decision.grant else None,
        # The language of the text shown (a purpose without a text in the language
        # asked for is shown in the register's first language).
        language=version.language if version else language,
        recorded_by=recorded_by,
    )


def _superseded_problem(session: Session, ctx: Context, version: ConsentTextView) -> str | None:
    """Why a grant cannot name ``version``: a re-consent campaign superseded it."""
    if not any(version.id in c.superseded for c in _campaigns(session, [version.purpose])):
        return None
    current = ctx.current_for(version.purpose, version.language)
    use = f"; record the grant under the current version {current.id}" if current else ""
    return (
        f"text version {version.id} was superseded by a re-consent campaign and no longer "
        f"counts{use}"
    )


def _granted_version(session: Session, subject_ref: str, purpose: str) -> ConsentTextView | None:
    latest = _latest(session, subject_ref, [purpose]).get(purpose)
    if latest is None or latest.decision != Decision.grant.value or not latest.text_version_id:
        return None
    return get_text(session, latest.text_version_id)


def withdraw(session: Session, **kwargs: Any) -> RecordView:
    """Withdraw consent: as easy as granting (art. 7(3)); the same checks as ``record``."""
    return record(session, decision=Decision.withdraw.value, **kwargs)
