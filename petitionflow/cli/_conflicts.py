"""CLI commands for an append the event log refused: ``conflicts show`` and ``conflicts settle``.

A different event already stored at a seq the workflow sends (``store.eventlog.EventConflict``)
does not end the petition: its ``append_events`` activity is retried, with backoff, until this is
settled, and the petition's timers wait meanwhile (docs/operations.md). ``show`` sets the rows that
block it beside the events the workflow's history holds for those seqs; ``settle`` moves the rows
from the first conflicting seq on to ``superseded_events`` (``store.conflicts``), so the retried
append writes the workflow's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecutionStatus

from petitionflow.audit._diff import differences
from petitionflow.audit.exporting import load_store
from petitionflow.audit.history import APPEND_ACTIVITY, SentEnvelope, decoded, fetch_runs, read_evidence
from petitionflow.audit.models import Json, StoredEvent
from petitionflow.cli._support import database, emit_json, fail, out, petitions, run, table
from schemas import upcasting
from schemas.common import PetitionId
from schemas.workflow import workflow_id
from store import chain
from store import conflicts as store_conflicts
from store._db import Db

conflicts = typer.Typer(
    help="Appends the event log refused because a different event holds the seq: see and settle them.",
    no_args_is_help=True,
)

Verdict = Literal["same", "differs", "only in the event log", "not stored yet"]


def register(app: typer.Typer) -> None:
    app.add_typer(conflicts, name="conflicts")


@dataclass(frozen=True, slots=True)
class Compared:
    """One seq of the waiting append: the stored row beside the event the workflow sends."""

    seq: int
    stored: StoredEvent | None
    sent: dict[str, Json] | None
    verdict: Verdict
    differences: list[tuple[str, Json, Json]] = field(default_factory=list)
    """(path, stored, sent) for each field that differs."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """The retried ``append_events`` activity, as Temporal describes it."""

    attempt: int
    last_failure: str
    next_attempt: str | None


@dataclass(slots=True)
class ConflictReport:
    petition_id: PetitionId
    status: str
    """The workflow's status (``RUNNING`` while it waits on the append)."""
    waiting: list[Waiting]
    rows: list[Compared]
    head: tuple[int, bytes]
    """The stream's ``(last_seq, last_hash)`` the rows were read at."""

    @property
    def first_conflict(self) -> int | None:
        """The seq ``settle`` moves the rows from: the first the append would refuse."""
        return next((r.seq for r in self.rows if r.verdict == "differs"), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "petition_id": self.petition_id,
            "workflow_status": self.status,
            "waiting_appends": [
                {"attempt": w.attempt, "last_failure": w.last_failure, "next_attempt": w.next_attempt}
                for w in self.waiting
            ],
            "first_conflict": self.first_conflict,
            "rows": [
                {
                    "seq": r.seq,
                    "verdict": r.verdict,
                    "stored": None if r.stored is None else r.stored.model_dump(mode="json"),
                    "sent": r.sent,
                    "differences": [{"field": p, "stored": s, "sent": w} for p, s, w in r.differences],
                }
                for r in self.rows
            ],
        }


async def inspect(client: Client, db: Db, petition_id: PetitionId) -> ConflictReport:
    """Compare the envelopes the workflow is still sending with the rows stored at their seqs.

    The seqs compared run from the first envelope no ``append_events`` has acknowledged yet to the
    last one sent or stored, whichever is later. A row is ``same`` when the append would skip it as
    a duplicate (its hash is the one the workflow's event gives), ``differs`` when it would refuse.
    """
    handle = client.get_workflow_handle(workflow_id(petition_id))
    description = await handle.describe()
    runs = await fetch_runs(client, handle.id)
    evidence = read_evidence(await decoded(runs, client.data_converter))
    rows, _ = (await load_store(db, [petition_id])).get(petition_id, ([], None))
    head_row = await db.fetchrow(
        "SELECT last_seq, last_hash FROM streams WHERE petition_id = $1", petition_id
    )
    head = (0, chain.GENESIS) if head_row is None else (head_row["last_seq"], bytes(head_row["last_hash"]))

    acknowledged = {e.seq for e in evidence.envelopes if e.completed}
    unsent: dict[int, SentEnvelope] = {}
    for envelope in evidence.envelopes:  # history order: the latest send of a seq wins
        if (
            not envelope.completed
            and envelope.seq not in acknowledged
            and envelope.petition_id == petition_id
        ):
            unsent[envelope.seq] = envelope
    stored = {row.seq: row for row in rows}
    compared: list[Compared] = []
    if unsent:
        for seq in range(min(unsent), max(max(unsent), head[0]) + 1):
            compared.append(_compare(petition_id, seq, stored.get(seq), unsent.get(seq)))
    waiting = [
        Waiting(
            attempt=pending.attempt,
            last_failure=pending.last_failure.message,
            next_attempt=(
                pending.next_attempt_schedule_time.ToDatetime(UTC).isoformat()
                if pending.HasField("next_attempt_schedule_time")
                else None
            ),
        )
        for pending in description.raw_description.pending_activities
        if pending.activity_type.name == APPEND_ACTIVITY
    ]
    status = description.status.name if description.status is not None else "UNKNOWN"
    return ConflictReport(petition_id, status, waiting, compared, head)


def _compare(
    petition_id: PetitionId, seq: int, row: StoredEvent | None, sent: SentEnvelope | None
) -> Compared:
    if sent is None:
        return Compared(seq, row, None, "only in the event log")
    if row is None:
        return Compared(seq, None, sent.event, "not stored yet")
    try:
        event = upcasting.parse_event(sent.event)
    except (ValidationError, ValueError):
        return Compared(seq, row, sent.event, "differs", [("(whole)", "(stored)", "(does not parse)")])
    if chain.link(
        bytes.fromhex(row.prev_hash), chain.event_content(petition_id, seq, event)
    ) == bytes.fromhex(row.hash):
        return Compared(seq, row, sent.event, "same")
    actor, body = chain.split_event(event)
    sent_form = {
        "type": event.type,
        "version": event.version,
        "at": chain.canonical_at(event.at),
        "actor": actor,
        "body": body,
    }
    stored_form = {
        "type": row.type,
        "version": row.version,
        "at": chain.canonical_at(row.at),
        "actor": row.actor,
        "body": row.body,
    }
    found = differences(stored_form, sent_form)
    if not found:  # equal as JSON, yet hashed differently (e.g. a time in another form)
        found = [("(canonical bytes)", row.hash, "(a different hash)")]
    return Compared(seq, row, sent.event, "differs", found)


# ------------------------------------------------------------------------------------ commands

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


async def _report(petition_id: PetitionId) -> ConflictReport:
    async with petitions() as client, database() as pool:
        return await inspect(client.temporal, pool, petition_id)


@conflicts.command("show")
def show(
    petition_id: Annotated[str, typer.Argument(help="The petition's id.")], as_json: JsonFlag = False
) -> None:
    """Show the stored rows that block the petition's append beside the events its workflow sends."""
    report = run(lambda: _report(petition_id))
    if as_json:
        emit_json(report.as_json())
        return
    _print(report)


@conflicts.command("settle")
def settle(
    petition_id: Annotated[str, typer.Argument(help="The petition's id.")],
    seq: Annotated[int, typer.Option("--seq", min=1, help="The first conflicting seq, as `show` names it.")],
    note: Annotated[
        str | None,
        typer.Option("--note", help="Why, in your words (at most 500 characters): kept with the moved rows."),
    ] = None,
    rewrite_checkpointed: Annotated[
        bool,
        typer.Option(
            "--rewrite-checkpointed",
            help="Move rows that signed checkpoints already commit to (those checkpoints then fail"
            " `audit verify --all`, as they should).",
        ),
    ] = False,
) -> None:
    """Move the stored rows from SEQ on aside, so the waiting append writes the workflow's events.

    The rows go, whole, to superseded_events and the read models are refolded without them. SEQ
    must be the first conflicting seq `show` names (docs/operations.md).
    """

    if note is not None and not 0 < len(note.strip()) <= 500:
        fail("--note: give 1 to 500 characters")

    async def go() -> store_conflicts.Settled:
        async with petitions() as client, database() as pool:
            report = await inspect(client.temporal, pool, petition_id)
            if report.status != WorkflowExecutionStatus.RUNNING.name:
                status = report.status.lower()
                fail(f"the workflow of petition {petition_id} is {status}: no append waits on it")
            first = report.first_conflict
            if first is None:
                fail(f"no append of petition {petition_id} waits on a conflict: nothing to settle")
            if seq != first:
                fail(
                    f"seq {seq} is not where the conflict starts: the event log first differs from"
                    f" the workflow at seq {first} (see `petitionflow conflicts show {petition_id}`)"
                )
            try:
                return await store_conflicts.settle(
                    pool,
                    petition_id,
                    seq,
                    head=report.head,
                    rewrite_checkpointed=rewrite_checkpointed,
                    note=None if note is None else note.strip(),
                )
            except store_conflicts.LogMoved as moved:
                fail(f"{moved}; run `petitionflow conflicts show {petition_id}` again")
            except store_conflicts.InCheckpoint as held:
                fail(f"{held}; pass --rewrite-checkpointed to move them anyway (docs/operations.md)")

    settled = run(go)
    out.print(
        f"petition {petition_id}: seqs {settled.from_seq}..{settled.through_seq} moved to"
        " superseded_events and the read models refolded; the waiting append writes the workflow's"
        " events at its next attempt (within 30 s)",
        highlight=False,
    )


def _cell(row: StoredEvent | dict[str, Json] | None) -> str:
    if row is None:
        return "—"
    kind: Json
    version: Json
    at: Json
    actor: Json
    if isinstance(row, StoredEvent):
        kind, version, at, actor = row.type, row.version, chain.canonical_at(row.at), row.actor
    else:
        kind, version, at, actor = row.get("type"), row.get("version"), row.get("at"), row.get("actor")
    who = f"{actor.get('role')}:{actor.get('id')}" if isinstance(actor, dict) else "?"
    return f"{kind} v{version} {at} {who}"


def _short(value: Json, width: int = 48) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _print(report: ConflictReport) -> None:
    pid = report.petition_id
    out.print(f"petition {pid}: workflow {report.status.lower()}", highlight=False)
    for waiting in report.waiting:
        out.print(
            f"  append_events attempt {waiting.attempt}, next at {waiting.next_attempt or '—'}:"
            f" {waiting.last_failure or '(no failure yet)'}",
            highlight=False,
        )
    if not report.rows:
        out.print("every event the workflow sent is stored: no append is waiting", highlight=False)
        return
    table(
        "the event log beside the workflow's history",
        ["seq", "in the event log", "the workflow sends", ""],
        [(r.seq, _cell(r.stored), _cell(r.sent), r.verdict) for r in report.rows],
    )
    for row in report.rows:
        for path, stored, sent in row.differences:
            out.print(
                f"  seq {row.seq} {path}: stored {_short(stored)}, sent {_short(sent)}", highlight=False
            )
    first = report.first_conflict
    if first is None:
        out.print("no conflict: the waiting append will store these as they are", highlight=False)
        return
    out.print(
        f"settle: petitionflow conflicts settle {pid} --seq {first}\n"
        f"  moves seqs {first}..{report.head[0]} of the event log to superseded_events (kept for the"
        " audit), refolds the read models, and lets the waiting append write the workflow's events",
        highlight=False,
    )
