"""The policy belongs to the deployment: the app fills it in, and a body carrying one is refused."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas.common import Tier
from schemas.policy import Policy, TierDeadlines
from tests.api.conftest import Api, open_api
from tests.factories import filing, filing_body

QUICK = Policy(
    normal={
        **Policy().normal,
        Tier.VILLAGE: TierDeadlines(respond_within=timedelta(minutes=5), resolve_within=timedelta(hours=1)),
    }
)


async def test_a_filing_body_carrying_a_policy_is_refused_and_files_nothing(api: Api) -> None:
    body = filing("pol-1").model_dump(mode="json", exclude={"intake"})

    response = await api.http.post("/v1/petitions", json=body, headers=api.service)

    assert response.status_code == 422
    (problem,) = response.json()["error"]["fields"]
    assert (problem["location"], problem["path"]) == ("body", "policy")
    assert "a filing cannot choose its policy" in problem["reason"]
    assert not await api.exists("pol-1")


async def test_the_filing_is_made_under_the_deployment_policy(
    env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    async with open_api(env, pool, policy=QUICK) as api:
        response = await api.http.post("/v1/petitions", json=filing_body("pol-2"), headers=api.service)

        assert response.status_code == 201, response.text
        petition = response.json()["petition"]
        filed_at, respond_by = (datetime.fromisoformat(petition[k]) for k in ("filed_at", "respond_by"))
        assert respond_by - filed_at == timedelta(minutes=5)
        assert Policy.model_validate(petition["policy"]) == QUICK


async def test_the_openapi_filing_body_offers_no_policy(api: Api) -> None:
    schema = (await api.http.get("/openapi.json")).json()
    assert "policy" not in schema["components"]["schemas"]["FilingBody"]["properties"]


async def test_an_open311_request_is_filed_under_the_deployment_policy(
    env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    async with open_api(env, pool, policy=QUICK) as api:
        form = {
            "api_key": api.service_key,
            "service_code": "roads",
            "address_id": "v-dongshan",
            "account_id": "hh-311",
            "description": "Potholes on the school road.",
        }
        posted = await api.http.post("/open311/v2/requests.json", data=form)
        assert posted.status_code == 200, posted.text
        view = await api.petitions.view(posted.json()[0]["service_request_id"])

    assert view.policy == QUICK
    assert view.respond_by is not None and view.respond_by - view.filed_at == timedelta(minutes=5)
