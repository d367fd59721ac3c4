"""Job entry points of retention (DESIGN: tasks.py calls the service).

``retention.sweep`` is periodic (daily): ``datavern scheduler`` runs it at its
daily time in Norwegian time, together with ``dsr.run_due``. A sweep that was
interrupted is continued by the next call; a call while another process is
sweeping does nothing and says so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datavern.core.errors import NotFound
from datavern.jobs.runner import task
from datavern.retention import service


@task("retention.sweep", every=timedelta(days=1))
def sweep(actor: str = "scheduler") -> dict[str, Any]:
    """Sweep every retention rule of the applied register (or continue an unfinished sweep)."""
    from datavern.core.db import session_scope

    try:
        with session_scope() as session:
            _version, register = service.applied_register(session)
    except NotFound:
        return {"skipped": "no register has been applied"}
    if not register.retention_rules:
        return {"skipped": "the register has no retention_rules"}
    try:
        view = service.run(actor=actor, scheduled=True)
    except service.RunBusy as exc:
        return {"skipped": str(exc)}
    totals = (view.report or {}).get("totals", {})
    return {"run": view.id, "state": view.state, "totals": totals, "error": view.error}
