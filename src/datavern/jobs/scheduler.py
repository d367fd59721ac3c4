"""`datavern scheduler`: runs the periodic tasks (DESIGN: Jobs) without Celery beat.

Every task registered with ``every`` (jobs/runner.py) runs on its own schedule:

* a task repeated daily or less often (``retention.sweep``, ``notify.purge_outbox``)
  runs once a day at ``--at`` (03:00 by default) in Norwegian time, whatever the
  server's zone: the sweep's "today" is an Oslo day, and 03:00 is quiet in Norway;
* a task repeated more often (``dsr.run_due`` every hour, ``notify.deliver`` every
  five minutes) runs when the scheduler starts and then at its interval.

Norwegian time has two awkward days a year. On the last Sunday of March the
clock jumps from 02:00 to 03:00: a time in the gap (02:30) runs an hour later,
at 03:30. On the last Sunday of October 02:00-03:00 comes twice: the task runs
at the first, once.

``--once`` runs every periodic task (or those named with ``--task``) once, now,
and exits: for cron or systemd timers instead of the loop. The scheduler keeps
no state of its own: every task decides from the database what is due, so a
task that runs twice, or a scheduler restarted, does nothing twice.
"""

from __future__ import annotations

import json
import logging
import signal
import time as _time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from types import FrameType
from typing import Any

import typer

from datavern.core import clock
from datavern.core.clock import OSLO
from datavern.core.errors import DatavernError

log = logging.getLogger("datavern.scheduler")

DAILY = timedelta(days=1)
DEFAULT_AT = time(3, 0)
MAX_SLEEP = 60.0


def next_daily(now: datetime, at: time) -> datetime:
    """The next moment (UTC) after ``now`` when the Oslo wall clock shows ``at``.

    A time that does not exist that day (spring forward) is read with the offset
    before the change, i.e. an hour later; a time that occurs twice (autumn) is
    taken the first time.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local_day = now.astimezone(OSLO).date()
    for offset in range(3):
        day = local_day + timedelta(days=offset)
        candidate = datetime.combine(day, at).replace(tzinfo=OSLO, fold=0).astimezone(UTC)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a daily time always comes within two days")


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    function: Callable[[], Any]

    @property
    def daily(self) -> bool:
        return self.every >= DAILY


def first_runs(jobs: Iterable[Job], now: datetime, at: time) -> dict[str, datetime]:
    """When each job first runs: daily ones at the next ``at`` in Oslo, others at once."""
    return {job.name: next_daily(now, at) if job.daily else now for job in jobs}


def following_run(job: Job, ran: datetime, now: datetime, at: time) -> datetime:
    """When ``job`` runs next after a run planned for ``ran`` (missed runs are not repeated)."""
    if job.daily:
        return next_daily(max(ran, now), at)
    upcoming = ran + job.every
    while upcoming <= now:
        upcoming += job.every
    return upcoming


def periodic_jobs(names: Iterable[str] = ()) -> list[Job]:
    """The registered periodic tasks (all, or those named); unknown names are refused."""
    from datavern.jobs.runner import registered

    tasks = {n: t for n, t in registered().items() if t.every is not None}
    wanted = list(names)
    unknown = [n for n in wanted if n not in tasks]
    if unknown:
        raise DatavernError(
            f"no periodic task {', '.join(map(repr, unknown))}; the periodic tasks are: "
            f"{', '.join(sorted(tasks))}"
        )
    chosen = wanted or sorted(tasks)
    return [Job(n, tasks[n].every or DAILY, tasks[n].function) for n in chosen]


def run_job(job: Job) -> dict[str, Any]:
    """Run one job; its failure is reported, not raised (the other jobs still run)."""
    started = _time.perf_counter()
    try:
        result = job.function()
        ok = True
    except DatavernError as exc:
        result, ok = {"error": str(exc)}, False
    except Exception as exc:  # a fault in a task must not stop the scheduler
        # Only the type: the text of a database error can quote a value.
        result, ok = {"error": f"internal error ({type(exc).__name__})"}, False
        log.error("task %s failed with %s", job.name, type(exc).__name__)
    return {
        "task": job.name,
        "ok": ok,
        "seconds": round(_time.perf_counter() - started, 3),
        "result": result,
    }


def run_once(jobs: Iterable[Job]) -> list[dict[str, Any]]:
    return [run_job(job) for job in jobs]


def loop(
    jobs: list[Job],
    at: time,
    *,
    report: Callable[[Mapping[str, Any]], None],
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = _time.sleep,
) -> None:
    """Run ``jobs`` on their schedules until ``stop()`` is true."""
    by_name = {job.name: job for job in jobs}
    due = first_runs(jobs, clock.now(), at)
    while not stop():
        now = clock.now()
        name, when = min(due.items(), key=lambda item: (item[1], item[0]))
        if when > now:
            sleep(min((when - now).total_seconds(), MAX_SLEEP))
            continue
        job = by_name[name]
        outcome = run_job(job)
        due[name] = following_run(job, when, clock.now(), at)
        report({**outcome, "next": due[name].isoformat()})


def _parse_at(value: str) -> time:
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter("write the time as HH:MM, e.g. 03:00") from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def scheduler(
    once: bool = typer.Option(
        False, "--once", help="Run the periodic tasks once now and exit (for cron)."
    ),
    at: str = typer.Option(
        "03:00", "--at", help="Daily time (Norwegian time) for daily tasks such as sweeps."
    ),
    task: list[str] = typer.Option(
        [], "--task", "-t", help="Only this periodic task (repeatable), e.g. retention.sweep."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line per task run."),
) -> None:
    """Run periodic work: retention sweeps and deferred erasures daily, deliveries often.

    Daily tasks run at --at in Europe/Oslo; shorter ones at their interval. With
    --once, every task runs once now (use cron or a systemd timer for the timing).
    """
    from datavern.cli.common import console, ensure_database, err_console

    daily_at = _parse_at(at)
    try:
        ensure_database()
        jobs = periodic_jobs(task)
    except DatavernError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None

    def show(outcome: Mapping[str, Any]) -> None:
        if as_json:
            typer.echo(json.dumps(outcome, ensure_ascii=False, default=str))
            return
        mark = "[green]ok[/]" if outcome["ok"] else "[red]failed[/]"
        text = json.dumps(outcome["result"], ensure_ascii=False, default=str)
        nxt = f"; next {outcome['next']}" if "next" in outcome else ""
        console.print(
            f"{outcome['task']}: {mark} in {outcome['seconds']} s {text}{nxt}",
            highlight=False,
            soft_wrap=True,
        )

    if once:
        outcomes = run_once(jobs)
        for outcome in outcomes:
            show(outcome)
        if not all(o["ok"] for o in outcomes):
            raise typer.Exit(1)
        return
    stopping = {"now": False}

    def stop_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop_signal)
    signal.signal(signal.SIGINT, stop_signal)
    first = first_runs(jobs, clock.now(), daily_at)
    for name, when in sorted(first.items(), key=lambda item: item[1]):
        local = when.astimezone(OSLO).strftime("%Y-%m-%d %H:%M %Z")
        console.print(f"{name}: first run {local}", highlight=False)
    loop(jobs, daily_at, report=show, stop=lambda: stopping["now"])


if __name__ == "__main__":  # `python -m datavern.jobs.scheduler` (tests run it as a process)
    from datavern.cli.common import run_app

    standalone = typer.Typer()
    standalone.command()(scheduler)
    run_app(standalone)
