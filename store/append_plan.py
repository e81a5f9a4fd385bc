"""The event log's append rules, as a pure plan: what to skip, write, replace or refuse.

``plan`` decides; the PostgreSQL log (``store.eventlog.append``) and the in-memory one
(``store.memory``) only read what it needs (each stream's ``Head``, the stored hashes of the seqs the
batch overlaps) and carry out what it says, so both keep the same hashes, conflicts and zone.

**Why a tentative zone.** The workflow appends first in a *local* activity, which runs inside the
workflow task that decided the events: it writes before Temporal has recorded that task. If the task
is lost (its worker died), Temporal runs it again; the retry decides anew, at a later time, and may
decide differently (an update the lost task took may not come back). Its append must then replace
what the lost attempt wrote, and nothing else may. Such an append is ``Tentative``: ``from_seq`` is
the first seq its own task decided (those before it come from earlier tasks, already in the
history) and ``at`` that task's time (``workflow.now()``). An ordinary activity's input is in the
history before it runs, so its append (no ``Tentative``) is final.

**The head.** Each stream keeps its last seq and hash, ``recorded_through`` (every event up to it is
known to be in the history) and the zone of the last tentative append that wrote its own events:
``tentative_from`` and ``tentative_at``.

**The rules**, per stream, in the order the plan applies them:

1. A batch's seqs are contiguous and increasing per petition, else ``EventGap``.
2. An envelope at a stored seq whose stored hash it reproduces is already stored: skipped (a retried
   append is harmless).
3. A different envelope at a stored seq is an ``EventConflict``, unless the stored event may be
   *replaced*: it lies in the zone (seq >= ``tentative_from``) and was never shown recorded
   (seq > ``recorded_through``), and the append is either the history's own (no ``Tentative``) or a
   later task's that decided that seq (seq >= ``from_seq``, ``at`` > ``tentative_at``, and
   ``from_seq`` > ``recorded_through``). Then the stored events from that seq on are superseded
   (kept aside, whole) and every envelope from it on is written.
4. The first envelope to write must follow the stored end (or the replaced seq), else ``EventGap``.
5. A tentative append's own events (seq >= ``from_seq``) are refused (``EventConflict``) when the
   log shows that task lost, even above the stored end: a later task already wrote the zone
   (``tentative_at`` > ``at``), or the history holds events from ``from_seq`` on
   (``recorded_through`` >= ``from_seq``).
6. A ``PetitionFiled`` must file the petition of its own stream, else ``ValueError``.
7. The new head: the last written seq and hash; the zone becomes (``from_seq``, ``at``) when a
   tentative append writes its own events, and never moves back to an older task; otherwise it
   stays. ``recorded_through`` rises to the last written seq (the history's append) or to
   ``from_seq - 1`` (a tentative one). An append that writes nothing leaves the head alone.

So nothing at or below ``recorded_through`` is ever replaced, only a later task (or the history)
replaces a zone, and a lost attempt that arrives late — replacing or extending — is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from schemas.common import PetitionId
from schemas.events import Envelope, PetitionFiled
from store import chain

StoredHashes = Mapping[tuple[PetitionId, int], tuple[chain.Hash, chain.Hash]]
"""``(prev_hash, hash)`` of stored events, by (petition, seq)."""


class EventConflict(Exception):
    """A different event already holds ``seq`` in ``petition_id``'s stream, or (``lost``) the event
    for ``seq`` comes from a workflow task the log shows lost. Nothing was written."""

    def __init__(self, petition_id: PetitionId, seq: int, *, lost: bool = False) -> None:
        detail = (
            "comes from a lost workflow task (a later task or the history decided it)"
            if lost
            else "already holds a different event"
        )
        super().__init__(f"petition {petition_id}: seq {seq} {detail}")
        self.petition_id = petition_id
        self.seq = seq
        self.lost = lost


class EventGap(Exception):
    """The envelopes would leave a gap in ``petition_id``'s stream. Nothing was written."""

    def __init__(self, petition_id: PetitionId, expected: int, got: int) -> None:
        super().__init__(f"petition {petition_id}: seq {got} given where {expected} was due")
        self.petition_id = petition_id
        self.expected = expected
        self.got = got


@dataclass(frozen=True, slots=True)
class Tentative:
    """An append by a workflow task Temporal has not recorded yet (module docstring): its own events
    start at ``from_seq``; ``at`` is the task's time."""

    from_seq: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Head:
    """A stream as its log holds it (module docstring). A new stream has the default head."""

    last_seq: int = 0
    last_hash: chain.Hash = chain.GENESIS
    tentative_from: int | None = None
    tentative_at: datetime | None = None
    recorded_through: int = 0


@dataclass(frozen=True, slots=True)
class Write:
    """One envelope to store, with what its row holds besides the event's own fields."""

    envelope: Envelope
    actor: chain.JsonObject
    body: chain.JsonObject
    prev_hash: chain.Hash
    hash: chain.Hash


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What to do with one petition's stream."""

    petition_id: PetitionId
    skipped: int
    """Envelopes already stored, identical."""
    supersede_from: int | None
    """Stored events from this seq on are replaced (moved aside) before ``writes``."""
    writes: tuple[Write, ...]
    head: Head
    """The head once done (the given one when nothing is written)."""


@dataclass(frozen=True, slots=True)
class Plan:
    streams: tuple[StreamPlan, ...]
    """In petition id order (the order rows are locked and written in)."""

    @property
    def duplicates(self) -> int:
        return sum(s.skipped for s in self.streams)

    @property
    def appended(self) -> int:
        return sum(len(s.writes) for s in self.streams)


def group(envelopes: Iterable[Envelope]) -> dict[PetitionId, list[Envelope]]:
    """The envelopes by petition, in order of first appearance (rule 1).

    Raises:
        EventGap: a petition's seqs in the batch are not contiguous and increasing.
    """
    batches: dict[PetitionId, list[Envelope]] = {}
    for envelope in envelopes:
        batch = batches.setdefault(envelope.petition_id, [])
        if batch and envelope.seq != batch[-1].seq + 1:
            raise EventGap(envelope.petition_id, batch[-1].seq + 1, envelope.seq)
        batch.append(envelope)
    return batches


def overlap(head: Head, batch: Sequence[Envelope]) -> list[int]:
    """The seqs of ``batch`` already taken in the stream: their stored hashes are what ``plan`` needs."""
    return [e.seq for e in batch if e.seq <= head.last_seq]


def plan(
    batches: Mapping[PetitionId, Sequence[Envelope]],
    heads: Mapping[PetitionId, Head],
    stored: StoredHashes,
    tentative: Tentative | None = None,
) -> Plan:
    """Apply the module's rules to ``batches`` (from ``group``) against the streams' ``heads`` and
    the ``stored`` hashes of their ``overlap``.

    Raises:
        EventConflict: rule 3 or 5.
        EventGap: rule 4.
        ValueError: rule 6.
    """
    checked = {
        pid: _check_stored(pid, batch, heads[pid], stored, tentative) for pid, batch in batches.items()
    }
    for pid, (_, supersede_from, new) in checked.items():
        end = heads[pid].last_seq if supersede_from is None else supersede_from - 1
        if new and new[0].seq != end + 1:
            raise EventGap(pid, end + 1, new[0].seq)
    if tentative is not None:
        for pid, (_, supersede_from, new) in checked.items():
            own = next((e.seq for e in new if e.seq >= tentative.from_seq), None)
            # A replacing append has passed the same test (``_may_replace``).
            if own is not None and supersede_from is None and _task_is_lost(heads[pid], tentative):
                raise EventConflict(pid, own, lost=True)
    for pid, (_, _, new) in checked.items():
        for envelope in new:
            if isinstance(envelope.event, PetitionFiled) and envelope.event.petition_id != pid:
                raise ValueError(f"an envelope of {pid} holds the filing of {envelope.event.petition_id}")
    return Plan(
        tuple(_stream_plan(pid, heads[pid], stored, tentative, *checked[pid]) for pid in sorted(checked))
    )


def _check_stored(
    pid: PetitionId,
    batch: Sequence[Envelope],
    head: Head,
    stored: StoredHashes,
    tentative: Tentative | None,
) -> tuple[int, int | None, list[Envelope]]:
    """Rules 2 and 3: how many are skipped, the seq replaced from (if any), and what to write."""
    skipped, supersede_from, new = 0, None, []
    for envelope in batch:
        if envelope.seq > head.last_seq or supersede_from is not None:
            new.append(envelope)
            continue
        if (pid, envelope.seq) not in stored:  # the row is missing: the log was tampered with
            raise EventConflict(pid, envelope.seq)
        prev_hash, hash_ = stored[(pid, envelope.seq)]
        if chain.link(prev_hash, chain.event_content(pid, envelope.seq, envelope.event)) == hash_:
            skipped += 1
            continue
        if not _may_replace(head, envelope.seq, tentative):
            raise EventConflict(pid, envelope.seq)
        supersede_from = envelope.seq
        new.append(envelope)
    return skipped, supersede_from, new


def _may_replace(head: Head, seq: int, tentative: Tentative | None) -> bool:
    """Rule 3: whether the stored event at ``seq``, which differs from the one being appended, was
    written by a lost workflow task that this append may overrule."""
    if head.tentative_from is None or head.tentative_at is None or seq < head.tentative_from:
        return False  # the stored event is in Temporal's history: a real conflict
    if seq <= head.recorded_through:
        return False  # a later append showed it recorded: a slow, lost attempt must not replace it
    if tentative is None:
        return True  # the history's own events overrule a tentative write
    return (
        seq >= tentative.from_seq and head.tentative_at < tentative.at and not _task_is_lost(head, tentative)
    )


def _task_is_lost(head: Head, tentative: Tentative) -> bool:
    """Rule 5: the log shows that the task of ``tentative`` is not the one the history went on with."""
    later_task_wrote = head.tentative_at is not None and head.tentative_at > tentative.at
    return later_task_wrote or head.recorded_through >= tentative.from_seq


def _stream_plan(
    pid: PetitionId,
    head: Head,
    stored: StoredHashes,
    tentative: Tentative | None,
    skipped: int,
    supersede_from: int | None,
    new: list[Envelope],
) -> StreamPlan:
    """Rule 7: the rows to write, chained on from the stored end or the replaced seq, and the head."""
    if not new:
        return StreamPlan(pid, skipped, None, (), head)
    prev_hash = head.last_hash if supersede_from is None else stored[(pid, supersede_from)][0]
    writes = []
    for envelope in new:
        event = envelope.event
        actor, body = chain.split_event(event)
        data = chain.content(pid, envelope.seq, event.type, event.version, event.at, actor, body)
        hash_ = chain.link(prev_hash, data)
        writes.append(Write(envelope, actor, body, prev_hash, hash_))
        prev_hash = hash_
    last = new[-1].seq
    zone_from, zone_at, recorded = head.tentative_from, head.tentative_at, last
    if tentative is not None:
        recorded = tentative.from_seq - 1
        if last >= tentative.from_seq and (zone_at is None or tentative.at >= zone_at):
            zone_from, zone_at = tentative.from_seq, tentative.at
    new_head = replace(
        head,
        last_seq=last,
        last_hash=prev_hash,
        tentative_from=zone_from,
        tentative_at=zone_at,
        recorded_through=max(head.recorded_through, recorded),
    )
    return StreamPlan(pid, skipped, supersede_from, tuple(writes), new_head)
