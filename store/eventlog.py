"""The event log: an idempotent, hash-chained append that updates the read models in the same transaction.

Writers of one petition are serialised by its row in ``streams``, locked ``FOR UPDATE`` (rows of
several petitions are locked in id order, so two batches never deadlock). That row also carries the
last seq and hash, so an append never has to read the log's tail. An advisory lock would serialise
just as well, but would still need the tail read, and can collide on a hashed key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from schemas import upcasting
from schemas.commands import PetitionerContact
from schemas.common import PetitionId
from schemas.events import Envelope, Event
from schemas.state import PetitionState
from store import append_plan, chain
from store._db import Conn, Db, connection
from store.append_plan import EventConflict as EventConflict
from store.append_plan import EventGap as EventGap
from store.append_plan import Head
from store.append_plan import Tentative as Tentative
from store.models import AppendResult, ChainProblem, ChainProblemKind
from store.projections import (
    ECHO_COLUMNS,
    NOTIFICATION_COLUMNS,
    OFFICE_FACT_COLUMNS,
    PETITION_COLUMNS,
    STINT_COLUMNS,
    EchoEntry,
    PetitionProjection,
    Record,
    Stint,
    project,
)

EVENT_COLUMNS = ("petition_id", "seq", "type", "version", "at", "actor", "body", "prev_hash", "hash")


async def append(
    db: Db, envelopes: Sequence[Envelope], *, tentative: Tentative | None = None
) -> AppendResult:
    """Store ``envelopes`` once each and update the read models, all in one transaction.

    Envelopes may belong to several petitions. What is skipped (already stored), written, replaced
    (a lost workflow task's tentative write) or refused is ``store.append_plan``'s decision, whose
    docstring holds the rules; this locks the streams, reads what the plan needs and carries it out.
    Replaced events move to ``superseded_events`` and the petition's read models are refolded
    without them.

    Raises:
        EventConflict: a seq is already taken by a different event, or a lost task's event arrives.
        EventGap: a petition's first new seq is not its last stored seq + 1, or its seqs skip.
        ValueError: the events do not fold (``lifecycle.evolve`` refuses one).
    """
    batches = append_plan.group(envelopes)
    if not batches:
        return AppendResult(appended=0, duplicates=0)
    ids = sorted(batches)
    async with connection(db) as conn, conn.transaction():
        heads = await _lock_streams(conn, ids)
        stored = await _stored_hashes(conn, batches, heads)
        decided = append_plan.plan(batches, heads, stored, tentative)
        for stream in decided.streams:
            if stream.supersede_from is not None:
                await supersede(conn, stream.petition_id, stream.supersede_from, stream.writes[0].prev_hash)
        writing = [s for s in decided.streams if s.writes]
        if writing:
            await _write(conn, writing)
    return AppendResult(appended=decided.appended, duplicates=decided.duplicates)


_LOCK = (
    "SELECT petition_id, last_seq, last_hash, tentative_from, tentative_at, recorded_through FROM streams"
    " WHERE petition_id = any($1::text[]) ORDER BY petition_id FOR UPDATE"
)


async def _lock_streams(conn: Conn, ids: list[PetitionId]) -> dict[PetitionId, Head]:
    rows = await conn.fetch(_LOCK, ids)
    if len(rows) < len(ids):  # new petitions: create their stream rows, then lock them all
        await conn.execute(
            "INSERT INTO streams (petition_id, last_seq, last_hash)"
            " SELECT id, 0, $2 FROM unnest($1::text[]) AS id ORDER BY id ON CONFLICT DO NOTHING",
            ids,
            chain.GENESIS,
        )
        rows = await conn.fetch(_LOCK, ids)
    return {
        row["petition_id"]: Head(
            last_seq=row["last_seq"],
            last_hash=bytes(row["last_hash"]),
            tentative_from=row["tentative_from"],
            tentative_at=row["tentative_at"],
            recorded_through=row["recorded_through"],
        )
        for row in rows
    }


async def _stored_hashes(
    conn: Conn, batches: dict[PetitionId, list[Envelope]], heads: dict[PetitionId, Head]
) -> append_plan.StoredHashes:
    """The stored ``(prev_hash, hash)`` of the seqs the batches overlap."""
    keys = [(pid, seq) for pid, batch in batches.items() for seq in append_plan.overlap(heads[pid], batch)]
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT e.petition_id, e.seq, e.prev_hash, e.hash FROM events e"
        " JOIN unnest($1::text[], $2::int[]) AS k(petition_id, seq)"
        " ON e.petition_id = k.petition_id AND e.seq = k.seq",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["petition_id"], r["seq"]): (bytes(r["prev_hash"]), bytes(r["hash"])) for r in rows}


async def supersede(conn: Conn, pid: PetitionId, seq: int, prev_hash: bytes) -> None:
    """Move the stream's events from ``seq`` on to ``superseded_events`` and refold the petition's
    read models from the events before it (the removed events' notifications go too)."""
    await conn.execute(
        "WITH gone AS (DELETE FROM events WHERE petition_id = $1 AND seq >= $2 RETURNING *)"
        " INSERT INTO superseded_events"
        " (petition_id, seq, type, version, at, actor, body, prev_hash, hash, recorded_at)"
        " SELECT petition_id, seq, type, version, at, actor, body, prev_hash, hash, recorded_at FROM gone",
        pid,
        seq,
    )
    await conn.execute(
        "UPDATE streams SET last_seq = $2, last_hash = $3 WHERE petition_id = $1", pid, seq - 1, prev_hash
    )
    # All of them, sent or not: the replacing events owe their own (a sent one goes out again, corrected).
    await conn.execute("DELETE FROM notifications WHERE petition_id = $1 AND seq >= $2", pid, seq)
    await conn.execute("DELETE FROM echo_wall WHERE petition_id = $1 AND seq >= $2", pid, seq)
    await conn.execute("DELETE FROM office_facts WHERE petition_id = $1 AND seq >= $2", pid, seq)
    await conn.execute("DELETE FROM tier_stints WHERE petition_id = $1", pid)
    kept = await read_events(conn, pid)
    if not kept:
        await conn.execute("DELETE FROM petitions WHERE petition_id = $1", pid)
        return
    projection = project([(envelope.seq, envelope.event) for envelope in kept])
    projection.notifications.clear()  # those of the kept events are in the outbox already
    projection.office_facts.clear()  # and so are their facts
    await save_projections(conn, [projection])


async def _write(conn: Conn, streams: list[append_plan.StreamPlan]) -> None:
    """Write the planned rows and heads, and fold the events into the read models."""
    projections = await load_projections(conn, [s.petition_id for s in streams])
    event_rows: list[Record] = []
    heads: list[Record] = []
    for stream in streams:
        projection = projections.setdefault(stream.petition_id, PetitionProjection())
        for write in stream.writes:
            envelope, event = write.envelope, write.envelope.event
            event_rows.append(
                (
                    stream.petition_id,
                    envelope.seq,
                    event.type,
                    event.version,
                    event.at,
                    chain.canonical_json(write.actor),
                    chain.canonical_json(write.body),
                    write.prev_hash,
                    write.hash,
                )
            )
            projection.apply(envelope.seq, event)
        head = stream.head
        heads.append(
            (
                stream.petition_id,
                head.last_seq,
                head.last_hash,
                head.tentative_from,
                head.tentative_at,
                head.recorded_through,
            )
        )
    await save_projections(conn, list(projections.values()), events=event_rows, heads=heads)


_S_COLUMNS = ", ".join(f"s.{c} AS s_{c}" for c in STINT_COLUMNS)
_E_COLUMNS = ", ".join(f"e.{c} AS e_{c}" for c in ECHO_COLUMNS)
_LOAD_PROJECTIONS = (
    f"SELECT p.petition_id, p.state::text AS state, {_S_COLUMNS}, {_E_COLUMNS} FROM petitions p"
    " LEFT JOIN tier_stints s ON s.petition_id = p.petition_id AND s.stint_no = p.stint_no"
    " LEFT JOIN echo_wall e ON e.petition_id = p.petition_id AND e.seq = p.resolution_seq"
    " WHERE p.petition_id = any($1::text[])"
)


async def load_projections(
    conn: Conn, petition_ids: list[PetitionId]
) -> dict[PetitionId, PetitionProjection]:
    """The stored read models of these petitions, ready for more events (absent: not filed yet)."""
    projections: dict[PetitionId, PetitionProjection] = {}
    for r in await conn.fetch(_LOAD_PROJECTIONS, petition_ids):
        projection = PetitionProjection(state=PetitionState.model_validate_json(r["state"]))
        if r["s_petition_id"] is not None:
            projection.stint = Stint(*(r[f"s_{c}"] for c in STINT_COLUMNS))
        if r["e_petition_id"] is not None:
            projection.echo = EchoEntry(*(r[f"e_{c}"] for c in ECHO_COLUMNS))
        projections[r["petition_id"]] = projection
    return projections


_SQL_TYPES = {
    "petition_id": "text",
    "seq": "int",
    "type": "text",
    "version": "int",
    "at": "timestamptz",
    "actor": "jsonb",
    "body": "jsonb",
    "prev_hash": "bytea",
    "hash": "bytea",
    "common_issue": "boolean",
    "overdue": "boolean",
    "filed_at": "timestamptz",
    "updated_at": "timestamptz",
    "current_deadline": "timestamptz",
    "finished": "boolean",
    "last_seq": "int",
    "stint_no": "int",
    "resolution_seq": "int",
    "state": "jsonb",
    "entered_at": "timestamptz",
    "respond_by": "timestamptz",
    "responded_at": "timestamptz",
    "responded_on_time": "boolean",
    "resolved_at": "timestamptz",
    "resolved_on_time": "boolean",
    "escalated": "boolean",
    "escalated_automatically": "boolean",
    "deadlines_missed": "int",
    "reopened": "int",
    "days_to_resolve": "float8",
    "on_time": "boolean",
    "payload": "jsonb",
    "seconds": "float8",
}
"""The PostgreSQL type of every read-model and event column not of type text."""

_HEAD_COLUMNS = ("petition_id", "last_seq", "last_hash", "tentative_from", "tentative_at", "recorded_through")


class _Statement:
    """Builds one SQL statement whose parts each take their rows as one array parameter per column."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params = 0

    def rows(self, columns: Sequence[str], types: Sequence[str] | None = None) -> str:
        """``unnest`` of the next parameters, one array per column, with an ``ord`` column."""
        arrays = ", ".join(
            f"${self.params + i + 1}::{t}[]"
            for i, t in enumerate(types or [_SQL_TYPES.get(c, "text") for c in columns])
        )
        self.params += len(columns)
        return f"unnest({arrays}) WITH ORDINALITY AS r({', '.join(columns)}, ord)"

    def insert(self, table: str, columns: Sequence[str], conflict: str) -> None:
        self.parts.append(
            f"_{table} AS (INSERT INTO {table} ({', '.join(columns)})"
            f" SELECT {', '.join(columns)} FROM {self.rows(columns)} ORDER BY ord {conflict})"
        )

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> None:
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
        self.insert(table, columns, f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")

    def sql(self) -> str:
        return f"WITH {', '.join(self.parts)} SELECT 1"


_NEWER_ZONE = "r.tentative_at IS NOT NULL AND (s.tentative_at IS NULL OR r.tentative_at >= s.tentative_at)"


def _save_statement() -> str:
    statement = _Statement()
    statement.insert("events", EVENT_COLUMNS, "")
    statement.parts.append(
        f"_streams AS (UPDATE streams s SET last_seq = r.last_seq, last_hash = r.last_hash,"
        # A zone moves only to the same or a later task's (store.append_plan, rule 7).
        f" tentative_from = CASE WHEN {_NEWER_ZONE} THEN r.tentative_from ELSE s.tentative_from END,"
        f" tentative_at = CASE WHEN {_NEWER_ZONE} THEN r.tentative_at ELSE s.tentative_at END,"
        " recorded_through = greatest(s.recorded_through, r.recorded_through)"
        f" FROM {statement.rows(_HEAD_COLUMNS, ('text', 'int', 'bytea', 'int', 'timestamptz', 'int'))}"
        " WHERE s.petition_id = r.petition_id)"
    )
    statement.upsert("petitions", PETITION_COLUMNS, ("petition_id",))
    statement.upsert("tier_stints", STINT_COLUMNS, ("petition_id", "stint_no"))
    statement.upsert("echo_wall", ECHO_COLUMNS, ("petition_id", "seq"))
    statement.insert(
        "notifications",
        NOTIFICATION_COLUMNS,
        "ON CONFLICT (petition_id, seq, recipient_role, recipient_id) DO NOTHING",
    )
    statement.insert(
        "office_facts", OFFICE_FACT_COLUMNS, "ON CONFLICT (petition_id, seq, office_id, fact) DO NOTHING"
    )
    return statement.sql()


_SAVE = _save_statement()


def _columns(records: Sequence[Record], width: int) -> list[Sequence[Any]]:
    """Rows as one sequence per column (what ``unnest`` takes)."""
    return list(zip(*records, strict=True)) if records else [()] * width


async def save_projections(
    conn: Conn,
    projections: list[PetitionProjection],
    *,
    events: Sequence[Record] = (),
    heads: Sequence[Record] = (),
) -> None:
    """Write ``events`` (rows of ``EVENT_COLUMNS``), the new stream ``heads`` (rows of
    ``_HEAD_COLUMNS``; a head's zone never moves back to an older task) and what changed in
    ``projections`` (upserts: the rows may or may not exist yet), in one statement: one round trip
    however many petitions and tables it touches."""
    stints = [r for p in projections for r in p.stint_records()]
    echoes = [r for p in projections for r in p.echo_records()]
    notifications = [r for p in projections for r in p.notifications]
    facts = [r for p in projections for r in p.office_fact_records()]
    await conn.execute(
        _SAVE,
        *_columns(events, len(EVENT_COLUMNS)),
        *_columns(heads, len(_HEAD_COLUMNS)),
        *_columns([p.petition_record() for p in projections], len(PETITION_COLUMNS)),
        *_columns(stints, len(STINT_COLUMNS)),
        *_columns(echoes, len(ECHO_COLUMNS)),
        *_columns(notifications, len(NOTIFICATION_COLUMNS)),
        *_columns(facts, len(OFFICE_FACT_COLUMNS)),
    )


# --------------------------------------------------------------------------------------- reading

EVENT_JSON_SQL = (  # the stored event as the JSON ``EVENT_ADAPTER`` reads
    "(body || jsonb_build_object('type', type, 'version', version, 'at', at, 'actor', actor))::text"
)


async def read_events(db: Db, petition_id: PetitionId) -> list[Envelope]:
    """A petition's stored events in order, upcast to today's versions and parsed (``parse_event``)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            f"SELECT seq, {EVENT_JSON_SQL} AS event FROM events WHERE petition_id = $1 ORDER BY seq",
            petition_id,
        )
    return [Envelope(petition_id=petition_id, seq=r["seq"], event=parse_event(r["event"])) for r in rows]


def parse_event(event_json: str) -> Event:
    """A stored event back as today's ``Event``: older schema versions are upcast first."""
    return upcasting.parse_event_json(event_json)


async def verify_chain(db: Db, petition_id: PetitionId) -> list[ChainProblem]:
    """Everything wrong with a petition's stored hash chain; empty when it is intact.

    Recomputes each row's hash from its stored columns: an edited row shows as ``hash_mismatch``, a
    deleted one as a ``gap`` at the next seq present (or a ``broken_link`` if seqs were renumbered).
    """
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT seq, type, version, at, actor::text AS actor, body::text AS body, prev_hash, hash"
            " FROM events WHERE petition_id = $1 ORDER BY seq",
            petition_id,
        )
    problems: list[ChainProblem] = []

    def problem(seq: int, kind: ChainProblemKind, detail: str) -> None:
        problems.append(ChainProblem(petition_id=petition_id, seq=seq, kind=kind, detail=detail))

    expected_seq, expected_prev = 1, chain.GENESIS
    for r in rows:
        seq, prev_hash, stored_hash = r["seq"], bytes(r["prev_hash"]), bytes(r["hash"])
        if seq != expected_seq:
            problem(seq, ChainProblemKind.GAP, f"seqs {expected_seq}..{seq - 1} are missing")
        elif prev_hash != expected_prev:
            problem(seq, ChainProblemKind.BROKEN_LINK, "prev_hash is not the hash of the event before")
        actor: Any = json.loads(r["actor"])
        body: Any = json.loads(r["body"])
        at: datetime = r["at"]
        data = chain.content(petition_id, seq, r["type"], r["version"], at, actor, body)
        if chain.link(prev_hash, data) != stored_hash:
            problem(
                seq, ChainProblemKind.HASH_MISMATCH, "its stored content does not hash to its stored hash"
            )
        expected_seq, expected_prev = seq + 1, stored_hash
    return problems


async def record_petitioner(db: Db, contact: PetitionerContact) -> None:
    """Store a petitioner's personal data (kept apart from the event log) on first sight of the id.

    A later filing naming the same ``petitioner_id`` changes nothing: no filing service proves who
    the household is, so one that names someone else's id (by mistake or on purpose), or an Open311
    POST with that ``account_id`` and no name, must neither replace nor blank the stored contact.
    Where the two disagree, the stored contact is kept; a correction is the petition office's to make.
    """
    async with connection(db) as conn:
        await conn.execute(
            "INSERT INTO petitioners (petitioner_id, name, phone, address) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (petitioner_id) DO NOTHING",
            contact.petitioner_id,
            contact.name,
            contact.phone,
            contact.address,
        )
