"""``audit figures``: the published figures recomputed from the events alone, and compared."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from petitionflow.api import create_app, serve
from petitionflow.audit.figures import audit_figures
from petitionflow.cli._audit import audit_app
from petitionflow.dev.embedded_pg import free_port
from schemas.common import Tier
from store import queries
from store.models import FigureGroup
from tests.audit.conftest import AuditStack, happy_petition


async def test_the_figures_the_events_give_are_the_ones_served(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "f-1")
    await happy_petition(audit_stack, "f-2")
    for by in (FigureGroup.TIER, FigureGroup.REGION, FigureGroup.OFFICIAL):
        recomputed, findings = await audit_figures(audit_stack.pool, by)
        assert findings == []
        assert recomputed == await queries.figures(audit_stack.pool, by)
    with pytest.raises(ValueError, match="by office: the office figures"):
        await audit_figures(audit_stack.pool, FigureGroup.OFFICE)
    [village] = (await audit_figures(audit_stack.pool, "tier", tier=Tier.VILLAGE))[0]
    assert (village.group, village.petitions, village.resolved, village.satisfied) == ("village", 2, 2, 2)


async def test_a_falsified_fact_behind_the_figures_is_named(
    audit_stack: AuditStack, database_url: str
) -> None:
    await happy_petition(audit_stack, "f-1")
    await happy_petition(audit_stack, "f-2")
    await audit_stack.pool.execute(
        "UPDATE tier_stints SET rating = 'satisfied', resolved_on_time = false WHERE petition_id = 'f-2'"
    )
    await audit_stack.pool.execute(
        "UPDATE tier_stints SET official_id = 'star-cadre' WHERE petition_id = 'f-1'"
    )
    _, by_tier = await audit_figures(audit_stack.pool, "tier")
    assert [(f.row, f.field, f.expected, f.found) for f in by_tier] == [
        ("village", "resolved_on_time", 2, 1),
        ("village", "on_time_rate", 1.0, 0.5),
    ]
    assert by_tier[1].message == "group village: on_time_rate served differs from the events' count"
    _, by_official = await audit_figures(audit_stack.pool, "official")
    assert [(f.row, f.field, f.expected, f.found) for f in by_official][:2] == [
        ("star-cadre", "stints", None, 1),
        ("village-official", "petitions", 2, 1),
    ]

    env = {"PETITIONFLOW_DATABASE_URL": database_url}
    printed = await asyncio.to_thread(
        CliRunner().invoke, audit_app, ["figures", "--by", "tier", "--json"], env=env
    )
    assert printed.exit_code == 1, printed.output
    answer = json.loads(printed.stdout)
    assert (answer["ok"], [f["field"] for f in answer["findings"]]) == (
        False,
        ["resolved_on_time", "on_time_rate"],
    )
    assert answer["figures"][0]["resolved_on_time"] == 2


async def test_the_figures_an_api_serves_are_compared_over_http(
    audit_stack: AuditStack, database_url: str
) -> None:
    await happy_petition(audit_stack, "f-1")
    await audit_stack.pool.execute(
        "UPDATE tier_stints SET responded_on_time = false WHERE petition_id = 'f-1'"
    )
    app = create_app(temporal_client=audit_stack.env.client, pool=audit_stack.pool)
    port = free_port()
    server = asyncio.create_task(serve(app, port=port))
    env = {"PETITIONFLOW_DATABASE_URL": database_url}
    try:
        for _ in range(200):
            try:
                await asyncio.to_thread(
                    urllib.request.urlopen, f"http://127.0.0.1:{port}/v1/figures", timeout=5
                )
                break
            except OSError:
                await asyncio.sleep(0.02)
        args = ["figures", "--by", "official", "--api", f"http://127.0.0.1:{port}", "--json"]
        with capture_logs():  # the server's request log would go to the CLI's captured stdout
            served = await asyncio.to_thread(CliRunner().invoke, audit_app, args, env=env)
    finally:
        server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server
    assert served.exit_code == 1, served.output
    assert [
        (f["row"], f["field"], f["expected"], f["found"]) for f in json.loads(served.stdout)["findings"]
    ] == [
        ("village-official", "responded_on_time", 1, 0),
        ("village-official", "response_rate", 1.0, 0.0),
    ]
    gone = await asyncio.to_thread(
        CliRunner().invoke, audit_app, ["figures", "--api", f"http://127.0.0.1:{port}"], env=env
    )
    assert (gone.exit_code, "cannot read the figures at" in gone.output) == (2, True)
