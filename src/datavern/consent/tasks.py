"""Job entry points of the consent ledger (DESIGN: tasks.py calls the service)."""

from __future__ import annotations

from datetime import timedelta

from datavern.consent import service
from datavern.core.db import session_scope
from datavern.jobs.runner import task


@task("consent.purge_expired", every=timedelta(hours=6))
def purge_expired() -> dict[str, int]:
    """Forget spent banner nonces and unconfirmed opt-ins (with their sealed address) once
    they have expired. The ledger itself is never purged here."""
    with session_scope() as session:
        return service.purge_expired(session)
