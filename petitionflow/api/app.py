"""The app factory: one FastAPI app serving the native API and Open311, over clients built elsewhere."""

from __future__ import annotations

import re
import secrets
import time
import uuid

import asyncpg
import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from petitionflow.api import audit, codec, errors, georeport, native, open311
from petitionflow.api.deps import Services
from petitionflow.api.limits import Limits, RateLimit, RateLimiter
from petitionflow.catalogue import Catalogue
from petitionflow.client import PetitionClient
from petitionflow.regions import SAMPLE, RegionDirectory
from petitionflow.settings import Settings
from schemas.workflow import TASK_QUEUE

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

DESCRIPTION = """\
Petitions carried village → township → county → city until the petitioner says they were answered.

* **Services** (API key in `X-API-Key`) file petitions and act for petitioners (rate, provide
  information, withdraw).
* **Officials** (bearer token) act on the petitions of their tier and region; the token fixes who
  acts, and the rules answer with the new state or refuse with a code and a reason.
* The **echo wall** and the **figures** are public. **Open311 GeoReport v2** lives under
  `/open311/v2/`.
"""


def create_app(
    *,
    temporal_client: Client,
    pool: asyncpg.Pool,
    task_queue: str = TASK_QUEUE,
    catalogue: Catalogue | None = None,
    regions: RegionDirectory | None = None,
    limits: Limits | None = None,
    codec_origin: str | None = None,
    pseudonym_secret: bytes | None = None,
) -> FastAPI:
    """The HTTP API over an already-connected Temporal client (pydantic data converter) and pool.

    Args:
        catalogue: the petition categories offered as Open311 services (default: the built-in one).
        regions: the villages Open311's ``address_id`` may name (default: ``regions.SAMPLE``).
        limits: the rate limits (default: ``Limits()``, the settings' defaults), counted in ``pool``.
        codec_origin: the one origin CORS lets call ``/codec`` (default: the settings').
        pseudonym_secret: the HMAC key of Open311 pseudonyms (default: the settings'; without one, a
            random key of this process, so pseudonyms change on restart: ``petitionflow api``
            refuses to start without one, ``petitionflow dev`` keeps one in its data folder).
    """
    app = FastAPI(
        title="petitionflow",
        version="1",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "petitions", "description": "File and read petitions."},
            {"name": "actions", "description": "Act on a petition; the rules decide."},
            {"name": "public", "description": "No credentials, no personal data."},
            {"name": "open311", "description": "Open311 GeoReport v2."},
        ],
    )
    app.state.services = Services(
        petitions=PetitionClient(temporal_client, pool=pool, task_queue=task_queue),
        pool=pool,
        catalogue=catalogue or Catalogue(),
        regions=regions or SAMPLE,
    )
    errors.install(app)
    georeport.install(app)
    app.include_router(native.router)
    app.include_router(open311.router)
    app.include_router(audit.router)
    settings = Settings()
    codec.install(app, origin=codec_origin or settings.codec_cors_origin)
    configured = settings.pseudonym_secret
    app.state.pseudonym_secret = pseudonym_secret or (
        configured.get_secret_value().encode() if configured else secrets.token_bytes(32)
    )
    app.state.limiter = RateLimiter(pool, limits or Limits())
    app.add_middleware(RateLimit, limiter=app.state.limiter)  # inside RequestContext: 429s carry an id
    app.add_middleware(RequestContext)
    return app


class RequestContext:
    """Binds a request id (the caller's ``X-Request-ID`` if sane, else a new one) to structlog's
    context for the request, echoes it in ``X-Request-ID``, and logs one line per request.

    A plain ASGI middleware, so what routes bind (petition id, actor) is in the closing line too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CLIENT_REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, method=scope["method"], path=scope["path"]
        )
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Looked up per request, not at import: logging may be configured after this module loads.
            structlog.get_logger("petitionflow.api").info(
                "request", status=status, ms=round((time.perf_counter() - started) * 1000, 1)
            )
            structlog.contextvars.clear_contextvars()
