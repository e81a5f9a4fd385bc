"""Histories outlive Temporal's retention: each petition's history is archived into the store when
its workflow ends, and read back from there when Temporal no longer has it.

A namespace's retention deletes a closed workflow's histories some days after it closes. The
schedule (``audit.schedule``) archives every finished petition's runs (``history_archive``, as
``WorkflowHistory.to_json_dict()``, first run first) once its last run has closed; ``runs_or_archive``
is what the export and the sweep read histories with.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.audit.history import fetch_runs
from schemas.common import PetitionId
from schemas.workflow import workflow_id
from store import checkpoints as store
from store._db import Db

_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
}


def closed(history: WorkflowHistory) -> bool:
    """Has this run ended, without continuing as new?"""
    return bool(history.events) and history.events[-1].event_type in _CLOSED


async def archive_petition(client: Client, pool: Db, petition_id: PetitionId) -> bool:
    """Archive the petition's runs if its workflow has ended; whether it was archived."""
    wid = workflow_id(petition_id)
    try:
        runs = await fetch_runs(client, wid)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    if not runs or not closed(runs[-1]):
        return False
    await store.archive_runs(pool, wid, [(run.run_id, run.to_json_dict()) for run in runs])
    return True


async def archive_finished(client: Client, pool: Db, *, limit: int = 1000) -> list[PetitionId]:
    """Archive every finished petition whose history is not archived yet; those archived."""
    done = []
    for petition_id in await store.finished_unarchived(pool, limit=limit):
        if await archive_petition(client, pool, petition_id):
            done.append(petition_id)
    return done


async def archived(pool: Db, wid: str) -> list[WorkflowHistory]:
    return [WorkflowHistory.from_json(wid, history) for _, history in await store.archived_runs(pool, wid)]


async def runs_or_archive(client: Client, pool: Db, wid: str) -> tuple[list[WorkflowHistory], bool]:
    """Every run of ``wid`` from Temporal, or from the archive when Temporal no longer has it; and
    whether they came from the archive.

    Raises:
        RPCError: ``NOT_FOUND`` when neither has it.
    """
    try:
        return await fetch_runs(client, wid), False
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        runs = await archived(pool, wid)
        if not runs:
            raise
        return runs, True
