"""Petitions carried filed → acknowledged → assessed → resolved → rated, against a bare workflow.

Both run on one Temporal dev server (``temporal server start-dev``, SQLite) in a temporary folder,
each with its worker as a subprocess: ``petitionflow worker`` (PostgreSQL embedded, default durable
settings) for the petitions, ``python -m bench._baseline`` for the bare workflow. The baseline
takes the same five steps (start + four updates) with no domain logic and no database.

Read-model lag: every update reply is timed to the moment its row in ``petitions`` reaches the
reply's seq, by one poller that asks for all pending rows every ``LAG_POLL`` seconds.

    .venv/bin/python bench/lifecycle.py [--small] [-n 500] [--concurrency 50] [--codec [sm4-gcm]]

``--codec`` encrypts the petitions' payloads (``petitionflow.codec``, AES-256-GCM unless a cipher is
named) in the worker and the client, as a deployment with a key file does; the baseline stays plain,
so the ratio shows what encryption costs.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make ``bench`` and the project importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

import worker as wiring
from bench import _stack
from bench._baseline import STEPS
from petitionflow.client import PetitionClient
from petitionflow.codec import CIPHERS, DEFAULT_CIPHER, Keyring, new_key
from schemas.commands import (
    AcknowledgeInput,
    Action,
    AssessInput,
    FilePetitionInput,
    PetitionerContact,
    RateInput,
    ResolveInput,
)
from schemas.common import Actor, AssessmentDecision, Channel, Outcome, Rating, RegionPath, Stage, Tier
from schemas.workflow import workflow_id

REGION = RegionPath(village="v-dongshan", township="t-xiazhuang", county="c-yishui", city="x-linyi")
OFFICIAL = Actor.official("village-official", Tier.VILLAGE, REGION.village)
LAG_POLL = 0.005
"""Seconds between the lag poller's queries: the resolution of the lag figures."""
WARM_UP = 5
"""Petitions (and bare workflows) run before timing, so the workers' first tasks are not counted."""


@dataclass
class Figures:
    n: int
    concurrency: int
    ours_seconds: float
    baseline_seconds: float
    ours_latencies: list[float]
    baseline_latencies: list[float]
    lags: list[float]
    lag_unseen: int
    cpu: dict[str, float]
    """CPU seconds used during a phase: ``server``/``worker`` + ``_ours``/``_baseline``."""
    history: dict[str, tuple[int, int, int]]
    """(history events, workflow tasks, activity tasks) of one workflow, ``ours`` and ``baseline``."""

    @property
    def petitions_per_s(self) -> float:
        return self.n / self.ours_seconds

    @property
    def baseline_per_s(self) -> float:
        return self.n / self.baseline_seconds

    @property
    def ratio(self) -> float:
        return self.petitions_per_s / self.baseline_per_s

    def _per(self, key: str) -> str:
        return f"{self.cpu[key] / self.n * 1000:.1f} ms"

    def lines(self) -> list[str]:
        return [
            f"petitions: {self.n}, concurrency {self.concurrency}, 5 steps each (start + 4 updates)",
            f"petitions/s: {self.petitions_per_s:.1f} ({self.ours_seconds:.2f} s)",
            f"baseline/s: {self.baseline_per_s:.1f} ({self.baseline_seconds:.2f} s)",
            f"ratio: {self.ratio:.2f}",
            f"update round trip, petitions: {_stack.ms(self.ours_latencies)} (n={len(self.ours_latencies)})",
            f"update round trip, baseline: {_stack.ms(self.baseline_latencies)}"
            f" (n={len(self.baseline_latencies)})",
            f"server CPU per petition: ours {self._per('server_ours')}, baseline"
            f" {self._per('server_baseline')} (temporal dev server, all threads)",
            f"worker CPU per petition: ours {self._per('worker_ours')},"
            f" baseline {self._per('worker_baseline')}"
            f" (one core: {self.n / self.cpu['worker_ours']:.0f} petitions/s = "
            f"{5 * self.n / self.cpu['worker_ours']:.0f} steps/s)",
            "history per petition: ours {} events, {} workflow tasks, {} activities;"
            " baseline {} events, {} workflow tasks, {} activities".format(
                *self.history["ours"], *self.history["baseline"]
            ),
            f"read-model lag: {_stack.ms(self.lags)}, max {max(self.lags, default=0) * 1000:.1f} ms"
            f" (n={len(self.lags)}, never seen {self.lag_unseen}, resolution {LAG_POLL * 1000:.0f} ms)",
        ]


@dataclass
class LagWatch:
    """Times update replies to their row in the ``petitions`` read model."""

    pool: asyncpg.Pool
    pending: dict[tuple[str, int], float] = field(default_factory=dict)
    """(petition id, seq the reply showed) → when the reply came."""
    lags: list[float] = field(default_factory=list)

    def replied(self, petition_id: str, seq: int) -> None:
        self.pending[petition_id, seq] = time.perf_counter()

    async def run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(LAG_POLL)

    async def poll(self) -> None:
        if not self.pending:
            return
        rows = await self.pool.fetch(
            "SELECT petition_id, last_seq FROM petitions WHERE petition_id = any($1::text[])",
            list({petition_id for petition_id, _ in self.pending}),
        )
        now = time.perf_counter()
        stored = {row["petition_id"]: row["last_seq"] for row in rows}
        for key in [k for k in self.pending if stored.get(k[0], 0) >= k[1]]:
            self.lags.append(now - self.pending.pop(key))

    async def drain(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while self.pending and time.monotonic() < deadline:
            await self.poll()
            await asyncio.sleep(LAG_POLL)


def filing(petition_id: str) -> FilePetitionInput:
    return FilePetitionInput(
        petition_id=petition_id,
        petitioner=PetitionerContact(
            petitioner_id=f"hh-{petition_id}",
            name="Wang Fang",
            phone="+86 139 0000 0042",
            address="3 East Lane",
        ),
        region=REGION,
        description="The bridge on the east lane collapsed in the rain; children cannot reach school.",
        channel=Channel.HOTLINE,
        category="roads",
        contact_cadre_id="cadre-zhang",
    )


async def carry(petitions: PetitionClient, petition_id: str, latencies: list[float], lag: LagWatch) -> None:
    """File one petition and take it to closed, timing each update's round trip."""
    await petitions.file(filing(petition_id))
    actions: list[Action] = [
        AcknowledgeInput(actor=OFFICIAL),
        AssessInput(actor=OFFICIAL, decision=AssessmentDecision.ACCEPT),
        ResolveInput(actor=OFFICIAL, outcome=Outcome.RESOLVED, public_summary="The bridge is repaired."),
        RateInput(actor=Actor.petitioner(f"hh-{petition_id}"), rating=Rating.SATISFIED),
    ]
    state = None
    for action in actions:
        started = time.perf_counter()
        state = await petitions.act(petition_id, action)
        latencies.append(time.perf_counter() - started)
        lag.replied(petition_id, state.seq)
    assert state is not None and state.stage is Stage.CLOSED, state


async def bare(client: Client, task_queue: str, workflow_id: str, latencies: list[float]) -> None:
    """Start one bare workflow and send it the four updates, timing each round trip."""
    handle = await client.start_workflow("BareBaseline", workflow_id, id=workflow_id, task_queue=task_queue)
    for step in STEPS:
        started = time.perf_counter()
        await handle.execute_update("step", step, result_type=int)
        latencies.append(time.perf_counter() - started)


async def _timed(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def gated(i: int) -> None:
        async with gate:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(gated(i) for i in range(n)))
    return time.perf_counter() - started


async def measure(
    n: int,
    concurrency: int,
    workdir: Path,
    *,
    eager_activities: bool = False,
    sandboxed: bool = False,
    codec: str | None = None,
    **worker_settings: str,
) -> Figures:
    """Start the stack and both workers in ``workdir``, run the baseline, then the petitions.

    Both workers run workflow code the same way: in the SDK's sandbox when ``sandboxed``, else not
    (the petitions' worker's default). ``codec`` (a cipher name) encrypts the petitions' payloads."""
    keyring = None
    if codec is not None:
        keyring = Keyring([new_key("bench", codec)], "bench")
        keyring.write(workdir / "bench-keys.json")
        worker_settings = {**worker_settings, "key_file": str(workdir / "bench-keys.json")}
    async with _stack.dev_stack(workdir, eager_activities=eager_activities) as (temporal, url, workers):
        _stack.petitionflow_worker(
            workers, temporal.address, url, workflow_sandbox=str(sandboxed).lower(), **worker_settings
        )
        bare_queue = f"bare-{uuid.uuid4()}"
        workers.start(
            [
                sys.executable,
                "-m",
                "bench._baseline",
                "--address",
                temporal.address,
                "--task-queue",
                bare_queue,
                *(["--sandboxed"] if sandboxed else []),
            ],
            {},
            "baseline-worker",
        )
        client = await wiring.connect(temporal.address, keyring=keyring)
        # The baseline's client stays plain: its worker knows no codec.
        plain = client if keyring is None else await wiring.connect(temporal.address)
        run = uuid.uuid4().hex[:8]
        async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
            petitions = PetitionClient(client)
            lag = LagWatch(pool)
            ignored: list[float] = []
            await asyncio.gather(
                *(carry(petitions, f"warm-{run}-{i}", ignored, lag) for i in range(WARM_UP)),
                *(bare(plain, bare_queue, f"warm-{run}-{i}", ignored) for i in range(WARM_UP)),
            )
            await lag.drain()
            lag.lags.clear()
            workers.check_alive()

            pids = {
                "server": temporal.pid,
                "worker_ours": workers.processes[0].pid,
                "worker_baseline": workers.processes[1].pid,
            }
            cpu: dict[str, float] = {}

            baseline_latencies: list[float] = []
            before = {k: _stack.cpu_seconds(pid) for k, pid in pids.items()}
            baseline_seconds = await _timed(
                n, concurrency, lambda i: bare(plain, bare_queue, f"bare-{run}-{i}", baseline_latencies)
            )
            cpu["server_baseline"] = _stack.cpu_seconds(pids["server"]) - before["server"]
            cpu["worker_baseline"] = _stack.cpu_seconds(pids["worker_baseline"]) - before["worker_baseline"]

            ours_latencies: list[float] = []
            watching = asyncio.create_task(lag.run())
            before = {k: _stack.cpu_seconds(pid) for k, pid in pids.items()}
            try:
                ours_seconds = await _timed(
                    n, concurrency, lambda i: carry(petitions, f"bench-{run}-{i}", ours_latencies, lag)
                )
                await lag.drain()
            finally:
                watching.cancel()
            cpu["server_ours"] = _stack.cpu_seconds(pids["server"]) - before["server"]
            cpu["worker_ours"] = _stack.cpu_seconds(pids["worker_ours"]) - before["worker_ours"]
            workers.check_alive()
            history = {
                "ours": await _history(client, workflow_id(f"bench-{run}-0")),
                "baseline": await _history(plain, f"bare-{run}-0"),
            }
    return Figures(
        n=n,
        concurrency=concurrency,
        ours_seconds=ours_seconds,
        baseline_seconds=baseline_seconds,
        ours_latencies=ours_latencies,
        baseline_latencies=baseline_latencies,
        lags=lag.lags,
        lag_unseen=len(lag.pending),
        cpu=cpu,
        history=history,
    )


async def _history(client: Client, workflow_id: str) -> tuple[int, int, int]:
    """(events, workflow tasks completed, activity tasks completed) in a workflow's history."""
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    kinds = [e.event_type for e in events]
    return (
        len(events),
        kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="100 petitions, concurrency 20 (about 30 s)")
    parser.add_argument("-n", type=int, default=500, help="petitions (default 500)")
    parser.add_argument("--concurrency", type=int, default=50, help="petitions in flight (default 50)")
    parser.add_argument(
        "--eager-activities",
        action="store_true",
        help="turn on the server's eager activity execution (system.enableActivityEagerExecution)",
    )
    parser.add_argument(
        "--sandboxed",
        action="store_true",
        help="both workers run workflows in the SDK's sandbox (PETITIONFLOW_WORKFLOW_SANDBOX=true)",
    )
    parser.add_argument(
        "--codec",
        nargs="?",
        const=DEFAULT_CIPHER,
        choices=list(CIPHERS),
        help="encrypt the petitions' payloads (default cipher aes-256-gcm; the baseline stays plain)",
    )
    args = parser.parse_args()
    n, concurrency = (100, 20) if args.small else (args.n, args.concurrency)
    print(_stack.machine(), flush=True)
    print(f"workflow code: {'sandboxed' if args.sandboxed else 'not sandboxed'}, in both workers")
    print(
        f"payloads: {'encrypted, ' + args.codec if args.codec else 'plain'} (petitions; the baseline plain)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-lifecycle-") as workdir:
        figures = asyncio.run(
            measure(
                n,
                concurrency,
                Path(workdir),
                eager_activities=args.eager_activities,
                sandboxed=args.sandboxed,
                codec=args.codec,
            )
        )
    for line in figures.lines():
        print(line)


if __name__ == "__main__":
    main()
