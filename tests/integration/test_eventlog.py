"""The append: idempotent, gap-free, conflict-refusing, and safe under concurrent writers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import asyncpg
import pytest

from schemas.commands import AcknowledgeInput
from schemas.common import Tier
from schemas.events import Acknowledged, Envelope
from store.eventlog import EventConflict, EventGap, append, read_events, record_petitioner
from store.models import AppendResult
from store.queries import get_petition
from store.rebuild import dump_read_models
from tests.integration.story import T0, Story, official


async def test_append_then_read_back_the_same_envelopes(pool: asyncpg.Pool) -> None:
    story = Story("p-1")
    story.acknowledge()
    story.accept()
    assert await append(pool, story.envelopes) == AppendResult(appended=3, duplicates=0)
    assert await read_events(pool, "p-1") == story.envelopes
    row = await get_petition(pool, "p-1")
    assert row is not None
    assert row.state == story.current
    assert row.last_seq == 3


async def test_retrying_a_batch_stores_each_event_once(pool: asyncpg.Pool) -> None:
    story = Story("p-1")
    story.acknowledge()
    first = list(story.envelopes)
    assert await append(pool, first) == AppendResult(appended=2, duplicates=0)
    assert await append(pool, first) == AppendResult(appended=0, duplicates=2)
    story.accept()
    story.resolve()
    # A batch that overlaps the stored tail: the stored part is skipped, the rest appended.
    assert await append(pool, story.envelopes[1:]) == AppendResult(appended=2, duplicates=1)
    assert await read_events(pool, "p-1") == story.envelopes
    assert await pool.fetchval("SELECT count(*) FROM events") == 4


async def test_a_different_event_at_a_stored_seq_is_a_conflict_and_changes_nothing(
    pool: asyncpg.Pool,
) -> None:
    story = Story("p-1")
    story.acknowledge()
    await append(pool, story.envelopes)
    before = await dump_read_models(pool)
    stored = story.envelopes[1].event
    assert isinstance(stored, Acknowledged)
    forged = Envelope(petition_id="p-1", seq=2, event=stored.model_copy(update={"note": "forged"}))
    later = Story("p-1")
    later.acknowledge()
    later.accept()
    with pytest.raises(EventConflict) as raised:
        await append(pool, [forged, later.envelopes[2]])
    assert (raised.value.petition_id, raised.value.seq) == ("p-1", 2)
    assert str(raised.value) == "petition p-1: seq 2 already holds a different event"
    assert await read_events(pool, "p-1") == story.envelopes
    assert await dump_read_models(pool) == before


async def test_a_gap_is_refused_and_changes_nothing(pool: asyncpg.Pool) -> None:
    story = Story("p-1")
    story.acknowledge()
    story.accept()
    await append(pool, story.envelopes[:1])
    with pytest.raises(EventGap) as raised:
        await append(pool, story.envelopes[2:])
    assert (raised.value.petition_id, raised.value.expected, raised.value.got) == ("p-1", 2, 3)
    with pytest.raises(EventGap):
        await append(pool, [story.envelopes[1], story.envelopes[1].model_copy(update={"seq": 4})])
    assert await pool.fetchval("SELECT max(seq) FROM events WHERE petition_id = 'p-1'") == 1


async def test_a_new_petition_must_start_at_seq_1(pool: asyncpg.Pool) -> None:
    story = Story("p-2")
    story.acknowledge()
    with pytest.raises(EventGap) as raised:
        await append(pool, story.envelopes[1:])
    assert (raised.value.expected, raised.value.got) == (1, 2)
    assert await pool.fetchval("SELECT count(*) FROM events") == 0


async def test_one_batch_may_carry_several_petitions(pool: asyncpg.Pool) -> None:
    one, two = Story("p-1"), Story("p-2", at=T0 + timedelta(minutes=5))
    one.acknowledge()
    two.acknowledge()
    two.accept()
    mixed = [one.envelopes[0], two.envelopes[0], one.envelopes[1], two.envelopes[1], two.envelopes[2]]
    assert await append(pool, mixed) == AppendResult(appended=5, duplicates=0)
    assert await read_events(pool, "p-1") == one.envelopes
    assert await read_events(pool, "p-2") == two.envelopes
    rows = await pool.fetch("SELECT petition_id, last_seq FROM streams ORDER BY petition_id")
    assert [tuple(r) for r in rows] == [("p-1", 2), ("p-2", 3)]


async def test_concurrent_writers_of_one_petition_one_event_per_seq_wins(pool: asyncpg.Pool) -> None:
    """Eight connections race to append seq 2: the same event four times, four different ones.

    Exactly one transaction appends; the same event elsewhere is a duplicate, a different one a
    conflict. Repeated on five petitions so the winner varies.
    """
    for n in range(5):
        petition_id = f"p-{n}"
        await append(pool, Story(petition_id).envelopes)
        same = Story(petition_id).act(AcknowledgeInput(actor=official(Tier.VILLAGE), note="on my way"))
        different = [
            Story(petition_id).act(AcknowledgeInput(actor=official(Tier.VILLAGE), note=f"writer {i}"))
            for i in range(4)
        ]
        candidates = [same] * 4 + different
        results = await asyncio.gather(*(append(pool, c) for c in candidates), return_exceptions=True)
        stored = (await read_events(pool, petition_id))[1:]
        assert len(stored) == 1
        assert results.count(AppendResult(appended=1, duplicates=0)) == 1
        for candidate, result in zip(candidates, results, strict=True):
            if candidate == stored:
                assert result in (
                    AppendResult(appended=1, duplicates=0),
                    AppendResult(appended=0, duplicates=1),
                )
            else:
                assert isinstance(result, EventConflict)
                assert (result.petition_id, result.seq) == (petition_id, 2)
        # The read models saw exactly the winner: one acknowledgement notice to the petitioner.
        notices = await pool.fetchval(
            "SELECT count(*) FROM notifications WHERE petition_id = $1 AND seq = 2", petition_id
        )
        assert notices == 1
    assert await pool.fetchval("SELECT count(*) FROM events") == 10


async def test_concurrent_writers_many_rounds_keep_the_stream_whole(pool: asyncpg.Pool) -> None:
    """Writers of the same story race step after step; the stored stream is exactly the story."""
    story = Story("p-9")
    story.acknowledge()
    story.accept()
    story.resolve()
    batches = [story.envelopes[: i + 1] for i in range(len(story.envelopes))]
    results = await asyncio.gather(*(append(pool, b) for b in batches * 3))
    assert sum(r.appended for r in results) == len(story.envelopes)
    assert await read_events(pool, "p-9") == story.envelopes
    assert await pool.fetchval("SELECT last_seq FROM streams WHERE petition_id = 'p-9'") == 4


async def test_record_petitioner_keeps_personal_data_apart_from_events(pool: asyncpg.Pool) -> None:
    story = Story("p-1")
    await record_petitioner(pool, story.contact)
    row = await pool.fetchrow("SELECT petitioner_id, name, phone, address FROM petitioners")
    assert row is not None
    assert tuple(row) == ("hh-p-1", "Wang Fang", "+86 139 0000 0042", "3 East Lane, Dongshan")
    await append(pool, story.envelopes)
    body = await pool.fetchval("SELECT body FROM events WHERE seq = 1")
    events_text = await pool.fetchval("SELECT string_agg(actor::text || body::text, ' ') FROM events")
    assert "139" not in events_text and "East Lane" not in events_text
    assert not {"name", "phone", "address"} & set(json.loads(body))


async def test_a_later_contact_for_the_same_petitioner_neither_replaces_nor_blanks_it(
    pool: asyncpg.Pool,
) -> None:
    """First sight of a petitioner id writes the contact; another filing naming that id (someone
    else's household, or an Open311 POST without a name) leaves it as it was."""
    story = Story("p-1")
    await record_petitioner(pool, story.contact)
    await record_petitioner(
        pool, story.contact.model_copy(update={"name": "Mallory", "phone": "+86 139 6666 6666"})
    )
    await record_petitioner(
        pool, story.contact.model_copy(update={"name": "(not given)", "phone": None, "address": None})
    )
    row = await pool.fetchrow("SELECT petitioner_id, name, phone, address FROM petitioners")
    assert row is not None
    assert tuple(row) == ("hh-p-1", "Wang Fang", story.contact.phone, story.contact.address)
