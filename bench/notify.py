"""The notifications dispatcher's speed: 10,000 notifications to a local webhook.

A receiver in its own process (Starlette under uvicorn) checks every request's HMAC signature and
counts distinct idempotency keys; the dispatcher (``petitionflow.notify.Dispatcher``, the real one,
webhook channel, no rate limit) runs in this process against an embedded PostgreSQL with its
default, durable settings. Two phases over the same outbox:

- **backlog**: ``N`` notifications already owed (confirmed: their streams' recorded-through marks
  are past them), delivered as fast as the dispatcher goes: messages/s from the first claim to the
  last mark;
- **steady**: ``N`` more owed at ``--rate`` a second (inserted 100 at a time), to read the delivery
  lag, from the row's creation to its delivery mark (both PostgreSQL's clock), p50 and p99.

    .venv/bin/python bench/notify.py [--notifications 10000] [--rate 400] [--concurrency 64]
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make ``bench`` and the project importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import hashlib
import hmac
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx

from bench import _stack
from petitionflow.dev.stack import unused_port
from petitionflow.notify import Dispatcher, NotifyConfig

SECRET = "bench-secret"
PETITIONS = 1000


def receiver_main(port: int) -> None:
    """The receiver process: verify, count, answer."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    seen: set[str] = set()
    counts = {"received": 0, "refused": 0}

    async def hook(request: Request) -> Response:
        raw = await request.body()
        stamp = request.headers.get("x-petitionflow-timestamp", "")
        want = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-petitionflow-signature", ""), want):
            counts["refused"] += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        counts["received"] += 1
        seen.add(request.headers["idempotency-key"])
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> Response:
        return JSONResponse({**counts, "unique": len(seen)})

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/stats", stats)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off")


@dataclass
class Phase:
    name: str
    count: int
    seconds: float
    lag_p50_ms: float
    lag_p99_ms: float
    cpu_seconds: float = 0.0
    """CPU this process (the dispatcher and its database client) spent in the phase."""

    def line(self) -> str:
        speed = self.count / self.seconds
        return (
            f"{self.name}: {self.count:,} messages in {self.seconds:.2f} s: {speed:,.0f} messages/s;"
            f" lag p50 {self.lag_p50_ms:,.1f} ms, p99 {self.lag_p99_ms:,.1f} ms"
        )

    def cpu_line(self) -> str:
        per = self.cpu_seconds / self.count
        return f"  dispatcher CPU: {per * 1000:.2f} ms a message ({1 / per:,.0f} messages/s per core)"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _prepare(pool: asyncpg.Pool, port: int) -> None:
    await pool.execute("INSERT INTO directory_versions (version, source) VALUES (1, 'bench')")
    await pool.executemany(
        "INSERT INTO directory_offices (version, office_id, kind, tier, region_id, name_zh, name_en, webhook)"
        " VALUES (1, $1, 'territorial', 'township', $1, $1, $1, $2)",
        [(f"t-{i}", f"http://127.0.0.1:{port}/hook") for i in range(PETITIONS)],
    )
    await pool.execute(
        "INSERT INTO streams (petition_id, last_seq, last_hash, recorded_through)"
        " SELECT 'b-' || i, 1000000, '\\x00'::bytea, 1000000 FROM generate_series(0, $1 - 1) AS i",
        PETITIONS,
    )


async def _owe(pool: asyncpg.Pool, start: int, count: int) -> None:
    """``count`` notifications, seqs from ``start``, spread over the petitions, each to its township."""
    facts = {"from_tier": "village", "to_tier": "township", "automatic": True}
    payload = json.dumps({**facts, "respond_by": "2026-12-03T02:00:00+00:00"})
    await pool.execute(
        "INSERT INTO notifications (petition_id, seq, recipient_role, recipient_id, kind, payload)"
        " SELECT 'b-' || (i % $3), $1 + i / $3, 'tier_office', 'township:t-' || (i % $3),"
        " 'escalated_to_you', $4::jsonb FROM generate_series(0, $2 - 1) AS i",
        start,
        count,
        PETITIONS,
        payload,
    )


async def _lag(pool: asyncpg.Pool, first_id: int) -> tuple[float, float]:
    row = await pool.fetchrow(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99 FROM"
        " (SELECT extract(epoch FROM delivered_at - created_at) * 1000 AS d"
        " FROM notifications WHERE id >= $1) x",
        first_id,
    )
    assert row is not None
    return float(row["p50"]), float(row["p99"])


async def _until_done(pool: asyncpg.Pool) -> float:
    """Seconds until the outbox is empty (the dispatcher runs meanwhile)."""
    started = time.perf_counter()
    for _ in range(30_000):
        if not await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NULL"):
            break
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def measure(count: int, rate: float, concurrency: int, workdir: Path, port: int) -> list[Phase]:
    """Both phases against the receiver listening on ``port``."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        with _stack.postgres(workdir) as url:
            await _stack.migrated(url)
            async with asyncpg.create_pool(url, min_size=2, max_size=4) as pool:
                await _prepare(pool, port)
                for _ in range(100):
                    try:
                        await http.get("/stats")
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
                config = NotifyConfig.model_validate(
                    {
                        "webhook": {"secret": SECRET},
                        "robots": {"enabled": False},
                        "log": False,
                        "rate_limits": {},
                        "concurrency": concurrency,
                        "batch": 500,
                        "poll_interval": 0.01,
                        "lease": timedelta(minutes=1),
                    }
                )
                dispatcher = Dispatcher(pool, config)
                phases: list[Phase] = []
                try:
                    await _owe(pool, 1, count)
                    cpu = _cpu()
                    running = asyncio.create_task(dispatcher.run())
                    backlog = await _until_done(pool)
                    phases.append(Phase("backlog", count, backlog, *await _lag(pool, 1), _cpu() - cpu))
                    first = int(await pool.fetchval("SELECT max(id) FROM notifications")) + 1
                    step = 100
                    began = time.perf_counter()
                    for i, start in enumerate(range(0, count, step)):
                        await _owe(pool, 1_000 + start // PETITIONS + i, min(step, count - start))
                        await asyncio.sleep(max(0.0, began + (i + 1) * step / rate - time.perf_counter()))
                    await _until_done(pool)
                    steady = time.perf_counter() - began
                    lag = await _lag(pool, first)
                    phases.append(Phase(f"steady at {rate:,.0f}/s", count, steady, *lag))
                    running.cancel()
                    await asyncio.gather(running, return_exceptions=True)
                finally:
                    await dispatcher.aclose()
                stats = (await http.get("/stats")).json()
                if stats["unique"] != 2 * count or stats["refused"]:
                    raise RuntimeError(f"the receiver saw {stats}, expected {2 * count} unique, none refused")
                return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=400)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        receiver_main(args.receiver)
        return
    print(_stack.machine())
    port = unused_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port)])
    try:
        with tempfile.TemporaryDirectory(prefix="bench-notify-") as workdir:
            phases = asyncio.run(
                measure(args.notifications, args.rate, args.concurrency, Path(workdir), port)
            )
    finally:
        receiver.terminate()
        receiver.wait(10)
    for phase in phases:
        print(phase.line())
        if phase.cpu_seconds:
            print(phase.cpu_line())
    print("target: >= 500 messages/s (backlog)")


if __name__ == "__main__":
    main()
