"""``petitionflow audit``: export, verify and read a petition's record as an auditor.

Registered by the main CLI with ``app.add_typer(audit_app, name="audit")``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import Client

import worker
from petitionflow.audit import exporting
from petitionflow.audit.models import AuditExport, TimelineEntry, VerifyReport
from petitionflow.audit.timeline import state_as_of, timeline
from petitionflow.audit.verify import Sweep, verify, verify_all, verify_export
from petitionflow.cli._support import database, fail, run
from petitionflow.codec import Keyring, KeyringError
from petitionflow.converter import data_converter
from petitionflow.settings import Settings
from schemas.events import Envelope
from schemas.state import PetitionState
from store import access, eventlog

EXIT_DISAGREES = 1
"""Verification found a difference: the record cannot be trusted as it stands."""

audit_app = typer.Typer(
    help="Audit petitions: export their record, verify it was not altered, read their timeline.",
    no_args_is_help=True,
)
_out = Console()
_err = Console(stderr=True)


@asynccontextmanager
async def _servers(*, temporal: bool = True) -> AsyncIterator[tuple[Client | None, asyncpg.Pool]]:
    if not temporal:
        async with database(max_size=4) as pool:
            yield None, pool
        return
    async with worker.connected(Settings(), pool_size=4) as connections:
        yield connections.client, connections.pool


def _read(path: Path) -> AuditExport:
    try:
        return exporting.read_export(path)
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except ValidationError as error:
        fail(
            f"{path} is not a petitionflow audit export: {error.error_count()} problem(s), first: "
            f"{error.errors()[0]['msg']}"
        )


def _emit(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# ------------------------------------------------------------------------------------------ export


@audit_app.command("export")
def export_command(
    petition_id: Annotated[str, typer.Argument(help="The petition to export.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Export a petition's Temporal history (every run) and its PostgreSQL events, with hashes."""

    async def work() -> AuditExport:
        async with _servers() as (client, pool):
            assert client is not None
            return await exporting.export(client, pool, petition_id)

    exported = run(work)
    if out is None:
        sys.stdout.write(exported.model_dump_json(indent=1) + "\n")
        return
    exporting.write_export(exported, out)
    _err.print(
        f"exported {petition_id}: {len(exported.runs)} run(s), {len(exported.events)} event(s) → {out}",
        highlight=False,
    )


# ------------------------------------------------------------------------------------------ verify


@audit_app.command("verify")
def verify_command(
    petition_id: Annotated[str | None, typer.Argument(help="The petition to verify.")] = None,
    all_petitions: Annotated[bool, typer.Option("--all", help="Verify every petition.")] = False,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Verify an export file offline: no server is contacted.")
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="With --from: the key file that decrypts the export's histories."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report(s) as JSON.")] = False,
) -> None:
    """Replay the history against today's code, check the hash chain, fold the events and compare
    them with the workflow's history and view and with the read model. Exit 0 only if all agree."""
    if sum((petition_id is not None, all_petitions, from_file is not None)) != 1:
        fail("give exactly one of a petition id, --all or --from FILE")
    if all_petitions:
        sweep = _sweep(quiet=as_json)
        if as_json:
            _emit(
                {
                    "ok": sweep.ok,
                    "notes": sweep.notes,
                    "reports": [r.model_dump(mode="json") for r in sweep.reports],
                }
            )
        else:
            _print_sweep(sweep)
        raise typer.Exit(0 if sweep.ok else EXIT_DISAGREES)
    if keys is not None and from_file is None:
        fail("--keys goes with --from FILE; live, the engine's PETITIONFLOW_KEY_FILE decrypts")
    if from_file is not None:
        exported = _read(from_file)
        report = asyncio.run(verify_export(exported, converter=data_converter(_keyring_for(exported, keys))))
    else:
        assert petition_id is not None

        async def work() -> VerifyReport:
            async with _servers() as (client, pool):
                assert client is not None
                return await verify(client, pool, petition_id)

        report = run(work)
    if as_json:
        _emit(report.model_dump(mode="json"))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else EXIT_DISAGREES)


def _keyring_for(exported: AuditExport, keys: Path | None) -> Keyring | None:
    """The keyring of ``--keys``, checked to hold every key the export's histories need."""
    needed = sorted(exported.key_ids)
    if keys is None:
        if needed:
            fail(f"the export's histories are encrypted (keys {', '.join(needed)}): pass --keys KEYFILE")
        return None
    try:
        ring = Keyring.load(keys)
    except KeyringError as error:
        fail(str(error))
    missing = [k for k in needed if k not in ring.keys]
    if missing:
        fail(f"--keys: {keys} lacks the key(s) {', '.join(missing)} that the export's histories need")
    return ring


def _sweep(*, quiet: bool) -> Sweep:
    async def work() -> Sweep:
        async with _servers() as (client, pool):
            with Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=_err,
                disable=quiet,
            ) as progress:
                task = progress.add_task("verify", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                return await verify_all(pool, client=client, on_progress=advance)

    return run(work)


def _print_report(report: VerifyReport) -> None:
    verdict = "[green]verified[/green]" if report.ok else f"[red]{len(report.findings)} difference(s)[/red]"
    _out.print(
        f"petition {report.petition_id}: {verdict} — {report.events} event(s), {report.runs} run(s),"
        f" checks: {', '.join(c.value for c in report.checked)}",
        highlight=False,
    )
    if report.chain_head:
        _out.print(f"chain head {report.chain_head}", highlight=False)
    if report.findings:
        grid = Table(title="differences", title_justify="left")
        for column in ("check", "seq", "field", "expected", "found", "what"):
            grid.add_column(column, overflow="fold")
        for f in report.findings:
            grid.add_row(
                f.check.value,
                "" if f.seq is None else str(f.seq),
                f.field or "",
                _short(f.expected),
                _short(f.found),
                f.message,
            )
        _out.print(grid)
    for note in report.notes:
        _out.print(f"[dim]note: {note}[/dim]", highlight=False)


def _print_sweep(sweep: Sweep) -> None:
    failing = [r for r in sweep.reports if not r.ok]
    grid = Table(title="audit", title_justify="left")
    for column in ("petitions", "verified", "with differences", "events", "runs replayed"):
        grid.add_column(column, justify="right")
    grid.add_row(
        str(len(sweep.reports)),
        str(len(sweep.reports) - len(failing)),
        str(len(failing)),
        str(sum(r.events for r in sweep.reports)),
        str(sum(r.runs for r in sweep.reports)),
    )
    _out.print(grid)
    if failing:
        detail = Table(title="petitions with differences", title_justify="left")
        for column in ("petition", "check", "seq", "field", "what"):
            detail.add_column(column, overflow="fold")
        for report in failing:
            for f in report.findings:
                detail.add_row(
                    report.petition_id,
                    f.check.value,
                    "" if f.seq is None else str(f.seq),
                    f.field or "",
                    f.message,
                )
        _out.print(detail)
    for note in sweep.notes:
        _out.print(f"[dim]note: {note}[/dim]", highlight=False)


def _short(value: object, width: int = 40) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------------------------------- timeline


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time (2026-03-02T08:00:00Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@audit_app.command("timeline")
def timeline_command(
    petition_id: Annotated[str | None, typer.Argument(help="The petition (omit with --from).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Fold the events up to this ISO time; print the state then.")
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Read the events from an export file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each event: when, who (role, id), tier and stage after it, what changed, deadlines met or missed."""
    moment = None if as_of is None else _moment(as_of)
    if (petition_id is None) == (from_file is None):
        fail("give a petition id or --from FILE")
    if from_file is not None:
        events = exporting.envelopes(_read(from_file))
    else:
        assert petition_id is not None

        async def work() -> list[Envelope]:
            async with _servers(temporal=False) as (_, pool):
                return await eventlog.read_events(pool, petition_id)

        events = run(work)
        if not events:
            fail(f"petition {petition_id} has no events in the event log")
    entries = timeline(events, as_of=moment)
    state = None if moment is None else state_as_of(events, moment)
    if as_json:
        data: dict[str, object] = {"timeline": [e.model_dump(mode="json") for e in entries]}
        if moment is not None:
            data["as_of"] = moment.isoformat()
            data["state"] = None if state is None else state.model_dump(mode="json")
        _emit(data)
        return
    _print_timeline(entries)
    if moment is not None:
        _print_state(state, moment)


def _print_timeline(entries: list[TimelineEntry]) -> None:
    grid = Table(title="timeline", title_justify="left")
    for column in ("seq", "at (UTC)", "actor", "tier", "stage", "what", "changed", "deadlines"):
        grid.add_column(column, overflow="fold")
    for e in entries:
        grid.add_row(
            str(e.seq),
            e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            f"{e.actor.role.value} {e.actor.id}",
            e.tier.value,
            e.stage.value,
            e.summary,
            "\n".join(f"{c.field}: {_short(c.before, 24)} → {_short(c.after, 24)}" for c in e.changes),
            "\n".join(
                f"{d.tier.value} {d.clock.value} by {d.due_at:%Y-%m-%d %H:%M}: {'met' if d.met else 'MISSED'}"
                for d in e.deadlines
            ),
        )
    _out.print(grid)


def _print_state(state: PetitionState | None, moment: datetime) -> None:
    if state is None:
        _out.print(f"as of {moment.isoformat()}: not filed yet", highlight=False)
        return
    grid = Table(title=f"as of {moment.isoformat()}", title_justify="left")
    grid.add_column("field")
    grid.add_column("value", overflow="fold")
    for name, value in state.model_dump(mode="json", exclude={"policy", "description"}).items():
        grid.add_row(name, _short(value, 80))
    _out.print(grid)


# -------------------------------------------------------------------------------------- access log


@audit_app.command("access-log")
def access_log_command(
    petition: Annotated[str | None, typer.Option("--petition", help="Only reads of this petition.")] = None,
    after: Annotated[int | None, typer.Option(min=0, help="Only rows after this id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 10_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Who read which petition's text or petitioner's contact through the API, when, which fields."""

    async def work() -> list[access.AccessRead]:
        async with _servers(temporal=False) as (_, pool):
            return await access.list_reads(pool, petition_id=petition, after=after, limit=limit)

    rows = run(work)
    if as_json:
        _emit([r.model_dump(mode="json") for r in rows])
        return
    grid = Table(title="access log", title_justify="left")
    for column in ("id", "at (UTC)", "reader", "service", "petition", "fields", "route"):
        grid.add_column(column, overflow="fold")
    for r in rows:
        where = f" {r.reader_tier} {r.reader_region}" if r.reader_tier else ""
        grid.add_row(
            str(r.id),
            r.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            f"{r.reader_role} {r.reader_id}{where}",
            r.service or "",
            r.petition_id,
            " ".join(r.fields),
            r.route,
        )
    _out.print(grid)
