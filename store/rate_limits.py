"""Counting what a caller does within a window, in PostgreSQL, so every API process shares the count.

Each bucket (``address:203.0.113.7``, ``key:<hash>``, ``token:<hash>``, or whatever else must be
throttled, such as guesses) holds one row with the hits of its current window. A window opens at the
bucket's first hit and lasts its ``seconds``: a hit after it ends opens the next. One statement
counts every bucket of a request (an upsert per bucket, in bucket order so two requests never lock
the same rows in opposite orders).

The notifications dispatcher's sending slots (``take_slots``) are the same fixed window per channel
in their own table (``notify_rate_windows``), reserved a batch at a time rather than counted a hit
at a time: a channel's limit (an SMS gateway's contract) holds for every dispatcher together.

Why not a limiter library: ``limits`` (behind slowapi) and the other well-kept ones count in memory,
Redis, Memcached or MongoDB; none has a PostgreSQL backend, and PostgreSQL is the one shared store
this deployment already runs. A fixed window per bucket is a few lines of SQL, and lets a burst of at
most twice the limit straddle two windows, which is enough to stop floods and guessing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from store._db import Db, connection


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` hits of ``bucket`` within ``seconds``."""

    bucket: str
    limit: int
    seconds: float
    anonymous_only: bool = False
    """Count the hit only when the request presents no valid API key or token (see ``hit``)."""


@dataclass(frozen=True, slots=True)
class Count:
    """A bucket's hits in its current window, this one included."""

    window: Window
    hits: int
    resets_in: float
    """Seconds until the window ends."""

    @property
    def exceeded(self) -> bool:
        return self.hits > self.window.limit

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before the next hit can be allowed (``Retry-After``), at least 1."""
        return max(1, math.ceil(self.resets_in))


_HIT = """
WITH credential AS (
    SELECT EXISTS (SELECT 1 FROM api_keys WHERE key_hash = $4 AND revoked_at IS NULL)
        OR EXISTS (SELECT 1 FROM access_tokens WHERE token_hash = $5 AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > now())) AS valid
)
INSERT INTO rate_limits AS r (bucket, window_start, window_seconds, hits)
SELECT bucket, now(), seconds, 1
FROM unnest($1::text[], $2::float8[], $3::bool[]) AS t(bucket, seconds, anonymous_only), credential
WHERE NOT (anonymous_only AND credential.valid)
ORDER BY bucket
ON CONFLICT (bucket) DO UPDATE SET
    window_start = CASE WHEN r.window_start + make_interval(secs => r.window_seconds) <= now()
                        THEN now() ELSE r.window_start END,
    hits = CASE WHEN r.window_start + make_interval(secs => r.window_seconds) <= now()
                THEN 1 ELSE r.hits + 1 END,
    window_seconds = EXCLUDED.window_seconds
RETURNING bucket, hits,
    extract(epoch FROM window_start + make_interval(secs => window_seconds) - now())::float8 AS resets_in
"""


async def hit(
    db: Db, windows: Sequence[Window], *, key_digest: bytes | None = None, token_digest: bytes | None = None
) -> list[Count]:
    """Count one hit in each of ``windows`` (distinct buckets); returns the counts of those counted.

    Args:
        key_digest, token_digest: the stored hash (``store.auth.digest``) of the API key or token the
            request presents. When one is valid (live, unexpired), ``anonymous_only`` windows are not
            counted: a caller known by its credential is limited by the credential's window, and a
            request with none, or a wrong one (a guess), by its address's.
    """
    if not windows:
        return []
    by_bucket = {w.bucket: w for w in windows}
    if len(by_bucket) != len(windows):
        raise ValueError("each bucket may be counted once per hit")
    async with connection(db) as conn:
        rows = await conn.fetch(
            _HIT,
            [w.bucket for w in windows],
            [w.seconds for w in windows],
            [w.anonymous_only for w in windows],
            key_digest,
            token_digest,
        )
    counted = {r["bucket"]: Count(by_bucket[r["bucket"]], r["hits"], r["resets_in"]) for r in rows}
    return [counted[w.bucket] for w in windows if w.bucket in counted]


async def purge(db: Db) -> int:
    """Delete the buckets whose window has ended; returns how many."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "DELETE FROM rate_limits WHERE window_start + make_interval(secs => window_seconds) < now()"
            " RETURNING 1"
        )
    return len(rows)


# ------------------------------------------------------------------ the dispatcher's sending slots


@dataclass(frozen=True, slots=True)
class Slots:
    """Up to ``limit`` messages of ``channel`` within ``seconds``, across every dispatcher."""

    channel: str
    limit: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Grant:
    """What a reservation got: ``granted`` of the slots asked for, in a window ending in ``resets_in``."""

    channel: str
    granted: int
    resets_in: float


_TAKE = """
INSERT INTO notify_rate_windows AS r (channel, window_start, window_seconds, window_limit, used, granted)
SELECT channel, now(), seconds, lim, least(wanted, lim), least(wanted, lim)
FROM unnest($1::text[], $2::float8[], $3::int[], $4::int[]) AS t(channel, seconds, lim, wanted)
ORDER BY channel
ON CONFLICT (channel) DO UPDATE SET
    window_start = CASE WHEN r.window_start + make_interval(secs => r.window_seconds) <= now()
                        THEN now() ELSE r.window_start END,
    granted = CASE WHEN r.window_start + make_interval(secs => r.window_seconds) <= now()
                   THEN EXCLUDED.used
                   ELSE greatest(0, least(EXCLUDED.used, EXCLUDED.window_limit - r.used)) END,
    used = CASE WHEN r.window_start + make_interval(secs => r.window_seconds) <= now()
                THEN EXCLUDED.used
                ELSE r.used + greatest(0, least(EXCLUDED.used, EXCLUDED.window_limit - r.used)) END,
    window_seconds = EXCLUDED.window_seconds,
    window_limit = EXCLUDED.window_limit
RETURNING channel, granted,
    extract(epoch FROM window_start + make_interval(secs => window_seconds) - now())::float8 AS resets_in
"""


async def take_slots(db: Db, wanted: Sequence[tuple[Slots, int]]) -> list[Grant]:
    """Reserve sending slots for several channels in one statement: for each ``(slots, n)``, up to
    ``n`` of the ``slots.limit`` its channel's current window has left (a window opens at the first
    reservation after the last one ended). Every dispatcher shares the count (table
    ``notify_rate_windows``, migration 022); rows lock in channel order, so two never deadlock.

    A fixed window lets two windows' worth straddle a boundary (at most twice the limit within
    ``seconds``), as ``hit`` does; a slot granted but not used is not given back (it errs low)."""
    asked = [(s, n) for s, n in wanted if n > 0]
    if len({s.channel for s, _ in asked}) != len(asked):
        raise ValueError("each channel may be reserved once per call")
    if not asked:
        return []
    async with connection(db) as conn:
        rows = await conn.fetch(
            _TAKE,
            [s.channel for s, _ in asked],
            [s.seconds for s, _ in asked],
            [s.limit for s, _ in asked],
            [n for _, n in asked],
        )
    return [Grant(r["channel"], r["granted"], max(0.0, r["resets_in"])) for r in rows]
