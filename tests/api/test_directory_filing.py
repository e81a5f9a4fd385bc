"""Filing uses the directory, not the caller's word: the household gives the path and the contact
cadre, a walk-in names its village, and a body the directory contradicts is refused naming the field."""

from __future__ import annotations

from typing import Any

from tests import directory
from tests.api.conftest import Api
from tests.directory import DONGSHAN, TOWNSHIP, XISHAN
from tests.factories import filing_body

PATH_OF = {
    village: {"village": village, "township": TOWNSHIP, "county": directory.COUNTY, "city": directory.CITY}
    for village in (DONGSHAN, XISHAN)
}


def _body(petition_id: str, petitioner_id: str = "hh-0042", **changes: Any) -> dict[str, Any]:
    """A filing body that names neither the path nor the cadre (the directory gives them)."""
    body = filing_body(petition_id)
    del body["region"], body["contact_cadre_id"], body["tier"]
    body["petitioner"]["petitioner_id"] = petitioner_id
    return body | changes


async def _post(api: Api, body: dict[str, Any]) -> Any:
    return await api.http.post("/v1/petitions", json=body, headers=api.service)


async def test_a_household_is_filed_where_the_directory_places_it_with_its_cadre(api: Api) -> None:
    await directory.insert(api.pool, 1)

    response = await _post(api, _body("d-1"))

    assert response.status_code == 201, response.text
    petition = response.json()["petition"]
    assert (petition["region"], petition["contact_cadre_id"]) == (PATH_OF[DONGSHAN], "cadre-zhang")


async def test_the_current_version_answers_and_a_household_without_a_cadre_gets_the_duty_cadre(
    api: Api,
) -> None:
    await directory.insert(api.pool, 1)
    moved = directory.Directory()
    moved.households["hh-0042"] = (XISHAN, "cadre-li")
    await directory.insert(api.pool, 2, moved)

    moved_home = await _post(api, _body("d-2"))
    uncovered = await _post(api, _body("d-3", "hh-0099"))

    assert moved_home.status_code == 201, moved_home.text
    assert moved_home.json()["petition"]["region"] == PATH_OF[XISHAN]
    assert (uncovered.json()["petition"]["region"], uncovered.json()["petition"]["contact_cadre_id"]) == (
        PATH_OF[XISHAN],
        "cadre-li",
    )


async def test_a_walk_in_names_its_village_and_the_duty_cadre_becomes_the_contact(api: Api) -> None:
    await directory.insert(api.pool, 1)

    response = await _post(api, _body("d-4", "walk-in-7", village_id=XISHAN))

    assert response.status_code == 201, response.text
    petition = response.json()["petition"]
    # A service reads no petitioner: the id is withheld from the filing's answer (issue 13).
    assert (petition["region"], petition["contact_cadre_id"], petition["petitioner_id"]) == (
        PATH_OF[XISHAN],
        "cadre-li",
        None,
    )
    assert "petitioner_id" in petition["withheld"]
    assert (await api.petitions.view("d-4")).petitioner_id == "walk-in-7"


async def test_a_path_or_cadre_that_contradicts_the_directory_is_refused_naming_the_field(api: Api) -> None:
    await directory.insert(api.pool, 1)
    cases = {
        "region.village": _body("d-5", region=PATH_OF[XISHAN]),
        "contact_cadre_id": _body("d-6", contact_cadre_id="cadre-li"),
        "village_id": _body("d-7", village_id=XISHAN),
        "petitioner.petitioner_id": _body("d-8", "walk-in-8"),
    }
    walk_in = {**PATH_OF[XISHAN], "township": "t-elsewhere"}
    cases["region.township"] = _body("d-9", "walk-in-9", region=walk_in)
    cases["village_id "] = _body("d-10", "walk-in-10", village_id="v-atlantis")
    cases["contact_cadre_id "] = _body(
        "d-11", "walk-in-11", village_id=XISHAN, contact_cadre_id="cadre-zhang"
    )

    for field, body in cases.items():
        response = await _post(api, body)
        assert response.status_code == 422, (field, response.text)
        (problem,) = response.json()["error"]["fields"]
        assert (problem["location"], problem["path"]) == ("body", field.strip()), problem
        assert not await api.exists(body["petition_id"])

    reasons = {f: (await _post(api, b)).json()["error"]["fields"][0]["reason"] for f, b in cases.items()}
    assert reasons["region.village"] == (
        "the directory (version 1) places household hh-0042 in village v-dongshan, not v-xishan"
    )
    assert reasons["contact_cadre_id"] == (
        "the directory (version 1) names cadre-zhang, household hh-0042's contact cadre; not cadre-li"
    )
    assert reasons["petitioner.petitioner_id"] == (
        "walk-in-8 is not a household of the directory (version 1); a walk-in names its village (village_id)"
    )
    assert reasons["village_id "] == "v-atlantis is not a village of the directory (version 1)"


async def test_a_body_that_agrees_with_the_directory_is_filed(api: Api) -> None:
    await directory.insert(api.pool, 1)

    response = await _post(api, _body("d-12", region=PATH_OF[DONGSHAN], contact_cadre_id="cadre-zhang"))

    assert response.status_code == 201, response.text


async def test_without_a_directory_the_callers_path_and_cadre_are_required(api: Api) -> None:
    missing = await _post(api, _body("d-13"))
    by_village = await _post(api, _body("d-14", village_id=DONGSHAN))

    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["path"] == "region"
    assert by_village.status_code == 201, by_village.text  # looked up in regions.SAMPLE, as Open311 does
    assert by_village.json()["petition"]["contact_cadre_id"] == "cadre-zhang"


async def _open311(api: Api, **fields: str) -> Any:
    form = {"api_key": api.service_key, "service_code": "roads", "description": "Potholes."} | fields
    return await api.http.post("/open311/v2/requests.json", data=form)


async def test_open311_files_a_household_with_its_cadre_and_a_walk_in_with_the_duty_cadre(api: Api) -> None:
    rows = directory.Directory()
    rows.duty[DONGSHAN] = "cadre-li"  # on duty at Dongshan today; hh-0042's own cadre is cadre-zhang
    await directory.insert(api.pool, 1, rows)

    household = await _open311(api, account_id="hh-0042", address_id=DONGSHAN)
    walk_in = await _open311(api, account_id="visitor-1", address_id=DONGSHAN)
    elsewhere = await _open311(api, account_id="hh-0042", address_id=XISHAN)
    unknown = await _open311(api, account_id="visitor-2", address_id="v-nanhu")

    assert household.status_code == walk_in.status_code == 200, (household.text, walk_in.text)
    household_view = await api.petitions.view(household.json()[0]["service_request_id"])
    walk_in_view = await api.petitions.view(walk_in.json()[0]["service_request_id"])
    assert (household_view.contact_cadre_id, walk_in_view.contact_cadre_id) == ("cadre-zhang", "cadre-li")
    assert elsewhere.status_code == 400
    assert elsewhere.json()[0]["description"] == (
        "address_id: household hh-0042 lives in village v-dongshan (directory version 1), not v-xishan"
    )
    assert (unknown.status_code, unknown.json()[0]["description"]) == (
        400,
        "address_id: v-nanhu is not a village of the directory (version 1)",
    )
