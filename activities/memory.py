"""The ``append_events`` and ``record_petitioner`` activities on the in-memory event log
(``store.memory``): what the workflow tests and the benchmarks register in place of PostgreSQL."""

from __future__ import annotations

from temporalio import activity

from activities.eventlog import refusal, tentative_of
from schemas.commands import PetitionerContact
from schemas.common import PetitionId
from schemas.events import Envelope
from schemas.workflow import AppendEventsInput, AppendEventsResult
from store.append_plan import EventConflict, EventGap
from store.memory import MemoryEventLog


class MemoryEventLogActivities:
    """The activities of ``activities.eventlog.EventLogActivities``, under the same names, on a
    ``MemoryEventLog``: the same skips, conflicts, gaps and tentative zone. Subclasses may act
    before each attempt (``before_append``, ``before_record``), e.g. to fail or stall it."""

    def __init__(self, log: MemoryEventLog | None = None) -> None:
        self.log = log if log is not None else MemoryEventLog()

    @property
    def events(self) -> dict[PetitionId, list[Envelope]]:
        """Each petition's stored events, in order (read only)."""
        return self.log.events

    @property
    def petitioners(self) -> dict[str, PetitionerContact]:
        return self.log.petitioners

    async def before_append(self, *, local: bool) -> None:
        """Called at the start of every ``append_events`` attempt."""

    async def before_record(self, *, local: bool) -> None:
        """Called at the start of every ``record_petitioner`` attempt."""

    @activity.defn(name="append_events")
    async def append_events(self, input: AppendEventsInput) -> AppendEventsResult:
        """Append as ``activities.eventlog`` does: only a local attempt is tentative, a conflict is
        retried until settled and a gap fails the activity for good."""
        local = activity.info().is_local
        await self.before_append(local=local)
        try:
            result = self.log.append(input.events, tentative=tentative_of(input, local=local))
        except (EventConflict, EventGap) as err:
            raise refusal(err) from err
        if input.petitioner is not None:  # with the filing, as in one transaction
            self.log.record_petitioner(input.petitioner)
        return AppendEventsResult(
            appended=result.appended, duplicates=result.duplicates, stored=tuple(input.events)
        )

    @activity.defn(name="record_petitioner")
    async def record_petitioner(self, contact: PetitionerContact) -> None:
        await self.before_record(local=activity.info().is_local)
        self.log.record_petitioner(contact)
