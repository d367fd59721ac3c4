"""Deadlines for data-subject requests (GDPR art. 12(3), counted as in 1182/71 art. 3).

Dates in the tables were worked out by hand from the calendar (their weekdays
are checked against Python's own calendar in a guard test), never from the
code under test. Easter is checked against published dates and, for every
year from 1583 to 4099, against Gauss's Easter formula, a different algorithm.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from datavern.dsr.deadlines import (
    MAX_ROLL_OVER_DAYS,
    OSLO,
    REMINDER_DAYS,
    REMINDER_LOOKAHEAD_DAYS,
    Deadline,
    DeadlineError,
    Extension,
    ExtensionRefused,
    Reminder,
    add_months,
    day_off_reason,
    days_left,
    deadline,
    due_soon,
    due_soon_range,
    easter_sunday,
    end_of_day,
    extend,
    is_overdue,
    is_working_day,
    next_working_day,
    norwegian_public_holidays,
    oslo_date,
    previous_working_day,
    reminder_due,
    reminders,
)

D = date.fromisoformat
US = timedelta(microseconds=1)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def oslo(text: str) -> datetime:
    """An Oslo wall-clock time, e.g. ``oslo("2026-01-31 12:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=OSLO)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def refusal(action: Callable[[], object]) -> ExtensionRefused:
    with pytest.raises(ExtensionRefused) as caught:
        action()
    return caught.value


# ---------------------------------------------------------------------------
# The one-month deadline: plain calendar date and legal (working-day) date

# (received, Oslo time) -> plain due date (weekday), legal due date (weekday)
DUE_CASES = [
    # an ordinary month
    ("2026-03-10 10:00", "2026-04-10 Fri", "2026-04-10 Fri"),
    ("2026-06-30 09:00", "2026-07-30 Thu", "2026-07-30 Thu"),
    # 31 January: no 31 February, so the last day of February
    ("2026-01-31 12:00", "2026-02-28 Sat", "2026-03-02 Mon"),
    ("2024-01-31 12:00", "2024-02-29 Thu", "2024-02-29 Thu"),  # leap year
    ("2028-01-31 12:00", "2028-02-29 Tue", "2028-02-29 Tue"),  # leap year
    ("2024-01-30 12:00", "2024-02-29 Thu", "2024-02-29 Thu"),
    ("2025-01-30 12:00", "2025-02-28 Fri", "2025-02-28 Fri"),
    ("2026-01-29 12:00", "2026-02-28 Sat", "2026-03-02 Mon"),
    # 29 February (leap years) -> 29 March
    ("2024-02-29 12:00", "2024-03-29 Fri", "2024-04-02 Tue"),  # Good Friday .. Easter Monday
    ("2028-02-29 12:00", "2028-03-29 Wed", "2028-03-29 Wed"),
    # the 31st into 30-day months
    ("2026-03-31 12:00", "2026-04-30 Thu", "2026-04-30 Thu"),
    ("2026-05-31 12:00", "2026-06-30 Tue", "2026-06-30 Tue"),
    ("2026-08-31 12:00", "2026-09-30 Wed", "2026-09-30 Wed"),
    ("2026-10-31 12:00", "2026-11-30 Mon", "2026-11-30 Mon"),
    # 30-day month into a 31-day month keeps the number
    ("2026-04-30 12:00", "2026-05-30 Sat", "2026-06-01 Mon"),
    ("2026-07-31 12:00", "2026-08-31 Mon", "2026-08-31 Mon"),
    # December -> January
    ("2026-12-15 12:00", "2027-01-15 Fri", "2027-01-15 Fri"),
    ("2026-12-31 12:00", "2027-01-31 Sun", "2027-02-01 Mon"),
    ("2025-12-01 12:00", "2026-01-01 Thu", "2026-01-02 Fri"),  # New Year's Day
    # public holidays and weekends
    ("2026-03-02 12:00", "2026-04-02 Thu", "2026-04-07 Tue"),  # Maundy Thursday -> Tuesday
    ("2026-04-17 12:00", "2026-05-17 Sun", "2026-05-18 Mon"),  # 17 May on a Sunday
    ("2025-11-25 12:00", "2025-12-25 Thu", "2025-12-29 Mon"),  # Christmas
    ("2026-04-14 12:00", "2026-05-14 Thu", "2026-05-15 Fri"),  # Ascension Day
    ("2026-04-25 12:00", "2026-05-25 Mon", "2026-05-26 Tue"),  # Whit Monday
    ("2026-04-01 12:00", "2026-05-01 Fri", "2026-05-04 Mon"),  # 1 May
    ("2024-04-17 12:00", "2024-05-17 Fri", "2024-05-21 Tue"),  # 17 May, weekend, Whit Monday
    ("2025-02-18 12:00", "2025-03-18 Tue", "2025-03-18 Tue"),
    ("2025-03-17 12:00", "2025-04-17 Thu", "2025-04-22 Tue"),  # Easter 2025
    ("2027-02-25 12:00", "2027-03-25 Thu", "2027-03-30 Tue"),  # Easter 2027
    ("2027-04-17 12:00", "2027-05-17 Mon", "2027-05-18 Tue"),  # 17 May = Whit Monday
    ("2025-11-24 12:00", "2025-12-24 Wed", "2025-12-24 Wed"),  # Christmas Eve is a working day
    ("2026-11-30 12:00", "2026-12-30 Wed", "2026-12-30 Wed"),
    ("2026-12-01 12:00", "2027-01-01 Fri", "2027-01-04 Mon"),
]


def _split(text: str) -> tuple[date, str]:
    day, weekday = text.split()
    return D(day), weekday


@pytest.mark.parametrize(("received", "plain", "legal"), DUE_CASES)
def test_table_weekdays_are_right(received: str, plain: str, legal: str) -> None:
    # Guard for the table itself: the weekday written next to each date is
    # the calendar's, so a typo in the table cannot pass unnoticed.
    for text in (plain, legal):
        day, weekday = _split(text)
        assert WEEKDAYS[day.weekday()] == weekday, text


@pytest.mark.parametrize(("received", "plain", "legal"), DUE_CASES)
def test_due_dates(received: str, plain: str, legal: str) -> None:
    result = deadline(oslo(received))
    assert result.received_on == D(received[:10])
    assert result.plain_due == _split(plain)[0]
    assert result.due == _split(legal)[0]
    assert result.moved == (plain != legal)
    assert result.months == 1
    assert not result.extended


def test_the_deadline_ends_at_the_last_moment_of_the_due_day_in_oslo() -> None:
    result = deadline(oslo("2026-03-10 10:00"))  # due Friday 10 April (summer time)
    assert result.due_at == utc("2026-04-10 21:59:59.999999")
    assert result.due_at.astimezone(OSLO).replace(tzinfo=None) == datetime(
        2026, 4, 10, 23, 59, 59, 999999
    )
    winter = deadline(oslo("2026-01-10 10:00"))  # due Tuesday 10 February (winter time)
    assert winter.due_at == utc("2026-02-10 22:59:59.999999")
    assert not is_overdue(result.due_at, result.due)
    assert is_overdue(result.due_at + US, result.due)
    assert result.is_overdue(result.due_at + US)
    assert days_left(result.due_at, result.due) == 0
    assert days_left(result.due_at + US, result.due) == -1


def test_the_receipt_instant_is_stored_in_utc() -> None:
    result = deadline(oslo("2026-03-10 10:00"))
    assert result.received_at == utc("2026-03-10 09:00")
    assert result.received_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("instant", "received_on", "plain_due", "due"),
    [
        # Late evening in UTC is already the next day in Norway.
        ("2026-01-31 22:59:59", "2026-01-31", "2026-02-28", "2026-03-02"),
        ("2026-01-31 23:00:00", "2026-02-01", "2026-03-01", "2026-03-02"),
        ("2026-01-31 23:30:00", "2026-02-01", "2026-03-01", "2026-03-02"),
        ("2026-12-31 22:59:59", "2026-12-31", "2027-01-31", "2027-02-01"),
        ("2026-12-31 23:00:00", "2027-01-01", "2027-02-01", "2027-02-01"),
        # In summer Oslo is two hours ahead.
        ("2026-06-30 21:59:59", "2026-06-30", "2026-07-30", "2026-07-30"),
        ("2026-06-30 22:00:00", "2026-07-01", "2026-08-01", "2026-08-03"),
        ("2026-05-31 22:30:00", "2026-06-01", "2026-07-01", "2026-07-01"),
    ],
)
def test_the_day_of_receipt_is_the_date_in_oslo(
    instant: str, received_on: str, plain_due: str, due: str
) -> None:
    result = deadline(utc(instant))
    assert result.received_on == D(received_on)
    assert result.plain_due == D(plain_due)
    assert result.due == D(due)


@pytest.mark.parametrize(
    ("instant", "received_on"),
    [
        # 29 March 2026: summer time starts, 02:00 CET -> 03:00 CEST.
        ("2026-03-28 23:00:00", "2026-03-29"),  # 00:00 CET
        ("2026-03-29 00:59:59", "2026-03-29"),  # 01:59:59 CET
        ("2026-03-29 01:00:00", "2026-03-29"),  # 03:00 CEST
        ("2026-03-29 21:59:59", "2026-03-29"),  # 23:59:59 CEST
        ("2026-03-29 22:00:00", "2026-03-30"),  # 00:00 CEST
        # 25 October 2026: summer time ends, 03:00 CEST -> 02:00 CET (02:xx twice).
        ("2026-10-24 22:00:00", "2026-10-25"),  # 00:00 CEST
        ("2026-10-25 00:30:00", "2026-10-25"),  # 02:30 CEST
        ("2026-10-25 01:30:00", "2026-10-25"),  # 02:30 CET
        ("2026-10-25 22:59:59", "2026-10-25"),  # 23:59:59 CET
        ("2026-10-25 23:00:00", "2026-10-26"),  # 00:00 CET
    ],
)
def test_receipt_on_the_days_the_clocks_change(instant: str, received_on: str) -> None:
    assert oslo_date(utc(instant)) == D(received_on)
    assert deadline(utc(instant)).received_on == D(received_on)


def test_deadlines_from_and_to_the_days_the_clocks_change() -> None:
    # Received the day summer time starts -> due 29 April, a Wednesday.
    spring = deadline(utc("2026-03-29 01:30"))
    assert (spring.plain_due, spring.due) == (D("2026-04-29"), D("2026-04-29"))
    assert spring.due_at == utc("2026-04-29 21:59:59.999999")
    # Received the day summer time ends -> 25 November, a Wednesday.
    autumn = deadline(utc("2026-10-25 01:30"))
    assert autumn.due == D("2026-11-25")
    assert autumn.due_at == utc("2026-11-25 22:59:59.999999")
    # Plain due date on the October change day (a Sunday): moved to Monday.
    to_autumn = deadline(oslo("2026-09-25 12:00"))
    assert (to_autumn.plain_due, to_autumn.due) == (D("2026-10-25"), D("2026-10-26"))
    assert to_autumn.due_at == utc("2026-10-26 22:59:59.999999")
    # Plain due date the day before summer time (Saturday) -> Monday in summer time.
    to_spring = deadline(oslo("2026-02-28 12:00"))
    assert (to_spring.plain_due, to_spring.due) == (D("2026-03-28"), D("2026-03-30"))
    assert to_spring.due_at == utc("2026-03-30 21:59:59.999999")


@pytest.mark.parametrize(
    ("day", "last_moment_utc"),
    [
        ("2026-03-28", "2026-03-28 22:59:59.999999"),  # winter time
        ("2026-03-29", "2026-03-29 21:59:59.999999"),  # 23-hour day, ends in summer time
        ("2026-10-24", "2026-10-24 21:59:59.999999"),  # summer time
        ("2026-10-25", "2026-10-25 22:59:59.999999"),  # 25-hour day, ends in winter time
    ],
)
def test_end_of_day_on_the_days_the_clocks_change(day: str, last_moment_utc: str) -> None:
    assert end_of_day(D(day)) == utc(last_moment_utc)
    assert oslo_date(end_of_day(D(day))) == D(day)
    assert oslo_date(end_of_day(D(day)) + US) == D(day) + timedelta(days=1)


def test_days_left_counts_oslo_days_across_a_clock_change() -> None:
    due = D("2026-03-30")
    assert days_left(utc("2026-03-28 12:00"), due) == 2
    assert days_left(utc("2026-03-28 22:59"), due) == 2  # 23:59 Saturday in Oslo
    assert days_left(utc("2026-03-28 23:00"), due) == 1  # 00:00 Sunday
    assert days_left(utc("2026-03-29 22:00"), due) == 0  # 00:00 Monday (summer time)
    assert days_left(utc("2026-03-30 22:00"), due) == -1


@pytest.mark.parametrize(
    ("received", "months", "expected"),
    [
        ("2026-01-31 12:00", 2, "2026-03-31"),
        ("2026-01-31 12:00", 3, "2026-04-30"),
        ("2025-11-30 12:00", 3, "2026-03-02"),  # 28 Feb 2026 is a Saturday
        ("2023-11-30 12:00", 3, "2024-02-29"),  # leap year
    ],
)
def test_longer_deadlines_count_from_receipt(received: str, months: int, expected: str) -> None:
    assert deadline(oslo(received), months).due == D(expected)


@pytest.mark.parametrize("months", [0, 4, -1, 12])
def test_a_deadline_is_one_to_three_months(months: int) -> None:
    with pytest.raises(DeadlineError) as caught:
        deadline(oslo("2026-01-10 12:00"), months)
    assert caught.value.code == "months_invalid"


def test_naive_instants_are_refused() -> None:
    naive = datetime(2026, 1, 10, 12, 0)
    for action in (
        lambda: deadline(naive),
        lambda: oslo_date(naive),
        lambda: is_overdue(naive, D("2026-02-10")),
        lambda: extend(deadline(oslo("2026-01-10 12:00")), reason="many systems", at=naive),
    ):
        with pytest.raises(DeadlineError) as caught:
            action()
        assert caught.value.code == "naive_datetime"
        assert "tidssone" in caught.value.message("nb")


# ---------------------------------------------------------------------------
# add_months alone


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2100-01-31", 1, "2100-02-28"),  # 2100 is not a leap year
        ("2000-01-31", 1, "2000-02-29"),  # 2000 is
        ("2026-01-31", 3, "2026-04-30"),
        ("2026-11-30", 3, "2027-02-28"),
        ("2026-12-31", 1, "2027-01-31"),
        ("2026-12-31", 2, "2027-02-28"),
        ("2026-03-31", -1, "2026-02-28"),
        ("2026-01-15", -1, "2025-12-15"),
        ("2026-05-17", 0, "2026-05-17"),
    ],
)
def test_add_months(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)


# ---------------------------------------------------------------------------
# Norwegian public holidays and working days

EASTER = {
    1818: "1818-03-22",  # the earliest possible date
    1943: "1943-04-25",  # the latest possible date
    2000: "2000-04-23",
    2008: "2008-03-23",
    2011: "2011-04-24",
    2019: "2019-04-21",
    2020: "2020-04-12",
    2021: "2021-04-04",
    2022: "2022-04-17",
    2023: "2023-04-09",
    2024: "2024-03-31",
    2025: "2025-04-20",
    2026: "2026-04-05",
    2027: "2027-03-28",
    2028: "2028-04-16",
    2029: "2029-04-01",
    2030: "2030-04-21",
    2038: "2038-04-25",
    2285: "2285-03-22",
}


@pytest.mark.parametrize(("year", "expected"), sorted(EASTER.items()))
def test_easter_sunday_on_published_dates(year: int, expected: str) -> None:
    assert easter_sunday(year) == D(expected)


def _gauss_easter(year: int) -> date:
    # Gauss's Easter formula with its two Gregorian exceptions: an algorithm
    # independent of the computus in the code under test.
    a, b, c = year % 19, year % 4, year % 7
    k = year // 100
    p = (13 + 8 * k) // 25
    q = k // 4
    m = (15 - p + k - q) % 30
    n = (4 + k - q) % 7
    d = (19 * a + m) % 30
    e = (2 * b + 4 * c + 6 * d + n) % 7
    if d == 29 and e == 6:
        return date(year, 4, 19)
    if d == 28 and e == 6 and (11 * m + 11) % 30 < 19:
        return date(year, 4, 18)
    return date(year, 3, 22) + timedelta(days=d + e)


def test_easter_sunday_agrees_with_gauss_for_every_year_1583_to_4099() -> None:
    wrong = [y for y in range(1583, 4100) if easter_sunday(y) != _gauss_easter(y)]
    assert wrong == []


def test_easter_before_the_gregorian_calendar_is_refused() -> None:
    with pytest.raises(DeadlineError) as caught:
        easter_sunday(1500)
    assert caught.value.code == "year_out_of_range"


HOLIDAYS = {
    2024: [
        "2024-01-01", "2024-03-28", "2024-03-29", "2024-03-31", "2024-04-01", "2024-05-01",
        "2024-05-09", "2024-05-17", "2024-05-19", "2024-05-20", "2024-12-25", "2024-12-26",
    ],
    2025: [
        "2025-01-01", "2025-04-17", "2025-04-18", "2025-04-20", "2025-04-21", "2025-05-01",
        "2025-05-17", "2025-05-29", "2025-06-08", "2025-06-09", "2025-12-25", "2025-12-26",
    ],
    2026: [
        "2026-01-01", "2026-04-02", "2026-04-03", "2026-04-05", "2026-04-06", "2026-05-01",
        "2026-05-14", "2026-05-17", "2026-05-24", "2026-05-25", "2026-12-25", "2026-12-26",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("year", "expected"), sorted(HOLIDAYS.items()))
def test_norwegian_public_holidays(year: int, expected: list[str]) -> None:
    assert list(norwegian_public_holidays(year)) == [D(d) for d in expected]


def test_holidays_that_share_a_date_are_one_day_with_both_names() -> None:
    h2027 = norwegian_public_holidays(2027)
    assert len(h2027) == 11
    assert h2027[D("2027-05-17")].name("nb") == "grunnlovsdagen (17. mai) og 2. pinsedag"
    assert "Whit Monday" in h2027[D("2027-05-17")].name("en")
    h2008 = norwegian_public_holidays(2008)
    assert "Kristi himmelfartsdag" in h2008[D("2008-05-01")].nb


@pytest.mark.parametrize(
    ("day", "nb", "en"),
    [
        ("2026-04-02", "skjærtorsdag", "Maundy Thursday"),
        ("2026-04-03", "langfredag", "Good Friday"),
        ("2026-04-06", "2. påskedag", "Easter Monday"),
        ("2026-05-14", "Kristi himmelfartsdag", "Ascension Day"),
        ("2026-05-25", "2. pinsedag", "Whit Monday"),
        ("2026-05-17", "grunnlovsdagen (17. mai)", "Constitution Day (17 May)"),
        ("2026-12-26", "2. juledag", "Boxing Day (26 December)"),
        ("2026-04-04", "lørdag", "Saturday"),
        ("2026-03-01", "søndag", "Sunday"),
        ("2026-03-02", None, None),
        ("2025-12-24", None, None),  # Christmas Eve
        ("2025-12-31", None, None),  # New Year's Eve
    ],
)
def test_day_off_reason(day: str, nb: str | None, en: str | None) -> None:
    assert day_off_reason(D(day), "nb") == nb
    assert day_off_reason(D(day), "en") == en
    assert is_working_day(D(day)) == (nb is None)


@pytest.mark.parametrize(
    ("day", "following", "preceding"),
    [
        ("2026-04-02", "2026-04-07", "2026-04-01"),  # Maundy Thursday
        ("2026-04-07", "2026-04-07", "2026-04-07"),  # a working day stays
        ("2026-12-25", "2026-12-28", "2026-12-24"),
        ("2026-12-31", "2026-12-31", "2026-12-31"),
        ("2027-01-01", "2027-01-04", "2026-12-31"),  # across the new year
        ("2026-05-16", "2026-05-18", "2026-05-15"),
    ],
)
def test_next_and_previous_working_day(day: str, following: str, preceding: str) -> None:
    assert next_working_day(D(day)) == D(following)
    assert previous_working_day(D(day)) == D(preceding)


def test_roll_over_is_never_more_than_five_days_and_five_happens() -> None:
    # Every day 1900-2300: the next and the previous working day are at most
    # MAX_ROLL_OVER_DAYS away; Maundy Thursday and Easter Monday reach 5.
    forwards = backwards = 0
    day, end = date(1900, 1, 1), date(2300, 12, 31)
    while day <= end:
        forwards = max(forwards, (next_working_day(day) - day).days)
        backwards = max(backwards, (day - previous_working_day(day)).days)
        day += timedelta(days=1)
    assert forwards == backwards == MAX_ROLL_OVER_DAYS == 5
    assert (next_working_day(D("2026-04-02")) - D("2026-04-02")).days == 5
    assert (D("2026-04-06") - previous_working_day(D("2026-04-06"))).days == 5
    assert REMINDER_LOOKAHEAD_DAYS == 12


# ---------------------------------------------------------------------------
# Extension (art. 12(3)): up to two further months, with a reason, in time


def test_extension_by_two_months_counts_from_receipt_not_from_the_first_due_date() -> None:
    first = deadline(oslo("2026-01-31 12:00"))
    assert first.due == D("2026-03-02")  # 28 Feb is a Saturday
    ext = extend(first, reason="  Many systems to search  ", at=oslo("2026-02-20 09:00"))
    assert isinstance(ext, Extension)
    # 31 January + 3 months = 30 April (a Thursday), not 2 March + 2 = 2 May.
    assert ext.deadline.plain_due == D("2026-04-30")
    assert ext.deadline.due == D("2026-04-30")
    assert ext.deadline.months == 3
    assert ext.deadline.extended
    assert ext.deadline.received_at == first.received_at
    assert ext.reason == "Many systems to search"
    assert ext.further_months == 2
    assert ext.recorded_at == utc("2026-02-20 08:00")
    assert ext.previous == first
    assert ext.notice_by == first.due_at


def test_extension_by_one_month() -> None:
    first = deadline(oslo("2026-01-31 12:00"))
    ext = extend(first, reason="complex", at=oslo("2026-02-01 09:00"), further_months=1)
    assert ext.deadline.plain_due == D("2026-03-31")
    assert ext.deadline.due == D("2026-03-31")
    assert ext.deadline.months == 2


def test_extension_across_the_new_year_onto_a_weekend() -> None:
    first = deadline(oslo("2025-11-30 12:00"))
    assert first.due == D("2025-12-30")
    ext = extend(first, reason="complex", at=oslo("2025-12-01 09:00"))
    assert ext.deadline.plain_due == D("2026-02-28")  # Saturday
    assert ext.deadline.due == D("2026-03-02")


def test_extension_is_allowed_until_the_last_moment_of_the_first_deadline() -> None:
    first = deadline(oslo("2026-01-15 12:00"))
    assert (first.plain_due, first.due) == (D("2026-02-15"), D("2026-02-16"))  # Sunday -> Monday
    last_moment = oslo("2026-02-16 23:59:59.999999")
    assert last_moment == first.due_at
    ext = extend(first, reason="complex", at=last_moment)
    assert ext.deadline.due == D("2026-04-15")
    # Sunday the 15th, the plain date, is also in time (the roll-over applies).
    assert extend(first, reason="complex", at=oslo("2026-02-15 20:00")).deadline.due == D(
        "2026-04-15"
    )
    too_late = refusal(lambda: extend(first, reason="complex", at=last_moment + US))
    assert too_late.code == "too_late"
    assert "2026-02-16" in str(too_late)
    assert "2026-02-16" in too_late.message("nb")
    assert refusal(lambda: extend(first, reason="x", at=oslo("2026-03-01 12:00"))).code == (
        "too_late"
    )


def test_extension_before_the_request_arrived_is_refused() -> None:
    first = deadline(oslo("2026-01-15 12:00"))
    assert extend(first, reason="x", at=oslo("2026-01-15 12:00")).deadline.months == 3
    early = refusal(lambda: extend(first, reason="x", at=oslo("2026-01-15 12:00") - US))
    assert early.code == "before_receipt"


@pytest.mark.parametrize("reason", ["", " ", "\n\t  "])
def test_extension_needs_a_reason(reason: str) -> None:
    first = deadline(oslo("2026-01-15 12:00"))
    err = refusal(lambda: extend(first, reason=reason, at=oslo("2026-01-20 12:00")))
    assert err.code == "reason_missing"
    assert "begrunnes" in err.message("nb")
    assert "reason" in err.message("en")


@pytest.mark.parametrize("further", [0, 3, -1, 5])
def test_extension_is_by_one_or_two_months(further: int) -> None:
    first = deadline(oslo("2026-01-15 12:00"))
    err = refusal(
        lambda: extend(first, reason="x", at=oslo("2026-01-20 12:00"), further_months=further)
    )
    assert err.code == "months_invalid"


def test_two_extensions_of_one_month_make_three_and_no_more() -> None:
    first = deadline(oslo("2026-01-15 12:00"))
    once = extend(first, reason="a", at=oslo("2026-01-20 12:00"), further_months=1)
    twice = extend(once.deadline, reason="b", at=oslo("2026-02-10 12:00"), further_months=1)
    assert twice.deadline.months == 3
    assert twice.deadline.due == D("2026-04-15")
    # The notice limit is still the end of the first month.
    assert twice.notice_by == first.due_at
    err = refusal(lambda: extend(twice.deadline, reason="c", at=oslo("2026-02-10 13:00")))
    assert err.code == "too_long"
    err = refusal(lambda: extend(once.deadline, reason="c", at=oslo("2026-02-10 13:00")))
    assert err.code == "too_long"  # 2 + 2 > 3
    assert "1" in err.message("en")
    # A second extension after the first month has ended is too late, even
    # though the extended deadline has not passed.
    late = refusal(
        lambda: extend(once.deadline, reason="b", at=oslo("2026-02-17 09:00"), further_months=1)
    )
    assert late.code == "too_late"


def test_refusal_messages_do_not_repeat_the_reason() -> None:
    first = deadline(oslo("2026-01-15 12:00"))
    secret = "Ola Nordmann asked twice"
    err = refusal(lambda: extend(first, reason=secret, at=oslo("2026-03-01 12:00")))
    assert secret not in str(err)
    assert secret not in err.message("nb")


# ---------------------------------------------------------------------------
# Due soon, overdue, days left


def test_due_soon_and_overdue_around_the_due_day() -> None:
    due = D("2026-04-10")
    at_noon = lambda day: oslo(f"{day} 12:00")  # noqa: E731
    assert days_left(at_noon("2026-04-02"), due) == 8
    assert not due_soon(at_noon("2026-04-02"), due)
    assert due_soon(at_noon("2026-04-03"), due)  # 7 days left
    assert due_soon(at_noon("2026-04-10"), due)  # due today
    assert not is_overdue(at_noon("2026-04-10"), due)
    assert is_overdue(at_noon("2026-04-11"), due)
    assert not due_soon(at_noon("2026-04-11"), due)  # overdue is not "due soon"
    assert due_soon(at_noon("2026-04-08"), due, window_days=2)
    assert not due_soon(at_noon("2026-04-07"), due, window_days=2)
    assert due_soon(at_noon("2026-04-10"), due, window_days=0)
    assert not due_soon(at_noon("2026-04-09"), due, window_days=0)


def test_overdue_starts_at_midnight_in_oslo() -> None:
    due = D("2026-04-10")
    assert not is_overdue(utc("2026-04-10 21:59:59.999999"), due)
    assert is_overdue(utc("2026-04-10 22:00"), due)  # 00:00 on the 11th in Oslo
    winter = D("2026-02-10")
    assert not is_overdue(utc("2026-02-10 22:59:59"), winter)
    assert is_overdue(utc("2026-02-10 23:00"), winter)


def test_a_due_instant_means_its_oslo_day() -> None:
    result = deadline(oslo("2026-03-10 10:00"))
    now = oslo("2026-04-10 08:00")
    assert days_left(now, result.due_at) == days_left(now, result.due) == 0
    assert is_overdue(oslo("2026-04-11 00:00"), result.due_at)
    assert result.days_left(now) == 0
    assert result.due_soon(now)


def test_due_soon_range_for_database_filters() -> None:
    assert due_soon_range(utc("2026-04-02 22:30")) == (D("2026-04-03"), D("2026-04-10"))
    assert due_soon_range(oslo("2026-04-03 12:00"), 2) == (D("2026-04-03"), D("2026-04-05"))


def test_a_negative_window_is_refused() -> None:
    for action in (
        lambda: due_soon(oslo("2026-04-03 12:00"), D("2026-04-10"), -1),
        lambda: due_soon_range(oslo("2026-04-03 12:00"), -1),
    ):
        with pytest.raises(DeadlineError) as caught:
            action()
        assert caught.value.code == "window_invalid"


# ---------------------------------------------------------------------------
# Reminders to the assignee


def test_reminders_seven_and_two_days_before() -> None:
    result = deadline(oslo("2026-05-05 12:00"))
    assert result.due == D("2026-06-05")
    assert [(r.days_before, r.on) for r in result.reminders()] == [
        (7, D("2026-05-29")),
        (2, D("2026-06-03")),
    ]
    assert all(r.due == result.due for r in result.reminders())
    assert REMINDER_DAYS == (7, 2)


def test_a_reminder_on_a_day_off_comes_the_working_day_before() -> None:
    # Due Friday 10 April 2026: 7 days before is Good Friday, and the day
    # before that Maundy Thursday, so the reminder comes on Wednesday 1 April.
    result = deadline(oslo("2026-03-10 10:00"))
    assert [(r.days_before, r.on) for r in result.reminders()] == [
        (7, D("2026-04-01")),
        (2, D("2026-04-08")),
    ]
    # Due Tuesday 9 June: 2 days before is a Sunday -> Friday 5 June.
    june = deadline(oslo("2026-05-09 12:00"))
    assert june.due == D("2026-06-09")
    assert [(r.days_before, r.on) for r in june.reminders()] == [
        (7, D("2026-06-02")),
        (2, D("2026-06-05")),
    ]
    # Due Wednesday 8 April, after Easter: 2 days before is Easter Monday and
    # the working day before that is Wednesday 1 April, the 7-day date. One
    # reminder, the more urgent one.
    easter = deadline(oslo("2026-03-08 12:00"))
    assert easter.due == D("2026-04-08")
    assert [(r.days_before, r.on) for r in easter.reminders()] == [(2, D("2026-04-01"))]


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("2026-05-20", [(7, "2026-05-29"), (2, "2026-06-03")]),
        ("2026-05-28", [(7, "2026-05-29"), (2, "2026-06-03")]),
        ("2026-05-29", [(2, "2026-06-03")]),  # not on the day of receipt
        ("2026-05-30", [(2, "2026-06-03")]),
        ("2026-06-03", []),
        ("2026-06-04", []),
    ],
)
def test_reminders_already_past_at_receipt_are_skipped(
    received: str, expected: list[tuple[int, str]]
) -> None:
    found = reminders(oslo(f"{received} 12:00"), D("2026-06-05"))
    assert [(r.days_before, r.on) for r in found] == [(n, D(d)) for n, d in expected]
    assert reminders(D(received), D("2026-06-05")) == found


def test_reminder_days_must_be_positive() -> None:
    with pytest.raises(DeadlineError) as caught:
        reminders(oslo("2026-05-01 12:00"), D("2026-06-05"), days_before=(7, 0))
    assert caught.value.code == "reminder_invalid"


def test_reminder_due_sends_the_latest_unsent_reminder_once() -> None:
    result = deadline(oslo("2026-05-05 12:00"))  # due 5 June; reminders 29 May and 3 June
    seven, two = result.reminders()

    def due_at(day: str, sent: tuple[Reminder, ...] = ()) -> Reminder | None:
        return reminder_due(oslo(f"{day} 08:00"), result.received_at, result.due, sent)

    assert due_at("2026-05-28") is None
    assert due_at("2026-05-29") == seven
    assert due_at("2026-05-30") == seven  # not sent yet: still due
    assert due_at("2026-05-30", (seven,)) is None
    assert due_at("2026-06-03", (seven,)) == two
    assert due_at("2026-06-03") == two  # the 7-day one was missed: send only the 2-day one
    assert due_at("2026-06-05", (seven, two)) is None
    assert due_at("2026-06-06") is None  # overdue: the overdue list takes over


def test_reminder_due_uses_the_oslo_date() -> None:
    result = deadline(oslo("2026-05-05 12:00"))
    seven = result.reminders()[0]
    # 21:59 UTC on 28 May is 23:59 in Oslo; 22:00 UTC is 00:00 on the 29th.
    assert reminder_due(utc("2026-05-28 21:59"), result.received_at, result.due) is None
    assert reminder_due(utc("2026-05-28 22:00"), result.received_at, result.due) == seven


def test_after_an_extension_the_new_deadline_has_its_own_reminders() -> None:
    first = deadline(oslo("2026-01-05 12:00"))  # due 5 February
    sent = tuple(first.reminders())
    ext = extend(first, reason="complex", at=oslo("2026-02-01 12:00"))
    assert ext.deadline.due == D("2026-04-07")  # 5 April is Easter Sunday, 6 Easter Monday
    new = ext.deadline
    assert reminder_due(oslo("2026-02-04 12:00"), new.received_at, new.due, sent) is None
    reminder = reminder_due(oslo("2026-03-31 12:00"), new.received_at, new.due, sent)
    assert reminder is not None and reminder.days_before == 7 and reminder.due == new.due


# ---------------------------------------------------------------------------
# Properties

instants = st.one_of(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
    ),
    st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2200, 12, 31),
        timezones=st.just(OSLO),
        allow_imaginary=False,
    ),
)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


@settings(max_examples=500)
@given(received=instants)
def test_property_due_date_is_one_calendar_month_after_receipt(received: datetime) -> None:
    result = deadline(received)
    assert result.received_on == received.astimezone(OSLO).date()
    assert result.due > result.received_on
    assert result.due_at > received
    assert 28 <= (result.plain_due - result.received_on).days <= 31
    assert 0 <= (result.due - result.plain_due).days <= MAX_ROLL_OVER_DAYS
    assert is_working_day(result.due)
    # Every day between the plain and the legal due date is a day off.
    day = result.plain_due
    while day < result.due:
        assert day_off_reason(day) is not None
        day += timedelta(days=1)
    # Same day number, or the last day of a shorter month.
    if result.plain_due.day != result.received_on.day:
        assert result.plain_due.day < result.received_on.day
        assert (result.plain_due + timedelta(days=1)).day == 1
    assert oslo_date(result.due_at) == result.due
    assert oslo_date(result.due_at + US) == result.due + timedelta(days=1)


@settings(max_examples=300)
@given(received=instants, further=st.sampled_from([1, 2]), data=st.data())
def test_property_extension_stays_within_three_months(
    received: datetime, further: int, data: st.DataObject
) -> None:
    first = deadline(received)
    span = int((first.due_at - first.received_at).total_seconds())
    at = first.received_at + timedelta(seconds=data.draw(st.integers(0, span)))
    ext = extend(first, reason="complex", at=at, further_months=further)
    limit = add_months(first.received_on, 3)
    assert ext.deadline.plain_due <= limit
    assert ext.deadline.due <= limit + timedelta(days=MAX_ROLL_OVER_DAYS)
    assert ext.deadline.due > first.due
    assert ext.deadline.plain_due == add_months(first.received_on, 1 + further)
    assert 89 <= (add_months(first.received_on, 3) - first.received_on).days <= 92


@settings(max_examples=300)
@given(
    received=instants,
    offset=st.one_of(st.integers(-(10**9), 10**9), st.integers(-(40 * 86400 * 10**6), 10**12)),
)
def test_property_extension_allowed_exactly_until_the_first_deadline(
    received: datetime, offset: int
) -> None:
    first = deadline(received)
    at = first.due_at + timedelta(microseconds=offset)
    if first.received_at <= at <= first.due_at:
        assert extend(first, reason="r", at=at).deadline.months == 3
    else:
        code = "too_late" if at > first.due_at else "before_receipt"
        assert refusal(lambda: extend(first, reason="r", at=at)).code == code


@settings(max_examples=300)
@given(received=instants, months=st.sampled_from([1, 2, 3]))
def test_property_reminders_fall_between_receipt_and_due(received: datetime, months: int) -> None:
    result = deadline(received, months)
    found = result.reminders()
    # A month is long enough for both; they become one only when the 2-day
    # date and every day back to the 7-day date are days off (due on the
    # Wednesday after Easter: both on the Wednesday before).
    nominal = {previous_working_day(result.due - timedelta(days=n)) for n in REMINDER_DAYS}
    assert len(found) == len(nominal)
    for reminder in found:
        assert result.received_on < reminder.on < result.due
        assert is_working_day(reminder.on)
        assert reminder.on <= result.due - timedelta(days=reminder.days_before)
    assert [r.on for r in found] == sorted(r.on for r in found)


@settings(max_examples=300)
@given(received=days, due=days)
def test_property_reminders_for_any_dates(received: date, due: date) -> None:
    for reminder in reminders(received, due):
        assert received < reminder.on < due
        assert (due - reminder.on).days <= REMINDER_LOOKAHEAD_DAYS


@settings(max_examples=500)
@given(first=instants, second=instants)
def test_property_monotonic_in_receipt(first: datetime, second: datetime) -> None:
    assume(first != second)
    early, late = sorted((first, second))
    a, b = deadline(early), deadline(late)
    assert a.plain_due <= b.plain_due
    assert a.due <= b.due
    assert a.due_at <= b.due_at


@settings(max_examples=500)
@given(received=instants, now=instants)
def test_property_overdue_means_past_the_last_moment(received: datetime, now: datetime) -> None:
    result = deadline(received)
    assert is_overdue(now, result.due) == (now > result.due_at)
    assert is_overdue(now, result.due) == (days_left(now, result.due) < 0)
    if due_soon(now, result.due):
        assert not is_overdue(now, result.due)
    first, last = due_soon_range(now)
    assert due_soon(now, result.due) == (first <= result.due <= last)


@settings(max_examples=300)
@given(day=days)
def test_property_working_days(day: date) -> None:
    nxt, prev = next_working_day(day), previous_working_day(day)
    assert prev <= day <= nxt
    assert is_working_day(nxt) and is_working_day(prev)
    assert (nxt == day) == is_working_day(day) == (prev == day)
    assert next_working_day(nxt) == nxt


@settings(max_examples=200)
@given(year=st.integers(1583, 9000))
def test_property_holidays_fall_on_their_weekdays(year: int) -> None:
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert date(year, 3, 22) <= easter <= date(year, 4, 25)
    holidays = norwegian_public_holidays(year)
    assert (easter - timedelta(days=3)).weekday() == 3  # Maundy Thursday
    assert (easter + timedelta(days=39)).weekday() == 3  # Ascension Day
    for offset in (-3, -2, 0, 1, 39, 49, 50):
        assert easter + timedelta(days=offset) in holidays
    for month, day in ((1, 1), (5, 1), (5, 17), (12, 25), (12, 26)):
        assert date(year, month, day) in holidays
    assert date(year, 12, 24) not in holidays
    assert 10 <= len(holidays) <= 12


def test_deadline_is_immutable() -> None:
    result = deadline(oslo("2026-03-10 10:00"))
    with pytest.raises(ValueError):
        result.due = D("2030-01-01")
    assert isinstance(result, Deadline)
