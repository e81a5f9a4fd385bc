"""Settling an event conflict: the stored rows that block a petition's append make way for it.

An append refused by ``eventlog.EventConflict`` is retried by its workflow until the conflict is
settled (``activities.eventlog``): the workflow goes on answering, its timers wait. The workflow is
what decides the petition from here on, whatever the rows say, so the log follows it: the rows from
the first conflicting seq on move, whole, to ``superseded_events`` (as a lost workflow task's
tentative rows do), the read models are refolded from the rows before, and the next attempt of the
retrying append writes the workflow's own events there. Nothing is deleted: the auditor still finds
the moved rows. ``petitionflow conflicts`` (docs/operations.md) decides the seq from the workflow's
history; this module only carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.common import PetitionId
from store import chain, eventlog
from store._db import Db, connection


class LogMoved(Exception):
    """The stream's head is not the one the settlement was decided against. Nothing was changed."""


class InCheckpoint(Exception):
    """Rows to move are leaves of the audit's Merkle tree (``events.tree_index``): signed checkpoints
    already commit to them, and moving them breaks every checkpoint from the earliest such one on
    (``audit verify --all`` then reports that the log no longer extends it). Nothing was changed."""


REASON = (
    "settled: moved aside by an operator (petitionflow conflicts settle) because the workflow's"
    " history holds a different event at seq {seq}"
)
"""What ``superseded_events.reason`` says of the rows a settlement moved (the audit reports it)."""


@dataclass(frozen=True, slots=True)
class Settled:
    petition_id: PetitionId
    from_seq: int
    through_seq: int
    """The last seq moved to ``superseded_events``."""


async def settle(
    db: Db,
    petition_id: PetitionId,
    from_seq: int,
    *,
    head: tuple[int, bytes],
    rewrite_checkpointed: bool = False,
    note: str | None = None,
) -> Settled:
    """Move ``petition_id``'s events from ``from_seq`` on to ``superseded_events`` and refold its
    read models from the events before, in one transaction.

    ``head`` is the stream's ``(last_seq, last_hash)`` the caller compared the rows with: if an
    append moved the stream on since, nothing is done. Every event up to ``from_seq - 1`` stays
    known as recorded, none after it, and a tentative zone that started at or after ``from_seq``
    is forgotten (its rows are gone). The moved rows' ``reason`` says they were settled (``REASON``,
    then ``note``, the operator's own words, if given).

    Rows already in the audit's tree (``events.tree_index``) are moved only with
    ``rewrite_checkpointed``: the checkpoints that hold them stop verifying, as they should.

    Raises:
        LogMoved: the stream's head is not ``head``.
        InCheckpoint: rows from ``from_seq`` on are in the tree, and ``rewrite_checkpointed`` is off.
        ValueError: ``from_seq`` is not a stored seq.
    """
    last_seq, last_hash = head
    if not 1 <= from_seq <= last_seq:
        raise ValueError(f"seq {from_seq} is not stored (petition {petition_id} holds 1..{last_seq})")
    async with connection(db) as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT last_seq, last_hash FROM streams WHERE petition_id = $1 FOR UPDATE", petition_id
        )
        if row is None or (row["last_seq"], bytes(row["last_hash"])) != (last_seq, last_hash):
            raise LogMoved(f"petition {petition_id}'s event log changed since it was compared")
        leaves = await conn.fetchval(
            "SELECT count(*) FROM events WHERE petition_id = $1 AND seq >= $2 AND tree_index IS NOT NULL",
            petition_id,
            from_seq,
        )
        if leaves and not rewrite_checkpointed:
            raise InCheckpoint(
                f"{leaves} of petition {petition_id}'s rows from seq {from_seq} on are in the audit's"
                " tree: signed checkpoints commit to them, and moving them breaks those checkpoints"
            )
        prev_hash = chain.GENESIS
        if from_seq > 1:
            prev_hash = bytes(
                await conn.fetchval(
                    "SELECT hash FROM events WHERE petition_id = $1 AND seq = $2", petition_id, from_seq - 1
                )
            )
        await eventlog.supersede(conn, petition_id, from_seq, prev_hash)
        reason = REASON.format(seq=from_seq) + (f": {note}" if note else "")
        await conn.execute(
            "UPDATE superseded_events SET reason = $3 WHERE petition_id = $1 AND seq >= $2"
            " AND superseded_at = now() AND reason IS NULL",
            petition_id,
            from_seq,
            reason,
        )
        await conn.execute(
            "UPDATE streams SET recorded_through = least(recorded_through, $2 - 1),"
            " tentative_from = CASE WHEN tentative_from >= $2 THEN NULL ELSE tentative_from END,"
            " tentative_at = CASE WHEN tentative_from >= $2 THEN NULL ELSE tentative_at END"
            " WHERE petition_id = $1",
            petition_id,
            from_seq,
        )
    return Settled(petition_id, from_seq, last_seq)
