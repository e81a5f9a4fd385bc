"""An event log in memory, on the same plan as PostgreSQL's: the same hashes, conflicts, gaps and
tentative zone (``store.append_plan``), with no read models. For the workflow tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.commands import PetitionerContact
from schemas.common import PetitionId
from schemas.events import Envelope
from store import append_plan, chain
from store.append_plan import Head, Tentative
from store.models import AppendResult


@dataclass
class MemoryEventLog:
    """Streams of events by petition. A failed append, like PostgreSQL's transaction, changes nothing.

    ``events`` and ``links`` are for reading only: ``append`` keeps them and the heads in step."""

    events: dict[PetitionId, list[Envelope]] = field(default_factory=dict)
    """Each petition's stored events, in order (seq ``n`` at index ``n - 1``)."""
    links: dict[PetitionId, list[tuple[chain.Hash, chain.Hash]]] = field(default_factory=dict)
    """The ``(prev_hash, hash)`` of each stored event, as ``events``."""
    heads: dict[PetitionId, Head] = field(default_factory=dict)
    superseded: list[Envelope] = field(default_factory=list)
    """Events a lost workflow task wrote and its retry replaced, in the order they were replaced."""
    petitioners: dict[str, PetitionerContact] = field(default_factory=dict)

    def append(self, envelopes: Sequence[Envelope], *, tentative: Tentative | None = None) -> AppendResult:
        """Store ``envelopes`` once each, as ``store.eventlog.append`` does (same rules, same errors).

        Raises:
            EventConflict, EventGap, ValueError: see ``store.append_plan.plan``.
        """
        batches = append_plan.group(envelopes)
        heads = {pid: self.heads.get(pid, Head()) for pid in batches}
        stored = {
            (pid, seq): self.links[pid][seq - 1]
            for pid, batch in batches.items()
            for seq in append_plan.overlap(heads[pid], batch)
        }
        decided = append_plan.plan(batches, heads, stored, tentative)
        for stream in decided.streams:
            if not stream.writes:
                continue
            pid = stream.petition_id
            events, links = self.events.setdefault(pid, []), self.links.setdefault(pid, [])
            if stream.supersede_from is not None:
                self.superseded.extend(events[stream.supersede_from - 1 :])
                del events[stream.supersede_from - 1 :], links[stream.supersede_from - 1 :]
            events.extend(w.envelope for w in stream.writes)
            links.extend((w.prev_hash, w.hash) for w in stream.writes)
            self.heads[pid] = stream.head
        return AppendResult(appended=decided.appended, duplicates=decided.duplicates)

    def read_events(self, petition_id: PetitionId) -> list[Envelope]:
        """A petition's stored events in order (a copy)."""
        return list(self.events.get(petition_id, []))

    def record_petitioner(self, contact: PetitionerContact) -> None:
        """As ``store.eventlog.record_petitioner``: the first contact of a petitioner id is kept."""
        self.petitioners.setdefault(contact.petitioner_id, contact)
