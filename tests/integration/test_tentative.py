"""Appends by a workflow task Temporal has not recorded yet: its retry may replace them, nothing else.

A local activity writes inside its workflow task. If the task is lost (the worker died before
completing it), Temporal gives the task again; the retry decides anew, at a later time, and may
decide differently. Its append must replace what the lost attempt wrote; no one else may.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from store.eventlog import EventConflict, Tentative, append, read_events, save_projections, verify_chain
from store.queries import get_petition
from store.rebuild import dump_read_models, rebuild_read_models
from tests.integration.story import T0, Story

LOST = T0 + timedelta(hours=1)
"""When the lost workflow task ran."""
RETRY = T0 + timedelta(hours=1, seconds=10)
"""When its retry ran, after the lost task timed out."""


def _filed_then(petition_id: str, *steps: timedelta) -> Story:
    """The same filing, then an acknowledgement (and an acceptance) after the given delays."""
    story = Story(petition_id)
    story.acknowledge(after=steps[0])
    for step in steps[1:]:
        story.accept(after=step)
    return story


async def _stored_types(pool: asyncpg.Pool, petition_id: str) -> list[tuple[int, str, object]]:
    return [(e.seq, e.event.type, e.event.at) for e in await read_events(pool, petition_id)]


async def test_a_retry_replaces_what_its_lost_attempt_wrote(pool: asyncpg.Pool) -> None:
    lost = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=5))
    retry = _filed_then("p-1", timedelta(hours=1, seconds=10))
    await append(pool, lost.envelopes[:1])  # the filing, recorded in history long ago
    await append(pool, lost.envelopes[1:], tentative=Tentative(from_seq=2, at=LOST))

    result = await append(pool, retry.envelopes, tentative=Tentative(from_seq=2, at=RETRY))

    assert (result.appended, result.duplicates) == (1, 1)
    assert await read_events(pool, "p-1") == retry.envelopes
    assert await verify_chain(pool, "p-1") == []
    row = await get_petition(pool, "p-1")
    assert row is not None and row.state == retry.current
    superseded = await pool.fetch("SELECT seq, type FROM superseded_events ORDER BY seq")
    assert [(r["seq"], r["type"]) for r in superseded] == [(2, "Acknowledged"), (3, "Assessed")]
    # The read models are exactly what folding the kept and new events gives.
    before = await dump_read_models(pool)
    await rebuild_read_models(pool)
    assert await dump_read_models(pool) == before


async def test_a_lost_filing_is_replaced_whole(pool: asyncpg.Pool) -> None:
    lost = Story("p-1", at=T0)
    retry = Story("p-1", at=T0 + timedelta(seconds=10))
    await append(pool, lost.envelopes, tentative=Tentative(from_seq=1, at=T0))
    await append(pool, retry.envelopes, tentative=Tentative(from_seq=1, at=T0 + timedelta(seconds=10)))
    assert await read_events(pool, "p-1") == retry.envelopes
    row = await get_petition(pool, "p-1")
    assert row is not None and row.state == retry.current


async def test_the_lost_attempt_cannot_overwrite_its_retry(pool: asyncpg.Pool) -> None:
    lost = _filed_then("p-1", timedelta(hours=1))
    retry = _filed_then("p-1", timedelta(hours=1, seconds=10))
    await append(pool, retry.envelopes[:1])
    await append(pool, retry.envelopes[1:], tentative=Tentative(from_seq=2, at=RETRY))
    before = await dump_read_models(pool)

    # The lost attempt's worker was only slow, not dead: its write arrives last, and loses.
    with pytest.raises(EventConflict):
        await append(pool, lost.envelopes[1:], tentative=Tentative(from_seq=2, at=LOST))

    assert await read_events(pool, "p-1") == retry.envelopes
    assert await dump_read_models(pool) == before
    assert await pool.fetchval("SELECT count(*) FROM superseded_events") == 0


async def test_events_of_earlier_recorded_tasks_are_never_replaced(pool: asyncpg.Pool) -> None:
    first = _filed_then("p-1", timedelta(hours=1))
    other = _filed_then("p-1", timedelta(hours=2), timedelta(hours=1))
    await append(pool, first.envelopes[:1])
    await append(pool, first.envelopes[1:], tentative=Tentative(from_seq=2, at=LOST))

    # A later task that says seq 2 was decided before it (in a recorded task) may not rewrite seq 2.
    with pytest.raises(EventConflict):
        await append(pool, other.envelopes, tentative=Tentative(from_seq=3, at=RETRY))
    assert await read_events(pool, "p-1") == first.envelopes
    # Events that were never written tentatively are final for everyone (test_eventlog's conflict
    # test shows it for ordinary appends).
    with pytest.raises(EventConflict):
        await append(pool, Story("p-1", at=RETRY).envelopes, tentative=Tentative(from_seq=1, at=RETRY))


async def test_the_historys_own_events_replace_a_tentative_write(pool: asyncpg.Pool) -> None:
    """An ordinary activity's input is in Temporal's history: it is the truth a lost attempt
    must give way to, whatever its time."""
    lost = _filed_then("p-1", timedelta(hours=1))
    recorded = _filed_then("p-1", timedelta(hours=1, seconds=10))
    await append(pool, lost.envelopes[:1])
    await append(pool, lost.envelopes[1:], tentative=Tentative(from_seq=2, at=RETRY))
    await append(pool, recorded.envelopes)
    assert await read_events(pool, "p-1") == recorded.envelopes


async def test_a_slow_lost_attempt_cannot_replace_what_an_ordinary_activity_recorded(
    pool: asyncpg.Pool,
) -> None:
    """The lost task's retry fell back to an ordinary activity (recorded in history); the lost
    attempt's worker, only frozen, writes afterwards with a task time later than the zone's."""
    lost = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=5))
    retry = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=6))
    await append(pool, lost.envelopes[:1])
    await append(pool, lost.envelopes[1:2], tentative=Tentative(from_seq=2, at=LOST))  # recorded task
    await append(pool, retry.envelopes[2:])  # the retry's seq 3, by an ordinary activity

    with pytest.raises(EventConflict):
        await append(pool, lost.envelopes[2:], tentative=Tentative(from_seq=3, at=RETRY))
    assert await read_events(pool, "p-1") == retry.envelopes
    assert await pool.fetchval("SELECT count(*) FROM superseded_events") == 0


async def _zone(pool: asyncpg.Pool, petition_id: str) -> tuple[object, ...]:
    row = await pool.fetchrow(
        "SELECT tentative_from, tentative_at, recorded_through FROM streams WHERE petition_id = $1",
        petition_id,
    )
    assert row is not None
    return tuple(row)


async def test_a_lost_attempt_cannot_add_events_after_a_later_tasks_write(pool: asyncpg.Pool) -> None:
    """The lost task and its retry decided the same seq 2 (a deadline, due at the same time), but
    the lost one also took an update (seq 3) that never reached the history. Arriving late, above
    the stored end, its seq 3 is refused, and the zone stays the retry's."""
    lost = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=5))
    await append(pool, lost.envelopes[:1])
    await append(pool, lost.envelopes[1:2], tentative=Tentative(from_seq=2, at=RETRY))

    with pytest.raises(EventConflict) as raised:
        await append(pool, lost.envelopes[1:], tentative=Tentative(from_seq=2, at=LOST))

    assert (raised.value.seq, raised.value.lost) == (3, True)
    assert await read_events(pool, "p-1") == lost.envelopes[:2]
    assert await _zone(pool, "p-1") == (2, RETRY, 1)


async def test_a_lost_attempt_cannot_add_events_after_the_historys_own(pool: asyncpg.Pool) -> None:
    """The retry fell back to an ordinary activity, which recorded seq 2 only: the lost attempt's
    extra seq 3, arriving late above the stored end, is refused."""
    lost = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=5))
    await append(pool, lost.envelopes[:2])

    with pytest.raises(EventConflict) as raised:
        await append(pool, lost.envelopes[1:], tentative=Tentative(from_seq=2, at=LOST))

    assert (raised.value.seq, raised.value.lost) == (3, True)
    assert await read_events(pool, "p-1") == lost.envelopes[:2]
    assert await _zone(pool, "p-1") == (None, None, 2)


async def test_a_heads_zone_never_moves_back_to_an_older_task(pool: asyncpg.Pool) -> None:
    """The statement that writes the heads keeps the newer zone even if told an older one."""
    story = _filed_then("p-1", timedelta(hours=1))
    await append(pool, story.envelopes[:1])
    await append(pool, story.envelopes[1:], tentative=Tentative(from_seq=2, at=RETRY))
    async with pool.acquire() as conn:
        head = await conn.fetchrow("SELECT last_seq, last_hash FROM streams WHERE petition_id = 'p-1'")
        assert head is not None
        older = ("p-1", head["last_seq"], head["last_hash"], 3, LOST, 1)
        await save_projections(conn, [], heads=[older])
    assert await _zone(pool, "p-1") == (2, RETRY, 1)
