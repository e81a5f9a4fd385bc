"""The file formats the README shows, five lines each, import as they stand."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from petitionflow.directory import import_files
from store import directory as store

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"<!-- directory-example: (\S+) -->\n```\w+\n(.*?)```", re.DOTALL)


async def test_the_readme_examples_import(pool: asyncpg.Pool, tmp_path: Path) -> None:
    examples = EXAMPLE.findall(README.read_text(encoding="utf-8"))
    assert [name for name, _ in examples] == [
        "grid.csv",
        "boundaries.geojson",
        "offices.csv",
        "people.csv",
        "households.csv",
        "duty.csv",
        "successors.csv",
    ]
    for name, text in examples:
        assert text.count("\n") == 5, name  # a header and four rows (GeoJSON: five lines)
        (tmp_path / name).write_text(text, encoding="utf-8")

    info = await import_files(pool, [(None, tmp_path / name) for name, _ in examples])

    assert info.counts == {
        "regions": 9,
        "offices": 12,
        "people": 4,
        "duty": 4,
        "successors": 4,
        "households": 4,
    }
    grid = await store.current_grid(pool)
    assert grid is not None
    offices = {o.office_id: o for o in grid.offices}
    assert offices["office-c-yishui"].supervisor_id == "office-x-linyi"
    assert offices["centre-x-linyi"].supervisor_id == "office-x-linyi"
    assert offices["office-v-dongshan"].name_zh == "东山村村民委员会"
