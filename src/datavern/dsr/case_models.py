"""Tables of the privacy centre: cases (a subject's request as the company handles it),
their event log, manual tasks, and the verified requester's sessions.

A *case* is what the subject filed (privacy centre, API, or an agent on their
behalf) and what the company does about it: identity verification, the
deadline, the agent's decision, forwarding to a controller. When an agent
approves, the case starts a request of the DSR engine (``dsr_requests``,
models.py) and follows it to its end.

What is stored, and why (docs/privacy-centre.md, "What is kept"):

* The contact e-mail, the identities and the subject's own text (the proposed
  correction, the description) are personal data: sealed (Fernet, key derived
  from Datavern's secret key, see crypto.py) in ``sealed``. A keyed hash of the
  e-mail (``email_hash``) finds the subject's cases and drives the rate limit
  per identity without the address in the clear.
* The one-time code is kept only as an HMAC under a key derived from the secret
  key (``code_hash``); six digits hashed without a key could be reversed by
  trying all million of them.
* A subject session stores only a SHA-256 of its cookie value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavern.core.db import Base, UTCDateTime

# What a subject can ask for (GDPR art. 15-18, 20, 21 and 7(3)).
CASE_KINDS = (
    "access",  # art. 15
    "portable",  # art. 20
    "rectification",  # art. 16
    "erasure",  # art. 17
    "restriction",  # art. 18
    "objection",  # art. 21, direct marketing included
    "withdraw_consent",  # art. 7(3)
)
# Kinds the DSR engine carries out against the company's databases.
ENGINE_KINDS = ("access", "portable", "rectification", "erasure", "restriction")

CASE_STATUSES = (
    "unverified",  # waiting for the subject's code or login
    "locked",  # five wrong codes: an agent must look at it
    "verified",  # identity confirmed, waiting for an agent's decision
    "in_progress",  # approved: the engine runs or manual tasks are open
    "forwarded",  # sent to the controller (we are its processor); tracked until it answers
    "done",
    "denied",
    "failed",  # the engine failed; an agent can retry
)
OPEN_STATUSES = ("unverified", "locked", "verified", "in_progress", "forwarded", "failed")


class PrivacyCase(Base):
    __tablename__ = "dsr_cases"

    # 128 random bits in hex: the id is also the address of the subject's status page.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    lang: Mapped[str] = mapped_column(String(5))
    channel: Mapped[str] = mapped_column(String(20))  # web | api | agent
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    identity_types: Mapped[list[str]] = mapped_column(JSON)
    # Fernet token of {"email": ..., "identities": {...}, "correction": ..., "details": ...}.
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Objection / withdrawal: purpose or activity keys (never personal data).
    purposes: Mapped[list[str]] = mapped_column(JSON)
    controller_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The legal due date (deadlines.py: one month, moved past weekends and holidays);
    # after an extension the new one. ``deadline_months`` is 1, or 2-3 once extended.
    due_on: Mapped[date] = mapped_column(Date, index=True)
    deadline_months: Mapped[int] = mapped_column(Integer, default=1)
    extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verification_method: Mapped[str | None] = mapped_column(String(40), nullable=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    locked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(150), nullable=True, index=True)
    dsr_request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Reminders already sent ({days_before, on, due}): the task never sends one twice.
    reminders_sent: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    package_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))


class CaseEvent(Base):
    """What happened to a case, for the agent's page (audit entries carry the same facts)."""

    __tablename__ = "dsr_case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("dsr_cases.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(40))
    # Counts, reasons and names; never an identity value.
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class ManualTask(Base):
    """Work for a person: a system without a connector (an accounting SaaS, paper files)."""

    __tablename__ = "dsr_manual_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("dsr_cases.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))  # open | done
    assignee: Mapped[str | None] = mapped_column(String(150), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SubjectSession(Base):
    """A browser whose holder proved to own an e-mail address (code or OIDC login)."""

    __tablename__ = "dsr_subject_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
