"""The Celery application of ``DATAVERN_JOBS=celery`` (DESIGN: Jobs).

Configured from the environment (read here rather than in core/config.py's
Settings, which only chooses the runner):

* ``DATAVERN_BROKER_URL``: the broker, default ``redis://127.0.0.1:6379/0``.
* ``DATAVERN_QUEUE``: the queue the runner sends to and ``datavern worker``
  consumes, default ``datavern`` (tests use one of their own).
* ``DATAVERN_BROKER_VISIBILITY_TIMEOUT``: seconds after which Redis hands an
  unacknowledged message to another worker (default one hour). A worker that is
  killed outright never acknowledges its task, so it comes back after this
  time; the sweeper (celery_runner.sweep) usually brings the request back sooner.

No result backend: all job state lives in Datavern's database, and a task is a
plain call with ids. Tasks are acknowledged late (after they ran) and rejected
when their worker process is lost, so a task killed mid-way is delivered again;
each worker takes one task at a time (prefetch 1) so a long step does not hold
others back. JSON only: nothing is pickled.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "datavern"
DEFAULT_VISIBILITY_TIMEOUT = 3600


def broker_url() -> str:
    return os.environ.get("DATAVERN_BROKER_URL") or DEFAULT_BROKER


def queue_name() -> str:
    return os.environ.get("DATAVERN_QUEUE") or DEFAULT_QUEUE


def _visibility_timeout() -> int:
    raw = os.environ.get("DATAVERN_BROKER_VISIBILITY_TIMEOUT", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_VISIBILITY_TIMEOUT


def make_app() -> Celery:
    """A Celery app for the current environment, with Datavern's tasks registered."""
    app = Celery("datavern", broker=broker_url(), set_as_current=False)
    queue = queue_name()
    app.conf.update(
        task_default_queue=queue,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": _visibility_timeout()},
        timezone="UTC",
        enable_utc=True,
    )
    from datavern.jobs import celery_runner

    celery_runner.register(app)
    app.conf.beat_schedule = beat_schedule()
    return app


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery beat runs the sweeper and every periodic task (``every``) on its interval.

    Daily tasks run every 24 hours from beat's start; for a fixed time of day in
    Norwegian time use ``datavern scheduler`` instead (jobs/scheduler.py), which
    may run alongside the workers: it runs the tasks itself.
    """
    from datavern.jobs.runner import registered

    # The sweeper (jobs.sweep) is one of the periodic tasks.
    schedule: dict[str, dict[str, Any]] = {}
    for name, item in sorted(registered().items()):
        if item.every is not None:
            schedule[name] = {
                "task": "datavern.task",
                "schedule": item.every.total_seconds(),
                "kwargs": {"name": name, "kwargs": {}},
            }
    return schedule


_apps: dict[tuple[str, str, int], Celery] = {}


def get_app() -> Celery:
    """The app for the current broker and queue (built once per combination)."""
    key = (broker_url(), queue_name(), _visibility_timeout())
    app = _apps.get(key)
    if app is None:
        app = _apps[key] = make_app()
    return app
