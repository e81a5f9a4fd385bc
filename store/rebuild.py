"""Rebuild every read model from the event log, and dump them so two states can be compared."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import aclosing
from typing import Any

from store._db import Conn, Db, connection
from store._refold import Refolded, Slice, refold, refold_in_snapshot
from store.models import RebuildResult
from store.projections import (
    ECHO_COLUMNS,
    NOTIFICATION_COLUMNS,
    OFFICE_FACT_COLUMNS,
    PETITION_COLUMNS,
    STINT_COLUMNS,
)

ProgressFn = Callable[[RebuildResult], None]
"""Called after each slice with the totals so far."""

SLICE_EVENTS = 20_000
"""About how many events one slice of petitions holds: the unit of work of a worker process."""

WORKER_EVENTS = 200_000
"""A worker process is started for each this many events at most: starting one (a new interpreter
importing the schemas) costs about as much as refolding 20,000 events."""

_COLUMNS = {
    "petitions": PETITION_COLUMNS,
    "tier_stints": STINT_COLUMNS,
    "echo_wall": ECHO_COLUMNS,
    "notifications": NOTIFICATION_COLUMNS,
    "office_facts": OFFICE_FACT_COLUMNS,
}


async def rebuild_read_models(
    db: Db, *, on_progress: ProgressFn | None = None, workers: int = 1, dsn: str | None = None
) -> RebuildResult:
    """Empty the read models and refold every petition from ``events``, in one transaction.

    Appends wait while it runs (it locks ``streams``), and readers see the old read models until it
    commits. The notifications outbox is not emptied: its rows record what was sent, so missing ones
    are added back and existing ones are kept as they are.

    Args:
        workers: at most this many processes refold slices of petitions at the same time, each on
            a connection of its own that reads this transaction's snapshot; their rows are written
            here, so the rebuild stays one transaction. Fewer are started for a small log (one per
            ``WORKER_EVENTS``), and with 1 the petitions are refolded in this process.
        dsn: where the workers connect (the database ``db`` is on); needed when ``workers > 1``.
    """
    if workers > 1 and dsn is None:
        raise ValueError("workers > 1 need the dsn of the database to connect to")
    petitions = events = 0
    async with connection(db) as conn, conn.transaction():
        await conn.execute("LOCK TABLE streams IN EXCLUSIVE MODE")
        await conn.execute("SET LOCAL TIME ZONE 'UTC'")  # as ``refold`` needs it
        slices, logged = await _slices(conn)
        workers = min(workers, logged // WORKER_EVENTS)
        # Taken once no append can commit: every worker reads the same, complete log.
        snapshot = await conn.fetchval("SELECT pg_export_snapshot()") if workers > 1 else None
        await conn.execute("TRUNCATE petitions, tier_stints, echo_wall, office_facts")
        await conn.execute(
            "CREATE TEMP TABLE _rebuilt_notifications ON COMMIT DROP AS"
            f" SELECT {', '.join(NOTIFICATION_COLUMNS)} FROM notifications WITH NO DATA"
        )
        if dsn is not None and snapshot is not None:
            refolded = _in_workers(slices, workers, dsn, snapshot)
        else:
            refolded = _here(conn, slices)
        async with aclosing(refolded) as parts:
            async for part in parts:
                for table, rows in part.rows.items():
                    if rows:
                        await conn.copy_to_table(
                            "_rebuilt_notifications" if table == "notifications" else table,
                            source=_once(rows),
                            columns=_COLUMNS[table],
                        )
                petitions += part.petitions
                events += part.events
                if on_progress is not None:
                    on_progress(RebuildResult(petitions=petitions, events=events))
        await conn.execute(
            f"INSERT INTO notifications ({', '.join(NOTIFICATION_COLUMNS)})"
            f" SELECT {', '.join(NOTIFICATION_COLUMNS)} FROM _rebuilt_notifications"
            " ORDER BY petition_id, seq, recipient_role, recipient_id"
            " ON CONFLICT (petition_id, seq, recipient_role, recipient_id) DO NOTHING"
        )
    result = RebuildResult(petitions=petitions, events=events)
    if on_progress is not None:
        on_progress(result)
    return result


async def _slices(conn: Conn) -> tuple[list[Slice], int]:
    """Slices of about ``SLICE_EVENTS`` events that together hold every petition id there can be,
    and how many events there are."""
    totals = await conn.fetchrow("SELECT count(*), coalesce(sum(last_seq), 0) FROM streams")
    assert totals is not None
    petitions, events = totals
    per_slice = max(1, round(SLICE_EVENTS * petitions / events)) if events else 1
    starts = await conn.fetchval(
        "SELECT coalesce(array_agg(petition_id ORDER BY petition_id), '{}') FROM"
        " (SELECT petition_id, row_number() OVER (ORDER BY petition_id) AS n FROM streams) s"
        " WHERE n > 1 AND (n - 1) % $1 = 0",
        per_slice,
    )
    bounds = [None, *starts, None]
    return [Slice(start, stop) for start, stop in itertools.pairwise(bounds)], events


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _here(conn: Conn, slices: list[Slice]) -> AsyncGenerator[Refolded]:
    for part in slices:
        yield await refold(conn, part)


async def _in_workers(slices: list[Slice], workers: int, dsn: str, snapshot: str) -> AsyncGenerator[Refolded]:
    """The slices refolded by ``workers`` processes, in the order they finish."""
    loop = asyncio.get_running_loop()
    # spawn, not fork: this process has an event loop, open connections and maybe threads.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        waiting = list(reversed(slices))
        running: set[asyncio.Future[Refolded]] = set()
        while waiting or running:
            while waiting and len(running) < 2 * workers:  # one in hand while a worker folds the next
                part = waiting.pop()
                running.add(loop.run_in_executor(pool, refold_in_snapshot, dsn, snapshot, part))
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_DUMPS = {
    "petitions": (PETITION_COLUMNS, "petition_id"),
    "tier_stints": (STINT_COLUMNS, "petition_id, stint_no"),
    "echo_wall": (ECHO_COLUMNS, "petition_id, seq"),
    "notifications": (NOTIFICATION_COLUMNS, "petition_id, seq, recipient_role, recipient_id"),
    "office_facts": (OFFICE_FACT_COLUMNS, "petition_id, seq, office_id, fact"),
}


async def dump_read_models(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model row, table by table in key order, without ids and clocks of the outbox.

    Two dumps are equal exactly when the read models hold the same facts.
    """
    dump: dict[str, list[tuple[Any, ...]]] = {}
    async with connection(db) as conn:
        for table, (columns, order) in _DUMPS.items():
            # jsonb as text: PostgreSQL's jsonb output is normalised, so equal documents print equal.
            select = ", ".join(f"{c}::text" if c in ("state", "payload") else c for c in columns)
            rows = await conn.fetch(f"SELECT {select} FROM {table} ORDER BY {order}")
            dump[table] = [tuple(r) for r in rows]
    return dump
