"""What every route needs from the app: its clients, and who is calling (the auth dependencies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
import structlog
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from petitionflow.api.errors import ApiError
from petitionflow.catalogue import Catalogue
from petitionflow.client import PetitionClient
from petitionflow.directory.locate import Crs, Gazetteer
from petitionflow.regions import RegionDirectory
from schemas.common import Actor
from schemas.policy import Policy
from store import auth


@dataclass(frozen=True)
class Services:
    """The app's clients, built by the caller of ``create_app`` (no work at import time)."""

    petitions: PetitionClient
    pool: asyncpg.Pool
    catalogue: Catalogue
    regions: RegionDirectory
    gazetteer: Gazetteer
    """Where Open311 requests are: villages by id, point or address."""
    open311_crs: Crs
    """The coordinate system of an Open311 lat/long that names none."""
    policy: Policy
    """The deployment's policy, filled into every filing (no filing body carries one)."""


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


AppServices = Annotated[Services, Depends(services)]

_bearer = HTTPBearer(auto_error=False, description="A token issued to an official, contact cadre or auditor.")
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The API key of a backend service (hotline, web form …)."
)

BEARER_CHALLENGE = 'Bearer realm="petitionflow"'
API_KEY_CHALLENGE = 'ApiKey realm="petitionflow", header="X-API-Key"'


def _unauthenticated(reason: str, challenge: str, *, invalid: bool = False) -> ApiError:
    if invalid and challenge.startswith("Bearer"):
        challenge += ', error="invalid_token"'
    return ApiError(401, "unauthenticated", reason, headers={"WWW-Authenticate": challenge})


async def _actor_from(creds: HTTPAuthorizationCredentials | None, pool: asyncpg.Pool) -> Actor:
    if creds is None:
        raise _unauthenticated("an Authorization: Bearer <token> header is required", BEARER_CHALLENGE)
    actor = await auth.authenticate(pool, creds.credentials)
    if actor is None:
        raise _unauthenticated("the token is unknown, revoked or expired", BEARER_CHALLENGE, invalid=True)
    structlog.contextvars.bind_contextvars(actor=f"{actor.role.value}:{actor.id}")
    return actor


async def _service_from(key: str | None, pool: asyncpg.Pool) -> str:
    return (await _service_key_from(key, pool)).name


async def _service_key_from(key: str | None, pool: asyncpg.Pool) -> auth.ServiceKey:
    if not key:
        raise _unauthenticated("an X-API-Key header is required", API_KEY_CHALLENGE)
    found = await auth.authenticate_service(pool, key)
    if found is None:
        raise _unauthenticated("the API key is unknown or revoked", API_KEY_CHALLENGE, invalid=True)
    structlog.contextvars.bind_contextvars(service=found.name)
    return found


async def service_key_of(key: str, pool: asyncpg.Pool) -> auth.ServiceKey:
    """The service ``key`` belongs to; 401 when it is unknown or revoked."""
    return await _service_key_from(key, pool)


async def official(
    app: AppServices, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    """The person the bearer token was issued to; the rules judge whether they may act."""
    return await _actor_from(creds, app.pool)


async def service(app: AppServices, key: Annotated[str | None, Depends(_api_key)]) -> str:
    """The backend service whose API key was presented."""
    return await _service_from(key, app.pool)


async def filing_service(app: AppServices, key: Annotated[str | None, Depends(_api_key)]) -> auth.ServiceKey:
    """The backend service whose API key was presented, with the tier it files at."""
    return await _service_key_from(key, app.pool)


@dataclass(frozen=True)
class Reader:
    """Who reads a petition's personal-ish data: a token holder or a service."""

    actor: Actor | None
    service: str | None


async def reader(
    app: AppServices,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    key: Annotated[str | None, Depends(_api_key)],
) -> Reader:
    """An official, contact cadre or auditor (bearer token), or a service (API key)."""
    if creds is not None:
        return Reader(actor=await _actor_from(creds, app.pool), service=None)
    if key:
        return Reader(actor=None, service=await _service_from(key, app.pool))
    raise ApiError(
        401,
        "unauthenticated",
        "an Authorization: Bearer <token> or an X-API-Key header is required",
        headers={"WWW-Authenticate": f"{BEARER_CHALLENGE}, {API_KEY_CHALLENGE}"},
    )


Official = Annotated[Actor, Depends(official)]
ServiceName = Annotated[str, Depends(service)]
FilingService = Annotated[auth.ServiceKey, Depends(filing_service)]
AnyReader = Annotated[Reader, Depends(reader)]
API_KEY = Annotated[str | None, Depends(_api_key)]
"""The ``X-API-Key`` presented, unchecked (``service_key_of`` checks it)."""
