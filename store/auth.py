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
from schemas.directory import PersonRole
from store import lookup
from store._db import Db, connection

ServiceName = str
"""The name of a backend service holding API keys (``hotline``, ``web-form``, ``open311-gateway`` …)."""

TOKEN_ROLES = (Role.OFFICIAL, Role.CONTACT_CADRE, Role.AUDITOR)
"""Who may hold a bearer token. Petitioners prove themselves per petition (link tokens, reply codes,
callbacks: ``petitionflow.proofs``); the system never logs in."""


ROSTER_ROLES = {PersonRole.OFFICIAL: Role.OFFICIAL, PersonRole.CADRE: Role.CONTACT_CADRE}
"""The token role of each role of the directory's roster."""


class NotInRoster(ValueError):
    """A token asked for someone the directory's roster does not list, or not as they are listed."""


async def roster_actor(db: Db, person_id: PersonId) -> tuple[Actor, str] | None:
    """The actor the current directory's roster makes of ``person_id`` (their role, and the tier and
    region of their office), with the office's id; None while no directory is imported.

    Raises:
        NotInRoster: a directory is imported and ``person_id`` is not in its roster.
    """
    version = await lookup.current_version(db)
    if version is None:
        return None
    person = await lookup.roster_person(db, person_id, version=version)
    if person is None:
        raise NotInRoster(
            f"{person_id} is not in the roster of directory version {version}: tokens are issued only "
            "to the officials and cadres it lists (petitionflow directory import)"
        )
    actor = Actor(
        role=ROSTER_ROLES[person.role],
        id=person_id,
        tier=person.tier,
        region_id=person.region_id,
        # A department's or a centre's official is known by the office; a government's by its
        # tier and region (``Actor.office_id``).
        office_id=None if person.territorial else person.office_id,
    )
    return actor, person.office_id


async def _check_roster(db: Db, actor: Actor) -> None:
    found = await roster_actor(db, actor.id)
    if found is None:
        return
    listed, office = found
    if listed != actor:
        raise NotInRoster(
            f"the roster lists {actor.id} as {listed.role.value} of office {office} ({listed.tier} "
            f"{listed.region_id}), not as {actor.role.value} of {actor.tier} {actor.region_id}"
        )


async def revoke_unlisted_tokens(db: Db) -> list[PersonId]:
    """Revoke the live tokens of officials and contact cadres whom the current directory's roster no
    longer lists as the token has them (they left, or moved to another office or role); returns whose.
    Nothing while no directory is imported."""
    version = await lookup.current_version(db)
    if version is None:
        return []
    async with connection(db) as conn:
        rows = await conn.fetch(
            "UPDATE access_tokens t SET revoked_at = now()"
            " WHERE t.revoked_at IS NULL AND t.role IN ('official', 'contact_cadre') AND NOT EXISTS ("
            "  SELECT 1 FROM directory_people p"
            "  JOIN directory_offices o ON o.version = p.version AND o.office_id = p.office_id"
            "  WHERE p.version = $1 AND p.person_id = t.actor_id AND o.tier = t.tier"
            "  AND o.region_id = t.region_id"
            "  AND t.role = CASE p.role WHEN 'official' THEN 'official' ELSE 'contact_cadre' END)"
            " RETURNING t.actor_id",
            version,
        )
    return sorted({r["actor_id"] for r in rows})


def _new_secret() -> tuple[str, bytes]:
    secret = secrets.token_urlsafe(32)
    return secret, digest(secret)


def digest(secret: str) -> bytes:
    """How a token or key is stored and looked up: its sha256."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


async def issue_token(db: Db, actor: Actor, *, expires_at: datetime | None = None) -> str:
    """A new bearer token for ``actor``; the token is returned once and stored only as its hash.

    The token fixes the actor: whoever presents it acts as this role and id, and, for an official
    or contact cadre, at this tier in this region. A person may hold several tokens at once. Once a
    directory is imported, officials and contact cadres must be in its roster, exactly as it lists
    them (``roster_actor``); before, anyone may be named.

    Args:
        actor: an official or contact cadre (with tier and region) or an auditor.
        expires_at: after this moment the token is refused; None keeps it until revoked.

    Raises:
        ValueError: ``actor`` is a petitioner or the system, who hold no tokens.
        NotInRoster: a directory is imported and its roster does not list ``actor`` as it is.
    """
    if actor.role not in TOKEN_ROLES:
        raise ValueError(
            f"a {actor.role.value} cannot hold a token (only officials, contact cadres, auditors)"
        )
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone")
    if actor.role is not Role.AUDITOR:
        await _check_roster(db, actor)
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
    callback: bool = False
    """Its operators may record a petitioner's answer on a hotline callback (migration 017)."""
    centre_id: str | None = None
    """The centre its petitions are held by first, to be dispatched (``keys add --centre``)."""


async def issue_api_key(
    db: Db,
    name: ServiceName,
    *,
    tier: Tier = Tier.VILLAGE,
    callback: bool = False,
    centre_id: str | None = None,
) -> str:
    """A new API key for the service ``name``; returned once, stored only as its hash.

    A service may hold several keys at once, so a key can be rotated without downtime.

    Args:
        tier: the tier every petition filed with this key starts at (the village cadres' app at
            the village, the county hotline at the county); a filing cannot choose another.
        callback: its operators may record a petitioner's answer given on a hotline callback
            (回访); every key of the service should agree.
        centre_id: a centre of the directory (kind ``centre``): petitions filed with this key start
            in stage dispatch, held by it. Its tier must be ``tier``.
    """
    if not name or len(name) > 128:
        raise ValueError("a service name is 1 to 128 characters")
    key, digest = _new_secret()
    async with connection(db) as conn:
        await conn.execute(
            "INSERT INTO api_keys (key_hash, name, tier, callback, centre_id) VALUES ($1, $2, $3, $4, $5)",
            digest,
            name,
            tier.value,
            callback,
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
            "SELECT name, tier, callback, centre_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            digest(key),
        )
    if row is None:
        return None
    return ServiceKey(
        name=row["name"], tier=Tier(row["tier"]), callback=row["callback"], centre_id=row["centre_id"]
    )
