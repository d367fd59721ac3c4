"""The outbox: every e-mail Datavern sends or keeps.

With no SMTP host configured (the embedded default) a message stays here with
status ``kept`` and the admin console shows it; with a host, it is ``pending``
until delivered (``sent``) or given up (``failed``). Messages hold personal data
(the address, the text): they are purged after a retention period (notify/tasks.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavern.core.db import Base, UTCDateTime


class OutboxMessage(Base):
    __tablename__ = "notify_outbox"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(100), index=True)
    template: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(5))
    to_addr: Mapped[str] = mapped_column(Text)
    from_addr: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
