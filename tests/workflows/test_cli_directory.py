"""`petitionflow file` and `petitionflow directory notify-open` as a person runs them, against the
time-skipping server (a worker in this process) and this test's database holding a directory."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.testing import WorkflowEnvironment

import worker
from tests import directory
from tests.directory import DONGSHAN, TOWNSHIP, XISHAN

PETITIONFLOW = str(Path(sys.executable).parent / "petitionflow")


class Cli:
    def __init__(self, env: WorkflowEnvironment, database_url: str, task_queue: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PETITIONFLOW_")}
        self.env |= {
            "PETITIONFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "PETITIONFLOW_DATABASE_URL": database_url,
            "PETITIONFLOW_TASK_QUEUE": task_queue,
        }

    async def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            PETITIONFLOW,
            *args,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(None if stdin is None else stdin.encode()), 60)
        assert process.returncode is not None
        return process.returncode, out.decode(), " ".join(err.decode().split())

    async def json(self, *args: str) -> Any:
        code, out, err = await self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


FILE = ("file", "--name", "Wang Fang", "--description", "The lane floods.", "--category", "roads")


async def _in_read_model(pool: asyncpg.Pool, petition_id: str) -> None:
    for _ in range(400):
        if await pool.fetchval("SELECT last_seq FROM petitions WHERE petition_id = $1", petition_id):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{petition_id} never reached the read model")


async def test_file_by_household_and_walk_in_refuse_a_contradiction_then_notify_open(
    env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str
) -> None:
    await directory.insert(pool, 1)
    task_queue = str(uuid.uuid4())
    cli = Cli(env, database_url, task_queue)
    async with worker.build_worker(env.client, pool, task_queue=task_queue):
        household = await cli.json(*FILE, "--id", "cli-1", "--petitioner-id", "hh-0042")
        walk_in = await cli.json(*FILE, "--id", "cli-2", "--petitioner-id", "walk-in-3", "--village", XISHAN)
        contradiction = await cli(*FILE, "--id", "cli-3", "--petitioner-id", "hh-0042", "--village", XISHAN)
        stranger = await cli(*FILE, "--id", "cli-4", "--petitioner-id", "walk-in-4")

        await _in_read_model(pool, "cli-1")
        reassigned = directory.Directory()
        reassigned.households["hh-0042"] = (DONGSHAN, "cadre-wang")
        reassigned.people["cadre-wang"] = ("cadre", f"o-{DONGSHAN}")
        await directory.insert(pool, 2, reassigned)
        await _in_read_model(pool, "cli-2")
        notified = await cli.json("directory", "notify-open")

    assert (household["created"], household["petition"]["region"]["village"]) == (True, DONGSHAN)
    assert household["petition"]["contact_cadre_id"] == "cadre-zhang"
    assert (walk_in["petition"]["region"]["township"], walk_in["petition"]["contact_cadre_id"]) == (
        TOWNSHIP,
        "cadre-li",
    )
    assert contradiction[0] == 2
    assert (
        "village_id: household hh-0042 lives in village v-dongshan (directory version 1), not v-xishan"
        in (contradiction[2])
    )
    assert stranger[0] == 2 and "petitioner.petitioner_id: walk-in-4 is not a household" in stranger[2]
    assert await pool.fetchval("SELECT count(*) FROM petitions WHERE petition_id IN ('cli-3', 'cli-4')") == 0
    assert notified == {
        "version": 2,
        "changed": {"cli-1": ["ContactCadreChanged"]},
        "unchanged": 1,
        "skipped": {},
        "revoked": [],
    }
