"""Job entry points of data-subject requests (DESIGN: tasks.py calls the service).

Each task takes only ids and names, so the same call works inline and on a
Celery worker; all state is in Datavern's database (see jobs/runner.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datavern.dsr import service
from datavern.jobs.runner import get_runner, task


@task("dsr.run_request")
def run_request(request_id: str, actor: str = "jobs") -> str:
    """Run or resume a request to its end; returns its status."""
    return service.run_request(request_id, actor=actor)


@task("dsr.run_step")
def run_step(step_id: int, actor: str = "jobs") -> str:
    """Run one step whose dependencies are done (a distributed runner's unit of work)."""
    return service.run_step(step_id, actor=actor)


@task("dsr.run_due", every=timedelta(hours=1))
def run_due(actor: str = "scheduler") -> dict[str, Any]:
    """Erase held fields whose legal hold has ended."""
    return service.run_due(actor=actor).as_json()


def submit(request_id: str, *, actor: str) -> Any:
    """Hand a request to the configured runner (inline: runs it now and returns its status)."""
    return get_runner().enqueue("dsr.run_request", request_id=request_id, actor=actor)
