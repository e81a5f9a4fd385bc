"""The directory files' readers: every kind of problem, reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from petitionflow.directory import detect_kind, read_files
from petitionflow.directory._files import HouseholdRows, Problem
from schemas.common import Tier
from schemas.directory import OfficeKind
from tests.directory_files import (
    CITY,
    COUNTY_A,
    COUNTY_B,
    DUTY,
    GRID,
    HOUSEHOLDS,
    OFFICES,
    PEOPLE,
    TOWNSHIP_A,
    TOWNSHIP_B,
    boundaries,
    square,
    write_small,
)


def problems(folder: Path, **replace: object) -> list[str]:
    d = read_files(write_small(folder, **replace))
    found = list(d.problems)
    if d.households is not None and not d.problems:
        rows = HouseholdRows(d.households, d.villages, d.cadres)
        list(rows.records(1))
        found += rows.problems
    return [str(p).removeprefix(str(folder) + "/") for p in sorted(found)]


def test_the_small_directory_reads_without_problems_and_derives_the_territorial_offices(
    tmp_path: Path,
) -> None:
    d = read_files(write_small(tmp_path))

    assert d.problems == []
    assert {r.region_id: (r.tier, r.parent_id) for r in d.regions.values()} == {
        "v-1": (Tier.VILLAGE, "t-a1"),
        "v-2": (Tier.VILLAGE, "t-a1"),
        "v-3": (Tier.VILLAGE, "t-b1"),
        "t-a1": (Tier.TOWNSHIP, "c-a"),
        "t-b1": (Tier.TOWNSHIP, "c-b"),
        "c-a": (Tier.COUNTY, "x-c"),
        "c-b": (Tier.COUNTY, "x-c"),
        "x-c": (Tier.CITY, None),
    }
    assert d.regions["v-1"].name_zh == "一村"  # the grid file has a byte-order mark
    assert d.regions["v-1"].boundary == square(118.0, 35.0)
    offices = {o.office_id: (o.kind, o.supervisor_id) for o in d.offices.values()}
    assert offices == {
        "office-v-1": (OfficeKind.TERRITORIAL, "office-t-a1"),
        "office-v-2": (OfficeKind.TERRITORIAL, "office-t-a1"),
        "office-v-3": (OfficeKind.TERRITORIAL, "office-t-b1"),
        "office-t-a1": (OfficeKind.TERRITORIAL, "office-c-a"),
        "office-t-b1": (OfficeKind.TERRITORIAL, "office-c-b"),
        "office-c-a": (OfficeKind.TERRITORIAL, "office-x-c"),
        "office-c-b": (OfficeKind.TERRITORIAL, "office-x-c"),
        "office-x-c": (OfficeKind.TERRITORIAL, None),
        "dept-c-a-water": (OfficeKind.DEPARTMENT, "office-c-a"),
    }
    assert d.offices["office-t-a1"].name_zh == "甲一镇人民政府"
    assert d.offices["office-v-1"].name_en == "Yicun Village Committee"
    assert d.duty == {"v-1": "k-1", "v-2": "k-4", "v-3": "k-3"}


def test_kinds_are_told_by_header_or_extension(tmp_path: Path) -> None:
    kinds = [detect_kind(path) for _, path in write_small(tmp_path, successors=[])]
    assert kinds == ["grid", "boundaries", "offices", "people", "households", "duty", "successors"]


def test_grid_errors_each_name_the_file_and_line(tmp_path: Path) -> None:
    grid = [
        *GRID,  # lines 2-4
        ["v-4", "四村", "Sicun", "", "", "", *COUNTY_A, *CITY],  # 5: missing parent
        ["v-1", "一村", "Yicun", *TOWNSHIP_B, *COUNTY_B, *CITY],  # 6: a village in two townships
        ["v-2", "二村", "Ercun", *TOWNSHIP_A, *COUNTY_A, *CITY],  # 7: a duplicate id
        [
            "v-5",
            "五村",
            "Wucun",
            "t-a1",
            "甲一镇",
            "Jiayi",
            *COUNTY_B,
            *CITY,
        ],  # 8: a township under two counties
        ["c-a", "甲村", "Jiacun", *TOWNSHIP_A, *COUNTY_A, *CITY],  # 9: a tier out of order
        ["v-6", "", "Liucun", *TOWNSHIP_A, *COUNTY_A, *CITY],  # 10: an empty name
        ["v-7", "七村", "Qicun", "t-a1", "甲镇", "Jiayi", *COUNTY_A, *CITY],  # 11: a township renamed
    ]
    assert problems(tmp_path, grid=grid, boundaries=None, households=None, duty=None, people=None) == [
        "grid.csv:5: missing parent: township_id is empty",
        "grid.csv:6: village v-1 in two townships: t-b1 here, t-a1 at line 2",
        "grid.csv:7: duplicate id: village v-2 is already at line 3",
        "grid.csv:8: township t-a1 under two counties: c-b here, c-a at line 2",
        "grid.csv:9: tier out of order: c-a is a village here but a county at line 2",
        "grid.csv:10: empty name: village_name_zh of v-6",
        "grid.csv:11: township t-a1 is named 甲镇 / Jiayi here but 甲一镇 / Jiayi at line 2",
    ]


def test_a_bad_header_and_a_short_row(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("person_id,name,role,office\nk-1,张一\n", encoding="utf-8")
    found = read_files(
        [
            ("people", tmp_path / "people.csv"),
            *write_small(tmp_path / "x", people=None, duty=None, households=None),
        ]
    )
    assert [str(p).removeprefix(str(tmp_path) + "/") for p in found.problems] == [
        "people.csv:1: bad header for a people file: missing columns office_id, phone, email, webhook;"
        " unknown columns office (expected person_id,name,role,office_id,phone,email,webhook)"
    ]
    (tmp_path / "duty.csv").write_text("village_id,person_id\nv-1\n", encoding="utf-8")
    found = read_files([("duty", tmp_path / "duty.csv"), *write_small(tmp_path / "y", duty=None)])
    assert [p.reason for p in found.problems] == ["1 cells, the header has 2"]


def test_boundary_errors_name_the_feature(tmp_path: Path) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    collection = boundaries(
        [
            ("v-1", square(118.0, 35.0)),
            ("v-9", square(118.01, 35.0)),  # 1: not a village of the grid
            ("v-2", {"type": "Polygon", "coordinates": [[[118, 35], [118.1]]]}),  # 2: does not parse
            ("v-3", bowtie),  # 3: self-intersecting
            ("v-1", square(118.02, 35.0)),  # 4: a second boundary
            ("v-3", {"type": "Point", "coordinates": [118, 35]}),  # 5: not a polygon
            ("v-2", square(500, 35.0)),  # 6: not degrees
        ]
    )
    assert problems(tmp_path, boundaries=collection) == [
        "boundaries.geojson:feature 1: unknown village v-9: it is not a village of the grid",
        "boundaries.geojson:feature 2: the polygon of v-2 does not parse:"
        + problems_reason(tmp_path, collection, 2),
        "boundaries.geojson:feature 3: the polygon of v-3 is not valid: Self-intersection[0.5 0.5]",
        "boundaries.geojson:feature 4: village v-1 already has a boundary (feature 0)",
        "boundaries.geojson:feature 5: the geometry of v-3 is Point, not a Polygon or MultiPolygon",
        "boundaries.geojson:feature 6: the polygon of v-2 is not in longitude/latitude degrees (WGS-84)",
    ]


def problems_reason(folder: Path, collection: dict[str, object], index: int) -> str:
    """shapely's own words for a polygon it cannot parse (they differ between its versions)."""
    d = read_files(write_small(folder / "again", boundaries=collection))
    [reason] = [p.reason for p in d.problems if p.line == index]
    return reason.split("does not parse:", 1)[1]


def test_a_geojson_file_that_does_not_parse(tmp_path: Path) -> None:
    files = write_small(tmp_path, boundaries=None)
    (tmp_path / "b.geojson").write_text('{"type": "FeatureCollection",\n "features": [\n', encoding="utf-8")
    d = read_files([*files, (None, tmp_path / "b.geojson")])
    [problem] = d.problems
    assert (problem.file, problem.line, problem.reason.startswith("not JSON")) == (
        str(tmp_path / "b.geojson"),
        3,
        True,
    )


def test_office_errors(tmp_path: Path) -> None:
    offices = [
        *OFFICES,  # 2
        ["dept-t-a1", "department", "township", "t-a1", "甲一镇水利站", "Water", "", "", "", ""],  # 3
        ["o-x", "bureau", "county", "c-a", "局", "Bureau", "", "", "", ""],  # 4: unknown kind
        ["o-y", "department", "county", "c-z", "局", "Bureau", "", "", "", ""],  # 5: unknown region
        ["o-z", "department", "county", "t-a1", "局", "Bureau", "", "", "", ""],  # 6: tier mismatch
        ["o-s", "department", "county", "c-a", "局", "Bureau", "o-nowhere", "", "", ""],  # 7: no supervisor
        ["dept-c-a-water", "department", "county", "c-a", "局", "Bureau", "", "", "", ""],  # 8: duplicate
        ["o-m", "department", "city", "x-c", "局", "Bureau", "", "", "not-an-email", "ftp://x"],  # 9
    ]
    assert problems(tmp_path, offices=offices, people=None, households=None, duty=None) == [
        "offices.csv:3: a department office belongs to a county or a city, not a township",
        "offices.csv:4: kind 'bureau' is not one of territorial, department, centre",
        "offices.csv:5: region_id 'c-z' is not a region of the grid",
        "offices.csv:6: the office's tier is county but t-a1 is a township",
        "offices.csv:7: supervisor_id o-nowhere of o-s is not an office",
        "offices.csv:8: duplicate id: office dept-c-a-water is already at line 2",
        "offices.csv:9: email 'not-an-email' is not an e-mail address",
        "offices.csv:9: webhook 'ftp://x' is not an http(s) URL",
    ]


def test_a_supervision_cycle_is_refused(tmp_path: Path) -> None:
    offices = [
        ["d-1", "department", "county", "c-a", "一局", "One", "d-2", "", "", ""],
        ["d-2", "department", "county", "c-a", "二局", "Two", "d-3", "", "", ""],
        ["d-3", "department", "city", "x-c", "三局", "Three", "d-1", "", "", ""],
    ]
    assert problems(tmp_path, offices=offices, people=None, households=None, duty=None) == [
        "offices.csv:2: supervision cycle: d-1 → d-2 → d-3 → d-1"
    ]


def test_people_households_duty_and_successor_errors(tmp_path: Path) -> None:
    people = [
        *PEOPLE,
        ["k-1", "张一", "cadre", "office-v-1", "", "", ""],
        ["k-9", "某", "cadre", "office-q", "", "", ""],
        ["k-8", "某", "chief", "office-v-1", "", "", ""],
    ]
    duty = [*DUTY, ["v-1", "k-2"], ["v-9", "k-1"], ["t-a1", "k-1"], ["v-2", "o-1"]]
    successors = [["v-0", "v-1"], ["v-1", "v-2"], ["v-00", "v-nowhere"], ["v-0", "v-2"]]
    assert problems(tmp_path, people=people, duty=duty, successors=successors) == [
        "duty.csv:5: duplicate id: village v-1 already has a duty cadre at line 2",
        "duty.csv:6: village_id 'v-9' is not a village of the grid",
        "duty.csv:7: village_id 't-a1' is not a village of the grid",
        "duty.csv:8: duplicate id: village v-2 already has a duty cadre at line 3",
        "people.csv:7: duplicate id: person k-1 is already at line 2",
        "people.csv:8: office_id 'office-q' is not an office",
        "people.csv:9: role 'chief' is not one of cadre, official",
        "successors.csv:3: old_id v-1 is still a region of the new grid",
        "successors.csv:4: new_id v-nowhere is not a region of the new grid",
        "successors.csv:5: duplicate id: v-0 already has a successor at line 2",
    ]
    households = [*HOUSEHOLDS, ["h-8", "v-9", "k-1", ""], ["h-9", "v-1", "o-1", ""], ["", "v-1", "", ""]]
    assert problems(tmp_path / "h", households=households) == [
        "households.csv:9: village_id 'v-9' of household h-8 is not a village of the grid",
        "households.csv:10: cadre_id 'o-1' of household h-9 is not a cadre of the roster",
        "households.csv:11: household_id is empty",
    ]


def test_no_grid_no_import(tmp_path: Path) -> None:
    d = read_files(write_small(tmp_path, grid=None, boundaries=None, offices=None, people=None, duty=None))
    assert d.problems == [Problem("import", 0, "no grid file: every import is a full snapshot and needs one")]


@pytest.mark.parametrize("header", ["village_id,person_id,extra", "nothing"])
def test_an_unknown_header_is_named(tmp_path: Path, header: str) -> None:
    (tmp_path / "odd.csv").write_text(header + "\n", encoding="utf-8")
    d = read_files([*write_small(tmp_path / "x"), (None, tmp_path / "odd.csv")])
    [problem] = d.problems
    assert problem.line == 1 and problem.reason.startswith(
        "unknown kind of file: the header matches none of grid"
    )


def test_a_spreadsheet_saved_in_gbk_is_named_not_utf8(tmp_path: Path) -> None:
    files = write_small(tmp_path, grid=None)
    (tmp_path / "grid.csv").write_bytes("village_id,村\n".encode("gbk"))
    d = read_files([*files, (None, tmp_path / "grid.csv")])
    assert [str(p).removeprefix(str(tmp_path) + "/") for p in d.problems] == [
        "grid.csv:1: not UTF-8 text (save it as “CSV UTF-8”)",
        "import:0: no grid file: every import is a full snapshot and needs one",
    ]


def test_at_most_a_hundred_problems_a_file_are_listed(tmp_path: Path) -> None:
    households = [[f"h-{n}", "v-nowhere", "", ""] for n in range(250)]
    found = problems(tmp_path, households=households)
    assert len(found) == 101
    assert (
        found[0] == "households.csv:2: village_id 'v-nowhere' of household h-0 is not a village of the grid"
    )
    assert found[-1] == "households.csv:251: … and 150 more problems in this file"
