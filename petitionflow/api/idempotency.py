"""The ``Idempotency-Key`` rule of the actions (after the IETF Idempotency-Key draft).

A key is scoped to its caller (a service, or a token's holder) and names one request: its verb, its
petition and its body. Sent again by the same caller with the same request, the first answer is sent
again (``Idempotent-Replayed: true``) and nothing is applied; with another request, 422; while the
first is still being answered, 409 with ``Retry-After``. Final answers are kept: the new state, or a
refusal by the rules. Anything else (unavailable, not found) forgets the key, so a retry executes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi.responses import JSONResponse, Response

from petitionflow.api.errors import ApiError, ErrorBody, ErrorDetail
from schemas.common import Actor
from schemas.state import PetitionState
from store import idempotency
from store.idempotency import Answer, Begin

FINAL = frozenset({403, 409, 422})
"""Statuses of the rules' refusals: an answer as final as a success."""
IN_USE_RETRY_AFTER = "1"


def caller_of(actor: Actor | None = None, *, service: str | None = None) -> str:
    """Whose keys these are: a service, or the exact identity a token fixes."""
    if service is not None:
        return f"service:{service}"
    assert actor is not None
    where = f"@{actor.tier.value}/{actor.region_id}" if actor.tier is not None else ""
    return f"{actor.role.value}:{actor.id}{where}"


def fingerprint(verb: str, petition_id: str, body: dict[str, Any]) -> bytes:
    """The request a key names: its verb, its petition and its body (canonical JSON)."""
    text = json.dumps([verb, petition_id, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).digest()


def update_id(caller: str, key: str) -> str:
    """The Temporal update id of a keyed action: scoped to the caller, like the key."""
    return "idem-" + hashlib.sha256(f"{caller}\0{key}".encode()).hexdigest()[:40]


def _error_body(error: ApiError) -> dict[str, Any]:
    return ErrorBody(error=ErrorDetail(code=error.code, reason=error.reason)).model_dump(
        mode="json", exclude_none=True
    )


async def once(
    pool: asyncpg.Pool,
    *,
    caller: str,
    key: str | None,
    request_hash: bytes,
    run: Callable[[str | None], Awaitable[PetitionState]],
) -> PetitionState | Response:
    """Run ``run(update_id)`` once per (caller, key); without a key, just run it."""
    if key is None:
        return await run(None)
    claimed = await idempotency.begin(pool, caller, key, request_hash)
    if claimed.begin is Begin.MISMATCH:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was sent before with another request (verb, petition or body); "
            "use a new key for a new request",
        )
    if claimed.begin is Begin.IN_USE:
        raise ApiError(
            409,
            "idempotency_key_in_use",
            "a request with this Idempotency-Key is still being answered; retry shortly",
            headers={"Retry-After": IN_USE_RETRY_AFTER},
        )
    if claimed.begin is Begin.REPLAY:
        assert claimed.answer is not None
        return JSONResponse(
            claimed.answer.body, status_code=claimed.answer.status, headers={"Idempotent-Replayed": "true"}
        )
    try:
        state = await run(update_id(caller, key))
    except ApiError as error:
        if error.status in FINAL:
            await idempotency.finish(pool, caller, key, Answer(error.status, _error_body(error)))
        else:
            await idempotency.release(pool, caller, key)
        raise
    except BaseException:
        with contextlib.suppress(Exception):  # PostgreSQL gone too: the key goes stale instead
            await idempotency.release(pool, caller, key)
        raise
    await idempotency.finish(pool, caller, key, Answer(200, state.model_dump(mode="json", by_alias=True)))
    return state
