"""The app factory: one FastAPI app serving the native API and Open311, over clients built elsewhere."""

from __future__ import annotations

import re
import time
import uuid

import asyncpg
import structlog
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from petitionflow.api import audit, directory, docs, errors, georeport, native, open311
from petitionflow.api.deps import Services
from petitionflow.api.edge import Edge, EdgeConfig
from petitionflow.api.limits import Limits, RateLimit, RateLimiter
from petitionflow.api.params import clean_parameters
from petitionflow.catalogue import Catalogue
from petitionflow.client import PetitionClient
from petitionflow.directory.locate import Crs, Gazetteer, sample_gazetteer
from petitionflow.regions import SAMPLE, RegionDirectory
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
    edge: EdgeConfig | None = None,
    gazetteer: Gazetteer | None = None,
    open311_crs: Crs = Crs.GCJ02,
) -> FastAPI:
    """The HTTP API over an already-connected Temporal client (pydantic data converter) and pool.

    Args:
        catalogue: the petition categories offered as Open311 services (default: the built-in one).
        regions: the villages Open311's ``address_id`` may name (default: ``regions.SAMPLE``).
        limits: the rate limits (default: ``Limits()``, the settings' defaults), counted in ``pool``.
        edge: the body limit and public address (default: ``EdgeConfig()``; the CLI builds it from
            ``Settings``).
        gazetteer: where an Open311 POST's ``address_id``, ``lat``/``long`` or ``address_string``
            is (default: ``locate.sample_gazetteer()``, the same three villages with boundaries).
        open311_crs: the coordinate system of a ``lat``/``long`` sent without ``attribute[crs]``.
    """
    app = FastAPI(
        title="petitionflow",
        docs_url=None,  # docs.install serves it without a CDN
        redoc_url=None,
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
        gazetteer=gazetteer or sample_gazetteer(),
        open311_crs=open311_crs,
    )
    app.state.edge = edge = edge or EdgeConfig()
    errors.install(app)
    georeport.install(app)
    checked = [Depends(clean_parameters)]
    app.include_router(native.router, dependencies=checked)
    app.include_router(open311.router, dependencies=checked)
    app.include_router(audit.router, dependencies=checked)
    app.include_router(audit.public_router, dependencies=checked)
    app.include_router(directory.router, dependencies=checked)
    docs.install(app)
    app.state.limiter = RateLimiter(pool, limits or Limits())
    # Outermost last: RequestContext(Edge(RateLimit(routes))). 413/415 answer before anything is
    # counted or read; 429s get Edge's headers and its 500 safety net; every answer carries an id.
    app.add_middleware(RateLimit, limiter=app.state.limiter)
    app.add_middleware(Edge, config=edge)
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
