"""The offices the doors resolve for the rules (``store.offices``), read from directory rows inserted
with SQL: the current version only, supervisor chains, a loop cut, and the territorial defaults."""

from __future__ import annotations

import asyncpg
import pytest

from schemas.common import Tier
from schemas.directory import OfficeKind
from schemas.offices import OfficeRef, territorial
from store import offices
from tests.factories import REGION


async def _version(
    pool: asyncpg.Pool, version: int, rows: list[tuple[str, str, str, str, str | None]]
) -> None:
    await pool.execute("INSERT INTO directory_versions (version, source) VALUES ($1, 'test')", version)
    await pool.executemany(
        "INSERT INTO directory_offices"
        " (version, office_id, kind, tier, region_id, name_zh, name_en, supervisor_id)"
        " VALUES ($1, $2, $3, $4, $5, $2, $2, $6)",
        [(version, *row) for row in rows],
    )


def _ref(office_id: str, kind: str, tier: str, region_id: str) -> OfficeRef:
    return OfficeRef(
        office_id=office_id, kind=OfficeKind(kind), tier=Tier(tier), region_id=region_id, name=office_id
    )


async def test_an_office_and_its_chain_come_from_the_current_version(pool: asyncpg.Pool) -> None:
    await _version(pool, 1, [("water-yishui", "department", "county", REGION.county, "gov-yishui")])
    await _version(
        pool,
        2,
        [
            ("water-yishui", "department", "county", REGION.county, "water-linyi"),
            ("water-linyi", "department", "city", REGION.city, "gov-linyi"),
            ("gov-linyi", "territorial", "city", REGION.city, None),
        ],
    )

    office, chain = await offices.office(pool, "water-yishui")

    assert office == _ref("water-yishui", "department", "county", REGION.county)
    assert chain == (
        _ref("water-linyi", "department", "city", REGION.city),
        _ref("gov-linyi", "territorial", "city", REGION.city),
    )
    with pytest.raises(offices.UnknownOffice, match="no office 'gov-yishui' in the directory"):
        await offices.office(pool, "gov-yishui")  # only in version 1


async def test_a_supervisor_loop_is_cut_where_it_comes_back(pool: asyncpg.Pool) -> None:
    await _version(
        pool,
        1,
        [
            ("a", "department", "county", REGION.county, "b"),
            ("b", "department", "county", REGION.county, "a"),
        ],
    )

    _, chain = await offices.office(pool, "a")

    assert [o.office_id for o in chain] == ["b", "a"]


async def test_with_no_directory_a_regions_government_is_the_territorial_default(pool: asyncpg.Pool) -> None:
    office, chain = await offices.resolve(pool, f"township:{REGION.township}", REGION)

    assert office == territorial(Tier.TOWNSHIP, REGION.township)
    assert chain == (territorial(Tier.COUNTY, REGION.county), territorial(Tier.CITY, REGION.city))
    with pytest.raises(offices.UnknownOffice):
        await offices.resolve(pool, "township:t-elsewhere", REGION)  # not on the petition's path
    with pytest.raises(offices.UnknownOffice):
        await offices.resolve(pool, "water-yishui", REGION)


async def test_command_fields_resolve_dispatch_and_summon_offices(pool: asyncpg.Pool) -> None:
    await _version(pool, 1, [("water-yishui", "department", "county", REGION.county, None)])

    dispatched = await offices.command_fields(
        pool, "dispatch", {"office_id": "water-yishui", "note": "n"}, REGION
    )
    summoned = await offices.command_fields(
        pool, "summon", {"office_ids": f"water-yishui,village:{REGION.village}"}, REGION
    )

    assert dispatched == {
        "note": "n",
        "office": _ref("water-yishui", "department", "county", REGION.county),
        "chain": (),
    }
    assert summoned == {
        "offices": (
            _ref("water-yishui", "department", "county", REGION.county),
            territorial(Tier.VILLAGE, REGION.village),
        )
    }
    assert await offices.command_fields(pool, "sign_for", {"note": "x"}, REGION) == {"note": "x"}
