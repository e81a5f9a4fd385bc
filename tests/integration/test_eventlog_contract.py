"""One contract, two event logs: PostgreSQL's (``store.eventlog``) and the in-memory one the workflow
tests and benchmarks use (``store.memory``) skip, write, replace and refuse alike, with the same hashes
and the same stream heads (``store.append_plan`` holds the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

import asyncpg
import pytest

from schemas.events import Envelope
from store import chain, eventlog
from store.append_plan import EventConflict, EventGap, Head, Tentative
from store.memory import MemoryEventLog
from store.models import AppendResult
from tests.integration.story import T0, Story

LOST = T0 + timedelta(hours=1)
RETRY = T0 + timedelta(hours=1, seconds=10)


class EventLog(Protocol):
    async def append(
        self, envelopes: Sequence[Envelope], tentative: Tentative | None = None
    ) -> AppendResult: ...
    async def read(self, petition_id: str) -> list[Envelope]: ...
    async def hashes(self, petition_id: str) -> list[bytes]: ...
    async def head(self, petition_id: str) -> Head: ...
    async def superseded(self) -> list[tuple[str, int, str]]: ...


class PostgresLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def append(self, envelopes: Sequence[Envelope], tentative: Tentative | None = None) -> AppendResult:
        return await eventlog.append(self.pool, envelopes, tentative=tentative)

    async def read(self, petition_id: str) -> list[Envelope]:
        return await eventlog.read_events(self.pool, petition_id)

    async def hashes(self, petition_id: str) -> list[bytes]:
        rows = await self.pool.fetch(
            "SELECT hash FROM events WHERE petition_id = $1 ORDER BY seq", petition_id
        )
        return [bytes(r["hash"]) for r in rows]

    async def head(self, petition_id: str) -> Head:
        row = await self.pool.fetchrow("SELECT * FROM streams WHERE petition_id = $1", petition_id)
        if row is None:
            return Head()
        return Head(
            last_seq=row["last_seq"],
            last_hash=bytes(row["last_hash"]),
            tentative_from=row["tentative_from"],
            tentative_at=row["tentative_at"],
            recorded_through=row["recorded_through"],
        )

    async def superseded(self) -> list[tuple[str, int, str]]:
        rows = await self.pool.fetch(
            "SELECT petition_id, seq, type FROM superseded_events ORDER BY superseded_at, seq"
        )
        return [(r["petition_id"], r["seq"], r["type"]) for r in rows]


class InMemoryLog:
    def __init__(self) -> None:
        self.log = MemoryEventLog()

    async def append(self, envelopes: Sequence[Envelope], tentative: Tentative | None = None) -> AppendResult:
        return self.log.append(envelopes, tentative=tentative)

    async def read(self, petition_id: str) -> list[Envelope]:
        return self.log.read_events(petition_id)

    async def hashes(self, petition_id: str) -> list[bytes]:
        return [hash_ for _, hash_ in self.log.links.get(petition_id, [])]

    async def head(self, petition_id: str) -> Head:
        return self.log.heads.get(petition_id, Head())

    async def superseded(self) -> list[tuple[str, int, str]]:
        return [(e.petition_id, e.seq, e.event.type) for e in self.log.superseded]


@pytest.fixture(params=["postgresql", "memory"])
def log(request: pytest.FixtureRequest) -> EventLog:
    if request.param == "postgresql":
        return PostgresLog(request.getfixturevalue("pool"))
    return InMemoryLog()


def chained(envelopes: Sequence[Envelope]) -> list[bytes]:
    """The hash chain of a petition's stream holding exactly ``envelopes``, from ``store.chain``."""
    hashes, prev = [], chain.GENESIS
    for e in envelopes:
        prev = chain.link(prev, chain.event_content(e.petition_id, e.seq, e.event))
        hashes.append(prev)
    return hashes


def _filed_then(petition_id: str, *steps: timedelta) -> Story:
    """The same filing, then an acknowledgement (and an acceptance) after the given delays."""
    story = Story(petition_id)
    story.acknowledge(after=steps[0])
    for step in steps[1:]:
        story.accept(after=step)
    return story


async def test_an_append_stores_each_event_once_chained(log: EventLog) -> None:
    story = Story("p-1")
    story.acknowledge()
    story.accept()
    other = Story("p-2")
    assert await log.append([*story.envelopes[:2], *other.envelopes]) == AppendResult(
        appended=3, duplicates=0
    )
    assert await log.append(story.envelopes) == AppendResult(appended=1, duplicates=2)
    assert await log.append(story.envelopes) == AppendResult(appended=0, duplicates=3)
    assert await log.read("p-1") == story.envelopes
    assert await log.read("p-2") == other.envelopes
    assert await log.hashes("p-1") == chained(story.envelopes)
    assert await log.head("p-1") == Head(
        last_seq=3, last_hash=chained(story.envelopes)[-1], recorded_through=3
    )


async def test_a_different_event_at_a_stored_seq_is_refused_and_changes_nothing(log: EventLog) -> None:
    story = Story("p-1")
    story.acknowledge()
    await log.append(story.envelopes)
    head = await log.head("p-1")
    later = _filed_then("p-1", timedelta(minutes=7))
    later.accept()
    with pytest.raises(EventConflict) as raised:
        await log.append([*later.envelopes[1:], *Story("p-2").envelopes])
    assert (raised.value.petition_id, raised.value.seq, raised.value.lost) == ("p-1", 2, False)
    assert await log.read("p-1") == story.envelopes
    assert await log.read("p-2") == []
    assert await log.head("p-1") == head


async def test_a_gap_is_refused_and_changes_nothing(log: EventLog) -> None:
    story = Story("p-1")
    story.acknowledge()
    story.accept()
    await log.append(story.envelopes[:1])
    with pytest.raises(EventGap) as raised:
        await log.append(story.envelopes[2:])
    assert (raised.value.expected, raised.value.got) == (2, 3)
    with pytest.raises(EventGap) as raised:
        await log.append([story.envelopes[1], story.envelopes[1].model_copy(update={"seq": 4})])
    assert (raised.value.expected, raised.value.got) == (3, 4)
    assert await log.read("p-1") == story.envelopes[:1]


async def test_a_filing_in_another_petitions_stream_is_refused(log: EventLog) -> None:
    misfiled = Story("p-2").envelopes[0].model_copy(update={"petition_id": "p-1"})
    with pytest.raises(ValueError, match="an envelope of p-1 holds the filing of p-2"):
        await log.append([misfiled])
    assert await log.read("p-1") == []


async def test_a_retry_replaces_its_lost_attempt_and_takes_the_zone(log: EventLog) -> None:
    lost = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=5))
    retry = _filed_then("p-1", timedelta(hours=1, seconds=10))
    await log.append(lost.envelopes[:1])
    await log.append(lost.envelopes[1:], Tentative(from_seq=2, at=LOST))
    assert await log.head("p-1") == Head(3, chained(lost.envelopes)[-1], 2, LOST, 1)

    assert await log.append(retry.envelopes, Tentative(from_seq=2, at=RETRY)) == AppendResult(
        appended=1, duplicates=1
    )

    assert await log.read("p-1") == retry.envelopes
    assert await log.hashes("p-1") == chained(retry.envelopes)
    assert await log.head("p-1") == Head(2, chained(retry.envelopes)[-1], 2, RETRY, 1)
    assert await log.superseded() == [("p-1", 2, "Acknowledged"), ("p-1", 3, "Assessed")]


async def test_the_lost_attempt_arriving_last_is_refused(log: EventLog) -> None:
    lost = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=5))
    retry = _filed_then("p-1", timedelta(hours=1, seconds=10))
    await log.append(retry.envelopes[:1])
    await log.append(retry.envelopes[1:], Tentative(from_seq=2, at=RETRY))
    head = await log.head("p-1")
    with pytest.raises(EventConflict) as raised:  # in place of the retry's events
        await log.append(lost.envelopes[1:], Tentative(from_seq=2, at=LOST))
    assert (raised.value.seq, raised.value.lost) == (2, False)
    with pytest.raises(EventConflict) as raised:  # above the stored end
        await log.append(lost.envelopes[2:], Tentative(from_seq=3, at=LOST))
    assert (raised.value.seq, raised.value.lost) == (3, True)
    assert await log.read("p-1") == retry.envelopes
    assert await log.head("p-1") == head
    assert await log.superseded() == []


async def test_the_historys_events_replace_a_zone_and_are_final(log: EventLog) -> None:
    lost = _filed_then("p-1", timedelta(hours=1), timedelta(minutes=5))
    recorded = _filed_then("p-1", timedelta(hours=1, seconds=10))
    await log.append(lost.envelopes[:1])
    await log.append(lost.envelopes[1:], Tentative(from_seq=2, at=RETRY))
    await log.append(recorded.envelopes)
    assert await log.read("p-1") == recorded.envelopes
    assert await log.head("p-1") == Head(2, chained(recorded.envelopes)[-1], 2, RETRY, 2)
    # Recorded now: neither a later task nor the history's own append may replace it.
    with pytest.raises(EventConflict):
        await log.append(lost.envelopes[1:], Tentative(from_seq=2, at=RETRY + timedelta(seconds=1)))
    with pytest.raises(EventConflict):
        await log.append(lost.envelopes[1:])
    assert await log.read("p-1") == recorded.envelopes


async def test_events_of_earlier_recorded_tasks_are_never_replaced(log: EventLog) -> None:
    first = _filed_then("p-1", timedelta(hours=1))
    other = _filed_then("p-1", timedelta(hours=2), timedelta(hours=1))
    await log.append(first.envelopes[:1])
    await log.append(first.envelopes[1:], Tentative(from_seq=2, at=LOST))
    with pytest.raises(EventConflict) as raised:
        await log.append(other.envelopes, Tentative(from_seq=3, at=RETRY))
    assert raised.value.seq == 2
    with pytest.raises(EventConflict) as raised:
        await log.append(Story("p-1", at=RETRY).envelopes, Tentative(from_seq=1, at=RETRY))
    assert raised.value.seq == 1
    assert await log.read("p-1") == first.envelopes
