"""A small hand-made directory for the directory tests: one city, two counties, three villages.

    x-c 临城市 ─ c-a 甲县 ─ t-a1 甲一镇 ─ v-1 一村, v-2 二村
               └ c-b 乙县 ─ t-b1 乙一镇 ─ v-3 三村

Cadres k-1, k-2 (of 一村), k-4 (of 二村, no households), k-3 (of 三村); official o-1 of 甲县水利局.
Households: 一村 h-1 h-2 (k-1), h-3 (k-2), h-4 (none); 二村 h-5 (none); 三村 h-6 h-7 (k-3).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from petitionflow.directory import COLUMNS

CITY = ["x-c", "临城市", "Lincheng"]
COUNTY_A = ["c-a", "甲县", "Jiaxian"]
COUNTY_B = ["c-b", "乙县", "Yixian"]
TOWNSHIP_A = ["t-a1", "甲一镇", "Jiayi"]
TOWNSHIP_B = ["t-b1", "乙一镇", "Yiyi"]
GRID = [
    ["v-1", "一村", "Yicun", *TOWNSHIP_A, *COUNTY_A, *CITY],
    ["v-2", "二村", "Ercun", *TOWNSHIP_A, *COUNTY_A, *CITY],
    ["v-3", "三村", "Sancun", *TOWNSHIP_B, *COUNTY_B, *CITY],
]
OFFICES = [
    [
        "dept-c-a-water",
        "department",
        "county",
        "c-a",
        "甲县水利局",
        "Jiaxian Water Bureau",
        "",
        "0539-1",
        "w@a.cn",
        "",
    ],
]
PEOPLE = [
    ["k-1", "张一", "cadre", "office-v-1", "1381", "", ""],
    ["k-2", "李二", "cadre", "office-v-1", "", "", ""],
    ["k-3", "王三", "cadre", "office-v-3", "", "", ""],
    ["k-4", "赵四", "cadre", "office-v-2", "", "", ""],
    ["o-1", "钱五", "official", "dept-c-a-water", "", "o1@a.cn", "https://hooks.a.cn/o1"],
]
HOUSEHOLDS = [
    ["h-1", "v-1", "k-1", "1391"],
    ["h-2", "v-1", "k-1", ""],
    ["h-3", "v-1", "k-2", ""],
    ["h-4", "v-1", "", ""],
    ["h-5", "v-2", "", ""],
    ["h-6", "v-3", "k-3", ""],
    ["h-7", "v-3", "k-3", ""],
]
DUTY = [["v-1", "k-1"], ["v-2", "k-4"], ["v-3", "k-3"]]


def square(west: float, south: float, size: float = 0.01) -> dict[str, Any]:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def boundaries(features: Sequence[tuple[str, dict[str, Any] | None]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"village_id": v}, "geometry": g} for v, g in features
        ],
    }


BOUNDARIES = boundaries(
    [("v-1", square(118.0, 35.0)), ("v-2", square(118.01, 35.0)), ("v-3", square(118.02, 35.0))]
)


def write_csv(path: Path, kind: str, rows: Sequence[Sequence[str]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")  # as a spreadsheet writes it
        out.writerow(COLUMNS[kind])
        out.writerows(rows)
    return path


def write_small(folder: Path, **replace: Any) -> list[tuple[str | None, Path]]:
    """The small directory's files in ``folder`` (a kind given as ``None`` is left out)."""
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "grid": GRID,
        "boundaries": BOUNDARIES,
        "offices": OFFICES,
        "people": PEOPLE,
        "households": HOUSEHOLDS,
        "duty": DUTY,
        "successors": [],
    } | replace
    files: list[tuple[str | None, Path]] = []
    for kind, rows in data.items():
        if rows is None:
            continue
        if kind == "boundaries":
            path = folder / "boundaries.geojson"
            path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        else:
            path = write_csv(folder / f"{kind}.csv", kind, rows, bom=kind == "grid")
        files.append((None, path))
    return files
