"""Idempotency keys: a caller's key names one request, applied once and answered alike ever after.

The table is consulted before anything is sent to the petition, so "applied once" holds across
every API process and across the workflow's runs (Temporal dedupes an update id only within one
run, and a petition continues as new). Two requests with the same key at the same moment: the first
to insert the row executes, the other is told the key is in use (``IN_USE``) until it is answered.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from store._db import Db, connection

STALE_AFTER = timedelta(seconds=60)
"""A key still running after this long was left by a process that died mid-request: the next
request with it executes again (with the same Temporal update id, so one run still dedupes it)."""


class Begin(enum.Enum):
    EXECUTE = "execute"
    """The key is new (or was abandoned): this request executes it, then ``finish`` or ``release``."""
    REPLAY = "replay"
    """The key was answered: send ``Claimed.answer`` again."""
    MISMATCH = "mismatch"
    """The key was used with another request (body, verb or petition)."""
    IN_USE = "in_use"
    """Another request with the key is being answered right now."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class Claimed:
    begin: Begin
    answer: Answer | None = None


async def begin(
    db: Db, caller: str, key: str, request_hash: bytes, *, stale_after: timedelta = STALE_AFTER
) -> Claimed:
    """Claim ``key`` for this request of ``caller``, or say why it cannot execute."""
    async with connection(db) as conn:
        for _ in range(3):  # a key released between our insert and our read: try again
            if await conn.fetchval(
                "INSERT INTO idempotency_keys (caller, key, request_hash, status)"
                " VALUES ($1, $2, $3, 'running') ON CONFLICT (caller, key) DO NOTHING RETURNING true",
                caller,
                key,
                request_hash,
            ):
                return Claimed(Begin.EXECUTE)
            row = await conn.fetchrow(
                "SELECT request_hash, status, response_status, response_body::text AS body,"
                " updated_at < now() - $3::interval AS stale"
                " FROM idempotency_keys WHERE caller = $1 AND key = $2",
                caller,
                key,
                stale_after,
            )
            if row is None:
                continue
            if bytes(row["request_hash"]) != request_hash:
                return Claimed(Begin.MISMATCH)
            if row["status"] == "done":
                return Claimed(Begin.REPLAY, Answer(row["response_status"], json.loads(row["body"])))
            if row["stale"] and await conn.fetchval(
                "UPDATE idempotency_keys SET updated_at = now() WHERE caller = $1 AND key = $2"
                " AND status = 'running' AND updated_at < now() - $3::interval RETURNING true",
                caller,
                key,
                stale_after,
            ):
                return Claimed(Begin.EXECUTE)
            return Claimed(Begin.IN_USE)
    return Claimed(Begin.IN_USE)


async def finish(db: Db, caller: str, key: str, answer: Answer) -> None:
    """Record the answer of the request that executed ``key``."""
    async with connection(db) as conn:
        await conn.execute(
            "UPDATE idempotency_keys SET status = 'done', response_status = $3, response_body = $4::jsonb,"
            " updated_at = now() WHERE caller = $1 AND key = $2",
            caller,
            key,
            answer.status,
            json.dumps(answer.body),
        )


async def release(db: Db, caller: str, key: str) -> None:
    """Forget a key whose request ended with no final answer (unavailable, not found): a retry runs."""
    async with connection(db) as conn:
        await conn.execute(
            "DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND status = 'running'",
            caller,
            key,
        )
