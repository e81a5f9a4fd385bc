"""Rate limits per client address, per API key and per bearer token: 429 with ``Retry-After``.

The counts live in PostgreSQL (``store/rate_limits.py``), so every API process shares them, one
statement per request. A request presenting a valid API key (the ``X-API-Key`` header or Open311's
``api_key``) or token is counted in that credential's window, wherever it comes from; one presenting
none, or a wrong one, in its client address's window, so neither floods of public reads nor guesses
at keys (each a different key) get past the address's limit. A backend service behind one address is
limited by its key, not by the address. ``RateLimiter.check`` is the reusable part: any route can
throttle something else (guesses of a tracking code …) with a bucket of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import asyncpg
import structlog
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from petitionflow.api import errors, georeport
from petitionflow.settings import Settings
from store import auth, rate_limits
from store.rate_limits import Count, Window

_PURGE_EVERY = 1000
"""Requests a process counts between two sweeps of ended windows."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How many requests each caller may make per window (``PETITIONFLOW_RATE_LIMIT_*``)."""

    per_address: int = 300
    """Requests without a valid credential, per client address."""
    per_api_key: int = 1200
    per_token: int = 300
    window_seconds: float = 60.0
    enabled: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            per_address=settings.rate_limit_per_address,
            per_api_key=settings.rate_limit_per_api_key,
            per_token=settings.rate_limit_per_token,
            window_seconds=settings.rate_limit_window_seconds,
            enabled=settings.rate_limit_enabled,
        )


def credential_bucket(kind: str, secret: str) -> str:
    """A bucket for a presented secret: its hash, never the secret itself."""
    return f"{kind}:{hashlib.sha256(secret.encode('utf-8', 'surrogateescape')).hexdigest()[:32]}"


_WHAT = {"address": "this client address", "key": "this API key", "token": "this token"}


def describe(count: Count) -> str:
    """Why a request was refused, with nothing of the caller's secret in it."""
    kind = count.window.bucket.split(":", 1)[0]
    return (
        f"too many requests from {_WHAT.get(kind, kind)}: at most {count.window.limit} in "
        f"{count.window.seconds:g} s; retry after {count.retry_after} s"
    )


class RateLimiter:
    """Counts hits in shared windows and says which one, if any, was exceeded."""

    def __init__(self, pool: asyncpg.Pool, limits: Limits) -> None:
        self.pool = pool
        self.limits = limits
        self._since_purge = 0

    async def check(
        self, windows: Sequence[Window], *, api_key: str | None = None, token: str | None = None
    ) -> Count | None:
        """Count a hit in each window; the exceeded one that frees last, or None if all allow it.

        Args:
            api_key, token: the credential the request presents: when valid, windows marked
                ``anonymous_only`` are not counted.

        When PostgreSQL cannot be reached the hit is let through (logged): the routes behind answer
        503 for that themselves, and a broken counter must not lock every caller out.
        """
        try:
            counts = await rate_limits.hit(
                self.pool,
                windows,
                key_digest=auth.digest(api_key) if api_key else None,
                token_digest=auth.digest(token) if token else None,
            )
            self._since_purge += 1
            if self._since_purge >= _PURGE_EVERY:
                self._since_purge = 0
                await rate_limits.purge(self.pool)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            structlog.get_logger("petitionflow.api").warning("rate_limit_unavailable", error=repr(err))
            return None
        exceeded = [c for c in counts if c.exceeded]
        return max(exceeded, key=lambda c: c.resets_in) if exceeded else None

    def windows(self, *, address: str, api_key: str | None, token: str | None) -> list[Window]:
        """The windows of one request: its address (unless its credential is valid), and the key or
        token it presents."""
        seconds = self.limits.window_seconds
        found = [Window(f"address:{address}", self.limits.per_address, seconds, anonymous_only=True)]
        if api_key:
            found.append(Window(credential_bucket("key", api_key), self.limits.per_api_key, seconds))
        if token:
            found.append(Window(credential_bucket("token", token), self.limits.per_token, seconds))
        return found


class RateLimit:
    """ASGI middleware: counts every HTTP request and answers 429 with ``Retry-After`` over a limit.

    Native routes get the native error body, Open311 routes a GeoReport error list. An Open311 POST
    carrying ``api_key`` only in its form looks anonymous here (its address is counted) and is counted
    by its key in the route (``count_form_key``), which reads the form anyway.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.limits.enabled:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        api_key = headers.get(b"x-api-key", b"").decode("latin-1") or _query_key(scope)
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        client = scope.get("client")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        address = client[0] if client else "unknown"
        windows = self.limiter.windows(address=address, api_key=api_key, token=bearer)
        exceeded = await self.limiter.check(windows, api_key=api_key, token=bearer)
        if exceeded is None:
            await self.app(scope, receive, send)
            return
        response = too_many(exceeded, scope["path"])
        await response(scope, receive, send)


def _query_key(scope: Scope) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    return dict(parse_qsl(query)).get("api_key") or None


def too_many(count: Count, path: str) -> Response:
    """The 429 answer for ``path``, in its door's error format."""
    headers = {"Retry-After": str(count.retry_after)}
    if path.startswith("/open311/"):
        fmt = "xml" if path.endswith(".xml") else "json"
        response = georeport.error_response(georeport.Open311Error(429, describe(count), fmt=fmt))
        response.headers.update(headers)
        return response
    return errors.error_response(429, "rate_limited", describe(count), headers=headers)


async def count_form_key(limiter: RateLimiter | None, api_key: str) -> Count | None:
    """Count an Open311 form's ``api_key`` in its key's window; the exceeded count, or None."""
    if limiter is None or not limiter.limits.enabled:
        return None
    limits = limiter.limits
    window = Window(credential_bucket("key", api_key), limits.per_api_key, limits.window_seconds)
    return await limiter.check([window])
