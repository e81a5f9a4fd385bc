"""The notifications outbox: senders claim unsent messages without blocking each other, then mark them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from store._db import Db, connection
from store.models import Notification

_LEASE = timedelta(minutes=5)
_COLUMNS = (
    "id, petition_id, seq, recipient_role, recipient_id, kind, payload::text AS payload, created_at, sent_at"
)


def _notification(row: asyncpg.Record) -> Notification:
    return Notification.model_validate({**dict(row), "payload": json.loads(row["payload"])})


async def claim_notifications(db: Db, limit: int = 100, *, lease: timedelta = _LEASE) -> list[Notification]:
    """Claim up to ``limit`` unsent notifications, oldest first, for ``lease``.

    Concurrent senders never get the same notification (``FOR UPDATE SKIP LOCKED``). A claim that
    is not followed by ``mark_sent`` within ``lease`` (the sender crashed) lets it be claimed again:
    delivery is at least once.
    """
    async with connection(db) as conn:
        rows = await conn.fetch(
            "UPDATE notifications SET claimed_until = now() + $2::interval WHERE id IN ("
            " SELECT id FROM notifications"
            " WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())"
            " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            limit,
            lease,
        )
    return sorted((_notification(r) for r in rows), key=lambda n: n.id)


async def mark_sent(db: Db, ids: Sequence[int]) -> int:
    """Record these notifications as sent; returns how many were unsent until now."""
    async with connection(db) as conn:
        status = await conn.execute(
            "UPDATE notifications SET sent_at = now() WHERE id = any($1::bigint[]) AND sent_at IS NULL",
            list(ids),
        )
    return int(status.split()[-1])


async def list_notifications(db: Db, petition_id: str) -> list[Notification]:
    """A petition's notifications, in the order they were owed."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM notifications WHERE petition_id = $1"
            " ORDER BY seq, recipient_role, recipient_id",
            petition_id,
        )
    return [_notification(r) for r in rows]
