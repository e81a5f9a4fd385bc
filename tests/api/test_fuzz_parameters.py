"""No query or path parameter makes any route answer 500 (issue 10): hypothesis draws requests
from the app's own OpenAPI document — every operation, each parameter from its schema (and then
any text at all: NUL bytes, control characters, far-off dates, huge numbers) — and sends them
through the real app with valid credentials, so the parameters get past the credential checks.

Bounded: ``MAX_EXAMPLES`` requests, derandomized, so a CI run is repeatable and takes seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petitionflow.api import create_app
from schemas.common import Actor, Role
from tests.api.conftest import Api

MAX_EXAMPLES = 2000

_offsets = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)
)
_moments = st.builds(
    lambda moment, offset: moment.replace(tzinfo=timezone(offset)).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    _offsets.map(lambda d: timedelta(minutes=d // timedelta(minutes=1))),
)
_any_text = st.text(max_size=24)
_ids = st.sampled_from(["p-1", "v-dongshan", "t-xiazhuang", "c-yishui", "x-linyi", "roads", "o311-x"])


def _values(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """Text for one parameter: what its schema allows, then anything at all."""
    variants = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    schema = variants[0] if variants else {}
    if "enum" in schema:
        fitting: st.SearchStrategy[str] = st.sampled_from([str(v) for v in schema["enum"]])
    elif "$ref" in schema:
        fitting = st.sampled_from(["village", "township", "county", "city", "tier", "region", "collect"])
    elif schema.get("type") == "integer":
        fitting = st.integers(min_value=-(10**20), max_value=10**20).map(str)
    elif schema.get("type") == "boolean":
        fitting = st.sampled_from(["true", "false", "1", "0"])
    elif schema.get("format") == "date-time":
        fitting = _moments | st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"])
    else:
        fitting = _ids
    return fitting | _any_text


def _operations() -> list[tuple[str, str, list[dict[str, Any]]]]:
    # The document only: the clients are never called while it is built.
    document = create_app(temporal_client=None, pool=None).openapi()  # type: ignore[arg-type]
    return [
        (method.upper(), path, [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


OPERATIONS = _operations()
FORMATS = st.sampled_from(["json", "xml"])


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    method, path, parameters = draw(st.sampled_from(OPERATIONS))
    query: dict[str, str] = {}
    for parameter in parameters:
        name = parameter["name"]
        if parameter["in"] == "path":
            value = draw(FORMATS | _any_text if name == "fmt" else _values(parameter.get("schema", {})))
            path = path.replace("{" + name + "}", quote(value, safe="") or "%20")
        elif parameter.get("required") or draw(st.booleans()):
            query[name] = draw(_values(parameter.get("schema", {})))
    return method, path, query


def test_every_operation_is_fuzzed() -> None:
    paths = {path for _, path, _ in OPERATIONS}
    assert {"/v1/petitions", "/v1/figures", "/open311/v2/requests/{service_request_id}.{fmt}"} <= paths
    assert len(OPERATIONS) >= 20


@pytest.fixture
async def credentials(api: Api) -> dict[str, str]:
    """An auditor's token (it reads everything, audits too) and a service's key."""
    token = await api.token(Actor(role=Role.AUDITOR, id="fuzz-auditor"))
    return {**token, **api.service}


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
async def test_no_query_or_path_parameter_gives_a_500(
    api: Api, credentials: dict[str, str], request: tuple[str, str, dict[str, str]]
) -> None:
    method, path, query = request

    response = await api.http.request(method, path, params=query, headers=credentials)

    assert response.status_code < 500, f"{method} {path} {query!r} → {response.status_code}: {response.text}"
