"""Replaying histories against today's workflow code, in this process or in several.

A replay is CPU work: Temporal's core (outside the interpreter) and the SDK's activation plumbing
(inside it, under the GIL) share each history. One process keeps about one core busy, however many
replayers it runs side by side; a sweep of every petition therefore replays in ``processes`` worker
processes, each running ``replayers`` replayers, while this process runs the other checks.

The histories handed to a worker process are already decoded (``history.decoded``), so the workers
replay with the plain ``data_converter()`` and never hold a key: they are started without the
``PETITIONFLOW_*`` settings in their environment, where a deployment may pass its keys and secrets.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

import structlog
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from petitionflow.audit.history import failed_history_event
from petitionflow.audit.models import Check, Finding
from petitionflow.converter import data_converter

REPLAYERS = 8
"""Replayers run side by side in a process: one replays its histories one after the other, waiting
on the SDK's core for each, so a sweep keeps several busy."""

SETTINGS_PREFIX = "PETITIONFLOW_"
"""The deployment's settings (``petitionflow.settings``), kept out of the workers' environment."""

MIN_RUNS_PER_PROCESS = 32
"""Below this many runs for each worker process, starting the processes costs more than it saves."""

log = structlog.get_logger()

Failures = dict[str, list[Finding]]
"""What did not replay, by run id."""


def default_processes() -> int:
    """One worker process per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ReplayPool:
    """Worker processes that replay decoded histories, started when entered and stopped on exit.

    Entering starts them at once (each imports the workflow code), so that their start overlaps
    with whatever the caller fetches meanwhile. Spawned processes import the caller's ``__main__``
    again: a script that sweeps must guard its work with ``if __name__ == "__main__"``, as
    ``multiprocessing`` asks. Should the workers die (killed, out of memory), the runs replay in
    this process instead, and that is logged.
    """

    def __init__(self, processes: int | None = None) -> None:
        self.processes = max(1, processes or default_processes())
        self.replayed_in: set[int] = set()
        """The process ids of the workers that replayed runs so far."""
        self._executor: ProcessPoolExecutor | None = None

    async def __aenter__(self) -> ReplayPool:
        if self.processes > 1:
            # Spawned, not forked: this process runs Temporal's core threads, which a fork would copy
            # in whatever state they are. Spawned without the deployment's settings in their
            # environment (keys, secrets, the database's URL may be there): they need none.
            settings = {k: v for k, v in os.environ.items() if k.startswith(SETTINGS_PREFIX)}
            for name in settings:
                del os.environ[name]
            try:
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_ready
                )
                for _ in range(self.processes):  # every worker starts now, not at the first replay
                    self._executor.submit(_ready)
            finally:
                os.environ.update(settings)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._executor is not None:
            self._close(wait=False)  # the workers stop on their own; nothing is left to wait for

    def _close(self, *, wait: bool = True) -> None:
        assert self._executor is not None
        self._executor.shutdown(wait=wait, cancel_futures=True)
        self._executor = None

    async def replay(self, runs: Sequence[WorkflowHistory], workflows: Sequence[type]) -> Failures:
        """Replay decoded ``runs``: split across the worker processes when there are enough of them,
        else in this process."""
        parts = min(self.processes, len(runs) // MIN_RUNS_PER_PROCESS)
        if self._executor is None or parts < 2:
            return await replay(runs, workflows)
        loop = asyncio.get_running_loop()
        code = tuple(workflows)
        try:
            found = await asyncio.gather(
                *(
                    loop.run_in_executor(self._executor, _replay_shipped, _shipped(runs[i::parts]), code)
                    for i in range(parts)
                )
            )
        except BrokenProcessPool as error:
            # Not waited for: a broken pool's queue may never drain.
            log.warning("replay_processes_died", error=str(error), runs=len(runs))
            self._close(wait=False)
            return await replay(runs, workflows)
        self.replayed_in.update(pid for pid, _ in found)
        return _merged([failures for _, failures in found])


async def replay(
    runs: Sequence[WorkflowHistory],
    workflows: Sequence[type],
    converter: DataConverter | None = None,
    *,
    replayers: int = REPLAYERS,
) -> Failures:
    """Replay every run against ``workflows`` in this process (payloads decoded by ``converter``,
    default: the plain ``data_converter()``); the failures by run id."""
    if not runs:
        return {}
    count = max(1, min(replayers, len(runs)))
    # One pool for the replayers, shut down after: a Replayer's own is never shut down.
    with ThreadPoolExecutor(max_workers=count) as executor:
        parts = await asyncio.gather(
            *(
                _replay_part(runs[i::count], workflows, executor, converter or data_converter())
                for i in range(count)
            )
        )
    return _merged(parts)


def _merged(parts: Sequence[Failures]) -> Failures:
    failures: Failures = {}
    for part in parts:
        for run_id, found in part.items():
            failures.setdefault(run_id, []).extend(found)
    return failures


def _shipped(runs: Sequence[WorkflowHistory]) -> list[tuple[str, bytes]]:
    return [(run.workflow_id, History(events=run.events).SerializeToString()) for run in runs]


def _ready() -> None:
    """A worker process's start: nothing to do but be imported (this module imports the SDK)."""


def _replay_shipped(shipped: list[tuple[str, bytes]], workflows: tuple[type, ...]) -> tuple[int, Failures]:
    """In a worker process: replay the serialized histories with the plain converter; this
    process's id and the failures."""
    runs = []
    for workflow_id, blob in shipped:
        history = History()
        history.ParseFromString(blob)
        runs.append(WorkflowHistory(workflow_id, list(history.events)))
    return os.getpid(), asyncio.run(replay(runs, workflows))


async def _replay_part(
    runs: Sequence[WorkflowHistory],
    workflows: Sequence[type],
    executor: Executor,
    converter: DataConverter,
) -> Failures:
    # Unsandboxed, as the deployment's workers run (``worker.build_worker``): the sandbox's own check,
    # no forbidden call, is CI's (every golden history replays sandboxed), and re-importing the
    # workflow module for every run in the sandbox was two thirds of a sweep's time.
    replayer = Replayer(
        workflows=list(workflows),
        data_converter=converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
        workflow_task_executor=executor,  # type: ignore[arg-type]
    )

    async def each() -> AsyncIterator[WorkflowHistory]:
        for run in runs:
            yield run

    failures: Failures = {}
    async with replayer.workflow_replay_iterator(each()) as results:
        async for result in results:
            error = result.replay_failure
            if error is None:
                continue
            run_id = result.history.run_id
            at = failed_history_event(error)
            where = "" if at is None else f" at history event {at[0]} ({at[1]})"
            failures.setdefault(run_id, []).append(
                Finding(
                    check=Check.REPLAY,
                    message=(
                        f"petition {result.history.workflow_id}, run {run_id} does not replay against"
                        f" today's code{where}: {_reason(error)}"
                    ),
                    run_id=run_id,
                    history_event_id=None if at is None else at[0],
                )
            )
    return failures


def _reason(error: BaseException) -> str:
    text = str(error)
    start = text.find('message: "')
    if start >= 0:  # the core's failure struct: keep only its message
        end = text.find('"', start + 10)
        return text[start + 10 : end if end > 0 else None]
    return text
