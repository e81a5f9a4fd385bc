"""The dev stack's directory: the sample county into an empty directory, or a county's own folder."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from petitionflow.cli._engine import SAMPLE, _load_directory
from petitionflow.directory import current_region_directory
from store import directory as store
from tests.directory_files import write_small


async def test_dev_loads_the_sample_into_an_empty_directory_once(pool: asyncpg.Pool) -> None:
    await _load_directory(pool, SAMPLE)
    await _load_directory(pool, SAMPLE)  # a restart: the directory is not empty any more

    [version] = await store.versions(pool)
    assert (version.version, version.source) == (1, "the generated sample county")
    assert version.counts == {
        "regions": 423,
        "offices": 429,
        "people": 3010,
        "duty": 400,
        "successors": 0,
        "households": 100_000,
    }
    regions = await current_region_directory(pool)
    assert regions is not None and len(regions) == 400
    dongshan = regions.resolve("v-dongshan/t-xiazhuang/c-yishui/x-linyi")
    assert dongshan is not None and dongshan.contact_cadre_id == "cadre-zhang"
    nanhu = regions.village("v-nanhu")
    assert nanhu is not None and nanhu.path.county == "c-mengyin" and nanhu.contact_cadre_id == "cadre-wang"
    assert (await store.household(pool, "hh-0042")).village_id == "v-dongshan"  # type: ignore[union-attr]


async def test_dev_directory_imports_a_folder_unless_it_is_the_current_version(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    write_small(tmp_path / "county")
    await _load_directory(pool, tmp_path / "county")
    await _load_directory(pool, tmp_path / "county")  # the same files again: nothing new
    assert [v.version for v in await store.versions(pool)] == [1]

    write_small(tmp_path / "county", duty=[["v-1", "k-2"]])
    await _load_directory(pool, tmp_path / "county")
    assert [v.version for v in await store.versions(pool)] == [2, 1]
    assert (await store.current_grid(pool)).duty == {"v-1": "k-2"}  # type: ignore[union-attr]
