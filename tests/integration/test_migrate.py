"""Migrations apply once each, in order, even when two processes migrate at the same moment."""

from __future__ import annotations

import asyncio

import asyncpg

from schemas.common import Tier
from store.migrate import migrate, migrations
from store.projections import PETITION_COLUMNS, project
from tests.unit._offices import CENTRE, centre_filing
from tests.unit._petitions import HOME, T0, filing
from workflows import lifecycle

ALL = [
    "001_event_log.sql",
    "002_read_models.sql",
    "003_credentials.sql",
    "004_tentative_appends.sql",
    "006_filing_integrity.sql",
    "007_idempotency_keys.sql",
    "008_rate_limits.sql",
    "011_directory.sql",
    "013_notify_delivery.sql",
    "014_answering_regions.sql",
    "016_offices.sql",
    "017_access.sql",
    "018_web.sql",
    "019_audit_checkpoints.sql",
    "020_holding_office.sql",
    "021_reply_code_recipients.sql",
    "022_notify_rate_windows.sql",
    "023_session_office.sql",
    "024_dispatch_deadlines.sql",
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


async def test_petitions_filed_before_006_are_kept_with_no_owner_and_old_keys_file_at_the_village(
    empty_database_url: str,
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        await _migrated_before(conn, "006")
        await conn.execute("INSERT INTO streams VALUES ('old-1', 3, $1)", b"\0" * 32)
        await conn.execute("INSERT INTO api_keys (key_hash, name) VALUES ($1, 'hotline')", b"\1" * 32)

        assert await migrate(conn) == [name for name in ALL if name >= "006"]

        owners = await conn.fetch("SELECT petition_id, service FROM petition_ids")
        assert [tuple(r) for r in owners] == [("old-1", None)]
        assert await conn.fetchval("SELECT tier FROM api_keys WHERE name = 'hotline'") == "village"
    finally:
        await conn.close()


async def test_020_gives_every_petition_the_office_its_fold_holds_it_by(empty_database_url: str) -> None:
    """Rows written before 020 get ``office_id``/``office_kind`` as the projection writes them now:
    a territorial office for a petition filed before offices, the centre for one taken in by it."""
    folded = [
        project(list(enumerate(lifecycle.decide(None, command, T0), 1)))
        for command in (
            filing(petition_id="pre-offices", tier=Tier.TOWNSHIP),
            centre_filing(petition_id="taken-in"),
        )
    ]
    records = [dict(zip(PETITION_COLUMNS, p.petition_record(), strict=True)) for p in folded]
    before = [c for c in PETITION_COLUMNS if c not in ("office_id", "office_kind")]
    conn = await asyncpg.connect(empty_database_url)
    try:
        await _migrated_before(conn, "020")
        await conn.copy_records_to_table(
            "petitions", records=[tuple(r[c] for c in before) for r in records], columns=before
        )

        assert await migrate(conn) == ALL[ALL.index("020_holding_office.sql") :]  # 020 and the later ones

        rows = await conn.fetch(
            "SELECT petition_id, office_id, office_kind FROM petitions ORDER BY petition_id"
        )
        assert [tuple(r) for r in rows] == [
            ("pre-offices", f"township:{HOME.township}", "territorial"),
            ("taken-in", CENTRE.office_id, "centre"),
        ]
        assert [tuple(r) for r in rows] == sorted(
            (r["petition_id"], r["office_id"], r["office_kind"]) for r in records
        )
    finally:
        await conn.close()


async def _migrated_before(conn: asyncpg.Connection, version: str) -> None:
    """The database as it was when the migrations before ``version`` were the latest."""
    await conn.execute(
        "CREATE TABLE schema_migrations (version text PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for migration in migrations():
        if migration.version < version:
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )


async def test_024_gives_a_petition_waiting_for_dispatch_its_dispatch_limit(empty_database_url: str) -> None:
    events = lifecycle.decide(None, centre_filing(), T0)
    record = dict(zip(PETITION_COLUMNS, project(list(enumerate(events, 1))).petition_record(), strict=True))
    expected = lifecycle.fold(events).dispatch_by
    record["current_deadline"] = None  # as written before 024
    conn = await asyncpg.connect(empty_database_url)
    try:
        await _migrated_before(conn, "024")
        await conn.copy_records_to_table("petitions", records=[tuple(record.values())], columns=list(record))

        assert await migrate(conn) == ["024_dispatch_deadlines.sql"]

        assert expected is not None
        assert await conn.fetchval("SELECT current_deadline FROM petitions") == expected
    finally:
        await conn.close()
