"""Tables of retention: legal holds, sweep runs and what each rule of a run has done.

What is stored, and why (docs/retention.md, "What Datavern keeps"):

* A subject hold is found by a keyed hash of the identity (as restrictions are,
  dsr/crypto.py). Its value is also kept encrypted while the hold is active,
  because a sweep must find the person's rows in every collection (by walking
  the datasets, as an erasure request does); it is wiped when the hold ends.
* Record-set holds keep their conditions as data (field, operator, value),
  never as SQL. A value may be personal data (a customer number): the hold list
  shows the conditions, the audit log names only the fields.
* A run keeps, per rule, the last primary key it finished (encrypted: a key can
  be personal, e.g. an e-mail address used as key) and the batch it was doing,
  so that a killed run continues where it stopped and does nothing twice.
* The report of a finished run is signed (HMAC-SHA256 with a key derived from
  Datavern's secret key); ``datavern retention report ID --verify`` checks it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datavern.core.db import Base, UTCDateTime

RUN_STATES = ("running", "done", "failed")
RULE_STATES = ("pending", "running", "done", "failed", "skipped")


class LegalHold(Base):
    __tablename__ = "retention_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))  # subject | records | collection
    kind: Mapped[str] = mapped_column(String(40))  # see rules.HOLD_KINDS
    collection: Mapped[str | None] = mapped_column(String(400), nullable=True)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    identity_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # HMAC-SHA256 of "type\0value" (dsr.crypto.identity_hash).
    identity_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # Fernet token of {"type": [value]}; NULL once the hold has ended.
    identity_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    authority: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SweepRun(Base):
    __tablename__ = "retention_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    register_version: Mapped[int] = mapped_column(Integer)
    # The Oslo date the cutoffs were computed for: a resumed run sweeps the same rows.
    today: Mapped[date] = mapped_column(Date)
    batch_size: Mapped[int] = mapped_column(Integer)
    only_rules: Mapped[list[str]] = mapped_column(JSON)  # empty: every rule
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resumed: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    signature: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)


class SweepRule(Base):
    """One rule of one run: its cutoff, progress and counts."""

    __tablename__ = "retention_run_rules"
    __table_args__ = (UniqueConstraint("run_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("retention_runs.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(200))
    collection: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    cutoff: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    batches: Mapped[int] = mapped_column(Integer, default=0)
    # Fernet tokens (typed JSON): the last primary key done, and the batch under way.
    last_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    pending: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at_start: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    anonymised: Mapped[int] = mapped_column(BigInteger, default=0)
    aggregated: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    holds: Mapped[list[int]] = mapped_column(JSON)
    max_batch_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
