"""Auditors over HTTP: export, verify, timeline and state as of, with an auditor's token only."""

from __future__ import annotations

from schemas.common import Actor, Role, Tier
from tests.api.conftest import Api
from tests.factories import filing_body

AUDITOR = Actor(role=Role.AUDITOR, id="inspector-gao")


async def _answered(api: Api, petition_id: str) -> int:
    """File a petition and have the village answer it; returns its number of events."""
    body = filing_body(petition_id)
    assert (await api.http.post("/v1/petitions", json=body, headers=api.service)).status_code == 201
    village = await api.official(Tier.VILLAGE)
    for verb, payload in (
        ("acknowledge", {}),
        ("assess", {"decision": "accept"}),
        ("resolve", {"outcome": "resolved", "public_summary": "Bridge rebuilt."}),
    ):
        done = await api.http.post(
            f"/v1/petitions/{petition_id}/actions/{verb}", json=payload, headers=village
        )
        assert done.status_code == 200, done.text
    await api.stored(petition_id, 4)
    return 4


async def test_an_auditor_exports_verifies_and_reads_the_timeline(api: Api) -> None:
    events = await _answered(api, "audited")
    auditor = await api.token(AUDITOR)

    exported = await api.http.get("/v1/audit/petitions/audited/export", headers=auditor)
    assert exported.status_code == 200
    document = exported.json()
    assert (document["petition_id"], len(document["events"]), len(document["runs"])) == ("audited", events, 1)

    verified = await api.http.get("/v1/audit/petitions/audited/verify", headers=auditor)
    report = verified.json()
    assert (verified.status_code, report["ok"], report["events"], report["findings"]) == (
        200,
        True,
        events,
        [],
    )

    timeline = (await api.http.get("/v1/audit/petitions/audited/timeline", headers=auditor)).json()
    assert [(e["seq"], e["type"], e["stage"]) for e in timeline] == [
        (1, "PetitionFiled", "collect"),
        (2, "Acknowledged", "assess"),
        (3, "Assessed", "resolve"),
        (4, "Resolved", "feedback"),
    ]
    filed_at = timeline[0]["at"]
    early = await api.http.get(
        "/v1/audit/petitions/audited/timeline", params={"as_of": filed_at}, headers=auditor
    )
    assert [e["type"] for e in early.json()] == ["PetitionFiled"]
    state = await api.http.get(
        "/v1/audit/petitions/audited/state", params={"as_of": filed_at}, headers=auditor
    )
    assert (state.status_code, state.json()["stage"], state.json()["seq"]) == (200, "collect", 1)


async def test_verify_over_http_names_an_edited_event(api: Api) -> None:
    await _answered(api, "tampered")
    await api.pool.execute(
        """UPDATE events SET body = jsonb_set(body, '{public_summary}', '"Nothing was wrong."')
           WHERE petition_id = 'tampered' AND seq = 4"""
    )
    report = (
        await api.http.get("/v1/audit/petitions/tampered/verify", headers=await api.token(AUDITOR))
    ).json()
    assert report["ok"] is False
    assert {(f["check"], f["seq"]) for f in report["findings"]} >= {("chain", 4)}
    assert any(f.get("field") == "body.public_summary" for f in report["findings"])


async def test_only_an_auditor_may_audit(api: Api) -> None:
    await _answered(api, "guarded")
    as_official = await api.http.get(
        "/v1/audit/petitions/guarded/verify", headers=await api.official(Tier.VILLAGE)
    )
    assert (as_official.status_code, as_official.json()["error"]["code"]) == (403, "not_an_auditor")
    anonymous = await api.http.get("/v1/audit/petitions/guarded/timeline")
    assert anonymous.status_code == 401
    missing = await api.http.get("/v1/audit/petitions/nowhere/timeline", headers=await api.token(AUDITOR))
    assert missing.status_code == 404
    before_filing = await api.http.get(
        "/v1/audit/petitions/guarded/state",
        params={"as_of": "2000-01-01T00:00:00Z"},
        headers=await api.token(AUDITOR),
    )
    assert before_filing.status_code == 404
