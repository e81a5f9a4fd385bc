"""The codec server: ``POST /codec/encode`` and ``/codec/decode`` for the Temporal Web UI.

The UI (its "Codec Server" setting, or ``temporal server start-dev --ui-codec-endpoint``) posts
``{"payloads": [{"metadata": {...}, "data": "<base64>"}]}`` (protobuf JSON of ``Payloads``) and shows
what comes back, so an auditor or an official reads a petition's history in clear while Temporal
holds it encrypted (the samples-python encryption sample's codec server, on our app). The codec is
the one of the API's own Temporal client (``petitionflow.converter``): without a keyring both routes
answer the payloads unchanged.

Only auditors and officials may call it, with a bearer token (the UI's "pass the user access token")
or the ``petitionflow_token`` cookie that ``/codec/session`` sets for the UI's "include cross-origin
credentials". A service key, a contact cadre's token or no credentials are refused. CORS answers
only the configured origin (``PETITIONFLOW_CODEC_CORS_ORIGIN``).
"""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from petitionflow.api.deps import AppServices, _actor_from, _bearer
from petitionflow.api.errors import ApiError
from petitionflow.codec import DecryptionError
from schemas.common import Actor, Role

PREFIX = "/codec"
COOKIE = "petitionflow_token"
ALLOWED_ROLES = (Role.AUDITOR, Role.OFFICIAL)
ALLOWED_HEADERS = "authorization, content-type, x-namespace"

router = APIRouter(prefix=PREFIX, tags=["codec"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not a JSON object of payloads"},
    401: {"description": "No valid token"},
    403: {"description": "Not an auditor or an official"},
    422: {"description": "A payload does not decrypt"},
}


async def codec_user(
    request: Request,
    app: AppServices,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """An auditor or an official, by bearer token or by the session cookie."""
    if creds is None and request.headers.get("x-api-key"):
        raise ApiError(403, "not_allowed", "the codec is for auditors and officials, not for service keys")
    if creds is None and (cookie := request.cookies.get(COOKIE)):
        creds = HTTPAuthorizationCredentials(scheme="Bearer", credentials=cookie)
    actor = await _actor_from(creds, app.pool)
    if actor.role not in ALLOWED_ROLES:
        raise ApiError(
            403,
            "not_allowed",
            f"the codec is for auditors and officials; the token is a {actor.role.value}'s",
        )
    return actor


CodecUser = Annotated[Actor, Depends(codec_user)]


async def _payloads(request: Request) -> Payloads:
    body = await request.body()
    try:
        return json_format.Parse(body or b"{}", Payloads())
    except json_format.ParseError as error:
        raise ApiError(
            400, "invalid_payloads", f"payloads: expected {{'payloads': [{{metadata, data}}]}}: {error}"
        ) from None


def _answer(payloads: Payloads) -> Response:
    return Response(json_format.MessageToJson(payloads), media_type="application/json")


@router.post("/encode", responses=_ERRORS)
async def encode(request: Request, app: AppServices, user: CodecUser) -> Response:
    """The payloads encoded (encrypted) as the engine would store them."""
    payloads = await _payloads(request)
    codec = app.petitions.temporal.data_converter.payload_codec
    if codec is not None:
        await codec.encode_wrapper(payloads)
    structlog.get_logger("petitionflow.api").info("codec_encode", payloads=len(payloads.payloads))
    return _answer(payloads)


@router.post("/decode", responses=_ERRORS)
async def decode(request: Request, app: AppServices, user: CodecUser) -> Response:
    """The payloads decoded (decrypted); a payload whose key is not listed fails the request."""
    payloads = await _payloads(request)
    codec = app.petitions.temporal.data_converter.payload_codec
    if codec is not None:
        try:
            await codec.decode_wrapper(payloads)
        except DecryptionError as error:
            raise ApiError(422, "undecodable", str(error)) from None
    # Who read what in clear: the count, never the content.
    structlog.get_logger("petitionflow.api").info("codec_decode", payloads=len(payloads.payloads))
    return _answer(payloads)


_SESSION_PAGE = """<!doctype html><title>petitionflow codec session</title>
<form method="post" action="{action}">
<label>Auditor's or official's token <input name="token" type="password" autocomplete="off"></label>
<button>Start a codec session</button></form>
<p>Then turn on "Include cross-origin credentials" in the Temporal UI's codec server settings.</p>"""


@router.get("/session", response_class=HTMLResponse, include_in_schema=False)
async def session_page() -> HTMLResponse:
    return HTMLResponse(_SESSION_PAGE.format(action=html.escape(f"{PREFIX}/session")))


@router.post("/session", include_in_schema=False)
async def start_session(request: Request, app: AppServices) -> Response:
    """Check the posted token and keep it in an HttpOnly cookie the UI's credentialed calls carry."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    if not token:
        raise ApiError(400, "invalid_token", "token: give the token to start a session with")
    actor = await _actor_from(HTTPAuthorizationCredentials(scheme="Bearer", credentials=token), app.pool)
    if actor.role not in ALLOWED_ROLES:
        raise ApiError(
            403, "not_allowed", f"the codec is for auditors and officials, not a {actor.role.value}"
        )
    response = RedirectResponse(f"{PREFIX}/session", status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https", path=PREFIX
    )
    return response


def install(app: FastAPI, *, origin: str) -> None:
    """Serve the codec routes, with CORS for ``origin`` (the Temporal UI's) and no other."""
    app.include_router(router)
    app.add_middleware(CodecCors, origin=origin)


class CodecCors:
    """CORS for ``/codec/*``: the preflight and the answers carry the headers only for ``origin``.

    A plain ASGI middleware (not ``BaseHTTPMiddleware``), so what routes bind to structlog's context
    still reaches the request's closing log line.
    """

    def __init__(self, app: ASGIApp, *, origin: str) -> None:
        self.app = app
        self.origin = origin

    def _headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"access-control-allow-origin", self.origin.encode()),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", b"POST"),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        allowed = dict(scope["headers"]).get(b"origin", b"").decode("latin-1") == self.origin
        extra = [*(self._headers() if allowed else []), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204 if allowed else 403, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)
