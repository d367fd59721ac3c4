"""The scheduler's timetable: daily work at an Oslo time, across summer time (jobs/scheduler.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datavern.core import clock
from datavern.core.clock import OSLO
from datavern.jobs.scheduler import Job, first_runs, following_run, loop, next_daily, run_job


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


def test_the_daily_time_is_norwegian_time() -> None:
    # Winter (UTC+1) and summer (UTC+2): 03:00 in Oslo is 02:00 and 01:00 UTC.
    assert next_daily(datetime(2026, 1, 10, 12, tzinfo=UTC), time(3)) == datetime(
        2026, 1, 11, 2, tzinfo=UTC
    )
    assert next_daily(datetime(2026, 7, 10, 0, 30, tzinfo=UTC), time(3)) == datetime(
        2026, 7, 10, 1, tzinfo=UTC
    )


def test_a_time_in_the_spring_gap_runs_an_hour_later() -> None:
    # 29 March 2026: 02:00 becomes 03:00; 02:30 does not exist, the run is at 03:30.
    run = next_daily(datetime(2026, 3, 28, 12, tzinfo=UTC), time(2, 30))
    assert run.astimezone(OSLO).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)


def test_a_time_that_comes_twice_in_autumn_runs_once() -> None:
    # 25 October 2026: 02:00-03:00 comes twice; the run is at the first 02:30.
    first = next_daily(datetime(2026, 10, 24, 12, tzinfo=UTC), time(2, 30))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = next_daily(first, time(2, 30))
    assert second.astimezone(OSLO).date().isoformat() == "2026-10-26"


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_the_next_run_is_within_a_day_and_a_bit(moment: datetime, at: time) -> None:
    now = moment.replace(tzinfo=UTC)
    run = next_daily(now, at)
    assert now < run <= now + timedelta(hours=26)
    local = run.astimezone(OSLO)
    # The wall clock shows the time asked for, or an hour later in the spring gap.
    assert (local.hour, local.minute) in ((at.hour, at.minute), ((at.hour + 1) % 24, at.minute))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        next_daily(datetime(2026, 1, 1), time(3))


def job(name: str, every: timedelta, calls: list[str]) -> Job:
    return Job(name, every, lambda: calls.append(name) or {"n": len(calls)})


def test_daily_jobs_wait_for_their_time_and_frequent_ones_start_at_once() -> None:
    calls: list[str] = []
    now = oslo(2026, 6, 1, 12, 0).astimezone(UTC)
    jobs = [job("sweep", timedelta(days=1), calls), job("due", timedelta(hours=1), calls)]
    runs = first_runs(jobs, now, time(3))
    assert runs["due"] == now
    assert runs["sweep"] == oslo(2026, 6, 2, 3, 0).astimezone(UTC)
    assert following_run(jobs[1], now, now + timedelta(minutes=5), time(3)) == now + timedelta(
        hours=1
    )
    # Missed runs are not repeated: after a long pause the next run is in the future.
    later = now + timedelta(hours=5, minutes=30)
    assert following_run(jobs[1], now, later, time(3)) == now + timedelta(hours=6)


@pytest.fixture
def fake_clock() -> Iterator[clock.FixedClock]:
    fixed = clock.FixedClock(oslo(2026, 6, 1, 23, 0).astimezone(UTC))
    previous = clock.use_clock(fixed)
    yield fixed
    clock.use_clock(previous)


def test_the_loop_runs_each_job_on_its_schedule(fake_clock: clock.FixedClock) -> None:
    calls: list[str] = []
    jobs = [job("sweep", timedelta(days=1), calls), job("due", timedelta(hours=1), calls)]
    reports: list[dict[str, Any]] = []
    end = fake_clock.now() + timedelta(days=2)

    def sleep(seconds: float) -> None:
        fake_clock.set(fake_clock.now() + timedelta(seconds=seconds))

    loop(
        jobs,
        time(3),
        report=lambda r: reports.append(dict(r)),
        stop=lambda: fake_clock.now() >= end,
        sleep=sleep,
    )
    assert calls.count("sweep") == 2  # 2 and 3 June at 03:00 in Oslo
    assert calls.count("due") == 48
    sweeps = [r for r in reports if r["task"] == "sweep"]
    assert all(r["ok"] for r in reports)
    assert sweeps[0]["next"].startswith("2026-06-03T01:00")


def test_a_failing_job_is_reported_and_does_not_stop_the_others() -> None:
    def broken() -> None:
        raise RuntimeError("secret value ola@example.no")

    outcome = run_job(Job("broken", timedelta(hours=1), broken))
    assert outcome["ok"] is False
    assert "ola" not in str(outcome) and "RuntimeError" in outcome["result"]["error"]
