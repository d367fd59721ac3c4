"""Job entry points of the e-mail sender (DESIGN: tasks.py calls the service)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datavern.core.db import session_scope
from datavern.jobs.runner import task
from datavern.notify import email, outbox


@task("notify.deliver", every=timedelta(minutes=5))
def deliver() -> dict[str, int]:
    """Send the messages waiting in the outbox (retries failed attempts)."""
    return email.deliver().as_json()


@task("notify.purge_outbox", every=timedelta(days=1))
def purge_outbox() -> dict[str, Any]:
    """Delete messages older than the outbox's retention period (they hold personal data)."""
    with session_scope() as session:
        return {"purged": outbox.purge(session)}
