"""Sweep the ghost rows a lost workflow task leaves, and confirm the tentative rows that were kept.

A local-activity append writes before Temporal records its workflow task (``store.append_plan``).
When that task is lost and its retry decides nothing for the same seqs, nothing ever replaces what
it wrote: ghost rows, at the end of their stream, that no history holds. And when the task was not
lost, its rows stay tentative (above ``recorded_through``) until the petition's next append, which
for a finished petition never comes, so they would never enter the checkpoints' tree.

The sweeper takes every stream whose tentative rows were written longer ago than the workflow task
timeout (by then a live task has either been recorded or timed out), and compares them with the
workflow: rows its history holds, unchanged, are *recorded* (``recorded_through`` rises to them);
rows from the first one the history does not hold are *ghosts* when the workflow's view (or, for a
closed workflow, its final history) has not reached their seq. Ghosts are superseded with
``store.eventlog.supersede`` (kept whole in ``superseded_events``, read models refolded without them,
their notifications gone) and the reason recorded. A row the workflow has reached but its history
does not yet hold is left for the next sweep: its task may still be on its way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.audit._diff import differences
from petitionflow.audit.exporting import load_store
from petitionflow.audit.history import SentEnvelope, decoded, fetch_runs, read_evidence
from petitionflow.audit.models import StoredEvent
from petitionflow.audit.verify import _row_form, _stored_form
from schemas.common import PetitionId
from schemas.state import PetitionState
from schemas.workflow import workflow_id
from store import checkpoints as store
from store._db import Db, connection
from store.eventlog import supersede
from workflows.petition import PetitionWorkflow

WORKFLOW_TASK_TIMEOUT = timedelta(seconds=10)
"""Temporal's default workflow task timeout: a tentative row older than this is no task's in flight."""

GHOST_REASON = (
    "ghost: written by a workflow task that was lost (not in Temporal's history) and never replaced;"
    " swept by the audit (the workflow had not reached seq {seq})"
)


@dataclass(slots=True)
class GhostSweep:
    """What one sweep did, by petition."""

    confirmed: dict[PetitionId, int] = field(default_factory=dict)
    """Streams whose ``recorded_through`` rose, and to what."""
    superseded: dict[PetitionId, int] = field(default_factory=dict)
    """Streams whose ghosts were superseded, from which seq."""
    waiting: list[PetitionId] = field(default_factory=list)
    """Streams left for a later sweep (the workflow is ahead of its history, or did not answer)."""


def _same(envelope: SentEnvelope, row: StoredEvent) -> bool:
    return not differences(_row_form(envelope.event), _stored_form(row))


async def sweep_ghosts(
    client: Client, pool: Db, *, older_than: timedelta = WORKFLOW_TASK_TIMEOUT
) -> GhostSweep:
    """Compare every stream's tentative rows older than ``older_than`` with the workflow's history
    and view; confirm the recorded ones and supersede the ghosts."""
    async with connection(pool) as conn:
        rows = await conn.fetch(
            "SELECT s.petition_id, s.recorded_through FROM streams s WHERE s.last_seq > s.recorded_through"
            " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.petition_id = s.petition_id"
            "  AND e.seq > s.recorded_through AND e.recorded_at > now() - $1::interval)"
            " ORDER BY s.petition_id",
            older_than,
        )
    result = GhostSweep()
    for row in rows:
        await _sweep_one(client, pool, row["petition_id"], result)
    return result


async def _sweep_one(client: Client, pool: Db, pid: PetitionId, result: GhostSweep) -> None:
    wid = workflow_id(pid)
    try:
        runs = await fetch_runs(client, wid)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            result.waiting.append(pid)  # no history to judge by (retention): leave the rows alone
            return
        raise
    sent: dict[int, list[SentEnvelope]] = {}
    # Read as the client reads them: with the codec, a payload left encrypted would hide every
    # recorded event, and each tentative row would look like a ghost.
    for envelope in read_evidence(await decoded(runs, client.data_converter)).envelopes:
        if envelope.petition_id == pid:
            sent.setdefault(envelope.seq, []).append(envelope)
    closed = bool(runs) and _closed(runs[-1])
    reached = None if closed else await _view_seq(client, wid)
    if reached is None and not closed:
        result.waiting.append(pid)
        return
    async with connection(pool) as conn, conn.transaction():
        head = await conn.fetchrow(
            "SELECT last_seq, recorded_through FROM streams WHERE petition_id = $1 FOR UPDATE", pid
        )
        assert head is not None
        events, _ = (await load_store(conn, [pid])).get(pid, ([], None))
        tentative = [e for e in events if e.seq > head["recorded_through"]]
        confirmed = head["recorded_through"]
        for row in tentative:
            if not any(_same(envelope, row) for envelope in sent.get(row.seq, [])):
                break
            confirmed = row.seq
        if confirmed > head["recorded_through"]:
            await store.mark_recorded(conn, pid, confirmed)
            result.confirmed[pid] = confirmed
        ghosts = [e for e in tentative if e.seq > confirmed]
        if not ghosts:
            return
        first = ghosts[0]
        if first.seq in sent or (reached is not None and reached >= first.seq):
            result.waiting.append(pid)  # the workflow holds that seq: its append is on its way
            return
        await supersede(conn, pid, first.seq, bytes.fromhex(first.prev_hash))
        await conn.execute(
            "UPDATE superseded_events SET reason = $3 WHERE petition_id = $1 AND seq >= $2"
            " AND superseded_at = now() AND reason IS NULL",
            pid,
            first.seq,
            GHOST_REASON.format(seq=first.seq),
        )
        result.superseded[pid] = first.seq


def _closed(history: WorkflowHistory) -> bool:
    if not history.events:
        return False
    last = history.events[-1].event_type
    return last in (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    )


async def _view_seq(client: Client, wid: str) -> int | None:
    """The seq the running workflow has reached (its ``view``), or None when it does not answer."""
    handle = client.get_workflow_handle_for(PetitionWorkflow.run, wid)
    try:
        state: PetitionState = await handle.query(PetitionWorkflow.view, rpc_timeout=timedelta(seconds=5))
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None
    return state.seq
