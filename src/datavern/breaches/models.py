"""Tables of the breach register (art. 33(5)): breaches, their versions, the
notifications to Datatilsynet, messages to people, who was told, reminders sent.

What is stored, and why (docs/breaches.md, "What Datavern keeps"):

* A breach is described by categories and counts (which kinds of data, about
  which kinds of people, roughly how many), never by the people themselves.
* Every change is a new :class:`BreachVersion` holding the whole record as it
  then stood, so the staged information of art. 33(4) and every earlier state
  remain readable; ``breaches`` holds the newest values the list needs.
* A person told about a breach (art. 34) is recorded by a keyed hash of the
  channel and address (HMAC under a key derived from Datavern's secret key),
  never by the address: enough to prove that someone was told, to tell nobody
  twice, and to answer "was this address told?", without keeping a copy of the
  contact list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datavern.core.db import Base, UTCDateTime


class Breach(Base):
    __tablename__ = "breaches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    aware_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    risk_level: Mapped[str | None] = mapped_column(String(20), nullable=True)
    current_version: Mapped[int] = mapped_column(Integer)
    # The first notification to Datatilsynet; it stops the 72-hour clock.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    art34_exception: Mapped[str | None] = mapped_column(String(1), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BreachVersion(Base):
    """The whole record after one change (registration, staged update, assessment, ...)."""

    __tablename__ = "breach_versions"
    __table_args__ = (UniqueConstraint("breach_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    # registered | update | risk | exception
    kind: Mapped[str] = mapped_column(String(20))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {"level", "reasoning", "assessed_at", "assessed_by"} or NULL before assessment.
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # {"letter", "reasoning", "public_communication", "recorded_at", "recorded_by"}.
    exception: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    changed: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class BreachSubmission(Base):
    """A notification sent to Datatilsynet: the first one or a staged update (art. 33(4))."""

    __tablename__ = "breach_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))  # initial | update
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    late: Mapped[bool] = mapped_column(Boolean)
    delay_reasons: Mapped[str | None] = mapped_column(Text, nullable=True)
    # SHA-256 of the draft text of that version, so what was sent can be shown again.
    draft_hash: Mapped[str] = mapped_column(String(64))
    draft_lang: Mapped[str] = mapped_column(String(5))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))


class BreachMessage(Base):
    """One version of the message to the people affected, exactly as sent."""

    __tablename__ = "breach_messages"
    __table_args__ = (UniqueConstraint("breach_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    lang: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class BreachNoticeRun(Base):
    """One sending of a message to a selection of people."""

    __tablename__ = "breach_notice_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int] = mapped_column(Integer, ForeignKey("breach_messages.id"))
    channel: Mapped[str] = mapped_column(String(10))
    lang: Mapped[str] = mapped_column(String(5))
    # The selection with quoted text values replaced by '…' (they may name a person).
    selection: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(400))  # dataset.collection
    state: Mapped[str] = mapped_column(String(20))  # running | done | failed
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))


class BreachNotice(Base):
    """One person told (or an attempt that failed), by reference only."""

    __tablename__ = "breach_notices"
    __table_args__ = (UniqueConstraint("breach_id", "recipient_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("breach_notice_runs.id"), index=True)
    message_id: Mapped[int] = mapped_column(Integer, ForeignKey("breach_messages.id"))
    channel: Mapped[str] = mapped_column(String(10))
    # HMAC-SHA256 of "channel\0normalised address" (see breaches/service.py).
    recipient_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(20))  # sent | failed
    # The sender's reference for the message (e.g. the outbox id), never the address.
    delivery_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BreachReminder(Base):
    """A reminder about the 72-hour deadline, sent once per breach and threshold."""

    __tablename__ = "breach_reminders"
    __table_args__ = (UniqueConstraint("breach_id", "threshold"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("breaches.id", ondelete="CASCADE"), index=True
    )
    threshold: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
