"""Refold one slice of the event log into read-model rows, in PostgreSQL's COPY text format.

The rebuild's unit of work: run in the rebuild's own process, or in worker processes that read the
rebuild's snapshot (``refold_in_snapshot``), so that slices are refolded on several cores at once.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from schemas import upcasting
from schemas.common import PetitionId
from schemas.events import EVENT_ADAPTER, Event
from schemas.policy import Policy
from store._db import Conn
from store.projections import NotificationKey, PetitionProjection, Record


@dataclass(frozen=True, slots=True)
class Slice:
    """The petitions whose ids are ``>= start`` and ``< stop``; None leaves that side open."""

    start: PetitionId | None
    stop: PetitionId | None

    def where(self) -> tuple[str, list[str]]:
        """The SQL condition on ``petition_id`` and its parameters."""
        conditions: list[str] = []
        params: list[str] = []
        for operator, bound in ((">=", self.start), ("<", self.stop)):
            if bound is not None:
                params.append(bound)
                conditions.append(f"petition_id {operator} ${len(params)}")
        return " AND ".join(conditions) or "true", params


@dataclass(slots=True)
class Refolded:
    """A slice's read-model rows, COPY text by table, and how much was folded.

    Only the notifications missing from the outbox are among the rows."""

    petitions: int
    events: int
    rows: dict[str, bytes]


# The stored event as the JSON ``EVENT_ADAPTER`` reads, as ``store.eventlog.EVENT_JSON_SQL`` gives it
# but built as text, which costs the server less than building a jsonb value. A filing's policy comes
# apart: policies repeat from petition to petition, so each distinct one is validated once.
_EVENTS = (
    "SELECT petition_id, seq,"
    """ '{"type":' || to_json(type) || ',"version":' || version || ',"at":' || to_json(at)"""
    """ || ',"actor":' || actor::text"""
    """ || CASE WHEN b.body = '{}' THEN '}' ELSE ',' || substr(b.body::text, 2) END,"""
    " b.policy::text"
    " FROM events, LATERAL (SELECT"
    "  CASE WHEN type = 'PetitionFiled' THEN body - 'policy' ELSE body END AS body,"
    "  CASE WHEN type = 'PetitionFiled' THEN body -> 'policy' END AS policy) b"
)
_OUTBOX = "SELECT petition_id, seq, recipient_role, recipient_id FROM notifications"


async def refold(conn: Conn, part: Slice) -> Refolded:
    """Fold every event of the petitions in ``part`` and return their read-model rows.

    ``conn`` must be in a transaction whose time zone is UTC, so events read back keep the UTC
    times they were made with.

    Raises:
        ValueError: a petition's events do not fold (``lifecycle.evolve`` refuses one, or seqs skip).
    """
    where, params = part.where()
    rows = await conn.fetch(f"{_EVENTS} WHERE {where} ORDER BY petition_id, seq", *params)
    in_outbox: set[NotificationKey] = {
        (r[0], r[1], r[2], r[3]) for r in await conn.fetch(f"{_OUTBOX} WHERE {where}", *params)
    }
    reader = _EventReader()
    projections: list[PetitionProjection] = []
    projection = PetitionProjection()
    current = None
    for petition_id, seq, event, policy in rows:
        if petition_id != current:
            projection = PetitionProjection(in_outbox=in_outbox)
            projections.append(projection)
            current = petition_id
        projection.apply(seq, reader.event(event, policy))
    return Refolded(
        petitions=len(projections),
        events=len(rows),
        rows={
            "petitions": _copy_text(p.petition_record() for p in projections),
            "tier_stints": _copy_text(r for p in projections for r in p.stint_records()),
            "echo_wall": _copy_text(r for p in projections for r in p.echo_records()),
            "notifications": _copy_text(r for p in projections for r in p.notifications),
            "office_facts": _copy_text(r for p in projections for r in p.office_fact_records()),
        },
    )


_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")


def refold_in_snapshot(dsn: str, snapshot: str, part: Slice) -> Refolded:
    """``refold`` on a connection of its own to ``dsn`` that sees the exported ``snapshot``.

    For a worker process: ``snapshot`` is what ``pg_export_snapshot()`` gave the rebuild's
    transaction, which must stay open until this returns."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")

    async def run() -> Refolded:
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                await conn.execute("SET LOCAL TIME ZONE 'UTC'")
                return await refold(conn, part)
        finally:
            await conn.close()

    return asyncio.run(run())


class _EventReader:
    """Stored events back as today's ``Event``, as ``store.eventlog.parse_event`` gives them; a
    policy is validated once however many filings carry it."""

    def __init__(self) -> None:
        self._policies: dict[str, Policy] = {}

    def event(self, event: str, policy: str | None) -> Event:
        """``event`` as ``_EVENTS`` gives it, with the ``policy`` taken out of a filing."""
        if policy is None:
            return upcasting.parse_event_json(event)
        raw: dict[str, Any] = json.loads(event)
        if upcasting.needs_upcast(raw["type"], raw["version"]):
            raw["policy"] = json.loads(policy)
            return upcasting.parse_event(raw)
        cached = self._policies.get(policy)
        if cached is None:
            if len(self._policies) >= 64:  # all different: keep the memory bounded
                self._policies.clear()
            cached = self._policies[policy] = Policy.model_validate_json(policy)
        # A validated, frozen model is taken as it is where a model of its class is expected.
        raw["policy"] = cached
        return EVENT_ADAPTER.validate_python(raw)


# ------------------------------------------------------------------------------------ COPY text

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_text(records: Iterable[Record]) -> bytes:
    """``records`` as the data of ``COPY ... FROM STDIN`` (text format)."""
    return "".join(["\t".join(map(_field, r)) + "\n" for r in records]).encode()


def _field(value: object) -> str:
    if isinstance(value, str):
        if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
            return value.translate(_ESCAPES)
        return value if type(value) is str else str.__str__(value)  # an enum member: its value
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime):
        # As asyncpg sends a timestamptz: ``astimezone`` takes a naive time as local time.
        return (value if value.tzinfo is not None else value.astimezone(UTC)).isoformat()
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"no COPY text for {type(value).__name__}")
