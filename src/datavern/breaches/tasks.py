"""Job entry points of the breach register (DESIGN: tasks.py calls the service).

``breach.remind`` is periodic: run every 15 minutes by ``datavern scheduler``
(or Celery beat), it e-mails the organisation and its DPO when a breach not yet
notified to Datatilsynet has 48, 24 or 6 hours left, and when the 72 hours
have passed. Each reminder is sent once, so running it often is safe; the
messages go through the outbox, which ``notify.deliver`` empties.

``breach.notify_subjects`` tells the people of one queued notice run (the admin
console queues it; ``DATAVERN_JOBS=inline`` runs it in the web process after the
response, ``celery`` on a worker). It selects the people again and skips everyone
already told, so it can be run again after a kill.
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


@task("breach.notify_subjects")
def notify_subjects(run_id: int, url: str | None = None) -> dict[str, Any]:
    """Tell the people a queued notice run selects (``subjects.queue_notice``); resumable:
    run again after a kill, or delivered twice, it tells nobody twice."""
    from datavern.breaches import subjects

    result = subjects.send_notice(run_id, url=url)
    return {
        "breach": result.breach_id,
        "run": run_id,
        "sent": result.sent,
        "failed": result.failed,
        "already_told": result.already,
    }
