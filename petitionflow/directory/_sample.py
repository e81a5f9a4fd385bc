"""The dev stack's sample county, generated the same way every time (no randomness).

One city (临沂市, Linyi), two counties (沂水县 Yishui, 蒙阴县 Mengyin), 20 townships and 400 villages
whose boundaries are the cells of a 20 × 20 grid of about 1.6 × 1.7 km near Yishui's real
coordinates (neighbours share an edge, none overlap); 100,000 households, 3,000 cadres, officials
for the demo, a few departments (水利局 and 交通运输局 of each county, the city's 水利局 over the
counties' ones) and the city's 12345 hotline centre. The ids the tests and the demo use are kept:
``v-dongshan``/``t-xiazhuang``/``c-yishui``/``x-linyi``, ``v-xishan``, ``v-nanhu``/``t-shangzhuang``/
``c-mengyin``, their duty cadres ``cadre-zhang``, ``cadre-li``, ``cadre-wang``, households
``hh-0001`` … (``hh-0042`` in 东山村) and the demo's ``hh-101`` … ``hh-105`` and ``demo-cadre``.

``write_sample(folder)`` writes the files (``petitionflow directory import`` reads them back).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petitionflow.directory._files import COLUMNS, FILE_NAMES


@dataclass(frozen=True, slots=True)
class Sizes:
    columns: int = 20
    rows: int = 20
    households_per_village: int = 250


SAMPLE_SIZES = Sizes()

CITY = ("x-linyi", "临沂市", "Linyi")
COUNTIES = (("c-yishui", "沂水县", "Yishui"), ("c-mengyin", "蒙阴县", "Mengyin"))
TOWNSHIPS = (
    (
        ("下庄", "Xiazhuang"),
        ("许家湖", "Xujiahu"),
        ("黄山铺", "Huangshanpu"),
        ("诸葛", "Zhuge"),
        ("崔家峪", "Cuijiayu"),
        ("泉庄", "Quanzhuang"),
        ("马站", "Mazhan"),
        ("高桥", "Gaoqiao"),
        ("院东头", "Yuandongtou"),
        ("夏蔚", "Xiawei"),
    ),
    (
        ("上庄", "Shangzhuang"),
        ("常路", "Changlu"),
        ("岱崮", "Daigu"),
        ("坦埠", "Tanbu"),
        ("垛庄", "Duozhuang"),
        ("高都", "Gaodu"),
        ("野店", "Yedian"),
        ("桃墟", "Taoxu"),
        ("联城", "Liancheng"),
        ("旧寨", "Jiuzhai"),
    ),
)
_FIRST = tuple(
    zip(
        "东西南北前后大小高石黄白马杨李张王刘陈赵",
        [
            "dong",
            "xi",
            "nan",
            "bei",
            "qian",
            "hou",
            "da",
            "xiao",
            "gao",
            "shi",
            "huang",
            "bai",
            "ma",
            "yang",
            "li",
            "zhang",
            "wang",
            "liu",
            "chen",
            "zhao",
        ],
        strict=True,
    )
)
_SECOND = tuple(
    zip(
        "山湖庄河沟岭坡店集泉峪营屯桥寨楼官埠林园",
        [
            "shan",
            "hu",
            "zhuang",
            "he",
            "gou",
            "ling",
            "po",
            "dian",
            "ji",
            "quan",
            "yu",
            "ying",
            "tun",
            "qiao",
            "zhai",
            "lou",
            "guan",
            "bu",
            "lin",
            "yuan",
        ],
        strict=True,
    )
)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_KEPT = {"v-dongshan": ("cadre-zhang",), "v-xishan": ("cadre-li",), "v-nanhu": ("cadre-wang",)}
_DEMO_HOUSEHOLDS = ("hh-101", "hh-102", "hh-103", "hh-104", "hh-105")
_FIXED_CADRES = {"hh-0042": "cadre-zhang", **dict.fromkeys(_DEMO_HOUSEHOLDS, "demo-cadre")}
"""Households whose cadre the README, the demo and the tests name."""

WEST, NORTH = 118.45, 35.95
"""The north-west corner of the grid (Yishui county lies around 118.6° E, 35.8° N)."""
CELL_LON, CELL_LAT = 0.018, 0.015
"""A village cell: about 1.6 km east-west and 1.7 km north-south at this latitude."""


def _village_names() -> list[tuple[str, str]]:
    names = [(a + b, (pa + pb).capitalize()) for a, pa in _FIRST for b, pb in _SECOND]
    kept = [("东山", "Dongshan"), ("西山", "Xishan"), ("南湖", "Nanhu")]
    rest = [n for n in names if n not in kept]
    assert len({en for _, en in names}) == len(names)
    # 东山 and 西山 open 下庄镇 (the first township), 南湖 opens 上庄镇 (the eleventh).
    return [kept[0], kept[1], *rest[:198], kept[2], *rest[198:]]


def _cell(column: int, row: int) -> dict[str, Any]:
    def lon(c: int) -> float:
        return round(WEST + c * CELL_LON, 6)

    def lat(r: int) -> float:
        return round(NORTH - r * CELL_LAT, 6)

    ring = [
        [lon(column), lat(row + 1)],
        [lon(column + 1), lat(row + 1)],
        [lon(column + 1), lat(row)],
        [lon(column), lat(row)],
        [lon(column), lat(row + 1)],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _person(n: int) -> str:
    return (
        _SURNAMES[n % len(_SURNAMES)]
        + _GIVEN[(n // len(_SURNAMES)) % len(_GIVEN)]
        + (_GIVEN[(n // 7) % len(_GIVEN)] if n % 3 else "")
    )


def _write(folder: Path, kind: str, rows: list[list[str]]) -> Path:
    path = folder / FILE_NAMES[kind]
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS[kind])
        out.writerows(rows)
    return path


def write_sample(folder: Path, sizes: Sizes = SAMPLE_SIZES) -> list[Path]:
    """Write the sample county's files into ``folder``; return their paths."""
    assert sizes.columns == 20 and sizes.rows == 20, "the township blocks assume a 20 × 20 grid"
    folder.mkdir(parents=True, exist_ok=True)
    names = iter(_village_names())
    grid: list[list[str]] = []
    features: list[dict[str, Any]] = []
    villages: list[str] = []
    for county_index, county in enumerate(COUNTIES):
        for township_index, (t_zh, t_en) in enumerate(TOWNSHIPS[county_index]):
            township = (f"t-{t_en.lower()}", t_zh + "镇", t_en)
            block_column = county_index * 10 + (township_index % 2) * 5
            block_row = (township_index // 2) * 4
            for i in range(20):
                v_zh, v_en = next(names)
                row = (f"v-{v_en.lower()}", v_zh + "村", v_en)
                grid.append([*row, *township, *county, *CITY])
                features.append(
                    {
                        "type": "Feature",
                        "properties": {"village_id": row[0]},
                        "geometry": _cell(block_column + i % 5, block_row + i // 5),
                    }
                )
                villages.append(row[0])
    offices: list[list[str]] = []
    for county_id, county_zh, county_en in COUNTIES:
        code = county_en.lower()
        offices += [
            [
                f"dept-{county_id}-water",
                "department",
                "county",
                county_id,
                county_zh + "水利局",
                f"{county_en} Water Resources Bureau",
                "dept-x-linyi-water",
                "0539-2" + str(len(code)) + "00101",
                f"water@{code}.example.gov.cn",
                f"https://hooks.{code}.example.gov.cn/water",
            ],
            [
                f"dept-{county_id}-transport",
                "department",
                "county",
                county_id,
                county_zh + "交通运输局",
                f"{county_en} Transport Bureau",
                f"office-{county_id}",
                "",
                f"transport@{code}.example.gov.cn",
                "",
            ],
        ]
    offices += [
        [
            "dept-x-linyi-water",
            "department",
            "city",
            "x-linyi",
            "临沂市水利局",
            "Linyi Water Resources Bureau",
            "office-x-linyi",
            "0539-8100101",
            "water@linyi.example.gov.cn",
            "",
        ],
        [
            "centre-x-linyi",
            "centre",
            "city",
            "x-linyi",
            "临沂市12345政务服务便民热线",
            "Linyi 12345 Hotline",
            "office-x-linyi",
            "12345",
            "12345@linyi.example.gov.cn",
            "https://hooks.linyi.example.gov.cn/12345",
        ],
    ]
    people: list[list[str]] = []
    duty: list[list[str]] = []
    households: list[list[str]] = []
    number = 0
    for index, village in enumerate(villages):
        count = 8 if index % 2 == 0 else 7
        ids = list(_KEPT.get(village, ()))
        if village == "v-dongshan":
            ids.append("demo-cadre")
        ids += [f"cadre-{village[2:]}-{n}" for n in range(len(ids) + 1, count + 1)]
        for person_id in ids:
            people.append(
                [
                    person_id,
                    _person(len(people)),
                    "cadre",
                    f"office-{village}",
                    f"138{len(people):08d}",
                    "",
                    "",
                ]
            )
        duty.append([village, ids[0]])
        # One village in ten leaves its last cadre without households; one household in fifty
        # has no contact cadre yet.
        serving = ids[:-1] if index % 10 == 9 else ids
        for j in range(sizes.households_per_village):
            number += 1
            household = f"hh-{number:04d}"
            if village == "v-dongshan" and j >= sizes.households_per_village - len(_DEMO_HOUSEHOLDS):
                household = _DEMO_HOUSEHOLDS[j - (sizes.households_per_village - len(_DEMO_HOUSEHOLDS))]
            cadre = _FIXED_CADRES.get(household) or ("" if j % 50 == 49 else serving[j % len(serving)])
            households.append([household, village, cadre, f"139{number:08d}"])
    officials = [
        ("li-village", "李村长", "office-v-dongshan"),
        ("wu", "吴镇长", "office-t-xiazhuang"),
        ("wu-village", "吴村干部", "office-v-dongshan"),
        ("wu-township", "吴镇干部", "office-t-xiazhuang"),
        *(
            (f"demo-{tier}-official", f"演示{zh}", f"office-{region}")
            for tier, zh, region in (
                ("village", "村干部", "v-dongshan"),
                ("township", "镇干部", "t-xiazhuang"),
                ("county", "县干部", "c-yishui"),
                ("city", "市干部", "x-linyi"),
            )
        ),
    ]
    for county_id, _, _ in COUNTIES:
        officials.append(
            (f"official-{county_id}-water", _person(len(people) + len(officials)), f"dept-{county_id}-water")
        )
    for person_id, name, office in officials:
        people.append([person_id, name, "official", office, "", f"{person_id}@example.gov.cn", ""])
    boundaries = folder / FILE_NAMES["boundaries"]
    boundaries.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    return [
        _write(folder, "grid", grid),
        boundaries,
        _write(folder, "offices", offices),
        _write(folder, "people", people),
        _write(folder, "duty", duty),
        _write(folder, "households", households),
    ]
