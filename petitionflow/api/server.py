"""Running the API under uvicorn: inside another program (``serve``) or on its own (``run``)."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import uvicorn
from fastapi import FastAPI

from petitionflow.api.app import create_app
from petitionflow.regions import RegionDirectory
from petitionflow.settings import Settings
from worker import connect


async def serve(app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` until cancelled; cancelling shuts uvicorn down cleanly (open requests finish).

    uvicorn's own logging config is left alone (``log_config=None``): the process's structlog
    setup (``petitionflow.logs.configure``) renders its lines too.
    """
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise
    if not server.started:
        raise OSError(f"the HTTP API could not start on {host}:{port} (is the port taken?)")


async def run(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    regions: RegionDirectory | None = None,
) -> None:
    """Connect to the servers ``settings`` name and serve the API until cancelled."""
    if settings.temporal_address is None or settings.database_url is None:
        raise SystemExit(
            "PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL must be set "
            "(or run `petitionflow dev`, which serves the API too)"
        )
    client = await connect(settings.temporal_address, settings.namespace)
    async with asyncpg.create_pool(settings.database_url, max_size=settings.db_pool_size) as pool:
        app = create_app(temporal_client=client, pool=pool, task_queue=settings.task_queue, regions=regions)
        await serve(app, host=host, port=port)
