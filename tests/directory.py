"""A small directory written straight into migration 011's tables (the import is another module's):
two villages of Xiazhuang township, their offices, cadres, officials and households."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

CITY, COUNTY, TOWNSHIP = "x-linyi", "c-yishui", "t-xiazhuang"
DONGSHAN, XISHAN, NANHU = "v-dongshan", "v-xishan", "v-nanhu"


@dataclass
class Directory:
    """One version's rows. The defaults: households hh-0042 (Dongshan, cadre-zhang) and hh-0099
    (Xishan, no cadre of its own); duty cadres cadre-zhang and cadre-li; officials li-village
    (Dongshan's committee) and wu-township (the township government)."""

    villages: dict[str, str] = field(default_factory=lambda: {DONGSHAN: TOWNSHIP, XISHAN: TOWNSHIP})
    households: dict[str, tuple[str, str | None]] = field(
        default_factory=lambda: {"hh-0042": (DONGSHAN, "cadre-zhang"), "hh-0099": (XISHAN, None)}
    )
    people: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "cadre-zhang": ("cadre", f"o-{DONGSHAN}"),
            "cadre-li": ("cadre", f"o-{XISHAN}"),
            "li-village": ("official", f"o-{DONGSHAN}"),
            "wu-township": ("official", f"o-{TOWNSHIP}"),
        }
    )
    duty: dict[str, str] = field(default_factory=lambda: {DONGSHAN: "cadre-zhang", XISHAN: "cadre-li"})
    successors: dict[str, str] = field(default_factory=dict)


async def insert(pool: asyncpg.Pool, version: int, directory: Directory | None = None) -> None:
    """Write ``directory`` (default: ``Directory()``) as directory version ``version``."""
    d = directory or Directory()
    regions: list[tuple[str, str, str | None]] = [
        (CITY, "city", None),
        (COUNTY, "county", CITY),
        (TOWNSHIP, "township", COUNTY),
        *((village, "village", township) for village, township in d.villages.items()),
    ]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO directory_versions (version, source) VALUES ($1, 'tests/directory.py')", version
        )
        await conn.executemany(
            "INSERT INTO directory_regions (version, region_id, tier, parent_id, name_zh, name_en)"
            " VALUES ($1, $2, $3, $4, $2, $2)",
            [(version, *r) for r in regions],
        )
        await conn.executemany(
            "INSERT INTO directory_offices (version, office_id, kind, tier, region_id, name_zh, name_en)"
            " VALUES ($1, $2, 'territorial', $3, $4, $2, $2)",
            [(version, f"o-{rid}", tier, rid) for rid, tier, _ in regions],
        )
        await conn.executemany(
            "INSERT INTO directory_people (version, person_id, name, role, office_id)"
            " VALUES ($1, $2, $2, $3, $4)",
            [(version, pid, role, office) for pid, (role, office) in d.people.items()],
        )
        await conn.executemany(
            "INSERT INTO directory_households (version, household_id, village_id, cadre_id)"
            " VALUES ($1, $2, $3, $4)",
            [(version, hid, village, cadre) for hid, (village, cadre) in d.households.items()],
        )
        await conn.executemany(
            "INSERT INTO directory_duty (version, village_id, person_id) VALUES ($1, $2, $3)",
            [(version, village, pid) for village, pid in d.duty.items()],
        )
        await conn.executemany(
            "INSERT INTO directory_successors (version, old_id, new_id) VALUES ($1, $2, $3)",
            _pairs(version, d.successors.items()),
        )


def _pairs(version: int, items: Iterable[tuple[str, str]]) -> list[tuple[int, str, str]]:
    return [(version, old, new) for old, new in items]
