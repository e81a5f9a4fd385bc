"""Delivery rules that need no I/O: backoff with jitter, quiet hours, per-channel rate limits, counters."""

from __future__ import annotations

import random
import time as _time
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def backoff(attempts: int, initial: timedelta, maximum: timedelta, rng: random.Random) -> timedelta:
    """How long to wait after the ``attempts``-th failed try (1 for the first): exponential, capped,
    with jitter (a random half of it) so that many messages failing at once do not retry at once."""
    base = min(maximum.total_seconds(), initial.total_seconds() * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base * (0.5 + 0.5 * rng.random()))


def quiet_until(now: datetime, timezone: str, start: time, end: time) -> datetime | None:
    """The end of the quiet hours ``now`` falls in (local time of ``timezone``), or None outside them."""
    local = now.astimezone(ZoneInfo(timezone))
    t = local.time().replace(tzinfo=None)
    if start == end:
        return None
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=ZoneInfo(timezone))


class RateLimiter:
    """A token bucket per channel, ``rates`` messages a second (0 or missing: unlimited), with a
    burst of one second's worth (at least one)."""

    def __init__(self, rates: dict[str, float]) -> None:
        self._rates = rates
        self._next: dict[str, float] = {}

    def reserve(self, channel: str) -> float:
        """Take the channel's next slot; returns how many seconds from now it is (0: now)."""
        rate = self._rates.get(channel, 0.0)
        if rate <= 0:
            return 0.0
        now = _time.monotonic()
        earliest = now - (max(1.0, rate) - 1) / rate  # a full bucket: a second's worth now
        slot = max(self._next.get(channel, earliest), earliest)
        self._next[channel] = slot + 1 / rate
        return max(0.0, slot - now)

    def give_back(self, channel: str) -> None:
        """Return a reserved slot that was not used (the message was deferred instead)."""
        rate = self._rates.get(channel, 0.0)
        if rate > 0 and channel in self._next:
            self._next[channel] -= 1 / rate


@dataclass(slots=True)
class Counters:
    """What the dispatcher did since it started: logged now and then, printed by the bench."""

    delivered: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    confirmed: int = 0
    """Notifications released by raising a stream's recorded-through mark from Temporal's history."""
    lags: list[float] = field(default_factory=list)
    """Seconds from a notification's creation to its delivery (the latest 100,000)."""

    def lag(self, seconds: float) -> None:
        self.lags.append(seconds)
        if len(self.lags) > 100_000:
            del self.lags[:50_000]

    def percentile(self, p: float) -> float | None:
        if not self.lags:
            return None
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> dict[str, float | int | None]:
        p50, p99 = self.percentile(50), self.percentile(99)
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "retried": self.retried,
            "deferred": self.deferred,
            "confirmed": self.confirmed,
            "lag_p50_ms": None if p50 is None else round(p50 * 1000, 1),
            "lag_p99_ms": None if p99 is None else round(p99 * 1000, 1),
        }
