"""Fault tests: real Temporal dev server, real PostgreSQL, workers as processes we can kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

import worker as wiring
from petitionflow.client import PetitionClient
from petitionflow.dev.embedded_pg import EmbeddedPostgres
from petitionflow.dev.stack import TemporalDevServer, unused_port
from store.migrate import migrate

PETITIONFLOW = str(Path(sys.executable).parent / "petitionflow")


@dataclass
class Servers:
    temporal: TemporalDevServer
    postgres: EmbeddedPostgres
    database_url: str
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PETITIONFLOW_TEMPORAL_ADDRESS": self.temporal.address,
            "PETITIONFLOW_DATABASE_URL": self.database_url,
            "PETITIONFLOW_LOG_LEVEL": "warning",
        }
        log = (self.logs / f"worker-{len(self.workers)}.log").open("wb")
        process = subprocess.Popen([PETITIONFLOW, "worker"], env=env, stdout=log, stderr=log)
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    postgres = EmbeddedPostgres(tmp_path / "pg", port=unused_port())
    temporal = TemporalDevServer(tmp_path / "temporal", port=unused_port(), ui_port=unused_port(), ui=False)
    postgres.start()
    postgres.create_database("petitionflow")
    temporal.start()
    try:
        await temporal.wait_ready()
        url = postgres.url("petitionflow")
        connection = await asyncpg.connect(url)
        await migrate(connection)
        await connection.close()
        running = Servers(temporal, postgres, url, tmp_path)
        yield running
        running.stop_workers()
    finally:
        temporal.stop()
        if postgres.is_running():
            postgres.stop()


@pytest.fixture
async def petitions(servers: Servers) -> AsyncIterator[PetitionClient]:
    client = await wiring.connect(servers.temporal.address)
    async with asyncpg.create_pool(servers.database_url, min_size=1, max_size=4) as pool:
        yield PetitionClient(client, pool=pool)
