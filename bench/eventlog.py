"""The event log's write and rebuild speed over about a million realistic events.

The events are lives of petitions made by the real decider (``bench/_lives.py``: 500 templates of
about 11 events — filings, reminders, deadlines and escalations, info requests, reopenings, ratings,
return visits), copied under fresh petition ids, and every one goes through ``store.eventlog.append``
(hash chain and read models in the same transaction) on an embedded PostgreSQL with its default,
durable settings. Two ways of appending:

- **one petition per call**, each call one step of one petition (the events one action or timer
  caused: what a workflow's activity sends), ``PER_PETITION_CONCURRENCY`` calls at a time;
- **many petitions per call**, ``PETITIONS_PER_CALL`` whole petitions in each call, one call at a time.

Then ``rebuild_read_models`` refolds all of it, once for each number of worker processes given by
``--rebuild-workers`` (by default one per core, then again in one process: the same log, two ways).

    .venv/bin/python bench/eventlog.py [--small] [--events 1000000] [--rebuild-workers N [N ...]]
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make ``bench`` and the project importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench import _lives, _stack
from schemas.events import Envelope
from store import eventlog
from store.rebuild import rebuild_read_models

TEMPLATES = 500
PER_PETITION_SHARE = 0.02
"""The share of petitions appended one step per call; the rest go many petitions per call."""
PER_PETITION_CONCURRENCY = 10
"""Calls in flight in the one-petition mode: a worker's default database pool size."""
PETITIONS_PER_CALL = 100


@dataclass
class Figures:
    per_petition_events: int
    per_petition_calls: int
    per_petition_seconds: float
    batch_events: int
    batch_calls: int
    batch_seconds: float
    rebuild_petitions: int
    rebuild_events: int
    rebuild_seconds: tuple[float, ...]
    rebuild_workers: tuple[int, ...]
    """The rebuilds' worker processes (at most), one value per rebuild, in the order they ran."""

    def lines(self) -> list[str]:
        return [
            f"append, one petition per call: {self.per_petition_events / self.per_petition_seconds:,.0f}"
            f" events/s ({self.per_petition_events:,} events in {self.per_petition_calls:,} calls of"
            f" {self.per_petition_events / self.per_petition_calls:.1f}, {PER_PETITION_CONCURRENCY} at a"
            f" time, {self.per_petition_seconds:.1f} s)",
            f"append, many petitions per call: {self.batch_events / self.batch_seconds:,.0f} events/s"
            f" ({self.batch_events:,} events in {self.batch_calls:,} calls of {PETITIONS_PER_CALL}"
            f" petitions, {self.batch_seconds:.1f} s)",
        ] + [
            f"{'rebuild' if n == 0 else 'rebuild again'}: {self.rebuild_events / seconds:,.0f} events/s"
            f" ({self.rebuild_events:,} events of {self.rebuild_petitions:,} petitions,"
            f" at most {workers} worker processes, {seconds:.1f} s)"
            for n, (workers, seconds) in enumerate(
                zip(self.rebuild_workers, self.rebuild_seconds, strict=True)
            )
        ]


async def append_per_petition(pool: asyncpg.Pool, petitions: list[list[list[Envelope]]]) -> tuple[int, float]:
    """Each petition's steps in order, one call per step, many petitions concurrently.

    Returns (calls, seconds)."""
    queue = list(reversed(petitions))
    calls = 0

    async def drain() -> None:
        nonlocal calls
        while queue:
            for step in queue.pop():
                await eventlog.append(pool, step)
                calls += 1

    started = time.perf_counter()
    await asyncio.gather(*(drain() for _ in range(PER_PETITION_CONCURRENCY)))
    return calls, time.perf_counter() - started


async def measure(
    events: int, url: str, *, rebuild_workers: tuple[int, ...] = (1,), progress: bool = False
) -> Figures:
    templates = _lives.lives(TEMPLATES)
    per_life = sum(len(e) for life in templates for e in life) / len(templates)
    total = max(2, round(events / per_life))
    split = max(1, round(total * PER_PETITION_SHARE))
    async with asyncpg.create_pool(
        url, min_size=PER_PETITION_CONCURRENCY, max_size=PER_PETITION_CONCURRENCY
    ) as pool:
        singles = list(_lives.petitions(templates, "p1", 0, split))
        per_petition_events = sum(len(step) for p in singles for step in p)
        per_petition_calls, per_petition_seconds = await append_per_petition(pool, singles)
        del singles
        if progress:
            print(f"  ... one per call done: {per_petition_events:,} events", flush=True)

        batch_events = batch_calls = 0
        batch_seconds = 0.0
        for start in range(split, total, PETITIONS_PER_CALL):
            envelopes = [
                e
                for p in _lives.petitions(templates, "pn", start, min(total, start + PETITIONS_PER_CALL))
                for step in p
                for e in step
            ]
            started = time.perf_counter()
            await eventlog.append(pool, envelopes)
            batch_seconds += time.perf_counter() - started
            batch_events += len(envelopes)
            batch_calls += 1
            if progress and batch_calls % 100 == 0:
                print(f"  ... many per call: {batch_events:,} events", flush=True)

        rebuild_seconds: list[float] = []
        for workers in rebuild_workers:
            if progress:
                load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"  ... rebuilding, at most {workers} worker processes (load {load})", flush=True)
            started = time.perf_counter()
            rebuilt = await rebuild_read_models(pool, workers=workers, dsn=url)
            rebuild_seconds.append(time.perf_counter() - started)
    assert rebuilt.events == per_petition_events + batch_events, rebuilt
    return Figures(
        per_petition_events=per_petition_events,
        per_petition_calls=per_petition_calls,
        per_petition_seconds=per_petition_seconds,
        batch_events=batch_events,
        batch_calls=batch_calls,
        batch_seconds=batch_seconds,
        rebuild_petitions=rebuilt.petitions,
        rebuild_events=rebuilt.events,
        rebuild_seconds=tuple(rebuild_seconds),
        rebuild_workers=rebuild_workers,
    )


async def _main(events: int, workdir: Path, rebuild_workers: tuple[int, ...]) -> Figures:
    with _stack.postgres(workdir) as url:
        await _stack.migrated(url)
        return await measure(events, url, rebuild_workers=rebuild_workers, progress=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="50,000 events (about 30 s)")
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="about this many events (default 1,000,000)"
    )
    parser.add_argument(
        "--rebuild-workers",
        type=int,
        nargs="+",
        default=sorted({os.cpu_count() or 1, 1}, reverse=True),
        help="worker processes of the rebuild, one rebuild for each count given"
        " (default: one per core, then 1)",
    )
    args = parser.parse_args()
    print(_stack.machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-eventlog-") as workdir:
        figures = asyncio.run(
            _main(50_000 if args.small else args.events, Path(workdir), tuple(args.rebuild_workers))
        )
    for line in figures.lines():
        print(line)


if __name__ == "__main__":
    main()
