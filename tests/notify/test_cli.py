"""``petitionflow notifications list | retry`` on a real outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import asyncpg
from click.testing import Result
from typer.testing import CliRunner

from petitionflow.cli import app
from store.eventlog import append
from tests.integration.story import Story


async def _invoke(database_url: str, *args: str) -> Result:
    env = {"PETITIONFLOW_DATABASE_URL": database_url}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_list_failed_and_retry_from_the_command_line(pool: asyncpg.Pool, database_url: str) -> None:
    story = Story("p-1")
    story.wait(timedelta(days=1))
    await append(pool, story.envelopes)
    await pool.execute(
        "UPDATE notifications SET failed_at = now(), sent_at = now(), attempts = 3,"
        " last_error = 'webhook answered HTTP 410' WHERE kind = 'escalated_to_you'"
    )
    (gone,) = await pool.fetch("SELECT id FROM notifications WHERE kind = 'escalated_to_you'")
    listed = await _invoke(database_url, "notifications", "list", "--failed", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["kind"], row["attempts"], row["last_error"]) == (
        gone["id"], "escalated_to_you", 3, "webhook answered HTTP 410"
    )  # fmt: skip
    everything = await _invoke(database_url, "notifications", "list", "--petition", "p-1", "--json")
    assert len(json.loads(everything.stdout)) == 9
    assert (
        json.loads(
            (await _invoke(database_url, "notifications", "list", "--petition", "p-2", "--json")).stdout
        )
        == []
    )

    neither = await _invoke(database_url, "notifications", "retry")
    assert neither.exit_code == 2 and "give notification ids or --failed" in neither.output
    unknown = await _invoke(database_url, "notifications", "retry", "9999")
    assert unknown.exit_code == 2 and "no notification 9999" in unknown.output
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE failed_at IS NOT NULL") == 1

    retried = await _invoke(database_url, "notifications", "retry", str(gone["id"]))
    assert retried.exit_code == 0, retried.output
    assert f"1 notification(s) due again: {gone['id']}" in retried.output
    after = await pool.fetchrow("SELECT * FROM notifications WHERE id = $1", gone["id"])
    assert after["failed_at"] is None and after["sent_at"] is None and after["attempts"] == 0
    assert after["retried_at"] is not None and after["last_error"] == "webhook answered HTTP 410"
