"""Running the API under uvicorn, inside a process that already holds a Temporal client and a pool
(``petitionflow dev`` and ``petitionflow api``, in ``petitionflow.cli._engine``)."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from fastapi import FastAPI


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
