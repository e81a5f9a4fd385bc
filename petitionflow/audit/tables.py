"""The read models someone relies on, checked row by row against the fold of the events.

The echo wall (what households read), ``tier_stints`` (the facts the figures, and so promotions,
are computed from) and the notifications owed are each refolded from the petition's events with
``store.projections.project``, the one fold the event log writes them with, and diffed against the
stored rows. A finding names the table, the row (its key), the field, what the fold expects and
what the table holds. The ``petitions`` row is compared by ``verify.compare_read_model``.

The outbox's own bookkeeping (``id``, ``created_at``, ``claimed_until``, ``sent_at``) is not a fact of
the events and is not compared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from petitionflow.audit._diff import differences
from petitionflow.audit.models import Check, Finding, Json
from schemas.common import PetitionId
from store import chain
from store._db import Db, connection
from store.projections import (
    ECHO_COLUMNS,
    NOTIFICATION_COLUMNS,
    STINT_COLUMNS,
    PetitionProjection,
)

TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "echo_wall": (ECHO_COLUMNS, ("petition_id", "seq")),
    "tier_stints": (STINT_COLUMNS, ("petition_id", "stint_no")),
    "notifications": (NOTIFICATION_COLUMNS, ("petition_id", "seq", "recipient_role", "recipient_id")),
}
"""Each audited read-model table: its compared columns and its key."""

Rows = dict[str, list[dict[str, Json]]]
"""A petition's rows of each table in ``TABLES``, as JSON objects."""


def jsonable(column: str, value: Any) -> Json:
    """A column's value as the export holds it: times canonical UTC, ``payload`` as an object."""
    if column == "payload" and isinstance(value, str):
        return json.loads(value)
    if hasattr(value, "isoformat") and hasattr(value, "tzinfo"):
        return chain.canonical_at(value)
    return value


def expected_rows(projection: PetitionProjection) -> Rows:
    """The rows the fold gives (``projection`` folded from an empty one, with no outbox)."""
    records = {
        "echo_wall": projection.echo_records(),
        "tier_stints": projection.stint_records(),
        "notifications": projection.notifications,
    }
    return {
        table: [
            {c: jsonable(c, v) for c, v in zip(TABLES[table][0], record, strict=True)}
            for record in records[table]
        ]
        for table in TABLES
    }


def _select(table: str) -> str:
    columns = ", ".join(f"{c}::text AS {c}" if c == "payload" else c for c in TABLES[table][0])
    order = ", ".join(TABLES[table][1])
    return f"SELECT {columns} FROM {table} WHERE petition_id = any($1::text[]) ORDER BY {order}"


async def load_rows(db: Db, petition_ids: Sequence[PetitionId]) -> dict[PetitionId, Rows]:
    """The stored rows of ``petition_ids`` in every audited table (a petition with none: all empty)."""
    ids = list(petition_ids)
    found: dict[PetitionId, Rows] = {pid: {table: [] for table in TABLES} for pid in ids}
    async with connection(db) as conn:
        for table, (columns, _) in TABLES.items():
            for record in await conn.fetch(_select(table), ids):
                row = {c: jsonable(c, record[c]) for c in columns}
                found[record["petition_id"]][table].append(row)
    return found


def row_key(table: str, row: dict[str, Json]) -> str:
    """A row's key, as a finding names it: ``p-1/4`` (echo wall), ``p-1/4/petitioner/h-9``."""
    return "/".join(str(row.get(k)) for k in TABLES[table][1])


def compare_rows(expected: Rows, stored: Rows) -> list[Finding]:
    """Every table's stored rows against the fold's: missing, extra and changed rows, field by field."""
    findings: list[Finding] = []
    for table in TABLES:
        want = {row_key(table, r): r for r in expected.get(table, [])}
        got = {row_key(table, r): r for r in stored.get(table, [])}
        for key in sorted(want.keys() | got.keys(), key=_natural):
            w, g = want.get(key), got.get(key)
            seq = (w or g or {}).get("seq")
            seq = seq if isinstance(seq, int) else None
            if g is None:
                assert w is not None
                findings.append(
                    Finding(
                        check=Check.READ_MODEL,
                        table=table,
                        row=key,
                        seq=seq,
                        message=f"{table} row {key} is owed by the events but missing: removed",
                        expected=_summary(table, w),
                        found=None,
                    )
                )
            elif w is None:
                findings.append(
                    Finding(
                        check=Check.READ_MODEL,
                        table=table,
                        row=key,
                        seq=seq,
                        message=f"{table} row {key} follows from no event: invented",
                        expected=None,
                        found=_summary(table, g),
                    )
                )
            else:
                for path, e, f in differences(w, g):
                    findings.append(
                        Finding(
                            check=Check.READ_MODEL,
                            table=table,
                            row=key,
                            seq=seq,
                            field=path,
                            message=f"{table} row {key}: {path} differs from the fold of the event log",
                            expected=e,
                            found=f,
                        )
                    )
    return findings


def _summary(table: str, row: dict[str, Json]) -> Json:
    if table == "notifications":
        return row.get("kind")
    if table == "echo_wall":
        return row.get("public_summary")
    return row.get("tier")


def _natural(key: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in key.split("/"))
