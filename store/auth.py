"""Credentials: bearer tokens that fix who an official or auditor is, and API keys of services.

Every secret is ``secrets.token_urlsafe(32)`` (256 random bits), shown once when it is issued and
stored only as its sha256 hash: a stolen database copy holds nothing a caller could present. A plain
hash (no salt, no slow KDF) is enough because the secrets are random, not chosen by people.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from schemas.common import Actor, PersonId, Role, Tier
from store._db import Db, connection

ServiceName = str
"""The name of a backend service holding API keys (``hotline``, ``web-form``, ``open311-gateway`` …)."""

TOKEN_ROLES = (Role.OFFICIAL, Role.CONTACT_CADRE, Role.AUDITOR)
"""Who may hold a bearer token. Petitioners act through a service's API key; the system never logs in."""


def _new_secret() -> tuple[str, bytes]:
    secret = secrets.token_urlsafe(32)
    return secret, digest(secret)


def digest(secret: str) -> bytes:
    """How a token or key is stored and looked up: its sha256."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


async def issue_token(db: Db, actor: Actor, *, expires_at: datetime | None = None) -> str:
    """A new bearer token for ``actor``; the token is returned once and stored only as its hash.

    The token fixes the actor: whoever presents it acts as this role and id, and, for an official
    or contact cadre, at this tier in this region. A person may hold several tokens at once.

    Args:
        actor: an official or contact cadre (with tier and region) or an auditor.
        expires_at: after this moment the token is refused; None keeps it until revoked.

    Raises:
        ValueError: ``actor`` is a petitioner or the system, who hold no tokens.
    """
    if actor.role not in TOKEN_ROLES:
        raise ValueError(
            f"a {actor.role.value} cannot hold a token (only officials, contact cadres, auditors)"
        )
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone")
    token, digest = _new_secret()
    async with connection(db) as conn:
        await conn.execute(
            "INSERT INTO access_tokens (token_hash, actor_id, role, tier, region_id, expires_at, office_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            digest,
            actor.id,
            actor.role.value,
            None if actor.tier is None else actor.tier.value,
            actor.region_id,
            expires_at,
            actor.office_id,
        )
    return token


async def revoke_token(db: Db, actor_id: PersonId) -> int:
    """Revoke every live token of ``actor_id``; returns how many were revoked (0 if none)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "UPDATE access_tokens SET revoked_at = now()"
            " WHERE actor_id = $1 AND revoked_at IS NULL RETURNING 1",
            actor_id,
        )
    return len(rows)


async def authenticate(db: Db, token: str, *, now: datetime | None = None) -> Actor | None:
    """The actor ``token`` was issued to, or None if it is unknown, revoked or expired.

    Args:
        now: the moment to judge expiry at; defaults to the database's clock.
    """
    if not token:
        return None
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "SELECT actor_id, role, tier, region_id, office_id FROM access_tokens"
            " WHERE token_hash = $1 AND revoked_at IS NULL"
            " AND (expires_at IS NULL OR expires_at > coalesce($2::timestamptz, now()))",
            digest(token),
            now,
        )
    if row is None:
        return None
    return Actor(
        role=Role(row["role"]),
        id=row["actor_id"],
        tier=None if row["tier"] is None else Tier(row["tier"]),
        region_id=row["region_id"],
        office_id=row["office_id"],
    )


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """Who presented an API key: the service, and the tier its petitions are filed at."""

    name: ServiceName
    tier: Tier
    centre_id: str | None = None
    """The centre its petitions are held by first, to be dispatched (``keys add --centre``)."""


async def issue_api_key(
    db: Db, name: ServiceName, *, tier: Tier = Tier.VILLAGE, centre_id: str | None = None
) -> str:
    """A new API key for the service ``name``; returned once, stored only as its hash.

    A service may hold several keys at once, so a key can be rotated without downtime.

    Args:
        tier: the tier every petition filed with this key starts at (the village cadres' app at
            the village, the county hotline at the county); a filing cannot choose another.
        centre_id: a centre of the directory (kind ``centre``): petitions filed with this key start
            in stage dispatch, held by it. Its tier must be ``tier``.
    """
    if not name or len(name) > 128:
        raise ValueError("a service name is 1 to 128 characters")
    key, digest = _new_secret()
    async with connection(db) as conn:
        await conn.execute(
            "INSERT INTO api_keys (key_hash, name, tier, centre_id) VALUES ($1, $2, $3, $4)",
            digest,
            name,
            tier.value,
            centre_id,
        )
    return key


async def revoke_api_key(db: Db, name: ServiceName) -> int:
    """Revoke every live key of the service ``name``; returns how many were revoked (0 if none)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING 1",
            name,
        )
    return len(rows)


async def authenticate_api_key(db: Db, key: str) -> ServiceName | None:
    """The name of the service ``key`` was issued to, or None if it is unknown or revoked."""
    found = await authenticate_service(db, key)
    return None if found is None else found.name


async def authenticate_service(db: Db, key: str) -> ServiceKey | None:
    """The service ``key`` was issued to, with its filing tier; None if unknown or revoked."""
    if not key:
        return None
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "SELECT name, tier, centre_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            digest(key),
        )
    if row is None:
        return None
    return ServiceKey(name=row["name"], tier=Tier(row["tier"]), centre_id=row["centre_id"])
