"""Rate limits of the privacy centre: per client address and per identity, in memory.

The public forms can be abused two ways: flooding someone's inbox with codes
(many requests naming one address, from many places) and guessing codes (many
tries from one place, spread over cases). Each limit is a sliding window:

* filing a request or asking for a new code: ``DATAVERN_PC_SUBMIT_PER_IP`` (10)
  an hour per client address, and ``DATAVERN_PC_SUBMIT_PER_IDENTITY`` (5) an
  hour per identity (the keyed hash of the e-mail address);
* entering a code: ``DATAVERN_PC_VERIFY_PER_IP`` (30) in 15 minutes per client
  address; per case, five wrong codes lock it (verification.py).

Over a limit, the page answers 429 with a ``Retry-After`` header and a message
in the page's language; nothing is stored and no e-mail is sent. In memory is
enough for one process (several workers each keep their own count, which only
loosens the limit by that factor); the number of tracked keys is capped so a
flood of addresses cannot exhaust memory. Behind a proxy, set
``DATAVERN_PC_TRUST_FORWARDED=1`` so the client address is taken from the
proxy's ``X-Forwarded-For``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from pydantic_settings import BaseSettings, SettingsConfigDict

from datavern.core import clock


class PrivacyCentreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATAVERN_PC_", extra="ignore")

    submit_per_ip: int = 10
    submit_per_identity: int = 5
    submit_window_minutes: int = 60
    verify_per_ip: int = 30
    verify_window_minutes: int = 15
    trust_forwarded: bool = False


class SlidingWindow:
    """At most ``limit`` events per key within ``window``."""

    def __init__(self, limit: int, window: timedelta, max_keys: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._events.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may act again (0: now)."""
        now = clock.now()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.limit:
                return 0
            return max(1, int((times[0] + self.window - now).total_seconds()) + 1)

    def hit(self, key: str) -> None:
        now = clock.now()
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._events[key] = times
            self._events.move_to_end(key)
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)

    def reset(self) -> None:
        with self._lock:
            self._events.clear()


class Limits:
    """The privacy centre's limits for one app."""

    def __init__(self, settings: PrivacyCentreSettings | None = None) -> None:
        self.settings = settings or PrivacyCentreSettings()
        s = self.settings
        submit_window = timedelta(minutes=s.submit_window_minutes)
        self.submit_ip = SlidingWindow(s.submit_per_ip, submit_window)
        self.submit_identity = SlidingWindow(s.submit_per_identity, submit_window)
        self.verify_ip = SlidingWindow(s.verify_per_ip, timedelta(minutes=s.verify_window_minutes))

    def reset(self) -> None:
        for window in (self.submit_ip, self.submit_identity, self.verify_ip):
            window.reset()
