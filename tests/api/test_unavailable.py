"""When Temporal or PostgreSQL cannot be reached, the API says so: 503 with Retry-After, not 500."""

from __future__ import annotations

import asyncpg
import httpx

from petitionflow.api import create_app
from petitionflow.dev.embedded_pg import free_port
from petitionflow.dev.testing import time_skipping
from schemas.common import Tier
from store import auth
from tests.api.test_open311 import FORM
from tests.factories import official


def _client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://petitionflow.test")  # type: ignore[arg-type]


async def test_temporal_gone_is_503_in_both_dialects(pool: asyncpg.Pool) -> None:
    key = await auth.issue_api_key(pool, "hotline")
    token = await auth.issue_token(pool, official(Tier.VILLAGE))
    async with time_skipping() as env:
        app = create_app(temporal_client=env.client, pool=pool)
    # The server is stopped now; the client it gave the app is still there.
    async with _client(app) as http:
        native = await http.get("/v1/petitions/p-1", headers={"Authorization": f"Bearer {token}"})
        open311 = await http.post(
            "/open311/v2/requests.json",
            data={**FORM, "api_key": key},
        )
    assert native.status_code == 503, native.text
    assert native.headers["Retry-After"] == "5"
    assert native.json()["error"]["code"] == "unavailable"
    assert native.json()["error"]["reason"].startswith("Temporal cannot be reached right now")
    assert open311.status_code == 503, open311.text
    assert open311.json()[0]["code"] == 503
    assert "Temporal cannot be reached" in open311.json()[0]["description"]


async def test_postgres_gone_is_503(pool: asyncpg.Pool) -> None:
    async with (
        time_skipping() as env,
        asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{free_port()}/none", min_size=0) as gone,
        _client(create_app(temporal_client=env.client, pool=gone)) as http,
    ):
        echo = await http.get("/v1/echo-wall")
        services = await http.get("/open311/v2/requests.xml")
    assert echo.status_code == 503, echo.text
    assert echo.json()["error"]["reason"].startswith("the event log (PostgreSQL) cannot be reached")
    assert services.status_code == 503, services.text
    assert (
        services.headers["content-type"].startswith("text/xml") or "xml" in services.headers["content-type"]
    )
    assert b"<code>503</code>" in services.content
