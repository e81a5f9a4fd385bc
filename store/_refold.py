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


# The body without the filing's policy, and the policy apart: policies repeat from petition to
# petition, so each distinct one is validated once (``_EventReader``).
_EVENTS = (
    "SELECT petition_id, seq, type, version, at, actor::text,"
    " CASE WHEN type = 'PetitionFiled' THEN body - 'policy' ELSE body END::text,"
    " CASE WHEN type = 'PetitionFiled' THEN body -> 'policy' END::text"
    " FROM events WHERE {where} ORDER BY petition_id, seq"
)
_OUTBOX = "SELECT petition_id, seq, recipient_role, recipient_id FROM notifications WHERE {where}"


async def refold(conn: Conn, part: Slice) -> Refolded:
    """Fold every event of the petitions in ``part`` and return their read-model rows.

    Raises:
        ValueError: a petition's events do not fold (``lifecycle.evolve`` refuses one, or seqs skip).
    """
    where, params = part.where()
    rows = await conn.fetch(_EVENTS.format(where=where), *params)
    in_outbox: set[NotificationKey] = {
        (r[0], r[1], r[2], r[3]) for r in await conn.fetch(_OUTBOX.format(where=where), *params)
    }
    reader = _EventReader()
    projections: list[PetitionProjection] = []
    projection = PetitionProjection()
    current = None
    for petition_id, seq, type_, version, at, actor, body, policy in rows:
        if petition_id != current:
            projection = PetitionProjection(in_outbox=in_outbox)
            projections.append(projection)
            current = petition_id
        projection.apply(seq, reader.event(type_, version, at, actor, body, policy))
    return Refolded(
        petitions=len(projections),
        events=len(rows),
        rows={
            "petitions": _copy_text(p.petition_record() for p in projections),
            "tier_stints": _copy_text(r for p in projections for r in p.stint_records()),
            "echo_wall": _copy_text(r for p in projections for r in p.echo_records()),
            "notifications": _copy_text(r for p in projections for r in p.notifications),
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
                return await refold(conn, part)
        finally:
            await conn.close()

    return asyncio.run(run())


class _EventReader:
    """Stored events back as today's ``Event``, as ``upcasting.parse_event_json`` would give them.

    Takes the row's columns rather than one JSON document built by PostgreSQL (building it costs the
    server more than the rest of the read), and validates a policy once however many filings
    carry it."""

    def __init__(self) -> None:
        self._policies: dict[str, Policy] = {}
        self._heads: dict[tuple[str, int], str] = {}

    def event(
        self, type_: str, version: int, at: datetime, actor: str, body: str, policy: str | None
    ) -> Event:
        if policy is not None:
            return self._filing(type_, version, at, actor, body, policy)
        head = self._heads.get((type_, version))
        if head is None:
            head = self._heads[type_, version] = (
                f'{{"type":{json.dumps(type_)},"version":{json.dumps(version)},"at":'
            )
        rest = "}" if body == "{}" else "," + body[1:]
        text = f'{head}"{at.isoformat()}","actor":{actor}{rest}'
        if upcasting.needs_upcast(type_, version):
            return upcasting.parse_event(json.loads(text))
        return EVENT_ADAPTER.validate_json(text)

    def _filing(self, type_: str, version: int, at: datetime, actor: str, body: str, policy: str) -> Event:
        raw: dict[str, Any] = json.loads(body)
        raw |= {"type": type_, "version": version, "at": at.isoformat(), "actor": json.loads(actor)}
        if upcasting.needs_upcast(type_, version):
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
