"""The embedded stack: Temporal's dev server and PostgreSQL from wheels, in one data folder.

``DevStack`` starts what is not given from outside (``PETITIONFLOW_TEMPORAL_ADDRESS``,
``PETITIONFLOW_DATABASE_URL``), waits until each answers, and stops what it started. Temporal keeps
its state in a SQLite file and PostgreSQL in its own data directory, both under ``data_dir``, so open
petitions and their pending timers survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog
from temporalio.client import Client

from petitionflow.dev.binaries import temporal_cli
from petitionflow.dev.embedded_pg import EmbeddedPostgres
from store.migrate import migrate
from workflows import search

log = structlog.get_logger(__name__)

DATABASE = "petitionflow"
_SEARCH_ATTRIBUTE_TYPES = {"KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList", "BOOL": "Bool"}


class PortTaken(RuntimeError):
    """A port the stack needs is in use by something else."""


def check_port_free(port: int, what: str, host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortTaken(
                f"port {port} ({what}) is already in use on {host}: stop what holds it, or choose "
                f"another port"
            ) from None


def unused_port(low: int = 20_000, high: int = 32_000) -> int:
    """A free port below Linux's ephemeral range (32768 and up).

    The Temporal dev server binds its internal services to ports the OS hands out from the
    ephemeral range; a frontend port taken from that range can be handed out again before the
    frontend binds it, and the server then dies. Ports chosen here cannot collide that way.
    """
    for _ in range(200):
        port = random.randint(low, high)
        try:
            check_port_free(port, "probe")
        except PortTaken:
            continue
        return port
    raise PortTaken(f"no free port between {low} and {high}")


@dataclass(frozen=True)
class Ports:
    temporal: int = 7233
    temporal_ui: int = 8233
    postgres: int = 55432


@dataclass(frozen=True)
class Endpoints:
    temporal_address: str
    database_url: str
    temporal_ui: str | None


class TemporalDevServer:
    """``temporal server start-dev`` with a SQLite file and our search attributes registered."""

    def __init__(
        self, data_dir: Path, *, port: int, ui_port: int, ui: bool = True, extra_args: Sequence[str] = ()
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.ui_port = ui_port
        self.ui = ui
        self.extra_args = tuple(extra_args)
        """More ``temporal server start-dev`` options, e.g. ``--dynamic-config-value KEY=VALUE``."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        check_port_free(self.port, "Temporal frontend")
        if self.ui:
            check_port_free(self.ui_port, "Temporal UI")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(temporal_cli()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db-filename",
            str(self.data_dir / "temporal.sqlite"),
            "--log-level",
            "warn",
        ]
        args += ["--ui-port", str(self.ui_port)] if self.ui else ["--headless"]
        for key in search.ALL:
            kind = _SEARCH_ATTRIBUTE_TYPES[key.indexed_value_type.name]
            args += ["--search-attribute", f"{key.name}={kind}"]
        args += self.extra_args
        log_file = (self.data_dir / "temporal.log").open("ab")
        # Its own process group, so Ctrl-C in a terminal reaches us first and we stop it in order.
        self._process = subprocess.Popen(args, stdout=log_file, stderr=log_file, start_new_session=True)

    async def wait_ready(self, *, within: float = 60) -> Client:
        """A client once the frontend answers; an error if the server exits or ``within`` s pass."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"the Temporal dev server exited with {self._process.returncode}; "
                    f"see {self.data_dir / 'temporal.log'}"
                )
            try:
                return await Client.connect(self.address)
            except RuntimeError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.25)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class DevStack:
    """Everything the engine needs, embedded unless the settings point at real servers."""

    def __init__(
        self,
        data_dir: Path,
        *,
        ports: Ports = Ports(),
        temporal_address: str | None = None,
        database_url: str | None = None,
        ui: bool = True,
        ui_codec_endpoint: str | None = None,
    ) -> None:
        """``ui_codec_endpoint``: the codec server the Temporal UI decodes payloads with."""
        self.data_dir = data_dir.absolute()
        self.ports = ports
        self._temporal_address = temporal_address
        self._database_url = database_url
        self.temporal = (
            None
            if temporal_address
            else TemporalDevServer(
                self.data_dir / "temporal",
                port=ports.temporal,
                ui_port=ports.temporal_ui,
                ui=ui,
                extra_args=["--ui-codec-endpoint", ui_codec_endpoint] if ui and ui_codec_endpoint else (),
            )
        )
        self.postgres = (
            None if database_url else EmbeddedPostgres(self.data_dir / "postgres", port=ports.postgres)
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Endpoints]:
        """Start, migrate, yield the endpoints; stop what was started on the way out."""
        try:
            endpoints = await self._start()
            yield endpoints
        finally:
            self.stop()

    async def _start(self) -> Endpoints:
        if self.postgres is not None:
            check_port_free(self.ports.postgres, "PostgreSQL")
            await asyncio.to_thread(self.postgres.start)
            await asyncio.to_thread(self.postgres.create_database, DATABASE)
            database_url = self.postgres.url(DATABASE)
        else:
            assert self._database_url is not None
            database_url = self._database_url
        if self.temporal is not None:
            self.temporal.start()
            await self.temporal.wait_ready()
            temporal_address = self.temporal.address
        else:
            assert self._temporal_address is not None
            temporal_address = self._temporal_address
        connection = await asyncpg.connect(database_url)
        try:
            applied = await migrate(connection)
        finally:
            await connection.close()
        log.info("stack_ready", temporal=temporal_address, migrations_applied=applied)
        ui = f"http://127.0.0.1:{self.ports.temporal_ui}" if self.temporal and self.temporal.ui else None
        return Endpoints(temporal_address=temporal_address, database_url=database_url, temporal_ui=ui)

    def stop(self) -> None:
        if self.temporal is not None:
            self.temporal.stop()
        if self.postgres is not None and self.postgres.is_running():
            self.postgres.stop()
