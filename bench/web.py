"""The web pages at a million petitions: the work queue, the echo wall and the dashboard.

Loads 1,000,000 petitions into the read models with COPY (``petitions``, ``echo_wall``,
``tier_stints``; through the append it would take about 25 minutes) in an embedded PostgreSQL
with its default, durable settings: 1 city, 4 counties, 64 townships, 768 villages, filed over the
last year; 60 % answered, 15 % escalated to the township and 3 % on to the county. Then requests
each page through the app as ``petitionflow api`` serves it (``create_app`` and ``web.install``,
in-process over ASGI, no sockets) and prints p50 and p95 per page. Target: p95 under 200 ms.

The ``state`` column holds ``{}``: none of the pages measured reads it (the petition page reads
the workflow; the queue reads the holding office from its own columns, ``office_id`` and
``office_kind``), and a million folded states would only make the load slower. Every petition is
held by its tier's territorial office.

    .venv/bin/python bench/web.py [--petitions 1000000] [--requests 200]
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make ``bench`` and the project importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from temporalio.client import Client

from bench import _stack
from petitionflow import web
from petitionflow.api import create_app
from petitionflow.api.limits import Limits
from petitionflow.converter import data_converter
from schemas.common import Actor, Tier
from schemas.offices import territorial_office_id
from store import auth
from store.projections import ECHO_COLUMNS, PETITION_COLUMNS, STINT_COLUMNS

COUNTIES, TOWNSHIPS, VILLAGES = 4, 16, 12
CATEGORIES = ("roads", "water", "subsidies", "land", "health", "education", "disputes", "other")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied", None)
NOW = datetime.now(UTC)
CHUNK = 50_000


def _villages() -> list[tuple[str, str, str]]:
    return [
        (f"v-{c}-{t:02d}-{v:02d}", f"t-{c}-{t:02d}", f"c-{c}")
        for c in range(COUNTIES)
        for t in range(TOWNSHIPS)
        for v in range(VILLAGES)
    ]


def generate(
    start: int, n: int, seed: int = 15
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Rows of ``petitions``, ``echo_wall`` and ``tier_stints`` for petitions ``start`` to ``start + n``."""
    rng = random.Random(seed + start)
    villages = _villages()
    petitions: list[tuple[object, ...]] = []
    echoes: list[tuple[object, ...]] = []
    stints: list[tuple[object, ...]] = []
    for i in range(start, start + n):
        village, township, county = villages[i % len(villages)]
        pid = f"p-{i:07d}"
        filed = NOW - timedelta(seconds=rng.uniform(0, 365 * 86400))
        category = CATEGORIES[i % len(CATEGORIES)]
        roll = rng.random()
        tiers = (
            [Tier.VILLAGE] + ([Tier.TOWNSHIP] if roll < 0.15 else []) + ([Tier.COUNTY] if roll < 0.03 else [])
        )
        tier = tiers[-1]
        answered = rng.random() < 0.6
        rating = rng.choice(RATINGS) if answered else None
        finished = answered and rating in ("satisfied", "basically_satisfied") and rng.random() < 0.8
        stage = (
            "closed"
            if finished
            else ("feedback" if answered else rng.choice(("collect", "assess", "resolve")))
        )
        deadline = None if answered else filed + timedelta(days=rng.uniform(1, 40))
        region_of = {Tier.VILLAGE: village, Tier.TOWNSHIP: township, Tier.COUNTY: county}
        entered = filed
        for no, at in enumerate(tiers, 1):
            last = no == len(tiers)
            resolved_at = entered + timedelta(days=rng.uniform(0.5, 20)) if (answered and last) else None
            stints.append(
                (
                    pid,
                    no,
                    at.value,
                    region_of[at],
                    f"off-{region_of[at]}",
                    entered,
                    entered + timedelta(days=3),
                    entered + timedelta(days=1) if rng.random() < 0.9 else None,
                    rng.random() < 0.85,
                    resolved_at,
                    resolved_at is not None and rng.random() < 0.8,
                    "resolved" if resolved_at else None,
                    not last,
                    False,
                    int(rng.random() < 0.1),
                    int(rng.random() < 0.05),
                    rating if last else None,
                )
            )
            if resolved_at is not None:
                echoes.append(
                    (
                        pid,
                        3 + no,
                        at.value,
                        village,
                        township,
                        county,
                        "x-0",
                        category,
                        "resolved",
                        f"第{i}号诉求已办结：{category} 问题已处理。",
                        resolved_at,
                        (resolved_at - entered).total_seconds() / 86400,
                        rng.random() < 0.8,
                        rating,
                    )
                )
            entered = entered + timedelta(days=rng.uniform(1, 10))
        petitions.append(
            (
                pid,
                tier.value,
                stage,
                village,
                township,
                county,
                "x-0",
                category,
                "hotline",
                "normal",
                False,
                deadline is not None and deadline < NOW,
                None,
                f"cadre-{village}",
                filed,
                filed,
                deadline,
                "satisfied" if finished else None,
                rating,
                finished,
                5,
                len(tiers),
                None,
                territorial_office_id(tier, region_of[tier]),
                "territorial",
                "{}",
            )
        )
    return petitions, echoes, stints


async def load(url: str, n: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    counts = [0, 0, 0]
    try:
        for first in range(0, n, CHUNK):
            rows = generate(first, min(CHUNK, n - first))
            await _copy(conn, *rows)
            counts = [c + len(r) for c, r in zip(counts, rows, strict=True)]
        await conn.execute("ANALYZE")
        print(
            f"loaded: {counts[0]:,} petitions, {counts[1]:,} echo-wall answers,"
            f" {counts[2]:,} stints in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _copy(
    conn: asyncpg.Connection,
    petitions: list[tuple[object, ...]],
    echoes: list[tuple[object, ...]],
    stints: list[tuple[object, ...]],
) -> None:
    await conn.copy_records_to_table(
        "petitions",
        records=petitions,
        columns=list(PETITION_COLUMNS),
    )
    await conn.copy_records_to_table(
        "echo_wall",
        records=echoes,
        columns=list(ECHO_COLUMNS),
    )
    await conn.copy_records_to_table(
        "tier_stints",
        records=stints,
        # The bench's petitions are held by no office: their stints carry no office_id.
        columns=[c for c in STINT_COLUMNS if c != "office_id"],
    )


async def measure(
    http: httpx.AsyncClient,
    path: str,
    requests: int,
    headers: dict[str, str] | None = None,
    *,
    shows: str | None = None,
) -> list[float]:
    """Seconds of each of ``requests`` requests of ``path``, after one to warm up (first chart
    drawing, plans, caches); the page must answer 200 and, with ``shows``, hold that text (a
    petition in a queue, an answer on a wall), so that an empty page is not timed as a fast one."""
    warm = await http.get(path, headers=headers)
    assert shows is None or shows in warm.text, (path, shows)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await http.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
    return times


_ANSWER = 'class="card echo"'
"""An answer on an echo wall."""


def line(name: str, times: list[float]) -> str:
    p50, p95 = _stack.quantile(times, 0.5) * 1000, _stack.quantile(times, 0.95) * 1000
    verdict = "ok" if p95 < 200 else "OVER the 200 ms target"
    return f"{name:<34} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({len(times)} requests; {verdict})"


async def run(n: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        for name, times in await measure_pages(n, requests, Path(folder)):
            print(line(name, times), flush=True)


async def measure_pages(n: int, requests: int, workdir: Path) -> list[tuple[str, list[float]]]:
    """Load ``n`` petitions, then time ``requests`` requests of each page: (page, seconds each)."""
    async with _stack.dev_stack(workdir) as (temporal, url, _):
        await load(url, n)
        client = await Client.connect(temporal.address, data_converter=data_converter())
        async with asyncpg.create_pool(url, min_size=2, max_size=10) as pool:
            app = create_app(temporal_client=client, pool=pool, limits=Limits(enabled=False))
            web.install(
                app,
                pool=pool,
                petitions=app.state.services.petitions,
                config=web.WebConfig(county_id="c-0"),
            )
            cold_app = create_app(temporal_client=client, pool=pool, limits=Limits(enabled=False))
            web.install(
                cold_app,
                pool=pool,
                petitions=cold_app.state.services.petitions,
                config=web.WebConfig(county_id="c-0", dashboard_seconds=0),
            )
            token = await auth.issue_token(pool, Actor.official("off-t-0-03", Tier.TOWNSHIP, "t-0-03"))
            cadre = await auth.issue_token(pool, Actor.official("off-v-1-02-05", Tier.VILLAGE, "v-1-02-05"))
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://bench") as http,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=cold_app), base_url="http://bench"
                ) as cold,
            ):
                results = [
                    (
                        "/queue (township official)",
                        await measure(
                            http, "/queue", requests, {"Authorization": f"Bearer {token}"}, shows='href="/o/'
                        ),
                    ),
                    (
                        "/queue (village cadre)",
                        await measure(
                            http, "/queue", requests, {"Authorization": f"Bearer {cadre}"}, shows='href="/o/'
                        ),
                    ),
                    ("/ (county echo wall, headline)", await measure(http, "/", requests, shows=_ANSWER)),
                    (
                        "/wall/t-2-07 (township wall)",
                        await measure(http, "/wall/t-2-07", requests, shows=_ANSWER),
                    ),
                    (
                        "/wall/c-1?category=water",
                        await measure(http, "/wall/c-1?category=water", requests, shows=_ANSWER),
                    ),
                    ("/dashboard (counted <= 60 s ago)", await measure(http, "/dashboard", requests)),
                    (
                        "/dashboard (counted per request)",
                        await measure(cold, "/dashboard", max(5, requests // 20)),
                    ),
                ]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(_stack.machine(), flush=True)
    asyncio.run(run(args.petitions, args.requests))


if __name__ == "__main__":
    main()
