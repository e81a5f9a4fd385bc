"""The dev stack's generated sample county: its size, the kept ids, and that it reads back clean."""

from __future__ import annotations

import itertools
from pathlib import Path

from shapely.geometry import shape

from petitionflow.directory import read_files, write_sample
from petitionflow.directory._files import HouseholdRows
from schemas.common import Tier
from schemas.directory import OfficeKind, PersonRole


def test_the_sample_has_the_promised_size_and_keeps_the_ids_tests_use(tmp_path: Path) -> None:
    files = write_sample(tmp_path)
    d = read_files([(None, f) for f in files])
    assert d.problems == []
    tiers = [r.tier for r in d.regions.values()]
    assert [tiers.count(t) for t in Tier] == [400, 20, 2, 1]
    people = list(d.people.values())
    assert sum(p.role is PersonRole.CADRE for p in people) == 3000
    rows = HouseholdRows(d.households, d.villages, d.cadres)  # type: ignore[arg-type]
    households = list(rows.records(1))
    assert (len(households), rows.problems) == (100_000, [])
    assert len({h[1] for h in households}) == 100_000
    by_id = {h[1]: h for h in households}
    assert by_id["hh-0042"][2] == "v-dongshan" and by_id["hh-101"][2] == "v-dongshan"

    def path(village: str) -> list[str]:
        chain = [village]
        while (parent := d.regions[chain[-1]].parent_id) is not None:
            chain.append(parent)
        return chain

    assert path("v-dongshan") == ["v-dongshan", "t-xiazhuang", "c-yishui", "x-linyi"]
    assert path("v-xishan") == ["v-xishan", "t-xiazhuang", "c-yishui", "x-linyi"]
    assert path("v-nanhu") == ["v-nanhu", "t-shangzhuang", "c-mengyin", "x-linyi"]
    assert {v: d.duty[v] for v in ("v-dongshan", "v-xishan", "v-nanhu")} == {
        "v-dongshan": "cadre-zhang",
        "v-xishan": "cadre-li",
        "v-nanhu": "cadre-wang",
    }
    departments = {o.name_zh: o.supervisor_id for o in d.offices.values() if o.kind is OfficeKind.DEPARTMENT}
    assert departments["沂水县水利局"] == "dept-x-linyi-water"
    assert departments["临沂市水利局"] == "office-x-linyi"


def test_the_sample_boundaries_do_not_overlap_and_tile_the_grid(tmp_path: Path) -> None:
    d = read_files([(None, f) for f in write_sample(tmp_path)])
    polygons = [shape(r.boundary) for r in d.regions.values() if r.tier is Tier.VILLAGE]
    assert len(polygons) == 400 and all(p.is_valid for p in polygons)
    assert not any(a.overlaps(b) or a.within(b) for a, b in itertools.combinations(polygons, 2))
    west, south, east, north = polygons[0].bounds
    assert 118 < west < east < 119 and 35 < south < north < 36


def test_the_sample_is_the_same_every_time(tmp_path: Path) -> None:
    first = [f.read_bytes() for f in write_sample(tmp_path / "a")]
    assert first == [f.read_bytes() for f in write_sample(tmp_path / "b")]


def test_the_region_directory_takes_the_villages_with_a_duty_cadre() -> None:
    from petitionflow.regions import RegionDirectory
    from schemas.directory import Region

    regions = [
        Region(region_id="x", tier=Tier.CITY, parent_id=None, name_zh="市", name_en="Shi"),
        Region(region_id="c", tier=Tier.COUNTY, parent_id="x", name_zh="县", name_en="Xian"),
        Region(region_id="t", tier=Tier.TOWNSHIP, parent_id="c", name_zh="镇", name_en="Zhen"),
        Region(region_id="v-1", tier=Tier.VILLAGE, parent_id="t", name_zh="一村", name_en="Yi"),
        Region(region_id="v-2", tier=Tier.VILLAGE, parent_id="t", name_zh="二村", name_en="Er"),
    ]
    directory = RegionDirectory.from_grid(regions, {"v-1": "k-1"})

    assert len(directory) == 1 and directory.village("v-2") is None
    village = directory.resolve("v-1/t/c/x")
    assert village is not None and village.contact_cadre_id == "k-1"
