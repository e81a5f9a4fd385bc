"""Where an Open311 request comes from: a village found by id, by a point, or by an address (pure).

A :class:`Gazetteer` is built from the directory's regions (``schemas.directory.Region``): villages
with their GeoJSON boundaries (WGS-84) and every tier's names in Chinese and romanised. It answers

- :meth:`Gazetteer.by_id`: a village id, or its full path ``village/township/county/city``;
- :meth:`Gazetteer.by_point`: the village whose boundary holds the point (an STRtree over the
  boundaries), else the nearest village within ``nearest_metres`` (distances on the ground, in
  metres), else nothing. Points in GCJ-02 (the coordinates of maps in China) or BD-09 (Baidu's) are
  turned into WGS-84 first: the two lie hundreds of metres off WGS-84, a village's width;
- :meth:`Gazetteer.by_address`: village, township, county and city names found in the text, in
  Chinese (``夏庄镇东山村``, ``东山村``, ``东山``) or romanised (``Dongshan``, ``dong shan``,
  ``Dōngshān``: case, spaces and tone marks do not count).

Each answers :class:`Found`, :class:`Ambiguous` (with the candidates) or :class:`Unknown`. Nothing
here does I/O: the directory's loader (or :func:`sample_regions`) gives the regions.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import coordTransform
import numpy as np
import shapely
from shapely.geometry import shape

from schemas.common import RegionPath, Tier
from schemas.directory import Region

DEFAULT_NEAREST_METRES = 200.0
"""How far outside every boundary a point may fall and still go to the nearest village: the slivers
that digitised boundaries leave between neighbours, plus a phone's GPS error, are tens of metres;
GCJ-02's offset (about 500 m around Linyi) is well beyond, so a wrong coordinate system is not
papered over by snapping."""

EARTH_RADIUS_M = 6_371_008.8
"""The mean radius of the earth (IUGG), for the haversine distance."""


class Crs(StrEnum):
    """The coordinate system of a point, as a request names it (``attribute[crs]``)."""

    WGS84 = "wgs84"
    """GPS, OpenStreetMap, and every map outside China."""
    GCJ02 = "gcj02"
    """China's obfuscated datum (国测局坐标, "Mars coordinates"): Amap/Gaode, Tencent, WeChat,
    Apple and Google maps inside China."""
    BD09 = "bd09"
    """Baidu's maps: GCJ-02 offset once more."""


def to_wgs84(lat: float, lon: float, crs: Crs) -> tuple[float, float]:
    """``(lat, lon)`` in WGS-84. Points outside China are left as they are (GCJ-02 is WGS-84 there).

    coordTransform's inverses are one-step approximations (a metre or so off); a few fixed-point
    steps against its exact forward transform bring them under a millimetre.
    """
    if crs is Crs.WGS84:
        return lat, lon
    if crs is Crs.GCJ02:
        forward, inverse = coordTransform.wgs84_to_gcj02, coordTransform.gcj02_to_wgs84
    else:
        forward, inverse = coordTransform.wgs84_to_bd09, coordTransform.bd09_to_wgs84
    w_lon, w_lat = inverse(lon, lat)
    for _ in range(3):
        f_lon, f_lat = forward(w_lon, w_lat)
        w_lon, w_lat = w_lon + (lon - f_lon), w_lat + (lat - f_lat)
    return float(w_lat), float(w_lon)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of latitude and of longitude at ``lat`` (on the WGS-84 ellipsoid)."""
    phi = math.radians(lat)
    per_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return per_lat, max(per_lon, 1e-6)


# ------------------------------------------------------------------------------------ answers


@dataclass(frozen=True)
class Candidate:
    """A village, with its path and the names of every tier on it (for people to choose from)."""

    region_id: str
    name_zh: str
    name_en: str
    path: RegionPath
    names: tuple[tuple[str, str, str], ...]
    """``(id, name_zh, name_en)`` of the township, county and city above it, lowest first."""

    def describe(self) -> str:
        """``v-dongshan 东山村 (Dongshan), t-xiazhuang 夏庄镇 (Xiazhuang), …``."""
        parts = [(self.region_id, self.name_zh, self.name_en), *self.names]
        return ", ".join(f"{rid} {zh} ({en})" for rid, zh, en in parts)


How = Literal["id", "inside", "nearest", "address"]


@dataclass(frozen=True)
class Found:
    village: Candidate
    how: How
    distance_m: float = 0.0
    """0 inside a boundary; for ``nearest``, how far the point is from the village's boundary."""


@dataclass(frozen=True)
class Ambiguous:
    candidates: tuple[Candidate, ...]
    """Every village the place could be, by id."""


@dataclass(frozen=True)
class Unknown:
    nearest: Candidate | None = None
    """For a point: the nearest village with a boundary, however far (None if there is none)."""
    distance_m: float | None = None


Located = Found | Ambiguous | Unknown


# ------------------------------------------------------------------------------------ names

_ZH_SUFFIXES = (
    "村民委员会",
    "居民委员会",
    "社区居委会",
    "街道办事处",
    "村委会",
    "居委会",
    "自治县",
    "街道",
    "社区",
    "村",
    "镇",
    "乡",
    "县",
    "区",
    "市",
)
"""What a name may end in that an address may leave out: 东山村 is also written 东山."""

_EN_SUFFIXES: dict[Tier, tuple[str, ...]] = {
    Tier.VILLAGE: ("village", "cun", "community", "shequ"),
    Tier.TOWNSHIP: ("town", "township", "zhen", "xiang", "subdistrict", "jiedao"),
    Tier.COUNTY: ("county", "xian", "district", "qu"),
    Tier.CITY: ("city", "shi"),
}
"""The romanised words a name of each tier may end in, or be written with (Dongshan Cun, Dongshancun)."""

_LATIN_WORD = re.compile(r"[a-z]+")
_SPACE = re.compile(r"\s+")
_MAX_WORDS = 4
"""A romanised name is matched over up to this many words of the address (``dong shan cun``)."""


def _zh(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def _latin_words(text: str) -> list[str]:
    """Lower-case Latin words, tone marks and ü's dots dropped; digits (tone numbers) split words."""
    folded = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _LATIN_WORD.findall(plain)


def _zh_variants(name: str) -> set[str]:
    full = _zh(name)
    variants = {full} if full else set()
    for suffix in _ZH_SUFFIXES:
        if full.endswith(suffix) and len(full) - len(suffix) >= 2:
            variants.add(full[: -len(suffix)])
            break
    return variants


def _en_variants(name: str, tier: Tier) -> set[str]:
    words = _latin_words(name)
    suffixes = _EN_SUFFIXES[tier]
    while len(words) > 1 and words[-1] in suffixes:
        words = words[:-1]
    if not words:
        return set()
    base = "".join(words)
    return {base, "".join(_latin_words(name))} | {base + suffix for suffix in suffixes}


@dataclass(frozen=True)
class _Hit:
    region_id: str
    start: int
    end: int

    def inside(self, other: _Hit) -> bool:
        """Whether this hit is a strictly shorter part of ``other`` (东山 inside 东山镇)."""
        return (
            other.start <= self.start
            and self.end <= other.end
            and (other.end - other.start) > (self.end - self.start)
        )


def _outermost(hits: list[_Hit]) -> set[str]:
    """The regions named, leaving out a name read inside a longer name."""
    kept = [h for h in hits if not any(h.inside(o) for o in hits)]
    return {h.region_id for h in kept}


# ------------------------------------------------------------------------------------ gazetteer


class Gazetteer:
    """Villages found by id, point or address, over a directory's regions.

    Args:
        regions: every region of the directory (villages, townships, counties, cities), any order.
            A village's boundary (a GeoJSON Polygon or MultiPolygon in WGS-84) is optional: a
            village without one is found by id and by name, never by a point.
        nearest_metres: how far outside every boundary a point may be and still go to the nearest
            village (:data:`DEFAULT_NEAREST_METRES`).

    Raises:
        ValueError: two regions share an id, a parent is missing or of the wrong tier, or a
            boundary is not a valid polygon.
    """

    def __init__(self, regions: Sequence[Region], *, nearest_metres: float = DEFAULT_NEAREST_METRES) -> None:
        if nearest_metres < 0:
            raise ValueError(f"nearest_metres must not be negative, not {nearest_metres}")
        self.nearest_metres = nearest_metres
        self._regions: dict[str, Region] = {}
        for region in regions:
            if region.region_id in self._regions:
                raise ValueError(f"two regions share the id {region.region_id!r}")
            self._regions[region.region_id] = region
        self._villages: dict[str, Candidate] = {}
        for region in sorted(self._regions.values(), key=lambda r: r.region_id):
            if region.tier is Tier.VILLAGE:
                self._villages[region.region_id] = self._candidate(region)

        shaped: list[tuple[str, Any]] = []
        for village_id in self._villages:
            boundary = self._regions[village_id].boundary
            if boundary is not None:
                shaped.append((village_id, _polygon(village_id, boundary)))
        self._shape_ids = [village_id for village_id, _ in shaped]
        self._shapes = [geometry for _, geometry in shaped]
        for geometry in self._shapes:
            shapely.prepare(geometry)
        self._tree = shapely.STRtree(self._shapes)

        # Names: (variant → region ids) for Chinese and romanised, every tier.
        self._zh: dict[str, set[str]] = {}
        self._en: dict[str, set[str]] = {}
        for region in self._regions.values():
            for variant in _zh_variants(region.name_zh):
                self._zh.setdefault(variant, set()).add(region.region_id)
            for variant in _en_variants(region.name_en, region.tier):
                self._en.setdefault(variant, set()).add(region.region_id)
        self._zh_lengths = sorted({len(v) for v in self._zh}, reverse=True)

    def _candidate(self, village: Region) -> Candidate:
        chain = [village]
        for tier in (Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY):
            parent_id = chain[-1].parent_id
            parent = None if parent_id is None else self._regions.get(parent_id)
            if parent is None or parent.tier is not tier:
                raise ValueError(
                    f"{chain[-1].region_id}: its parent {parent_id!r} is not a {tier.value} of the directory"
                )
            chain.append(parent)
        path = RegionPath(
            village=chain[0].region_id,
            township=chain[1].region_id,
            county=chain[2].region_id,
            city=chain[3].region_id,
        )
        return Candidate(
            region_id=village.region_id,
            name_zh=village.name_zh,
            name_en=village.name_en,
            path=path,
            names=tuple((r.region_id, r.name_zh, r.name_en) for r in chain[1:]),
        )

    def __len__(self) -> int:
        """How many villages."""
        return len(self._villages)

    def village(self, village_id: str) -> Candidate | None:
        return self._villages.get(village_id)

    # ---------------------------------------------------------------------------- by id

    def by_id(self, address_id: str) -> Located:
        """A village id (``v-dongshan``), or its full path from village to city separated by ``/``
        (``v-dongshan/t-xiazhuang/c-yishui/x-linyi``) that must match the directory."""
        parts = address_id.split("/")
        village = self._villages.get(parts[0])
        if village is None or (len(parts) != 1 and [village.path.at(t) for t in Tier] != parts):
            return Unknown()
        return Found(village, "id")

    # ---------------------------------------------------------------------------- by point

    def by_point(self, lat: float, lon: float, crs: Crs = Crs.WGS84) -> Located:
        """The village at a point given in ``crs``.

        Inside a boundary (or on it) → that village; a point on the line two villages share goes
        to the one with the smaller id. Outside every boundary → the village whose boundary is
        nearest, if within ``nearest_metres``; else :class:`Unknown` with the nearest village.
        """
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError(f"({lat}, {lon}) is not a position on the earth")
        lat, lon = to_wgs84(lat, lon, crs)
        if not self._shapes:
            return Unknown()
        point = shapely.Point(lon, lat)
        inside = sorted(self._shape_ids[i] for i in self._tree.query(point, predicate="intersects"))
        if inside:
            return Found(self._villages[inside[0]], "inside")

        per_lat, per_lon = _metres_per_degree(lat)
        reach_lat, reach_lon = self.nearest_metres / per_lat, self.nearest_metres / per_lon
        window = shapely.box(lon - reach_lon, lat - reach_lat, lon + reach_lon, lat + reach_lat)
        near = [
            (distance, self._shape_ids[i])
            for i in self._tree.query(window)
            if (distance := self._distance_m(point, int(i))) <= self.nearest_metres
        ]
        if near:
            distance, village_id = min(near)
            return Found(self._villages[village_id], "nearest", distance)
        nearest = self._tree.query_nearest(point)
        if len(nearest) == 0:
            return Unknown()
        index = min((int(i) for i in nearest), key=lambda i: self._shape_ids[i])
        return Unknown(self._villages[self._shape_ids[index]], self._distance_m(point, index))

    def _distance_m(self, point: Any, index: int) -> float:
        """Metres from ``point`` to the boundary of shape ``index``: the nearest point is found in a
        plane of metres centred on ``point`` (true to well under a metre over a few kilometres), and
        the distance to it is the haversine's."""
        lon0, lat0 = point.x, point.y
        per_lat, per_lon = _metres_per_degree(lat0)

        def to_metres(xy: Any) -> Any:
            return np.column_stack(((xy[:, 0] - lon0) * per_lon, (xy[:, 1] - lat0) * per_lat))

        local = shapely.transform(self._shapes[index], to_metres)
        _, nearest = shapely.shortest_line(shapely.Point(0.0, 0.0), local).coords
        lon = lon0 + nearest[0] / per_lon
        lat = lat0 + nearest[1] / per_lat
        return haversine_m(lat0, lon0, lat, lon)

    # ---------------------------------------------------------------------------- by address

    def by_address(self, text: str) -> Located:
        """The village an address names, by the names of its village and the regions above it.

        A named village (narrowed by the townships, counties and cities named with it) → that
        village, or :class:`Ambiguous` when several villages share the name; no village named but a
        township (county, city) → its villages, :class:`Found` if it has just one; a village that
        the named township does not hold → :class:`Ambiguous` between the village and the
        township's villages; nothing named → :class:`Unknown`.
        """
        named = self._names_in(text)
        by_tier: dict[Tier, set[str]] = {tier: set() for tier in Tier}
        for region_id in named:
            by_tier[self._regions[region_id].tier].add(region_id)

        scope = set(self._villages)
        area_named = False
        for tier in (Tier.CITY, Tier.COUNTY, Tier.TOWNSHIP):
            if by_tier[tier]:
                narrowed = {v for v in scope if self._villages[v].path.at(tier) in by_tier[tier]}
                if narrowed:
                    scope, area_named = narrowed, True
        villages = by_tier[Tier.VILLAGE]
        if villages:
            candidates = (villages & scope) or (villages | scope)
        elif area_named:
            candidates = scope
        else:
            return Unknown()
        if len(candidates) == 1:
            return Found(self._villages[next(iter(candidates))], "address")
        return Ambiguous(tuple(self._villages[v] for v in sorted(candidates)))

    def _names_in(self, text: str) -> set[str]:
        """The regions whose names the text holds (Chinese and romanised)."""
        zh = _zh(text)
        zh_hits = [
            _Hit(region_id, start, start + length)
            for length in self._zh_lengths
            for start in range(len(zh) - length + 1)
            for region_id in self._zh.get(zh[start : start + length], ())
        ]
        words = _latin_words(text)
        en_hits = [
            _Hit(region_id, start, end)
            for start in range(len(words))
            for end in range(start + 1, min(len(words), start + _MAX_WORDS) + 1)
            for region_id in self._en.get("".join(words[start:end]), ())
        ]
        return _outermost(zh_hits) | _outermost(en_hits)


def _polygon(region_id: str, geojson: Mapping[str, Any]) -> Any:
    try:
        geometry = shape(geojson)
    except Exception as err:  # shapely raises several kinds for a bad geometry
        raise ValueError(f"{region_id}: the boundary is not a GeoJSON geometry ({err})") from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        kind = geometry.geom_type
        raise ValueError(f"{region_id}: the boundary must be a Polygon or MultiPolygon, not {kind}")
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise ValueError(f"{region_id}: the boundary is not a valid polygon ({reason})")
    return geometry


# ------------------------------------------------------------------------------------ the sample


def square(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    """A GeoJSON Polygon with these edges (degrees, WGS-84), counter-clockwise."""
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def sample_regions() -> list[Region]:
    """THE SAMPLE, not a real grid: ``regions.SAMPLE``'s three villages as directory regions, with
    made-up square boundaries near Yishui county (about 35.78 N, 118.63 E).

    西山村 (v-xishan) and 东山村 (v-dongshan) of 夏庄镇 share the meridian 118.62 E; 南湖村
    (v-nanhu, 上庄镇, 蒙阴县) lies south of 东山村 across a gap of about 170 m. The API serves it
    until the directory's loader gives a county's own grid.
    """
    return [
        Region(region_id="x-linyi", tier=Tier.CITY, parent_id=None, name_zh="临沂市", name_en="Linyi"),
        Region(
            region_id="c-yishui", tier=Tier.COUNTY, parent_id="x-linyi", name_zh="沂水县", name_en="Yishui"
        ),
        Region(
            region_id="c-mengyin", tier=Tier.COUNTY, parent_id="x-linyi", name_zh="蒙阴县", name_en="Mengyin"
        ),
        Region(
            region_id="t-xiazhuang",
            tier=Tier.TOWNSHIP,
            parent_id="c-yishui",
            name_zh="夏庄镇",
            name_en="Xiazhuang",
        ),
        Region(
            region_id="t-shangzhuang",
            tier=Tier.TOWNSHIP,
            parent_id="c-mengyin",
            name_zh="上庄镇",
            name_en="Shangzhuang",
        ),
        Region(
            region_id="v-xishan",
            tier=Tier.VILLAGE,
            parent_id="t-xiazhuang",
            name_zh="西山村",
            name_en="Xishan",
            boundary=square(35.77, 118.60, 35.79, 118.62),
        ),
        Region(
            region_id="v-dongshan",
            tier=Tier.VILLAGE,
            parent_id="t-xiazhuang",
            name_zh="东山村",
            name_en="Dongshan",
            boundary=square(35.77, 118.62, 35.79, 118.64),
        ),
        Region(
            region_id="v-nanhu",
            tier=Tier.VILLAGE,
            parent_id="t-shangzhuang",
            name_zh="南湖村",
            name_en="Nanhu",
            boundary=square(35.7485, 118.62, 35.7685, 118.64),
        ),
    ]


def sample_gazetteer(*, nearest_metres: float = DEFAULT_NEAREST_METRES) -> Gazetteer:
    """A :class:`Gazetteer` over :func:`sample_regions` (the dev stack's and the tests' default)."""
    return Gazetteer(sample_regions(), nearest_metres=nearest_metres)
