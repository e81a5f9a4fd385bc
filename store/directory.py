"""The county's directory in PostgreSQL (migration 011): versioned full snapshots.

``import_version`` writes one validated snapshot as a new version with COPY in one transaction (the
households streamed, never all in memory); ``current_grid`` loads the current version's regions,
offices, people, duty cadres and successors for the doors; ``household`` looks one household up by
id; ``versions``, ``diff``, ``coverage`` and the ``export_*`` functions serve ``petitionflow
directory``. Validation (file and line of each problem) is the door's: ``petitionflow.directory``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from schemas.common import PersonId, RegionId, Tier
from schemas.directory import Household, Office, OfficeKind, Person, PersonRole, Region
from store._db import Db, connection

HouseholdRow = tuple[str, str, str | None, str | None]
"""``(household_id, village_id, cadre_id, phone)``, as the households file gives them."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A validated directory, except its households (streamed by ``import_version``)."""

    source: str
    regions: Sequence[Region]
    offices: Sequence[Office] = ()
    people: Sequence[Person] = ()
    duty: Sequence[tuple[RegionId, PersonId]] = ()
    """``(village_id, person_id)``: the cadre on duty for walk-ins."""
    successors: Sequence[tuple[RegionId, RegionId]] = ()
    """``(old_id, new_id)``."""


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: int
    imported_at: datetime
    source: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Grid:
    """The current directory without its households (look those up with :func:`household`)."""

    version: int
    regions: list[Region]
    offices: list[Office]
    people: list[Person]
    duty: dict[RegionId, PersonId]
    """Village id → the cadre on duty for walk-ins."""
    successors: dict[RegionId, RegionId]
    """Retired region id → the region that took it over."""

    def region(self, region_id: RegionId) -> Region | None:
        return next((r for r in self.regions if r.region_id == region_id), None)


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    """``regions``, ``offices`` or ``people``."""
    id: str
    change: str
    """``added``, ``removed`` or ``changed``."""
    fields: list[str] = field(default_factory=list)
    """For ``changed``: the columns that differ."""


@dataclass(frozen=True, slots=True)
class Diff:
    old: int
    new: int
    changes: list[Change]
    households: dict[str, int]
    """``added``, ``removed``, ``changed`` (village, cadre or phone), ``unchanged``: counts."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """The 双覆盖 figures of one region: counts only, no person named."""

    region_id: RegionId
    name_zh: str
    name_en: str
    households: int
    without_cadre: int
    cadres: int
    """Cadres of the offices in the region (its own and those below)."""
    cadres_without_households: int

    @property
    def households_per_cadre(self) -> float | None:
        """Households that have a contact cadre, per cadre of the region."""
        covered = self.households - self.without_cadre
        return None if self.cadres == 0 else round(covered / self.cadres, 1)


class VersionNotFound(LookupError):
    pass


class DuplicateHousehold(ValueError):
    """Two rows of the households file share an id (PostgreSQL's primary key found it)."""

    def __init__(self, household_id: str) -> None:
        self.household_id = household_id
        super().__init__(f"duplicate household id {household_id}")


_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "regions": ("directory_regions", ("region_id", "tier", "parent_id", "name_zh", "name_en", "boundary")),
    "offices": (
        "directory_offices",
        (
            "office_id",
            "kind",
            "tier",
            "region_id",
            "name_zh",
            "name_en",
            "supervisor_id",
            "phone",
            "email",
            "webhook",
        ),
    ),
    "people": ("directory_people", ("person_id", "name", "role", "office_id", "phone", "email", "webhook")),
    "duty": ("directory_duty", ("village_id", "person_id")),
    "successors": ("directory_successors", ("old_id", "new_id")),
}
_HOUSEHOLD_COLUMNS = ("version", "household_id", "village_id", "cadre_id", "phone")


async def import_version(
    db: Db,
    snapshot: Snapshot,
    households: Callable[[int], Iterable[tuple[int, str, str, str | None, str | None]]] | None = None,
    *,
    check: Callable[[], None] | None = None,
) -> VersionInfo:
    """Write ``snapshot`` as the next version, all of it or nothing.

    ``households(version)`` yields the household rows (with the version first) for COPY; ``check``
    runs after every COPY and before the commit: raising there (say, because the households it
    streamed had problems) leaves nothing behind. A duplicate household id raises asyncpg's
    ``UniqueViolationError``, its detail naming the id.
    """
    async with connection(db) as conn, conn.transaction():
        await conn.execute("LOCK TABLE directory_versions IN EXCLUSIVE MODE")
        version: int = await conn.fetchval("SELECT coalesce(max(version), 0) + 1 FROM directory_versions")
        await conn.execute(
            "INSERT INTO directory_versions (version, source) VALUES ($1, $2)", version, snapshot.source
        )
        rows: dict[str, list[tuple[Any, ...]]] = {
            "regions": [
                (r.region_id, r.tier.value, r.parent_id, r.name_zh, r.name_en, _json(r.boundary))
                for r in snapshot.regions
            ],
            "offices": [
                (
                    o.office_id,
                    o.kind.value,
                    o.tier.value,
                    o.region_id,
                    o.name_zh,
                    o.name_en,
                    o.supervisor_id,
                    o.phone,
                    o.email,
                    o.webhook,
                )
                for o in snapshot.offices
            ],
            "people": [
                (p.person_id, p.name, p.role.value, p.office_id, p.phone, p.email, p.webhook)
                for p in snapshot.people
            ],
            "duty": list(snapshot.duty),
            "successors": list(snapshot.successors),
        }
        counts: dict[str, int] = {}
        for kind, (table, columns) in _TABLES.items():
            await conn.copy_records_to_table(
                table, records=[(version, *row) for row in rows[kind]], columns=("version", *columns)
            )
            counts[kind] = len(rows[kind])
        counts["households"] = 0
        if households is not None:
            try:
                status = await conn.copy_records_to_table(
                    "directory_households", records=households(version), columns=_HOUSEHOLD_COLUMNS
                )
            except asyncpg.UniqueViolationError as error:
                # detail: Key (version, household_id)=(3, hh-1) already exists.
                found = re.search(r"=\(\d+, (.*)\) already exists", error.detail or "")
                raise DuplicateHousehold(found.group(1) if found else "?") from None
            counts["households"] = int(status.split()[-1])
        if check is not None:
            check()
        record = await conn.fetchrow(
            "UPDATE directory_versions SET counts = $2::jsonb WHERE version = $1 RETURNING imported_at",
            version,
            json.dumps(counts),
        )
        assert record is not None
        return VersionInfo(version, record["imported_at"], snapshot.source, counts)


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


async def versions(db: Db) -> list[VersionInfo]:
    """Every version, newest first."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT version, imported_at, source, counts FROM directory_versions ORDER BY version DESC"
        )
    return [VersionInfo(r["version"], r["imported_at"], r["source"], json.loads(r["counts"])) for r in rows]


async def prune(db: Db, *, keep: int) -> list[int]:
    """Delete every version but the newest ``keep`` (the current one always stays), with all its
    rows; the versions deleted, oldest first. Nothing else reads an earlier version: petitions keep
    the path and cadre they were filed or told of (``petitionflow.changes``), and version numbers are
    never given again (the next import is the highest ever plus one)."""
    if keep < 1:
        raise ValueError("keep at least the current version (keep >= 1)")
    async with connection(db) as conn, conn.transaction():
        rows = await conn.fetch(
            "DELETE FROM directory_versions WHERE version NOT IN"
            " (SELECT version FROM directory_versions ORDER BY version DESC LIMIT $1) RETURNING version",
            keep,
        )
    return sorted(r["version"] for r in rows)


async def _version(conn: Any, version: int | None) -> int:
    if version is None:
        found = await conn.fetchval("SELECT max(version) FROM directory_versions")
        if found is None:
            raise VersionNotFound("the directory is empty: nothing has been imported")
        return int(found)
    if not await conn.fetchval("SELECT true FROM directory_versions WHERE version = $1", version):
        raise VersionNotFound(f"there is no directory version {version}")
    return version


async def load_grid(db: Db, version: int | None = None) -> Grid:
    """A version (default: the current one) without its households; ``VersionNotFound`` if none."""
    async with connection(db) as conn:
        version = await _version(conn, version)
        regions = await conn.fetch(
            "SELECT region_id, tier, parent_id, name_zh, name_en, boundary FROM directory_regions"
            " WHERE version = $1 ORDER BY region_id",
            version,
        )
        offices = await conn.fetch(
            "SELECT office_id, kind, tier, region_id, name_zh, name_en, supervisor_id, phone, email, webhook"
            " FROM directory_offices WHERE version = $1 ORDER BY office_id",
            version,
        )
        people = await conn.fetch(
            "SELECT person_id, name, role, office_id, phone, email, webhook FROM directory_people"
            " WHERE version = $1 ORDER BY person_id",
            version,
        )
        duty = await conn.fetch(
            "SELECT village_id, person_id FROM directory_duty WHERE version = $1", version
        )
        successors = await conn.fetch(
            "SELECT old_id, new_id FROM directory_successors WHERE version = $1", version
        )
    return Grid(
        version=version,
        regions=[
            Region(
                region_id=r["region_id"],
                tier=Tier(r["tier"]),
                parent_id=r["parent_id"],
                name_zh=r["name_zh"],
                name_en=r["name_en"],
                boundary=None if r["boundary"] is None else json.loads(r["boundary"]),
            )
            for r in regions
        ],
        offices=[
            Office(
                office_id=o["office_id"],
                kind=OfficeKind(o["kind"]),
                tier=Tier(o["tier"]),
                region_id=o["region_id"],
                name_zh=o["name_zh"],
                name_en=o["name_en"],
                supervisor_id=o["supervisor_id"],
                phone=o["phone"],
                email=o["email"],
                webhook=o["webhook"],
            )
            for o in offices
        ],
        people=[
            Person(
                person_id=p["person_id"],
                name=p["name"],
                role=PersonRole(p["role"]),
                office_id=p["office_id"],
                phone=p["phone"],
                email=p["email"],
                webhook=p["webhook"],
            )
            for p in people
        ],
        duty={d["village_id"]: d["person_id"] for d in duty},
        successors={s["old_id"]: s["new_id"] for s in successors},
    )


async def current_grid(db: Db) -> Grid | None:
    """The current directory (regions with boundaries, offices, people, duty cadres, successors),
    or ``None`` when nothing has been imported."""
    try:
        return await load_grid(db)
    except VersionNotFound:
        return None


async def household(db: Db, household_id: str, *, version: int | None = None) -> Household | None:
    """One household of a version (default: the current one), by id; ``None`` if it is not there."""
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "SELECT household_id, village_id, cadre_id, phone FROM directory_households"
            " WHERE version = coalesce($1, (SELECT max(version) FROM directory_versions))"
            " AND household_id = $2",
            version,
            household_id,
        )
    return None if row is None else Household(**dict(row))


async def export_households(db: Db, version: int, path: Path) -> int:
    """Write a version's households as the households CSV (with its header); return the count."""
    async with connection(db) as conn:
        status = await conn.copy_from_query(
            "SELECT household_id, village_id, cadre_id, phone FROM directory_households"
            " WHERE version = $1 ORDER BY household_id",
            version,
            output=path,
            format="csv",
            header=True,
            encoding="UTF8",
        )
    return int(status.split()[-1])


async def diff(db: Db, old: int, new: int) -> Diff:
    """What changed from version ``old`` to version ``new``."""
    changes: list[Change] = []
    async with connection(db) as conn:
        for v in (old, new):
            await _version(conn, v)
        for kind in ("regions", "offices", "people"):
            table, columns = _TABLES[kind]
            key, rest = columns[0], columns[1:]
            differs = ", ".join(f"CASE WHEN a.{c} IS DISTINCT FROM b.{c} THEN '{c}' END" for c in rest)
            rows = await conn.fetch(
                f"SELECT coalesce(a.{key}, b.{key}) AS id,"
                f" a.{key} IS NULL AS added, b.{key} IS NULL AS removed,"
                f" array_remove(ARRAY[{differs}], NULL) AS fields"
                f" FROM (SELECT * FROM {table} WHERE version = $1) a"
                f" FULL JOIN (SELECT * FROM {table} WHERE version = $2) b ON a.{key} = b.{key}"
                f" WHERE a.{key} IS NULL OR b.{key} IS NULL"
                f" OR ({', '.join('a.' + c for c in rest)})"
                f" IS DISTINCT FROM ({', '.join('b.' + c for c in rest)})"
                f" ORDER BY 1",
                old,
                new,
            )
            for r in rows:
                if r["added"]:
                    changes.append(Change(kind, r["id"], "added"))
                elif r["removed"]:
                    changes.append(Change(kind, r["id"], "removed"))
                else:
                    changes.append(Change(kind, r["id"], "changed", list(r["fields"])))
        counted = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE a.household_id IS NULL) AS added,"
            " count(*) FILTER (WHERE b.household_id IS NULL) AS removed,"
            " count(*) FILTER (WHERE a.household_id IS NOT NULL AND b.household_id IS NOT NULL"
            "   AND (a.village_id, a.cadre_id, a.phone) IS DISTINCT FROM (b.village_id, b.cadre_id, b.phone))"
            "   AS changed,"
            " count(*) FILTER (WHERE (a.village_id, a.cadre_id, a.phone)"
            "   IS NOT DISTINCT FROM (b.village_id, b.cadre_id, b.phone) AND a.household_id IS NOT NULL"
            "   AND b.household_id IS NOT NULL) AS unchanged"
            " FROM (SELECT * FROM directory_households WHERE version = $1) a"
            " FULL JOIN (SELECT * FROM directory_households WHERE version = $2) b"
            " ON a.household_id = b.household_id",
            old,
            new,
        )
    assert counted is not None
    return Diff(old, new, changes, {k: int(counted[k]) for k in ("added", "removed", "changed", "unchanged")})


_COVERAGE = """
WITH RECURSIVE up (region_id, ancestor_id, ancestor_tier) AS (
    SELECT region_id, region_id, tier FROM directory_regions WHERE version = $1
    UNION ALL
    SELECT up.region_id, p.region_id, p.tier
    FROM up
    JOIN directory_regions r ON r.version = $1 AND r.region_id = up.ancestor_id
    JOIN directory_regions p ON p.version = $1 AND p.region_id = r.parent_id
),
area AS (SELECT region_id, ancestor_id FROM up WHERE ancestor_tier = $2),
hh AS (
    SELECT a.ancestor_id AS area, count(*) AS households, count(*) FILTER (WHERE h.cadre_id IS NULL) AS bare
    FROM directory_households h JOIN area a ON a.region_id = h.village_id
    WHERE h.version = $1
    GROUP BY a.ancestor_id
),
cadres AS (
    SELECT a.ancestor_id AS area, count(*) AS cadres,
           count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM directory_households h WHERE h.version = $1 AND h.cadre_id = p.person_id
           )) AS idle
    FROM directory_people p
    JOIN directory_offices o ON o.version = $1 AND o.office_id = p.office_id
    JOIN area a ON a.region_id = o.region_id
    WHERE p.version = $1 AND p.role = 'cadre'
    GROUP BY a.ancestor_id
)
SELECT r.region_id, r.name_zh, r.name_en,
       coalesce(hh.households, 0) AS households, coalesce(hh.bare, 0) AS without_cadre,
       coalesce(cadres.cadres, 0) AS cadres, coalesce(cadres.idle, 0) AS idle
FROM directory_regions r
LEFT JOIN hh ON hh.area = r.region_id
LEFT JOIN cadres ON cadres.area = r.region_id
WHERE r.version = $1 AND r.tier = $2
ORDER BY r.region_id
"""


async def coverage(db: Db, by: Tier, *, version: int | None = None) -> tuple[int, list[Coverage]]:
    """The coverage figures of every region of tier ``by`` (default version: the current one)."""
    async with connection(db) as conn:
        version = await _version(conn, version)
        rows = await conn.fetch(_COVERAGE, version, by.value)
    return version, [
        Coverage(
            region_id=r["region_id"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            households=r["households"],
            without_cadre=r["without_cadre"],
            cadres=r["cadres"],
            cadres_without_households=r["idle"],
        )
        for r in rows
    ]
