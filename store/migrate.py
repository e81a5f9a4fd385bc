"""Apply the numbered ``store/migrations/NNN_name.sql`` files in order, once each, safely in parallel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from store._db import Db, connection

MIGRATION_LOCK = 0x70657469  # "peti": the advisory lock every migrating process queues on
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with the package, in order."""
    folder = resources.files("store") / "migrations"
    found = [
        Migration(version=m.group(1), name=entry.name, sql=entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if (m := _NAME.match(entry.name))
    ]
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def migrate(db: Db) -> list[str]:
    """Apply the migrations not applied yet; returns the names of those applied now (in order).

    Each migration runs in its own transaction and is recorded in ``schema_migrations``. A session
    advisory lock makes concurrent callers queue, so each migration is applied exactly once.
    """
    applied_now: list[str] = []
    async with connection(db) as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for migration in migrations():
                if migration.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.version,
                        migration.name,
                    )
                applied_now.append(migration.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now
