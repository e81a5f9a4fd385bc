"""``petitionflow audit``: export, verify and read a petition's record as an auditor.

Registered by the main CLI with ``app.add_typer(audit_app, name="audit")``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import asyncpg
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import Client

import worker
from petitionflow.audit import checkpoints as checkpointing
from petitionflow.audit import exporting, schedule
from petitionflow.audit.checkpoints import ConsistencyProof, PetitionProof
from petitionflow.audit.figures import audit_figures
from petitionflow.audit.models import AuditExport, Check, Finding, TimelineEntry, VerifyReport
from petitionflow.audit.signing import Checkpoint, Ed25519Signer, read_public_key
from petitionflow.audit.timeline import state_as_of, timeline
from petitionflow.audit.verify import Sweep, verify, verify_all, verify_export
from petitionflow.cli._support import database, fail, run
from petitionflow.codec import Keyring, KeyringError
from petitionflow.converter import data_converter
from petitionflow.settings import Settings
from schemas.common import Tier
from schemas.events import Envelope
from schemas.state import PetitionState
from store import access, eventlog
from store import checkpoints as checkpoint_store
from store.models import FigureGroup, FigureRow

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
    checkpoint_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A published checkpoint (JSON): the petition's events must be in its tree; given"
            " twice (no petition), the later must extend the earlier. Needs --public-key.",
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The deployment's public key (PEM) checkpoints are signed with."),
    ] = None,
    proof_file: Annotated[
        Path | None,
        typer.Option(
            "--proof", help="A petition's proof (audit proof, /v1/audit/petitions/{id}/proof): offline."
        ),
    ] = None,
    consistency_file: Annotated[
        Path | None,
        typer.Option("--consistency", help="A consistency proof (audit consistency): offline."),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            help="With --all: the worker processes the histories replay in (default: one per core;"
            " 1 replays in this process).",
        ),
    ] = None,
) -> None:
    """Replay the history against today's code, check the hash chain, fold the events and compare
    them with the workflow's history and view and with the read models (petitions row, echo wall,
    tier_stints, notifications); with checkpoints, prove inclusion and consistency against their
    signed roots. Exit 0 only if all agree."""
    cps = [_read_model(Checkpoint, f, "checkpoint") for f in checkpoint_files or []]
    wants_key = bool(cps) or proof_file is not None or consistency_file is not None
    if wants_key and public_key is None:
        fail("--checkpoint, --proof and --consistency need --public-key KEY")
    if public_key is not None and not wants_key:
        fail("--public-key goes with --checkpoint, --proof or --consistency")
    trusted = b"" if public_key is None else _public_key(public_key)
    if (
        consistency_file is not None
        or proof_file is not None
        or (len(cps) == 2 and petition_id is None and not all_petitions)
    ):
        _verify_proofs(cps, trusted, proof_file, consistency_file, as_json=as_json)
    if len(cps) > 1:
        fail("give two --checkpoint files alone (consistency), or one with a petition or --all")
    if sum((petition_id is not None, all_petitions, from_file is not None)) != 1:
        fail("give exactly one of a petition id, --all or --from FILE")
    if from_file is not None and cps:
        fail("an export holds no proofs: verify --proof FILE --checkpoint FILE offline")
    checkpoint = cps[0] if cps else None
    if checkpoint is not None:
        bad = checkpointing.verify_checkpoint(checkpoint, trusted)
        if bad:
            _print_findings("checkpoint", bad, as_json=as_json)
            raise typer.Exit(EXIT_DISAGREES)
    if processes is not None and not all_petitions:
        fail("--processes goes with --all")
    if all_petitions:
        sweep = _sweep(quiet=as_json, checkpoint=checkpoint, processes=processes)
        if as_json:
            _emit(
                {
                    "ok": sweep.ok,
                    "notes": sweep.notes,
                    "findings": [f.model_dump(mode="json") for f in sweep.findings],
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
                report = await verify(client, pool, petition_id)
                if checkpoint is None:
                    return report
                proof = await checkpointing.petition_proof(pool, petition_id, checkpoint)
                included = checkpointing.verify_petition_proof(proof, checkpoint, trusted)
                return report.model_copy(
                    update={
                        "checked": [*report.checked, Check.CHECKPOINT],
                        "findings": [*report.findings, *included],
                    }
                )

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


def _sweep(*, quiet: bool, checkpoint: Checkpoint | None = None, processes: int | None = None) -> Sweep:
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

                return await verify_all(
                    pool, client=client, on_progress=advance, checkpoint=checkpoint, processes=processes
                )

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
    for f in sweep.findings:
        _out.print(f"[red]{f.check.value}: {f.message}[/red]", highlight=False)
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


_M = TypeVar("_M", bound=BaseModel)


def _read_model(model: type[_M], path: Path, what: str) -> _M:
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except ValidationError as error:
        fail(f"{path} is not a {what}: {error.error_count()} problem(s), first: {error.errors()[0]['msg']}")


def _public_key(path: Path) -> bytes:
    try:
        return read_public_key(path)
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except ValueError as error:
        fail(f"{path} holds no public key: {error}")


def _print_findings(what: str, findings: list[Finding], *, as_json: bool) -> None:
    if as_json:
        _emit({"ok": not findings, "findings": [f.model_dump(mode="json") for f in findings]})
        return
    if not findings:
        _out.print(f"{what}: [green]verified[/green]", highlight=False)
    for f in findings:
        _out.print(f"[red]{f.check.value}: {f.message}[/red]", highlight=False)


def _verify_proofs(
    cps: list[Checkpoint],
    trusted: bytes,
    proof_file: Path | None,
    consistency_file: Path | None,
    *,
    as_json: bool,
) -> None:
    """The offline proofs, or (two checkpoints alone) consistency proved from the log; exits."""
    if proof_file is not None:
        if len(cps) != 1:
            fail("--proof needs the one --checkpoint it is checked against")
        proof = _read_model(PetitionProof, proof_file, "petition proof")
        findings = checkpointing.verify_petition_proof(proof, cps[0], trusted)
        what = (
            f"petition {proof.petition_id}: {len(proof.events)} event(s) in the checkpoint of size"
            f" {cps[0].tree_size}"
        )
    elif consistency_file is not None:
        if cps:
            fail("--consistency carries its two checkpoints: give no --checkpoint")
        document = _read_model(ConsistencyProof, consistency_file, "consistency proof")
        findings = checkpointing.verify_consistency(document.first, document.second, document.path, trusted)
        sizes = sorted((document.first.tree_size, document.second.tree_size))
        what = f"checkpoint of size {sizes[1]} extends the one of size {sizes[0]}"
    else:
        first, second = cps

        async def work() -> ConsistencyProof:
            async with _servers(temporal=False) as (_, pool):
                return await checkpointing.consistency_proof(pool, first, second)

        document = run(work)
        findings = checkpointing.verify_consistency(first, second, document.path, trusted)
        what = (
            f"checkpoint of size {max(first.tree_size, second.tree_size)} extends the one of size"
            f" {min(first.tree_size, second.tree_size)}"
        )
    _print_findings(what, findings, as_json=as_json)
    raise typer.Exit(0 if not findings else EXIT_DISAGREES)


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


# ------------------------------------------------------------------------------------- checkpoints

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``1d`` as a time span."""
    number, unit = value[:-1], value[-1:]
    if unit not in _UNITS or not number.isdigit() or int(number) == 0:
        raise typer.BadParameter(f"{value!r} is not a period such as 90s, 30m, 1h or 1d")
    return timedelta(seconds=int(number) * _UNITS[unit])


def _signer(key: Path | None) -> Ed25519Signer:
    path = key or Settings().checkpoint_key()
    try:
        return Ed25519Signer.from_file(path)
    except FileNotFoundError:
        fail(f"no signing key at {path}: write one with `petitionflow audit keygen`")
    except ValueError as error:
        fail(f"{path}: {error}")


@audit_app.command("keygen")
def keygen_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The private key's file (default: PETITIONFLOW_CHECKPOINT_KEY_FILE)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a key that exists.")] = False,
) -> None:
    """Write a new Ed25519 key to sign checkpoints with (owner-only), and its public key beside it (.pub)."""
    path = out or Settings().checkpoint_key()
    if path.exists() and not force:
        fail(f"{path} exists: a new key makes every published checkpoint unverifiable with it (--force)")
    public = Ed25519Signer.generate().write(path)
    _err.print(f"private key → {path}\npublic key  → {public} (publish it)", highlight=False)


@audit_app.command("checkpoint")
def checkpoint_command(
    every: Annotated[
        str | None, typer.Option("--every", help="Keep taking one every period (1h, 30m) until interrupted.")
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="The signing key (default: the setting's).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the checkpoint here too.")] = None,
) -> None:
    """Grow the Merkle tree by the events now recorded, sign its size and root, store and print it.

    With --every, the audit's schedule until interrupted (what `dev` runs beside its worker): sweep
    ghost rows and confirm kept tentative ones (so they enter the tree), archive the histories of
    ended workflows, then the checkpoint; needs Temporal too."""
    signer = _signer(key)
    period = None if every is None else parse_every(every)

    def show(checkpoint: Checkpoint) -> None:
        text = checkpoint.model_dump_json(indent=1) + "\n"
        if out is not None:
            out.write_text(text, encoding="utf-8")
        sys.stdout.write(text)
        sys.stdout.flush()

    async def work() -> None:
        if period is None:
            async with _servers(temporal=False) as (_, pool):
                try:
                    show(await checkpointing.take_checkpoint(pool, signer))
                except checkpointing.TreeBroken as broken:
                    fail(str(broken), EXIT_DISAGREES)
            return
        async with _servers() as (client, pool):
            assert client is not None
            steps = schedule.steps(client, pool, signer, on_checkpoint=show)
            await schedule.every(period, worker.stop_on_signals(), *steps)

    run(work)


@audit_app.command("proof")
def proof_command(
    petition_id: Annotated[str, typer.Argument(help="The petition.")],
    checkpoint_file: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="The checkpoint to prove against (default: the latest)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """The petition's recorded events with their inclusion proofs in a checkpoint's tree."""
    given = None if checkpoint_file is None else _read_model(Checkpoint, checkpoint_file, "checkpoint")

    async def work() -> PetitionProof:
        async with _servers(temporal=False) as (_, pool):
            checkpoint = given
            if checkpoint is None:
                latest = await checkpoint_store.latest_checkpoint(pool)
                if latest is None:
                    fail("no checkpoint was taken yet: `petitionflow audit checkpoint`")
                checkpoint = checkpointing.as_checkpoint(latest)
            return await checkpointing.petition_proof(pool, petition_id, checkpoint)

    text = run(work).model_dump_json(indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@audit_app.command("consistency")
def consistency_command(
    first: Annotated[Path, typer.Argument(help="The earlier checkpoint (JSON).")],
    second: Annotated[Path, typer.Argument(help="The later checkpoint (JSON).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """The proof, from the log, that the later checkpoint extends the earlier: check it offline with
    ``audit verify --consistency FILE --public-key KEY``."""
    a, b = _read_model(Checkpoint, first, "checkpoint"), _read_model(Checkpoint, second, "checkpoint")

    async def work() -> ConsistencyProof:
        async with _servers(temporal=False) as (_, pool):
            return await checkpointing.consistency_proof(pool, a, b)

    text = run(work).model_dump_json(indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------------------- figures


def _served_over_http(api: str, params: dict[str, str]) -> list[FigureRow]:
    url = api.rstrip("/") + "/v1/figures?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return [FigureRow.model_validate(row) for row in json.loads(answer.read())]
    except (OSError, ValueError) as error:
        fail(f"cannot read the figures at {url}: {error}")


@audit_app.command("figures")
def figures_command(
    by: Annotated[
        FigureGroup,
        typer.Option(
            "--by",
            help="Group by tier, region, official or office (each office's dispatches, receipts,"
            " send-backs and summons too, recomputed from the office facts the events make).",
        ),
    ] = FigureGroup.TIER,
    tier: Annotated[
        Tier | None, typer.Option("--tier", help="Only stints (and office facts) at this tier.")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Only stints (and office facts) in this region.")
    ] = None,
    official: Annotated[str | None, typer.Option("--official", help="Only this official's stints.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Stints entered (office facts done) at or after (ISO 8601).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Stints entered (office facts done) before (ISO 8601).")
    ] = None,
    api: Annotated[
        str | None,
        typer.Option("--api", help="Compare with /v1/figures of this base URL (default: the store's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute the published figures from the events alone (not from tier_stints or office_facts)
    and compare them with what /v1/figures serves. Exit 0 only if they agree."""
    start = None if since is None else _moment(since)
    end = None if until is None else _moment(until)
    served = None
    if api is not None:
        params = {"by": by.value}
        optional: tuple[tuple[str, str | None], ...] = (
            ("tier", None if tier is None else tier.value),
            ("region", region),
            ("official", official),
            ("since", None if start is None else start.isoformat()),
            ("until", None if end is None else end.isoformat()),
        )
        for name, value in optional:
            if value is not None:
                params[name] = value
        served = _served_over_http(api, params)

    async def work() -> tuple[list[FigureRow], list[Finding]]:
        async with _servers(temporal=False) as (_, pool):
            return await audit_figures(
                pool,
                by,
                served=served,
                tier=tier,
                region_id=region,
                official_id=official,
                since=start,
                until=end,
            )

    recomputed, findings = run(work)
    if as_json:
        _emit(
            {
                "ok": not findings,
                "figures": [r.model_dump(mode="json") for r in recomputed],
                "findings": [f.model_dump(mode="json") for f in findings],
            }
        )
    else:
        grid = Table(title=f"figures by {by.value}, from the events", title_justify="left")
        columns = ["group", "petitions", "stints", "response", "resolution", "on time", "satisfied"]
        by_office = FigureGroup(by) is FigureGroup.OFFICE
        if by_office:
            columns += ["dispatch min", "received", "timely receipt", "sent back", "summons on time"]
        for column in columns:
            grid.add_column(column, justify="right")
        for r in recomputed:
            cells = [
                r.group or "(none)",
                str(r.petitions),
                str(r.stints),
                *(
                    _percent(rate)
                    for rate in (r.response_rate, r.resolution_rate, r.on_time_rate, r.satisfaction_rate)
                ),
            ]
            if by_office:
                o = r.office
                cells += (
                    ["", "", "", "", ""]
                    if o is None
                    else [
                        "" if o.average_dispatch_minutes is None else f"{o.average_dispatch_minutes:.1f}",
                        str(o.received),
                        _percent(o.timely_receipt_rate),
                        _percent(o.send_back_rate),
                        _percent(o.summons_on_time_rate),
                    ]
                )
            grid.add_row(*cells)
        _out.print(grid)
        _print_findings("the served figures agree with the events", findings, as_json=False)
    raise typer.Exit(0 if not findings else EXIT_DISAGREES)


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1%}"
