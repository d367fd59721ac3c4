"""``DATAVERN_JOBS=celery``: request steps run as Celery tasks on ``datavern worker``.

How a request runs:

* :func:`submit` sends one ``datavern.step`` task for each step whose
  dependencies are done (at first: the steps that depend on nothing).
* A worker runs the step with ``dsr.service.run_step`` and then sends the steps
  that step unblocked. The last step finishes the request.
* Every task is safe to run twice. The engine claims the request with a lease
  (a row lock on PostgreSQL, a write transaction on SQLite) before it runs a
  step, so two workers never run steps of one request at the same time: the
  second is told the request is busy and retries a moment later, when it finds
  the step done (a no-op) or runs the next one. A step already done is never
  run again. So steps of different requests run in parallel on as many
  workers as there are; the steps of one request run one after another
  (the engine's lease is per request; see docs/dsr.md, "Distributed mode").
* A worker killed in a step (SIGKILL, power loss) leaves the step ``running``
  and its request leased to a dead process. The task was not acknowledged, so
  the broker delivers it again (at once when only the worker's child died;
  after the visibility timeout when the whole worker died); and
  :func:`sweep` (``datavern.sweep``, every minute from Celery beat or
  ``datavern scheduler``) sends again the ready steps of every request that has
  not moved for a lease period and whose lease is free. The step then runs
  again to the same end state (the engine's steps are idempotent).

Other tasks (``dsr.run_due``, ``notify.deliver``, ...) go to the workers as
``datavern.task`` with their name and plain arguments.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, Task
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from datavern.core import clock
from datavern.core.config import get_settings
from datavern.core.db import session_scope
from datavern.jobs.runner import task as periodic_task

log = logging.getLogger("datavern.jobs")

# How soon a step whose request is busy (another worker is in it) is tried again.
BUSY_RETRY_SECONDS = 0.5
BUSY_RETRY_MAX_SECONDS = 2.0


class CeleryRunner:
    """Sends tasks to the Celery workers (``DATAVERN_JOBS=celery``); returns None."""

    name = "celery"

    def enqueue(self, task: str, **kwargs: Any) -> Any:
        if task == "dsr.run_request":
            submit(kwargs["request_id"], actor=kwargs.get("actor", "jobs"))
            return None
        if task == "dsr.run_step":
            _send_step(kwargs["step_id"], kwargs.get("actor", "jobs"))
            return None
        from datavern.jobs.celery_app import get_app

        get_app().send_task("datavern.task", kwargs={"name": task, "kwargs": kwargs})
        return None


# --------------------------------------------------------------------------- #
# Which steps are ready
# --------------------------------------------------------------------------- #


def ready_steps(
    request_id: str, *, include_running: bool = False, after: int | None = None
) -> list[int]:
    """Ids of the request's steps that are not done and whose dependencies are done.

    With ``after`` (a step number), only the steps that depend on that step:
    the ones its completion unblocked (the others were queued already).

    Empty when the request is not waiting to run (done, failed or partial: a
    failed request is resumed by a person, ``datavern dsr resume``).
    """
    from datavern.dsr.models import DataSubjectRequest, DsrStep

    with session_scope() as session:
        request = session.get(DataSubjectRequest, request_id)
        if request is None or request.status not in ("pending", "running"):
            return []
        steps = list(
            session.execute(select(DsrStep).where(DsrStep.request_id == request_id)).scalars()
        )
    done = {s.number for s in steps if s.state == "done"}
    states = ("pending", "running") if include_running else ("pending",)
    return [
        s.id
        for s in sorted(steps, key=lambda s: s.number)
        if s.state in states
        and all(d in done for d in s.depends_on)
        and (after is None or after in s.depends_on)
    ]


def _send_step(step_id: int, actor: str, countdown: float | None = None) -> None:
    from datavern.jobs.celery_app import get_app

    get_app().send_task(
        "datavern.step", kwargs={"step_id": step_id, "actor": actor}, countdown=countdown
    )


def submit(request_id: str, *, actor: str = "jobs") -> list[int]:
    """Queue the request's ready steps; returns their ids.

    A request with no step left to run (all done) is finished by a single
    ``datavern.finish`` task.
    """
    ids = ready_steps(request_id, include_running=True)
    for step_id in ids:
        _send_step(step_id, actor)
    if not ids and _needs_finish(request_id):
        from datavern.jobs.celery_app import get_app

        get_app().send_task("datavern.finish", kwargs={"request_id": request_id, "actor": actor})
    return ids


def _needs_finish(request_id: str) -> bool:
    from datavern.dsr.models import DataSubjectRequest, DsrStep

    with session_scope() as session:
        request = session.get(DataSubjectRequest, request_id)
        if request is None or request.status not in ("pending", "running"):
            return False
        states = set(
            session.execute(select(DsrStep.state).where(DsrStep.request_id == request_id)).scalars()
        )
    return states <= {"done"}


# --------------------------------------------------------------------------- #
# What a worker does
# --------------------------------------------------------------------------- #


def run_step_task(step_id: int, actor: str) -> str:
    """Run one step, then queue what it unblocked; returns the request's status.

    Raises ``RequestBusy`` (the caller retries) when another worker holds the
    request; a step that is not ready yet is dropped: the step it waits for
    queues it when it is done.
    """
    from datavern.dsr import service
    from datavern.dsr.execute import StepNotReady
    from datavern.dsr.models import DsrStep

    with session_scope() as session:
        step = session.get(DsrStep, step_id)
        if step is None:
            return "gone"
        request_id, number = step.request_id, step.number
    claim(request_id)
    try:
        status = service.run_step(step_id, actor=actor)
    except StepNotReady:
        log.info("step %s is not ready yet; it is queued when its dependencies are done", step_id)
        return "waiting"
    finally:
        unclaim(request_id)
    if status in ("pending", "running"):
        for next_id in ready_steps(request_id, after=number):
            _send_step(next_id, actor)
    return status


def claim(request_id: str) -> None:
    """Take the request's lease for this process in one atomic compare-and-set.

    The engine checks the lease too, but reads it before it writes it; on
    SQLite two processes can both read it free. This UPDATE succeeds for one of
    them only (the lease still holds the owner it read); the other is told the
    request is busy and retries.
    """
    from datavern.dsr.execute import LEASE, RequestBusy, _lease_free, _owner
    from datavern.dsr.models import DataSubjectRequest

    now = clock.now()
    with session_scope() as session:
        request = session.get(DataSubjectRequest, request_id)
        if request is None or request.status not in ("pending", "running"):
            return  # the engine reports it (unknown, or nothing to do)
        seen = request.lease_owner
        if not _lease_free(request, now):
            raise RequestBusy(f"request {request_id} is being run by another worker")
        session.expunge(request)
        same = (
            DataSubjectRequest.lease_owner.is_(None)
            if seen is None
            else DataSubjectRequest.lease_owner == seen
        )
        taken = session.execute(
            update(DataSubjectRequest)
            .where(DataSubjectRequest.id == request_id, same)
            .values(lease_owner=_owner(), lease_until=now + LEASE)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise RequestBusy(f"request {request_id} is being run by another worker")


def unclaim(request_id: str) -> None:
    """Give the lease back if this process still holds it (the engine usually did)."""
    from datavern.dsr.execute import _owner
    from datavern.dsr.models import DataSubjectRequest

    with session_scope() as session:
        session.execute(
            update(DataSubjectRequest)
            .where(DataSubjectRequest.id == request_id, DataSubjectRequest.lease_owner == _owner())
            .values(lease_owner=None, lease_until=None)
        )


def _retry_delay(retries: int) -> float:
    return float(min(BUSY_RETRY_SECONDS * (2**retries), BUSY_RETRY_MAX_SECONDS))


def register(app: Celery) -> None:
    """Register Datavern's Celery tasks on ``app``."""
    from datavern.dsr.execute import RequestBusy

    @app.task(name="datavern.step", bind=True, max_retries=None)  # type: ignore[untyped-decorator]
    def step(self: Task, step_id: int, actor: str = "jobs") -> str:
        try:
            return run_step_task(step_id, actor)
        except (RequestBusy, OperationalError) as exc:
            # Another worker is in the request (or SQLite's writer lock is
            # taken): try again shortly; nothing was changed.
            raise self.retry(countdown=_retry_delay(self.request.retries), exc=exc) from None

    @app.task(name="datavern.finish", bind=True, max_retries=None)  # type: ignore[untyped-decorator]
    def finish(self: Task, request_id: str, actor: str = "jobs") -> str:
        from datavern.dsr import service

        try:
            claim(request_id)
            try:
                return service.run_request(request_id, actor=actor)
            finally:
                unclaim(request_id)
        except (RequestBusy, OperationalError) as exc:
            raise self.retry(countdown=_retry_delay(self.request.retries), exc=exc) from None

    @app.task(name="datavern.task")  # type: ignore[untyped-decorator]
    def generic(name: str, kwargs: dict[str, Any]) -> Any:
        from datavern.jobs.runner import InlineRunner

        return InlineRunner().enqueue(name, **kwargs)

    @app.task(name="datavern.sweep")  # type: ignore[untyped-decorator]
    def sweeper() -> list[str]:
        swept: list[str] = sweep()
        return swept

    del step, finish, generic, sweeper


# --------------------------------------------------------------------------- #
# The sweeper
# --------------------------------------------------------------------------- #


def _stale_after() -> timedelta:
    from datavern.dsr.execute import LEASE

    return LEASE


def _latest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


@periodic_task("jobs.sweep", every=timedelta(minutes=1))
def sweep(stale_after: timedelta | None = None) -> list[str]:
    """Queue again the ready steps of requests that stopped moving; returns their ids.

    A request is swept when it is pending or running, nothing happened in it for
    ``stale_after`` (default: the engine's lease, five minutes), and its lease
    is free (expired, or held by a dead process on this host: a killed worker).
    Sending a step that is already queued is harmless: it runs once, and the
    copy finds it done. Does nothing unless ``DATAVERN_JOBS=celery``.
    """
    if get_settings().jobs != "celery":
        return []
    from datavern.dsr.execute import _lease_free
    from datavern.dsr.models import DataSubjectRequest, DsrStep

    limit = stale_after if stale_after is not None else _stale_after()
    now = clock.now()
    stale: list[str] = []
    with session_scope() as session:
        requests = list(
            session.execute(
                select(DataSubjectRequest).where(
                    DataSubjectRequest.status.in_(("pending", "running"))
                )
            ).scalars()
        )
        for request in requests:
            moments = session.execute(
                select(DsrStep.started_at, DsrStep.finished_at).where(
                    DsrStep.request_id == request.id
                )
            ).all()
            last = _latest(
                request.created_at,
                request.started_at,
                *(m for row in moments for m in row),
            )
            if last is not None and now - last < limit:
                continue
            if _lease_free(request, now):
                stale.append(request.id)
    for request_id in stale:
        log.info("request %s stopped moving; its ready steps are queued again", request_id)
        submit(request_id, actor="sweeper")
    return stale


# --------------------------------------------------------------------------- #
# Test hook
# --------------------------------------------------------------------------- #


def install_test_delay() -> None:
    """With ``DATAVERN_TEST_STEP_DELAY=SECONDS`` (tests only), pause in each write step.

    The pause comes after the step wrote to the company's database and before
    it is marked done, on its first attempt: the worst moment for a kill.
    """
    raw = os.environ.get("DATAVERN_TEST_STEP_DELAY", "")
    try:
        delay = float(raw)
    except ValueError:
        return
    if delay <= 0:
        return
    from datavern.dsr import execute

    def pause(when: str, info: execute.StepInfo) -> None:
        if when == "written" and info.attempt == 1 and info.action not in execute.READ_ONLY_ACTIONS:
            time.sleep(delay)

    execute.set_fault_hook(pause)
