"""An error nobody expected (issue 10, item 1): a JSON 500 with the request id and nothing else, and
one stack trace in the log, without local variables (so no key or token), in either log format,
written by the log's own thread rather than the event loop's."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Literal

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request

from petitionflow import logs
from petitionflow.api import create_app
from tests.api import georeport
from tests.api.conftest import Api

API_KEY = "key-s3cr3t-must-never-be-logged"
TOKEN = "tok-s3cr3t-must-never-be-logged"
CREDENTIALS = {"X-API-Key": API_KEY, "Authorization": f"Bearer {TOKEN}"}


class _Stream(io.StringIO):
    """A log stream that remembers which threads wrote to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[int] = set()

    def write(self, text: str) -> int:
        self.writers.add(threading.get_ident())
        return super().write(text)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    logs.stop()
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _failing_app(api: Api) -> FastAPI:
    app = create_app(temporal_client=api.env.client, pool=api.pool)

    @app.get("/v1/boom")
    async def boom(request: Request) -> None:
        credentials = dict(request.headers)  # a local holding the key and the token
        raise RuntimeError(f"the boom route failed with {len(credentials)} headers")

    @app.get("/open311/v2/boom.{fmt}")
    async def open311_boom(fmt: str, request: Request) -> None:
        api_key = request.headers["x-api-key"]
        raise KeyError(len(api_key))

    return app


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://petitionflow.test") as http:
        return await http.get(path, headers=CREDENTIALS)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["console", "json"])
async def test_an_unexpected_error_is_a_json_500_with_a_request_id_and_no_secret_in_the_log(
    api: Api, fmt: Literal["console", "json"]
) -> None:
    stream = _Stream()
    logs.configure(fmt=fmt, stream=stream)

    response = await _get(_failing_app(api), "/v1/boom")
    logs.stop()

    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal",
            "reason": f"an unexpected error; it was logged with request id {request_id}",
            "request_id": request_id,
        }
    }
    text = stream.getvalue()
    assert API_KEY not in text and TOKEN not in text
    assert threading.get_ident() not in stream.writers, "lines are written by the log's thread"
    if fmt == "console":
        assert "Traceback (most recent call last)" in text
        assert "RuntimeError: the boom route failed with" in text
        assert request_id in text
        assert len(text.splitlines()) < 60, "a stack trace, not a dump of every frame's locals"
        return
    lines = [json.loads(line) for line in text.splitlines()]
    [failure] = [line for line in lines if line["event"] == "unhandled_error"]
    assert (failure["request_id"], failure["level"], failure["path"]) == (request_id, "error", "/v1/boom")
    [exception] = failure["exception"]
    assert exception["exc_type"] == "RuntimeError"
    assert exception["exc_value"].startswith("the boom route failed with")
    assert exception["frames"][-1]["name"] == "boom"
    assert all("locals" not in frame for frame in exception["frames"])


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_an_unexpected_error_on_open311_is_a_500_in_the_spec_format(api: Api, fmt: str) -> None:
    stream = _Stream()
    logs.configure(fmt="json", stream=stream)

    response = await _get(_failing_app(api), f"/open311/v2/boom.{fmt}")
    logs.stop()

    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    [error] = georeport.check(response, "errors")
    assert (int(error["code"]), error["description"]) == (
        500,
        f"an unexpected error; it was logged with request id {request_id}",
    )
    assert API_KEY not in stream.getvalue()
    assert '"exc_type": "KeyError"' in stream.getvalue()
