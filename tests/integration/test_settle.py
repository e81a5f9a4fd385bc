"""Settling a conflict: the rows that block the workflow's append move aside, and it goes through."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from petitionflow.audit.checkpoints import check_log, take_checkpoint
from petitionflow.audit.signing import Ed25519Signer
from store.conflicts import REASON, InCheckpoint, LogMoved, settle
from store.eventlog import EventConflict, Tentative, append, read_events, verify_chain
from store.queries import get_petition
from store.rebuild import dump_read_models, rebuild_read_models
from tests.integration.story import T0, Story
from workflows.lifecycle import fold


def _story(*steps: timedelta) -> Story:
    story = Story("p-1")
    story.acknowledge(after=steps[0])
    for step in steps[1:]:
        story.accept(after=step)
    return story


async def _head(pool: asyncpg.Pool) -> tuple[int, bytes]:
    row = await pool.fetchrow("SELECT last_seq, last_hash FROM streams WHERE petition_id = 'p-1'")
    assert row is not None
    return row["last_seq"], bytes(row["last_hash"])


async def test_settling_moves_the_rows_from_the_seq_on_and_the_append_then_goes_through(
    pool: asyncpg.Pool,
) -> None:
    theirs = _story(timedelta(hours=1), timedelta(minutes=5))  # the rows another writer stored
    ours = _story(timedelta(hours=2))  # what the workflow's history holds
    await append(pool, theirs.envelopes)
    with pytest.raises(EventConflict):
        await append(pool, ours.envelopes)

    settled = await settle(pool, "p-1", 2, head=await _head(pool))

    assert (settled.from_seq, settled.through_seq) == (2, 3)
    moved = await pool.fetch("SELECT seq, type FROM superseded_events ORDER BY seq")
    assert [(r["seq"], r["type"]) for r in moved] == [(2, "Acknowledged"), (3, "Assessed")]
    assert await read_events(pool, "p-1") == ours.envelopes[:1]
    row = await get_petition(pool, "p-1")
    assert row is not None and row.state == fold(e.event for e in ours.envelopes[:1]), (
        "the read models are refolded"
    )
    assert await pool.fetchval("SELECT recorded_through FROM streams WHERE petition_id = 'p-1'") == 1

    result = await append(pool, ours.envelopes)  # the retried append
    assert (result.appended, result.duplicates) == (1, 1)
    assert await read_events(pool, "p-1") == ours.envelopes
    assert await verify_chain(pool, "p-1") == []
    before = await dump_read_models(pool)
    await rebuild_read_models(pool)
    assert await dump_read_models(pool) == before


async def test_a_settled_zone_is_forgotten_so_later_lost_tasks_are_still_replaced(pool: asyncpg.Pool) -> None:
    theirs = _story(timedelta(hours=1), timedelta(minutes=5))
    await append(pool, theirs.envelopes[:2])
    await append(pool, theirs.envelopes[2:], tentative=Tentative(from_seq=3, at=T0 + timedelta(hours=2)))

    await settle(pool, "p-1", 2, head=await _head(pool))

    zone = await pool.fetchrow(
        "SELECT tentative_from, tentative_at, recorded_through FROM streams WHERE petition_id = 'p-1'"
    )
    assert zone is not None and tuple(zone) == (None, None, 1)
    # The workflow's own events, then a lost task's tentative write and its retry: replaced as usual.
    ours = _story(timedelta(hours=3), timedelta(minutes=5))
    lost = _story(timedelta(hours=3), timedelta(minutes=6))
    await append(pool, ours.envelopes[:2])
    await append(pool, lost.envelopes[2:], tentative=Tentative(from_seq=3, at=T0 + timedelta(hours=4)))
    await append(pool, ours.envelopes[2:], tentative=Tentative(from_seq=3, at=T0 + timedelta(hours=5)))
    assert await read_events(pool, "p-1") == ours.envelopes


async def test_settling_refuses_when_the_log_moved_on_since_it_was_compared(pool: asyncpg.Pool) -> None:
    story = _story(timedelta(hours=1), timedelta(minutes=5))
    await append(pool, story.envelopes[:2])
    compared = await _head(pool)
    await append(pool, story.envelopes[2:])
    with pytest.raises(LogMoved):
        await settle(pool, "p-1", 2, head=compared)
    with pytest.raises(ValueError, match=r"^seq 4 is not stored \(petition p-1 holds 1\.\.3\)$"):
        await settle(pool, "p-1", 4, head=await _head(pool))
    assert await read_events(pool, "p-1") == story.envelopes, "nothing moved"
    assert await pool.fetchval("SELECT count(*) FROM superseded_events") == 0


async def test_settled_rows_say_why_they_were_moved(pool: asyncpg.Pool) -> None:
    theirs = _story(timedelta(hours=1), timedelta(minutes=5))
    await append(pool, theirs.envelopes)

    await settle(pool, "p-1", 2, head=await _head(pool), note="a second deployment wrote them")

    reasons = await pool.fetch("SELECT seq, reason FROM superseded_events ORDER BY seq")
    expected = REASON.format(seq=2) + ": a second deployment wrote them"
    assert [(r["seq"], r["reason"]) for r in reasons] == [(2, expected), (3, expected)]


async def test_rows_a_signed_checkpoint_holds_move_only_when_told_and_the_checkpoint_then_fails(
    pool: asyncpg.Pool,
) -> None:
    theirs = _story(timedelta(hours=1), timedelta(minutes=5))
    await append(pool, theirs.envelopes)
    checkpoint = await take_checkpoint(pool, Ed25519Signer.generate())
    assert checkpoint.tree_size == 3 and await check_log(pool, checkpoint) == []

    with pytest.raises(
        InCheckpoint, match=r"^2 of petition p-1's rows from seq 2 on are in the audit's tree"
    ):
        await settle(pool, "p-1", 2, head=await _head(pool))
    assert await read_events(pool, "p-1") == theirs.envelopes, "nothing moved"
    assert await pool.fetchval("SELECT count(*) FROM superseded_events") == 0

    await settle(pool, "p-1", 2, head=await _head(pool), rewrite_checkpointed=True)
    assert await read_events(pool, "p-1") == theirs.envelopes[:1]
    [broken] = await check_log(pool, checkpoint)
    assert "recorded events" in broken.message
