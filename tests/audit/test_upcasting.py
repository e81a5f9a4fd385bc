"""Events stored in an older schema version are upcast when read, and their hashes still hold."""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg

from petitionflow.audit import verify_all
from schemas import upcasting
from schemas.common import SYSTEM, Clock, Tier
from schemas.events import Acknowledged, ReminderDue
from store import chain, eventlog
from store.rebuild import rebuild_read_models
from tests.factories import T0, filing, official
from workflows import lifecycle

H = timedelta(hours=1)


async def _store_raw(
    pool: asyncpg.Pool, petition_id: str, rows: list[tuple[str, int, dict[str, object]]]
) -> None:
    """Write rows exactly as an older release would have: raw bodies, chained hashes."""
    prev = chain.GENESIS
    async with pool.acquire() as conn, conn.transaction():
        for seq, (type_, version, event) in enumerate(rows, start=1):
            at = event.pop("at")
            actor = event.pop("actor")
            data = chain.content(petition_id, seq, type_, version, at, actor, event)
            hash_ = chain.link(prev, data)
            await conn.execute(
                "INSERT INTO events (petition_id, seq, type, version, at, actor, body, prev_hash, hash)"
                " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9)",
                petition_id, seq, type_, version, at,
                chain.canonical_json(actor), chain.canonical_json(event), prev, hash_,
            )  # fmt: skip
            prev = hash_
        await conn.execute(
            "INSERT INTO streams (petition_id, last_seq, last_hash) VALUES ($1, $2, $3)",
            petition_id,
            len(rows),
            prev,
        )


def test_upcasting_steps_bring_old_shapes_to_version_1() -> None:
    assert upcasting.upcast({"type": "Acknowledged", "version": 0, "comment": "On my way."}) == {
        "type": "Acknowledged",
        "version": 1,
        "note": "On my way.",
    }
    assert upcasting.upcast({"type": "ReminderDue", "version": 0, "percent": 75})["point"] == 0.75
    assert upcasting.upcast({"type": "ReminderDue", "version": 0, "percent": None})["point"] is None
    current = {"type": "Acknowledged", "version": 1, "note": None}
    assert upcasting.upcast(current) == current


async def test_rows_of_version_0_are_read_back_as_version_1(pool: asyncpg.Pool) -> None:
    filed = lifecycle.decide(None, filing("old"), T0)[0]
    village = official(Tier.VILLAGE)
    await _store_raw(
        pool,
        "old",
        [
            ("PetitionFiled", 1, {**filed.model_dump(mode="json", exclude={"type", "version"}), "at": T0}),
            (
                "ReminderDue",
                0,
                {
                    "at": T0 + 12 * H,
                    "actor": SYSTEM.model_dump(mode="json"),
                    "tier": "village",
                    "clock": "respond",
                    "due_at": "2026-03-03T08:00:00Z",
                    "percent": 50,
                },
            ),
            (
                "Acknowledged",
                0,
                {
                    "at": T0 + 13 * H,
                    "actor": village.model_dump(mode="json"),
                    "tier": "village",
                    "comment": "On my way.",
                },
            ),
        ],
    )
    stored = await pool.fetch("SELECT version, body FROM events WHERE petition_id = 'old' ORDER BY seq")
    assert [(r["version"], json.loads(r["body"]).get("comment")) for r in stored][2] == (0, "On my way.")

    events = [e.event for e in await eventlog.read_events(pool, "old")]
    assert events[1] == ReminderDue(
        at=T0 + 12 * H, actor=SYSTEM, tier=Tier.VILLAGE, clock=Clock.RESPOND, due_at=T0 + 24 * H, point=0.5
    )
    assert events[2] == Acknowledged(at=T0 + 13 * H, actor=village, tier=Tier.VILLAGE, note="On my way.")
    assert await eventlog.verify_chain(pool, "old") == [], "the hash covers the row as stored, not as upcast"

    # The read models fold the upcast events; the auditor agrees with them, and with the chain.
    await rebuild_read_models(pool)
    sweep = await verify_all(pool, client=None)
    [report] = sweep.reports
    assert (report.petition_id, report.ok, report.events, report.findings) == ("old", True, 3, [])
    assert report.notes == ["Temporal was not consulted: no replay, and the history was not compared"]
