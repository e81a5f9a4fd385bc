"""The petitionflow worker: the Temporal client and the Worker for Petition workflows and their activities."""

from __future__ import annotations

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


def main() -> None:
    """``python worker.py``: the same as ``petitionflow worker`` (``petitionflow.cli._serve`` wires it)."""
    from petitionflow.cli import run_worker

    run_worker()


if __name__ == "__main__":
    main()
