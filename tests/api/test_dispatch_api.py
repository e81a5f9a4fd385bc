"""The doors of offices (issue 12) over HTTP: a filing service bound to a centre, dispatch and the
other office actions by bearer token with offices resolved from the directory (rows inserted with
SQL here), Open311's agency_responsible and status_notes, recusal hiding the petition from its cadre,
and the territorial default when no directory is loaded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

import worker
from petitionflow.cli import app as cli_app
from schemas.common import Actor, Role, Tier
from store import auth
from tests.api.conftest import Api
from tests.factories import CADRE_ID, PETITIONER_ID, REGION, contact_cadre, filing

OFFICES = [
    # office_id, kind, tier, region_id, name_zh, supervisor_id
    ("centre-yishui", "centre", "county", REGION.county, "沂水县12345热线", "gov-yishui"),
    ("gov-yishui", "territorial", "county", REGION.county, "沂水县人民政府", "gov-linyi"),
    ("gov-linyi", "territorial", "city", REGION.city, "临沂市人民政府", None),
    ("water-yishui", "department", "county", REGION.county, "沂水县水利局", "water-linyi"),
    ("water-linyi", "department", "city", REGION.city, "临沂市水利局", "gov-linyi"),
    ("gov-xiazhuang", "territorial", "township", REGION.township, "夏庄镇人民政府", "gov-yishui"),
    ("gov-dongshan", "territorial", "village", REGION.village, "东山村委会", "gov-xiazhuang"),
]


REGIONS = [
    # region_id, tier, parent_id: the grid the offices serve (a loaded directory checks filings)
    (REGION.city, "city", None),
    (REGION.county, "county", REGION.city),
    (REGION.township, "township", REGION.county),
    (REGION.village, "village", REGION.township),
]
PEOPLE = [
    # person_id, role, office_id: tokens are issued only to the roster
    ("desk-liu", "official", "centre-yishui"),
    ("water-chen", "official", "water-yishui"),
    ("county-official", "official", "gov-yishui"),
    ("township-official", "official", "gov-xiazhuang"),
    (CADRE_ID, "cadre", "gov-dongshan"),
]


async def load_directory(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO directory_versions (version, source) VALUES (1, 'test')")
    await pool.executemany(
        "INSERT INTO directory_regions (version, region_id, tier, parent_id, name_zh, name_en)"
        " VALUES (1, $1, $2, $3, $1, $1)",
        REGIONS,
    )
    await pool.executemany(
        "INSERT INTO directory_offices"
        " (version, office_id, kind, tier, region_id, name_zh, name_en, supervisor_id)"
        " VALUES (1, $1, $2, $3, $4, $5, $1, $6)",
        OFFICES,
    )
    await pool.executemany(
        "INSERT INTO directory_people (version, person_id, name, role, office_id) VALUES (1, $1, $1, $2, $3)",
        PEOPLE,
    )
    await pool.execute(
        "INSERT INTO directory_households (version, household_id, village_id, cadre_id)"
        " VALUES (1, $1, $2, $3)",
        PETITIONER_ID,
        REGION.village,
        CADRE_ID,
    )
    await pool.execute(
        "INSERT INTO directory_duty (version, village_id, person_id) VALUES (1, $1, $2)",
        REGION.village,
        CADRE_ID,
    )


def staff(office_id: str, tier: Tier, region_id: str, name: str) -> Actor:
    return Actor(role=Role.OFFICIAL, id=name, tier=tier, region_id=region_id, office_id=office_id)


CENTRE_DESK = staff("centre-yishui", Tier.COUNTY, REGION.county, "desk-liu")
WATER_DESK = staff("water-yishui", Tier.COUNTY, REGION.county, "water-chen")


def body(petition_id: str, **extra: Any) -> dict[str, Any]:
    raw = filing(petition_id).model_dump(mode="json", exclude={"tier", "policy", "intake"})
    return {**raw, **extra}


async def centre_key(api: Api) -> dict[str, str]:
    key = await auth.issue_api_key(api.pool, "county-hotline", tier=Tier.COUNTY, centre_id="centre-yishui")
    return {"X-API-Key": key}


async def test_a_centre_files_dispatches_and_the_department_signs_for_it(api: Api) -> None:
    await load_directory(api.pool)
    headers = await centre_key(api)

    filed = await api.http.post("/v1/petitions", json=body("d-1"), headers=headers)
    assert filed.status_code == 201, filed.text
    petition = filed.json()["petition"]
    assert (petition["stage"], petition["tier"], petition["office"]["office_id"]) == (
        "dispatch",
        "county",
        "centre-yishui",
    )
    assert [o["office_id"] for o in petition["chain"]] == ["gov-yishui", "gov-linyi"]

    desk = await api.token(CENTRE_DESK)
    sent = await api.http.post(
        "/v1/petitions/d-1/actions/dispatch", json={"office_id": "water-yishui"}, headers=desk
    )
    assert sent.status_code == 200, sent.text
    assert (sent.json()["office"]["name"], [o["office_id"] for o in sent.json()["chain"]]) == (
        "沂水县水利局",
        ["water-linyi", "gov-linyi"],
    )
    county = await api.official(Tier.COUNTY)  # the county government's official: not the bureau
    wrong = await api.http.post("/v1/petitions/d-1/actions/sign_for", json={}, headers=county)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "wrong_office")

    water = await api.token(WATER_DESK)
    signed = await api.http.post("/v1/petitions/d-1/actions/sign_for", json={"note": "Ours."}, headers=water)
    assert (signed.status_code, signed.json()["stage"]) == (200, "assess")
    await api.stored("d-1", 4)
    assert await api.events("d-1") == ["PetitionFiled", "IntakeOpened", "Dispatched", "SignedFor"]

    request = (await api.http.get("/open311/v2/requests/d-1.json")).json()[0]
    assert request["agency_responsible"] == "沂水县水利局"
    assert request["status_notes"] == "Signed for by 沂水县水利局; being assessed (stage assess)."

    figures = {f["group"]: f for f in (await api.http.get("/v1/figures", params={"by": "office"})).json()}
    assert (figures["centre-yishui"]["office"]["dispatched"], figures["centre-yishui"]["stints"]) == (1, 1)
    assert figures["water-yishui"]["office"]["timely_receipt_rate"] == 1.0
    assert figures["water-yishui"]["response_rate"] == 1.0


async def test_send_back_and_summons_through_the_api(api: Api) -> None:
    await load_directory(api.pool)
    headers = await centre_key(api)
    await api.http.post("/v1/petitions", json=body("d-2"), headers=headers)
    desk, water = await api.token(CENTRE_DESK), await api.token(WATER_DESK)
    await api.http.post(
        "/v1/petitions/d-2/actions/dispatch", json={"office_id": "water-yishui"}, headers=desk
    )

    blank = await api.http.post("/v1/petitions/d-2/actions/send_back", json={"reason": "  "}, headers=water)
    assert blank.status_code == 422
    back = await api.http.post(
        "/v1/petitions/d-2/actions/send-back", json={"reason": "Roads."}, headers=water
    )
    assert back.status_code == 404  # the verb is send_back
    back = await api.http.post(
        "/v1/petitions/d-2/actions/send_back", json={"reason": "Roads."}, headers=water
    )
    assert (back.status_code, back.json()["stage"], back.json()["office"]["office_id"]) == (
        200,
        "dispatch",
        "centre-yishui",
    )
    request = (await api.http.get("/open311/v2/requests/d-2.json")).json()[0]
    assert (
        request["status_notes"] == "Received by 沂水县12345热线; waiting to be dispatched (stage dispatch)."
    )

    unknown = await api.http.post(
        "/v1/petitions/d-2/actions/dispatch", json={"office_id": "nowhere"}, headers=desk
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"] == [
        {"location": "body", "path": "office_id", "reason": "no office 'nowhere' in the directory"}
    ]
    outside = await api.http.post(
        "/v1/petitions/d-2/actions/dispatch", json={"office_id": "water-linyi"}, headers=desk
    )
    assert (outside.status_code, outside.json()["error"]["code"]) == (422, "outside_area")

    await api.http.post(
        "/v1/petitions/d-2/actions/dispatch", json={"office_id": "gov-xiazhuang"}, headers=desk
    )
    township = await api.official(Tier.TOWNSHIP)
    assert (
        await api.http.post("/v1/petitions/d-2/actions/sign_for", json={}, headers=township)
    ).status_code == 200
    summoned = await api.http.post(
        "/v1/petitions/d-2/actions/summon",
        json={"office_ids": ["water-yishui"], "note": "A pump."},
        headers=township,
    )
    assert summoned.status_code == 200, summoned.text
    answered = await api.http.post(
        "/v1/petitions/d-2/actions/answer_summons", json={"part": "Pump on site."}, headers=water
    )
    assert answered.status_code == 200, answered.text
    assert [s["answered_at"] is not None for s in answered.json()["summons"]] == [True]


async def test_a_filing_cannot_name_its_own_offices(api: Api) -> None:
    intake = {"office": {"office_id": "x", "kind": "centre", "tier": "village", "region_id": REGION.village}}
    refused = await api.http.post("/v1/petitions", json=body("d-3", intake=intake), headers=api.service)

    assert refused.status_code == 422
    assert [f["path"] for f in refused.json()["error"]["fields"]] == ["intake"]
    assert not await api.exists("d-3")


async def test_a_complaint_about_the_cadre_is_held_one_level_up_and_hidden_from_the_cadre(api: Api) -> None:
    await load_directory(api.pool)

    filed = await api.http.post("/v1/petitions", json=body("d-4", about="contact_cadre"), headers=api.service)

    assert filed.status_code == 201, filed.text
    petition = filed.json()["petition"]
    assert (petition["office"]["office_id"], petition["tier"], petition["recused_person_id"]) == (
        "gov-xiazhuang",
        "township",
        CADRE_ID,
    )
    cadre = await api.token(contact_cadre())
    assert (await api.http.get("/v1/petitions/d-4", headers=cadre)).status_code == 404
    acted = await api.http.post("/v1/petitions/d-4/actions/acknowledge", json={}, headers=cadre)
    assert (acted.status_code, acted.json()["error"]["code"]) == (403, "recused")
    await api.stored("d-4", 2)
    listed = (await api.http.get("/v1/petitions", headers=cadre)).json()["items"]
    assert "d-4" not in [row["petition_id"] for row in listed]
    outbox = await api.pool.fetch("SELECT recipient_id FROM notifications WHERE petition_id = 'd-4'")
    assert CADRE_ID not in [r["recipient_id"] for r in outbox]


async def test_an_open311_complaint_about_the_cadre_is_recused_like_a_v1_one(api: Api) -> None:
    await load_directory(api.pool)
    form = {
        "api_key": api.service_key,
        "service_code": "roads",
        "address_id": REGION.village,
        "account_id": PETITIONER_ID,
        "description": "Our contact cadre keeps the road money.",
        "attribute[about]": "contact_cadre",
    }

    posted = await api.http.post("/open311/v2/requests.json", data=form)

    assert posted.status_code == 200, posted.text
    [created] = posted.json()
    pid = created["service_request_id"]
    await api.stored(pid, 2)
    auditor = await api.auditor()
    petition = (await api.http.get(f"/v1/petitions/{pid}", headers=auditor)).json()
    assert (petition["office"]["office_id"], petition["tier"], petition["recused_person_id"]) == (
        "gov-xiazhuang",
        "township",
        CADRE_ID,
    )
    cadre = await api.token(contact_cadre())
    assert (await api.http.get(f"/v1/petitions/{pid}", headers=cadre)).status_code == 404
    acted = await api.http.post(f"/v1/petitions/{pid}/actions/acknowledge", json={}, headers=cadre)
    assert (acted.status_code, acted.json()["error"]["code"]) == (403, "recused")
    listed = (await api.http.get("/v1/petitions", headers=cadre)).json()["items"]
    assert pid not in [row["petition_id"] for row in listed]
    outbox = await api.pool.fetch("SELECT recipient_id FROM notifications WHERE petition_id = $1", pid)
    assert CADRE_ID not in [r["recipient_id"] for r in outbox]


async def test_an_open311_about_that_is_not_a_recusal_is_400_and_files_nothing(api: Api) -> None:
    await load_directory(api.pool)
    form = {
        "api_key": api.service_key,
        "service_code": "roads",
        "address_id": REGION.village,
        "account_id": PETITIONER_ID,
        "description": "The road.",
        "attribute[about]": "the mayor",
    }

    refused = await api.http.post("/open311/v2/requests.json", data=form)

    assert (refused.status_code, refused.json()) == (
        400,
        [
            {
                "code": 400,
                "description": "attribute[about] must be one of contact_cadre, office, not 'the mayor'",
            }
        ],
    )
    city_key = await auth.issue_api_key(api.pool, "city-line", tier=Tier.CITY)
    on_top = await api.http.post(
        "/open311/v2/requests.json", data=form | {"api_key": city_key, "attribute[about]": "office"}
    )
    [problem] = on_top.json()
    assert (on_top.status_code, problem["description"].split(": ")[0]) == (400, "attribute[about]")
    assert "nothing is above" in problem["description"]
    assert await api.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_with_no_directory_a_centre_and_its_territorial_offices_are_the_defaults(api: Api) -> None:
    headers = await centre_key(api)
    filed = await api.http.post("/v1/petitions", json=body("d-5"), headers=headers)
    assert filed.json()["petition"]["office"] == {
        "office_id": "centre-yishui",
        "kind": "centre",
        "tier": "county",
        "region_id": REGION.county,
        "name": None,
    }
    assert [o["office_id"] for o in filed.json()["petition"]["chain"]] == [
        f"county:{REGION.county}",
        f"city:{REGION.city}",
    ]
    desk = await api.token(
        Actor(
            role=Role.OFFICIAL,
            id="desk",
            tier=Tier.COUNTY,
            region_id=REGION.county,
            office_id="centre-yishui",
        )
    )

    sent = await api.http.post(
        "/v1/petitions/d-5/actions/dispatch", json={"office_id": f"township:{REGION.township}"}, headers=desk
    )

    assert sent.status_code == 200, sent.text
    assert [o["office_id"] for o in sent.json()["chain"]] == [
        f"county:{REGION.county}",
        f"city:{REGION.city}",
    ]
    request = (await api.http.get("/open311/v2/requests/d-5.json")).json()[0]
    assert request["agency_responsible"] == f"township:{REGION.township}"


async def test_the_cli_binds_a_key_to_a_centre_and_a_token_to_an_office(api: Api, database_url: str) -> None:
    await load_directory(api.pool)
    env = {"PETITIONFLOW_DATABASE_URL": database_url}
    runner = CliRunner()

    bound = await asyncio.to_thread(
        runner.invoke, cli_app, ["keys", "add", "hotline-96333", "--centre", "centre-yishui"], env=env
    )
    token = await asyncio.to_thread(
        runner.invoke, cli_app, ["officials", "add", "water-chen", "--office", "water-yishui"], env=env
    )
    wrong = await asyncio.to_thread(
        runner.invoke, cli_app, ["keys", "add", "x", "--centre", "water-yishui"], env=env
    )

    assert bound.exit_code == 0, bound.output
    assert "filing at the county tier, held first by centre centre-yishui" in " ".join(bound.output.split())
    key = await auth.authenticate_service(api.pool, bound.output.strip().splitlines()[-1])
    assert key == auth.ServiceKey(name="hotline-96333", tier=Tier.COUNTY, centre_id="centre-yishui")
    assert token.exit_code == 0, token.output
    actor = await auth.authenticate(api.pool, token.output.strip().splitlines()[-1])
    assert actor == WATER_DESK
    assert (wrong.exit_code, "office water-yishui is a department office, not a centre" in wrong.output) == (
        2,
        True,
    )


def printed(output: str) -> Any:
    """The JSON the CLI printed; the worker running in this process logs to the same stdout."""
    starts = [i + 1 for i in range(len(output) - 1) if output[i] == "\n" and output[i + 1] in "{["]
    return json.loads(output[0 if output[:1] in ("{", "[") else starts[0] :])


async def test_the_cli_files_through_a_centre_and_acts_with_offices_by_id(
    env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str
) -> None:
    """``file --centre``, then ``act dispatch -f office_id=…`` and ``act sign-for``, through the CLI."""
    await load_directory(pool)
    settings = {
        "PETITIONFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PETITIONFLOW_DATABASE_URL": database_url,
        "PETITIONFLOW_TASK_QUEUE": "cli-offices",
    }
    runner = CliRunner()

    def cli(*args: str) -> Result:
        return runner.invoke(cli_app, list(args), env=settings)

    async with worker.build_worker(env.client, pool, task_queue="cli-offices"):
        filed = await asyncio.to_thread(
            cli, "file", "--id", "cli-1", "--petitioner-id", "hh-1", "--name", "Li",
            "--village", REGION.village, "--township", REGION.township,
            "--county", REGION.county, "--city", REGION.city,
            "--description", "Flooded lane.", "--cadre", CADRE_ID, "--category", "roads",
            "--centre", "centre-yishui", "--json",
        )  # fmt: skip
        assert filed.exit_code == 0, filed.output
        assert printed(filed.output)["petition"]["stage"] == "dispatch"
        centre = (
            "--operator",
            "ops-test",
            "--official",
            "desk-liu",
            "--tier",
            "county",
            "--region",
            REGION.county,
            "--office",
            "centre-yishui",
        )
        outside = await asyncio.to_thread(cli, "act", "cli-1", "dispatch", *centre, "-f", "office_id=nowhere")
        sent = await asyncio.to_thread(
            cli, "act", "cli-1", "dispatch", *centre, "-f", "office_id=water-yishui"
        )
        water = (
            "--operator",
            "ops-test",
            "--official",
            "water-chen",
            "--tier",
            "county",
            "--region",
            REGION.county,
            "--office",
            "water-yishui",
        )
        signed = await asyncio.to_thread(cli, "act", "cli-1", "sign-for", *water, "--json")
        for _ in range(200):  # the read model follows the workflow's append
            if await pool.fetchval("SELECT last_seq FROM petitions WHERE petition_id = 'cli-1'") == 4:
                break
            await asyncio.sleep(0.025)
        report = await asyncio.to_thread(cli, "report", "--by", "office", "--json")

    assert outside.exit_code == 2, outside.output
    assert "no office 'nowhere' in the directory" in " ".join(outside.output.split())
    assert sent.exit_code == 0, sent.output
    assert "dispatch: cli-1 is now at the county tier, stage sign_for" in " ".join(sent.output.split())
    assert signed.exit_code == 0, signed.output
    view = printed(signed.output)
    assert (view["stage"], view["office"]["office_id"], view["acknowledged_by"]) == (
        "assess",
        "water-yishui",
        "water-chen",
    )
    assert report.exit_code == 0, report.output
    by_office = {row["group"]: row for row in printed(report.output)}
    water_figures = by_office["water-yishui"]["office"]
    assert (
        water_figures["received"],
        water_figures["timely_receipt_rate"],
        water_figures["send_back_rate"],
    ) == (
        1,
        1.0,
        0.0,
    )
    assert by_office["centre-yishui"]["office"]["dispatched"] == 1


async def test_the_contact_goes_to_the_office_holding_the_petition_not_the_government_beside_it(
    api: Api,
) -> None:
    """A petition the water bureau holds: its officials read the petitioner's contact; the county
    government's official reads the petition without it (``lifecycle.holds``)."""
    await load_directory(api.pool)
    filed = await api.http.post("/v1/petitions", json=body("d-9"), headers=await centre_key(api))
    assert filed.status_code == 201, filed.text
    sent = await api.http.post(
        "/v1/petitions/d-9/actions/dispatch",
        json={"office_id": "water-yishui"},
        headers=await api.token(CENTRE_DESK),
    )
    assert sent.status_code == 200, sent.text

    bureau = (await api.http.get("/v1/petitions/d-9", headers=await api.token(WATER_DESK))).json()
    government = (await api.http.get("/v1/petitions/d-9", headers=await api.official(Tier.COUNTY))).json()
    assert bureau["description"] is not None and bureau["withheld"] == []
    assert government["description"] is None and "description" in government["withheld"]
