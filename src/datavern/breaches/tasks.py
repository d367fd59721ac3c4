"""Job entry points of the breach register (DESIGN: tasks.py calls the service).

``breach.remind`` is periodic: run every 15 minutes by ``datavern scheduler``
(or Celery beat), it e-mails the organisation and its DPO when a breach not yet
notified to Datatilsynet has 48, 24 or 6 hours left, and when the 72 hours
have passed. Each reminder is sent once, so running it often is safe; the
messages go through the outbox, which ``notify.deliver`` empties.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datavern.breaches import service
from datavern.core.db import session_scope
from datavern.jobs.runner import task


@task("breach.remind", every=timedelta(minutes=15))
def remind(actor: str = "scheduler") -> dict[str, Any]:
    """Queue the reminders that are due about the 72-hour deadline."""
    with session_scope() as session:
        results = service.send_reminders(session, actor=actor)
    return {
        "sent": [{"breach": r.breach_id, "threshold": r.threshold} for r in results if r.sent],
        "problems": [{"breach": r.breach_id, "problem": r.problem} for r in results if not r.sent],
    }
