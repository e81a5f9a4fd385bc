"""Rebuild every read model from the event log, and dump them so two states can be compared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from store._db import Conn, Db, connection
from store.eventlog import EVENT_JSON_SQL, parse_event
from store.models import RebuildResult
from store.projections import (
    ECHO_COLUMNS,
    NOTIFICATION_COLUMNS,
    PETITION_COLUMNS,
    STINT_COLUMNS,
    PetitionProjection,
    Record,
)

ProgressFn = Callable[[RebuildResult], None]
"""Called after each batch with the totals so far."""

BATCH = 10_000
"""Events read per round trip; rows are written once this many events' worth has piled up."""


class _Buffers:
    """Rows waiting to be copied into the read-model tables."""

    def __init__(self) -> None:
        self.petitions: list[Record] = []
        self.stints: list[Record] = []
        self.echoes: list[Record] = []
        self.notifications: list[Record] = []

    def add(self, projection: PetitionProjection) -> None:
        self.petitions.append(projection.petition_record())
        self.stints += projection.stint_records()
        self.echoes += projection.echo_records()
        self.notifications += projection.notifications

    async def flush(self, conn: Conn) -> None:
        for table, columns, rows in (
            ("petitions", PETITION_COLUMNS, self.petitions),
            ("tier_stints", STINT_COLUMNS, self.stints),
            ("echo_wall", ECHO_COLUMNS, self.echoes),
            ("_rebuilt_notifications", NOTIFICATION_COLUMNS, self.notifications),
        ):
            if rows:
                await conn.copy_records_to_table(table, records=rows, columns=columns)
                rows.clear()


async def rebuild_read_models(db: Db, *, on_progress: ProgressFn | None = None) -> RebuildResult:
    """Empty the read models and refold every petition from ``events``, in one transaction.

    Appends wait while it runs (it locks ``streams``), and readers see the old read models until it
    commits. The notifications outbox is not emptied: its rows record what was sent, so missing ones
    are added back and existing ones are kept as they are.
    """
    petitions = events = 0
    async with connection(db) as conn, conn.transaction():
        await conn.execute("LOCK TABLE streams IN EXCLUSIVE MODE")
        await conn.execute("TRUNCATE petitions, tier_stints, echo_wall")
        await conn.execute(
            "CREATE TEMP TABLE _rebuilt_notifications ON COMMIT DROP AS"
            f" SELECT {', '.join(NOTIFICATION_COLUMNS)} FROM notifications WITH NO DATA"
        )
        buffers = _Buffers()
        projection: PetitionProjection | None = None
        current = ""
        after: tuple[str, int] = ("", 0)
        while True:
            # Keyset pages over the primary key: consistent, since no append can commit meanwhile.
            rows = await conn.fetch(
                f"SELECT petition_id, seq, {EVENT_JSON_SQL} AS event FROM events"
                " WHERE (petition_id, seq) > ($1, $2) ORDER BY petition_id, seq LIMIT $3",
                *after,
                BATCH,
            )
            for row in rows:
                if projection is None or row["petition_id"] != current:
                    if projection is not None:
                        buffers.add(projection)
                        petitions += 1
                    projection, current = PetitionProjection(), row["petition_id"]
                projection.apply(row["seq"], parse_event(row["event"]))
            events += len(rows)
            if len(rows) < BATCH:
                break
            after = (rows[-1]["petition_id"], rows[-1]["seq"])
            await buffers.flush(conn)
            if on_progress is not None:
                on_progress(RebuildResult(petitions=petitions, events=events))
        if projection is not None:
            buffers.add(projection)
            petitions += 1
        await buffers.flush(conn)
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


_DUMPS = {
    "petitions": (PETITION_COLUMNS, "petition_id"),
    "tier_stints": (STINT_COLUMNS, "petition_id, stint_no"),
    "echo_wall": (ECHO_COLUMNS, "petition_id, seq"),
    "notifications": (NOTIFICATION_COLUMNS, "petition_id, seq, recipient_role, recipient_id"),
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
