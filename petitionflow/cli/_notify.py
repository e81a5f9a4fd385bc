"""``petitionflow notify`` (the dispatcher) and ``petitionflow notifications list | retry``.

The dispatcher runs here on its own, beside the worker in ``dev`` and ``worker --notify``
(``_engine._serve`` composes it). Its channels and credentials come from the TOML file
``PETITIONFLOW_NOTIFY_FILE`` names (see README, "Notifications").
"""

from __future__ import annotations

from typing import Annotated

import typer

import worker
from petitionflow import logs
from petitionflow.cli._support import database, emit_json, fail, out, run, table
from petitionflow.notify import NotifyConfig, run_dispatcher
from petitionflow.settings import Settings
from store import outbox
from store.models import Notification

notifications = typer.Typer(
    help="The notifications outbox: what was sent, what failed, retry.", no_args_is_help=True
)


def notify() -> None:
    """Deliver the notifications outbox (webhooks, robots, email, SMS) until Ctrl-C or SIGTERM.

    Several may run at once: each notification goes to one of them.
    """
    settings = Settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    _check_config(settings)

    async def _go() -> None:
        stop = worker.stop_on_signals()
        async with worker.connected(settings) as connections:
            await run_dispatcher(connections.pool, connections.client, settings, stop)

    run(_go)


def _check_config(settings: Settings) -> None:
    try:
        NotifyConfig.load(settings.notify_file)
    except FileNotFoundError:
        fail(f"PETITIONFLOW_NOTIFY_FILE: no file {settings.notify_file}")
    except ValueError as error:  # tomllib's and pydantic's errors
        fail(f"PETITIONFLOW_NOTIFY_FILE ({settings.notify_file}): {error}")


def list_notifications(
    failed: Annotated[bool, typer.Option("--failed", help="Only those given up on.")] = False,
    petition: Annotated[str | None, typer.Option("--petition", help="Only this petition's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest notifications, newest first: kind, recipient, state, tries, the last error."""

    async def _go() -> list[Notification]:
        async with database() as pool:
            return await outbox.find_notifications(pool, failed=failed, petition_id=petition, limit=limit)

    rows = run(_go)
    if as_json:
        emit_json(rows)
        return
    table(
        "notifications",
        ["id", "petition", "seq", "kind", "recipient", "state", "tries", "channel", "last error"],
        [
            (
                n.id,
                n.petition_id,
                n.seq,
                n.kind,
                f"{n.recipient_role.value}:{n.recipient_id}",
                _state(n),
                n.attempts,
                n.channel,
                n.last_error,
            )
            for n in rows
        ],
    )


def _state(n: Notification) -> str:
    if n.failed_at is not None:
        return "failed"
    if n.delivered_at is not None:
        return "delivered"
    if n.next_attempt_at is not None:
        return f"waiting until {n.next_attempt_at:%Y-%m-%d %H:%M:%S}"
    return "pending"


def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Notification ids to send again.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed notification.")] = False,
) -> None:
    """Make failed notifications due again (with a fresh count of tries)."""
    if bool(ids) == failed:
        fail("give notification ids or --failed (one of them)")

    async def _go() -> tuple[list[int], list[int]]:
        async with database() as pool:
            made = await outbox.retry_notifications(pool, ids=ids or (), failed=failed)
            unknown = (
                [] if failed else [i for i in ids or () if await outbox.get_notification(pool, i) is None]
            )
            return made, unknown

    made, unknown = run(_go)
    if unknown:
        fail(f"no notification {', '.join(map(str, unknown))}")
    skipped = sorted(set(ids or ()) - set(made))
    out.print(f"{len(made)} notification(s) due again" + (f": {', '.join(map(str, made))}" if made else ""))
    if skipped:
        out.print(f"not failed (left alone): {', '.join(map(str, skipped))}")


def register(app: typer.Typer) -> None:
    app.command("notify")(notify)
    notifications.command("list")(list_notifications)
    notifications.command("retry")(retry)
    app.add_typer(notifications, name="notifications")
