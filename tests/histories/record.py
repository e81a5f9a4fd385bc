"""Re-record the golden histories: ``.venv/bin/python -m tests.histories.record [--encrypted] [NAME ...]``.

``--encrypted`` records them with the payload codec on, into ``tests/histories/encrypted/``, under
the TEST-ONLY key file there (its AES key, and ``happy-path-sm4`` under its SM4 key).

Runs each scenario of ``scenarios.py`` with the real workflow and the real event-log activity on
Temporal's time-skipping server and an embedded PostgreSQL, then saves the petition's audit export
(every run's history, the stored events with their hashes) as ``tests/histories/<name>.json``. Each
file is verified offline before it is written. See ``docs/changing-workflows.md`` for when to do it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg

import worker
from petitionflow.audit import export, verify_export, write_export
from petitionflow.client import PetitionClient
from petitionflow.codec import Keyring
from petitionflow.converter import data_converter
from petitionflow.dev.embedded_pg import EmbeddedPostgres, free_port
from petitionflow.dev.testing import time_skipping
from store.migrate import migrate
from tests.histories.scenarios import SCENARIOS

HERE = Path(__file__).parent
ENCRYPTED = HERE / "encrypted"
TEST_KEY_FILE = ENCRYPTED / "TEST-ONLY-keys.json"
"""A key file for these recordings and their replay only: its keys protect nothing real."""
SM4_SUFFIX = "-sm4"


def golden_keyring(primary: str | None = None) -> Keyring:
    """The TEST-ONLY keyring, with ``primary`` (a key id in it) as its primary if given."""
    ring = Keyring.load(TEST_KEY_FILE)
    return ring if primary is None else Keyring(ring.keys.values(), primary)


async def settle(petitions: PetitionClient, pool: asyncpg.Pool, petition_id: str) -> None:
    """Wait until the event log holds every event of the workflow's view."""
    for _ in range(400):
        seq = (await petitions.view(petition_id)).seq
        if (
            await pool.fetchval(
                "SELECT coalesce(max(seq), 0) FROM events WHERE petition_id = $1", petition_id
            )
            == seq
        ):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the event log of {petition_id} never caught up with the workflow")


async def record(
    names: Sequence[str], out_dir: Path = HERE, *, keyring: Keyring | None = None, suffix: str = ""
) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "data", port=free_port()) as pg:
        pg.create_database("golden")
        async with asyncpg.create_pool(pg.url("golden"), min_size=1, max_size=8) as pool:
            await migrate(pool)
            for name in names:
                async with time_skipping(keyring=keyring) as env:
                    task_queue = str(uuid.uuid4())
                    petitions = PetitionClient(env.client, task_queue=task_queue)
                    async with worker.build_worker(env.client, pool, task_queue=task_queue):
                        petition_id = await SCENARIOS[name](env, petitions)
                        await settle(petitions, pool, petition_id)
                        exported = await export(env.client, pool, petition_id)
                report = await verify_export(exported, converter=data_converter(keyring))
                if not report.ok:
                    raise RuntimeError(f"{name} does not verify: {report.findings}")
                path = out_dir / f"{name}{suffix}.json"
                write_export(exported, path)
                written.append(path)
                print(f"{path}: {len(exported.runs)} run(s), {len(exported.events)} event(s)")
    return written


def main() -> None:
    args = sys.argv[1:]
    encrypted = "--encrypted" in args
    names = [a for a in args if a != "--encrypted"] or list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {sorted(SCENARIOS)}")
    if not encrypted:
        asyncio.run(record(names))
        return
    asyncio.run(record(names, ENCRYPTED, keyring=golden_keyring("golden-aes")))
    if "happy-path" in names:
        asyncio.run(
            record(["happy-path"], ENCRYPTED, keyring=golden_keyring("golden-sm4"), suffix=SM4_SUFFIX)
        )


if __name__ == "__main__":
    main()
