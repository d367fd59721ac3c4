"""Tables of data-subject requests: requests, their steps, deferred erasures, restrictions.

What is stored, and why (docs/dsr.md, "What Datavern keeps about a request"):

* Identity values are personal data. A request keeps them encrypted
  (``identities``, a Fernet token under a key derived from Datavern's secret
  key) only while the request may still need them; they are wiped when the
  request is done. Only the identity *types* are kept in the clear.
* A step's result (``result``) holds counts, field names and decisions, never a
  value. The row keys and the values that lead to the next collection (join
  values, which may be e-mail addresses) are kept encrypted in ``data`` so that
  an interrupted request resumes without reading anything twice.
* Deferred erasures keep the held row's key, encrypted, until they have run.
* A restriction is found by a keyed hash of the identity, never by its value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datavern.core.db import Base, UTCDateTime

REQUEST_KINDS = (
    "access",
    "portable",
    "erasure",
    "rectification",
    "restriction",
    "lift_restriction",
)
REQUEST_STATES = ("pending", "running", "done", "failed", "partial")
STEP_ACTIONS = ("retrieve", "mask", "delete", "update", "flag", "verify", "export")
STEP_STATES = ("pending", "running", "done", "failed")


class DataSubjectRequest(Base):
    __tablename__ = "dsr_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    register_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    identity_types: Mapped[list[str]] = mapped_column(JSON)
    # Fernet token of {"email": ["..."], ...}; NULL once the request is done.
    identities: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Plain options (output path, language, ...): never personal data.
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Fernet token of options that are personal data (the new values of a rectification).
    secret_options: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Which process runs the request now ("host:pid"), and until when that claim holds.
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DsrStep(Base):
    __tablename__ = "dsr_steps"
    __table_args__ = (UniqueConstraint("request_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("dsr_requests.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    dataset: Mapped[str] = mapped_column(String(200))
    collection: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    depends_on: Mapped[list[int]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Fernet token: row keys and join values found by a retrieve step.
    data: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def key(self) -> str:
        return f"{self.dataset}.{self.collection}"


class DeferredErasure(Base):
    """Held fields of one row, erased on ``due_on`` by ``datavern dsr run-due``."""

    __tablename__ = "dsr_deferred_erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("dsr_requests.id", ondelete="SET NULL"), nullable=True, index=True
    )
    dataset: Mapped[str] = mapped_column(String(200))
    collection: Mapped[str] = mapped_column(String(200))
    # Fernet token of the row key ({"id": 7}); NULL once erased.
    row_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A keyed hash of the row key: the same held row is scheduled once per hold.
    key_hash: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list[str]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(20))  # "mask" or "delete_row"
    hold: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Restriction(Base):
    """Art. 18: processing of a subject restricted (storage only) until lifted."""

    __tablename__ = "dsr_restrictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_type: Mapped[str] = mapped_column(String(100))
    # HMAC-SHA256 of "type\0value" under a key derived from Datavern's secret key.
    identity_hash: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("dsr_requests.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lifted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lift_request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
