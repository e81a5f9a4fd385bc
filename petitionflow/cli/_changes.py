"""``petitionflow directory notify-open``: tell open petitions what the current directory changes.

(The other ``directory`` commands — import, show, export, diff, coverage — live in ``_directory``;
this one only registers ``notify-open`` on the same group.)
"""

from __future__ import annotations

from typing import Annotated

import typer

import worker
from petitionflow.changes import Notified, notify_open
from petitionflow.cli._support import emit_json, out, run, table
from petitionflow.client import PetitionClient
from petitionflow.settings import Settings

directory_app = typer.Typer(
    help="The county's directory: grid, offices, roster, households.", no_args_is_help=True
)


def register(app: typer.Typer, group: typer.Typer | None = None) -> None:
    """Add ``notify-open`` to ``group`` (the ``directory`` group), or to a group of its own on ``app``."""
    if group is None:
        app.add_typer(directory_app, name="directory")
        group = directory_app
    group.command("notify-open")(notify_open_command)


def notify_open_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """After `directory import`: tell every open petition what the new version changes for it
    (merged or moved regions: RegionRenamed; reassigned households: ContactCadreChanged), and revoke
    the tokens the roster no longer backs. Running it again changes nothing."""

    async def go() -> Notified:
        settings = Settings()
        async with worker.connected(settings, pool_size=2) as connections:
            client = PetitionClient(connections.client, pool=connections.pool, task_queue=settings.task_queue)
            return await notify_open(connections.pool, client)

    notified = run(go)
    if as_json:
        emit_json(
            {
                "version": notified.version,
                "changed": notified.changed,
                "unchanged": notified.unchanged,
                "skipped": notified.skipped,
                "revoked": notified.revoked,
            }
        )
        return
    if notified.version is None:
        out.print("no directory is imported: nothing to tell")
        return
    rows = [(pid, ", ".join(kinds)) for pid, kinds in notified.changed.items()]
    rows += [(pid, f"skipped: {why}") for pid, why in notified.skipped.items()]
    table(f"directory version {notified.version}: open petitions told", ["petition", "recorded"], rows)
    out.print(
        f"{len(notified.changed)} changed, {notified.unchanged} unchanged, {len(notified.skipped)} skipped; "
        f"tokens revoked: {', '.join(notified.revoked) or 'none'}"
    )
