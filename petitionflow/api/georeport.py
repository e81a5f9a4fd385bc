"""GeoReport v2 responses: lists and errors rendered in JSON or XML, the format the path asks for.

Shared by the Open311 routes and by the app's error handlers, which answer Open311 paths in the
spec's error format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from petitionflow.api import xml

FORMATS = ("json", "xml")


class Open311Error(Exception):
    """Answered as ``[{"code", "description"}, …]`` (or ``<errors>``) with HTTP ``status``."""

    def __init__(self, status: int, *descriptions: str, fmt: str = "json") -> None:
        super().__init__(f"{status}: {'; '.join(descriptions)}")
        self.status = status
        self.descriptions = descriptions
        self.fmt = fmt


def install(app: FastAPI) -> None:
    @app.exception_handler(Open311Error)
    async def _error(request: Request, exc: Open311Error) -> Response:
        return error_response(exc)


def error_response(exc: Open311Error) -> Response:
    """``exc`` in GeoReport's error format."""
    errors = [{"code": exc.status, "description": d} for d in exc.descriptions]
    return render(exc.fmt, "errors", errors, status=exc.status)


def response_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"format {fmt!r} is not offered: use .json or .xml")
    return fmt


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return xml.w3c(value)
    if isinstance(value, Mapping):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def render(fmt: str, root: str, items: Sequence[Mapping[str, Any]], *, status: int = 200) -> Response:
    if fmt == "xml":
        return xml.response(xml.render_list(root, items), status)
    return JSONResponse(_json_ready(list(items)), status_code=status)
