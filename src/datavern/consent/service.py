"""Consent use cases: texts, the ledger, state, "may I process?", the banner, double
opt-in, one-click unsubscribe, re-consent, proof and verification.

Every function takes a session and works in the caller's transaction. Subjects
are kept by reference (``account:ID``, ``visitor:ID``, ``emailhash:HEX``): an
e-mail address is turned into a keyed hash before anything is stored, and no
function here logs a subject or a value. See docs/consent.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any, Final, Literal, Required, TypedDict, Unpack
from urllib.parse import quote

from sqlalchemy import bindparam, delete, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datavern.consent import rules
from datavern.consent.models import (
    ConsentContact,
    ConsentHead,
    ConsentRecord,
    ConsentState,
    ConsentText,
    OptIn,
    ReconsentCampaign,
    UsedNonce,
)
from datavern.consent.rules import (
    Decision,
    Method,
    PurposeIndex,
    RecordFields,
    Status,
    SubjectError,
    SubjectInput,
    SubjectKind,
)
from datavern.core import audit, clock
from datavern.core.config import get_settings
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem
from datavern.core.i18n import DEFAULT_LANG, LANGUAGES
from datavern.register.schema import CookieCategory, Register, text_for

BANNER_NONCE_LIFETIME: Final = timedelta(hours=24)
OPT_IN_LIFETIME: Final = timedelta(hours=72)
RECONSENT_LINK_GRACE: Final = timedelta(days=30)
MAX_COLLECTION_POINT: Final = rules.MAX_COLLECTION_POINT

PUBLIC_PATHS: Final = {
    "confirm": {"nb": "/samtykke/bekreft", "en": "/consent/confirm"},
    "unsubscribe": {"nb": "/samtykke/avmelding", "en": "/consent/unsubscribe"},
}


def _prepared() -> tuple[Any, Any, Any, Any]:
    """Statements of the hot read path (state, may-process), built once and run on the
    session's connection without the ORM: the reads the benchmark measures."""
    from datavern.dsr.models import Restriction
    from datavern.register.models import RegisterVersion

    newest_campaign = (
        select(func.coalesce(func.max(ReconsentCampaign.id), 0))
        .scalar_subquery()
        .label("newest_campaign")
    )
    head = (
        select(RegisterVersion.number, RegisterVersion.content_hash, newest_campaign)
        .order_by(RegisterVersion.number.desc())
        .limit(1)
    )
    state_rows = select(
        ConsentState.purpose,
        ConsentState.seq,
        ConsentState.decision,
        ConsentState.text_version_id,
        ConsentState.method,
        ConsentState.at,
        ConsentState.expires_at,
    ).where(
        ConsentState.subject == bindparam("subject"),
        ConsentState.purpose.in_(bindparam("purposes", expanding=True)),
    )
    campaigns = select(
        ReconsentCampaign.purpose, ReconsentCampaign.superseded, ReconsentCampaign.cutoff
    )
    restricted_since = select(func.min(Restriction.created_at)).where(
        Restriction.identity_hash.in_(bindparam("hashes", expanding=True)),
        Restriction.lifted_at.is_(None),
    )
    return head, state_rows, campaigns, restricted_since


def _prepared_one() -> tuple[Any, Any]:
    """The same reads for one purpose and one identity hash (the usual case): a plain
    ``=`` keeps the compiled statement cached whole, where ``IN`` is rebuilt per call."""
    from datavern.dsr.models import Restriction

    state_row = select(
        ConsentState.purpose,
        ConsentState.seq,
        ConsentState.decision,
        ConsentState.text_version_id,
        ConsentState.method,
        ConsentState.at,
        ConsentState.expires_at,
    ).where(
        ConsentState.subject == bindparam("subject"),
        ConsentState.purpose == bindparam("purpose"),
    )
    restricted_since = select(func.min(Restriction.created_at)).where(
        Restriction.identity_hash == bindparam("hash"),
        Restriction.lifted_at.is_(None),
    )
    return state_row, restricted_since


_HEAD, _STATE, _CAMPAIGNS, _RESTRICTED = _prepared()
_STATE_ONE, _RESTRICTED_ONE = _prepared_one()


class ConsentRefused(DatavernError):
    """A banner post that must not be recorded: forged, expired or replayed nonce.

    ``status`` is the HTTP status the API answers with; ``code`` names the case.
    """

    exit_code = 2

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


# --------------------------------------------------------------------------- #
# Keys and subjects
# --------------------------------------------------------------------------- #


@lru_cache(maxsize=16)
def _derive(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), label.encode("ascii"), hashlib.sha256).digest()


def _key(label: str) -> bytes:
    return _derive(get_settings().effective_secret_key(), label)


def email_hash(address: str) -> str:
    """The keyed hash an e-mail subject is stored under.

    The same keyed hash the DSR engine uses for an ``email`` identity, so that a
    restriction or an access request by e-mail finds the subject's consents.
    """
    from datavern.dsr import crypto

    return crypto.identity_hash("email", address.strip().lower())


@dataclass(frozen=True)
class Subject:
    """A subject as given (``parsed``) and as stored (``ref``)."""

    parsed: SubjectInput
    ref: str

    @property
    def dsr_identities(self) -> dict[str, list[str]]:
        """Identities for the DSR engine's restriction check, when the raw value is known."""
        if self.parsed.kind is SubjectKind.email:
            return {"email": [self.parsed.value]}
        if self.parsed.kind is SubjectKind.account:
            return {"customer_id": [self.parsed.value]}
        return {}

    @cached_property
    def restriction_hashes(self) -> list[str]:
        from datavern.dsr import crypto

        kind = self.parsed.kind
        if kind is SubjectKind.email:
            return [crypto.identity_hash("email", self.parsed.value)]
        if kind is SubjectKind.emailhash:
            return [self.parsed.value]
        if kind is SubjectKind.account:
            return [crypto.identity_hash("customer_id", self.parsed.value)]
        return []


def subject_of(text_value: str, field_name: str = "subject") -> Subject:
    """Parse a subject reference; InvalidInput naming the field, never the value."""
    try:
        parsed = rules.parse_subject(text_value)
    except SubjectError as exc:
        raise InvalidInput(Problem(str(exc), path=field_name)) from None
    digest = email_hash(parsed.value) if parsed.kind is SubjectKind.email else None
    return Subject(parsed, rules.stored_subject(parsed, digest))


# --------------------------------------------------------------------------- #
# The register's purposes and the current texts (cached per database and register)
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Context:
    """What the applied register says about consent, with the current text versions."""

    register_version: int
    register: Register
    index: PurposeIndex
    current: Mapping[tuple[str, str], ConsentTextView]  # (purpose, lang) -> newest version

    @property
    def languages(self) -> tuple[str, ...]:
        return self.index.languages

    def current_for(self, purpose: str, lang: str | None) -> ConsentTextView | None:
        lang = lang or self.languages[0]
        found = self.current.get((purpose, lang))
        if found is None:
            # A purpose without a text in this language: the first language's text.
            found = self.current.get((purpose, self.languages[0]))
        return found


@dataclass(frozen=True)
class ConsentTextView(rules.StoredText):
    """A text version as stored, with the time it became valid."""

    valid_from: datetime

    @classmethod
    def of(cls, row: ConsentText) -> ConsentTextView:
        return cls(
            row.id,
            row.purpose,
            row.language,
            row.number,
            row.content_hash,
            dict(row.content),
            row.valid_from,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "purpose": self.purpose,
            "language": self.language,
            "number": self.number,
            "hash": self.content_hash,
            "valid_from": self.valid_from.isoformat(),
            "name": self.content.get("name"),
            "text": self.content.get("text"),
            "withdraw": self.content.get("withdraw"),
            "services": self.content.get("services", []),
        }


_contexts: dict[tuple[str, str], Context] = {}


def _db_key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def read_head(session: Session) -> Head | None:
    """(number, content hash, newest campaign id) of the applied register, in one query."""
    row = session.connection().execute(_HEAD).first()
    if row is None:
        return None
    return Head(int(row.number), str(row.content_hash), int(row.newest_campaign))


@dataclass(frozen=True)
class Head:
    """The applied register version and the newest re-consent campaign, as read together
    with other things by a caller that saves a round trip (the API's login query)."""

    number: int
    content_hash: str
    newest_campaign: int


def head_columns() -> list[Any]:
    """Scalar subqueries giving a ``Head``'s fields, to add to another SELECT."""
    from datavern.register.models import RegisterVersion

    newest = select(RegisterVersion.number, RegisterVersion.content_hash).order_by(
        RegisterVersion.number.desc()
    )
    return [
        newest.with_only_columns(RegisterVersion.number)
        .limit(1)
        .scalar_subquery()
        .label("head_number"),
        newest.with_only_columns(RegisterVersion.content_hash)
        .limit(1)
        .scalar_subquery()
        .label("head_hash"),
        select(func.coalesce(func.max(ReconsentCampaign.id), 0))
        .scalar_subquery()
        .label("head_campaign"),
    ]


def head_of(row: Any) -> Head | None:
    """The ``Head`` from a row with ``head_columns()``; None when no register is applied."""
    if row.head_number is None:
        return None
    return Head(int(row.head_number), str(row.head_hash), int(row.head_campaign))


def context(session: Session) -> Context:
    """The applied register's consent purposes and current texts; NotFound if none applied.

    Cached per database and register content: a new register version (whose apply
    also syncs the texts) is a new cache entry.
    """
    return context_at(session, read_head(session))


def context_at(session: Session, head: Head | None) -> Context:
    from datavern.register.models import RegisterVersion
    from datavern.register.service import register_of

    if head is None:
        raise NotFound("no register has been applied yet (run `datavern register apply`)")
    key = (_db_key(session), f"{head.number}:{head.content_hash}")
    found = _contexts.get(key)
    if found is not None:
        return found
    version = session.get(RegisterVersion, head.number)
    assert version is not None
    register = register_of(version)
    current = _current_texts(session)
    wanted = rules.register_texts(register)
    if any(
        (k not in current or current[k].content_hash != rules.content_hash(c))
        for k, c in wanted.items()
    ):
        # Texts of a register applied before this feature existed (or outside
        # apply_register): make their versions now, once.
        sync_texts(session, register, head.number)
        current = _current_texts(session)
    made = Context(head.number, register, rules.analyse_register(register), current)
    if len(_contexts) > 64:
        _contexts.clear()
    _contexts[key] = made
    return made


def _current_texts(session: Session) -> dict[tuple[str, str], ConsentTextView]:
    current: dict[tuple[str, str], ConsentTextView] = {}
    for row in session.execute(select(ConsentText).order_by(ConsentText.number)).scalars():
        current[(row.purpose, row.language)] = ConsentTextView.of(row)
    return current


def sync_texts(
    session: Session, register: Register, register_version: int | None = None
) -> list[ConsentTextView]:
    """Store a new text version for every (purpose, language) whose content changed.

    Called by ``register apply`` in its transaction. Old versions stay forever.
    Marks the session as written (``session.info["wrote"]``): a read path that
    only commits when it wrote (the API's fast reads) then commits these.
    """
    session.info["wrote"] = True
    current = _current_texts(session)
    now = clock.now()
    made: list[ConsentTextView] = []
    for (purpose, lang), content in sorted(rules.register_texts(register).items()):
        digest = rules.content_hash(content)
        previous = current.get((purpose, lang))
        if previous is not None and previous.content_hash == digest:
            continue
        number = (previous.number if previous else 0) + 1
        row = ConsentText(
            id=rules.text_version_id(purpose, lang, number),
            purpose=purpose,
            language=lang,
            number=number,
            content_hash=digest,
            content=content,
            valid_from=now,
            register_version=register_version,
        )
        session.add(row)
        made.append(ConsentTextView.of(row))
    if made:
        session.flush()
    return made


def list_texts(session: Session, purpose: str | None = None) -> list[ConsentTextView]:
    """Every text version (of one purpose), oldest first."""
    query = select(ConsentText).order_by(
        ConsentText.purpose, ConsentText.language, ConsentText.number
    )
    if purpose:
        query = query.where(ConsentText.purpose == purpose)
    return [ConsentTextView.of(r) for r in session.execute(query).scalars()]


def get_text(session: Session, version_id: str) -> ConsentTextView | None:
    if len(version_id) > 250:
        return None
    row = session.get(ConsentText, version_id)
    return ConsentTextView.of(row) if row else None


# --------------------------------------------------------------------------- #
# Appending to the ledger
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RecordView:
    seq: int
    id: str
    subject: str
    purpose: str
    decision: str
    text_version_id: str | None
    text_hash: str | None
    method: str
    collection_point: str | None
    at: datetime
    ip: str | None
    user_agent: str | None
    expires_at: datetime | None
    language: str | None
    recorded_by: str
    hash: str

    @classmethod
    def of(cls, row: ConsentRecord) -> RecordView:
        return cls(
            row.seq,
            row.id,
            row.subject,
            row.purpose,
            row.decision,
            row.text_version_id,
            row.text_hash,
            row.method,
            row.collection_point,
            row.at,
            row.ip,
            row.user_agent,
            row.expires_at,
            row.language,
            row.recorded_by,
            row.hash,
        )

    @classmethod
    def made(cls, seq: int, fields: RecordFields, digest: str) -> RecordView:
        """The view of a record just appended with ``fields`` at ``seq``."""
        return cls(
            seq,
            fields.id,
            fields.subject,
            fields.purpose,
            fields.decision,
            fields.text_version_id,
            fields.text_hash,
            fields.method,
            fields.collection_point,
            fields.at,
            fields.ip,
            fields.user_agent,
            fields.expires_at,
            fields.language,
            fields.recorded_by,
            digest,
        )

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
    try:
        who = subject_of(subject)
    except InvalidInput as exc:
        problems.items.extend(exc.problems)
        who = None
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


# --------------------------------------------------------------------------- #
# State and "may I process?"
# --------------------------------------------------------------------------- #


_campaign_cache: dict[tuple[str, int], list[rules.Campaign]] = {}


def forget_caches() -> None:
    """Forget the cached register contexts and re-consent campaigns of every database.

    They are keyed by database URL and register version or newest campaign id, which
    is safe while a database lives; a database emptied and refilled under the same
    URL in the same process (the test suite does that) must call this."""
    _contexts.clear()
    _campaign_cache.clear()


def _campaigns(
    session: Session, purposes: Iterable[str], generation: int | None = None
) -> list[rules.Campaign]:
    """Re-consent campaigns of ``purposes``; all campaigns are cached per database and
    newest campaign id (``generation``, read with the register head)."""
    wanted = set(purposes)
    if not wanted:
        return []
    if generation is None:
        head = read_head(session)
        generation = int(head.newest_campaign) if head is not None else 0
    key = (_db_key(session), generation)
    every = _campaign_cache.get(key)
    if every is None:
        rows = session.connection().execute(_CAMPAIGNS)
        every = [rules.Campaign(p, frozenset(s), c) for p, s, c in rows]
        if len(_campaign_cache) > 64:
            _campaign_cache.clear()
        _campaign_cache[key] = every
    return [c for c in every if c.purpose in wanted]


def _latest(session: Session, subject_ref: str, purposes: Sequence[str]) -> dict[str, rules.Latest]:
    if not purposes:
        return {}
    if len(purposes) == 1:
        rows = session.connection().execute(
            _STATE_ONE, {"subject": subject_ref, "purpose": purposes[0]}
        )
    else:
        rows = session.connection().execute(
            _STATE, {"subject": subject_ref, "purposes": list(purposes)}
        )
    return {r[0]: rules.Latest(*r[1:]) for r in rows}


@dataclass(frozen=True)
class Prefetched:
    """A subject's state rows for ``keys`` (purposes or activity keys), read by a caller
    together with other things under the register ``head`` it expected (one round
    trip instead of two; consent/api.py's fast reads). Used only if the register is
    still at ``head`` and ``keys`` covers what the answer needs."""

    head: Head
    subject_ref: str
    keys: frozenset[str]
    latest: Mapping[str, rules.Latest]


def _latest_of(
    session: Session,
    subject_ref: str,
    keys: Sequence[str],
    head: Head,
    prefetched: Prefetched | None,
) -> dict[str, rules.Latest]:
    if (
        prefetched is not None
        and prefetched.head == head
        and prefetched.subject_ref == subject_ref
        and prefetched.keys.issuperset(keys)
    ):
        return {k: v for k, v in prefetched.latest.items() if k in keys}
    return _latest(session, subject_ref, keys)


def _may_process_keys(resolved: rules.ResolvedPurpose) -> list[str]:
    return list(dict.fromkeys([*resolved.consent_purposes, *resolved.objection_keys]))


def read_keys(session: Session, head: Head, purpose: str, *, may_process: bool) -> tuple[str, ...]:
    """The state rows ``state`` (or ``may_process``) will read for ``purpose`` under the
    register ``head``, if its purposes are cached already; () otherwise (or for a
    purpose it does not know: the answer is an error then)."""
    ctx = _contexts.get((_db_key(session), f"{head.number}:{head.content_hash}"))
    if ctx is None:
        return ()
    if not may_process:
        return (purpose,) if purpose in ctx.index.purposes else ()
    try:
        resolved = rules.resolve_purpose(ctx.index, purpose.strip())
    except rules.UnknownPurpose:
        return ()
    return tuple(_may_process_keys(resolved))


@dataclass(frozen=True)
class StateView:
    subject: str
    purpose: str
    status: str
    decision: str | None
    text_version: str | None
    method: str | None
    at: datetime | None
    expires_at: datetime | None
    reconsent_cutoff: date | None  # a campaign asks again; old consent stops counting then
    current_text_version: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "purpose": self.purpose,
            "status": self.status,
            "decision": self.decision,
            "text_version": self.text_version,
            "method": self.method,
            "at": self.at.isoformat() if self.at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "reconsent_cutoff": self.reconsent_cutoff.isoformat()
            if self.reconsent_cutoff
            else None,
            "current_text_version": self.current_text_version,
        }


def state(
    session: Session,
    subject: str,
    purpose: str,
    lang: str | None = None,
    *,
    head: Head | Literal["read"] | None = "read",
    prefetched: Prefetched | None = None,
) -> StateView:
    """The subject's current answer for one consent purpose.

    ``head``: the register head if the caller read it already (see ``head_columns``);
    ``prefetched``: the subject's state rows if the caller read them already.
    """
    known = read_head(session) if head == "read" else head
    ctx = context_at(session, known)
    assert known is not None  # context_at raised NotFound otherwise
    problems = _Problems()
    try:
        who = subject_of(subject)
    except InvalidInput as exc:
        problems.items.extend(exc.problems)
        who = None
    if purpose not in ctx.index.purposes:
        problems.add(str(rules.UnknownPurpose(purpose, ctx.index.known())), "purpose")
    problems.raise_if_any()
    assert who is not None
    latest = _latest_of(session, who.ref, [purpose], known, prefetched).get(purpose)
    campaigns = _campaigns(session, [purpose], known.newest_campaign)
    status = rules.effective_status(latest, clock.now(), campaigns)
    cutoff = None
    if latest is not None and latest.decision == Decision.grant.value:
        due = [c for c in campaigns if latest.text_version_id in c.superseded]
        if due:
            cutoff = min(c.cutoff for c in due).astimezone(clock.OSLO).date()
    shown_lang = _lang_of(latest.text_version_id) if latest else None
    current = ctx.current_for(purpose, lang or shown_lang)
    return StateView(
        who.ref,
        purpose,
        status.value,
        latest.decision if latest else None,
        latest.text_version_id if latest else None,
        latest.method if latest else None,
        latest.at if latest else None,
        latest.expires_at if latest else None,
        cutoff,
        current.id if current else None,
    )


def _lang_of(version_id: str | None) -> str | None:
    if not version_id:
        return None
    parts = version_id.split("/")
    return parts[1] if len(parts) == 3 else None


@dataclass(frozen=True)
class MayProcess:
    subject: str
    purpose: str
    allowed: bool
    reasons: tuple[str, ...]
    consent: Mapping[str, str]
    objected: bool
    restricted: bool
    restricted_since: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "purpose": self.purpose,
            "allowed": self.allowed,
            "reason": "; ".join(self.reasons),
            "consent": dict(self.consent),
            "objected": self.objected,
            "restricted": self.restricted,
            "restricted_since": self.restricted_since.isoformat()
            if self.restricted_since
            else None,
        }


def may_process(
    session: Session,
    subject: str,
    purpose: str,
    *,
    head: Head | Literal["read"] | None = "read",
    who: Subject | None = None,
    restricted_since: tuple[str, datetime | None] | None = None,
    prefetched: Prefetched | None = None,
) -> MayProcess:
    """May the subject's data be processed for ``purpose`` now?

    ``purpose`` is a consent purpose, an activity key, a fideslang data use from
    the register, or ``storage``. The answer combines the DSR engine's restriction
    (art. 18; ``dsr.service.may_process``), objections in the ledger (art. 21) and
    consent where the register says consent is the legal basis (art. 6(1)(a)).
    ``head``: the register head if the caller read it already (see ``head_columns``);
    ``who``: ``subject`` parsed already; ``restricted_since``: (identity hash, the
    oldest active restriction under it) if the caller read that already (see
    ``restriction_column``); ``prefetched``: the subject's state rows, likewise.
    """
    known = read_head(session) if head == "read" else head
    ctx = context_at(session, known)
    assert known is not None  # context_at raised NotFound otherwise
    problems = _Problems()
    purpose = purpose.strip()
    if who is None:
        try:
            who = subject_of(subject)
        except InvalidInput as exc:
            problems.items.extend(exc.problems)
    resolved = None
    if not purpose:
        problems.add("name a purpose, e.g. a consent purpose or an activity key", "purpose")
    else:
        try:
            resolved = rules.resolve_purpose(ctx.index, purpose)
        except rules.UnknownPurpose as exc:
            problems.add(str(exc), "purpose")
    problems.raise_if_any()
    assert who is not None and resolved is not None
    keys = _may_process_keys(resolved)
    latest = _latest_of(session, who.ref, keys, known, prefetched)
    campaigns = _campaigns(session, resolved.consent_purposes, known.newest_campaign)
    now = clock.now()
    statuses = {
        p: rules.effective_status(latest.get(p), now, campaigns) for p in resolved.consent_purposes
    }
    objections = {
        k: v for k, v in latest.items() if k in resolved.objection_keys and v.decision == "object"
    }
    restricted, since, other = _restriction(session, who, purpose, restricted_since)
    answer = rules.decide(resolved, statuses, objections, restricted)
    reasons = answer.reasons + tuple(other)
    return MayProcess(
        who.ref,
        purpose,
        answer.allowed and not other,
        reasons,
        {k: v.value for k, v in statuses.items()},
        answer.objected_by is not None,
        restricted,
        since,
    )


def restriction_column() -> Any:
    """A scalar subquery of the oldest active restriction under the identity hash
    ``:rhash``, to add to another SELECT (``may_process(restricted_since=...)``)."""
    return _RESTRICTED_ONE.scalar_subquery().label("restricted_since")


def single_restriction_hash(who: Subject) -> str | None:
    """The one identity hash ``who``'s restriction is looked up by, if exactly one."""
    hashes = who.restriction_hashes
    return hashes[0] if len(hashes) == 1 else None


def _restriction(
    session: Session,
    who: Subject,
    purpose: str,
    prefetched: tuple[str, datetime | None] | None = None,
) -> tuple[bool, datetime | None, list[str]]:
    """The DSR engine's restriction (art. 18): restricted (and since when), and any other
    "no" the DSR engine gives.

    The active restrictions are looked up by the DSR engine's keyed identity hash
    with one prepared statement (the hot path); when one exists and the raw identity
    is known, ``dsr.service.may_process`` itself is asked, so that its rule decides.
    """
    hashes = who.restriction_hashes
    if not hashes:
        return False, None, []
    conn = session.connection()
    if prefetched is not None and hashes == [prefetched[0]]:
        since = prefetched[1]
    elif len(hashes) == 1:
        since = conn.execute(_RESTRICTED_ONE, {"hash": hashes[0]}).scalar_one_or_none()
    else:
        since = conn.execute(_RESTRICTED, {"hashes": hashes}).scalar_one_or_none()
    if since is None:
        return False, None, []
    identities = who.dsr_identities
    if identities:
        from datavern.dsr import service as dsr

        answer = dsr.may_process(session, identities, purpose)
        other = [] if answer.allowed or answer.restricted else [answer.reason]
        return answer.restricted, answer.restricted_since, other
    return True, since, []


# --------------------------------------------------------------------------- #
# Proof and history
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ProofItem:
    record: RecordView
    text: ConsentTextView | None
    text_intact: bool  # the stored text still hashes to the hash in the record

    @property
    def text_missing(self) -> bool:
        """The record names a text version that is no longer stored (deleted)."""
        return self.record.text_version_id is not None and self.text is None

    @property
    def warning(self) -> str | None:
        """What makes this record weaker proof than it should be, or None."""
        if self.text_missing:
            return (
                f"text version {self.record.text_version_id} is MISSING: the text shown "
                "cannot be produced (run `datavern audit verify`)"
            )
        if not self.text_intact:
            return (
                f"text version {self.record.text_version_id} does NOT match the hash in the "
                "record (run `datavern audit verify`)"
            )
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            **self.record.as_json(),
            "text": self.text.as_json() if self.text else None,
            "text_intact": self.text_intact,
            "text_missing": self.text_missing,
            "warning": self.warning,
        }


def history(session: Session, subject_ref: str) -> list[RecordView]:
    rows = session.execute(
        select(ConsentRecord)
        .where(ConsentRecord.subject == subject_ref)
        .order_by(ConsentRecord.seq)
    ).scalars()
    return [RecordView.of(r) for r in rows]


def proof(session: Session, subject: str, *, actor: str) -> list[ProofItem]:
    """Every record of a subject with the exact text shown (art. 7(1)); audited."""
    who = subject_of(subject)
    items: list[ProofItem] = []
    texts: dict[str, ConsentTextView | None] = {}
    for rec in history(session, who.ref):
        version = None
        if rec.text_version_id:
            if rec.text_version_id not in texts:
                texts[rec.text_version_id] = get_text(session, rec.text_version_id)
            version = texts[rec.text_version_id]
        if version is None:
            # No text named (an objection) is intact; a named text that is gone is not.
            intact = rec.text_version_id is None
        else:
            intact = rules.content_hash(version.content) == version.content_hash == rec.text_hash
        items.append(ProofItem(rec, version, intact))
    # Reading a subject's consents is access to personal data: audited, by reference.
    audit.record(
        session,
        "consent.proof",
        # By reference: an e-mail subject is already its keyed hash.
        f"consent_subject:{who.ref}",
        {"records": len(items)},
        actor=actor,
    )
    return items


# --------------------------------------------------------------------------- #
# Verification
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class LedgerCheck:
    """The ledger check's answer. ``first_bad_seq``/``first_bad_id``: the first record
    that does not hold (or, for a text problem, the first record naming that text;
    None when no record does, or for a state row no record made);
    ``first_bad_text``: the text version a text problem is about. ``reason`` names
    what is wrong (a text version id, a state row's subject reference and purpose)."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    reason: str = ""
    first_bad_text: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "first_bad_record": self.first_bad_seq,
            "first_bad_record_id": self.first_bad_id,
            "first_bad_text_version": self.first_bad_text,
            "reason": self.reason or None,
        }


def verify_ledger(session: Session) -> LedgerCheck:
    """Walk the chain from the start and name the first record that does not hold; then
    check the head, that the state table is what the ledger says, and the consent
    texts: each version hashes to its stored hash, the versions of each purpose and
    language are numbered 1..n, and every text a record names exists with the hash
    the record holds (the proof of art. 7(1) rests on them)."""
    texts = [
        rules.StoredText(t.id, t.purpose, t.language, t.number, t.content_hash, dict(t.content))
        for t in session.execute(select(ConsentText)).scalars()
    ]
    text_hashes = {t.id: t.content_hash for t in texts}
    first_named: dict[str, tuple[int, str]] = {}  # text version -> first record naming it
    bad_reference: LedgerCheck | None = None
    prev = rules.GENESIS
    expected = 1
    count = 0
    latest: dict[tuple[str, str], tuple[int, str, str | None, str, datetime, datetime | None]] = {}
    for row in session.execute(select(ConsentRecord).order_by(ConsentRecord.seq)).scalars():
        fields = RecordFields(
            row.id,
            row.subject,
            row.purpose,
            row.decision,
            row.text_version_id,
            row.text_hash,
            row.method,
            row.collection_point,
            row.at,
            row.ip,
            row.user_agent,
            row.expires_at,
            row.language,
            row.recorded_by,
        )
        reason = rules.check_link(
            expected,
            row.seq,
            prev,
            row.prev_hash,
            rules.record_hash(row.seq, fields, row.prev_hash),
            row.hash,
        )
        if reason is not None:
            bad_seq = expected if row.seq != expected else row.seq
            bad_id = None if row.seq != expected else row.id
            return LedgerCheck(False, count, bad_seq, bad_id, reason)
        version_id = row.text_version_id
        if version_id is not None:
            first_named.setdefault(version_id, (row.seq, row.id))
            if bad_reference is None and version_id not in text_hashes:
                bad_reference = LedgerCheck(
                    False,
                    0,
                    row.seq,
                    row.id,
                    f"the record names text version {version_id}, which is missing (deleted?)",
                    version_id,
                )
            elif bad_reference is None and text_hashes[version_id] != row.text_hash:
                bad_reference = LedgerCheck(
                    False,
                    0,
                    row.seq,
                    row.id,
                    f"text version {version_id} no longer has the hash the record holds",
                    version_id,
                )
        latest[(row.subject, row.purpose)] = (
            row.seq,
            row.decision,
            row.text_version_id,
            row.method,
            row.at,
            row.expires_at,
        )
        prev = row.hash
        expected += 1
        count += 1
    head = session.get(ConsentHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, rules.GENESIS)
    if head_seq != count or head_hash != prev:
        return LedgerCheck(
            False,
            count,
            count + 1,
            None,
            f"ledger ends at record {count} but {head_seq} were written",
        )
    for st in session.execute(
        select(ConsentState).order_by(ConsentState.subject, ConsentState.purpose)
    ).scalars():
        want = latest.pop((st.subject, st.purpose), None)
        if want is None:
            return LedgerCheck(
                False,
                count,
                None,
                None,
                f"the current-state table has a row for {st.subject} and {st.purpose} "
                "that no ledger record made",
            )
        have = (st.seq, st.decision, st.text_version_id, st.method, st.at, st.expires_at)
        if want != have:
            return LedgerCheck(
                False,
                count,
                want[0],
                None,
                f"the current-state table disagrees with the ledger at this record "
                f"({st.subject}, {st.purpose})",
            )
    if latest:
        seq = min(v[0] for v in latest.values())
        return LedgerCheck(
            False, count, seq, None, "the current-state table lacks the decision of this record"
        )
    bad_text = rules.check_texts(texts)
    if bad_text is not None:
        version_id, reason = bad_text
        named = first_named.get(version_id)
        if named is not None:
            reason += f"; record {named[0]} is the first to name it"
        return LedgerCheck(
            False,
            count,
            named[0] if named else None,
            named[1] if named else None,
            reason,
            version_id,
        )
    if bad_reference is not None:
        return LedgerCheck(
            False,
            count,
            bad_reference.first_bad_seq,
            bad_reference.first_bad_id,
            bad_reference.reason,
            bad_reference.first_bad_text,
        )
    return LedgerCheck(True, count)


# --------------------------------------------------------------------------- #
# The cookie banner
# --------------------------------------------------------------------------- #

CATEGORY_ORDER: Final = [c.value for c in CookieCategory]

CATEGORY_TEXTS: Final = {
    "nb": {
        "necessary": (
            "Nødvendige",
            "Trengs for at nettstedet skal virke, for eksempel innlogging og sikkerhet. "
            "Disse kan ikke slås av.",
        ),
        "preferences": ("Innstillinger", "Husker valg du har gjort, som språk og visning."),
        "analytics": ("Statistikk", "Hjelper oss å forstå hvordan nettstedet brukes."),
        "marketing": ("Markedsføring", "Brukes til å måle og tilpasse annonser og kampanjer."),
    },
    "en": {
        "necessary": (
            "Necessary",
            "Needed for the website to work, such as sign-in and security. These cannot be "
            "switched off.",
        ),
        "preferences": ("Preferences", "Remember choices you have made, such as language."),
        "analytics": ("Statistics", "Help us understand how the website is used."),
        "marketing": ("Marketing", "Used to measure and tailor adverts and campaigns."),
    },
}


def _banner_key() -> bytes:
    return _key("datavern consent banner nonce v1")


def issue_nonce(lang: str, now: datetime | None = None) -> tuple[str, datetime]:
    now = now or clock.now()
    expires = now + BANNER_NONCE_LIFETIME
    token = rules.sign_token(
        _banner_key(),
        "banner",
        {"n": secrets.token_urlsafe(18), "exp": int(expires.timestamp()), "lang": lang},
    )
    return token, expires


def _purpose_category(categories: Sequence[str]) -> str | None:
    nonessential = [c for c in categories if c != CookieCategory.necessary.value]
    if not nonessential:
        return None
    return max(nonessential, key=CATEGORY_ORDER.index)


def banner_purposes(ctx: Context) -> dict[str, str]:
    """Consent purposes the banner asks about, with the category each belongs to."""
    out: dict[str, str] = {}
    for key, info in ctx.index.purposes.items():
        category = _purpose_category(info.categories)
        if category is not None and info.needs_consent:
            out[key] = category
    return out


def banner_config(
    session: Session, lang: str, *, gpc: bool = False, base_url: str | None = None
) -> dict[str, Any]:
    """What the banner shows: categories, services (the register's cookies), the texts
    with their current version ids, and a fresh signed nonce for the post."""
    if lang not in LANGUAGES:
        raise InvalidInput(Problem(f"unknown language {lang!r}; expected nb or en", path="lang"))
    ctx = context(session)
    register = ctx.register
    languages: list[str] = [str(lang) for lang in register.organisation.languages]
    by_purpose = banner_purposes(ctx)
    purposes: list[dict[str, Any]] = []
    for key, category in sorted(
        by_purpose.items(), key=lambda kv: (CATEGORY_ORDER.index(kv[1]), kv[0])
    ):
        version = ctx.current_for(key, lang)
        if version is None:
            continue
        services = [
            _cookie(c, lang, languages) for c in register.cookies if c.consent_purpose == key
        ]
        purposes.append(
            {
                "key": key,
                "category": category,
                "name": version.content.get("name"),
                "text": version.content.get("text"),
                "withdraw": version.content.get("withdraw"),
                "text_version": {"id": version.id, "hash": version.content_hash},
                "services": services,
            }
        )
    categories: list[dict[str, Any]] = []
    for category in CATEGORY_ORDER:
        cookies = [c for c in register.cookies if c.category.value == category]
        members = [p for p in purposes if p["category"] == category]
        if not cookies and not members:
            continue
        name, description = CATEGORY_TEXTS.get(lang, CATEGORY_TEXTS[DEFAULT_LANG])[category]
        if category == CookieCategory.necessary.value:
            # Nothing to choose: one entry per provider lists what is always set.
            providers = sorted({c.provider for c in cookies})
            services = [
                {
                    "key": f"necessary:{provider}",
                    "name": provider,
                    "provider": provider,
                    "description": "",
                    "cookies": [
                        _cookie(c, lang, languages) for c in cookies if c.provider == provider
                    ],
                }
                for provider in providers
            ]
        else:
            # One service per consent purpose: the unit the ledger records a choice for.
            services = [
                {
                    "key": p["key"],
                    "name": p["name"],
                    "description": p["text"],
                    "provider": ", ".join(sorted({s["provider"] for s in p["services"]})),
                    "text_version": p["text_version"]["id"],
                    "cookies": p["services"],
                }
                for p in members
            ]
        categories.append(
            {
                "key": category,
                "name": name,
                "description": description,
                "required": category == CookieCategory.necessary.value,
                "purposes": [p["key"] for p in members],
                "services": services,
                "cookies": [_cookie(c, lang, languages) for c in cookies],
            }
        )
    nonce, expires = issue_nonce(lang)
    base = (base_url or get_settings().base_url).rstrip("/")
    notice = {"nb": "/personvern", "en": "/privacy"}[lang]
    versions = {p["key"]: p["text_version"]["id"] for p in purposes}
    return {
        "lang": lang,
        "languages": languages,
        "organisation": register.organisation.name,
        "privacy_url": base + notice,
        "categories": categories,
        "purposes": purposes,
        # The text version shown per purpose: the banner asks again when one changes,
        # and posts these back as proof of what was shown.
        "text_versions": versions,
        "nonce": nonce,
        "nonce_expires_at": expires.isoformat(),
        "post_url": base + "/api/v1/consent/banner",
        "cookie_max_age_days": rules.BANNER_CONSENT_LIFETIME.days,
        "gpc": gpc,
    }


def _cookie(c: Any, lang: str, languages: list[str]) -> dict[str, Any]:
    return {
        "name": c.name,
        "provider": c.provider,
        "purpose": text_for(c.purpose, lang, languages)
        or text_for(c.purpose, languages[0], languages),
        "duration": c.duration,
        "third_party": c.third_party,
        "category": c.category.value,
    }


@dataclass(frozen=True)
class BannerResult:
    visitor_id: str
    records: list[RecordView]
    nonce: str
    nonce_expires_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "visitor_id": self.visitor_id,
            "records": [
                {
                    "id": r.id,
                    "purpose": r.purpose,
                    "decision": r.decision,
                    "text_version": r.text_version_id,
                }
                for r in self.records
            ],
            "expires_at": next(
                (r.expires_at.isoformat() for r in self.records if r.expires_at), None
            ),
            "nonce": self.nonce,
            "nonce_expires_at": self.nonce_expires_at.isoformat(),
        }


BANNER_POST_METHODS: Final = {
    "accept_all": Method.banner_accept_all,
    "reject_all": Method.banner_reject_all,
    "custom": Method.banner_custom,
    "gpc": Method.gpc,
    "banner_accept_all": Method.banner_accept_all,
    "banner_reject_all": Method.banner_reject_all,
    "banner_custom": Method.banner_custom,
}


def spend_nonce(session: Session, nonce: str) -> dict[str, Any]:
    """Verify a banner nonce and mark it used; ConsentRefused if forged, expired or replayed."""
    now = clock.now()
    try:
        payload = rules.verify_token(_banner_key(), "banner", nonce, now)
    except rules.TokenError as exc:
        if exc.kind == "expired":
            raise ConsentRefused(
                400, "nonce_expired", "the nonce has expired: fetch the banner config again"
            ) from None
        raise ConsentRefused(
            403, "nonce_invalid", "the nonce was not issued by this server"
        ) from None
    key = hashlib.sha256(str(payload.get("n", "")).encode()).hexdigest()
    if session.get(UsedNonce, key) is not None:
        raise ConsentRefused(
            409, "nonce_used", "the nonce has been used: each post needs a new one"
        )
    session.add(
        UsedNonce(
            nonce=key,
            used_at=now,
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise ConsentRefused(
            409, "nonce_used", "the nonce has been used: each post needs a new one"
        ) from None
    return payload


def banner_post(
    session: Session,
    body: Mapping[str, Any],
    *,
    ip: str | None,
    user_agent: str | None,
    gpc_header: bool = False,
) -> BannerResult:
    """Record the banner's choice: one record per purpose, all or nothing.

    ``body`` (what banner.js posts): ``nonce``; ``method`` (accept_all,
    reject_all, custom, gpc); ``services`` {purpose: true/false} for every purpose
    the banner asks about (``choices`` is accepted too), and ``categories``
    {category: true/false}, which decides for a purpose the services leave out;
    ``text_versions`` {purpose: version id shown}; ``lang``; optional
    ``visitor_id`` and ``url`` (the page, the collection point).

    A false choice for a purpose the visitor had granted is recorded as a
    withdrawal, otherwise as a refusal. The Sec-GPC header (``gpc_header``) turns a
    post without explicit grants into method ``gpc``; an explicit grant the visitor
    clicked still counts (the choice is theirs; GPC is the default, not a lock).
    """
    problems = _Problems()
    nonce = body.get("nonce")
    if not isinstance(nonce, str):
        raise ConsentRefused(403, "nonce_missing", "the post carries no nonce")
    ctx = context(session)
    asked = banner_purposes(ctx)
    method_text = body.get("method")
    method = BANNER_POST_METHODS.get(method_text) if isinstance(method_text, str) else None
    if method is None:
        problems.add("method must be one of " + ", ".join(BANNER_POST_METHODS), "method")
    lang = body.get("lang", ctx.languages[0])
    if lang not in LANGUAGES:
        problems.add("lang must be nb or en", "lang")
        lang = ctx.languages[0]
    visitor = body.get("visitor_id")
    if visitor is None:
        visitor = secrets.token_urlsafe(16)
    elif not isinstance(visitor, str):
        problems.add("visitor_id must be text", "visitor_id")
    else:
        try:
            rules.parse_subject(f"visitor:{visitor}")
        except SubjectError as exc:
            problems.add(str(exc), "visitor_id")
    # The page: origin and path only, as the banner sends it (rules.clean_collection_point).
    collection_point = _collection_point(
        body.get("url", body.get("collection_point")), "url", problems
    )
    field_name = "services" if "services" in body else "choices"
    choices = body.get(field_name)
    versions = body.get("text_versions") or {}
    if not isinstance(choices, dict):
        problems.add(f"{field_name} must be an object {{purpose: true|false}}", field_name)
        choices = {}
    categories = body.get("categories") or {}
    if not isinstance(categories, dict):
        problems.add("categories must be an object {category: true|false}", "categories")
        categories = {}
    choices = dict(choices)
    for purpose, category in asked.items():
        if purpose not in choices and isinstance(categories.get(category), bool):
            choices[purpose] = categories[category]
    if not isinstance(versions, dict):
        problems.add("text_versions must be an object {purpose: version id}", "text_versions")
        versions = {}
    for purpose, value in choices.items():
        if purpose not in asked:
            if purpose in ctx.index.purposes:
                problems.add(
                    f"{purpose} is not a purpose the banner asks about", f"{field_name}.{purpose}"
                )
            else:
                problems.add(
                    str(rules.UnknownPurpose(purpose, sorted(asked))), f"{field_name}.{purpose}"
                )
        elif not isinstance(value, bool):
            problems.add("a choice is true or false", f"{field_name}.{purpose}")
    missing = sorted(set(asked) - set(choices))
    for purpose in missing:
        problems.add(
            "every purpose the banner asks about needs a choice; nothing is assumed",
            f"{field_name}.{purpose}",
        )
    resolved_versions: dict[str, ConsentTextView] = {}
    for purpose in choices:
        if purpose not in asked:
            continue
        vid = versions.get(purpose)
        if not isinstance(vid, str):
            problems.add("name the text version that was shown", f"text_versions.{purpose}")
            continue
        version = get_text(session, vid)
        if version is None:
            problems.add(f"unknown text version {vid!r}", f"text_versions.{purpose}")
        elif version.purpose != purpose:
            problems.add(
                f"text version {vid!r} belongs to {version.purpose}", f"text_versions.{purpose}"
            )
        else:
            resolved_versions[purpose] = version
            if choices[purpose] is True:
                stale = _superseded_problem(session, ctx, version)
                if stale is not None:
                    problems.add(stale, f"text_versions.{purpose}")
    grants = [p for p, v in choices.items() if v is True]
    if method is Method.banner_accept_all and len(grants) != len(choices):
        problems.add("accept all grants every purpose", "method")
    if method in (Method.banner_reject_all, Method.gpc) and grants:
        problems.add(f"{method.value} grants nothing", "method")
    if gpc_header and method is Method.banner_reject_all:
        method = Method.gpc
    # Nothing is recorded unless everything is valid and the nonce is fresh. The
    # nonce is checked before the other problems are reported, so that a forged
    # or replayed post is refused as such.
    spend_nonce(session, nonce)
    problems.raise_if_any()
    assert method is not None
    now = clock.now()
    subject_ref = f"visitor:{visitor}"
    current = _latest(session, subject_ref, list(choices))
    records: list[RecordView] = []
    for purpose in sorted(choices):
        version = resolved_versions[purpose]
        if choices[purpose]:
            decision = Decision.grant
        elif purpose in current and current[purpose].decision == Decision.grant.value:
            decision = Decision.withdraw
        else:
            decision = Decision.deny
        fields = RecordFields(
            id=uuid.uuid4().hex,
            subject=subject_ref,
            purpose=purpose,
            decision=decision.value,
            text_version_id=version.id,
            text_hash=version.content_hash,
            method=method.value,
            collection_point=collection_point,
            at=now,
            ip=rules.truncate_ip(ip),
            user_agent=rules.clip_user_agent(user_agent),
            expires_at=rules.default_expiry(method, now) if decision is Decision.grant else None,
            # The language of the text shown (the banner falls back to the register's
            # first language for a purpose without a text in the banner's language).
            language=version.language,
            recorded_by="banner",
        )
        records.append(_append(session, fields))
    next_nonce, next_exp = issue_nonce(str(lang), now)
    return BannerResult(str(visitor), records, next_nonce, next_exp)


# --------------------------------------------------------------------------- #
# Double opt-in and one-click unsubscribe
# --------------------------------------------------------------------------- #


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def public_url(kind: str, lang: str, token: str) -> str:
    base = get_settings().base_url.rstrip("/")
    path = PUBLIC_PATHS[kind][lang if lang in LANGUAGES else DEFAULT_LANG]
    return f"{base}{path}?token={quote(token)}"


def subscribe(
    session: Session,
    *,
    email: str,
    purpose: str,
    lang: str | None = None,
    collection_point: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    text_version: str | None = None,
) -> str | None:
    """Start a double opt-in: store a pending confirmation and queue the mail with its link.

    Nothing is recorded in the ledger until the link is followed. Returns the
    outbox message id (None when the subject has already granted: no mail is sent,
    and the caller answers the same either way, so nobody learns who is subscribed).
    """
    from datavern.dsr import crypto
    from datavern.notify import email as mail

    ctx = context(session)
    problems = _Problems()
    try:
        who = subject_of(email, "email")
        if who.parsed.kind is not SubjectKind.email:
            problems.add("give an e-mail address", "email")
    except InvalidInput as exc:
        problems.items.extend(exc.problems)
        who = None
    if lang is not None and lang not in LANGUAGES:
        problems.add("lang must be nb or en", "lang")
        lang = None
    lang = lang or ctx.languages[0]
    info = ctx.index.purposes.get(purpose)
    purpose_ok = _check_purpose(ctx, purpose, Decision.grant, problems, "purpose")
    if purpose_ok and info is not None and not info.double_opt_in:
        problems.add(
            f"{purpose} does not use double opt-in (set double_opt_in: true in the register, "
            "or record the consent directly)",
            "purpose",
        )
    version = None
    if text_version is not None:
        version = get_text(session, text_version)
        if version is None or version.purpose != purpose:
            problems.add(f"unknown text version {text_version!r} for {purpose}", "text_version")
        else:
            stale = _superseded_problem(session, ctx, version)
            if stale is not None:
                problems.add(stale, "text_version")
    elif info is not None:
        version = ctx.current_for(purpose, lang)
    collection_point = _collection_point(collection_point, "collection_point", problems)
    problems.raise_if_any()
    assert who is not None and version is not None
    latest = _latest(session, who.ref, [purpose]).get(purpose)
    now = clock.now()
    if (
        latest is not None
        and rules.effective_status(latest, now, _campaigns(session, [purpose])) is Status.granted
    ):
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        OptIn(
            id=uuid.uuid4().hex,
            token_hash=_token_hash(token),
            subject=who.ref,
            purpose=purpose,
            text_version_id=version.id,
            language=lang,
            email_sealed=crypto.seal(who.parsed.value),
            collection_point=collection_point,
            ip=rules.truncate_ip(ip),
            user_agent=rules.clip_user_agent(user_agent),
            created_at=now,
            expires_at=now + OPT_IN_LIFETIME,
        )
    )
    return mail.queue(
        session,
        to=who.parsed.value,
        template="consent_confirm",
        lang=lang,
        context={
            "organisation": ctx.register.organisation.name,
            "purpose_name": version.content.get("name"),
            "text": version.content.get("text"),
            "withdraw": version.content.get("withdraw"),
            "confirm_url": public_url("confirm", lang, token),
            "hours": int(OPT_IN_LIFETIME.total_seconds() // 3600),
        },
        category="consent.confirm",
    )


@dataclass(frozen=True)
class OptInView:
    purpose: str
    purpose_name: str
    language: str
    text: str
    confirmed: bool
    expired: bool


def _find_optin(session: Session, token: str) -> OptIn:
    if not token or len(token) > 200:
        raise InvalidInput(Problem("the confirmation link is not complete", path="token"))
    row = session.execute(
        select(OptIn).where(OptIn.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("the confirmation link is unknown or has been used up")
    return row


def optin_view(session: Session, token: str) -> OptInView:
    row = _find_optin(session, token)
    version = get_text(session, row.text_version_id)
    content = version.content if version else {}
    return OptInView(
        row.purpose,
        str(content.get("name") or row.purpose),
        row.language,
        str(content.get("text") or ""),
        row.confirmed_at is not None,
        row.confirmed_at is None and clock.now() >= row.expires_at,
    )


def confirm(
    session: Session, token: str, *, ip: str | None = None, user_agent: str | None = None
) -> RecordView | None:
    """Follow a double opt-in link: record the grant (method double_opt_in) once.

    Returns None when the link was already confirmed (nothing appended twice).
    """
    from datavern.dsr import crypto

    row = _find_optin(session, token)
    if row.confirmed_at is not None:
        return None
    now = clock.now()
    if now >= row.expires_at:
        raise InvalidInput(
            Problem("the confirmation link has expired: subscribe again", path="token")
        )
    version = get_text(session, row.text_version_id)
    assert version is not None
    if any(version.id in c.superseded for c in _campaigns(session, [version.purpose])):
        # Asked before a re-consent campaign replaced the text: a grant to it would not
        # count. The subscriber signs up again and confirms the current text.
        raise InvalidInput(
            Problem(
                f"the link is for text version {version.id}, which a re-consent campaign "
                "superseded: subscribe again",
                path="token",
            )
        )
    fields = RecordFields(
        id=uuid.uuid4().hex,
        subject=row.subject,
        purpose=row.purpose,
        decision=Decision.grant.value,
        text_version_id=version.id,
        text_hash=version.content_hash,
        method=Method.double_opt_in.value,
        collection_point=row.collection_point,
        at=now,
        ip=rules.truncate_ip(ip) or row.ip,
        user_agent=rules.clip_user_agent(user_agent) or row.user_agent,
        expires_at=None,
        language=version.language,
        recorded_by="double_opt_in",
    )
    rec = _append(session, fields)
    row.confirmed_at = now
    row.record_id = rec.id
    if row.email_sealed:
        address = crypto.unseal(row.email_sealed, "the subscriber's address")
        contact = session.get(ConsentContact, row.subject)
        if contact is None:
            session.add(
                ConsentContact(
                    subject=row.subject,
                    email_sealed=crypto.seal(address),
                    language=row.language,
                    created_at=now,
                )
            )
        else:
            contact.language = row.language
        row.email_sealed = None
    session.flush()
    return rec


def _unsubscribe_key() -> bytes:
    return _key("datavern consent unsubscribe v1")


def unsubscribe_token(subject_ref: str, purpose: str, lang: str = DEFAULT_LANG) -> str:
    """A signed, lasting token naming the subject (by reference) and the purpose."""
    return rules.sign_token(
        _unsubscribe_key(), "unsubscribe", {"s": subject_ref, "p": purpose, "l": lang}
    )


def read_unsubscribe_token(token: str) -> tuple[str, str, str]:
    try:
        payload = rules.verify_token(_unsubscribe_key(), "unsubscribe", token, clock.now())
    except rules.TokenError:
        raise InvalidInput(Problem("the unsubscribe link is not valid", path="token")) from None
    lang = payload.get("l", DEFAULT_LANG)
    return str(payload["s"]), str(payload["p"]), lang if lang in LANGUAGES else DEFAULT_LANG


def marketing_headers(
    subject: str, purpose: str, lang: str = DEFAULT_LANG, *, mailto: str | None = None
) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe (https and mailto) and RFC 8058 List-Unsubscribe-Post
    for one marketing mail to ``subject`` under ``purpose``."""
    who = subject_of(subject)
    token = unsubscribe_token(who.ref, purpose, lang)
    links = [f"<{public_url('unsubscribe', lang, token)}>"]
    if mailto:
        links.append(f"<mailto:{mailto}?subject={quote('unsubscribe ' + token)}>")
    return {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe(
    session: Session, token: str, *, ip: str | None = None, user_agent: str | None = None
) -> RecordView | None:
    """One-click unsubscribe: record a withdrawal (method unsubscribe) unless the subject
    has already withdrawn or refused; returns None then (nothing appended twice)."""
    subject_ref, purpose, lang = read_unsubscribe_token(token)
    latest = _latest(session, subject_ref, [purpose]).get(purpose)
    if latest is not None and latest.decision in (Decision.withdraw.value, Decision.deny.value):
        return None
    version = None
    if latest is not None and latest.text_version_id:
        version = get_text(session, latest.text_version_id)
    if version is None:
        try:
            version = context(session).current_for(purpose, lang)
        except NotFound:
            version = None
    fields = RecordFields(
        id=uuid.uuid4().hex,
        subject=subject_ref,
        purpose=purpose,
        decision=Decision.withdraw.value,
        text_version_id=version.id if version else None,
        text_hash=version.content_hash if version else None,
        method=Method.unsubscribe.value,
        collection_point="e-mail",
        at=clock.now(),
        ip=rules.truncate_ip(ip),
        user_agent=rules.clip_user_agent(user_agent),
        expires_at=None,
        language=version.language if version else lang,
        recorded_by="unsubscribe",
    )
    return _append(session, fields)


def unsubscribe_purpose_name(session: Session, token: str) -> tuple[str, str]:
    """The purpose's name for the unsubscribe page, and the page language."""
    _subject, purpose, lang = read_unsubscribe_token(token)
    try:
        version = context(session).current_for(purpose, lang)
    except NotFound:
        version = None
    return (str(version.content.get("name")) if version else purpose), lang


# --------------------------------------------------------------------------- #
# Re-consent
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class CampaignView:
    id: int
    purpose: str
    superseded: list[str]
    current: list[str]
    cutoff_date: date
    affected: int
    mailed: int
    created_at: datetime
    created_by: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "purpose": self.purpose,
            "superseded": self.superseded,
            "current": self.current,
            "cutoff_date": self.cutoff_date.isoformat(),
            "affected": self.affected,
            "mailed": self.mailed,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


def _cutoff_moment(day: date) -> datetime:
    """Old consents stop counting at the start of the cut-off day, Norwegian time."""
    return datetime.combine(day, time(0, 0), tzinfo=clock.OSLO).astimezone(UTC)


def start_reconsent(
    session: Session, purpose: str, cutoff: date, *, actor: str, mail: bool = True
) -> CampaignView:
    """Ask again: grants under older texts of ``purpose`` stop counting at ``cutoff``.

    Subjects with a grant under an older text and a known address get an e-mail
    with a link to consent to the current text (a double opt-in confirmation);
    banner visitors are asked again by the banner (the text version changed).
    """
    from datavern.dsr import crypto
    from datavern.notify import email as mailer

    ctx = context(session)
    problems = _Problems()
    _check_purpose(ctx, purpose, Decision.grant, problems, "purpose")
    today = clock.now().astimezone(clock.OSLO).date()
    if cutoff < today:
        problems.add(f"the cut-off date {cutoff.isoformat()} is in the past", "cutoff")
    problems.raise_if_any()
    versions = list_texts(session, purpose)
    current_ids = {v.id for k, v in ctx.current.items() if k[0] == purpose}
    superseded = sorted(v.id for v in versions if v.id not in current_ids)
    if not superseded:
        raise InvalidInput(
            Problem(
                f"{purpose} has only its current text: nothing to ask again (change the text in "
                "the register and apply it first)",
                path="purpose",
            )
        )
    now = clock.now()
    campaign = ReconsentCampaign(
        purpose=purpose,
        superseded=superseded,
        current=sorted(current_ids),
        cutoff_date=cutoff,
        cutoff=_cutoff_moment(cutoff),
        created_by=actor,
        created_at=now,
        mailed=0,
    )
    session.add(campaign)
    session.flush()
    affected_rows = list(
        session.execute(
            select(ConsentState.subject, ConsentState.text_version_id).where(
                ConsentState.purpose == purpose,
                ConsentState.decision == Decision.grant.value,
                ConsentState.text_version_id.in_(superseded),
            )
        )
    )
    mailed = 0
    if mail:
        org = ctx.register.organisation
        for subject_ref, _old in affected_rows:
            contact = session.get(ConsentContact, subject_ref)
            if contact is None:
                continue
            lang = contact.language if contact.language in LANGUAGES else ctx.languages[0]
            version = ctx.current_for(purpose, lang)
            if version is None:
                continue
            token = secrets.token_urlsafe(32)
            session.add(
                OptIn(
                    id=uuid.uuid4().hex,
                    token_hash=_token_hash(token),
                    subject=subject_ref,
                    purpose=purpose,
                    text_version_id=version.id,
                    language=lang,
                    email_sealed=None,
                    collection_point="re-consent e-mail",
                    created_at=now,
                    # The link works until 30 days after the cut-off: a late "yes" is
                    # still a fresh consent to the current text.
                    expires_at=max(campaign.cutoff, now) + RECONSENT_LINK_GRACE,
                )
            )
            address = crypto.unseal(contact.email_sealed, "a subscriber's address")
            mailer.queue(
                session,
                to=address,
                template="consent_reconsent",
                lang=lang,
                context={
                    "organisation": org.name,
                    "purpose_name": version.content.get("name"),
                    "text": version.content.get("text"),
                    "withdraw": version.content.get("withdraw"),
                    "confirm_url": public_url("confirm", lang, token),
                    "cutoff": cutoff,
                    "cutoff_text": _date_text(cutoff, lang),
                },
                headers=marketing_headers(subject_ref, purpose, lang, mailto=org.email),
                category="consent.reconsent",
            )
            mailed += 1
    campaign.mailed = mailed
    audit.record(
        session,
        "consent.reconsent",
        f"consent_purpose:{purpose}",
        {
            "campaign": campaign.id,
            "cutoff": cutoff.isoformat(),
            "superseded": superseded,
            "affected": len(affected_rows),
            "mailed": mailed,
        },
        actor=actor,
    )
    return CampaignView(
        campaign.id,
        purpose,
        superseded,
        sorted(current_ids),
        cutoff,
        len(affected_rows),
        mailed,
        now,
        actor,
    )


def _date_text(day: date, lang: str) -> str:
    from datavern.core.i18n import long_date

    return long_date(day, "en" if lang == "en" else "nb")


def campaign_affected(session: Session, campaign: ReconsentCampaign) -> int:
    """Subjects whose current decision is a grant under a text the campaign supersedes."""
    return int(
        session.execute(
            select(func.count()).where(
                ConsentState.purpose == campaign.purpose,
                ConsentState.decision == Decision.grant.value,
                ConsentState.text_version_id.in_(list(campaign.superseded)),
            )
        ).scalar_one()
    )


def list_campaigns(session: Session, purpose: str | None = None) -> list[ReconsentCampaign]:
    query = select(ReconsentCampaign).order_by(ReconsentCampaign.id.desc())
    if purpose:
        query = query.where(ReconsentCampaign.purpose == purpose)
    return list(session.execute(query).scalars())


# --------------------------------------------------------------------------- #
# Figures for the admin pages
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PurposeFigures:
    purpose: str
    granted: int
    refused: int  # denied, withdrawn or objected
    days: list[date]
    granted_series: list[int]
    refused_series: list[int]


def purpose_figures(session: Session, purpose: str, days: int = 90) -> PurposeFigures:
    """Current grants and refusals of a purpose, and both counted at the end of each of
    the last ``days`` days (Norwegian dates), replayed from the ledger."""
    now = clock.now()
    today = now.astimezone(clock.OSLO).date()
    first = today - timedelta(days=days - 1)
    campaigns = _campaigns(session, [purpose])
    latest: dict[str, tuple[str, datetime | None, str | None]] = {}
    series_days = [first + timedelta(days=i) for i in range(days)]
    granted_series: list[int] = []
    refused_series: list[int] = []

    def counts(at: datetime) -> tuple[int, int]:
        g = r = 0
        for decision, expires, version in latest.values():
            if decision == Decision.grant.value:
                live = (expires is None or at < expires) and not any(
                    at >= c.cutoff and version in c.superseded for c in campaigns
                )
                g += 1 if live else 0
            else:
                r += 1
        return g, r

    rows = session.execute(
        select(
            ConsentRecord.subject,
            ConsentRecord.decision,
            ConsentRecord.at,
            ConsentRecord.expires_at,
            ConsentRecord.text_version_id,
        )
        .where(ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.seq)
    )
    index = 0
    for subject, decision, at, expires, version in rows:
        day = at.astimezone(clock.OSLO).date()
        while index < len(series_days) and series_days[index] < day:
            end = _day_end(series_days[index])
            g, r = counts(min(end, now))
            granted_series.append(g)
            refused_series.append(r)
            index += 1
        latest[subject] = (decision, expires, version)
    while index < len(series_days):
        g, r = counts(min(_day_end(series_days[index]), now))
        granted_series.append(g)
        refused_series.append(r)
        index += 1
    granted, refused = counts(now)
    return PurposeFigures(purpose, granted, refused, series_days, granted_series, refused_series)


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=clock.OSLO).astimezone(UTC)


def subjects_count(session: Session) -> int:
    return int(
        session.execute(select(func.count(func.distinct(ConsentState.subject)))).scalar_one()
    )


def ledger_size(session: Session) -> int:
    head = session.get(ConsentHead, 1)
    return head.seq if head else 0


def purge_expired(session: Session) -> dict[str, int]:
    """Drop spent nonces past their expiry and unconfirmed opt-ins past theirs (with the
    sealed address they hold). The ledger is never purged here."""
    now = clock.now()
    nonces = session.execute(delete(UsedNonce).where(UsedNonce.expires_at < now))
    optins = session.execute(
        delete(OptIn).where(OptIn.confirmed_at.is_(None), OptIn.expires_at < now)
    )
    return {
        "nonces": int(getattr(nonces, "rowcount", 0) or 0),
        "optins": int(getattr(optins, "rowcount", 0) or 0),
    }
