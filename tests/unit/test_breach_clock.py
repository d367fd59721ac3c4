"""The 72-hour clock of art. 33(1): deadline, countdown, reminders and late notification.

72 hours is elapsed time: across the nights Norway changes to or from summer
time the deadline falls at 13:00 or 11:00 local time for an awareness at
12:00, not at 12:00 (which would be 71 or 73 real hours).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from datavern.breaches import rules
from datavern.breaches.rules import (
    OSLO,
    ClockStatus,
    clock_status,
    deadline,
    delay_reasons_problem,
    due_reminder,
    format_countdown,
    format_duration,
    is_late,
    next_steps,
    parse_moment,
)
from datavern.core import clock
from datavern.core.clock import FixedClock, use_clock


def oslo(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=OSLO)


def test_deadline_is_72_hours_after_awareness() -> None:
    aware = oslo(2026, 11, 16, 9, 30)
    assert deadline(aware) == aware.astimezone(UTC) + timedelta(hours=72)
    assert deadline(aware).astimezone(OSLO) == oslo(2026, 11, 19, 9, 30)


def test_deadline_across_the_start_of_summer_time_is_72_real_hours() -> None:
    # Summer time starts 29 March 2026 at 02:00: clocks jump to 03:00.
    aware = oslo(2026, 3, 27, 12, 0)
    due = deadline(aware)
    assert due.astimezone(OSLO).replace(tzinfo=None) == datetime(2026, 3, 30, 13, 0)
    assert due - aware == timedelta(hours=72)


def test_deadline_across_the_end_of_summer_time_is_72_real_hours() -> None:
    # Summer time ends 25 October 2026 at 03:00: clocks go back to 02:00.
    aware = oslo(2026, 10, 23, 12, 0)
    due = deadline(aware)
    assert due.astimezone(OSLO).replace(tzinfo=None) == datetime(2026, 10, 26, 11, 0)
    assert due - aware == timedelta(hours=72)


def test_deadline_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError):
        deadline(datetime(2026, 1, 1, 12, 0))


def test_countdown_with_the_injected_clock() -> None:
    aware = parse_moment("2026-11-16 09:30")
    fixed = FixedClock(aware + timedelta(hours=24, minutes=48))
    previous = use_clock(fixed)
    try:
        status = clock_status(aware, clock.now())
        assert status.state == "running"
        assert format_countdown(status, "nb") == "47 t 12 min igjen"
        assert format_countdown(status, "en") == "47 h 12 min left"
        fixed.set(aware + timedelta(hours=75, minutes=5, seconds=30))
        status = clock_status(aware, clock.now())
        assert status.state == "overdue"
        assert format_countdown(status, "en") == "overdue by 3 h 5 min"
        assert format_countdown(status, "nb") == "fristen gikk ut for 3 t 5 min siden"
    finally:
        use_clock(previous)


def test_countdown_never_shows_more_time_than_is_left() -> None:
    aware = parse_moment("2026-11-16 09:30")
    status = clock_status(aware, aware + timedelta(hours=1, seconds=1))
    assert format_countdown(status, "en") == "70 h 59 min left"


def test_exactly_at_the_deadline_is_not_yet_overdue() -> None:
    aware = parse_moment("2026-11-16 09:30")
    assert clock_status(aware, deadline(aware)).state == "running"
    assert clock_status(aware, deadline(aware) + timedelta(seconds=1)).state == "overdue"


@pytest.mark.parametrize(
    ("delta", "nb", "en"),
    [
        (timedelta(seconds=20), "under 1 min", "less than 1 min"),
        (timedelta(minutes=5), "5 min", "5 min"),
        (timedelta(hours=71, minutes=59), "71 t 59 min", "71 h 59 min"),
        (timedelta(days=4, hours=2, minutes=30), "4 døgn 2 t", "4 d 2 h"),
        (-timedelta(hours=2), "2 t 0 min", "2 h 0 min"),
    ],
)
def test_format_duration(delta: timedelta, nb: str, en: str) -> None:
    assert format_duration(delta, "nb") == nb
    assert format_duration(delta, "en") == en


def test_the_clock_stops_when_notified_or_assessed_as_no_risk() -> None:
    aware = parse_moment("2026-11-16 09:30")
    later = aware + timedelta(hours=100)
    on_time = clock_status(aware, later, notified_at=aware + timedelta(hours=10))
    assert on_time.state == "notified"
    assert "62 t 0 min før fristen" in format_countdown(on_time, "nb")
    late = clock_status(aware, later, notified_at=aware + timedelta(hours=80))
    assert late.state == "notified_late"
    assert format_countdown(late, "en") == "notified to Datatilsynet 8 h 0 min after the deadline"
    assert clock_status(aware, later, risk="none").state == "not_required"
    # An assessment of risk or high risk does not stop the clock.
    assert clock_status(aware, later, risk="risk").state == "overdue"


def test_late_notification_requires_reasons_for_the_delay() -> None:
    aware = parse_moment("2026-11-16 09:30")
    on_time = aware + timedelta(hours=71)
    late = aware + timedelta(hours=73)
    assert not is_late(aware, on_time)
    assert is_late(aware, late)
    assert delay_reasons_problem(aware, on_time, None) is None
    problem = delay_reasons_problem(aware, late, "  ")
    assert problem is not None and "art. 33(1)" in problem and "1 h 0 min" in problem
    assert delay_reasons_problem(aware, late, "Vi ventet på svar fra leverandøren.") is None


def status_at(hours_left: float) -> ClockStatus:
    aware = parse_moment("2026-11-16 09:30")
    return clock_status(aware, deadline(aware) - timedelta(hours=hours_left))


@pytest.mark.parametrize(
    ("hours_left", "sent", "due"),
    [
        (60, [], None),
        (48, [], "48h"),
        (30, [], "48h"),
        (30, ["48h"], None),
        (20, ["48h"], "24h"),
        # Only the newest threshold: no burst of three old reminders at once.
        (5, [], "6h"),
        (5, ["6h"], None),
        (-1, ["48h", "24h", "6h"], "overdue"),
        (-30, ["overdue"], None),
    ],
)
def test_reminders_at_48_24_6_hours_and_overdue(
    hours_left: float, sent: list[str], due: str | None
) -> None:
    assert due_reminder(status_at(hours_left), sent) == due


def test_no_reminder_once_the_clock_has_stopped() -> None:
    aware = parse_moment("2026-11-16 09:30")
    notified = clock_status(aware, aware + timedelta(hours=80), notified_at=aware)
    assert due_reminder(notified, []) is None
    assert due_reminder(clock_status(aware, aware + timedelta(hours=80), risk="none"), []) is None


def test_next_steps_follow_articles_33_and_34() -> None:
    running = status_at(30)
    overdue = status_at(-2)
    assert next_steps(
        status=running, risk=None, delay_reasons=None, people_told=0, exception=None
    ) == ["assess_risk", "notify_datatilsynet"]
    assert next_steps(
        status=overdue, risk="high_risk", delay_reasons=None, people_told=0, exception=None
    ) == ["give_delay_reasons", "notify_datatilsynet", "notify_subjects"]
    assert next_steps(
        status=overdue, risk="high_risk", delay_reasons="x", people_told=3, exception=None
    ) == ["notify_datatilsynet"]
    assert next_steps(
        status=running, risk="high_risk", delay_reasons=None, people_told=0, exception="a"
    ) == ["notify_datatilsynet"]
    stopped = clock_status(parse_moment("2026-11-16 09:30"), clock.now(), risk="none")
    assert (
        next_steps(status=stopped, risk="none", delay_reasons=None, people_told=0, exception=None)
        == []
    )


def test_reminder_thresholds_are_ordered_from_earliest() -> None:
    lefts = [left for _key, left in rules.REMINDER_THRESHOLDS]
    assert lefts == sorted(lefts, reverse=True)
