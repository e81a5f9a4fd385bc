"""``audit figures``: the published figures recomputed from the events alone, and compared."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from datetime import timedelta
from typing import Any

import asyncpg
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
from tests.integration.test_office_figures import offices_at_work
from tests.unit._offices import HOME, TOWNSHIP, staff
from tests.unit._petitions import T0


async def test_the_figures_the_events_give_are_the_ones_served(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "f-1")
    await happy_petition(audit_stack, "f-2")
    for by in (FigureGroup.TIER, FigureGroup.REGION, FigureGroup.OFFICIAL):
        recomputed, findings = await audit_figures(audit_stack.pool, by)
        assert findings == []
        assert recomputed == await queries.figures(audit_stack.pool, by)
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


# ------------------------------------------------------------------------------------ by office

MINUTE = timedelta(minutes=1)


async def test_the_office_figures_the_events_give_are_the_ones_served(pool: asyncpg.Pool) -> None:
    await offices_at_work(pool, "o")
    periods: list[dict[str, Any]] = [
        {},
        {"tier": Tier.COUNTY},
        {"tier": Tier.TOWNSHIP},
        {"region_id": HOME.county},
        {"since": T0 + 25 * MINUTE},
        {"until": T0 + 45 * MINUTE},
        {"since": T0 + 25 * MINUTE, "until": T0 + 55 * MINUTE, "tier": Tier.COUNTY},
        {"official_id": staff(TOWNSHIP).id},
    ]
    for period in periods:
        recomputed, findings = await audit_figures(pool, "office", **period)
        assert findings == [], period
        assert recomputed == await queries.figures(pool, "office", **period), period

    rows = {row.group: row for row in (await audit_figures(pool, FigureGroup.OFFICE))[0]}
    assert sorted(str(g) for g in rows) == [
        "centre-yishui",
        "roads-yishui",
        "township:t-xujiahu",
        "village:v-dongli",
        "water-yishui",
    ]
    centre, water = rows["centre-yishui"].office, rows["water-yishui"].office
    assert centre is not None and water is not None
    assert (centre.dispatched, centre.dispatched_on_time, centre.average_dispatch_minutes) == (3, 2, 104 / 3)
    assert (water.received, water.sent_back, water.summoned, water.summons_answered_on_time) == (1, 1, 1, 1)
    assert (rows["village:v-dongli"].stints, rows["village:v-dongli"].office) == (1, None)
    # The facts are kept by their own moment: from +25 the centre's first dispatch (at +4) is out.
    later = {row.group: row for row in (await audit_figures(pool, "office", since=T0 + 25 * MINUTE))[0]}
    later_centre = later["centre-yishui"].office
    assert later_centre is not None and (later_centre.dispatched, later_centre.average_dispatch_minutes) == (
        2,
        50.0,
    )


async def test_a_falsified_office_fact_is_named(pool: asyncpg.Pool, database_url: str) -> None:
    await offices_at_work(pool, "o")
    env = {"PETITIONFLOW_DATABASE_URL": database_url}
    clean = await asyncio.to_thread(CliRunner().invoke, audit_app, ["figures", "--by", "office"], env=env)
    assert clean.exit_code == 0, clean.output
    assert "figures by office, from the events" in clean.output
    assert "the served figures agree with the events: verified" in clean.output

    await pool.execute(
        "UPDATE office_facts SET on_time = NOT on_time WHERE petition_id = 'o-b' AND fact = 'dispatched'"
    )
    await pool.execute("DELETE FROM office_facts WHERE fact = 'sent_back'")
    await pool.execute(
        "UPDATE office_facts SET seconds = 60 WHERE petition_id = 'o-a' AND fact = 'dispatched'"
    )

    _, findings = await audit_figures(pool, "office")
    assert [(f.row, f.field, f.expected, f.found) for f in findings] == [
        ("centre-yishui", "office.dispatched_on_time", 2, 3),
        ("centre-yishui", "office.average_dispatch_minutes", 104 / 3, 92 / 3),
        ("centre-yishui", "office.dispatch_on_time_rate", 2 / 3, 1.0),
        ("water-yishui", "office.sent_back", 1, 0),
        ("water-yishui", "office.send_back_rate", 1.0, 0.0),
    ]
    assert findings[3].message == "group water-yishui: office.sent_back served differs from the events' count"

    printed = await asyncio.to_thread(
        CliRunner().invoke, audit_app, ["figures", "--by", "office", "--json"], env=env
    )
    assert printed.exit_code == 1, printed.output
    answer = json.loads(printed.stdout)
    assert (answer["ok"], [(f["row"], f["field"]) for f in answer["findings"]][3:]) == (
        False,
        [("water-yishui", "office.sent_back"), ("water-yishui", "office.send_back_rate")],
    )
    assert {r["group"]: r["office"] for r in answer["figures"]}["water-yishui"]["sent_back"] == 1
    # An office's facts removed whole: its figures are made by the events but not served.
    await pool.execute("DELETE FROM office_facts WHERE office_id = 'roads-yishui'")
    _, after = await audit_figures(pool, "office", tier=Tier.COUNTY)
    gone = [f for f in after if f.row == "roads-yishui"]
    assert [(f.field, f.found) for f in gone] == [("office", None)]
    assert gone[0].message == "group roads-yishui: office made by the office facts but not served"
    assert isinstance(gone[0].expected, dict) and gone[0].expected["sign_for_missed"] == 1
