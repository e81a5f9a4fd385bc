"""Raise a stream's recorded-through mark once Temporal's history is seen to hold its events.

A local activity's append is tentative (``store.eventlog.Tentative``): the workflow task that decided
it may still be lost and its retry replace those events. The outbox holds their notifications back
until the stream's ``recorded_through`` reaches them. A later ordinary append raises the mark; so
does ``confirm_recorded``, given the envelopes a completed workflow task left in the history: each
one from the mark on that is, byte for byte, the stored event at its seq (the hash chain proves it)
moves the mark up. Nothing else changes, so the event log's own rules are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.events import Envelope
from store import chain
from store._db import Db, connection


async def confirm_recorded(db: Db, envelopes: Sequence[Envelope]) -> int:
    """Raise the mark of the envelopes' petition over every stored event the history shows; returns
    the mark after (0 for an unknown petition). The envelopes must be of one petition."""
    if not envelopes:
        return 0
    petition_id = envelopes[0].petition_id
    by_seq = {e.seq: e for e in envelopes if e.petition_id == petition_id}
    async with connection(db) as conn, conn.transaction():
        stream = await conn.fetchrow(
            "SELECT last_seq, recorded_through FROM streams WHERE petition_id = $1 FOR UPDATE", petition_id
        )
        if stream is None:
            return 0
        mark, last = stream["recorded_through"], stream["last_seq"]
        if not any(mark < seq <= last for seq in by_seq):
            return int(mark)
        rows = await conn.fetch(
            "SELECT seq, prev_hash, hash FROM events WHERE petition_id = $1 AND seq > $2 ORDER BY seq",
            petition_id,
            mark,
        )
        raised = mark
        for row in rows:
            envelope = by_seq.get(row["seq"])
            if envelope is None or row["seq"] != raised + 1:
                break
            data = chain.event_content(petition_id, envelope.seq, envelope.event)
            if chain.link(bytes(row["prev_hash"]), data) != bytes(row["hash"]):
                break  # the history holds another event here: the stored one may yet be replaced
            raised = row["seq"]
        if raised > mark:
            await conn.execute(
                "UPDATE streams SET recorded_through = greatest(recorded_through, $2) WHERE petition_id = $1",
                petition_id,
                raised,
            )
    return int(raised)
