"""Fixtures shared by every test folder: one embedded PostgreSQL per session, a fresh database per test."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from petitionflow.dev.embedded_pg import EmbeddedPostgres, free_port
from petitionflow.dev.testing import time_skipping

TEMPLATE = "petitionflow_template"
"""A migrated database that each test's database is copied from (faster than migrating each time)."""

_TEST_SETTINGS = {
    # Durability is not under test: a crash of the test server loses nothing we need.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}
_numbers = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    # The time-skipping test server does not advertise a capability that Temporal's core then warns
    # about on every worker start; keep the core's own log to errors so test output stays readable.
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    quiet = TelemetryConfig(
        logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    )
    Runtime.set_default(Runtime(telemetry=quiet), error_if_already_set=False)


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal server of the test's own: its clock is shared with no other test."""
    async with time_skipping() as environment:
        yield environment


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """The session's PostgreSQL server, on a free port, in a temporary folder."""
    server = EmbeddedPostgres(
        tmp_path_factory.mktemp("pg") / "data", port=free_port(), settings=_TEST_SETTINGS
    )
    with server:
        yield server


@pytest.fixture(scope="session")
async def pg_template(pg: EmbeddedPostgres) -> str:
    """The name of a database with every migration applied, used as a template."""
    from store.migrate import migrate

    pg.create_database(TEMPLATE)
    conn = await asyncpg.connect(pg.url(TEMPLATE))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return TEMPLATE


async def _new_database(pg: EmbeddedPostgres, template: str) -> str:
    name = f"test_{next(_numbers)}"
    admin = await asyncpg.connect(pg.dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return name


@pytest.fixture
async def database_url(pg: EmbeddedPostgres, pg_template: str) -> str:
    """The URL of a fresh, migrated database of this test's own."""
    return pg.url(await _new_database(pg, pg_template))


@pytest.fixture
async def empty_database_url(pg: EmbeddedPostgres) -> str:
    """The URL of a fresh database with no migrations applied."""
    return pg.url(await _new_database(pg, "template0"))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this test's migrated database; enough connections for concurrent writers."""
    async with asyncpg.create_pool(database_url, min_size=1, max_size=20) as p:
        yield p
