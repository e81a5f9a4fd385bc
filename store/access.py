"""Access: the log of reads of personal fields, petitioners' reply codes, and who owns a petition.

The access log holds who read a petition's own text or its petitioner's contact, when, and which
fields; it never holds the fields themselves. Reply codes, and the phones their SMS went to, are
stored as HMACs computed by the caller (``petitionflow.proofs``), never in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from schemas.commands import PetitionerContact
from schemas.common import Actor, PersonId, PetitionId
from store._db import Db, connection
from store.auth import ServiceName


class AccessRead(BaseModel):
    """One read of personal fields of one petition."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    reader_role: str
    """official, contact_cadre, auditor, petitioner, or service."""
    reader_id: str
    reader_tier: str | None
    reader_region: str | None
    service: str | None
    """The service that read (or relayed the reader's request)."""
    petition_id: PetitionId
    fields: list[str]
    route: str
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads: a token's holder, a service, or both (a petitioner's link relayed by a service)."""

    actor: Actor | None = None
    service: ServiceName | None = None

    def columns(self) -> tuple[str, str, str | None, str | None, str | None]:
        if self.actor is None:
            assert self.service is not None
            return ("service", self.service, None, None, self.service)
        tier = None if self.actor.tier is None else self.actor.tier.value
        return (self.actor.role.value, self.actor.id, tier, self.actor.region_id, self.service)


async def record_reads(
    db: Db,
    reader: Reader,
    reads: Sequence[tuple[PetitionId, Sequence[str]]],
    *,
    route: str,
    request_id: str | None = None,
) -> None:
    """Log that ``reader`` was given ``fields`` of each petition of ``reads`` (one statement)."""
    reads = [(p, f) for p, f in reads if f]
    if not reads:
        return
    role, reader_id, tier, region, service = reader.columns()
    async with connection(db) as conn:
        await conn.execute(
            "INSERT INTO access_log (reader_role, reader_id, reader_tier, reader_region, service,"
            " petition_id, fields, route, request_id)"
            " SELECT $1, $2, $3, $4, $5, p, string_to_array(f, ','), $8, $9"
            " FROM unnest($6::text[], $7::text[]) AS t(p, f)",
            role,
            reader_id,
            tier,
            region,
            service,
            [p for p, _ in reads],
            [",".join(f) for _, f in reads],
            route,
            request_id,
        )


async def list_reads(
    db: Db, *, petition_id: PetitionId | None = None, after: int | None = None, limit: int = 1000
) -> list[AccessRead]:
    """Access-log rows in the order they were written, ``limit`` at a time after the id ``after``."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT id, at, reader_role, reader_id, reader_tier, reader_region, service, petition_id,"
            " fields, route, request_id FROM access_log"
            " WHERE ($1::text IS NULL OR petition_id = $1) AND ($2::bigint IS NULL OR id > $2)"
            " ORDER BY id LIMIT $3",
            petition_id,
            after,
            limit,
        )
    return [AccessRead.model_validate(dict(r)) for r in rows]


async def owner(db: Db, petition_id: PetitionId) -> ServiceName | None:
    """The service that filed ``petition_id``; None when none is recorded (or it was never filed)."""
    async with connection(db) as conn:
        found: str | None = await conn.fetchval(
            "SELECT service FROM petition_ids WHERE petition_id = $1", petition_id
        )
    return found


async def contact(db: Db, petitioner_id: PersonId) -> PetitionerContact | None:
    """The petitioner's stored contact (name, phone, address), or None."""
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "SELECT petitioner_id, name, phone, address FROM petitioners WHERE petitioner_id = $1",
            petitioner_id,
        )
    return None if row is None else PetitionerContact.model_validate(dict(row))


_SAME = "coalesce(r.message_key = EXCLUDED.message_key AND r.code_hash = EXCLUDED.code_hash, false)"
"""The stored row is the same code for the same message (a retried send); never for no message."""


async def put_reply_code(
    db: Db,
    petition_id: PetitionId,
    petitioner_id: PersonId,
    code_hash: bytes,
    *,
    expires_at: datetime,
    message_key: str | None = None,
    message_seq: int | None = None,
    sent_to: bytes | None = None,
) -> bool:
    """Make ``code_hash`` the petition's outstanding reply code, replacing any earlier one, for the
    message ``message_key`` (about the event ``message_seq``) sent to the phone whose HMAC is
    ``sent_to``; False, changing nothing, when the stored code is a later event's message.

    The same code for the same message again (a retried send) replaces nothing: the row keeps its
    issue, its expiry and whether it was spent, and only gains ``sent_to`` among its numbers."""
    async with connection(db) as conn:
        stored = await conn.fetchval(
            "INSERT INTO reply_codes AS r"
            " (petition_id, petitioner_id, code_hash, expires_at, message_key, sent_to, message_seq)"
            " VALUES ($1, $2, $3, $4, $5,"
            " CASE WHEN $6::bytea IS NULL THEN '{}'::bytea[] ELSE ARRAY[$6::bytea] END, $7)"
            " ON CONFLICT (petition_id) DO UPDATE SET"
            f" petitioner_id = CASE WHEN {_SAME} THEN r.petitioner_id ELSE EXCLUDED.petitioner_id END,"
            f" issued_at = CASE WHEN {_SAME} THEN r.issued_at ELSE now() END,"
            f" expires_at = CASE WHEN {_SAME} THEN r.expires_at ELSE EXCLUDED.expires_at END,"
            f" used_at = CASE WHEN {_SAME} THEN r.used_at END,"
            f" sent_to = CASE WHEN NOT {_SAME} THEN EXCLUDED.sent_to"
            "  WHEN r.sent_to @> EXCLUDED.sent_to THEN r.sent_to ELSE r.sent_to || EXCLUDED.sent_to END,"
            " code_hash = EXCLUDED.code_hash, message_key = EXCLUDED.message_key,"
            " message_seq = EXCLUDED.message_seq"
            " WHERE r.message_seq IS NULL OR EXCLUDED.message_seq IS NULL"
            " OR EXCLUDED.message_seq >= r.message_seq"
            " RETURNING true",
            petition_id,
            petitioner_id,
            code_hash,
            expires_at,
            message_key,
            sent_to,
            message_seq,
        )
    return bool(stored)


@dataclass(frozen=True, slots=True)
class Outstanding:
    petition_id: PetitionId
    petitioner_id: PersonId
    code_hash: bytes


async def outstanding_codes(db: Db, phone_digits: str, phone_hash: bytes) -> list[Outstanding]:
    """The unspent, unexpired reply codes a reply from a phone may answer: those sent to the number
    whose HMAC is ``phone_hash``, and those of petitions whose petitioner's phone on record ends in
    ``phone_digits`` (digits only: the national number, without a country code)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT r.petition_id, r.petitioner_id, r.code_hash FROM reply_codes r"
            " LEFT JOIN petitioners p USING (petitioner_id)"
            " WHERE r.used_at IS NULL AND r.expires_at > now() AND (r.sent_to @> ARRAY[$2::bytea]"
            " OR (p.phone IS NOT NULL"
            " AND right(regexp_replace(p.phone, '[^0-9]', '', 'g'), length($1)) = $1))",
            phone_digits,
            phone_hash,
        )
    return [Outstanding(r["petition_id"], r["petitioner_id"], bytes(r["code_hash"])) for r in rows]


async def spend_reply_code(db: Db, petition_id: PetitionId, code_hash: bytes) -> bool:
    """Mark the petition's outstanding code used; False when it was spent or replaced meanwhile."""
    async with connection(db) as conn:
        spent = await conn.fetchval(
            "UPDATE reply_codes SET used_at = now()"
            " WHERE petition_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING true",
            petition_id,
            code_hash,
        )
    return bool(spent)
