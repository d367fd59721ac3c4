"""Deadlines for data-subject requests (GDPR art. 12(3)); pure, no I/O, no clock.

A controller must act on a request "without undue delay and in any event within
one month of receipt"; the period "may be extended by two further months", and
the data subject must be told of the extension, with the reasons, "within one
month of receipt". How a period in months is counted comes from the EU
time-limits regulation, Regulation (EEC, Euratom) No 1182/71, art. 3, to which
the EDPB's access guidelines (01/2022) refer for art. 12(3). Norwegian law
counts the same way (domstolloven §§ 148-149): the two give the same dates, so
there is one set of rules here.

The rules and Datavern's choices (docs/deadlines.md explains them for users):

* **The day of receipt.** The receipt instant is converted to the date in
  Europe/Oslo; a request that arrives at 23:30 UTC on 31 January arrives on
  1 February in Norway. That day is not counted (1182/71 art. 3(1), second
  subparagraph): the month runs from the next day.
* **One calendar month** (art. 3(2)(c)): the period ends on the day with the
  same number in the next month; when that month has no such day, on its last
  day (31 January -> 28 or 29 February, 31 March -> 30 April). This is the
  *plain* due date, shown next to the legal one.
* **Weekends and public holidays** (art. 3(4); domstolloven § 149): when the
  last day is a Saturday, a Sunday or a Norwegian public holiday, the period
  ends at the end of the next working day. Datavern applies this: the *legal*
  due date (``Deadline.due``) is the one reminders, "due soon" and "overdue"
  use; the plain date (``Deadline.plain_due``) is shown too so that an agent
  who aims for it is never late. Days in between are counted (art. 3(3)): only
  the last day moves.
* **End of the day.** A deadline ends at the end of its last day in Oslo: the
  last microsecond before midnight, 23:59:59.999999 Europe/Oslo
  (``Deadline.due_at``, given in UTC). A request is overdue from midnight.
* **Extension** by one or two further months, three months in all counted from
  the receipt date (not from the first due date: 31 January + 3 months is
  30 April, not 2 March + 2 months), with the same last-day and working-day
  rules. It needs a reason, and it must be recorded -- and the subject told --
  no later than the end of the first deadline (its legal due date; the notice
  is a period of "one month of receipt" counted like the deadline itself).
* **Reminders** to the assignee on the Oslo dates 7 and 2 days before the legal
  due date, brought forward to the working day before when that date is a
  weekend or holiday; a reminder that would fall on or before the day of
  receipt is skipped.
* **Norwegian public holidays** (lov om helligdager og helligdagsfred; lov om
  1. og 17. mai som høgtidsdager): 1 January, Maundy Thursday, Good Friday,
  Easter Sunday and Monday, 1 May, 17 May, Ascension Day, Whit Sunday and
  Monday, 25 and 26 December. Christmas Eve and New Year's Eve are working days
  in law. 1182/71 art. 2(1) takes the holidays of the state where the action is
  taken; Datavern serves Norwegian controllers, so these are the ones.

Every instant passed in must be timezone-aware (the project's clock and
``UTCDateTime`` columns give aware UTC values); a naive one is a programming
error and raises :class:`DeadlineError`.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict

__all__ = [
    "FIRST_PERIOD_MONTHS",
    "MAX_FURTHER_MONTHS",
    "MAX_ROLL_OVER_DAYS",
    "MAX_TOTAL_MONTHS",
    "OSLO",
    "REMINDER_DAYS",
    "REMINDER_LOOKAHEAD_DAYS",
    "Deadline",
    "DeadlineError",
    "Extension",
    "ExtensionRefused",
    "Holiday",
    "Reminder",
    "add_months",
    "day_off_reason",
    "days_left",
    "deadline",
    "due_soon",
    "due_soon_range",
    "easter_sunday",
    "end_of_day",
    "extend",
    "is_overdue",
    "is_working_day",
    "next_working_day",
    "norwegian_public_holidays",
    "oslo_date",
    "previous_working_day",
    "reminder_due",
    "reminders",
]

OSLO: Final = ZoneInfo("Europe/Oslo")

FIRST_PERIOD_MONTHS: Final = 1
"""Art. 12(3): "within one month of receipt of the request"."""

MAX_FURTHER_MONTHS: Final = 2
"""Art. 12(3): "may be extended by two further months"."""

MAX_TOTAL_MONTHS: Final = FIRST_PERIOD_MONTHS + MAX_FURTHER_MONTHS

REMINDER_DAYS: Final[tuple[int, ...]] = (7, 2)
"""Reminders to the assignee this many days before the legal due date."""

MAX_ROLL_OVER_DAYS: Final = 5
"""The furthest a date moves to a working day in Norway, forwards (Maundy
Thursday -> the Tuesday after Easter) or backwards (Easter Monday -> the
Wednesday before Easter)."""

REMINDER_LOOKAHEAD_DAYS: Final = max(REMINDER_DAYS) + MAX_ROLL_OVER_DAYS
"""A reminder can fall this many days before its due date at most (7 days,
moved back past Easter): a reminder task need only look at requests due within
this many days."""


class DeadlineError(ValueError):
    """A deadline cannot be computed or changed as asked.

    ``code`` is stable (for message catalogs and API error bodies); ``str()``
    is an English sentence for logs and developers; :meth:`message` gives the
    text in bokmål or English for the person who asked. No message contains
    personal data: only dates, numbers and the rule that was broken.
    """

    def __init__(self, code: str, en: str, nb: str) -> None:
        super().__init__(en)
        self.code = code
        self.texts: dict[str, str] = {"en": en, "nb": nb}

    def message(self, lang: str = "nb") -> str:
        return self.texts.get(lang, self.texts["en"])


class ExtensionRefused(DeadlineError):
    """An extension that art. 12(3) does not allow (or that lacks a reason).

    Codes: ``reason_missing``, ``months_invalid``, ``too_long``, ``too_late``,
    ``before_receipt``.
    """


# --------------------------------------------------------------------------
# Calendar arithmetic


def _aware(instant: datetime, what: str) -> datetime:
    if not isinstance(instant, datetime):
        raise DeadlineError(
            "not_a_datetime",
            f"{what} must be a date and time, got {type(instant).__name__}",
            f"{what} må være et tidspunkt (dato og klokkeslett)",
        )
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise DeadlineError(
            "naive_datetime",
            f"{what} has no time zone; pass an aware datetime (UTC from the clock)",
            f"{what} mangler tidssone; bruk et tidspunkt med tidssone (UTC fra klokken)",
        )
    return instant


def oslo_date(instant: datetime) -> date:
    """The calendar date in Norway at ``instant`` (which must be timezone-aware)."""
    return _aware(instant, "instant").astimezone(OSLO).date()


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Oslo (23:59:59.999999 local time), in UTC.

    Correct on the days Norway changes to and from summer time: the last moment
    is always in the day's own offset (an hour before the next midnight there).
    """
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=OSLO)
    return next_midnight.astimezone(UTC) - timedelta(microseconds=1)


def add_months(day: date, months: int) -> date:
    """The day with the same number ``months`` months later; the last day of
    that month when it has no such day (1182/71 art. 3(2)(c)).

    31 January + 1 -> 28 February (29 in a leap year); 31 January + 3 -> 30 April.
    ``months`` may be negative (used only to look back; the same clamping).
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian computus,
    as given by Meeus/Jones/Butcher); valid for every year from 1583."""
    if year < 1583:
        raise DeadlineError(
            "year_out_of_range",
            f"Easter is computed for Gregorian years from 1583, not {year}",
            f"Påsken regnes bare ut for år fra og med 1583, ikke {year}",
        )
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


class Holiday(BaseModel):
    """A Norwegian public holiday (helligdag or lovbestemt høytidsdag)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    nb: str
    en: str

    def name(self, lang: str = "nb") -> str:
        return self.en if lang == "en" else self.nb


# (offset from Easter Sunday, bokmål, English)
_EASTER_HOLIDAYS: Final[tuple[tuple[int, str, str], ...]] = (
    (-3, "skjærtorsdag", "Maundy Thursday"),
    (-2, "langfredag", "Good Friday"),
    (0, "1. påskedag", "Easter Sunday"),
    (1, "2. påskedag", "Easter Monday"),
    (39, "Kristi himmelfartsdag", "Ascension Day"),
    (49, "1. pinsedag", "Whit Sunday"),
    (50, "2. pinsedag", "Whit Monday"),
)

# (month, day, bokmål, English)
_FIXED_HOLIDAYS: Final[tuple[tuple[int, int, str, str], ...]] = (
    (1, 1, "1. nyttårsdag", "New Year's Day"),
    (5, 1, "1. mai", "Labour Day (1 May)"),
    (5, 17, "grunnlovsdagen (17. mai)", "Constitution Day (17 May)"),
    (12, 25, "1. juledag", "Christmas Day"),
    (12, 26, "2. juledag", "Boxing Day (26 December)"),
)

_holiday_cache: dict[int, Mapping[date, Holiday]] = {}


def norwegian_public_holidays(year: int) -> Mapping[date, Holiday]:
    """Norway's public holidays in ``year``, by date, in calendar order."""
    cached = _holiday_cache.get(year)
    if cached is not None:
        return cached
    easter = easter_sunday(year)
    found = [Holiday(day=date(year, m, d), nb=nb, en=en) for m, d, nb, en in _FIXED_HOLIDAYS]
    found += [
        Holiday(day=easter + timedelta(days=offset), nb=nb, en=en)
        for offset, nb, en in _EASTER_HOLIDAYS
    ]
    # Two can share a date (Ascension Day was 1 May in 2008 and 17 May in
    # 2012; Whit Monday is 17 May in 2027): keep both names.
    by_day: dict[date, Holiday] = {}
    for holiday in sorted(found, key=lambda h: h.day):
        seen = by_day.get(holiday.day)
        if seen is not None:
            holiday = Holiday(
                day=holiday.day, nb=f"{seen.nb} og {holiday.nb}", en=f"{seen.en} and {holiday.en}"
            )
        by_day[holiday.day] = holiday
    result: Mapping[date, Holiday] = dict(by_day)
    _holiday_cache[year] = result
    return result


def day_off_reason(day: date, lang: str = "nb") -> str | None:
    """Why ``day`` is not a working day (the holiday's name, or "lørdag"/
    "søndag"), or None for a working day."""
    holiday = norwegian_public_holidays(day.year).get(day)
    if holiday is not None:
        return holiday.name(lang)
    weekday = day.weekday()
    if weekday == 5:
        return "Saturday" if lang == "en" else "lørdag"
    if weekday == 6:
        return "Sunday" if lang == "en" else "søndag"
    return None


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Norwegian public holiday."""
    return day.weekday() < 5 and day not in norwegian_public_holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, otherwise the next one
    (1182/71 art. 3(4); domstolloven § 149)."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def previous_working_day(day: date) -> date:
    """``day`` itself when it is a working day, otherwise the working day before."""
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


# --------------------------------------------------------------------------
# Deadlines


class Deadline(BaseModel):
    """When a request must be answered.

    ``plain_due`` is the calendar date ``months`` months after the day of
    receipt; ``due`` is the legal due date (moved to the next working day when
    the plain one is a weekend or public holiday); ``due_at`` is the last moment
    of ``due`` in Oslo, in UTC. ``months`` is 1, or 2-3 after an extension.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    received_at: AwareDatetime
    received_on: date
    months: int
    plain_due: date
    due: date
    due_at: AwareDatetime

    @property
    def extended(self) -> bool:
        return self.months > FIRST_PERIOD_MONTHS

    @property
    def moved(self) -> bool:
        """Whether a weekend or holiday moved the due date past the plain one."""
        return self.due != self.plain_due

    def is_overdue(self, now: datetime) -> bool:
        return is_overdue(now, self.due)

    def days_left(self, now: datetime) -> int:
        return days_left(now, self.due)

    def due_soon(self, now: datetime, window_days: int = REMINDER_DAYS[0]) -> bool:
        return due_soon(now, self.due, window_days)

    def reminders(self, days_before: Iterable[int] = REMINDER_DAYS) -> tuple[Reminder, ...]:
        return reminders(self.received_at, self.due, days_before)

    def first(self) -> Deadline:
        """The deadline of the first month (the one an extension must beat)."""
        return deadline(self.received_at) if self.extended else self


def deadline(received_at: datetime, months: int = FIRST_PERIOD_MONTHS) -> Deadline:
    """The deadline of a request received at ``received_at`` (aware), ``months``
    calendar months long (1 for a new request; 2 or 3 once extended)."""
    received_at = _aware(received_at, "received_at")
    if (
        not isinstance(months, int)
        or isinstance(months, bool)
        or not (FIRST_PERIOD_MONTHS <= months <= MAX_TOTAL_MONTHS)
    ):
        raise DeadlineError(
            "months_invalid",
            f"a request's deadline is 1 to {MAX_TOTAL_MONTHS} months, not {months!r}",
            f"fristen for en henvendelse er 1 til {MAX_TOTAL_MONTHS} måneder, ikke {months!r}",
        )
    received_on = oslo_date(received_at)
    plain = add_months(received_on, months)
    due = next_working_day(plain)
    return Deadline(
        received_at=received_at.astimezone(UTC),
        received_on=received_on,
        months=months,
        plain_due=plain,
        due=due,
        due_at=end_of_day(due),
    )


class Extension(BaseModel):
    """A recorded extension (art. 12(3)): the new deadline, why, and when the
    subject was told."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    further_months: int
    reason: str
    recorded_at: AwareDatetime
    notice_by: AwareDatetime
    """The last moment the extension could be recorded (end of the first deadline)."""
    previous: Deadline
    deadline: Deadline


def _fmt(day: date) -> str:
    return day.isoformat()


def extend(
    current: Deadline,
    *,
    reason: str,
    at: datetime,
    further_months: int = MAX_FURTHER_MONTHS,
) -> Extension:
    """Extend ``current`` by ``further_months`` (1 or 2) more months, at ``at``.

    Recording the extension is when the subject is told (the caller sends the
    notice with the reason in the same operation). Refused with
    :class:`ExtensionRefused` when the reason is empty, the months are not 1 or
    2, the total would pass three months from receipt, or ``at`` is after the
    end of the first month's deadline (or before the request arrived). A second
    extension (1 + 1) is allowed on the same terms, while the first month runs.

    The new due date is counted from the receipt date (receipt + total months),
    never from the previous due date.
    """
    at = _aware(at, "at")
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ExtensionRefused(
            "reason_missing",
            "an extension needs a reason; the data subject must be told why (art. 12(3))",
            "en forlengelse må begrunnes; den registrerte skal få vite hvorfor (art. 12 nr. 3)",
        )
    if (
        not isinstance(further_months, int)
        or isinstance(further_months, bool)
        or not 1 <= further_months <= MAX_FURTHER_MONTHS
    ):
        raise ExtensionRefused(
            "months_invalid",
            f"a deadline can be extended by 1 or 2 further months, not {further_months!r}",
            f"fristen kan forlenges med 1 eller 2 måneder, ikke {further_months!r}",
        )
    total = current.months + further_months
    if total > MAX_TOTAL_MONTHS:
        left = MAX_TOTAL_MONTHS - current.months
        raise ExtensionRefused(
            "too_long",
            f"the deadline is already {current.months} months; it can be extended by at most "
            f"{left} more (three months from receipt in all, art. 12(3))",
            f"fristen er allerede {current.months} måneder og kan forlenges med høyst {left} "
            "til (til sammen tre måneder fra mottak, art. 12 nr. 3)",
        )
    if at < current.received_at:
        raise ExtensionRefused(
            "before_receipt",
            "an extension cannot be recorded before the request was received",
            "en forlengelse kan ikke registreres før henvendelsen ble mottatt",
        )
    first = current.first()
    if at > first.due_at:
        raise ExtensionRefused(
            "too_late",
            f"the first month ended on {_fmt(first.due)}; the data subject must be told of an "
            "extension within one month of receipt (art. 12(3))",
            f"den første måneden gikk ut {_fmt(first.due)}; den registrerte må få beskjed om "
            "forlengelse innen en måned etter at henvendelsen kom inn (art. 12 nr. 3)",
        )
    return Extension(
        further_months=further_months,
        reason=text,
        recorded_at=at.astimezone(UTC),
        notice_by=first.due_at,
        previous=current,
        deadline=deadline(current.received_at, total),
    )


# --------------------------------------------------------------------------
# Status: days left, due soon, overdue


def _due_date(due: date | datetime) -> date:
    # A datetime is read as "the deadline day on which this instant falls in
    # Oslo" (so Deadline.due_at and Deadline.due mean the same thing).
    if isinstance(due, datetime):
        return oslo_date(due)
    return due


def days_left(now: datetime, due: date | datetime) -> int:
    """Whole Oslo days from today to the due date: 0 on the due day itself,
    negative once overdue (-1 the day after)."""
    return (_due_date(due) - oslo_date(now)).days


def is_overdue(now: datetime, due: date | datetime) -> bool:
    """True from the first moment after the due day ends in Oslo."""
    return days_left(now, due) < 0


def _check_window(window_days: int) -> None:
    if window_days < 0:
        raise DeadlineError(
            "window_invalid",
            f"the due-soon window is a number of days from 0, not {window_days}",
            f"vinduet for «forfaller snart» er et antall dager fra 0, ikke {window_days}",
        )


def due_soon(now: datetime, due: date | datetime, window_days: int = REMINDER_DAYS[0]) -> bool:
    """Not overdue, and due within ``window_days`` Oslo days (the due day counts:
    ``window_days=0`` is "due today")."""
    _check_window(window_days)
    return 0 <= days_left(now, due) <= window_days


def due_soon_range(now: datetime, window_days: int = REMINDER_DAYS[0]) -> tuple[date, date]:
    """The due dates (inclusive) that are "due soon" at ``now``, for a database
    filter: ``first <= due <= last``. Overdue is ``due < oslo_date(now)``."""
    _check_window(window_days)
    today = oslo_date(now)
    return today, today + timedelta(days=window_days)


# --------------------------------------------------------------------------
# Reminders


class Reminder(BaseModel):
    """A reminder to the assignee, ``days_before`` calendar days before the due
    date ``due``; sent on the Oslo date ``on`` (moved back to a working day)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days_before: int
    on: date
    due: date


def reminders(
    received_at: datetime | date,
    due: date,
    days_before: Iterable[int] = REMINDER_DAYS,
) -> tuple[Reminder, ...]:
    """Reminders for a request received at ``received_at`` and due on ``due``,
    earliest first.

    A reminder ``n`` days before is on the Oslo date ``due - n``; when that is
    a weekend or public holiday it comes on the working day before (a reminder
    on Easter Sunday would be read on Easter Tuesday). One whose date is then
    on or before the day of receipt is skipped (it would remind of a request
    that has just arrived). Two that land on the same day become one, the more
    urgent (fewer days before).
    """
    received_on = oslo_date(received_at) if isinstance(received_at, datetime) else received_at
    found: dict[date, Reminder] = {}
    for before in sorted(set(days_before), reverse=True):
        if before < 1:
            raise DeadlineError(
                "reminder_invalid",
                f"a reminder comes at least 1 day before the due date, not {before}",
                f"en påminnelse kommer minst 1 dag før fristen, ikke {before}",
            )
        on = previous_working_day(due - timedelta(days=before))
        if on > received_on:
            found[on] = Reminder(days_before=before, on=on, due=due)
    return tuple(found[d] for d in sorted(found))


def reminder_due(
    now: datetime,
    received_at: datetime | date,
    due: date,
    sent: Collection[Reminder] = (),
    days_before: Iterable[int] = REMINDER_DAYS,
) -> Reminder | None:
    """The reminder to send at ``now``, or None.

    The latest reminder whose date has come, unless it was already sent (a
    missed 7-day reminder is not sent once the 2-day one is due: one e-mail,
    the more urgent one). None once the request is overdue (the overdue list
    takes over). A :class:`Reminder` names its due date, so after an extension
    the new deadline's reminders are new, whatever was sent before.
    """
    today = oslo_date(now)
    if today > due:
        return None
    come = [r for r in reminders(received_at, due, days_before) if r.on <= today]
    if not come:
        return None
    latest = come[-1]
    return None if latest in sent else latest
