"""Small look-ups in the current directory (migration 011): where a household sits and who its
contact cadre is, a village's duty cadre, a person of the roster with their office, the successor map.

Each answers from one version, the current one (the highest imported) unless ``version`` is given:
``current_version`` is None while no directory was ever imported, and the doors then keep their
behaviour from before the directory (the caller's path, ``petitionflow/regions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.common import PersonId, RegionId, RegionPath, Tier
from schemas.directory import PersonRole
from store._db import Db, connection

_PATH = """
    SELECT v.region_id AS village, t.region_id AS township, c.region_id AS county, x.region_id AS city
    FROM directory_regions v
    JOIN directory_regions t ON t.version = v.version AND t.region_id = v.parent_id AND t.tier = 'township'
    JOIN directory_regions c ON c.version = v.version AND c.region_id = t.parent_id AND c.tier = 'county'
    JOIN directory_regions x ON x.version = v.version AND x.region_id = c.parent_id AND x.tier = 'city'
    WHERE v.version = $1 AND v.region_id = $2 AND v.tier = 'village'
"""


@dataclass(frozen=True, slots=True)
class HouseholdPlace:
    """A household as the directory has it: its village's full path and its contact cadre."""

    household_id: str
    path: RegionPath
    cadre_id: PersonId | None
    """None: not yet covered by a cadre (the village's duty cadre stands in)."""


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A person of the roster, with the tier and region of their office."""

    person_id: PersonId
    role: PersonRole
    office_id: str
    territorial: bool
    """The office is a region's government (not a department or a centre)."""
    tier: Tier
    region_id: RegionId


async def current_version(db: Db) -> int | None:
    """The current directory version, or None when none was ever imported."""
    async with connection(db) as conn:
        found: int | None = await conn.fetchval("SELECT max(version) FROM directory_versions")
    return found


async def village_path(db: Db, village_id: RegionId, *, version: int) -> RegionPath | None:
    """The path village → city of ``village_id`` in ``version``; None if it is not a village there."""
    async with connection(db) as conn:
        row = await conn.fetchrow(_PATH, version, village_id)
    return None if row is None else RegionPath(**dict(row))


async def household(db: Db, household_id: str, *, version: int) -> HouseholdPlace | None:
    """Where ``household_id`` lives and who its contact cadre is; None if the directory lacks it."""
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "SELECT village_id, cadre_id FROM directory_households WHERE version = $1 AND household_id = $2",
            version,
            household_id,
        )
        if row is None:
            return None
        path = await conn.fetchrow(_PATH, version, row["village_id"])
    if path is None:  # an import validates this away; a hand-edited table might not
        return None
    return HouseholdPlace(household_id=household_id, path=RegionPath(**dict(path)), cadre_id=row["cadre_id"])


async def duty_cadre(db: Db, village_id: RegionId, *, version: int) -> PersonId | None:
    """The cadre on duty for walk-ins at ``village_id``, or None."""
    async with connection(db) as conn:
        found: str | None = await conn.fetchval(
            "SELECT person_id FROM directory_duty WHERE version = $1 AND village_id = $2", version, village_id
        )
    return found


async def roster_person(db: Db, person_id: PersonId, *, version: int) -> RosterEntry | None:
    """``person_id`` in the roster of ``version`` with their office's tier and region, or None."""
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "SELECT p.person_id, p.role, p.office_id, o.kind, o.tier, o.region_id"
            " FROM directory_people p"
            " JOIN directory_offices o ON o.version = p.version AND o.office_id = p.office_id"
            " WHERE p.version = $1 AND p.person_id = $2",
            version,
            person_id,
        )
    if row is None:
        return None
    return RosterEntry(
        person_id=row["person_id"],
        role=PersonRole(row["role"]),
        office_id=row["office_id"],
        territorial=row["kind"] == "territorial",
        tier=Tier(row["tier"]),
        region_id=row["region_id"],
    )


async def successors(db: Db, *, version: int) -> dict[RegionId, RegionId]:
    """The retired region ids of ``version`` and the regions that took them over."""
    async with connection(db) as conn:
        rows = await conn.fetch("SELECT old_id, new_id FROM directory_successors WHERE version = $1", version)
    return {r["old_id"]: r["new_id"] for r in rows}


@dataclass(frozen=True, slots=True)
class OpenPetition:
    """An open petition as the read model has it: what a directory change may alter."""

    petition_id: str
    petitioner_id: str
    contact_cadre_id: PersonId
    answering: RegionPath
    """The path answering for it: the filed one, or its successor after a ``RegionRenamed``."""


async def open_petitions(db: Db) -> list[OpenPetition]:
    """Every petition whose record is not finished, in id order (from the ``petitions`` read model)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT petition_id, state->>'petitioner_id' AS petitioner_id, contact_cadre_id,"
            " village_id, township_id, county_id, city_id, state->'answering' AS answering"
            " FROM petitions WHERE NOT finished ORDER BY petition_id"
        )
    found = []
    for r in rows:
        answering = r["answering"]
        path = (
            RegionPath.model_validate_json(answering)
            if answering is not None and answering != "null"
            else RegionPath(
                village=r["village_id"], township=r["township_id"], county=r["county_id"], city=r["city_id"]
            )
        )
        found.append(
            OpenPetition(
                petition_id=r["petition_id"],
                petitioner_id=r["petitioner_id"],
                contact_cadre_id=r["contact_cadre_id"],
                answering=path,
            )
        )
    return found
