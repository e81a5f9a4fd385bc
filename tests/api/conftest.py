"""API tests run the whole thing: the app over httpx, the real workflow on Temporal's time-skipping
server, the real event-log activity and read models on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow import proofs
from petitionflow.api import create_app
from petitionflow.client import PetitionClient
from schemas.common import Actor, Role, Tier
from schemas.workflow import workflow_id
from store import auth
from tests.factories import PETITIONER_ID, official


@dataclass
class Api:
    """The app under test and the servers behind it."""

    http: httpx.AsyncClient
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    service_key: str
    """An API key of the service ``hotline``."""
    petitions: PetitionClient
    """The app's own client, for what HTTP does not offer (filing with a short history limit)."""
    link_secret: str
    """The app's link secret: what the system signs petitioners' link tokens with."""

    async def token(self, actor: Actor) -> dict[str, str]:
        """Headers carrying a fresh bearer token of ``actor``."""
        return {"Authorization": f"Bearer {await auth.issue_token(self.pool, actor)}"}

    async def auditor(self) -> dict[str, str]:
        """Headers of an auditor, who reads every petition with its personal fields."""
        return await self.token(Actor(role=Role.AUDITOR, id="auditor-li"))

    async def official(self, tier: Tier, **kwargs: object) -> dict[str, str]:
        return await self.token(official(tier, **kwargs))  # type: ignore[arg-type]

    @property
    def service(self) -> dict[str, str]:
        return {"X-API-Key": self.service_key}

    async def household(self, petition_id: str) -> dict[str, str]:
        """Headers proving the petitioner of ``petition_id`` (filed by ``hotline``): a link token
        the filing service asked for."""
        response = await self.http.post(f"/v1/petitions/{petition_id}/petitioner-link", headers=self.service)
        assert response.status_code == 201, response.text
        return {"X-Petitioner-Token": response.json()["token"]}

    def link(self, petition_id: str, petitioner_id: str = PETITIONER_ID) -> dict[str, str]:
        """Headers with the link token the system would send the petitioner with an answer."""
        return {"X-Petitioner-Token": proofs.issue_link(self.link_secret, petition_id, petitioner_id)}

    async def callback_service(self, name: str = "hotline-12345") -> dict[str, str]:
        """Headers of an operator of a service holding the callback permission."""
        key = await auth.issue_api_key(self.pool, name, callback=True)
        return {"X-API-Key": key, "X-Callback-Operator": "operator-liu"}

    async def events(self, petition_id: str) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT type FROM events WHERE petition_id = $1 ORDER BY seq", petition_id
        )
        return [r["type"] for r in rows]

    async def stored(self, petition_id: str, seq: int) -> None:
        """Wait until the read model holds ``petition_id`` up to event ``seq``."""
        for _ in range(400):
            last = await self.pool.fetchval(
                "SELECT last_seq FROM petitions WHERE petition_id = $1", petition_id
            )
            if last is not None and last >= seq:
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"the read model never reached seq {seq} of {petition_id}")

    async def exists(self, petition_id: str) -> bool:
        """Whether a workflow was ever started for ``petition_id``."""
        try:
            await self.env.client.get_workflow_handle(workflow_id(petition_id)).describe()
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND, err
            return False
        return True


@pytest.fixture
async def api(env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[Api]:
    async with open_api(env, pool) as running:
        yield running


@asynccontextmanager
async def open_api(env: WorkflowEnvironment, pool: asyncpg.Pool, **options: Any) -> AsyncIterator[Api]:
    """The app, built with ``create_app(**options)`` (a ``policy`` …), its worker and an HTTP client."""
    task_queue = str(uuid.uuid4())
    app = create_app(temporal_client=env.client, pool=pool, task_queue=task_queue, **options)
    key = await auth.issue_api_key(pool, "hotline")
    async with (
        worker.build_worker(env.client, pool, task_queue=task_queue),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://petitionflow.test"
        ) as http,
    ):
        yield Api(
            http=http,
            env=env,
            pool=pool,
            service_key=key,
            petitions=app.state.services.petitions,
            link_secret=app.state.proofs.secret,
        )
