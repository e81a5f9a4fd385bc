"""Export one petition for audit: its Temporal history across every run and its PostgreSQL rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHistory, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.audit.archive import runs_or_archive
from petitionflow.audit.history import decoded, needed_key_ids, read_evidence
from petitionflow.audit.models import AuditExport, ExportedRun, Json, StoredEvent, SupersededEvent
from petitionflow.audit.tables import load_rows
from schemas import upcasting
from schemas.common import PetitionId
from schemas.events import Envelope
from schemas.state import PetitionState
from schemas.workflow import workflow_id
from store import chain
from store._db import Db, connection
from store.projections import PETITION_COLUMNS
from workflows.petition import PetitionWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)
SETTLE_TRIES = 10
"""Times the export reads the history again while the log holds events the history does not yet."""

_EVENT_SELECT = (
    "SELECT petition_id, seq, type, version, at, actor::text AS actor, body::text AS body,"
    " prev_hash, hash, recorded_at FROM events WHERE petition_id = any($1::text[]) ORDER BY petition_id, seq"
)
_PETITION_SELECT = (
    f"SELECT {', '.join(c if c != 'state' else 'state::text AS state' for c in PETITION_COLUMNS)}"
    " FROM petitions WHERE petition_id = any($1::text[])"
)


async def export(client: Client, pool: Db, petition_id: PetitionId) -> AuditExport:
    """Everything an auditor needs about ``petition_id``, in one file-ready model.

    The histories are exported as Temporal holds them (encrypted, when a keyring is in use), with the
    ids of the keys that decrypt them in ``key_ids``.

    Read in this order so that a petition still moving cannot look tampered with: the workflow's
    view, then its histories (every event the event log holds was sent in them), then the rows.

    The histories come from the archive (``audit.archive``) when Temporal no longer has them.

    Raises:
        temporalio.service.RPCError: the workflow does not exist (``NOT_FOUND``) or Temporal failed.
    """
    wid = workflow_id(petition_id)
    for attempt in range(SETTLE_TRIES + 1):
        if attempt:
            # A local activity stores a workflow task's events just before Temporal records the
            # task: give the task a moment, then read both sides again (a lost task's stay unsent).
            await asyncio.sleep(0.1)
        view = await _view(client, wid)
        runs, from_archive = await runs_or_archive(client, pool, wid)
        events, read_model = (await load_store(pool, [petition_id])).get(petition_id, ([], None))
        plain = await decoded(runs, client.data_converter)
        sent = max((e.seq for e in read_evidence(plain).envelopes), default=0)
        if max((e.seq for e in events), default=0) <= sent:
            break
    tables = (await load_rows(pool, [petition_id]))[petition_id]
    superseded = (await load_superseded(pool, [petition_id])).get(petition_id, [])
    return AuditExport(
        petition_id=petition_id,
        workflow_id=wid,
        exported_at=datetime.now(UTC),
        runs=[exported_run(history) for history in runs],
        key_ids=needed_key_ids(runs),
        events=events,
        read_model=read_model,
        view=view,
        tables=tables,
        superseded=superseded,
        archived=from_archive,
    )


def exported_run(history: WorkflowHistory) -> ExportedRun:
    return ExportedRun(run_id=history.run_id, history=history.to_json_dict())


def histories(exported: AuditExport) -> list[WorkflowHistory]:
    """The export's runs back as ``WorkflowHistory`` objects, first run first."""
    return [WorkflowHistory.from_json(exported.workflow_id, run.history) for run in exported.runs]


async def _view(client: Client, wid: str) -> dict[str, Json] | None:
    """The latest run's ``view``, or None when no worker answers in time (its absence is noted, and
    the states the history carries are still compared)."""
    handle = client.get_workflow_handle_for(PetitionWorkflow.run, wid)
    # A query meeting a run that is being continued as new can go unanswered: ask again.
    for _ in range(3):
        try:
            state: PetitionState = await handle.query(PetitionWorkflow.view, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as err:
            if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                continue
            return None
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError):
            return None
        return state.model_dump(mode="json")
    return None


StoreRecord = tuple[list[StoredEvent], dict[str, Json] | None]
"""A petition's event rows and its ``petitions`` row (None when absent)."""


async def load_store(db: Db, petition_ids: Sequence[PetitionId]) -> dict[PetitionId, StoreRecord]:
    """The event rows and read-model rows of ``petition_ids``, two queries for all of them.

    A petition with neither is absent from the answer.
    """
    ids = list(petition_ids)
    async with connection(db) as conn:
        event_rows = await conn.fetch(_EVENT_SELECT, ids)
        petition_rows = await conn.fetch(_PETITION_SELECT, ids)
    found: dict[PetitionId, StoreRecord] = {}
    for row in event_rows:
        events, _ = found.setdefault(row["petition_id"], ([], None))
        events.append(stored_event(row))
    for row in petition_rows:
        events, _ = found.get(row["petition_id"], ([], None))
        found[row["petition_id"]] = (events, read_model_row(row))
    return found


_SUPERSEDED_SELECT = (
    "SELECT petition_id, seq, type, version, at, actor::text AS actor, body::text AS body,"
    " prev_hash, hash, recorded_at, superseded_at, reason FROM superseded_events"
    " WHERE petition_id = any($1::text[]) ORDER BY petition_id, superseded_at, seq"
)


async def load_superseded(
    db: Db, petition_ids: Sequence[PetitionId]
) -> dict[PetitionId, list[SupersededEvent]]:
    """The rows of ``superseded_events`` of ``petition_ids``, in the order they were replaced."""
    async with connection(db) as conn:
        rows = await conn.fetch(_SUPERSEDED_SELECT, list(petition_ids))
    found: dict[PetitionId, list[SupersededEvent]] = {}
    for row in rows:
        stored = stored_event(row)
        found.setdefault(row["petition_id"], []).append(
            SupersededEvent.model_construct(
                **dict(stored), superseded_at=row["superseded_at"], reason=row["reason"]
            )
        )
    return found


def stored_event(row: asyncpg.Record) -> StoredEvent:
    # Built without validation: the values come straight from typed columns.
    return StoredEvent.model_construct(
        seq=row["seq"],
        type=row["type"],
        version=row["version"],
        at=row["at"],
        actor=json.loads(row["actor"]),
        body=json.loads(row["body"]),
        prev_hash=bytes(row["prev_hash"]).hex(),
        hash=bytes(row["hash"]).hex(),
        recorded_at=row["recorded_at"],
    )


def read_model_row(row: asyncpg.Record | dict[str, Any]) -> dict[str, Json]:
    """A ``petitions`` row as JSON: times in the canonical UTC form, ``state`` as an object."""
    return {column: jsonable_column(column, row[column]) for column in PETITION_COLUMNS}


def jsonable_column(column: str, value: Any) -> Json:
    if column == "state":
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(value, datetime):
        return chain.canonical_at(value)
    return value


def envelopes(exported: AuditExport) -> list[Envelope]:
    """The export's stored events as today's ``Envelope``s (older versions upcast)."""
    return [
        Envelope(
            petition_id=exported.petition_id,
            seq=row.seq,
            event=upcasting.parse_event(raw_event(row)),
        )
        for row in exported.events
    ]


def read_export(path: Path) -> AuditExport:
    """An export file back as a model.

    Raises:
        pydantic.ValidationError: the file is not an export.
    """
    return AuditExport.model_validate_json(path.read_bytes())


def write_export(exported: AuditExport, path: Path) -> None:
    path.write_text(exported.model_dump_json(indent=1) + "\n", encoding="utf-8")


def raw_event(row: StoredEvent) -> dict[str, Json]:
    """A stored row as the raw event JSON the upcasters and ``EVENT_ADAPTER`` read."""
    return {**row.body, "type": row.type, "version": row.version, "at": row.at, "actor": row.actor}
