"""One clock for the whole program, replaceable in tests (deadlines, holds, breaches)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and dry runs."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at


_clock: Clock = SystemClock()


def now() -> datetime:
    """The current moment, timezone-aware (UTC)."""
    return _clock.now()


def use_clock(clock: Clock) -> Clock:
    """Install a clock; returns the previous one so callers can restore it."""
    global _clock
    previous, _clock = _clock, clock
    return previous
