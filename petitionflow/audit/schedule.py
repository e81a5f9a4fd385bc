"""The audit's schedule: what ``petitionflow dev`` (and ``audit checkpoint --every``) runs beside the
worker, once at start and then every period until stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from temporalio.client import Client

from petitionflow.audit.archive import archive_finished
from petitionflow.audit.checkpoints import take_checkpoint
from petitionflow.audit.ghosts import sweep_ghosts
from petitionflow.audit.signing import Checkpoint, Signer
from store._db import Db

log = structlog.get_logger()

DEFAULT_EVERY = timedelta(hours=1)

Step = Callable[[], Awaitable[None]]


async def every(period: timedelta, stop: asyncio.Event, *steps: Step) -> None:
    """Run ``steps`` in turn now and then every ``period`` until ``stop`` is set. A step that fails
    is logged and tried again next time: the schedule outlives a database that is down a while."""
    while not stop.is_set():
        for step in steps:
            try:
                await step()
            except Exception as error:
                log.warning("audit_step_failed", step=getattr(step, "__name__", "?"), error=str(error))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period.total_seconds())


def sweeping(client: Client, pool: Db) -> Step:
    """Confirm kept tentative rows and supersede ghosts (``audit.ghosts``)."""

    async def sweep() -> None:
        swept = await sweep_ghosts(client, pool)
        if swept.superseded or swept.confirmed:
            log.info("audit_ghosts", superseded=swept.superseded, confirmed=len(swept.confirmed))

    return sweep


def archiving(client: Client, pool: Db) -> Step:
    """Archive the histories of the workflows that ended (``audit.archive``)."""

    async def archive() -> None:
        done = await archive_finished(client, pool)
        if done:
            log.info("audit_archived", petitions=len(done))

    return archive


def steps(
    client: Client, pool: Db, signer: Signer, *, on_checkpoint: Callable[[Checkpoint], None] | None = None
) -> list[Step]:
    """The schedule's steps, in order: sweep (so kept rows enter the tree), archive, checkpoint."""
    return [sweeping(client, pool), archiving(client, pool), checkpointing(pool, signer, on_checkpoint)]


def checkpointing(
    pool: Db, signer: Signer, on_checkpoint: Callable[[Checkpoint], None] | None = None
) -> Step:
    async def checkpoint() -> None:
        taken = await take_checkpoint(pool, signer)
        if on_checkpoint is not None:
            on_checkpoint(taken)
        log.info(
            "audit_checkpoint", tree_size=taken.tree_size, root_hash=taken.root_hash, key_id=taken.key_id
        )

    return checkpoint
