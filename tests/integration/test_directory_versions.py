"""Directory versions: a re-import with a merger map, export and import back, diff, the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
from typer.testing import CliRunner

from petitionflow.cli import app
from petitionflow.directory import export_version, files_in, import_files
from store import directory as store
from tests.directory_files import BOUNDARIES, DUTY, GRID, HOUSEHOLDS, PEOPLE, boundaries, write_small

# Version 2: 二村 (v-2) merged into 一村 (v-1); its households and its cadre k-4 move there, k-2 leaves,
# k-9 joins 三村, h-1 changes phone, h-8 is new.
MERGED = {
    "grid": [row for row in GRID if row[0] != "v-2"],
    "boundaries": boundaries(
        [
            (f["properties"]["village_id"], f["geometry"])
            for f in BOUNDARIES["features"]
            if f["properties"]["village_id"] != "v-2"
        ]
    ),
    "people": [
        *(
            ["k-4", "赵四", "cadre", "office-v-1", "", "", ""] if p[0] == "k-4" else p
            for p in PEOPLE
            if p[0] != "k-2"
        ),
        ["k-9", "孙九", "cadre", "office-v-3", "", "", ""],
    ],
    "households": [
        ["h-1", "v-1", "k-1", "1399"],
        *(h for h in HOUSEHOLDS[1:] if h[0] not in ("h-3", "h-5")),
        ["h-3", "v-1", "k-1", ""],
        ["h-5", "v-1", "k-4", ""],
        ["h-8", "v-3", "k-9", ""],
    ],
    "duty": [d for d in DUTY if d[0] != "v-2"],
    "successors": [["v-2", "v-1"]],
}


async def test_a_re_import_is_a_new_version_with_its_successor_map(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await import_files(pool, write_small(tmp_path / "v1"))
    info = await import_files(pool, write_small(tmp_path / "v2", **MERGED))

    assert info.version == 2 and info.counts["successors"] == 1 and info.counts["regions"] == 7
    grid = await store.current_grid(pool)
    assert grid is not None
    assert grid.successors == {"v-2": "v-1"} and grid.region("v-2") is None
    assert (await store.household(pool, "h-5")).village_id == "v-1"  # type: ignore[union-attr]
    # the earlier version is kept as it was
    assert (await store.household(pool, "h-5", version=1)).village_id == "v-2"  # type: ignore[union-attr]
    old = await store.load_grid(pool, 1)
    assert old.region("v-2") is not None and old.successors == {}
    assert [v.version for v in await store.versions(pool)] == [2, 1]


async def test_diff_names_what_was_added_removed_and_changed(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await import_files(pool, write_small(tmp_path / "v1"))
    await import_files(pool, write_small(tmp_path / "v2", **MERGED))

    result = await store.diff(pool, 1, 2)

    assert [(c.kind, c.id, c.change, c.fields) for c in result.changes] == [
        ("regions", "v-2", "removed", []),
        ("offices", "office-v-2", "removed", []),
        ("people", "k-2", "removed", []),
        ("people", "k-4", "changed", ["office_id"]),
        ("people", "k-9", "added", []),
    ]
    # h-1 (phone), h-3 (cadre), h-5 (village and cadre) changed; h-8 added; h-2, h-4, h-6, h-7 kept
    assert result.households == {"added": 1, "removed": 0, "changed": 3, "unchanged": 4}
    assert (await store.diff(pool, 2, 2)).changes == []


async def test_an_export_imports_back_to_the_same_directory(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await import_files(pool, write_small(tmp_path / "given", **MERGED))
    written = await export_version(pool, tmp_path / "exported")
    assert list(written) == ["grid", "boundaries", "offices", "people", "households", "duty", "successors"]

    again = await import_files(pool, files_in(tmp_path / "exported"))

    assert again.version == 2
    result = await store.diff(pool, 1, 2)
    assert result.changes == [] and result.households == {
        "added": 0,
        "removed": 0,
        "changed": 0,
        "unchanged": 8,
    }
    first, second = await store.load_grid(pool, 1), await store.load_grid(pool, 2)
    assert (first.regions, first.offices, first.people, first.duty, first.successors) == (
        second.regions,
        second.offices,
        second.people,
        second.duty,
        second.successors,
    )
    await export_version(pool, tmp_path / "twice")
    for name in ("grid.csv", "offices.csv", "people.csv", "households.csv", "boundaries.geojson"):
        assert (tmp_path / "twice" / name).read_bytes() == (tmp_path / "exported" / name).read_bytes(), name


async def cli(database_url: str, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, list(args), env={"PETITIONFLOW_DATABASE_URL": database_url}
    )
    return result.exit_code, result.stdout, result.stderr


async def test_the_cli_imports_shows_diffs_and_exports(database_url: str, tmp_path: Path) -> None:
    v1 = [str(p) for _, p in write_small(tmp_path / "v1")]
    code, stdout, _ = await cli(database_url, "directory", "import", *v1)
    assert code == 0 and "imported directory version 1: 8 regions, 9 offices, 5 people" in stdout

    # kinds by option: a grid file named anything
    renamed = tmp_path / "v2" / "villages.txt"
    files = write_small(tmp_path / "v2", **MERGED)
    files[0][1].rename(renamed)
    rest = [str(p) for _, p in files[1:]]
    code, stdout, _ = await cli(database_url, "directory", "import", "--json", "--grid", str(renamed), *rest)
    assert code == 0 and json.loads(stdout)["version"] == 2

    code, stdout, _ = await cli(database_url, "directory", "show", "--json")
    shown = json.loads(stdout)
    assert code == 0 and shown["current"]["version"] == 2 and shown["current"]["counts"]["households"] == 8
    assert [v["version"] for v in shown["versions"]] == [2, 1]

    code, stdout, _ = await cli(database_url, "directory", "diff", "1", "2", "--json")
    assert code == 0 and json.loads(stdout)["households"]["added"] == 1

    code, stdout, _ = await cli(database_url, "directory", "export", "--version", "1", str(tmp_path / "out"))
    assert code == 0 and (tmp_path / "out" / "households.csv").read_text().count("\n") == 8

    bad = [str(p) for _, p in write_small(tmp_path / "bad", duty=[["v-9", "k-1"]])]
    code, _, stderr = await cli(database_url, "directory", "import", *bad)
    assert code == 2
    assert f"{tmp_path}/bad/duty.csv:2: village_id 'v-9' is not a village of the grid" in stderr
    assert "1 problem(s); nothing was imported" in stderr

    code, _, stderr = await cli(database_url, "directory", "diff", "1", "7")
    assert code == 2 and "there is no directory version 7" in stderr


async def test_prune_keeps_the_newest_versions_and_the_next_import_numbers_on(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    for n in (1, 2, 3):
        await import_files(pool, write_small(tmp_path / f"v{n}", **(MERGED if n == 2 else {})))
    refused = await cli(database_url, "directory", "prune", "--keep", "0")
    assert refused[0] == 2 and [v.version for v in await store.versions(pool)] == [3, 2, 1]

    code, printed, _ = await cli(database_url, "directory", "prune", "--keep", "2", "--json")
    assert (code, json.loads(printed)) == (0, {"deleted": [1]})
    assert [v.version for v in await store.versions(pool)] == [3, 2]
    assert await pool.fetchval("SELECT count(*) FROM directory_households WHERE version = 1") == 0
    assert (await store.household(pool, "h-5", version=2)).village_id == "v-1"  # type: ignore[union-attr]
    again = await cli(database_url, "directory", "prune", "--keep", "2")
    assert again[:2] == (0, "nothing to delete: at most 2 version(s) are kept\n")

    assert (await store.prune(pool, keep=1)) == [2]
    assert (await import_files(pool, write_small(tmp_path / "v4"))).version == 4
