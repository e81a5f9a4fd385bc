"""Confirm held notifications with Temporal, so a recorded event's message is not held for long.

An event a local activity appended is tentative until Temporal records the workflow task that
decided it; the outbox holds its notifications (``store.outbox``). Usually that task completes a
few milliseconds after the append. So, for each petition with notifications held longer than
``confirm_after``, the dispatcher reads the petition's history (its latest run, and the earlier ones
when the held events lie there) the way the audit does (``petitionflow.audit.history``), and hands
the envelopes of *completed* ``append_events`` calls to ``store.recorded.confirm_recorded``, which
raises the mark over every stored event the history holds byte for byte. A task that was lost never
shows up: its events stay held until its retry replaces them (their notifications go with them) or
confirms them. Petitions not confirmed yet are asked again with a growing pause (up to 30 s).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from petitionflow.audit.history import decoded, fetch_runs, read_evidence
from schemas.events import Envelope
from schemas.workflow import AppendEventsInput, workflow_id
from store import outbox
from store.recorded import confirm_recorded

log = structlog.get_logger("petitionflow.notify")
_MAX_PAUSE = 30.0


class Confirmer:
    def __init__(self, client: Client, pool: asyncpg.Pool, confirm_after: timedelta) -> None:
        self._client = client
        self._pool = pool
        self._after = confirm_after
        self._next_ask: dict[str, tuple[float, float]] = {}
        """petition → (when to ask again, the pause after that)."""
        self._slots = asyncio.Semaphore(8)

    async def confirm_held(self) -> int:
        """Ask about every held petition that is due; returns how many notifications it released."""
        held = await outbox.held_back(self._pool, older_than=self._after, limit=200)
        now = time.monotonic()
        due = [(pid, seq) for pid, seq in held if self._next_ask.get(pid, (0.0, 0.0))[0] <= now]
        if not due:
            return 0
        released = await asyncio.gather(*(self._confirm(pid, seq) for pid, seq in due))
        return sum(released)

    async def _confirm(self, petition_id: str, held_seq: int) -> int:
        async with self._slots:
            try:
                envelopes = await self._recorded(petition_id, latest_only=True)
                mark = await confirm_recorded(self._pool, envelopes)
                if mark < held_seq and envelopes and min(e.seq for e in envelopes) > 1:
                    mark = await confirm_recorded(
                        self._pool, await self._recorded(petition_id, latest_only=False)
                    )
            except RPCError as error:  # Temporal unreachable, or no such workflow: ask later
                log.debug("confirm_failed", petition_id=petition_id, error=type(error).__name__)
                mark = 0
            except ValueError as error:  # a history that does not decode: the audit will say more
                log.warning("confirm_unreadable_history", petition_id=petition_id, error=type(error).__name__)
                mark = 0
        if mark >= held_seq:
            self._next_ask.pop(petition_id, None)
            count = await self._pool.fetchval(
                "SELECT count(*) FROM notifications WHERE petition_id = $1 AND sent_at IS NULL AND seq <= $2",
                petition_id,
                mark,
            )
            return int(count)
        _, pause = self._next_ask.get(petition_id, (0.0, self._after.total_seconds()))
        pause = min(_MAX_PAUSE, max(pause, 0.05) * 2)
        self._next_ask[petition_id] = (time.monotonic() + pause, pause)
        return 0

    async def _recorded(self, petition_id: str, *, latest_only: bool) -> list[Envelope]:
        wid = workflow_id(petition_id)
        if latest_only:
            histories = [await self._client.get_workflow_handle(wid).fetch_history()]
        else:
            histories = await fetch_runs(self._client, wid)
        # Encrypted payloads (the codec) are read as the client reads them.
        evidence = read_evidence(await decoded(histories, self._client.data_converter))
        raw = [
            {"petition_id": e.petition_id, "seq": e.seq, "event": e.event}
            for e in evidence.envelopes
            if e.completed and e.petition_id == petition_id
        ]
        if not raw:
            return []
        return list(AppendEventsInput.model_validate({"events": raw}).events)
