"""Accept a pool or a connection wherever the store needs one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Db: TypeAlias = "asyncpg.Pool[asyncpg.Record] | Conn"
"""A pool (a connection is borrowed per call) or a connection (used as is, e.g. inside a transaction)."""


@asynccontextmanager
async def connection(db: Db) -> AsyncIterator[Conn]:
    """A connection from ``db``: borrowed from the pool, or ``db`` itself."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db
