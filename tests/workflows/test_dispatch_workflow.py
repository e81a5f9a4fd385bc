"""Offices on the Petition workflow (issue 12), on Temporal's time-skipping server: central intake,
dispatch, sign-for, send-back, co-handling, a department's own chain, and recusal."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from petitionflow.client import Refusal
from schemas.commands import (
    AcknowledgeInput,
    AnswerSummonsInput,
    AssessInput,
    DispatchInput,
    ResolveInput,
    SendBackInput,
    SignForInput,
    SummonInput,
)
from schemas.common import Actor, AssessmentDecision, Outcome, RefusalCode, Stage, Tier
from schemas.events import Dispatched, HandedUp, SentBack, SummonsAnswered, SummonsMissed
from schemas.offices import About, OfficeRef
from tests.unit._offices import (
    CENTRE,
    CHAINS,
    COUNTY_GOV,
    ROADS,
    SUPERVISION,
    TOWNSHIP,
    VILLAGE,
    WATER,
    centre_filing,
    staff,
)
from tests.unit._petitions import CADRE, filing, official
from tests.workflows.conftest import Stack
from tests.workflows.test_petition_workflow import logged, until
from workflows.petition import OFFICES

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def dispatch_to(office: OfficeRef, by: Actor | None = None) -> DispatchInput:
    return DispatchInput(actor=by or staff(CENTRE), office=office, chain=CHAINS[office.office_id])


async def patches(stack: Stack, petition_id: str) -> list[str]:
    """The patch ids the petition's history has markers for."""
    history = await stack.petitions.handle(petition_id).fetch_history()
    return [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


async def test_intake_dispatch_sign_for_resolve(stack: Stack) -> None:
    await stack.petitions.file(centre_filing(petition_id="intake"))
    view = await stack.petitions.view("intake")
    assert (view.stage, view.office, view.tier) == (Stage.DISPATCH, CENTRE, Tier.COUNTY)

    view = await stack.petitions.act("intake", dispatch_to(TOWNSHIP))
    assert (view.stage, view.office) == (Stage.SIGN_FOR, TOWNSHIP)
    view = await stack.petitions.act("intake", SignForInput(actor=staff(TOWNSHIP), note="Ours."))
    assert (view.stage, view.acknowledged_by) == (Stage.ASSESS, staff(TOWNSHIP).id)
    await stack.petitions.act(
        "intake", AssessInput(actor=staff(TOWNSHIP), decision=AssessmentDecision.ACCEPT)
    )
    view = await stack.petitions.act(
        "intake", ResolveInput(actor=staff(TOWNSHIP), outcome=Outcome.RESOLVED, public_summary="Drain dug.")
    )

    assert view.stage is Stage.FEEDBACK and view.resolution is not None and view.resolution.on_time
    assert await logged(stack, "intake", 6) == [
        "PetitionFiled",
        "IntakeOpened",
        "Dispatched",
        "SignedFor",
        "Assessed",
        "Resolved",
    ]
    assert OFFICES in await patches(stack, "intake"), "a filing through a centre asks for the offices patch"


async def test_a_plain_filing_asks_for_no_patch(stack: Stack) -> None:
    await stack.petitions.file(filing(petition_id="plain"))
    await logged(stack, "plain", 1)
    # The append runs inside the first workflow task: the history holds the task's commands once
    # the task completes, a moment after the event is in the log.
    for _ in range(200):
        if marked := await patches(stack, "plain"):
            break
        await asyncio.sleep(0.05)

    assert marked == ["lean-steps"]
    view = await stack.petitions.view("plain")
    assert (view.office, view.stage) == (None, Stage.COLLECT)


async def test_an_unsigned_dispatch_goes_back_to_the_centre(stack: Stack) -> None:
    await stack.petitions.file(centre_filing(petition_id="unsigned"))
    await stack.petitions.act("unsigned", dispatch_to(WATER))

    await stack.env.sleep(2 * HOUR + timedelta(minutes=1))

    assert await logged(stack, "unsigned", 4) == [
        "PetitionFiled",
        "IntakeOpened",
        "Dispatched",
        "SignForMissed",
    ]
    view = await stack.petitions.view("unsigned")
    assert (view.stage, view.office) == (Stage.DISPATCH, CENTRE)
    with pytest.raises(Refusal) as refused:
        await stack.petitions.act("unsigned", SignForInput(actor=staff(WATER)))
    assert refused.value.code is RefusalCode.WRONG_OFFICE
    view = await stack.petitions.act("unsigned", dispatch_to(ROADS))
    assert view.office == ROADS


async def test_two_send_backs_and_the_supervisor_deciding(stack: Stack) -> None:
    await stack.petitions.file(centre_filing(petition_id="returned"))
    await stack.petitions.act("returned", dispatch_to(WATER))
    await stack.petitions.act("returned", SendBackInput(actor=staff(WATER), reason="A road, not water."))
    await stack.petitions.act("returned", dispatch_to(ROADS))
    view = await stack.petitions.act("returned", SendBackInput(actor=staff(ROADS), reason="The pipe: water."))
    assert (view.stage, view.office, view.deciding, view.send_backs) == (
        Stage.DISPATCH,
        COUNTY_GOV,
        COUNTY_GOV,
        2,
    )

    view = await stack.petitions.act("returned", dispatch_to(WATER, by=official(Tier.COUNTY)))
    assert (view.office, view.final_dispatch) == (WATER, True)
    with pytest.raises(Refusal) as refused:
        await stack.petitions.act("returned", SendBackInput(actor=staff(WATER), reason="Still not ours."))
    assert refused.value.code is RefusalCode.SUPERVISOR_DECIDED
    await stack.petitions.act("returned", SignForInput(actor=staff(WATER)))

    types = await logged(stack, "returned", 9)
    assert types[2:] == [
        "Dispatched",
        "SentBack",
        "Dispatched",
        "SentBack",
        "ReferredToSupervisor",
        "Dispatched",
        "SignedFor",
    ]
    events = [e.event for e in stack.log.events["returned"]]
    backs = [e for e in events if isinstance(e, SentBack)]
    assert [(b.office.office_id, b.to_office, b.reason) for b in backs] == [
        ("water-yishui", CENTRE, "A road, not water."),
        ("roads-yishui", CENTRE, "The pipe: water."),
    ]
    assert [e.final for e in events if isinstance(e, Dispatched)] == [False, False, True]


async def test_a_summons_answered_and_one_missed(stack: Stack) -> None:
    await stack.petitions.file(centre_filing(petition_id="whistle"))
    await stack.petitions.act("whistle", dispatch_to(TOWNSHIP))
    await stack.petitions.act("whistle", SignForInput(actor=staff(TOWNSHIP)))
    await stack.petitions.act(
        "whistle", SummonInput(actor=staff(TOWNSHIP), offices=(WATER, ROADS), note="Pump and digger.")
    )
    await stack.petitions.act("whistle", AnswerSummonsInput(actor=staff(WATER), part="Pump on site."))

    await stack.env.sleep(timedelta(minutes=31))

    types = await logged(stack, "whistle", 7)
    assert types[4:] == ["Summoned", "SummonsAnswered", "SummonsMissed"]
    events = [e.event for e in stack.log.events["whistle"]]
    assert [(e.office.office_id, e.on_time) for e in events if isinstance(e, SummonsAnswered)] == [
        ("water-yishui", True)
    ]
    assert [e.office for e in events if isinstance(e, SummonsMissed)] == [ROADS]
    view = await stack.petitions.act(
        "whistle", AssessInput(actor=staff(TOWNSHIP), decision=AssessmentDecision.ACCEPT)
    )
    view = await stack.petitions.act(
        "whistle", ResolveInput(actor=staff(TOWNSHIP), outcome=Outcome.RESOLVED, public_summary="Dry.")
    )
    assert view.resolution is not None and view.resolution.resolved_by == staff(TOWNSHIP).id


async def test_a_departments_deadline_escalates_up_its_own_chain(stack: Stack) -> None:
    await stack.petitions.file(centre_filing(petition_id="bureau"))
    await stack.petitions.act("bureau", dispatch_to(ROADS))
    await stack.petitions.act("bureau", SignForInput(actor=staff(ROADS)))

    await stack.env.sleep(30 * DAY + HOUR)

    await until(lambda: "HandedUp" in stack.log.types("bureau"), what="the bureau's miss handed up")
    events = [e.event for e in stack.log.events["bureau"]]
    (handed,) = [e for e in events if isinstance(e, HandedUp)]
    assert (handed.from_office, handed.to_office, handed.automatic) == (ROADS, SUPERVISION, True)
    view = await stack.petitions.view("bureau")
    assert (view.office, view.stage, view.chain) == (
        SUPERVISION,
        Stage.COLLECT,
        CHAINS[SUPERVISION.office_id],
    )


async def test_a_recused_petition_is_handled_one_level_up_without_the_cadre(stack: Stack) -> None:
    await stack.petitions.file(
        filing(petition_id="recused").model_copy(update={"about": About.CONTACT_CADRE})
    )

    view = await stack.petitions.view("recused")
    assert (view.office, view.tier, view.recused_office, view.recused_person_id) == (
        TOWNSHIP,
        Tier.TOWNSHIP,
        VILLAGE,
        CADRE.id,
    )
    with pytest.raises(Refusal) as refused:
        await stack.petitions.act("recused", AcknowledgeInput(actor=CADRE))
    assert (refused.value.code, refused.value.reason) == (
        RefusalCode.RECUSED,
        "cadre-wang is recused from this petition and may not acknowledge it",
    )
    view = await stack.petitions.act("recused", AcknowledgeInput(actor=official(Tier.TOWNSHIP)))
    assert view.stage is Stage.ASSESS
    assert await logged(stack, "recused", 3) == ["PetitionFiled", "IntakeOpened", "Acknowledged"]
