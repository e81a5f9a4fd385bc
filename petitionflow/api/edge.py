"""The edge of the HTTP API: body limits, content types, security headers, and the last word on an
unexpected error, all before (or around) anything a route does.

One plain ASGI middleware, inside ``RequestContext`` (so its answers carry the request id) and
outside every route (so a 413 or a 415 is answered before credentials are checked or a body read).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message as MimeHeader
from typing import Self

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from petitionflow.api import errors
from petitionflow.settings import Settings

CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For every answer but the docs page (which sets its own): JSON and XML need nothing loaded."""
HSTS = "max-age=31536000; includeSubDomains"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class EdgeConfig:
    """The limits and the public address the edge enforces; see ``Settings`` for each."""

    max_body_bytes: int = 1_048_576
    public_base_url: str = "http://127.0.0.1:8000"
    hsts: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, listening: str) -> Self:
        """``listening``: the API's own address (``http://host:port``), the public one when
        ``PETITIONFLOW_PUBLIC_BASE_URL`` is unset."""
        return cls(
            max_body_bytes=settings.max_body_bytes,
            public_base_url=(settings.public_base_url or listening).rstrip("/"),
            hsts=settings.hsts,
        )

    @property
    def sends_hsts(self) -> bool:
        return self.hsts or self.public_base_url.startswith("https://")


class _BodyTooLarge(Exception):
    """Raised into the app from ``receive`` once the body passes the limit; the 413 is sent already."""


def _expected_content_type(method: str, path: str) -> tuple[str, ...] | None:
    """The media types a request with a body must declare, or None when any is fine."""
    if method not in _BODY_METHODS:
        return None
    if path.startswith("/open311/"):
        return ("application/x-www-form-urlencoded",)
    if path.startswith("/v1/"):
        return ("application/json",)
    return None


def _media_type(value: str) -> str:
    header = MimeHeader()
    header["content-type"] = value
    media = header.get_content_type()
    # ``application/merge-patch+json`` and friends are JSON too.
    return "application/json" if media.startswith("application/") and media.endswith("+json") else media


class Edge:
    """Refuses what is too large or of the wrong type, adds the security headers to every answer,
    and turns an exception no handler took into a JSON (or GeoReport) 500 with the request id.

    Headers added: ``X-Content-Type-Options: nosniff``, ``Content-Security-Policy`` (unless the
    answer set its own), ``Referrer-Policy: no-referrer``, ``Cache-Control: no-store`` on private
    answers (the request carried ``Authorization`` or ``X-API-Key``, or was not a GET/HEAD), and
    ``Strict-Transport-Security`` when ``EdgeConfig.sends_hsts``.
    """

    def __init__(self, app: ASGIApp, config: EdgeConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        private = "authorization" in headers or "x-api-key" in headers or method not in ("GET", "HEAD")
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = self._secure(list(message.get("headers", [])), private=private)
            await send(message)

        refusal = self._refusal(method, path, headers)
        if refusal is not None:
            await refusal(scope, receive, send_secured)
            return

        limit = self.config.max_body_bytes
        received = 0
        cut = False  # the 413 went out: what the app still sends is dropped

        async def send_from_app(message: Message) -> None:
            if not cut:
                await send_secured(message)

        async def receive_limited() -> Message:
            nonlocal received, cut
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started:
                        await self._too_large(path)(scope, receive, send_secured)
                        cut = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, receive_limited, send_from_app)
        except _BodyTooLarge:
            pass  # answered in receive_limited
        except Exception as exc:
            if cut:
                return  # the app's own ending of the cut request (FastAPI wraps it in a 400)
            structlog.get_logger("petitionflow.api").error("unhandled_error", exc_info=exc)
            if started:
                raise
            await errors.internal_error(path)(scope, receive, send_secured)

    def _refusal(self, method: str, path: str, headers: dict[str, str]) -> errors.Answer | None:
        """A 413 or 415 decided from the headers alone, before the app sees the request."""
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.config.max_body_bytes:
            return self._too_large(path)
        has_body = "transfer-encoding" in headers or (length is not None and length not in ("", "0"))
        expected = _expected_content_type(method, path)
        if expected is not None and has_body:
            given = headers.get("content-type")
            if given is None or _media_type(given) not in expected:
                return errors.answer(
                    path,
                    415,
                    "unsupported_media_type",
                    f"the body must be {' or '.join(expected)}, not {given or 'of no declared type'}",
                    headers={"Accept": ", ".join(expected)},
                )
        return None

    def _too_large(self, path: str) -> errors.Answer:
        return errors.answer(
            path,
            413,
            "content_too_large",
            f"the request body is larger than {self.config.max_body_bytes} bytes",
        )

    def _secure(self, headers: list[tuple[bytes, bytes]], *, private: bool) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        added = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
        if b"content-security-policy" not in present:
            added.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
        if private:
            headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
            added.append((b"cache-control", b"no-store"))
        if self.config.sends_hsts:
            added.append((b"strict-transport-security", HSTS.encode()))
        return [*[(n, v) for n, v in headers if n.lower() not in {a for a, _ in added}], *added]
