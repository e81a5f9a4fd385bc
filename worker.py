"""The petitionflow worker: wiring only. Settings, logging, a pool, a client, and the Worker."""

from __future__ import annotations

import asyncio
import inspect
import py_compile
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.eventlog import EventLogActivities
from petitionflow import logs
from petitionflow.settings import Settings
from workflows.petition import PetitionWorkflow


async def connect(address: str, namespace: str = "default") -> Client:
    """A Temporal client that speaks the project's pydantic contracts."""
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)


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


async def run(settings: Settings) -> None:
    """Run a worker against the servers ``settings`` name until cancelled."""
    if settings.temporal_address is None or settings.database_url is None:
        raise SystemExit(
            "PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL must be set "
            "(or run `petitionflow dev` for the embedded stack)"
        )
    client = await connect(settings.temporal_address, settings.namespace)
    async with asyncpg.create_pool(settings.database_url, max_size=settings.db_pool_size) as pool:
        worker = build_worker(
            client,
            pool,
            task_queue=settings.task_queue,
            max_cached_workflows=settings.max_cached_workflows,
            max_concurrent_activities=settings.max_concurrent_activities,
            sandboxed=settings.workflow_sandbox,
        )
        await worker.run()


def main() -> None:
    settings = Settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
