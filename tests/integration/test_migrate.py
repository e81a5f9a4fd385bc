"""Migrations apply once each, in order, even when two processes migrate at the same moment."""

from __future__ import annotations

import asyncio

import asyncpg

from store.migrate import migrate, migrations

ALL = [
    "001_event_log.sql",
    "002_read_models.sql",
    "003_credentials.sql",
    "004_tentative_appends.sql",
    "011_directory.sql",
    "013_notify_delivery.sql",
]


def test_the_shipped_migrations_in_order() -> None:
    assert [m.name for m in migrations()] == ALL


async def test_migrate_applies_everything_then_nothing(empty_database_url: str) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await migrate(conn) == ALL
        assert await migrate(conn) == []
        rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [tuple(r) for r in rows] == [(name[:3], name) for name in ALL]
    finally:
        await conn.close()


async def test_concurrent_migrations_apply_each_file_exactly_once(empty_database_url: str) -> None:
    async with asyncpg.create_pool(empty_database_url, min_size=4, max_size=4) as pool:
        results = await asyncio.gather(*(migrate(pool) for _ in range(4)))
        applied = [name for result in results for name in result]
        assert sorted(applied) == ALL
        assert sorted(results, key=len, reverse=True) == [ALL, [], [], []]
        assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == len(ALL)
        assert await pool.fetchval("SELECT to_regclass('events') IS NOT NULL") is True
