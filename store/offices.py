"""The offices the rules need, read from the current directory (``store/migrations/011_directory.sql``).

Doors call this before they ask the workflow: an office with its chain of supervisors goes into the
command (``DispatchInput``, ``SummonInput``) or the filing's ``Intake``, so the decider stays pure
and a replay sees the offices the first run saw. With no directory loaded (or a region it does not
name), a region's government is the territorial office ``<tier>:<region_id>`` and its chain is the
tier chain above it on the petition's path.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from schemas.common import RegionPath, Tier
from schemas.directory import OfficeId, OfficeKind
from schemas.offices import OfficeRef, territorial, territorial_chain, territorial_office_id
from store._db import Conn, Db, connection

MAX_CHAIN = 12
"""A supervisor chain longer than this is a loop in the directory; it is cut here."""

_CURRENT = "(SELECT max(version) FROM directory_versions)"
_COLUMNS = "office_id, kind, tier, region_id, name_zh, supervisor_id"


class UnknownOffice(LookupError):
    """No office of the current directory has this id."""

    def __init__(self, office_id: str) -> None:
        super().__init__(f"no office {office_id!r} in the directory")
        self.office_id = office_id


def _ref(row: asyncpg.Record) -> OfficeRef:
    return OfficeRef(
        office_id=row["office_id"],
        kind=OfficeKind(row["kind"]),
        tier=Tier(row["tier"]),
        region_id=row["region_id"],
        name=row["name_zh"],
    )


async def office(db: Db, office_id: OfficeId) -> tuple[OfficeRef, tuple[OfficeRef, ...]]:
    """The office ``office_id`` of the current directory and its supervisors, nearest first.

    Raises:
        UnknownOffice: no such office.
    """
    async with connection(db) as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM directory_offices WHERE version = {_CURRENT} AND office_id = $1",
            office_id,
        )
        if row is None:
            raise UnknownOffice(office_id)
        return _ref(row), await _chain(conn, row["supervisor_id"])


async def _chain(conn: Conn, supervisor_id: str | None) -> tuple[OfficeRef, ...]:
    chain: list[OfficeRef] = []
    seen: set[str] = set()
    while supervisor_id is not None and supervisor_id not in seen and len(chain) < MAX_CHAIN:
        seen.add(supervisor_id)
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM directory_offices WHERE version = {_CURRENT} AND office_id = $1",
            supervisor_id,
        )
        if row is None:
            break
        chain.append(_ref(row))
        supervisor_id = row["supervisor_id"]
    return tuple(chain)


async def territorial_office(
    db: Db, tier: Tier, region: RegionPath
) -> tuple[OfficeRef, tuple[OfficeRef, ...]]:
    """The government of ``region`` at ``tier`` and its supervisors: from the directory when it
    names that office, else the default ``<tier>:<region_id>`` and the tier chain above it."""
    region_id = region.at(tier)
    async with connection(db) as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM directory_offices WHERE version = {_CURRENT}"
            " AND kind = 'territorial' AND tier = $1 AND region_id = $2 ORDER BY office_id LIMIT 1",
            tier.value,
            region_id,
        )
        if row is None:
            return territorial(tier, region_id), territorial_chain(tier, region)
        return _ref(row), await _chain(conn, row["supervisor_id"])


async def resolve(db: Db, office_id: OfficeId, region: RegionPath) -> tuple[OfficeRef, tuple[OfficeRef, ...]]:
    """``office_id`` and its chain for a petition on ``region``'s path: from the directory, or, for
    a default territorial id (``<tier>:<region_id>``) on that path, the territorial default.

    Raises:
        UnknownOffice: neither.
    """
    try:
        return await office(db, office_id)
    except UnknownOffice:
        tier_name, _, region_id = office_id.partition(":")
        if tier_name in Tier.__members__.values() and region.at(Tier(tier_name)) == region_id:
            return await territorial_office(db, Tier(tier_name), region)
        raise


OFFICE_FIELDS: dict[str, tuple[str, str]] = {
    "dispatch": ("office_id", "office"),
    "summon": ("office_ids", "offices"),
}
"""Actions that name offices: the field a door takes (ids) and the command's field it resolves to."""


async def command_fields(
    db: Db, kind: str, fields: dict[str, object], region: RegionPath
) -> dict[str, object]:
    """The fields of the ``kind`` command with the office ids a caller gave resolved from the
    directory: ``dispatch``'s ``office_id`` to ``office`` and its ``chain``, ``summon``'s
    ``office_ids`` to ``offices``. Other commands' fields are returned as they are.

    Raises:
        UnknownOffice: an id is neither in the directory nor a territorial id on ``region``'s path.
    """
    if kind not in OFFICE_FIELDS:
        return fields
    given, wanted = OFFICE_FIELDS[kind]
    fields = dict(fields)
    ids = fields.pop(given, None)
    if kind == "dispatch":
        if isinstance(ids, str):
            fields["office"], fields["chain"] = await resolve(db, ids, region)
        return fields
    if isinstance(ids, str):
        ids = [i for i in ids.split(",") if i]
    if isinstance(ids, list | tuple):
        fields[wanted] = tuple([(await resolve(db, str(i), region))[0] for i in ids])
    return fields


@dataclass(frozen=True, slots=True)
class Listed:
    """An office of the current directory as the pages offer it: with both of its names."""

    office_id: OfficeId
    kind: OfficeKind
    tier: Tier
    region_id: str
    name_zh: str
    name_en: str


async def along(db: Db, region: RegionPath) -> list[Listed]:
    """The offices of the current directory serving ``region``'s own path at each tier (its
    village's committee, its township's government, its county's and city's governments,
    departments and centres), highest tier first. Empty with no directory loaded."""
    tiers = list(Tier)
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT office_id, kind, tier, region_id, name_zh, name_en FROM directory_offices"
            f" WHERE version = {_CURRENT} AND (tier, region_id) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))",
            [t.value for t in tiers],
            [region.at(t) for t in tiers],
        )
    found = [
        Listed(
            office_id=r["office_id"],
            kind=OfficeKind(r["kind"]),
            tier=Tier(r["tier"]),
            region_id=r["region_id"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
        )
        for r in rows
    ]
    kinds = {OfficeKind.TERRITORIAL: 0, OfficeKind.DEPARTMENT: 1, OfficeKind.CENTRE: 2}
    return sorted(found, key=lambda o: (-o.tier.rank, kinds[o.kind], o.office_id))


async def names(
    db: Db, office_ids: list[OfficeId] | None = None
) -> dict[OfficeId, tuple[str, str, OfficeKind]]:
    """The offices of the current directory (every one, or those of ``office_ids``): their Chinese
    and English names and their kind."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            f"SELECT office_id, name_zh, name_en, kind FROM directory_offices WHERE version = {_CURRENT}"
            " AND ($1::text[] IS NULL OR office_id = ANY($1::text[]))",
            office_ids,
        )
    return {r["office_id"]: (r["name_zh"], r["name_en"], OfficeKind(r["kind"])) for r in rows}


async def government_id(db: Db, tier: Tier, region_id: str) -> OfficeId:
    """The id of ``region_id``'s government at ``tier``: the directory's territorial office, else the
    default ``<tier>:<region_id>``."""
    async with connection(db) as conn:
        found: str | None = await conn.fetchval(
            f"SELECT office_id FROM directory_offices WHERE version = {_CURRENT}"
            " AND kind = 'territorial' AND tier = $1 AND region_id = $2 ORDER BY office_id LIMIT 1",
            tier.value,
            region_id,
        )
    return found or territorial_office_id(tier, region_id)
