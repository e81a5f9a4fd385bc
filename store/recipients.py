"""Who a notification goes to, and where: read from the current directory (migration 011).

The outbox addresses roles (``store.models.RecipientRole``): an office as ``<tier>:<region_id>``,
an official or a contact cadre by person id, a petitioner by household id. These queries turn them
into addresses from the highest directory version: an office's phone, email and webhook (and its
supervisor's, for a missed deadline), a person's, a household's phone (else the phone the petitioner
gave when filing). Only the addresses leave here; names stay in the directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from store._db import Db, connection
from store.models import RecipientRole

_CURRENT = "(SELECT max(version) FROM directory_versions)"


@dataclass(frozen=True, slots=True)
class Address:
    """Where one recipient can be reached; any may be missing."""

    phone: str | None = None
    email: str | None = None
    webhook: str | None = None
    office_id: str | None = None
    """For an office: its id in the directory."""
    supervisor: Address | None = None
    """For an office: the office that supervises it (a missed deadline is told there too)."""


Key = tuple[RecipientRole, str]


async def resolve(db: Db, recipients: Iterable[Key]) -> dict[Key, Address]:
    """The addresses of these recipients; one unknown to the directory is left out."""
    wanted = set(recipients)
    offices = [rid for role, rid in wanted if role is RecipientRole.TIER_OFFICE]
    people = [rid for role, rid in wanted if role in (RecipientRole.OFFICIAL, RecipientRole.CONTACT_CADRE)]
    households = [rid for role, rid in wanted if role is RecipientRole.PETITIONER]
    found: dict[Key, Address] = {}
    async with connection(db) as conn:
        pairs = [o.split(":", 1) for o in offices if ":" in o]
        if pairs:
            rows = await conn.fetch(
                "SELECT DISTINCT ON (o.tier, o.region_id) o.tier, o.region_id, o.office_id,"
                " o.phone, o.email, o.webhook,"
                " s.office_id AS s_office_id, s.phone AS s_phone, s.email AS s_email, s.webhook AS s_webhook"
                f" FROM directory_offices o LEFT JOIN directory_offices s"
                " ON s.version = o.version AND s.office_id = o.supervisor_id"
                f" JOIN unnest($1::text[], $2::text[]) AS k(tier, region_id)"
                " ON o.tier = k.tier AND o.region_id = k.region_id"
                f" WHERE o.version = {_CURRENT}"
                " ORDER BY o.tier, o.region_id, (o.kind = 'territorial') DESC, o.office_id",
                [p[0] for p in pairs],
                [p[1] for p in pairs],
            )
            for r in rows:
                supervisor = None
                if r["s_office_id"] is not None:
                    supervisor = Address(r["s_phone"], r["s_email"], r["s_webhook"], r["s_office_id"])
                found[(RecipientRole.TIER_OFFICE, f"{r['tier']}:{r['region_id']}")] = Address(
                    r["phone"], r["email"], r["webhook"], r["office_id"], supervisor
                )
        if people:
            rows = await conn.fetch(
                "SELECT person_id, phone, email, webhook FROM directory_people"
                f" WHERE version = {_CURRENT} AND person_id = any($1::text[])",
                people,
            )
            by_id = {r["person_id"]: Address(r["phone"], r["email"], r["webhook"]) for r in rows}
            for role, rid in wanted:
                if role in (RecipientRole.OFFICIAL, RecipientRole.CONTACT_CADRE) and rid in by_id:
                    found[(role, rid)] = by_id[rid]
        if households:
            rows = await conn.fetch(
                "SELECT k.id, coalesce(h.phone, p.phone) AS phone FROM unnest($1::text[]) AS k(id)"
                f" LEFT JOIN directory_households h ON h.version = {_CURRENT} AND h.household_id = k.id"
                " LEFT JOIN petitioners p ON p.petitioner_id = k.id",
                households,
            )
            for r in rows:
                if r["phone"] is not None:
                    found[(RecipientRole.PETITIONER, r["id"])] = Address(phone=r["phone"])
    return found
