"""Importing the directory into PostgreSQL: a version, all or nothing; loading it back."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from petitionflow.directory import DirectoryInvalid, current_region_directory, import_files
from schemas.common import Tier
from schemas.directory import Household, OfficeKind, PersonRole
from store import directory as store
from tests.directory_files import HOUSEHOLDS, PEOPLE, square, write_small

TABLES = ("versions", "regions", "offices", "people", "households", "duty", "successors")


async def row_counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {t: await pool.fetchval(f"SELECT count(*) FROM directory_{t}") for t in TABLES}


async def test_a_valid_import_is_version_1_and_loads_back(pool: asyncpg.Pool, tmp_path: Path) -> None:
    info = await import_files(pool, write_small(tmp_path))

    assert info.version == 1
    assert info.counts == {
        "regions": 8,
        "offices": 9,
        "people": 5,
        "duty": 3,
        "successors": 0,
        "households": 7,
    }
    grid = await store.current_grid(pool)
    assert grid is not None and grid.version == 1
    v1 = grid.region("v-1")
    assert v1 is not None and v1.boundary == square(118.0, 35.0) and v1.parent_id == "t-a1"
    assert {o.office_id for o in grid.offices if o.kind is OfficeKind.DEPARTMENT} == {"dept-c-a-water"}
    assert {p.person_id for p in grid.people if p.role is PersonRole.OFFICIAL} == {"o-1"}
    assert grid.duty == {"v-1": "k-1", "v-2": "k-4", "v-3": "k-3"}
    assert await store.household(pool, "h-1") == Household(
        household_id="h-1", village_id="v-1", cadre_id="k-1", phone="1391"
    )
    assert await store.household(pool, "h-4") == Household(household_id="h-4", village_id="v-1")
    assert await store.household(pool, "h-nobody") is None

    regions = await current_region_directory(pool)
    assert regions is not None and len(regions) == 3
    village = regions.resolve("v-3/t-b1/c-b/x-c")
    assert village is not None and village.contact_cadre_id == "k-3"
    assert [village.path.at(t) for t in Tier] == ["v-3", "t-b1", "c-b", "x-c"]


async def test_an_empty_directory_loads_as_none(pool: asyncpg.Pool) -> None:
    assert await store.current_grid(pool) is None
    assert await current_region_directory(pool) is None
    assert await store.household(pool, "h-1") is None


async def test_an_invalid_file_imports_nothing_and_reports_every_problem(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await import_files(pool, write_small(tmp_path / "ok"))
    before = await row_counts(pool)
    people = [row if row[0] != "k-2" else ["k-2", "", "cadre", "office-v-1", "", "", ""] for row in PEOPLE]
    households = [*HOUSEHOLDS, ["h-8", "v-nowhere", "", ""]]

    with pytest.raises(DirectoryInvalid) as raised:
        await import_files(
            pool, write_small(tmp_path / "bad", people=people, households=households, duty=None)
        )

    assert [(Path(p.file).name, p.line, p.reason) for p in raised.value.problems] == [
        ("households.csv", 4, "cadre_id 'k-2' of household h-3 is not a cadre of the roster"),
        ("households.csv", 9, "village_id 'v-nowhere' of household h-8 is not a village of the grid"),
        ("people.csv", 3, "empty name: name of k-2"),
    ]
    assert await row_counts(pool) == before


async def test_a_households_problem_found_while_copying_rolls_the_version_back(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Everything but the households is valid: they stream into COPY, and the problem found on the
    # way leaves no version behind.
    households = [*HOUSEHOLDS, ["h-8", "v-1", "k-nobody", ""]]
    with pytest.raises(DirectoryInvalid) as raised:
        await import_files(pool, write_small(tmp_path, households=households))

    assert [str(p).rsplit("/", 1)[1] for p in raised.value.problems] == [
        "households.csv:9: cadre_id 'k-nobody' of household h-8 is not a cadre of the roster"
    ]
    assert set((await row_counts(pool)).values()) == {0}
    assert (await import_files(pool, write_small(tmp_path / "ok"))).version == 1


async def test_a_duplicate_household_is_named_with_its_lines(pool: asyncpg.Pool, tmp_path: Path) -> None:
    households = [*HOUSEHOLDS, ["h-3", "v-2", "", ""]]
    with pytest.raises(DirectoryInvalid) as raised:
        await import_files(pool, write_small(tmp_path, households=households))

    assert [str(p).rsplit("/", 1)[1] for p in raised.value.problems] == [
        "households.csv:9: duplicate id: household h-3 is already at line 4"
    ]
    assert set((await row_counts(pool)).values()) == {0}
