"""Officials signing in to the web pages: who the roster says they are, one-time codes, sessions.

A code is 6 random digits, kept only as a hash, good for ``CODE_TTL`` and for one successful use,
and dead after ``MAX_ATTEMPTS`` wrong guesses; asking for a new one voids the old. It reaches the
person through the notifications outbox (kind ``sign_in_code``), like every other message. A session
is a random 256-bit secret in an HttpOnly cookie, stored as its sha256 with the actor it fixes and
its CSRF token.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from schemas.common import Actor, Role, Tier
from store._db import Db, connection
from store.auth import digest

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SIGN_IN_CODE = "sign_in_code"
"""The ``kind`` of the outbox row that carries a code; its ``petition_id`` is ``SIGN_IN_OUTBOX``."""
SIGN_IN_OUTBOX = "-sign-in-"
"""No petition: a sign-in code's outbox row names this instead (``seq`` is the code's id)."""

_NOT_DIGITS = re.compile(r"[^0-9]")


@dataclass(frozen=True, slots=True)
class RosterPerson:
    """A person of the current directory's roster, with the office that fixes their tier and region."""

    person_id: str
    name: str
    role: str
    """``cadre`` or ``official``, as the roster says."""
    tier: Tier
    region_id: str
    via: str
    """``phone`` or ``email``: what the person signed in with, and so where the code goes."""
    office_id: str | None = None
    """The department or centre the person serves (``Actor.office_id``); None: a government."""

    @property
    def actor(self) -> Actor:
        """A village cadre acts as the contact cadre of their village; an official as an official."""
        role = Role.CONTACT_CADRE if self.role == "cadre" else Role.OFFICIAL
        return Actor(
            role=role, id=self.person_id, tier=self.tier, region_id=self.region_id, office_id=self.office_id
        )


def _phone_digits(phone: str) -> str:
    """Digits only, without China's country code: ``+86 139-0000-0042`` and ``13900000042`` match."""
    digits = _NOT_DIGITS.sub("", phone)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


_FIND = """
SELECT p.person_id, p.name, p.role, o.tier, o.region_id, o.office_id, o.kind
FROM directory_people p
JOIN directory_offices o ON o.version = p.version AND o.office_id = p.office_id
WHERE p.version = (SELECT max(version) FROM directory_versions)
  AND {match}
ORDER BY p.person_id
LIMIT 2
"""


async def find_person(db: Db, login: str) -> RosterPerson | None:
    """The one person of the current roster whose phone or email is ``login``; None if none or two."""
    login = login.strip()
    if "@" in login:
        via, sql, value = "email", _FIND.format(match="lower(p.email) = lower($1)"), login
    else:
        digits = _phone_digits(login)
        if len(digits) < 5:
            return None
        via = "phone"
        sql = _FIND.format(
            match="p.phone IS NOT NULL"
            " AND right(regexp_replace(p.phone, '[^0-9]', '', 'g'), 11) = right($1, 11)"
        )
        value = digits
    async with connection(db) as conn:
        rows = await conn.fetch(sql, value)
    if len(rows) != 1:
        return None
    r = rows[0]
    office_id = None if r["kind"] == "territorial" else r["office_id"]
    return RosterPerson(r["person_id"], r["name"], r["role"], Tier(r["tier"]), r["region_id"], via, office_id)


def _code_hash(person_id: str, code: str) -> bytes:
    return digest(f"{person_id}:{code}")


async def issue_code(db: Db, person: RosterPerson, *, ttl: timedelta = CODE_TTL) -> int:
    """A new code for ``person``, written to the outbox for delivery; older codes are voided.

    Returns the code's id (the outbox row's ``seq``). The code itself is only in the outbox row.
    """
    code = f"{secrets.randbelow(1_000_000):06d}"
    async with connection(db) as conn, conn.transaction():
        await conn.execute(
            "UPDATE sign_in_codes SET used_at = now() WHERE person_id = $1 AND used_at IS NULL",
            person.person_id,
        )
        code_id: int = await conn.fetchval(
            "INSERT INTO sign_in_codes (person_id, code_hash, expires_at)"
            " VALUES ($1, $2, now() + $3::interval) RETURNING id",
            person.person_id,
            _code_hash(person.person_id, code),
            ttl,
        )
        await conn.execute(
            "INSERT INTO notifications (petition_id, seq, recipient_role, recipient_id, kind, payload)"
            " VALUES ($1, $2, 'official', $3, $4, $5::jsonb)",
            SIGN_IN_OUTBOX,
            code_id,
            person.person_id,
            SIGN_IN_CODE,
            _json({"code": code, "via": person.via, "ttl_minutes": int(ttl.total_seconds() // 60)}),
        )
    return code_id


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


async def use_code(db: Db, person_id: str, code: str) -> bool:
    """Whether ``code`` is ``person_id``'s live code; a right one is used up, a wrong one counted."""
    async with connection(db) as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, code_hash, attempts FROM sign_in_codes"
            " WHERE person_id = $1 AND used_at IS NULL AND expires_at > now()"
            " ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
            person_id,
        )
        if row is None or row["attempts"] >= MAX_ATTEMPTS:
            return False
        if hmac.compare_digest(row["code_hash"], _code_hash(person_id, code.strip())):
            await conn.execute("UPDATE sign_in_codes SET used_at = now() WHERE id = $1", row["id"])
            return True
        await conn.execute("UPDATE sign_in_codes SET attempts = attempts + 1 WHERE id = $1", row["id"])
        return False


@dataclass(frozen=True, slots=True)
class Session:
    actor: Actor
    csrf_token: str
    expires_at: datetime


async def open_session(db: Db, actor: Actor, *, ttl: timedelta) -> tuple[str, Session]:
    """A new session for ``actor``: the cookie's secret (returned once) and what it stands for."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    async with connection(db) as conn:
        expires_at: datetime = await conn.fetchval(
            "INSERT INTO web_sessions"
            " (session_hash, actor_id, role, tier, region_id, office_id, csrf_token, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8::interval) RETURNING expires_at",
            digest(secret),
            actor.id,
            actor.role.value,
            None if actor.tier is None else actor.tier.value,
            actor.region_id,
            actor.office_id,
            csrf,
            ttl,
        )
    return secret, Session(actor, csrf, expires_at)


async def session(db: Db, secret: str) -> Session | None:
    """The live session whose cookie holds ``secret``, or None (unknown, signed out, expired)."""
    if not secret:
        return None
    async with connection(db) as conn:
        row = await conn.fetchrow(_SESSION, digest(secret))
    return None if row is None else _session(row)


_SESSION = """
SELECT s.actor_id, s.role, s.tier, s.region_id, s.office_id, s.csrf_token, s.expires_at,
       (SELECT max(version) FROM directory_versions) AS directory,
       p.person_id AS listed, o.office_id AS roster_office, o.kind, o.tier AS office_tier,
       o.region_id AS office_region
FROM web_sessions s
LEFT JOIN directory_people p
       ON p.version = (SELECT max(version) FROM directory_versions) AND p.person_id = s.actor_id
LEFT JOIN directory_offices o ON o.version = p.version AND o.office_id = p.office_id
WHERE s.session_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
"""
"""A session, beside what the current roster says of its person."""

_ROSTERED = (Role.OFFICIAL.value, Role.CONTACT_CADRE.value)
"""The roles the roster lists (auditors and services are not people of the grid)."""


def _session(row: asyncpg.Record) -> Session | None:
    """The session's actor, as fixed at sign-in (tier, region and office), while the current roster
    still agrees: a person the roster no longer lists, or lists at another office, tier or region,
    gets None and signs in again. Without a directory, the session stands as it was opened."""
    if row["role"] in _ROSTERED and row["directory"] is not None:
        if row["listed"] is None:
            return None  # left the roster (or was never in it): not the government by default
        roster_office = row["roster_office"] if row["kind"] in ("department", "centre") else None
        moved = (row["office_tier"], row["office_region"]) != (row["tier"], row["region_id"])
        if moved or roster_office != row["office_id"]:
            return None
    actor = Actor(
        role=Role(row["role"]),
        id=row["actor_id"],
        tier=None if row["tier"] is None else Tier(row["tier"]),
        region_id=row["region_id"],
        office_id=row["office_id"],
    )
    return Session(actor, row["csrf_token"], row["expires_at"])


async def close_session(db: Db, secret: str) -> bool:
    """Sign out: the session is revoked at once. False when there was none."""
    async with connection(db) as conn:
        done = await conn.fetchval(
            "UPDATE web_sessions SET revoked_at = now() WHERE session_hash = $1 AND revoked_at IS NULL"
            " RETURNING true",
            digest(secret),
        )
    return bool(done)
