"""The notifications outbox: senders claim unsent messages without blocking each other, then mark them.

A notification is claimable when it is unsent, not claimed by a live lease, due (``next_attempt_at``:
backoff or quiet hours) and **confirmed**: its event's seq is at or below its stream's
``recorded_through`` mark, so an event that a lost workflow task wrote, and its retry may still
replace, never messages anyone (``store/recorded.py`` raises the mark).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from store._db import Db, connection
from store.models import Notification

_LEASE = timedelta(minutes=5)
_COLUMNS = (
    "id, petition_id, seq, recipient_role, recipient_id, kind, payload::text AS payload, created_at, sent_at,"
    " attempts, next_attempt_at, delivered_at, failed_at, last_error, channel, retried_at"
)


def _notification(row: asyncpg.Record) -> Notification:
    return Notification.model_validate({**dict(row), "payload": json.loads(row["payload"])})


UNBOUND_KINDS = frozenset({"sign_in_code"})
"""Kinds owed for no event of a petition (``store.sessions.SIGN_IN_CODE``): nothing to hold back."""


async def claim_notifications(
    db: Db, limit: int = 100, *, lease: timedelta = _LEASE, now: datetime | None = None
) -> list[Notification]:
    """Claim up to ``limit`` due, confirmed, unsent notifications, oldest first, for ``lease``.

    Concurrent senders never get the same notification (``FOR UPDATE SKIP LOCKED``). A claim that
    is not followed by a mark within ``lease`` (the sender crashed) lets it be claimed again:
    delivery is at least once. ``now`` is the sender's clock (default: the database's).
    """
    async with connection(db) as conn:
        rows = await conn.fetch(
            "WITH t AS (SELECT coalesce($3::timestamptz, now()) AS now)"
            " UPDATE notifications SET claimed_until = (SELECT now FROM t) + $2::interval WHERE id IN ("
            " SELECT n.id FROM notifications n LEFT JOIN streams s ON s.petition_id = n.petition_id"
            # Owed for an event: only once the event is known recorded. A message of no event (an
            # official's sign-in code, ``store.sessions``) has no stream and goes at once.
            " WHERE n.sent_at IS NULL"
            " AND (n.seq <= s.recorded_through OR (s.petition_id IS NULL AND n.kind = ANY($4::text[])))"
            " AND (n.claimed_until IS NULL OR n.claimed_until < (SELECT now FROM t))"
            " AND (n.next_attempt_at IS NULL OR n.next_attempt_at <= (SELECT now FROM t))"
            " ORDER BY n.id LIMIT $1 FOR UPDATE OF n SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            limit,
            lease,
            now,
            list(UNBOUND_KINDS),
        )
    return sorted((_notification(r) for r in rows), key=lambda n: n.id)


async def mark_sent(db: Db, ids: Sequence[int], *, channel: str | None = None) -> int:
    """Record these notifications as delivered; returns how many were unsent until now."""
    async with connection(db) as conn:
        status = await conn.execute(
            "UPDATE notifications SET sent_at = now(), delivered_at = now(), claimed_until = NULL,"
            " attempts = attempts + 1, last_error = NULL, channel = coalesce($2, channel)"
            " WHERE id = any($1::bigint[]) AND sent_at IS NULL",
            list(ids),
            channel,
        )
    return int(status.split()[-1])


async def mark_delivered(db: Db, delivered: Sequence[tuple[int, str]]) -> int:
    """Record ``(id, channel)`` pairs as delivered, in one statement; returns how many were unsent."""
    if not delivered:
        return 0
    async with connection(db) as conn:
        status = await conn.execute(
            "UPDATE notifications n SET sent_at = now(), delivered_at = now(), claimed_until = NULL,"
            " attempts = n.attempts + 1, last_error = NULL, channel = d.channel"
            " FROM unnest($1::bigint[], $2::text[]) AS d(id, channel)"
            " WHERE n.id = d.id AND n.sent_at IS NULL",
            [d[0] for d in delivered],
            [d[1] for d in delivered],
        )
    return int(status.split()[-1])


async def mark_retry(db: Db, id_: int, *, error: str, at: datetime, channel: str | None) -> None:
    """A try failed: count it, keep its cause, and release the row until ``at``."""
    async with connection(db) as conn:
        await conn.execute(
            "UPDATE notifications SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,"
            " claimed_until = NULL, channel = coalesce($4, channel) WHERE id = $1 AND sent_at IS NULL",
            id_,
            error[:500],
            at,
            channel,
        )


async def mark_failed(db: Db, id_: int, *, error: str, channel: str | None) -> None:
    """Give up on a notification: it is done (``sent_at``) and failed, its cause kept."""
    async with connection(db) as conn:
        await conn.execute(
            "UPDATE notifications SET attempts = attempts + 1, last_error = $2, failed_at = now(),"
            " sent_at = now(), claimed_until = NULL, next_attempt_at = NULL, channel = coalesce($3, channel)"
            " WHERE id = $1 AND sent_at IS NULL",
            id_,
            error[:500],
            channel,
        )


async def defer(db: Db, id_: int, until: datetime) -> None:
    """Hold a notification until ``until`` (quiet hours, a rate limit) without counting a try."""
    async with connection(db) as conn:
        await conn.execute(
            "UPDATE notifications SET next_attempt_at = $2, claimed_until = NULL"
            " WHERE id = $1 AND sent_at IS NULL",
            id_,
            until,
        )


async def retry_notifications(db: Db, *, ids: Sequence[int] = (), failed: bool = False) -> list[int]:
    """Make failed notifications (these ``ids``, or every failed one) due again, with a fresh count of
    tries. Returns the ids made due; a delivered or still pending id is left alone."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "UPDATE notifications SET failed_at = NULL, sent_at = NULL, next_attempt_at = NULL,"
            " claimed_until = NULL, attempts = 0, retried_at = now()"
            " WHERE failed_at IS NOT NULL AND ($2 OR id = any($1::bigint[])) RETURNING id",
            list(ids),
            failed,
        )
    return sorted(r["id"] for r in rows)


async def get_notification(db: Db, id_: int) -> Notification | None:
    async with connection(db) as conn:
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM notifications WHERE id = $1", id_)
    return None if row is None else _notification(row)


async def find_notifications(
    db: Db, *, failed: bool = False, petition_id: str | None = None, limit: int = 1000
) -> list[Notification]:
    """Notifications, newest first: only failed ones (``failed``), only a petition's (``petition_id``)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM notifications"
            " WHERE (NOT $1 OR failed_at IS NOT NULL) AND ($2::text IS NULL OR petition_id = $2)"
            " ORDER BY id DESC LIMIT $3",
            failed,
            petition_id,
            limit,
        )
    return [_notification(r) for r in rows]


async def list_notifications(db: Db, petition_id: str) -> list[Notification]:
    """A petition's notifications, in the order they were owed."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM notifications WHERE petition_id = $1"
            " ORDER BY seq, recipient_role, recipient_id",
            petition_id,
        )
    return [_notification(r) for r in rows]


async def held_back(
    db: Db, *, older_than: timedelta = timedelta(0), limit: int = 100
) -> list[tuple[str, int]]:
    """Petitions with unsent notifications above their stream's recorded-through mark, as
    ``(petition_id, highest held seq)``, those waiting longest first."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT n.petition_id, max(n.seq) AS seq FROM notifications n"
            " JOIN streams s ON s.petition_id = n.petition_id"
            " WHERE n.sent_at IS NULL AND n.seq > s.recorded_through AND n.created_at <= now() - $1::interval"
            " GROUP BY n.petition_id ORDER BY min(n.created_at) LIMIT $2",
            older_than,
            limit,
        )
    return [(r["petition_id"], r["seq"]) for r in rows]
