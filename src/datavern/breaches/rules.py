"""The breach register's legal logic; pure, no I/O.

* **The clock (art. 33(1)).** A breach is notified to Datatilsynet "without
  undue delay and, where feasible, not later than 72 hours after having become
  aware of it". 72 hours is *elapsed* time: the deadline is computed on UTC
  instants, so a night when Norway changes to or from summer time does not make
  the window 71 or 73 hours long (a naive wall-clock "+3 days" would).
* **Late notification.** A notification after the deadline "shall be
  accompanied by reasons for the delay" (art. 33(1)); recording one without
  reasons is refused.
* **Risk (art. 33(1), 34(1)).** ``none``: unlikely to result in a risk, so
  no notification to Datatilsynet (the breach is still documented, art.
  33(5)); ``risk``: notify Datatilsynet; ``high_risk``: notify Datatilsynet and
  tell the people affected, unless an exception of art. 34(3) applies.
* **Art. 34(3) exceptions.** (a) the data was unintelligible to anyone not
  authorised (e.g. encrypted); (b) measures taken afterwards mean the high risk
  is no longer likely to materialise; (c) telling each person would involve
  disproportionate effort; then a public communication (or a similar measure)
  informs them instead, and must be described.
* **Awareness.** The controller is *aware* when it is reasonably certain that
  a security incident has compromised personal data (EDPB guidelines 9/2022);
  a short investigation may lie between the first *discovery* of an incident
  and awareness, never the other way round. So ``discovered_at`` may be before
  ``aware_at`` but never after it, and no moment of a breach may lie in the
  future. An investigation longer than 24 hours is accepted with a warning:
  Datatilsynet may regard the discovery as the moment of awareness.
* **Moments** given without an offset are Norwegian local time
  (Europe/Oslo). A local time that does not exist (the hour skipped in March)
  or exists twice (the hour repeated in October) is refused with a request for
  an explicit offset, since guessing would move the deadline by an hour.

The selection language for notifying people (``dataset.collection where
created_at < 2024-01-01 and status = 'active'``) is parsed here into data
(:class:`Selection`); nothing in it is ever turned into SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "ART34_EXCEPTIONS",
    "BREACH_TYPES",
    "CHANNELS",
    "NOTIFICATION_WINDOW",
    "OSLO",
    "REMINDER_THRESHOLDS",
    "RISK_LEVELS",
    "Art34Exception",
    "BreachFacts",
    "Channel",
    "ClockStatus",
    "ComparisonError",
    "Condition",
    "Count",
    "Finding",
    "MomentError",
    "RiskLevel",
    "Selection",
    "SelectionError",
    "clock_status",
    "deadline",
    "delay_reasons_problem",
    "due_reminder",
    "exception_problems",
    "facts_problems",
    "format_countdown",
    "format_duration",
    "is_late",
    "matches",
    "moment_problems",
    "next_steps",
    "parse_count",
    "parse_facts",
    "parse_moment",
    "parse_risk",
    "parse_selection",
    "pushdown_candidates",
    "risk_problems",
    "selection_text",
]

OSLO: Final = ZoneInfo("Europe/Oslo")
NOTIFICATION_WINDOW: Final = timedelta(hours=72)
# A gap between discovering an incident and being aware of a breach that is longer
# than this is worth a second look (EDPB 9/2022: the investigation should be short).
LONG_INVESTIGATION: Final = timedelta(hours=24)

RiskLevel = Literal["none", "risk", "high_risk"]
RISK_LEVELS: Final[tuple[RiskLevel, ...]] = get_args(RiskLevel)
Art34Exception = Literal["a", "b", "c"]
ART34_EXCEPTIONS: Final[tuple[Art34Exception, ...]] = get_args(Art34Exception)
Channel = Literal["email", "sms"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
# The three kinds of breach of art. 4(12) as the EDPB names them.
BreachType = Literal["confidentiality", "integrity", "availability"]
BREACH_TYPES: Final[tuple[BreachType, ...]] = get_args(BreachType)

# Reminders before the deadline: (key, time left when it is due). "overdue" is due
# once the deadline has passed. Only the newest due reminder is sent.
REMINDER_THRESHOLDS: Final[tuple[tuple[str, timedelta], ...]] = (
    ("48h", timedelta(hours=48)),
    ("24h", timedelta(hours=24)),
    ("6h", timedelta(hours=6)),
    ("overdue", timedelta(0)),
)

MAX_TEXT: Final = 20_000
MAX_TITLE: Final = 200


@dataclass(frozen=True)
class Finding:
    """One problem with an input: the field it concerns and what is wrong.

    ``code`` names the kind of problem, so the web console can say it in
    bokmål or English; ``value`` is the offending input when it is safe to
    repeat (a category key, a system key), else empty.
    """

    path: str
    message: str
    code: str = ""
    value: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


# --------------------------------------------------------------------------- #
# Moments
# --------------------------------------------------------------------------- #


class MomentError(ValueError):
    """A moment that cannot be used; the message says why, ``code`` what kind of problem."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


_MOMENT_HINT = "write it as 2026-11-20 14:30 (Norwegian time) or 2026-11-20T14:30+01:00"


def _local(naive: datetime) -> datetime:
    """A wall-clock time in Norway as an aware moment; refuses skipped and repeated times."""
    first = naive.replace(tzinfo=OSLO, fold=0)
    second = naive.replace(tzinfo=OSLO, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Either the hour skipped in spring (the time does not exist) or the hour
        # repeated in autumn (it exists twice): which one was meant is a guess.
        round_trip = first.astimezone(UTC).astimezone(OSLO).replace(tzinfo=None)
        if round_trip != naive:
            raise MomentError(
                "moment_dst_gap",
                f"{naive:%Y-%m-%d %H:%M} does not exist in Norway (the clocks skip that hour "
                "when summer time starts); give the offset, e.g. +01:00 or +02:00",
            )
        raise MomentError(
            "moment_dst_twice",
            f"{naive:%Y-%m-%d %H:%M} happens twice in Norway (the clocks go back that hour "
            "when summer time ends); give the offset, +02:00 for the first, +01:00 for the second",
        )
    return first


def parse_moment(value: object) -> datetime:
    """An aware UTC moment from text or a datetime; naive means Norwegian local time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise MomentError(
            "moment_date_only", f"a date without a time is not precise enough; {_MOMENT_HINT}"
        )
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MomentError("moment_invalid", f"empty; {_MOMENT_HINT}")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise MomentError(
                "moment_date_only", f"a date without a time is not precise enough; {_MOMENT_HINT}"
            )
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise MomentError("moment_invalid", f"not a date and time; {_MOMENT_HINT}") from None
    else:
        raise MomentError("moment_invalid", f"expected a date and time; {_MOMENT_HINT}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = _local(moment)
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- #
# The clock
# --------------------------------------------------------------------------- #


def deadline(aware_at: datetime) -> datetime:
    """Awareness + 72 hours of elapsed time (art. 33(1)), as a UTC moment."""
    if aware_at.tzinfo is None:
        raise ValueError("aware_at must be timezone-aware")
    # Adding to a UTC moment: adding to a Europe/Oslo datetime would add wall-clock
    # hours and give 71 or 73 real hours across a change to or from summer time.
    return aware_at.astimezone(UTC) + NOTIFICATION_WINDOW


def is_late(aware_at: datetime, notified_at: datetime) -> bool:
    return notified_at.astimezone(UTC) > deadline(aware_at)


def delay_reasons_problem(
    aware_at: datetime, notified_at: datetime, reasons: str | None
) -> str | None:
    """Why a notification cannot be recorded as it is, or None (art. 33(1), second sentence)."""
    if is_late(aware_at, notified_at) and not (reasons and reasons.strip()):
        late_by = notified_at.astimezone(UTC) - deadline(aware_at)
        return (
            f"the notification comes {format_duration(late_by, 'en')} after the 72-hour "
            "deadline; art. 33(1) requires the reasons for the delay (give them as "
            "delay_reasons)"
        )
    return None


ClockState = Literal["running", "overdue", "notified", "notified_late", "not_required"]


@dataclass(frozen=True)
class ClockStatus:
    state: ClockState
    deadline: datetime
    # Time left until the deadline (negative when it has passed); for notified
    # breaches, the time that was left when the notification was sent.
    remaining: timedelta

    @property
    def stopped(self) -> bool:
        return self.state in ("notified", "notified_late", "not_required")


def clock_status(
    aware_at: datetime,
    now: datetime,
    *,
    notified_at: datetime | None = None,
    risk: RiskLevel | None = None,
) -> ClockStatus:
    """Where a breach stands against the 72-hour deadline.

    An unassessed breach counts as notifiable: the clock runs until someone has
    assessed that it is unlikely to result in a risk, or Datatilsynet is notified.
    """
    due = deadline(aware_at)
    if notified_at is not None:
        left = due - notified_at.astimezone(UTC)
        return ClockStatus("notified_late" if left < timedelta(0) else "notified", due, left)
    left = due - now.astimezone(UTC)
    if risk == "none":
        return ClockStatus("not_required", due, left)
    return ClockStatus("overdue" if left < timedelta(0) else "running", due, left)


_UNITS: Final[Mapping[str, tuple[str, str, str, str]]] = {
    # (days, hours, minutes, "less than a minute")
    "nb": ("døgn", "t", "min", "under 1 min"),
    "en": ("d", "h", "min", "less than 1 min"),
}


def format_duration(delta: timedelta, lang: str) -> str:
    """``47 t 12 min`` / ``47 h 12 min``; whole days appear from 72 hours up.

    Rounded down to the minute, so a countdown never shows more time than is left.
    """
    days_word, hours_word, minutes_word, tiny = _UNITS.get(lang, _UNITS["en"])
    seconds = int(abs(delta).total_seconds())
    minutes = seconds // 60
    if minutes == 0:
        return tiny
    hours, minutes = divmod(minutes, 60)
    if hours >= 72:
        days, hours = divmod(hours, 24)
        return f"{days} {days_word} {hours} {hours_word}"
    if hours == 0:
        return f"{minutes} {minutes_word}"
    return f"{hours} {hours_word} {minutes} {minutes_word}"


def format_countdown(status: ClockStatus, lang: str) -> str:
    """The countdown as the console and the CLI show it, e.g. ``47 t 12 min igjen``."""
    nb = lang == "nb"
    span = format_duration(status.remaining, lang)
    if status.state == "running":
        return f"{span} igjen" if nb else f"{span} left"
    if status.state == "overdue":
        return f"fristen gikk ut for {span} siden" if nb else f"overdue by {span}"
    if status.state == "notified":
        return (
            f"meldt til Datatilsynet, {span} før fristen"
            if nb
            else f"notified to Datatilsynet {span} before the deadline"
        )
    if status.state == "notified_late":
        return (
            f"meldt til Datatilsynet {span} etter fristen"
            if nb
            else f"notified to Datatilsynet {span} after the deadline"
        )
    return (
        "ikke meldepliktig: vurdert til ingen risiko"
        if nb
        else "not notifiable: assessed as no risk"
    )


def due_reminder(status: ClockStatus, already_sent: Iterable[str]) -> str | None:
    """The newest reminder threshold the clock has passed and no reminder was sent for."""
    if status.stopped:
        return None
    sent = set(already_sent)
    due: str | None = None
    for key, left in REMINDER_THRESHOLDS:
        passed = status.remaining < left if key == "overdue" else status.remaining <= left
        if passed:
            due = key
    if due is None or due in sent:
        return None
    return due


# --------------------------------------------------------------------------- #
# The breach record (art. 33(3) and 33(5))
# --------------------------------------------------------------------------- #


class Count(BaseModel):
    """An approximate number (art. 33(3)(a)): exact, or a range ``min``-``max``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int = Field(ge=0)
    max: int | None = Field(default=None, ge=0)

    def __str__(self) -> str:
        if self.max is None or self.max == self.min:
            return str(self.min)
        return f"{self.min}-{self.max}"


def parse_count(value: object) -> Count | None:
    """``120``, ``"100-500"``, ``{min: 100, max: 500}`` or nothing; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Count):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a number such as 120 or a range such as 100-500")
    if isinstance(value, int):
        return Count(min=value)
    if isinstance(value, Mapping):
        return Count.model_validate(dict(value))
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u2013", "-")
        found = re.fullmatch(r"(\d{1,12})(?:-(\d{1,12}))?", text)
        if found:
            low = int(found.group(1))
            high = int(found.group(2)) if found.group(2) else None
            return Count(min=low, max=high)
    raise ValueError("expected a number such as 120 or a range such as 100-500")


def _text(limit: int) -> Any:
    return Field(default=None, max_length=limit)


class BreachFacts(BaseModel):
    """What is known about one breach at one stage (one version).

    Required from the first registration: a title, what happened, who
    discovered it, and the moment of awareness. The rest may follow in stages
    (art. 33(4)); the draft to Datatilsynet marks what is still unknown.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    cause: str | None = _text(MAX_TEXT)
    breach_types: list[BreachType] = Field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    discovered_at: datetime | None = None
    discovered_by: str = Field(min_length=1, max_length=MAX_TITLE)
    how_discovered: str | None = _text(MAX_TEXT)
    aware_at: datetime
    systems: list[str] = Field(default_factory=list)
    data_categories: list[str] = Field(default_factory=list)
    data_subjects: list[str] = Field(default_factory=list)
    people_affected: Count | None = None
    records_affected: Count | None = None
    consequences: str | None = _text(MAX_TEXT)
    measures_taken: str | None = _text(MAX_TEXT)
    measures_planned: str | None = _text(MAX_TEXT)
    data_location: str | None = _text(MAX_TEXT)
    contact: str | None = _text(MAX_TEXT)
    advice: str | None = _text(MAX_TEXT)
    delay_reasons: str | None = _text(MAX_TEXT)

    @field_validator("started_at", "ended_at", "discovered_at", "aware_at", mode="before")
    @classmethod
    def _moment(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_moment(value)
        except MomentError as exc:
            raise PydanticCustomError(exc.code, str(exc)) from None

    @field_validator("people_affected", "records_affected", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        try:
            return parse_count(value)
        except (ValueError, ValidationError):
            raise PydanticCustomError(
                "count_invalid", "expected a number such as 120 or a range such as 100-500"
            ) from None

    @field_validator("systems", "data_categories", "data_subjects", "breach_types", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "cause",
        "how_discovered",
        "consequences",
        "measures_taken",
        "measures_planned",
        "data_location",
        "contact",
        "advice",
        "delay_reasons",
    )
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def discovery(self) -> datetime:
        return self.discovered_at or self.aware_at

    def content(self) -> dict[str, Any]:
        """The JSON stored in a version (moments as ISO text in UTC)."""
        return self.model_dump(mode="json")


_FIELD_NAMES: Final = {
    "title": "a short title",
    "description": "what happened",
    "discovered_by": "who discovered the breach",
    "aware_at": "the moment of awareness",
}


def _pydantic_findings(error: ValidationError) -> list[Finding]:
    findings = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"])
        kind = item["type"]
        field = str(item["loc"][0]) if item["loc"] else ""
        code = kind
        if kind == "missing":
            what = _FIELD_NAMES.get(field, "a value")
            message, code = f"required: give {what}", "required"
        elif kind == "extra_forbidden":
            known = ", ".join(BreachFacts.model_fields)
            message, code = f"unknown field; known fields: {known}", "unknown_field"
        elif kind == "string_too_short":
            message, code = "must not be empty", "required"
        elif kind == "string_too_long":
            message, code = f"too long (at most {item['ctx']['max_length']} characters)", "too_long"
        elif kind == "literal_error" and field == "breach_types":
            message = f"unknown breach type; use {', '.join(BREACH_TYPES)}"
            code = "breach_type_unknown"
        elif kind == "value_error":
            message, code = str(item["ctx"]["error"]), "invalid"
        else:
            message = str(item["msg"])
            if not kind.startswith(("moment_", "count_")):
                code = "invalid"
        findings.append(Finding(path, message, code))
    return findings


def parse_facts(data: Mapping[str, Any]) -> tuple[BreachFacts | None, list[Finding]]:
    """Validate raw input; the facts, or None with every problem found."""
    try:
        return BreachFacts.model_validate(dict(data)), []
    except ValidationError as exc:
        return None, _pydantic_findings(exc)


def moment_problems(data: Mapping[str, Any], now: datetime) -> list[Finding]:
    """Moments in the future among raw input that did not validate as a whole.

    So that a form missing its title still hears that its awareness moment lies
    in the future: every problem at once, not one round trip per problem.
    """
    future = now.astimezone(UTC) + timedelta(minutes=1)
    findings = []
    for name in ("started_at", "ended_at", "discovered_at", "aware_at"):
        value = data.get(name)
        if value is None or value == "":
            continue
        try:
            moment = parse_moment(value)
        except MomentError:
            continue  # reported by the model's own validation
        if moment > future:
            findings.append(
                Finding(
                    name,
                    "lies in the future; record what has happened, with the time it happened",
                    "future",
                )
            )
    return findings


def facts_problems(facts: BreachFacts, now: datetime) -> tuple[list[Finding], list[Finding]]:
    """(errors, warnings) that depend on the moments of the breach and on ``now``."""
    errors: list[Finding] = []
    warnings: list[Finding] = []
    moments = {
        "started_at": facts.started_at,
        "ended_at": facts.ended_at,
        "discovered_at": facts.discovered_at,
        "aware_at": facts.aware_at,
    }
    # A minute of slack for clocks that differ between machines.
    future = now.astimezone(UTC) + timedelta(minutes=1)
    for name, moment in moments.items():
        if moment is not None and moment > future:
            errors.append(
                Finding(
                    name,
                    "lies in the future; record what has happened, with the time it happened",
                    "future",
                )
            )
    if facts.discovered_at and facts.discovered_at > facts.aware_at:
        errors.append(
            Finding(
                "discovered_at",
                "is after aware_at; awareness cannot come before the breach was discovered "
                "(leave discovered_at out when they are the same moment)",
                "discovered_after_aware",
            )
        )
    if facts.started_at and facts.started_at > facts.discovery:
        errors.append(
            Finding("started_at", "is after the breach was discovered", "started_after_discovery")
        )
    if facts.started_at and facts.ended_at and facts.ended_at < facts.started_at:
        errors.append(Finding("ended_at", "is before started_at", "ended_before_started"))
    for name in ("people_affected", "records_affected"):
        count = getattr(facts, name)
        if count is not None and count.max is not None and count.max < count.min:
            errors.append(Finding(name, "the range ends below its start", "range_reversed"))
    if facts.discovered_at and facts.aware_at - facts.discovered_at > LONG_INVESTIGATION:
        warnings.append(
            Finding(
                "discovered_at",
                "more than 24 hours passed between discovery and awareness; Datatilsynet "
                "may regard the discovery as the moment of awareness (EDPB guidelines 9/2022)",
                "long_investigation",
            )
        )
    return errors, warnings


def parse_risk(level: object, reasoning: object) -> tuple[RiskLevel | None, list[Finding]]:
    """A risk level with its reasoning, or the problems (unknown level, no reasoning)."""
    findings = risk_problems(level, reasoning)
    if findings:
        return None, findings
    assert isinstance(level, str)
    return next(r for r in RISK_LEVELS if r == level.strip()), []


def risk_problems(level: object, reasoning: object) -> list[Finding]:
    findings = []
    if not isinstance(level, str) or level.strip() not in RISK_LEVELS:
        shown = f" {level!r}" if isinstance(level, str) and len(level) <= 40 else ""
        findings.append(
            Finding(
                "risk", f"unknown risk level{shown}; use none, risk or high_risk", "risk_unknown"
            )
        )
    if not isinstance(reasoning, str) or not reasoning.strip():
        findings.append(
            Finding(
                "risk_reasoning",
                "required: say why this risk level (what data, how many people, how likely "
                "and how serious the harm is)",
                "reasoning_required",
            )
        )
    elif len(reasoning) > MAX_TEXT:
        findings.append(
            Finding("risk_reasoning", f"too long (at most {MAX_TEXT} characters)", "too_long")
        )
    return findings


def exception_problems(
    letter: object, reasoning: object, public_communication: object, risk: RiskLevel | None
) -> list[Finding]:
    """Problems with recording an art. 34(3) exception."""
    findings = []
    if not isinstance(letter, str) or letter.strip().lower() not in ART34_EXCEPTIONS:
        findings.append(
            Finding(
                "art34_3",
                "unknown exception; use a (data unintelligible, e.g. encrypted), b (later "
                "measures remove the high risk) or c (disproportionate effort: public "
                "communication instead)",
                "exception_unknown",
            )
        )
    if not isinstance(reasoning, str) or not reasoning.strip():
        findings.append(
            Finding("reasoning", "required: say why the exception applies", "reasoning_required")
        )
    elif len(reasoning) > MAX_TEXT:
        findings.append(
            Finding("reasoning", f"too long (at most {MAX_TEXT} characters)", "too_long")
        )
    if (
        isinstance(letter, str)
        and letter.strip().lower() == "c"
        and not (isinstance(public_communication, str) and public_communication.strip())
    ):
        findings.append(
            Finding(
                "public_communication",
                "art. 34(3)(c) requires a public communication or similar measure instead; "
                "say where and when the public is informed",
                "public_communication_required",
            )
        )
    if risk != "high_risk":
        findings.append(
            Finding(
                "risk",
                "art. 34 applies only to a breach assessed as high risk; assess the risk as "
                "high_risk first (no notice to people is required otherwise)",
                "exception_needs_high_risk",
            )
        )
    return findings


# --------------------------------------------------------------------------- #
# Selecting the people to tell (art. 34)
# --------------------------------------------------------------------------- #

Scalar = str | int | Decimal | bool | date | datetime
Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "is not null"]
OPS: Final[tuple[Op, ...]] = get_args(Op)


class SelectionError(ValueError):
    """A selection that cannot be parsed; says where (column) and what was expected."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.column = column
        super().__init__(f"column {column}: {message}" if column is not None else message)


class ComparisonError(ValueError):
    """A database value that cannot be compared with the condition's value (no values shown)."""

    def __init__(self, field: str, expected: str) -> None:
        self.field = field
        super().__init__(
            f"field {field!r} holds values that cannot be compared with {expected}; "
            "check the field and the value in the selection"
        )


class Condition(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    field: str
    op: Op
    value: Any = None


class Selection(BaseModel):
    """``dataset.collection`` and conditions AND-ed together; data, never SQL."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    collection: str
    conditions: tuple[Condition, ...] = ()

    @property
    def address(self) -> str:
        return f"{self.dataset}.{self.collection}"


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
    |(?P<datetime>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\d:]))
    |(?P<number>-?\d+(?:\.\d+)?(?![\w.]))
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),])
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.X,
)
_ADDRESS = re.compile(r"\s*(?P<address>[A-Za-z0-9_][A-Za-z0-9_.<>-]*)")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    column: int  # 1-based


def _tokens(text: str, offset: int) -> list[_Tok]:
    tokens = []
    position = offset
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            raise SelectionError(
                "unexpected character; quote text values ('Oslo') and use =, !=, <, <=, >, "
                ">=, in (...), is null",
                position + 1,
            )
        kind = found.lastgroup or ""
        if kind != "space":
            tokens.append(_Tok(kind, found.group(), position + 1))
        position = found.end()
    return tokens


def _literal(tok: _Tok) -> Scalar:
    if tok.kind == "string":
        quote = tok.text[0]
        return tok.text[1:-1].replace(quote * 2, quote)
    if tok.kind == "number":
        if "." in tok.text:
            return Decimal(tok.text)
        return int(tok.text)
    if tok.kind == "date":
        try:
            return date.fromisoformat(tok.text)
        except ValueError:
            raise SelectionError("not a valid date", tok.column) from None
    if tok.kind == "datetime":
        text = tok.text.replace(" ", "T")
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise SelectionError("not a valid date and time", tok.column) from None
    if tok.kind == "word" and tok.text.lower() in ("true", "false"):
        return tok.text.lower() == "true"
    if tok.kind == "word":
        raise SelectionError(
            f"{tok.text!r} is not a value; quote text values, e.g. '{tok.text}'", tok.column
        )
    raise SelectionError("expected a value", tok.column)


def parse_selection(text: str) -> Selection:
    """Parse ``dataset.collection [where FIELD OP VALUE [and ...]]``.

    Operators: ``= != < <= > >=``, ``in (v, ...)``, ``not in (v, ...)``,
    ``is null``, ``is not null``. Values: numbers, 'quoted text', dates
    (2024-01-01), date-times (2024-01-01T12:00, optionally with an offset),
    true/false. Conditions are joined with ``and`` only.
    """
    if len(text) > 2000:
        raise SelectionError("the selection is too long (at most 2000 characters)")
    found = _ADDRESS.match(text)
    if found is None or "." not in found.group("address"):
        raise SelectionError(
            "start with the collection as dataset.collection, e.g. "
            '"shop.customers where created_at < 2024-01-01"',
            1,
        )
    address = found.group("address")
    dataset, _, collection = address.rpartition(".")
    if not dataset or not re.fullmatch(_IDENT, collection):
        raise SelectionError("expected dataset.collection", found.start("address") + 1)
    tokens = _tokens(text, found.end())
    conditions: list[Condition] = []
    if tokens:
        if tokens[0].kind != "word" or tokens[0].text.lower() != "where":
            raise SelectionError("expected `where` after the collection", tokens[0].column)
        position = 1
        while True:
            condition, position = _condition(tokens, position)
            conditions.append(condition)
            if position >= len(tokens):
                break
            tok = tokens[position]
            if tok.kind == "word" and tok.text.lower() == "and":
                position += 1
                continue
            if tok.kind == "word" and tok.text.lower() == "or":
                raise SelectionError(
                    "`or` is not supported; use `in (...)`, or notify each group in turn",
                    tok.column,
                )
            raise SelectionError("expected `and` or the end of the selection", tok.column)
    return Selection(dataset=dataset, collection=collection, conditions=tuple(conditions))


def _condition(tokens: Sequence[_Tok], position: int) -> tuple[Condition, int]:
    def at(index: int) -> _Tok | None:
        return tokens[index] if index < len(tokens) else None

    field = at(position)
    if field is None:
        last = tokens[-1]
        raise SelectionError("expected a condition", last.column + len(last.text))
    if field.kind != "word" or field.text.lower() in ("and", "or", "where"):
        raise SelectionError("expected a field name", field.column)
    op_tok = at(position + 1)
    if op_tok is None:
        raise SelectionError("expected an operator after the field", field.column + len(field.text))
    word = op_tok.text.lower()
    if op_tok.kind == "op":
        op: Op = "!=" if op_tok.text == "<>" else _as_op(op_tok.text)
        value_tok = at(position + 2)
        if value_tok is None:
            raise SelectionError("expected a value", op_tok.column + len(op_tok.text))
        return Condition(field=field.text, op=op, value=_literal(value_tok)), position + 3
    if op_tok.kind == "word" and word == "is":
        nxt = at(position + 2)
        if nxt is not None and nxt.kind == "word" and nxt.text.lower() == "null":
            return Condition(field=field.text, op="is null"), position + 3
        after = at(position + 3)
        if (
            nxt is not None
            and nxt.text.lower() == "not"
            and after is not None
            and after.text.lower() == "null"
        ):
            return Condition(field=field.text, op="is not null"), position + 4
        raise SelectionError("expected `is null` or `is not null`", op_tok.column)
    negated = False
    start = position + 1
    if op_tok.kind == "word" and word == "not":
        negated = True
        start += 1
        op_tok = at(start) or op_tok
        word = op_tok.text.lower()
    if op_tok.kind == "word" and word == "in":
        values, position = _value_list(tokens, start + 1, op_tok)
        return (
            Condition(field=field.text, op="not in" if negated else "in", value=tuple(values)),
            position,
        )
    raise SelectionError(
        "expected an operator: =, !=, <, <=, >, >=, in (...), is null", op_tok.column
    )


def _as_op(text: str) -> Op:
    for op in OPS:
        if op == text:
            return op
    raise SelectionError(f"unknown operator {text!r}")


def _value_list(tokens: Sequence[_Tok], position: int, after: _Tok) -> tuple[list[Scalar], int]:
    if position >= len(tokens) or tokens[position].text != "(":
        raise SelectionError("expected ( after `in`", after.column + len(after.text))
    values: list[Scalar] = []
    position += 1
    while True:
        end = tokens[-1].column + len(tokens[-1].text)
        if position >= len(tokens):
            raise SelectionError("the list is not closed with )", end)
        values.append(_literal(tokens[position]))
        position += 1
        if position >= len(tokens):
            raise SelectionError("the list is not closed with )", end)
        tok = tokens[position]
        position += 1
        if tok.text == ")":
            return values, position
        if tok.text != ",":
            raise SelectionError("expected , or ) in the list", tok.column)


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def selection_text(selection: Selection, *, redact_text: bool = False) -> str:
    """The canonical text of a selection; with ``redact_text``, quoted values become '…'.

    The audit log keeps the redacted form: a selection may name a person
    (``where email = '...'``), numbers and dates are kept.
    """

    def show(value: Any) -> str:
        if redact_text and isinstance(value, str):
            return "'…'"
        return _literal_text(value)

    parts = []
    for c in selection.conditions:
        if c.op in ("is null", "is not null"):
            parts.append(f"{c.field} {c.op}")
        elif c.op in ("in", "not in"):
            parts.append(f"{c.field} {c.op} ({', '.join(show(v) for v in c.value)})")
        else:
            parts.append(f"{c.field} {c.op} {show(c.value)}")
    where = f" where {' and '.join(parts)}" if parts else ""
    return f"{selection.address}{where}"


def pushdown_candidates(selection: Selection) -> dict[str, list[Any]]:
    """Equality conditions the connector can filter on (``{field: [values]}``).

    Only ``=`` and ``in`` map onto the connector contract (IN-lists); every
    condition is still evaluated by :func:`matches` on the rows returned.
    """
    filters: dict[str, list[Any]] = {}
    for c in selection.conditions:
        if c.op == "=":
            values = [c.value]
        elif c.op == "in":
            values = list(c.value)
        else:
            continue
        if c.field in filters:
            filters[c.field] = [v for v in filters[c.field] if v in values]
        else:
            filters[c.field] = values
    return filters


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time())


def _parse_temporal(text: str) -> date | datetime | None:
    candidate = text.strip().replace(" ", "T", 1)
    if candidate.endswith("Z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        if len(candidate) == 10:
            return date.fromisoformat(candidate)
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _comparable(field: str, actual: Any, wanted: Any) -> tuple[Any, Any]:
    """Both sides as one comparable type, or ComparisonError.

    Dates and times: a date compared with a date-time means midnight; a naive
    value compared with an aware one is taken as UTC when it comes from the
    database and as Norwegian time when it comes from the selection. Text
    columns holding ISO dates (common in SQLite) are read as dates.
    """
    if isinstance(wanted, bool) or isinstance(actual, bool):
        if isinstance(actual, bool) and isinstance(wanted, bool):
            return actual, wanted
        if isinstance(actual, int) and isinstance(wanted, bool):
            return bool(actual), wanted
        raise ComparisonError(field, "true/false")
    if isinstance(wanted, date):
        if isinstance(actual, str):
            parsed = _parse_temporal(actual)
            if parsed is None:
                raise ComparisonError(field, "a date")
            actual = parsed
        if not isinstance(actual, date):
            raise ComparisonError(field, "a date")
        if not isinstance(actual, datetime) and not isinstance(wanted, datetime):
            return actual, wanted
        left, right = _as_datetime(actual), _as_datetime(wanted)
        if (left.tzinfo is None) != (right.tzinfo is None):
            if left.tzinfo is None:
                left = left.replace(tzinfo=UTC)
            if right.tzinfo is None:
                try:
                    right = _local(right)
                except MomentError as exc:
                    raise SelectionError(str(exc)) from None
        return left, right
    if isinstance(wanted, int | Decimal):
        if isinstance(actual, int | float | Decimal):
            return Decimal(str(actual)), Decimal(str(wanted))
        if isinstance(actual, str):
            try:
                return Decimal(actual.strip()), Decimal(str(wanted))
            except InvalidOperation:
                raise ComparisonError(field, "a number") from None
        raise ComparisonError(field, "a number")
    if isinstance(wanted, str):
        if isinstance(actual, str):
            return actual, wanted
        # Enums, UUIDs and the like compare as their text.
        if isinstance(actual, int | Decimal | float | date):
            raise ComparisonError(field, "text")
        return str(actual), wanted
    raise ComparisonError(field, "this value")


def _holds(condition: Condition, row: Mapping[str, Any]) -> bool:
    actual = row.get(condition.field)
    if condition.op == "is null":
        return actual is None
    if condition.op == "is not null":
        return actual is not None
    if actual is None:
        return False  # as in SQL: NULL satisfies no comparison
    if condition.op in ("in", "not in"):
        inside = False
        for value in condition.value:
            left, right = _comparable(condition.field, actual, value)
            if left == right:
                inside = True
                break
        return inside if condition.op == "in" else not inside
    left, right = _comparable(condition.field, actual, condition.value)
    op = condition.op
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def matches(selection: Selection, row: Mapping[str, Any]) -> bool:
    """Whether a row satisfies every condition (ComparisonError on incomparable types)."""
    return all(_holds(c, row) for c in selection.conditions)


# --------------------------------------------------------------------------- #
# What is still to be done
# --------------------------------------------------------------------------- #

NextStep = Literal["assess_risk", "notify_datatilsynet", "give_delay_reasons", "notify_subjects"]


def next_steps(
    *,
    status: ClockStatus,
    risk: RiskLevel | None,
    delay_reasons: str | None,
    people_told: int,
    exception: Art34Exception | None,
) -> list[NextStep]:
    """The duties of art. 33 and 34 this breach still has open, most urgent first."""
    steps: list[NextStep] = []
    if risk is None:
        steps.append("assess_risk")
    if status.state in ("running", "overdue"):
        if status.state == "overdue" and not (delay_reasons and delay_reasons.strip()):
            steps.append("give_delay_reasons")
        steps.append("notify_datatilsynet")
    if risk == "high_risk" and exception is None and people_told == 0:
        steps.append("notify_subjects")
    return steps
