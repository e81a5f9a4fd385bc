"""The native API's error body, the refusal → status mapping, and the handlers that render them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.api import georeport

# Re-exported for the API's modules: the pages answer refusals with the same statuses.
from petitionflow.client import REFUSAL_STATUS as REFUSAL_STATUS
from petitionflow.client import refusal_status as refusal_status

RETRY_AFTER = "5"
"""Seconds a client is asked to wait when a server behind the API is unreachable (503)."""

_TEMPORAL_UNREACHABLE = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}
)

DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    TimeoutError,
)
"""What asyncpg raises when PostgreSQL cannot be reached or goes away mid-request."""


class FieldProblem(BaseModel):
    """One thing wrong with the request: where (``location`` and dotted ``path``) and why."""

    location: str
    """``body``, ``query``, ``path`` or ``header``."""
    path: str
    """The field's dotted path inside its location (``petitioner.phone``, ``limit``); empty for
    the whole location (malformed JSON)."""
    reason: str


class ErrorDetail(BaseModel):
    code: str
    """A refusal code of the rules (``wrong_tier`` …) or one of ``invalid_request``,
    ``malformed_json``, ``unauthenticated``, ``forbidden``, ``not_found``, ``unavailable``."""
    reason: str
    fields: list[FieldProblem] | None = None
    request_id: str | None = None
    """On a 500: the id the error was logged under (also in ``X-Request-ID``)."""


class ErrorBody(BaseModel):
    """Every native error: ``{"error": {"code", "reason", "fields"?}}``."""

    error: ErrorDetail


class ApiError(Exception):
    """Answer with ``status`` and an ``ErrorBody``; nothing was changed."""

    def __init__(self, status: int, code: str, reason: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {reason}")
        self.status = status
        self.code = code
        self.reason = reason
        self.headers = headers


def error_response(
    status: int,
    code: str,
    reason: str,
    *,
    fields: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, reason=reason, fields=fields))
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers)


Answer = Response
"""What ``answer`` gives: an ASGI app of its own, so middleware can send it too."""


def answer(
    path: str,
    status: int,
    code: str,
    reason: str,
    *,
    fields: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    """An error for a request to ``path``: GeoReport's format under ``/open311/``, else the native one."""
    if path.startswith("/open311/"):
        fmt = "xml" if path.endswith(".xml") else "json"
        descriptions = [f"{p.path or p.location}: {p.reason}" for p in fields] if fields else [reason]
        response = georeport.error_response(georeport.Open311Error(status, *descriptions, fmt=fmt))
        response.headers.update(headers or {})
        return response
    body = ErrorBody(error=ErrorDetail(code=code, reason=reason, fields=fields, request_id=request_id))
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers)


def internal_error(path: str) -> Response:
    """The 500 for an error nobody expected: the request id to quote, nothing of the error itself
    (its stack trace is in the log under that id)."""
    request_id = str(structlog.contextvars.get_contextvars().get("request_id") or "unknown")
    reason = f"an unexpected error; it was logged with request id {request_id}"
    return answer(path, 500, "internal", reason, request_id=request_id)


def field_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """Pydantic/FastAPI errors as ``FieldProblem``s (the location split from the path)."""
    problems = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else "body"
        path = loc[1:] if loc and loc[0] == location else loc
        problems.append(FieldProblem(location=location, path=".".join(path), reason=str(error.get("msg"))))
    return problems


def _is_malformed_json(errors: Sequence[Any]) -> bool:
    return any(e.get("type") == "json_invalid" for e in errors)


def install(app: FastAPI) -> None:
    """Render ``ApiError``, validation errors and Starlette's own HTTP errors in the native shape.

    Open311 routes render their own errors (GeoReport format) and never raise these.
    """

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.reason, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if _is_malformed_json(errors):
            return answer(
                request.url.path,
                400,
                "malformed_json",
                "the request body is not valid JSON",
                fields=[FieldProblem(location="body", path="", reason=str(errors[0].get("msg")))],
            )
        problems = field_problems(errors)
        named = ", ".join(f"{p.location}.{p.path}" if p.path else p.location for p in problems)
        return answer(request.url.path, 422, "invalid_request", f"invalid: {named}", fields=problems)

    async def _unavailable(request: Request, exc: Exception) -> Response:
        which = "Temporal" if isinstance(exc, RPCError) else "the event log (PostgreSQL)"
        if isinstance(exc, RPCError) and exc.status not in _TEMPORAL_UNREACHABLE:
            structlog.get_logger("petitionflow.api").error(
                "temporal_error", status=str(exc.status), error=str(exc)
            )
            return internal_error(request.url.path)
        structlog.get_logger("petitionflow.api").warning("unavailable", backend=which, error=repr(exc))
        reason = f"{which} cannot be reached right now; nothing was changed, try again"
        headers = {"Retry-After": RETRY_AFTER}
        if request.url.path.startswith("/open311/"):
            fmt = "xml" if request.url.path.endswith(".xml") else "json"
            response = georeport.error_response(georeport.Open311Error(503, reason, fmt=fmt))
            response.headers.update(headers)
            return response
        return error_response(503, "unavailable", reason, headers=headers)

    app.add_exception_handler(RPCError, _unavailable)
    for kind in DATABASE_UNREACHABLE:
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        if isinstance(exc.__cause__, RecursionError):
            # FastAPI's "error parsing the body": json.loads gave up on the nesting.
            return answer(
                request.url.path,
                400,
                "malformed_json",
                "the request body is nested too deeply to be read",
                fields=[FieldProblem(location="body", path="", reason="nested too deeply")],
            )
        return answer(
            request.url.path,
            exc.status_code,
            code.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )
