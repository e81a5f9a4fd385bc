"""The gazetteer: villages found by point (with GCJ-02 and BD-09), by address and by id.

The sample (``locate.sample_regions``): 西山村 v-xishan [118.60, 118.62] × [35.77, 35.79] and 东山村
v-dongshan [118.62, 118.64] × [35.77, 35.79] share a border; 南湖村 v-nanhu [118.62, 118.64] ×
[35.7485, 35.7685] lies south of 东山村 across a gap of 0.0015° of latitude (about 166 m).
"""

from __future__ import annotations

import math

import coordTransform
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from petitionflow.catalogue import CRS, Catalogue
from petitionflow.directory.locate import (
    DEFAULT_NEAREST_METRES,
    Ambiguous,
    Crs,
    Found,
    Gazetteer,
    Located,
    Unknown,
    haversine_m,
    sample_gazetteer,
    sample_regions,
    square,
    to_wgs84,
)
from petitionflow.regions import SAMPLE
from petitionflow.settings import Settings
from schemas.common import Tier
from schemas.directory import Region

GAZETTEER = sample_gazetteer()
BOXES = {
    "v-xishan": (35.77, 118.60, 35.79, 118.62),
    "v-dongshan": (35.77, 118.62, 35.79, 118.64),
    "v-nanhu": (35.7485, 118.62, 35.7685, 118.64),
}
METRES_PER_DEGREE_LAT = 110_950.0
"""Near 35.8° N, to a few metres per degree (the gap tests allow a metre)."""


def _found(located: Located) -> str:
    assert isinstance(located, Found), located
    return located.village.region_id


def _inside(
    box: tuple[float, float, float, float], margin: float = 1e-5
) -> st.SearchStrategy[tuple[float, float]]:
    south, west, north, east = box
    return st.tuples(st.floats(south + margin, north - margin), st.floats(west + margin, east - margin))


# ------------------------------------------------------------------------------------ points


@pytest.mark.parametrize("village", sorted(BOXES))
@given(data=st.data())
def test_a_point_inside_a_village_is_that_village(village: str, data: st.DataObject) -> None:
    lat, lon = data.draw(_inside(BOXES[village]))
    located = GAZETTEER.by_point(lat, lon, Crs.WGS84)
    assert _found(located) == village
    assert isinstance(located, Found) and (located.how, located.distance_m) == ("inside", 0.0)


def test_a_point_on_a_shared_border_goes_to_the_smaller_id() -> None:
    assert _found(GAZETTEER.by_point(35.78, 118.62)) == "v-dongshan"  # not v-xishan


@given(lat=st.floats(35.7685 + 1e-6, 35.77 - 1e-6), lon=st.floats(118.6201, 118.6399))
def test_a_point_in_the_gap_goes_to_the_nearer_village_within_the_distance(lat: float, lon: float) -> None:
    located = GAZETTEER.by_point(lat, lon)
    to_dongshan, to_nanhu = (35.77 - lat) * METRES_PER_DEGREE_LAT, (lat - 35.7685) * METRES_PER_DEGREE_LAT
    assert isinstance(located, Found) and located.how == "nearest"
    assert located.village.region_id == ("v-dongshan" if to_dongshan < to_nanhu else "v-nanhu")
    assert located.distance_m == pytest.approx(min(to_dongshan, to_nanhu), abs=1.0)


def test_the_gap_is_measured_in_metres_not_degrees() -> None:
    # 0.0005° north of 南湖村 is about 55 m; 0.0005° east of 东山村 at 35.78° N is only about 45 m.
    north = GAZETTEER.by_point(35.7690, 118.63)
    east = GAZETTEER.by_point(35.78, 118.6405)
    assert isinstance(north, Found) and isinstance(east, Found)
    assert north.distance_m == pytest.approx(55.5, abs=0.5)
    assert east.distance_m == pytest.approx(45.1, abs=0.5)
    assert haversine_m(35.0, 118.0, 36.0, 118.0) == pytest.approx(111_195, abs=1)


def test_the_distance_is_a_setting() -> None:
    assert DEFAULT_NEAREST_METRES == 200
    gap_point = (35.7690, 118.63)  # about 55 m from 南湖村
    assert isinstance(Gazetteer(sample_regions(), nearest_metres=50).by_point(*gap_point), Unknown)
    assert _found(Gazetteer(sample_regions(), nearest_metres=60).by_point(*gap_point)) == "v-nanhu"
    far = (35.80, 118.63)  # about 1.1 km north of 东山村
    assert isinstance(GAZETTEER.by_point(*far), Unknown)
    assert _found(Gazetteer(sample_regions(), nearest_metres=1200).by_point(*far)) == "v-dongshan"
    with pytest.raises(ValueError, match="nearest_metres"):
        Gazetteer(sample_regions(), nearest_metres=-1)


@given(
    point=st.one_of(
        st.tuples(st.floats(35.7920, 36.5), st.floats(118.0, 119.0)),  # north of every village
        st.tuples(st.floats(35.0, 36.5), st.floats(118.6425, 119.5)),  # east of every village
        st.tuples(st.floats(-60, 60), st.floats(-170, 100)),  # elsewhere on earth
    )
)
def test_a_point_far_from_every_village_is_unknown_with_the_nearest(point: tuple[float, float]) -> None:
    located = GAZETTEER.by_point(*point)
    assert isinstance(located, Unknown)
    assert located.nearest is not None and located.nearest.region_id in BOXES
    assert located.distance_m is not None and located.distance_m > DEFAULT_NEAREST_METRES


def test_a_position_off_the_earth_is_refused() -> None:
    for lat, lon in ((95.0, 118.0), (35.0, 181.0), (math.nan, 118.0)):
        with pytest.raises(ValueError, match="not a position"):
            GAZETTEER.by_point(lat, lon)


def test_villages_without_boundaries_are_never_found_by_a_point() -> None:
    bare = [r.model_copy(update={"boundary": None}) for r in sample_regions()]
    assert isinstance(Gazetteer(bare).by_point(35.78, 118.63), Unknown)
    assert _found(Gazetteer(bare).by_address("东山村")) == "v-dongshan"


# ------------------------------------------------------------------------------------ GCJ-02 / BD-09

# 西山村's eastern strip: up to 400 m west of the border with 东山村 (GCJ-02 moves points about 487 m
# east here, BD-09 about 1080 m east and 620 m north), away from its northern edge.
EAST_OF_XISHAN = st.tuples(st.floats(35.771, 35.78), st.floats(118.62 - 400 / 90_300, 118.6199))


@given(point=EAST_OF_XISHAN)
def test_gcj02_points_land_in_the_right_village_only_when_converted(point: tuple[float, float]) -> None:
    lat, lon = point
    g_lon, g_lat = coordTransform.wgs84_to_gcj02(lon, lat)
    assert _found(GAZETTEER.by_point(g_lat, g_lon, Crs.WGS84)) == "v-dongshan"  # read as WGS-84: wrong
    assert _found(GAZETTEER.by_point(g_lat, g_lon, Crs.GCJ02)) == "v-xishan"


@given(point=EAST_OF_XISHAN)
def test_bd09_points_land_in_the_right_village_only_when_converted(point: tuple[float, float]) -> None:
    lat, lon = point
    b_lon, b_lat = coordTransform.wgs84_to_bd09(lon, lat)
    assert _found(GAZETTEER.by_point(b_lat, b_lon, Crs.WGS84)) == "v-dongshan"
    assert _found(GAZETTEER.by_point(b_lat, b_lon, Crs.BD09)) == "v-xishan"
    assert _found(GAZETTEER.by_point(b_lat, b_lon, Crs.GCJ02)) != "v-xishan"  # the wrong system: wrong


@given(lat=st.floats(18.0, 53.0), lon=st.floats(74.0, 134.0))
def test_conversion_inverts_the_forward_transforms_to_a_millimetre(lat: float, lon: float) -> None:
    for crs, forward in (
        (Crs.GCJ02, coordTransform.wgs84_to_gcj02),
        (Crs.BD09, coordTransform.wgs84_to_bd09),
    ):
        f_lon, f_lat = forward(lon, lat)
        back_lat, back_lon = to_wgs84(f_lat, f_lon, crs)
        assert haversine_m(lat, lon, back_lat, back_lon) < 0.001
    assert to_wgs84(lat, lon, Crs.WGS84) == (lat, lon)


def test_the_catalogue_offers_the_same_coordinate_systems() -> None:
    assert [v.key for v in CRS.values] == [c.value for c in Crs]
    assert all(CRS in s.attributes for s in Catalogue().services)


# ------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("text", "village"),
    [
        ("夏庄镇东山村", "v-dongshan"),
        ("东山村", "v-dongshan"),
        ("山东省临沂市沂水县夏庄镇东山村3号", "v-dongshan"),
        ("东山", "v-dongshan"),
        ("夏庄镇 西山村 村委会旁", "v-xishan"),
        ("南湖村", "v-nanhu"),
        ("蒙阴县", "v-nanhu"),  # a county with one village
        ("上庄镇", "v-nanhu"),
        ("Dongshan", "v-dongshan"),
        ("3 East Lane, dongshan village, Xiazhuang", "v-dongshan"),
        ("DONG SHAN", "v-dongshan"),
        ("Dōngshān Cūn", "v-dongshan"),
        ("dong1shan1cun1", "v-dongshan"),
        ("Xishancun, Xiazhuang Town, Yishui County", "v-xishan"),
        ("Nanhu", "v-nanhu"),
    ],
)
def test_an_address_naming_one_village_finds_it(text: str, village: str) -> None:
    located = GAZETTEER.by_address(text)
    assert _found(located) == village
    assert isinstance(located, Found) and located.how == "address"


@given(
    gap=st.sampled_from(["", " ", "  ", "-", "'", "\t"]),
    upper=st.lists(st.booleans(), min_size=8, max_size=8),
    tones=st.booleans(),
    before=st.sampled_from(["", "No. 7, ", "7 Mill Road "]),
)
def test_romanised_names_ignore_case_spaces_and_tones(
    gap: str, upper: list[bool], tones: bool, before: str
) -> None:
    letters = [c.upper() if u else c for c, u in zip("dongshan", upper, strict=True)]
    if tones:  # 1st tone marks: dōng shān
        letters[1] = "ō" if letters[1] == "o" else "Ō"
        letters[6] = "ā" if letters[6] == "a" else "Ā"
    name = "".join(letters[:4]) + gap + "".join(letters[4:])
    assert _found(GAZETTEER.by_address(before + name)) == "v-dongshan"


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("夏庄镇", ["v-dongshan", "v-xishan"]),
        ("Xiazhuang", ["v-dongshan", "v-xishan"]),
        ("沂水县", ["v-dongshan", "v-xishan"]),
        ("临沂市", ["v-dongshan", "v-nanhu", "v-xishan"]),
        # 南湖村 is not in 夏庄镇: the village or the township is wrong, so both are offered.
        ("夏庄镇南湖村", ["v-dongshan", "v-nanhu", "v-xishan"]),
    ],
)
def test_an_address_naming_a_region_of_several_villages_is_ambiguous(
    text: str, candidates: list[str]
) -> None:
    located = GAZETTEER.by_address(text)
    assert isinstance(located, Ambiguous), located
    assert [c.region_id for c in located.candidates] == candidates


def _twin_villages() -> Gazetteer:
    """The sample plus a second 东山村, in 上庄镇: village names repeat across townships."""
    twin = Region(
        region_id="v-dongshan-2",
        tier=Tier.VILLAGE,
        parent_id="t-shangzhuang",
        name_zh="东山村",
        name_en="Dongshan",
        boundary=square(35.7485, 118.60, 35.7685, 118.62),
    )
    return Gazetteer([*sample_regions(), twin])


@pytest.mark.parametrize("text", ["东山村", "Dongshan", "临沂市东山村", "dong shan cun"])
def test_a_village_name_two_townships_share_is_ambiguous(text: str) -> None:
    located = _twin_villages().by_address(text)
    assert isinstance(located, Ambiguous), located
    assert [c.region_id for c in located.candidates] == ["v-dongshan", "v-dongshan-2"]
    assert located.candidates[1].describe() == (
        "v-dongshan-2 东山村 (Dongshan), t-shangzhuang 上庄镇 (Shangzhuang), "
        "c-mengyin 蒙阴县 (Mengyin), x-linyi 临沂市 (Linyi)"
    )


@pytest.mark.parametrize(
    ("text", "village"),
    [("夏庄镇东山村", "v-dongshan"), ("上庄镇东山村", "v-dongshan-2"), ("Dongshan, Mengyin", "v-dongshan-2")],
)
def test_the_township_or_county_tells_twin_villages_apart(text: str, village: str) -> None:
    assert _found(_twin_villages().by_address(text)) == village


def test_a_name_read_inside_a_longer_name_does_not_count() -> None:
    # A township 东山镇 holding 西山村: "东山镇西山村" names 东山镇 and 西山村, not the village 东山.
    regions = [
        *sample_regions(),
        Region(
            region_id="t-dongshan",
            tier=Tier.TOWNSHIP,
            parent_id="c-yishui",
            name_zh="东山镇",
            name_en="Dongshan",
        ),
        Region(
            region_id="v-xishan-2",
            tier=Tier.VILLAGE,
            parent_id="t-dongshan",
            name_zh="西山村",
            name_en="Xishan",
        ),
    ]
    assert _found(Gazetteer(regions).by_address("东山镇西山村")) == "v-xishan-2"


@pytest.mark.parametrize("text", ["Atlantis", "北京市朝阳区", "", "   ", "3 East Lane", "山"])
def test_an_address_naming_nothing_known_is_unknown(text: str) -> None:
    assert GAZETTEER.by_address(text) == Unknown()


# ------------------------------------------------------------------------------------ ids


@pytest.mark.parametrize(
    ("address_id", "village"),
    [
        ("v-dongshan", "v-dongshan"),
        ("v-nanhu/t-shangzhuang/c-mengyin/x-linyi", "v-nanhu"),
        ("v-atlantis", None),
        ("v-dongshan/t-shangzhuang/c-yishui/x-linyi", None),
        ("v-dongshan/t-xiazhuang", None),
        ("t-xiazhuang", None),
    ],
)
def test_by_id_is_the_region_directory_s_resolve(address_id: str, village: str | None) -> None:
    located = GAZETTEER.by_id(address_id)
    expected = SAMPLE.resolve(address_id)
    if village is None:
        assert located == Unknown() and expected is None
    else:
        assert expected is not None and _found(located) == village == expected.path.village
        assert isinstance(located, Found) and located.village.path == expected.path


def test_the_sample_is_regions_sample_with_boundaries() -> None:
    villages = [r for r in sample_regions() if r.tier is Tier.VILLAGE]
    assert {r.region_id for r in villages} == {"v-dongshan", "v-xishan", "v-nanhu"} and len(GAZETTEER) == 3
    for region in villages:
        found = GAZETTEER.village(region.region_id)
        expected = SAMPLE.village(region.region_id)
        assert found is not None and expected is not None and found.path == expected.path
        assert region.boundary is not None


# ------------------------------------------------------------------------------------ bad directories


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"region_id": "v-xishan"}, "two regions share the id 'v-xishan'"),
        ({"parent_id": "t-atlantis"}, "its parent 't-atlantis' is not a township"),
        ({"parent_id": "c-yishui"}, "its parent 'c-yishui' is not a township"),
        ({"boundary": {"type": "Point", "coordinates": [118.6, 35.7]}}, "must be a Polygon or MultiPolygon"),
        ({"boundary": {"type": "Polygon", "coordinates": "nope"}}, "not a GeoJSON geometry"),
        (
            {"boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
            "not a valid polygon",
        ),
    ],
)
def test_a_bad_directory_is_refused(change: dict[str, object], message: str) -> None:
    regions = sample_regions()
    dongshan = next(i for i, r in enumerate(regions) if r.region_id == "v-dongshan")
    regions[dongshan] = regions[dongshan].model_copy(update=change)
    with pytest.raises(ValueError, match=message):
        Gazetteer(regions)


def test_the_settings_name_the_default_crs_and_distance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PETITIONFLOW_OPEN311_CRS", raising=False)
    monkeypatch.delenv("PETITIONFLOW_OPEN311_NEAREST_METRES", raising=False)
    defaults = Settings()
    assert (Crs(defaults.open311_crs), defaults.open311_nearest_metres) == (Crs.GCJ02, DEFAULT_NEAREST_METRES)
    monkeypatch.setenv("PETITIONFLOW_OPEN311_CRS", "bd09")
    monkeypatch.setenv("PETITIONFLOW_OPEN311_NEAREST_METRES", "75")
    assert (Settings().open311_crs, Settings().open311_nearest_metres) == ("bd09", 75.0)
    monkeypatch.setenv("PETITIONFLOW_OPEN311_CRS", "mars")
    with pytest.raises(ValidationError, match="open311_crs"):
        Settings()
