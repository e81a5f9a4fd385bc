"""The app factory: one FastAPI app serving the native API and Open311, over clients built elsewhere."""

from __future__ import annotations

import re
import secrets
import time
import uuid

import asyncpg
import structlog
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from petitionflow.api import audit, codec, directory, docs, errors, georeport, native, open311, petitioner
from petitionflow.api.deps import Services
from petitionflow.api.edge import Edge, EdgeConfig
from petitionflow.api.limits import Limits, RateLimit, RateLimiter
from petitionflow.api.params import clean_parameters
from petitionflow.catalogue import Catalogue
from petitionflow.client import PetitionClient
from petitionflow.directory.locate import Crs, Gazetteer, sample_gazetteer
from petitionflow.regions import SAMPLE, RegionDirectory
from petitionflow.settings import Settings
from schemas.policy import Policy
from schemas.workflow import TASK_QUEUE

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

DESCRIPTION = """\
Petitions carried village → township → county → city until the petitioner says they were answered.

* **Services** (API key in `X-API-Key`) file petitions and read those they filed.
* **Petitioners** rate, provide information and withdraw with a proof: their link token
  (`X-Petitioner-Token`), an SMS reply code (through the gateway's `/v1/sms/inbound`), or a hotline
  callback recorded by an operator of a service holding the callback permission.
* **Officials** (bearer token) act on the petitions of their tier and region; the token fixes who
  acts, and the rules answer with the new state or refuse with a code and a reason. They read the
  petitions of their region and the regions below it; the text and the contact only while theirs.
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
    policy: Policy | None = None,
    proofs: petitioner.ProofConfig | None = None,
    codec_origin: str | None = None,
    pseudonym_secret: bytes | None = None,
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
        policy: the deployment's policy every filing is made under (default: ``Policy()``; the
            commands that serve read it from ``PETITIONFLOW_POLICY_FILE``).
        proofs: the link secret petitioners' tokens and reply codes are checked under, and how
            guesses are throttled (default: a fresh random secret, the default limits).
        codec_origin: the one origin CORS lets call ``/codec`` (default: the settings').
        pseudonym_secret: the HMAC key of Open311 pseudonyms (default: the settings'; without one, a
            random key of this process, so pseudonyms change on restart: ``petitionflow api``
            refuses to start without one, ``petitionflow dev`` keeps one in its data folder).
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
            {"name": "petitioners", "description": "Households proving who they are: links, SMS replies."},
        ],
    )
    app.state.services = Services(
        petitions=PetitionClient(temporal_client, pool=pool, task_queue=task_queue),
        pool=pool,
        catalogue=catalogue or Catalogue(),
        regions=regions or SAMPLE,
        gazetteer=gazetteer or sample_gazetteer(),
        open311_crs=open311_crs,
        policy=policy or Policy(),
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
    app.include_router(petitioner.router, dependencies=checked)
    app.state.proofs = proofs or petitioner.ProofConfig()
    docs.install(app)
    settings = Settings()
    codec.install(app, origin=codec_origin or settings.codec_cors_origin)
    configured = settings.pseudonym_secret
    app.state.pseudonym_secret = pseudonym_secret or (
        configured.get_secret_value().encode() if configured else secrets.token_bytes(32)
    )
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
