"""The per-petition hash chain makes any later edit or deletion in the log visible."""

from __future__ import annotations

import hashlib

import asyncpg

from schemas.common import Rating
from store import chain
from store.eventlog import append, verify_chain
from store.models import ChainProblem, ChainProblemKind
from tests.integration.story import Story


async def _stored_story(pool: asyncpg.Pool) -> Story:
    story = Story("p-1")
    story.acknowledge()
    story.accept()
    story.resolve()
    story.rate(Rating.SATISFIED)
    await append(pool, story.envelopes)
    return story


async def test_an_untouched_chain_verifies(pool: asyncpg.Pool) -> None:
    story = await _stored_story(pool)
    assert await verify_chain(pool, "p-1") == []
    first = await pool.fetchrow("SELECT prev_hash, hash FROM events WHERE petition_id = 'p-1' AND seq = 1")
    data = chain.event_content("p-1", 1, story.envelopes[0].event)
    assert first is not None
    assert bytes(first["prev_hash"]) == bytes(32)
    assert bytes(first["hash"]) == hashlib.sha256(bytes(32) + data).digest()


async def test_an_edited_body_is_named_by_its_seq(pool: asyncpg.Pool) -> None:
    await _stored_story(pool)
    await pool.execute(
        "UPDATE events SET body = jsonb_set(body, '{public_summary}', '\"Nothing was wrong.\"')"
        " WHERE petition_id = 'p-1' AND seq = 4"
    )
    assert await verify_chain(pool, "p-1") == [
        ChainProblem(
            petition_id="p-1",
            seq=4,
            kind=ChainProblemKind.HASH_MISMATCH,
            detail="its stored content does not hash to its stored hash",
        )
    ]


async def test_an_edited_time_is_detected_too(pool: asyncpg.Pool) -> None:
    await _stored_story(pool)
    await pool.execute("UPDATE events SET at = at - interval '1 day' WHERE petition_id = 'p-1' AND seq = 2")
    assert [(p.seq, p.kind) for p in await verify_chain(pool, "p-1")] == [(2, ChainProblemKind.HASH_MISMATCH)]


async def test_a_deleted_row_is_reported_as_a_gap(pool: asyncpg.Pool) -> None:
    await _stored_story(pool)
    await pool.execute("DELETE FROM events WHERE petition_id = 'p-1' AND seq = 3")
    assert await verify_chain(pool, "p-1") == [
        ChainProblem(petition_id="p-1", seq=4, kind=ChainProblemKind.GAP, detail="seqs 3..3 are missing")
    ]


async def test_a_rehashed_row_breaks_the_link_to_its_successor(pool: asyncpg.Pool) -> None:
    """A forger who edits a row and recomputes its hash still breaks the next row's prev_hash."""
    story = await _stored_story(pool)
    event = story.envelopes[1].event.model_copy(update={"note": "backdated"})
    prev = await pool.fetchval("SELECT prev_hash FROM events WHERE petition_id = 'p-1' AND seq = 2")
    _actor, body = chain.split_event(event)
    forged_hash = chain.link(bytes(prev), chain.event_content("p-1", 2, event))
    await pool.execute(
        "UPDATE events SET body = $1::jsonb, hash = $2 WHERE petition_id = 'p-1' AND seq = 2",
        chain.canonical_json(body),
        forged_hash,
    )
    assert [(p.seq, p.kind) for p in await verify_chain(pool, "p-1")] == [(3, ChainProblemKind.BROKEN_LINK)]


def test_canonical_time_ignores_the_offset_an_instant_was_written_with() -> None:
    from datetime import datetime, timedelta, timezone

    beijing = datetime(2026, 3, 2, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    assert chain.canonical_at(beijing) == "2026-03-02T08:00:00.000000Z"
