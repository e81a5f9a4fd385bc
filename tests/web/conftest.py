"""Web tests serve the real app (API and pages) on a real port under uvicorn, over a real worker on
Temporal's time-skipping server and a real PostgreSQL; the browser tests drive Debian's Chromium
through Playwright, one browser per test session."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow import web
from petitionflow.api import create_app
from petitionflow.api.limits import Limits
from petitionflow.client import PetitionClient
from petitionflow.dev.embedded_pg import free_port
from schemas.common import Actor, Role, Tier
from store import auth
from tests.factories import CADRE_ID, OTHER_REGION, REGION, official

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LINK_SECRET = "test-link-secret-0123456789"

CADRE_PHONE = "+86 139 0000 0001"
TOWNSHIP_EMAIL = "li.township@xiazhuang.example.cn"
TOWNSHIP_OFFICIAL = "li-township"

CENTRE_ID = "o-yishui-centre"
WATER_ID = "o-yishui-water"
CENTRE_PHONE = "+86 139 0000 0012"
CENTRE_DESK = Actor(
    role=Role.OFFICIAL, id="desk-liu", tier=Tier.COUNTY, region_id=REGION.county, office_id=CENTRE_ID
)
"""An official of the county's intake centre (a 12345 hotline desk)."""
WATER_DESK = Actor(
    role=Role.OFFICIAL, id="water-chen", tier=Tier.COUNTY, region_id=REGION.county, office_id=WATER_ID
)

_DIRECTORY = [
    # regions: id, tier, parent, zh, en
    ("regions", (REGION.city, "city", None, "临沂市", "Linyi")),
    ("regions", (REGION.county, "county", REGION.city, "沂水县", "Yishui")),
    ("regions", (REGION.township, "township", REGION.county, "夏庄镇", "Xiazhuang")),
    ("regions", (REGION.village, "village", REGION.township, "东山村", "Dongshan")),
    ("regions", (OTHER_REGION.city, "city", None, "济宁市", "Jining")),
    ("regions", (OTHER_REGION.county, "county", OTHER_REGION.city, "蒙阴县", "Mengyin")),
    ("regions", (OTHER_REGION.township, "township", OTHER_REGION.county, "上庄镇", "Shangzhuang")),
    ("regions", (OTHER_REGION.village, "village", OTHER_REGION.township, "西山村", "Xishan")),
]


async def load_directory(pool: asyncpg.Pool) -> None:
    """A one-village roster: the village's cadre (by phone) and a township official (by email)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO directory_versions (version, source) VALUES (1, 'tests/web')")
        for _, (rid, tier, parent, zh, en) in _DIRECTORY:
            await conn.execute(
                "INSERT INTO directory_regions (version, region_id, tier, parent_id, name_zh, name_en)"
                " VALUES (1, $1, $2, $3, $4, $5)",
                rid,
                tier,
                parent,
                zh,
                en,
            )
        await conn.execute(
            "INSERT INTO directory_offices (version, office_id, kind, tier, region_id, name_zh, name_en)"
            " VALUES (1, 'o-dongshan', 'territorial', 'village', $1, '东山村委会', 'Dongshan committee'),"
            " (1, 'o-xiazhuang', 'territorial', 'township', $2, '夏庄镇政府', 'Xiazhuang government'),"
            " (1, 'o-yishui', 'territorial', 'county', $3, '沂水县政府', 'Yishui government'),"
            " (1, 'o-linyi', 'territorial', 'city', $4, '临沂市政府', 'Linyi government')",
            REGION.village,
            REGION.township,
            REGION.county,
            REGION.city,
        )
        # The county's 12345 centre and its water bureau (issue 12), and the chain of supervisors.
        await conn.execute(
            "INSERT INTO directory_offices"
            " (version, office_id, kind, tier, region_id, name_zh, name_en, supervisor_id) VALUES"
            " (1, $1, 'centre', 'county', $2, '沂水县12345热线', 'Yishui 12345 hotline', 'o-yishui'),"
            " (1, $3, 'department', 'county', $2, '沂水县水利局', 'Yishui water bureau', 'o-yishui')",
            CENTRE_ID,
            REGION.county,
            WATER_ID,
        )
        await conn.executemany(
            "UPDATE directory_offices SET supervisor_id = $2 WHERE version = 1 AND office_id = $1",
            [("o-dongshan", "o-xiazhuang"), ("o-xiazhuang", "o-yishui"), ("o-yishui", "o-linyi")],
        )
        await conn.executemany(
            "INSERT INTO directory_people (version, person_id, name, role, office_id, phone)"
            " VALUES (1, $1, $2, 'official', $3, $4)",
            [
                (CENTRE_DESK.id, "刘接线员", CENTRE_ID, CENTRE_PHONE),
                (WATER_DESK.id, "陈科长", WATER_ID, None),
            ],
        )
        # The tests' generic officials (tests.factories.official): tokens go only to the roster.
        await conn.executemany(
            "INSERT INTO directory_people (version, person_id, name, role, office_id)"
            " VALUES (1, $1, $1, 'official', $2)",
            [
                ("village-official", "o-dongshan"),
                ("township-official", "o-xiazhuang"),
                ("county-official", "o-yishui"),
                ("city-official", "o-linyi"),
            ],
        )
        await conn.execute(
            "INSERT INTO directory_people (version, person_id, name, role, office_id, phone, email) VALUES"
            " (1, $1, '张书记', 'cadre', 'o-dongshan', $2, NULL),"
            " (1, $3, '李镇长', 'official', 'o-xiazhuang', NULL, $4)",
            CADRE_ID,
            CADRE_PHONE,
            TOWNSHIP_OFFICIAL,
            TOWNSHIP_EMAIL,
        )
        await conn.execute(
            "INSERT INTO directory_households (version, household_id, village_id, cadre_id, phone) VALUES"
            " (1, 'hh-0042', $1, $2, '+86 139 0000 0042'), (1, 'hh-0099', $3, NULL, NULL)",
            REGION.village,
            CADRE_ID,
            OTHER_REGION.village,
        )


@dataclass
class Site:
    """The app served on ``base_url``, and what is behind it."""

    base_url: str
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    petitions: PetitionClient
    service_key: str
    app: FastAPI

    async def bearer(self, tier: Tier, **kwargs: object) -> dict[str, str]:
        token = await auth.issue_token(self.pool, official(tier, **kwargs))  # type: ignore[arg-type]
        return {"Authorization": f"Bearer {token}"}

    async def token(self, actor: Actor) -> dict[str, str]:
        """A bearer token for ``actor`` (an official of a department or a centre)."""
        return {"Authorization": f"Bearer {await auth.issue_token(self.pool, actor)}"}

    async def stored(self, petition_id: str, seq: int) -> None:
        for _ in range(400):
            last = await self.pool.fetchval(
                "SELECT last_seq FROM petitions WHERE petition_id = $1", petition_id
            )
            if last is not None and last >= seq:
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"the read model never reached seq {seq} of {petition_id}")

    async def sign_in_code(self, person_id: str) -> str:
        """The code the outbox holds for ``person_id`` (what the notifications sender would deliver)."""
        row = await self.pool.fetchrow(
            "SELECT payload->>'code' AS code FROM notifications WHERE kind = 'sign_in_code'"
            " AND recipient_id = $1 ORDER BY id DESC LIMIT 1",
            person_id,
        )
        assert row is not None, f"no sign-in code in the outbox for {person_id}"
        code: str = row["code"]
        return code


@pytest.fixture
async def site(env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[Site]:
    task_queue = str(uuid.uuid4())
    app = create_app(
        temporal_client=env.client, pool=pool, task_queue=task_queue, limits=Limits(enabled=False)
    )
    web.install(
        app,
        pool=pool,
        petitions=app.state.services.petitions,
        config=web.WebConfig(link_secret=LINK_SECRET),
    )
    await load_directory(pool)
    key = await auth.issue_api_key(pool, "hotline")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    try:
        async with (
            worker.build_worker(env.client, pool, task_queue=task_queue),
            httpx.AsyncClient(base_url=base, timeout=30) as http,
        ):
            yield Site(base, http, env, pool, app.state.services.petitions, key, app)
    finally:
        server.should_exit = True
        await serving


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing"
    fonts = (
        subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
        if shutil.which("fc-list")
        else ""
    )
    if "Noto Sans CJK" not in fonts:
        return "the Noto CJK fonts are missing"
    return None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, launched once per session (Playwright gives it a fresh profile folder)."""
    missing = _browser_missing()
    if missing is not None:
        pytest.fail(
            f"the browser tests need Debian's chromium and fonts-noto-cjk ({missing}): run scripts/setup test"
            " as root, or apt-get install -y chromium fonts-noto-cjk",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A page in a 360 px wide phone viewport, speaking Chinese, in its own context (no cookies)."""
    context = await browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
