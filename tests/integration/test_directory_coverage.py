"""双覆盖 coverage figures on the small hand-made directory: the store, the CLI and the public API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from petitionflow.api import create_app
from petitionflow.cli import app
from petitionflow.directory import import_files
from schemas.common import Tier
from store import directory as store
from tests.directory_files import HOUSEHOLDS, write_small

# (region, households, without a cadre, cadres, cadres without households, households per cadre)
BY_VILLAGE = [
    ("v-1", 4, 1, 2, 0, 1.5),  # h-1 h-2 (k-1), h-3 (k-2), h-4 (none)
    ("v-2", 1, 1, 1, 1, 0.0),  # h-5 (none); k-4 serves nobody
    ("v-3", 2, 0, 1, 0, 2.0),  # h-6 h-7 (k-3)
]
BY_TOWNSHIP = [("t-a1", 5, 2, 3, 1, 1.0), ("t-b1", 2, 0, 1, 0, 2.0)]
BY_COUNTY = [("c-a", 5, 2, 3, 1, 1.0), ("c-b", 2, 0, 1, 0, 2.0)]


def figures(rows: list[store.Coverage]) -> list[tuple[object, ...]]:
    return [
        (
            r.region_id,
            r.households,
            r.without_cadre,
            r.cadres,
            r.cadres_without_households,
            r.households_per_cadre,
        )
        for r in rows
    ]


async def test_coverage_by_village_township_and_county(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await import_files(pool, write_small(tmp_path))

    expectations = ((Tier.VILLAGE, BY_VILLAGE), (Tier.TOWNSHIP, BY_TOWNSHIP), (Tier.COUNTY, BY_COUNTY))
    for tier, expected in expectations:
        version, rows = await store.coverage(pool, tier)
        assert version == 1 and figures(rows) == expected, tier


async def test_coverage_in_the_cli(database_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    await import_files(pool, write_small(tmp_path))
    env = {"PETITIONFLOW_DATABASE_URL": database_url}

    def coverage(*args: str) -> Result:
        return CliRunner().invoke(app, ["directory", "coverage", *args], env=env)

    result = await asyncio.to_thread(coverage, "--by", "township", "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["version"], shown["by"]) == (1, "township")
    assert [
        (
            r["region_id"],
            r["households"],
            r["without_cadre"],
            r["cadres"],
            r["cadres_without_households"],
            r["households_per_cadre"],
        )
        for r in shown["regions"]
    ] == BY_TOWNSHIP
    table = await asyncio.to_thread(coverage, "--by", "village")
    assert table.exit_code == 0 and "一村" in table.stdout and "1.5" in table.stdout
    wrong = await asyncio.to_thread(coverage, "--by", "city")
    assert wrong.exit_code == 2 and "--by: 'city' is not one of village, township, county" in wrong.stderr


async def test_coverage_is_public_in_the_api_and_names_no_one(
    env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    api = create_app(temporal_client=env.client, pool=pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as http:
        empty = await http.get("/v1/directory/coverage")
        assert (empty.status_code, empty.json()["error"]["code"]) == (404, "no_directory")

        await import_files(pool, write_small(tmp_path))
        got = await http.get("/v1/directory/coverage", params={"by": "county"})  # no credentials
        assert got.status_code == 200
        body = got.json()
        assert body["version"] == 1 and body["by"] == "county"
        assert [
            (
                r["region_id"],
                r["households"],
                r["without_cadre"],
                r["cadres"],
                r["cadres_without_households"],
                r["households_per_cadre"],
            )
            for r in body["regions"]
        ] == BY_COUNTY
        assert not any(name in got.text for name in ("k-1", "张一", "h-1", "1391"))

        # a new version: h-4 gets a contact cadre; the figures follow the current version
        households = [["h-4", "v-1", "k-2", ""] if h[0] == "h-4" else h for h in HOUSEHOLDS]
        await import_files(pool, write_small(tmp_path / "v2", households=households))
        again = (await http.get("/v1/directory/coverage", params={"by": "county"})).json()
        assert again["version"] == 2
        assert [(r["region_id"], r["without_cadre"]) for r in again["regions"]] == [("c-a", 1), ("c-b", 0)]

        bad = await http.get("/v1/directory/coverage", params={"by": "city"})
        assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"] == "by"
