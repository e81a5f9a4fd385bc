"""Open311 POSTs located the way civic apps send them, through real GeoReport v2 clients from PyPI.

The app is served by uvicorn on a free localhost port, over the real workflow (Temporal's
time-skipping server) and PostgreSQL. ``civicbot``'s ``Open311Client`` posts (``georeport``, the
"Python wrapper for the Open311 GeoReport v2 API", has no POST: it reads the filed request back).
Both are synchronous, so they run in a thread while the server and the worker run on the loop.

The sample villages (``locate.sample_regions``): 西山村 v-xishan west of 118.62° E, 东山村 v-dongshan
east of it, both 35.77–35.79° N in 夏庄镇; 南湖村 v-nanhu south of 东山村. Around them GCJ-02 lies about
487 m east of WGS-84, BD-09 about 1.1 km east and 600 m north.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import coordTransform
import httpx
import pytest
from civicbot import Endpoint, HttpError, HttpTransport, Open311Client
from civicbot.http import RateLimiter
from georeport import GeoReport
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow.api import create_app, serve
from petitionflow.dev.embedded_pg import free_port
from petitionflow.directory.locate import Crs, Gazetteer, sample_regions, square
from schemas.common import Tier
from schemas.directory import Region
from store import auth

XISHAN_EAST = (35.78, 118.618)
"""WGS-84: in 西山村, 180 m west of 东山村. In GCJ-02 it reads 300 m inside 东山村."""
DONGSHAN_WEST = (35.78, 118.6225)
"""WGS-84: in 东山村, 225 m east of 西山村. Taken for GCJ-02 (and moved 487 m west) it is in 西山村."""


@dataclass
class Served:
    """The app on a real socket, an API key, and the two client libraries pointed at it."""

    poster: Open311Client
    reader: GeoReport
    key: str
    pool: asyncpg.Pool

    async def post(self, **fields: Any) -> Any:
        """POST with civicbot (for real: not its default dry run); the reply or the HttpError."""
        try:
            prepared = await asyncio.to_thread(
                self.poster.create_request,
                "roads",
                dry_run=False,
                confirm="SEND",
                api_key=self.key,
                description="The culvert under the lane is blocked; the road floods.",
                email="resident@example.org",
                **fields,
            )
        except HttpError as err:
            return err
        return prepared.response

    async def village_of(self, reply: Any) -> str:
        """Where the filed request is, as georeport reads it back (GET Service Request)."""
        assert isinstance(reply, list), reply
        request_id = reply[0]["service_request_id"]
        request = await asyncio.to_thread(self.reader.get_service_request, request_id)
        assert request["service_request_id"] == request_id
        village: str = request["address_id"]
        return village

    async def filed(self) -> int:
        count: int = await self.pool.fetchval("SELECT count(*) FROM petitions")
        return count


def _errors(answer: Any) -> list[str]:
    assert isinstance(answer, HttpError), answer
    assert answer.status == 400, answer
    errors = json.loads(answer.body)
    assert {e["code"] for e in errors} == {400}
    return [e["description"] for e in errors]


@pytest.fixture
async def served(
    env: WorkflowEnvironment, pool: asyncpg.Pool, request: pytest.FixtureRequest
) -> AsyncIterator[Served]:
    crs: Crs = getattr(request, "param", Crs.GCJ02)
    task_queue = str(uuid.uuid4())
    app = create_app(temporal_client=env.client, pool=pool, task_queue=task_queue, open311_crs=crs)
    key = await auth.issue_api_key(pool, "civic-app")
    port = free_port()
    base = f"http://127.0.0.1:{port}/open311/v2"
    async with worker.build_worker(env.client, pool, task_queue=task_queue):
        server = asyncio.create_task(serve(app, port=port))
        for _ in range(500):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            break
        else:
            raise AssertionError("the server never accepted connections")
        poster = Open311Client(
            Endpoint(id="petitionflow", name="petitionflow (test)", base_url=base, write=True),
            transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)),
        )
        try:
            yield Served(poster=poster, reader=GeoReport(base), key=key, pool=pool)
        finally:
            server.cancel()
            with pytest.raises(asyncio.CancelledError):
                await server


@pytest.mark.parametrize(
    ("address", "village"),
    [
        ("山东省沂水县夏庄镇西山村12号", "v-xishan"),
        ("东山村", "v-dongshan"),
        ("No. 3 Dong Shan Cun, Xiazhuang", "v-dongshan"),
        ("Nánhú", "v-nanhu"),
    ],
)
async def test_only_an_address_string_files_a_petition(served: Served, address: str, village: str) -> None:
    reply = await served.post(address_string=address)
    assert await served.village_of(reply) == village
    assert f"The village office {village} responds within" in reply[0]["service_notice"]


@pytest.mark.parametrize("served", [Crs.WGS84], indirect=True)
async def test_only_lat_long_files_in_wgs84_where_the_deployment_says_so(served: Served) -> None:
    lat, lng = DONGSHAN_WEST
    assert await served.village_of(await served.post(lat=lat, lng=lng)) == "v-dongshan"


async def test_only_lat_long_files_as_gcj02_by_default_to_the_right_village(served: Served) -> None:
    g_lng, g_lat = coordTransform.wgs84_to_gcj02(XISHAN_EAST[1], XISHAN_EAST[0])
    # Read as WGS-84 this point is inside 东山村; converted from GCJ-02 it is in 西山村, where it is.
    assert await served.village_of(await served.post(lat=g_lat, lng=g_lng)) == "v-xishan"


async def test_attribute_crs_overrides_the_deployment_s_setting(served: Served) -> None:
    lat, lng = DONGSHAN_WEST
    as_wgs84 = await served.post(lat=lat, lng=lng, attributes={"crs": "wgs84"})
    as_gcj02 = await served.post(lat=lat, lng=lng)  # the default: GCJ-02
    b_lng, b_lat = coordTransform.wgs84_to_bd09(XISHAN_EAST[1], XISHAN_EAST[0])
    as_bd09 = await served.post(lat=b_lat, lng=b_lng, attributes={"crs": "bd09"})
    assert [await served.village_of(r) for r in (as_wgs84, as_gcj02, as_bd09)] == [
        "v-dongshan",
        "v-xishan",
        "v-xishan",
    ]


async def test_a_point_in_the_gap_files_to_the_nearest_village(served: Served) -> None:
    reply = await served.post(lat=35.7690, lng=118.63, attributes={"crs": "wgs84"})  # 55 m from 南湖村
    assert await served.village_of(reply) == "v-nanhu"


async def test_an_ambiguous_address_is_refused_with_its_candidates(served: Served) -> None:
    errors = _errors(await served.post(address_string="Xiazhuang"))
    assert errors[0] == (
        "address_string 'Xiazhuang' could be any of 2 villages: name the village with its township, "
        "or send its address_id"
    )
    assert [e.split(",")[0] for e in errors[1:]] == [
        "candidate v-dongshan 东山村 (Dongshan)",
        "candidate v-xishan 西山村 (Xishan)",
    ]
    assert await served.filed() == 0


async def test_a_point_far_from_every_village_is_refused(served: Served) -> None:
    errors = _errors(await served.post(lat=35.9, lng=118.9, attributes={"crs": "wgs84"}))
    assert errors == [
        "lat/long 35.9,118.9 (WGS-84) is in no village of this jurisdiction, nor within 200 m of one: "
        "the nearest is v-dongshan 东山村 (Dongshan), 26.4 km away "
        "(is attribute[crs] right? wgs84, gcj02 or bd09)"
    ]
    assert await served.filed() == 0


async def test_an_unknown_address_is_refused(served: Served) -> None:
    errors = _errors(await served.post(address_string="221B Baker Street"))
    assert errors == [
        "address_string '221B Baker Street' names no village, township, county or city of this "
        "jurisdiction: send address_id, or lat & long"
    ]
    assert await served.filed() == 0


async def test_a_village_the_region_directory_lacks_is_refused(
    env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    # Until filing reads the directory, the contact cadre comes from regions.SAMPLE: a village the
    # gazetteer knows but the region directory does not cannot be filed (and is not, silently).
    extra = Region(
        region_id="v-beiling",
        tier=Tier.VILLAGE,
        parent_id="t-xiazhuang",
        name_zh="北岭村",
        name_en="Beiling",
        boundary=square(35.79, 118.60, 35.81, 118.62),
    )
    app = create_app(temporal_client=env.client, pool=pool, gazetteer=Gazetteer([*sample_regions(), extra]))
    key = await auth.issue_api_key(pool, "civic-app")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        answer = await http.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "roads",
                "address_string": "北岭村",
                "email": "a@example.org",
                "description": "x",
            },
        )
    assert answer.status_code == 400
    assert answer.json() == [
        {"code": 400, "description": "village 'v-beiling' has no contact cadre on duty here"}
    ]
    assert await pool.fetchval("SELECT count(*) FROM petitions") == 0
