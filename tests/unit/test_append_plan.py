"""Properties of the append plan (``store.append_plan``) over generated runs of appends.

A run is a list of attempts on one petition's stream: the history's own appends (ordinary
activities) and tentative ones by workflow tasks of various times, at various seqs, each deciding
its own variant of the events. Every attempt is planned against the in-memory log (``store.memory``,
the plan carried out in memory), then the plan is checked against the rules, and carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.common import Tier
from schemas.events import Acknowledged, Envelope, PetitionFiled
from store import append_plan, chain
from store.append_plan import EventConflict, EventGap, Head, Plan, Tentative
from store.memory import MemoryEventLog
from tests.unit._petitions import T0, filing, official
from workflows.lifecycle import decide

PROPERTIES = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every CI run: a failure is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PID = "pet-1"
OFFICIAL = official(Tier.VILLAGE)


def event(seq: int, variant: int) -> Acknowledged:
    """The event a task of ``variant`` decides at ``seq``: variants differ, the same one is equal."""
    return Acknowledged(at=T0 + timedelta(minutes=seq), actor=OFFICIAL, tier=Tier.VILLAGE, note=f"v{variant}")


def envelopes(start: int, length: int, variant: int, petition_id: str = PID) -> list[Envelope]:
    return [
        Envelope(petition_id=petition_id, seq=seq, event=event(seq, variant))
        for seq in range(start, start + length)
    ]


@dataclass(frozen=True)
class Attempt:
    """One append: ``length`` events of ``variant``, from ``back`` seqs before the stored end + 1, or
    (``retry``, when the stream has a zone) from the zone's start, as a lost task's retry would.
    Tentative when ``task`` is given: its own events from ``start + own``, decided ``task`` seconds
    after the zone's task (or ``T0``); else the history's own."""

    back: int
    length: int
    variant: int
    task: int | None
    own: int
    retry: bool

    def batch(self, head: Head) -> tuple[list[Envelope], Tentative | None]:
        start = max(1, head.last_seq + 1 - self.back)
        if self.retry and head.tentative_from is not None:
            start = head.tentative_from
        tentative = None
        if self.task is not None:
            at = (head.tentative_at or T0) + timedelta(seconds=self.task)
            tentative = Tentative(from_seq=start + self.own, at=at)
        return envelopes(start, self.length, self.variant), tentative


attempts = st.builds(
    Attempt,
    back=st.integers(0, 4),
    length=st.integers(1, 4),
    variant=st.integers(0, 2),
    task=st.one_of(st.none(), st.integers(-3, 5), st.integers(1, 5)),  # mostly tentative, mostly later
    own=st.one_of(st.just(0), st.integers(0, 4)),
    retry=st.booleans(),
)
runs = st.lists(attempts, min_size=1, max_size=12)


def head(log: MemoryEventLog) -> Head:
    return log.heads.get(PID, Head())


def planned(log: MemoryEventLog, batch: list[Envelope], tentative: Tentative | None) -> Plan:
    """The plan for ``batch`` from what the log holds, read as ``store.memory`` reads it."""
    batches = append_plan.group(batch)
    heads = {pid: log.heads.get(pid, Head()) for pid in batches}
    stored = {
        (pid, seq): log.links[pid][seq - 1]
        for pid, envs in batches.items()
        for seq in append_plan.overlap(heads[pid], envs)
    }
    return append_plan.plan(batches, heads, stored, tentative)


def snapshot(log: MemoryEventLog) -> tuple[object, ...]:
    return (log.read_events(PID), list(log.links.get(PID, [])), head(log), list(log.superseded))


def check_plan(log: MemoryEventLog, batch: list[Envelope], tentative: Tentative | None, plan: Plan) -> None:
    """What every accepted plan must satisfy, whatever came before."""
    before = head(log)
    (stream,) = plan.streams
    assert stream.skipped + len(stream.writes) == len(batch)
    assert (plan.duplicates, plan.appended) == (stream.skipped, len(stream.writes))
    if not stream.writes:
        assert stream.head == before and stream.supersede_from is None
        return
    start = before.last_seq + 1 if stream.supersede_from is None else stream.supersede_from
    # Written seqs are contiguous, follow the stored end (or the replaced seq), end the batch.
    assert [w.envelope.seq for w in stream.writes] == list(range(start, start + len(stream.writes)))
    assert [w.envelope for w in stream.writes] == batch[stream.skipped :]
    # The chain goes on from the event before the first write.
    prev = before.last_hash if start == before.last_seq + 1 else log.links[PID][start - 1][0]
    for write in stream.writes:
        data = chain.event_content(PID, write.envelope.seq, write.envelope.event)
        assert write.prev_hash == prev
        assert write.hash == chain.link(prev, data)
        prev = write.hash
    after = stream.head
    assert (after.last_seq, after.last_hash) == (stream.writes[-1].envelope.seq, stream.writes[-1].hash)
    # What is known recorded, and the zone's task, never go back.
    assert after.recorded_through >= before.recorded_through
    if before.tentative_at is not None:
        assert after.tentative_at is not None and after.tentative_at >= before.tentative_at
    if stream.supersede_from is not None:
        seq = stream.supersede_from
        # Only inside a zone, never a recorded event, and only by the history or a later task.
        assert before.tentative_from is not None and before.tentative_at is not None
        assert seq >= before.tentative_from and seq > before.recorded_through
        if tentative is not None:
            assert tentative.at > before.tentative_at and seq >= tentative.from_seq
            assert tentative.from_seq > before.recorded_through


def run(attempts: list[Attempt]) -> MemoryEventLog:
    """Carry out ``attempts`` in order, checking each accepted plan and that a refusal changes nothing."""
    log = MemoryEventLog()
    for attempt in attempts:
        batch, tentative = attempt.batch(head(log))
        before = snapshot(log)
        try:
            plan = planned(log, batch, tentative)
        except (EventConflict, EventGap):
            with pytest.raises((EventConflict, EventGap)):
                log.append(batch, tentative=tentative)
            assert snapshot(log) == before, "a refused append changed the log"
            continue
        check_plan(log, batch, tentative, plan)
        assert log.append(batch, tentative=tentative).appended == plan.appended
        assert not plan.streams[0].writes or log.heads[PID] == plan.streams[0].head
    return log


@PROPERTIES
@given(runs)
def test_every_plan_keeps_the_rules_and_the_chain(attempts: list[Attempt]) -> None:
    log = run(attempts)
    stored = log.read_events(PID)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    prev = chain.GENESIS
    for envelope, (prev_hash, hash_) in zip(stored, log.links.get(PID, []), strict=True):
        assert prev_hash == prev
        assert hash_ == chain.link(prev, chain.event_content(PID, envelope.seq, envelope.event))
        prev = hash_


@PROPERTIES
@given(runs, attempts)
def test_replaying_an_accepted_batch_skips_it_all(attempts: list[Attempt], last: Attempt) -> None:
    log = run(attempts)
    batch, tentative = last.batch(head(log))
    try:
        log.append(batch, tentative=tentative)
    except (EventConflict, EventGap):
        return
    for again in (tentative, None):
        plan = planned(log, batch, again)
        assert (plan.duplicates, plan.appended) == (len(batch), 0)
        assert plan.streams[0].head == head(log)


@PROPERTIES
@given(runs, st.data())
def test_a_different_event_at_a_recorded_seq_is_always_refused(
    attempts: list[Attempt], data: st.DataObject
) -> None:
    """Recorded: at or below ``recorded_through``, or before the zone (or with no zone at all)."""
    log = run(attempts)
    now = head(log)
    recorded = [
        seq
        for seq in range(1, now.last_seq + 1)
        if seq <= now.recorded_through or now.tentative_from is None or seq < now.tentative_from
    ]
    if not recorded:
        return
    seq = data.draw(st.sampled_from(recorded))
    stored = log.read_events(PID)[seq - 1].event
    assert isinstance(stored, Acknowledged) and stored.note is not None
    variant = 1 + int(stored.note[1:])  # another task's decision
    length = data.draw(st.integers(1, 3))
    task = data.draw(st.one_of(st.none(), st.integers(0, 9)))
    tentative = None if task is None else Tentative(from_seq=seq, at=T0 + timedelta(seconds=task))
    batch = log.read_events(PID)[: seq - 1] + envelopes(seq, length, variant)
    with pytest.raises(EventConflict) as raised:
        planned(log, batch, tentative)
    assert (raised.value.seq, raised.value.lost) == (seq, False)


@PROPERTIES
@given(runs, st.integers(-5, 0), st.integers(1, 3))
def test_only_a_later_task_replaces_a_zone(attempts: list[Attempt], task: int, length: int) -> None:
    """A task not later than the zone's may not replace it, and an older one (a lost attempt)
    may not add its own events above the stored end either."""
    log = run(attempts)
    now = head(log)
    if now.tentative_from is None or now.tentative_at is None:
        return
    at = now.tentative_at + timedelta(seconds=task)
    stored = log.read_events(PID)[now.tentative_from - 1].event
    assert isinstance(stored, Acknowledged) and stored.note is not None
    other = envelopes(now.tentative_from, length, 1 + int(stored.note[1:]))
    with pytest.raises(EventConflict) as raised:
        planned(log, other, Tentative(from_seq=now.tentative_from, at=at))
    assert (raised.value.seq, raised.value.lost) == (now.tentative_from, False)
    if at < now.tentative_at:
        above = envelopes(now.last_seq + 1, length, 0)
        with pytest.raises(EventConflict) as raised:
            planned(log, above, Tentative(from_seq=now.last_seq + 1, at=at))
        assert (raised.value.seq, raised.value.lost) == (now.last_seq + 1, True)


@PROPERTIES
@given(runs, st.integers(1, 3), st.integers(1, 3), st.one_of(st.none(), st.integers(0, 9)))
def test_a_gap_is_refused(attempts: list[Attempt], skip: int, length: int, task: int | None) -> None:
    log = run(attempts)
    now = head(log)
    start = now.last_seq + 1 + skip
    tentative = None if task is None else Tentative(from_seq=start, at=T0 + timedelta(seconds=task))
    with pytest.raises(EventGap) as raised:
        planned(log, envelopes(start, length, 0), tentative)
    assert (raised.value.expected, raised.value.got) == (now.last_seq + 1, start)
    holed = envelopes(now.last_seq + 1, 1, 0) + envelopes(now.last_seq + 2 + skip, length, 0)
    with pytest.raises(EventGap):
        append_plan.group(holed)


def test_the_historys_append_replaces_a_zone_and_marks_it_recorded() -> None:
    log = MemoryEventLog()
    log.append(envelopes(1, 1, 0))
    log.append(envelopes(2, 2, 0), tentative=Tentative(from_seq=2, at=T0))
    plan = planned(log, envelopes(2, 1, 1), None)
    (stream,) = plan.streams
    assert (stream.supersede_from, stream.skipped, len(stream.writes)) == (2, 0, 1)
    assert stream.head == Head(
        last_seq=2, last_hash=stream.writes[0].hash, tentative_from=2, tentative_at=T0, recorded_through=2
    )


def test_a_filing_of_another_petition_is_refused() -> None:
    (filed,) = decide(None, filing(petition_id="pet-2"), T0)
    assert isinstance(filed, PetitionFiled)
    with pytest.raises(ValueError, match="an envelope of pet-1 holds the filing of pet-2"):
        append_plan.plan({PID: [Envelope(petition_id=PID, seq=1, event=filed)]}, {PID: Head()}, {})


def test_streams_are_planned_in_petition_order_and_counted_together() -> None:
    batch = envelopes(1, 2, 0, "pet-b") + envelopes(1, 1, 0, "pet-a")
    plan = append_plan.plan(append_plan.group(batch), {"pet-a": Head(), "pet-b": Head()}, {})
    assert [s.petition_id for s in plan.streams] == ["pet-a", "pet-b"]
    assert (plan.appended, plan.duplicates) == (3, 0)
