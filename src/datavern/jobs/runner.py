"""The job runner: where background work runs (DESIGN: Jobs).

Work is named tasks (``dsr.run_request``, ``dsr.run_step``, ``dsr.run_due``)
registered by the features' ``tasks.py``. A caller hands a task to the runner
chosen by ``DATAVERN_JOBS``:

* ``inline`` (default): the task runs now, in the calling process, and
  ``enqueue`` returns its result.
* ``celery``: the task is sent to Celery workers (``datavern worker``; see
  jobs/celery_runner.py) and ``enqueue`` returns None. The interface is the
  same, so the callers do not change: every task takes only plain arguments
  (ids), and all state lives in Datavern's database, so a task that is
  delivered twice or after its worker died does nothing twice.

Periodic tasks (``every``) are what ``datavern scheduler`` (or Celery beat)
runs; :func:`run_periodic` runs each of them once, now.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from datavern.core.config import get_settings
from datavern.core.errors import DatavernError

# Modules whose import registers tasks; imported on first use of the runner.
TASK_MODULES = (
    "datavern.dsr.tasks",
    "datavern.dsr.reminders",
    "datavern.consent.tasks",
    "datavern.notify.tasks",
    "datavern.retention.tasks",
    "datavern.breaches.tasks",
    "datavern.jobs.celery_runner",
)

TaskFunction = Callable[..., Any]


@dataclass(frozen=True)
class Task:
    name: str
    function: TaskFunction
    every: timedelta | None = None


_tasks: dict[str, Task] = {}
_loaded = False


def task(name: str, *, every: timedelta | None = None) -> Callable[[TaskFunction], TaskFunction]:
    """Register ``function`` as the task ``name`` (``every``: also run it periodically)."""

    def register(function: TaskFunction) -> TaskFunction:
        _tasks[name] = Task(name, function, every)
        return function

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in TASK_MODULES:
            importlib.import_module(module)
        _loaded = True


def registered() -> dict[str, Task]:
    _load()
    return dict(_tasks)


class JobsUnavailable(DatavernError):
    exit_code = 2


class Runner(Protocol):
    name: str

    def enqueue(self, task: str, **kwargs: Any) -> Any:
        """Run or queue ``task``; inline runners return its result, queues None."""
        ...


class InlineRunner:
    """Runs each task at once in this process (``DATAVERN_JOBS=inline``)."""

    name = "inline"

    def enqueue(self, task: str, **kwargs: Any) -> Any:
        tasks = registered()
        if task not in tasks:
            raise JobsUnavailable(f"no task named {task!r}")
        return tasks[task].function(**kwargs)


def get_runner() -> Runner:
    mode = get_settings().jobs
    if mode == "inline":
        return InlineRunner()
    if mode == "celery":
        from datavern.jobs.celery_runner import CeleryRunner

        return CeleryRunner()
    raise JobsUnavailable(
        f"DATAVERN_JOBS={mode} is not available in this version; unset it (or set "
        "DATAVERN_JOBS=inline) to run requests in the calling process"
    )


def run_periodic() -> dict[str, Any]:
    """Run every periodic task once, now, inline; returns each task's result by name.

    This is one tick of ``datavern scheduler``: each periodic task decides itself
    what is due (e.g. deferred erasures whose hold has ended).
    """
    results: dict[str, Any] = {}
    for name, item in sorted(registered().items()):
        if item.every is not None:
            results[name] = item.function()
    return results
