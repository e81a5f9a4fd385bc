"""The composition root: the one place that connects Temporal and PostgreSQL and builds the worker.

The doors (``petitionflow.cli``, ``petitionflow.api``, the audit) call it; it imports none of them.
``python worker.py`` and ``petitionflow worker`` run :func:`main`; ``petitionflow dev`` and
``petitionflow api`` compose :func:`connected` and :func:`build_worker` with the HTTP API.
"""

from __future__ import annotations

import asyncio
import inspect
import py_compile
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.eventlog import EventLogActivities
from petitionflow import logs
from petitionflow.converter import data_converter
from petitionflow.settings import Settings
from workflows.petition import PetitionWorkflow

EXIT_NOT_CONFIGURED = 2


async def connect(address: str, namespace: str = "default") -> Client:
    """A Temporal client that speaks the project's contracts (``petitionflow.converter``)."""
    return await Client.connect(address, namespace=namespace, data_converter=data_converter())


@dataclass(frozen=True, slots=True)
class Connections:
    """What a process holds while it runs: one Temporal client and one PostgreSQL pool."""

    client: Client
    pool: asyncpg.Pool
    settings: Settings


@asynccontextmanager
async def connected(
    settings: Settings,
    *,
    temporal_address: str | None = None,
    database_url: str | None = None,
    pool_size: int | None = None,
) -> AsyncIterator[Connections]:
    """Connect to Temporal and open the event log's pool; close the pool on the way out.

    The addresses default to the settings' (or the dev stack's, when those are unset).
    """
    address = temporal_address or settings.temporal()
    try:
        client = await connect(address, settings.namespace)
    except RuntimeError as error:
        raise OSError(f"Temporal at {address}: {error}") from None
    size = pool_size or settings.db_pool_size
    async with asyncpg.create_pool(
        database_url or settings.database(), min_size=min(size, 2), max_size=size
    ) as pool:
        yield Connections(client=client, pool=pool, settings=settings)


PASSED_THROUGH = ("schemas", "workflows.lifecycle", "workflows.search")
"""Pure, deterministic modules the workflow sandbox shares instead of re-importing them for every new
workflow instance (re-executing ``lifecycle`` was ~8 % of the worker's CPU under load)."""


def cache_workflow_bytecode() -> bool:
    """(Re)write the workflow module's bytecode cache; True when it could.

    The sandbox imports the module that defines a workflow afresh for every workflow it starts. With
    bytecode writing off (``PYTHONDONTWRITEBYTECODE``, common in containers and set on our CI
    machine) each of those imports compiled ``workflows/petition.py`` from source: ~5 % of the
    worker's CPU under load. A read-only install just keeps compiling.
    """
    source = inspect.getfile(PetitionWorkflow)
    try:
        py_compile.compile(source, doraise=True)
    except (OSError, py_compile.PyCompileError):
        return False
    return True


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    *,
    task_queue: str = "petitions",
    max_cached_workflows: int = 10_000,
    max_concurrent_activities: int = 100,
    sandboxed: bool = False,
    extra_activities: Sequence[Callable[..., Any]] = (),
) -> Worker:
    """The worker for Petition workflows and their event-log activities.

    ``sandboxed`` runs workflow code in the SDK's sandbox, which blocks non-deterministic calls at
    run time. Production workers leave it off by default: every workflow test and every replay of
    the golden histories runs sandboxed, so a forbidden call fails CI before it ships, while in a
    worker the sandbox cost ~20 % of its CPU under load (the workflow module re-imported for every
    petition, an ``exec`` for every payload converted).
    """
    eventlog = EventLogActivities(pool)
    runner: WorkflowRunner = UnsandboxedWorkflowRunner()
    if sandboxed:
        cache_workflow_bytecode()
        runner = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
        )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PetitionWorkflow],
        activities=[eventlog.append_events, eventlog.record_petitioner, *extra_activities],
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=max_concurrent_activities,
        workflow_runner=runner,
    )


def configured_worker(connections: Connections) -> Worker:
    """:func:`build_worker` with the sizes and the sandbox choice of the settings."""
    settings = connections.settings
    return build_worker(
        connections.client,
        connections.pool,
        task_queue=settings.task_queue,
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
        sandboxed=settings.workflow_sandbox,
    )


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so a process can stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run(settings: Settings) -> None:
    """Run a worker until SIGINT or SIGTERM."""
    stop = stop_on_signals()
    async with connected(settings) as connections, configured_worker(connections):
        await stop.wait()


def main() -> int:
    """``python worker.py`` and ``petitionflow worker``: a worker against the configured servers."""
    settings = Settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    if settings.temporal_address is None or settings.database_url is None:
        print("error: set PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL", file=sys.stderr)
        return EXIT_NOT_CONFIGURED
    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
