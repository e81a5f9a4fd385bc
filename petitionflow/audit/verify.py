"""Verify a petition without trusting the running system: replay, hash chain, fold, history, read model.

Every check works on evidence that an export file holds too (the histories, the stored rows with
their hashes, the read-model row, the workflow's view), so a petition verifies the same way live and
offline. What each check asks is in ``Check``; every disagreement is a ``Finding`` naming the seq,
the field, and what was expected against what was found.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import ValidationError
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.audit._diff import differences
from petitionflow.audit.archive import runs_or_archive
from petitionflow.audit.checkpoints import as_checkpoint, check_log
from petitionflow.audit.exporting import (
    export,
    histories,
    jsonable_column,
    load_store,
    load_superseded,
    raw_event,
)
from petitionflow.audit.history import (
    HistoryEvidence,
    SentEnvelope,
    StateSnapshot,
    decoded,
    read_evidence,
)
from petitionflow.audit.models import (
    AuditExport,
    Check,
    Finding,
    Json,
    StoredEvent,
    SupersededEvent,
    VerifyReport,
)
from petitionflow.audit.replaying import MIN_RUNS_PER_PROCESS, ReplayPool, replay
from petitionflow.audit.signing import Checkpoint
from petitionflow.audit.tables import Rows, compare_rows, expected_rows, load_rows
from petitionflow.codec import DecryptionError
from petitionflow.converter import data_converter
from schemas import upcasting
from schemas.common import PetitionId
from schemas.state import PetitionState
from schemas.workflow import WORKFLOW_TYPE, workflow_id
from store import chain
from store import checkpoints as checkpoint_store
from store._db import Db, connection
from store.projections import PETITION_COLUMNS, PetitionProjection
from workflows.petition import PetitionWorkflow

WORKFLOWS: tuple[type, ...] = (PetitionWorkflow,)
"""The workflow code histories are replayed against: today's."""

_ENVELOPE_FIELDS = ("type", "version", "at", "actor")


@dataclass(slots=True)
class Evidence:
    """What one petition is verified on; ``runs`` is None when Temporal was not consulted."""

    petition_id: PetitionId
    events: list[StoredEvent]
    read_model: dict[str, Json] | None
    view: dict[str, Json] | None
    runs: list[WorkflowHistory] | None
    tables: Rows | None = None
    """The stored echo wall, tier_stints and notifications rows; None: not compared."""
    superseded: list[SupersededEvent] | None = None
    """The petition's rows of ``superseded_events``; None: not audited."""


def _evidence(exported: AuditExport, runs: list[WorkflowHistory] | None) -> Evidence:
    return Evidence(
        exported.petition_id,
        exported.events,
        exported.read_model,
        exported.view,
        runs,
        tables=exported.tables,
        superseded=exported.superseded,
    )


# ------------------------------------------------------------------------------------- entry points


async def verify(
    client: Client, pool: Db, petition_id: PetitionId, *, workflows: Sequence[type] = WORKFLOWS
) -> VerifyReport:
    """Verify one petition against the live servers (every check), decrypting with the client's codec."""
    exported = await export(client, pool, petition_id)
    evidence = _evidence(exported, histories(exported))
    checked = await check_all([evidence], source="live", workflows=workflows, converter=client.data_converter)
    return _archived_note(checked[0]) if exported.archived else checked[0]


def _archived_note(report: VerifyReport) -> VerifyReport:
    note = "Temporal no longer has the history: the archived one was replayed and compared"
    return report.model_copy(update={"notes": [*report.notes, note]})


async def verify_export(
    exported: AuditExport, *, workflows: Sequence[type] = WORKFLOWS, converter: DataConverter | None = None
) -> VerifyReport:
    """Verify one petition from an export alone: no server is contacted.

    ``converter`` (``data_converter(keyring)``) decrypts histories recorded with encryption on; the
    keyring must list every key of ``exported.key_ids``.
    """
    try:
        runs = histories(exported)
    except Exception as error:
        report = check(_evidence(exported, None), source="export")
        finding = Finding(check=Check.REPLAY, message=f"the export's histories do not parse: {error}")
        return report.model_copy(update={"findings": [finding, *report.findings]})
    return (
        await check_all(
            [_evidence(exported, runs)], source="export", workflows=workflows, converter=converter
        )
    )[0]


ProgressFn = Callable[[int, int], None]
"""Called with (petitions verified so far, petitions in all)."""


@dataclass(slots=True)
class Sweep:
    """The outcome of ``verify_all``."""

    reports: list[VerifyReport]
    notes: list[str]
    findings: list[Finding] = field(default_factory=list)
    """What is wrong with the log as a whole: it no longer extends the checkpoint it was checked on."""

    @property
    def ok(self) -> bool:
        return not self.findings and all(report.ok for report in self.reports)


async def verify_all(
    pool: Db,
    *,
    client: Client | None,
    batch: int = 500,
    concurrency: int = 16,
    workflows: Sequence[type] = WORKFLOWS,
    on_progress: ProgressFn | None = None,
    checkpoint: Checkpoint | None = None,
    processes: int | None = None,
) -> Sweep:
    """Verify every petition the event log or Temporal knows of, ``batch`` at a time, and that the
    log still holds the tree of ``checkpoint`` (default: the latest stored one) leaf for leaf.

    Without ``client`` only the PostgreSQL side is checked (chain, fold, read models), and that is
    noted in each report. With it, the histories replay in ``processes`` worker processes (default:
    one per core; 1 replays in this process).
    """
    ids, notes = await petition_ids(pool, client)
    # Worker processes only for a sweep big enough to share (each petition has a run at least),
    # started before the rows are read, so that they start meanwhile.
    enough = client is not None and len(ids) >= 2 * MIN_RUNS_PER_PROCESS
    async with ReplayPool(processes if enough else 1) as replays:
        sweep_findings: list[Finding] = []
        if checkpoint is None:
            latest = await checkpoint_store.latest_checkpoint(pool)
            checkpoint = None if latest is None else as_checkpoint(latest)
        if checkpoint is None:
            notes.append("no checkpoint was taken yet: the log's growth was not checked")
        else:
            sweep_findings += await check_log(pool, checkpoint)
        reports: list[VerifyReport] = []
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            stored = await load_store(pool, chunk)
            tables = await load_rows(pool, chunk)
            superseded = await load_superseded(pool, chunk)
            runs: dict[PetitionId, list[WorkflowHistory] | None] = dict.fromkeys(chunk)
            from_archive: set[PetitionId] = set()
            if client is not None:
                runs, from_archive = await _fetch_all_runs(client, pool, chunk, concurrency)
            evidence = [
                Evidence(
                    pid,
                    *stored.get(pid, ([], None)),
                    view=None,
                    runs=runs[pid],
                    tables=tables[pid],
                    superseded=superseded.get(pid, []),
                )
                for pid in chunk
            ]
            checked = await check_all(
                evidence,
                source="live",
                workflows=workflows,
                converter=None if client is None else client.data_converter,
                replays=replays,
            )
            reports += [_archived_note(r) if r.petition_id in from_archive else r for r in checked]
            if on_progress is not None:
                on_progress(len(reports), len(ids))
        if replays.replayed_in:
            notes.append(f"the histories replayed in {len(replays.replayed_in)} worker processes")
        return Sweep(reports=reports, notes=notes, findings=sweep_findings)


async def petition_ids(pool: Db, client: Client | None) -> tuple[list[PetitionId], list[str]]:
    """Every petition id in the event log, its read models, and (when it can list) Temporal."""
    notes: list[str] = []
    async with connection(pool) as conn:
        # Every table a petition leaves rows in: one deleted from the log still shows by the others.
        rows = await conn.fetch(
            "SELECT petition_id FROM streams UNION SELECT petition_id FROM petitions"
            " UNION SELECT petition_id FROM petition_ids UNION SELECT petition_id FROM echo_wall"
            " UNION SELECT petition_id FROM tier_stints UNION SELECT petition_id FROM notifications"
            " UNION SELECT petition_id FROM superseded_events"
        )
    ids = {r["petition_id"] for r in rows}
    if client is not None:
        prefix = workflow_id("")
        try:
            async for execution in client.list_workflows(f'WorkflowType = "{WORKFLOW_TYPE}"'):
                if execution.id.startswith(prefix):
                    ids.add(execution.id.removeprefix(prefix))
        except RPCError as error:
            if error.status is not RPCStatusCode.UNIMPLEMENTED:
                raise
            notes.append(
                "Temporal cannot list workflows here: petitions known only to Temporal are not swept"
            )
    return sorted(ids), notes


async def _fetch_all_runs(
    client: Client, pool: Db, ids: Sequence[PetitionId], concurrency: int
) -> tuple[dict[PetitionId, list[WorkflowHistory] | None], set[PetitionId]]:
    """Every petition's runs (from the archive when Temporal no longer has them), and which came
    from the archive."""
    gate = asyncio.Semaphore(concurrency)
    from_archive: set[PetitionId] = set()

    async def one(pid: PetitionId) -> list[WorkflowHistory] | None:
        async with gate:
            try:
                runs, archived = await runs_or_archive(client, pool, workflow_id(pid))
            except RPCError as error:
                if error.status is RPCStatusCode.NOT_FOUND:
                    return []
                raise
            if archived:
                from_archive.add(pid)
            return runs

    found = await asyncio.gather(*(one(pid) for pid in ids))
    return dict(zip(ids, found, strict=True)), from_archive


# ------------------------------------------------------------------------------------------ checks


async def check_all(
    evidence: Sequence[Evidence],
    *,
    source: Literal["live", "export"],
    workflows: Sequence[type] = WORKFLOWS,
    converter: DataConverter | None = None,
    replays: ReplayPool | None = None,
) -> list[VerifyReport]:
    """Every check of each petition, the histories of all of them replayed meanwhile (in this
    process, where the replay mostly waits on the SDK's core while the checks run, or in the worker
    processes of ``replays``).

    ``converter`` (default: ``data_converter()``, no codec) decodes the payloads, for the replayer
    and for the comparison of what the history says with the event log.
    """
    converter = converter or data_converter()
    plain: list[Evidence] = []
    undecodable: dict[PetitionId, Finding] = {}
    for item in evidence:
        if item.runs is None:
            plain.append(item)
            continue
        try:
            plain.append(dataclasses.replace(item, runs=await decoded(item.runs, converter)))
        except DecryptionError as error:
            # Not replayed either: the replayer would stop on the same payload.
            undecodable[item.petition_id] = Finding(
                check=Check.HISTORY, message=f"the history does not decrypt: {error}"
            )
            plain.append(dataclasses.replace(item, runs=[]))
    if replays is None:
        replayable = [run for e in evidence if e.petition_id not in undecodable for run in (e.runs or [])]
        replaying = asyncio.create_task(replay(replayable, workflows, converter))
    else:  # the decoded runs: the worker processes hold no key
        replayable = [run for e in plain for run in (e.runs or [])]
        replaying = asyncio.create_task(replays.replay(replayable, workflows))
    checked = []
    for readable in plain:
        checked.append(check(readable, source=source))
        await asyncio.sleep(0)  # let the replay hand the core its next history
    replayed = await replaying
    reports = []
    for item, report in zip(evidence, checked, strict=True):
        if item.petition_id in undecodable:
            report = report.model_copy(
                update={
                    "findings": [undecodable[item.petition_id], *report.findings],
                    "runs": len(item.runs or []),
                }
            )
        failures = [f for run in (item.runs or []) for f in replayed.get(run.run_id, [])]
        if item.runs is not None:
            report = report.model_copy(
                update={
                    "checked": [Check.REPLAY, *report.checked],
                    "findings": [*failures, *report.findings],
                }
            )
        reports.append(report)
    return reports


def check(evidence: Evidence, *, source: Literal["live", "export"]) -> VerifyReport:
    """The checks that need no replay: chain, fold, history, view, read model."""
    pid = evidence.petition_id
    rows = evidence.events
    findings: list[Finding] = []
    notes: list[str] = []
    checked = [Check.CHAIN, Check.FOLD, Check.READ_MODEL, Check.VIEW]

    findings += check_chain(pid, rows)
    told = read_evidence(evidence.runs) if evidence.runs is not None else HistoryEvidence()
    snapshots = list(told.snapshots)
    if evidence.view is not None:
        snapshots.append(StateSnapshot("", 0, "the workflow's view (query)", evidence.view))
    wanted = {s.state.get("seq") for s in snapshots if isinstance(s.state.get("seq"), int)}
    folded = fold_rows(rows, wanted)
    findings += folded.findings

    if evidence.runs is None:
        notes.append("Temporal was not consulted: no replay, and the history was not compared")
    else:
        checked.insert(2, Check.HISTORY)
        for run_id, event_id, problem in told.problems:
            findings.append(
                Finding(check=Check.HISTORY, message=problem, run_id=run_id, history_event_id=event_id)
            )
        history_findings, history_notes = compare_history(pid, told.envelopes, rows)
        findings += history_findings
        notes += history_notes
    if evidence.view is None and evidence.runs is not None:
        notes.append("the workflow's view could not be queried; the states its history carries were compared")
    view_findings, view_notes = compare_snapshots(snapshots, folded)
    findings += view_findings
    notes += view_notes
    findings += compare_read_model(evidence.read_model, folded)
    if evidence.tables is None:
        notes.append("the export holds no echo_wall, tier_stints or notifications rows: not compared")
    elif folded.rows is not None:
        findings += compare_rows(folded.rows, evidence.tables)
    explained: list[str] = []
    if evidence.superseded is None:
        notes.append("the export holds no superseded_events rows: not audited")
    elif evidence.superseded:
        checked.append(Check.SUPERSEDED)
        superseded_findings, explained = check_superseded(pid, evidence.superseded, rows, told, evidence.runs)
        findings += superseded_findings
    return VerifyReport(
        petition_id=pid,
        source=source,
        events=len(rows),
        runs=len(evidence.runs or []),
        history_events=len(told.envelopes),
        chain_head=rows[-1].hash if rows else None,
        checked=checked,
        findings=findings,
        notes=notes,
        superseded=explained,
    )


def check_chain(petition_id: PetitionId, rows: Sequence[StoredEvent]) -> list[Finding]:
    """Recompute each row's hash from its stored columns (``store/chain.py``) and follow the links."""
    findings: list[Finding] = []
    expected_seq, expected_prev = 1, chain.GENESIS.hex()
    for row in rows:
        if row.seq != expected_seq:
            missing = (
                f"seq {expected_seq}"
                if row.seq == expected_seq + 1
                else f"seqs {expected_seq}..{row.seq - 1}"
            )
            findings.append(
                Finding(
                    check=Check.CHAIN,
                    seq=row.seq,
                    message=f"{missing} missing before seq {row.seq}: deleted",
                    expected=expected_seq,
                    found=row.seq,
                    field="seq",
                )
            )
        elif row.prev_hash != expected_prev:
            findings.append(
                Finding(
                    check=Check.CHAIN,
                    seq=row.seq,
                    field="prev_hash",
                    message=f"seq {row.seq} does not link to the event before it",
                    expected=expected_prev,
                    found=row.prev_hash,
                )
            )
        data = chain.content(petition_id, row.seq, row.type, row.version, row.at, row.actor, row.body)
        recomputed = chain.link(bytes.fromhex(row.prev_hash), data).hex()
        if recomputed != row.hash:
            findings.append(
                Finding(
                    check=Check.CHAIN,
                    seq=row.seq,
                    field="hash",
                    message=f"seq {row.seq} was altered after it was written: it does not hash to its hash",
                    expected=recomputed,
                    found=row.hash,
                )
            )
        expected_seq, expected_prev = row.seq + 1, row.hash
    return findings


@dataclass(slots=True)
class Folded:
    """The stored events folded: the last state, the states at the seqs asked for, the read model."""

    state: PetitionState | None
    states_at: dict[int, PetitionState]
    read_model: dict[str, Json] | None
    folded_to: int
    """The last seq folded (0: none); a fold that failed stops short of the last row."""
    findings: list[Finding]
    rows: Rows | None = None
    """The echo wall, tier_stints and notifications rows the fold gives; None when it stopped short."""


def fold_rows(rows: Sequence[StoredEvent], wanted: Iterable[int | None] = ()) -> Folded:
    """Upcast, parse and fold the rows through the same projection the event log uses."""
    keep = set(wanted)
    projection = PetitionProjection()
    states_at: dict[int, PetitionState] = {}
    findings: list[Finding] = []
    for row in rows:
        try:
            event = upcasting.parse_event(raw_event(row))
        except (ValidationError, ValueError) as error:
            findings.append(
                Finding(check=Check.FOLD, seq=row.seq, message=f"seq {row.seq} does not parse: {error}")
            )
            break
        try:
            projection.apply(row.seq, event)
        except (ValueError, AssertionError) as error:
            findings.append(
                Finding(
                    check=Check.FOLD,
                    seq=row.seq,
                    message=f"seq {row.seq} ({row.type}) does not fold onto the events before it: {error}",
                )
            )
            break
        assert projection.state is not None
        if row.seq in keep:
            states_at[row.seq] = projection.state
    state = projection.state
    record = None
    if state is not None:
        values = projection.petition_record()
        record = {c: jsonable_column(c, v) for c, v in zip(PETITION_COLUMNS, values, strict=True)}
    tables = None if findings else expected_rows(projection)
    return Folded(state, states_at, record, 0 if state is None else state.seq, findings, tables)


def _row_form(event: dict[str, Json]) -> dict[str, Json]:
    """A raw event from a history in the stored row's form: type, version, at, actor, body."""
    body = {k: v for k, v in event.items() if k not in _ENVELOPE_FIELDS}
    return {
        "type": event.get("type"),
        "version": event.get("version"),
        "at": _canonical_at(event.get("at")),
        "actor": event.get("actor"),
        "body": body,
    }


def _stored_form(row: StoredEvent) -> dict[str, Json]:
    return {
        "type": row.type,
        "version": row.version,
        "at": chain.canonical_at(row.at),
        "actor": row.actor,
        "body": row.body,
    }


def _canonical_at(value: Json) -> Json:
    if isinstance(value, str):
        try:
            return chain.canonical_at(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def compare_history(
    petition_id: PetitionId, envelopes: Sequence[SentEnvelope], rows: Sequence[StoredEvent]
) -> tuple[list[Finding], list[str]]:
    """The envelopes the workflow sent (its history) against the stored rows, seq by seq."""
    findings: list[Finding] = []
    notes: list[str] = []
    sent: dict[int, SentEnvelope] = {}
    for envelope in envelopes:
        if envelope.petition_id != petition_id:
            findings.append(
                Finding(
                    check=Check.HISTORY,
                    seq=envelope.seq,
                    field="petition_id",
                    message=f"the history sent seq {envelope.seq} for another petition",
                    expected=petition_id,
                    found=envelope.petition_id,
                    run_id=envelope.run_id,
                    history_event_id=envelope.history_event_id,
                )
            )
            continue
        earlier = sent.get(envelope.seq)
        if earlier is None or (envelope.completed and not earlier.completed):
            sent[envelope.seq] = envelope
        if earlier is not None and earlier.event != envelope.event:
            findings.append(
                Finding(
                    check=Check.HISTORY,
                    seq=envelope.seq,
                    message=f"the history sent two different events as seq {envelope.seq}",
                    run_id=envelope.run_id,
                    history_event_id=envelope.history_event_id,
                )
            )
    stored = {row.seq: row for row in rows}
    for seq, envelope in sorted(sent.items()):
        row = stored.get(seq)
        if row is not None and not differences(_row_form(envelope.event), _stored_form(row)):
            continue  # the stored row it equals is parsed by the fold
        try:
            upcasting.parse_event(envelope.event)
        except (ValidationError, ValueError) as error:
            findings.append(
                Finding(
                    check=Check.HISTORY,
                    seq=seq,
                    message=f"seq {seq} as the workflow sent it does not parse: {error}",
                    run_id=envelope.run_id,
                    history_event_id=envelope.history_event_id,
                )
            )
    pending = 0
    for seq in sorted(sent.keys() | stored.keys()):
        sent_as, row = sent.get(seq), stored.get(seq)
        if row is None:
            assert sent_as is not None
            if not sent_as.completed:
                pending += 1
                continue
            findings.append(
                Finding(
                    check=Check.HISTORY,
                    seq=seq,
                    message=(
                        f"seq {seq} ({sent_as.event.get('type')}) was written to the event log"
                        " (its activity completed) but is missing from it"
                    ),
                    expected=sent_as.event.get("type"),
                    found=None,
                    run_id=sent_as.run_id,
                    history_event_id=sent_as.history_event_id,
                )
            )
        elif sent_as is None:
            findings.append(
                Finding(
                    check=Check.HISTORY,
                    seq=seq,
                    message=f"seq {seq} ({row.type}) is in the event log but the workflow never sent it",
                    expected=None,
                    found=row.type,
                )
            )
        else:
            for path, expected, found in differences(_row_form(sent_as.event), _stored_form(row)):
                findings.append(
                    Finding(
                        check=Check.HISTORY,
                        seq=seq,
                        field=path,
                        message=f"seq {seq}: {path} differs from what the workflow sent",
                        expected=expected,
                        found=found,
                        run_id=sent_as.run_id,
                        history_event_id=sent_as.history_event_id,
                    )
                )
    if pending:
        notes.append(f"{pending} event(s) were still being sent to the event log when exported")
    return findings, notes


def compare_snapshots(snapshots: Sequence[StateSnapshot], folded: Folded) -> tuple[list[Finding], list[str]]:
    """Each state the workflow showed (its view, its history's payloads) against the fold at its seq.

    A difference carried by several states is reported once, at the first, with how often it recurs.
    """
    notes: list[str] = []
    first: dict[str, Finding] = {}
    repeats: dict[str, int] = {}
    ahead = 0
    dumped: dict[int, dict[str, Json]] = {}

    def dump_at(seq: int) -> dict[str, Json] | None:
        if seq not in dumped and seq in folded.states_at:
            dumped[seq] = folded.states_at[seq].model_dump(mode="json")
        return dumped.get(seq)

    for snapshot in snapshots:
        seq = snapshot.state.get("seq")
        if isinstance(seq, int) and snapshot.state == dump_at(seq):
            continue  # the state the workflow showed is the fold's, field for field
        try:
            shown = PetitionState.model_validate(snapshot.state)
        except ValidationError as error:
            key = f"unreadable {snapshot.run_id} {snapshot.history_event_id}"
            first[key] = Finding(
                check=Check.VIEW,
                message=f"{snapshot.what} is not a readable PetitionState: {error}",
                run_id=snapshot.run_id or None,
                history_event_id=snapshot.history_event_id or None,
            )
            continue
        at = folded.states_at.get(shown.seq)
        if at is None:
            ahead += 1
            continue
        # The workflow is the witness here: what it showed is expected, the log's fold is found.
        at_dump = dump_at(shown.seq)
        assert at_dump is not None
        for path, expected, found in differences(shown.model_dump(mode="json"), at_dump):
            field = f"state.{path}"
            if field in first:
                repeats[field] = repeats.get(field, 0) + 1
                continue
            first[field] = Finding(
                check=Check.VIEW,
                seq=shown.seq,
                field=field,
                message=f"the event log folds to another {field} at seq {shown.seq} than {snapshot.what}",
                expected=expected,
                found=found,
                run_id=snapshot.run_id or None,
                history_event_id=snapshot.history_event_id or None,
            )
    if ahead:
        notes.append(
            f"{ahead} state(s) the workflow showed are past the event log's seq {folded.folded_to}"
            " (events not sent yet, or a fold that stopped short): not compared"
        )
    findings = [
        f
        if field not in repeats
        else f.model_copy(update={"message": f"{f.message} (and in {repeats[field]} later states)"})
        for field, f in first.items()
    ]
    return findings, notes


def compare_read_model(stored: dict[str, Json] | None, folded: Folded) -> list[Finding]:
    """The ``petitions`` row against the row the fold gives, column by column."""
    expected = folded.read_model
    if expected is None and stored is None:
        return []
    if expected is None or stored is None:
        return [
            Finding(
                check=Check.READ_MODEL,
                table="petitions",
                row=(expected or stored or {}).get("petition_id"),
                message="the petitions row is missing"
                if stored is None
                else "a petitions row without events",
                expected=None if expected is None else expected.get("petition_id"),
                found=None if stored is None else stored.get("petition_id"),
            )
        ]
    return [
        Finding(
            check=Check.READ_MODEL,
            table="petitions",
            row=expected.get("petition_id"),
            seq=folded.folded_to,
            field=path,
            message=f"petitions row: {path} differs from the fold of the event log",
            expected=want,
            found=got,
        )
        for path, want, got in differences(_columns_of(expected, stored), _as_read(stored))
    ]


LATER_COLUMNS = frozenset({"office_id", "office_kind"})
"""Columns of ``petitions`` added after exports were first written (migration 020): an export made
before them has no such key, and is compared on the columns it has. A live row always has them."""


def _columns_of(expected: dict[str, Json], stored: dict[str, Json]) -> dict[str, Json]:
    return {k: v for k, v in expected.items() if k in stored or k not in LATER_COLUMNS}


def _as_read(stored: dict[str, Json]) -> dict[str, Json]:
    """The row as the read model's readers see it: its ``state`` read as a ``PetitionState``, so a
    state written before a field existed (``answering``, ``former_contact_cadres``) reads with the
    field's default, as it does everywhere else; a state that does not read is compared as it is."""
    state = stored.get("state")
    if not isinstance(state, dict):
        return stored
    try:
        read = PetitionState.model_validate(state).model_dump(mode="json")
    except ValidationError:
        return stored
    added = {k: v for k, v in read.items() if k not in state}  # only the defaults of absent fields
    return {**stored, "state": {**state, **added}}


def check_superseded(
    petition_id: PetitionId,
    superseded: Sequence[SupersededEvent],
    rows: Sequence[StoredEvent],
    told: HistoryEvidence,
    runs: Sequence[WorkflowHistory] | None,
) -> tuple[list[Finding], list[str]]:
    """Each row of ``superseded_events`` must be an event a lost workflow task wrote: it hashes to its
    hash, links to the event before it (in the log, or replaced with it), was replaced after it was
    written, and is not in Temporal's history (a task the history holds was not lost). Returns the
    findings and one explanation per row."""
    findings: list[Finding] = []
    explained: list[str] = []
    stored = {row.seq: row for row in rows}
    batches: dict[tuple[datetime, int], SupersededEvent] = {(r.superseded_at, r.seq): r for r in superseded}
    sent: dict[int, list[SentEnvelope]] = {}
    for envelope in told.envelopes:
        if envelope.petition_id == petition_id:
            sent.setdefault(envelope.seq, []).append(envelope)

    def finding(row: SupersededEvent, field: str | None, message: str, expected: Json, found: Json) -> None:
        findings.append(
            Finding(
                check=Check.SUPERSEDED,
                table="superseded_events",
                row=f"{petition_id}/{row.seq}/{chain.canonical_at(row.superseded_at)}",
                seq=row.seq,
                field=field,
                message=message,
                expected=expected,
                found=found,
            )
        )

    for row in superseded:
        data = chain.content(petition_id, row.seq, row.type, row.version, row.at, row.actor, row.body)
        recomputed = chain.link(bytes.fromhex(row.prev_hash), data).hex()
        if recomputed != row.hash:
            finding(
                row,
                "hash",
                f"superseded seq {row.seq} does not hash to its hash: altered or invented",
                recomputed,
                row.hash,
            )
        before = batches.get((row.superseded_at, row.seq - 1))
        links_to = (
            chain.GENESIS.hex()
            if row.seq == 1
            else before.hash
            if before is not None
            else stored[row.seq - 1].hash
            if row.seq - 1 in stored
            else None
        )
        if links_to != row.prev_hash:
            finding(
                row,
                "prev_hash",
                f"superseded seq {row.seq} links to no event before it: invented",
                links_to,
                row.prev_hash,
            )
        if row.recorded_at is not None and row.superseded_at < row.recorded_at:
            finding(
                row,
                "superseded_at",
                f"superseded seq {row.seq} was replaced before it was written",
                chain.canonical_at(row.recorded_at),
                chain.canonical_at(row.superseded_at),
            )
        current = stored.get(row.seq)
        if current is not None and current.hash == row.hash:
            finding(
                row,
                None,
                f"superseded seq {row.seq} is still in the event log, unchanged: not replaced",
                None,
                row.hash,
            )
        in_history = [
            e for e in sent.get(row.seq, []) if not differences(_row_form(e.event), _stored_form(row))
        ]
        if in_history:
            finding(
                row,
                None,
                f"superseded seq {row.seq} ({row.type}) is in Temporal's history: its workflow task was"
                " not lost, so it may not be replaced",
                None,
                in_history[0].run_id,
            )
        why = row.reason or "a later workflow task's append replaced it (store.append_plan, rule 3)"
        witness = (
            "it is not in Temporal's history"
            if runs is not None and not in_history
            else "Temporal was not consulted"
            if runs is None
            else "BUT it is in Temporal's history"
        )
        recorded = "?" if row.recorded_at is None else chain.canonical_at(row.recorded_at)
        explained.append(
            f"seq {row.seq} ({row.type}) written {recorded} by a workflow task that was lost, superseded"
            f" {chain.canonical_at(row.superseded_at)}: {why}; {witness}"
        )
    return findings, explained
