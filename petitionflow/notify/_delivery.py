"""Delivery rules that need no I/O: backoff with jitter, quiet hours, per-channel rate windows, counters."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from store.rate_limits import Slots


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


def channel_slots(rates: dict[str, float], windows: dict[str, float]) -> dict[str, Slots]:
    """Each limited channel's shared window: ``rates`` messages a second (0 or missing: unlimited)
    counted over ``windows`` seconds (default one second, or ``1/rate`` below one a second), so at
    most ``rate × window`` (rounded down, at least one) messages go out within a window, whichever
    dispatcher sends them (``store.rate_limits.take_slots``)."""
    slots: dict[str, Slots] = {}
    for channel, rate in rates.items():
        if rate <= 0:
            continue
        seconds = windows.get(channel) or max(1.0, 1 / rate)
        slots[channel] = Slots(channel, max(1, math.floor(rate * seconds + 1e-9)), seconds)
    return slots


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
