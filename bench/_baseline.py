"""The baseline of ``bench/lifecycle.py``: a bare Temporal workflow taking the same five steps as a
petition (start + four updates) with no domain logic and no database.

Run its worker as a process: ``python -m bench._baseline --address HOST:PORT --task-queue Q``.
"""

from __future__ import annotations

import argparse
import asyncio

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

STEPS = ("acknowledge", "assess", "resolve", "rate")
"""The updates a baseline workflow takes, in order, before it completes."""


@workflow.defn(name="BareBaseline")
class BareWorkflow:
    """Counts its updates and returns once it has had all four."""

    def __init__(self) -> None:
        self._steps: list[str] = []

    @workflow.run
    async def run(self, name: str) -> int:
        await workflow.wait_condition(lambda: len(self._steps) >= len(STEPS))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return len(self._steps)

    @workflow.update
    def step(self, step: str) -> int:
        self._steps.append(step)
        return len(self._steps)


async def serve(address: str, task_queue: str, *, sandboxed: bool) -> None:
    client = await Client.connect(address)
    runner = SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()
    await Worker(client, task_queue=task_queue, workflows=[BareWorkflow], workflow_runner=runner).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--sandboxed", action="store_true", help="run the workflow in the SDK's sandbox")
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue, sandboxed=args.sandboxed))


if __name__ == "__main__":
    main()
