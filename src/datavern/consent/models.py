"""Consent tables: text versions, the hash-chained ledger and its head, the current state
per subject and purpose, used banner nonces, double opt-in confirmations, re-consent
campaigns and the e-mail contacts re-consent mail goes to.

Text versions and ledger records are never changed or deleted: the ORM refuses it
(listeners at the bottom), and ``datavern audit verify`` detects it when done
behind the ORM's back. ``consent_state`` is derived from the ledger (the newest
record per subject and purpose) so that "may I?" is one indexed read;
verification replays the ledger and checks it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from datavern.core.db import Base, UTCDateTime
from datavern.core.errors import DatavernError

SEQ = BigInteger().with_variant(Integer, "sqlite")


class ConsentText(Base):
    """One version of a purpose's text in one language (id ``purpose/lang/n``)."""

    __tablename__ = "consent_texts"
    __table_args__ = (UniqueConstraint("purpose", "language", "number"),)

    id: Mapped[str] = mapped_column(String(250), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(200), index=True)
    language: Mapped[str] = mapped_column(String(5))
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # rules.text_content
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    register_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ConsentRecord(Base):
    """One decision in the ledger. Its hash covers every field and the previous hash."""

    __tablename__ = "consent_ledger"
    __table_args__ = (
        Index("ix_consent_ledger_subject_purpose", "subject", "purpose", "seq"),
        Index("ix_consent_ledger_purpose_at", "purpose", "at"),
    )

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))
    text_version_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    text_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    method: Mapped[str] = mapped_column(String(30))
    collection_point: Mapped[str | None] = mapped_column(String(500), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(50), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    language: Mapped[str | None] = mapped_column(String(5), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ConsentHead(Base):
    """The newest record, so that deleting records at the end is detected too."""

    __tablename__ = "consent_ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class ConsentState(Base):
    """The newest ledger record per subject and purpose (derived; checked by verify)."""

    __tablename__ = "consent_state"
    __table_args__ = (Index("ix_consent_state_purpose_decision", "purpose", "decision"),)

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(10))
    text_version_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    method: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class UsedNonce(Base):
    """A banner nonce that has been spent: a second post with it is a replay."""

    __tablename__ = "consent_used_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class OptIn(Base):
    """A pending double opt-in: the grant is recorded only when the link is followed.

    The link carries a random token; only its SHA-256 is stored. The subject is the
    keyed hash of the address; the address itself is kept only sealed, until the
    link is followed (then it moves to ``consent_contacts``) or the link expires.
    """

    __tablename__ = "consent_optins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    text_version_id: Mapped[str] = mapped_column(String(250))
    language: Mapped[str] = mapped_column(String(5))
    # Sealed (encrypted) address, moved to consent_contacts on confirmation and
    # dropped with the row when it expires unconfirmed.
    email_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    collection_point: Mapped[str | None] = mapped_column(String(500), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(50), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ReconsentCampaign(Base):
    """Grants under ``superseded`` text versions of ``purpose`` stop counting at ``cutoff``."""

    __tablename__ = "consent_reconsent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(200), index=True)
    superseded: Mapped[list[str]] = mapped_column(JSON)
    current: Mapped[list[str]] = mapped_column(JSON)
    cutoff_date: Mapped[date] = mapped_column(Date)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    mailed: Mapped[int] = mapped_column(Integer, default=0)


class ConsentContact(Base):
    """The e-mail address of an e-mail subject, sealed (encrypted), for re-consent mail.

    Kept only for subjects who gave an address to receive mail (double opt-in); the
    ledger itself holds only the keyed hash. Deleting a contact leaves the ledger whole.
    """

    __tablename__ = "consent_contacts"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    email_sealed: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImmutableConsent(DatavernError):
    """Code tried to change or delete a consent text version or ledger record."""


@event.listens_for(ConsentText, "before_update")
@event.listens_for(ConsentRecord, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: Any) -> None:
    raise ImmutableConsent(f"{type(target).__name__} rows are append-only")


@event.listens_for(ConsentText, "before_delete")
@event.listens_for(ConsentRecord, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: Any) -> None:
    raise ImmutableConsent(f"{type(target).__name__} rows are append-only")
