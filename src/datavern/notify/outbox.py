"""Reading and purging the outbox (the messages themselves are written by notify.email).

The outbox is where mail waits (``pending``), where it stays when no SMTP host is
configured (``kept``: the embedded default, shown on the admin page "Utgående
e-post / Outbox"), and where a record of what was sent remains (``sent``,
``failed``) until it is purged. Messages carry personal data (address and
text), so they are kept no longer than ``RETENTION`` (notify/tasks.py purges).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from datavern.core import clock
from datavern.notify.models import OutboxMessage

STATUSES = ("kept", "pending", "sent", "failed")
RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class OutboxPage:
    messages: list[OutboxMessage]
    counts: dict[str, int]


def list_messages(session: Session, *, status: str | None = None, limit: int = 100) -> OutboxPage:
    """The newest messages (optionally of one status) and the count per status."""
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit)
    if status in STATUSES:
        query = query.where(OutboxMessage.status == status)
    counts = dict.fromkeys(STATUSES, 0)
    for name, count in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[name] = int(count)
    return OutboxPage(list(session.execute(query).scalars()), counts)


def get_message(session: Session, message_id: str) -> OutboxMessage | None:
    if len(message_id) > 32:
        return None
    return session.get(OutboxMessage, message_id)


def purge(session: Session, older_than: timedelta = RETENTION) -> int:
    """Delete sent, failed and kept messages older than ``older_than``; returns how many."""
    cutoff = clock.now() - older_than
    result = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.created_at < cutoff, OutboxMessage.status != "pending"
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
