"""The Petition workflow on Temporal's time-skipping server: the whole life of a petition."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from petitionflow.client import Refusal
from schemas.commands import (
    AcknowledgeInput,
    AssessInput,
    EscalateInput,
    ProvideInfoInput,
    RateInput,
    RecordReturnVisitInput,
    ResolveInput,
)
from schemas.common import (
    AssessmentDecision,
    Clock,
    ClosedReason,
    Outcome,
    Rating,
    RefusalCode,
    Stage,
    Tier,
)
from schemas.events import DeadlineMissed, Escalated, ReminderDue
from schemas.state import PetitionState
from tests.factories import CADRE_ID, OTHER_REGION, REGION, contact_cadre, filing, official, petitioner
from tests.workflows.conftest import Stack
from workflows import search

DAY = timedelta(days=1)


async def until(check: Callable[[], bool], *, what: str, seconds: float = 10) -> None:
    """Wait for the worker to catch up with time the server has already skipped."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def logged(stack: Stack, petition_id: str, count: int) -> list[str]:
    await until(lambda: len(stack.log.types(petition_id)) >= count, what=f"{count} events of {petition_id}")
    return stack.log.types(petition_id)


async def resolved(stack: Stack, petition_id: str, tier: Tier = Tier.VILLAGE) -> PetitionState:
    """Take a petition at ``tier`` through acknowledge, assess and resolve."""
    actor = official(tier)
    await stack.petitions.act(petition_id, AcknowledgeInput(actor=actor))
    await stack.petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    return await stack.petitions.act(
        petition_id,
        ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="The bridge was rebuilt."),
    )


async def test_happy_path_runs_to_a_finished_record(stack: Stack) -> None:
    filed = await stack.petitions.file(filing("happy"))
    assert filed.created
    view = await resolved(stack, "happy")
    assert (view.stage, view.resolution and view.resolution.on_time) == (Stage.FEEDBACK, True)

    view = await stack.petitions.act("happy", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
    assert (view.stage, view.closed_reason) == (Stage.CLOSED, ClosedReason.SATISFIED)

    await stack.env.sleep(30 * DAY + timedelta(hours=1))
    assert (await logged(stack, "happy", 7))[-1] == "ReturnVisitDue"
    view = await stack.petitions.act(
        "happy", RecordReturnVisitInput(actor=contact_cadre(), held=True, note="The bridge holds.")
    )
    assert view.finished

    final = await stack.petitions.handle("happy").result()
    assert final.finished and final.seq == 8
    assert await logged(stack, "happy", 8) == [
        "PetitionFiled",
        "Acknowledged",
        "Assessed",
        "Resolved",
        "FeedbackReceived",
        "Closed",
        "ReturnVisitDue",
        "ReturnVisitRecorded",
    ]
    assert stack.log.petitioners["hh-0042"].name == "Wang Fang"
    assert [e.seq for e in stack.log.events["happy"]] == list(range(1, 9))


async def test_missed_deadlines_escalate_village_to_city_and_flag_overdue_at_the_top(stack: Stack) -> None:
    await stack.petitions.file(filing("climb"))

    await stack.env.sleep(9 * DAY + timedelta(hours=1))
    reminders_then_miss = ["ReminderDue", "ReminderDue", "DeadlineMissed"]
    assert await logged(stack, "climb", 16) == [
        "PetitionFiled",
        *reminders_then_miss,
        "Escalated",
        *reminders_then_miss,
        "Escalated",
        *reminders_then_miss,
        "Escalated",
        *reminders_then_miss,
    ]
    events = [e.event for e in stack.log.events["climb"]]
    misses = [e for e in events if isinstance(e, DeadlineMissed)]
    assert [(m.tier, m.region_id, m.clock, m.official_id) for m in misses] == [
        (Tier.VILLAGE, REGION.village, Clock.RESPOND, CADRE_ID),
        (Tier.TOWNSHIP, REGION.township, Clock.RESPOND, None),
        (Tier.COUNTY, REGION.county, Clock.RESPOND, None),
        (Tier.CITY, REGION.city, Clock.RESPOND, None),
    ]
    escalations = [e for e in events if isinstance(e, Escalated)]
    assert [(e.from_tier, e.to_tier, e.automatic) for e in escalations] == [
        (Tier.VILLAGE, Tier.TOWNSHIP, True),
        (Tier.TOWNSHIP, Tier.COUNTY, True),
        (Tier.COUNTY, Tier.CITY, True),
    ]
    # Each tier's respond deadline runs from the moment it received the petition.
    assert [e.respond_by - e.at for e in escalations] == [2 * DAY, 3 * DAY, 3 * DAY]

    view = await stack.petitions.view("climb")
    assert (view.tier, view.overdue, view.tiers_visited) == (
        Tier.CITY,
        (Clock.RESPOND,),
        (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY),
    )
    described = await stack.petitions.handle("climb").describe()
    attributes = described.typed_search_attributes
    assert (attributes.get(search.TIER), attributes.get(search.OVERDUE), attributes.get(search.REGION)) == (
        "city",
        True,
        [REGION.village, REGION.township, REGION.county, REGION.city],
    )
    assert attributes.get(search.STAGE) is None, "the stage is not kept in Temporal (lean-steps)"

    # Nothing is above the city: it keeps being reminded, once a day.
    await stack.env.sleep(2 * DAY)
    types = await logged(stack, "climb", 18)
    assert types[16:] == ["ReminderDue", "ReminderDue"]
    overdue_reminders = [e.event for e in stack.log.events["climb"][16:]]
    assert all(isinstance(e, ReminderDue) and e.point is None for e in overdue_reminders)


async def test_reminders_fire_at_half_and_three_quarters_of_the_window(stack: Stack) -> None:
    await stack.petitions.file(filing("remind"))
    await stack.env.sleep(timedelta(hours=19))
    assert await logged(stack, "remind", 3) == ["PetitionFiled", "ReminderDue", "ReminderDue"]
    filed_at = stack.log.events["remind"][0].event.at
    reminders = [e.event for e in stack.log.events["remind"][1:]]
    assert [(r.point, r.clock, r.due_at - filed_at) for r in reminders if isinstance(r, ReminderDue)] == [
        (0.5, Clock.RESPOND, DAY),
        (0.75, Clock.RESPOND, DAY),
    ]
    # A timer event is stamped when the worker handles it: at its due time, give or take a second.
    late = [r.at - filed_at - DAY * (r.point or 0) for r in reminders if isinstance(r, ReminderDue)]
    assert all(timedelta(0) <= lateness < timedelta(seconds=1) for lateness in late), late
    assert (await stack.petitions.view("remind")).tier is Tier.VILLAGE


async def test_the_resolve_clock_pauses_while_the_petitioner_is_asked(stack: Stack) -> None:
    await stack.petitions.file(filing("pause"))
    actor = official(Tier.VILLAGE)
    await stack.petitions.act("pause", AcknowledgeInput(actor=actor))
    asked = await stack.petitions.act(
        "pause",
        AssessInput(actor=actor, decision=AssessmentDecision.NEEDS_INFO, reason="Which bridge exactly?"),
    )
    assert asked.paused and asked.resolve_by is not None

    await stack.env.sleep(10 * DAY)  # longer than the whole 7-day resolve window
    view = await stack.petitions.view("pause")
    assert (view.tier, view.paused) == (Tier.VILLAGE, True)

    answered = await stack.petitions.act(
        "pause", ProvideInfoInput(actor=petitioner(), info="The one by the school.")
    )
    assert not answered.paused
    assert answered.resolve_by is not None
    assert answered.resolve_by - asked.resolve_by == answered.updated_at - asked.updated_at


async def test_dissatisfied_reopens_once_then_escalates(stack: Stack) -> None:
    await stack.petitions.file(filing("loop"))
    await resolved(stack, "loop")
    reopened = await stack.petitions.act("loop", RateInput(actor=petitioner(), rating=Rating.DISSATISFIED))
    assert (reopened.stage, reopened.rounds_at_tier, reopened.tier) == (Stage.ASSESS, 1, Tier.VILLAGE)

    actor = official(Tier.VILLAGE)
    await stack.petitions.act("loop", AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    await stack.petitions.act(
        "loop", ResolveInput(actor=actor, outcome=Outcome.NOT_FEASIBLE, public_summary="No budget this year.")
    )
    moved = await stack.petitions.act("loop", RateInput(actor=petitioner(), rating=Rating.DISSATISFIED))
    assert (moved.tier, moved.stage, moved.rounds_at_tier) == (Tier.TOWNSHIP, Stage.COLLECT, 0)
    assert (await logged(stack, "loop", 10))[-4:] == ["Assessed", "Resolved", "FeedbackReceived", "Escalated"]


async def test_no_rating_within_the_window_closes_unrated(stack: Stack) -> None:
    await stack.petitions.file(filing("silent"))
    await resolved(stack, "silent")
    await stack.env.sleep(7 * DAY + timedelta(minutes=1))
    assert (await logged(stack, "silent", 5))[-1] == "Closed"
    view = await stack.petitions.view("silent")
    assert (view.stage, view.closed_reason) == (Stage.CLOSED, ClosedReason.UNRATED)


async def test_a_failed_return_visit_reopens_the_petition(stack: Stack) -> None:
    await stack.petitions.file(filing("relapse"))
    await resolved(stack, "relapse")
    await stack.petitions.act("relapse", RateInput(actor=petitioner(), rating=Rating.BASICALLY_SATISFIED))
    view = await stack.petitions.act(
        "relapse", RecordReturnVisitInput(actor=contact_cadre(), held=False, note="Cracked again.")
    )
    assert (view.stage, view.closed_reason, view.reopen_count, view.finished) == (
        Stage.ASSESS,
        None,
        1,
        False,
    )
    assert (await logged(stack, "relapse", 8))[-2:] == ["ReturnVisitRecorded", "Reopened"]


async def _refusal(stack: Stack, petition_id: str, action: object) -> Refusal:
    with pytest.raises(Refusal) as caught:
        await stack.petitions.act(petition_id, action)  # type: ignore[arg-type]
    return caught.value


async def test_refused_actions_name_their_reason_and_leave_no_trace(stack: Stack) -> None:
    await stack.petitions.file(filing("strict"))

    wrong_tier = await _refusal(stack, "strict", AcknowledgeInput(actor=official(Tier.TOWNSHIP)))
    assert (wrong_tier.code, wrong_tier.reason) == (
        RefusalCode.WRONG_TIER,
        "the petition is at the village tier; township-official, an official of the township tier, "
        "may not acknowledge it",
    )
    wrong_region = await _refusal(
        stack, "strict", AcknowledgeInput(actor=official(Tier.VILLAGE, region=OTHER_REGION))
    )
    assert (wrong_region.code, wrong_region.reason) == (
        RefusalCode.WRONG_REGION,
        "the petition belongs to village v-dongshan; village-official serves village v-xishan",
    )
    wrong_stage = await _refusal(
        stack,
        "strict",
        ResolveInput(actor=official(Tier.VILLAGE), outcome=Outcome.RESOLVED, public_summary="Done."),
    )
    assert (wrong_stage.code, wrong_stage.reason) == (
        RefusalCode.WRONG_STAGE,
        "acknowledge the petition before resolving it",
    )
    await resolved(stack, "strict")
    someone_else = await _refusal(
        stack, "strict", RateInput(actor=petitioner("hh-9999"), rating=Rating.SATISFIED)
    )
    assert (someone_else.code, someone_else.reason) == (
        RefusalCode.NOT_PETITIONER,
        "only the petitioner may rate",
    )
    official_rating = await _refusal(
        stack, "strict", RateInput(actor=official(Tier.VILLAGE), rating=Rating.SATISFIED)
    )
    assert official_rating.code is RefusalCode.NOT_PETITIONER

    history = await stack.petitions.handle("strict").fetch_history()
    accepted = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == 3  # acknowledge, assess, resolve: the five refusals wrote nothing
    assert (await stack.petitions.view("strict")).seq == 4


async def test_explicit_escalation_needs_the_current_tier_and_stops_at_the_city(stack: Stack) -> None:
    await stack.petitions.file(filing("up"))
    for tier in (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY):
        view = await stack.petitions.act(
            "up", EscalateInput(actor=official(tier), reason="Needs county funds.")
        )
        assert view.tier is tier.above
    top = await _refusal(stack, "up", EscalateInput(actor=official(Tier.CITY), reason="Still stuck."))
    assert top.code is RefusalCode.TOP_TIER


async def test_filing_the_same_petition_twice_starts_nothing_new(stack: Stack) -> None:
    first = await stack.petitions.file(filing("twice"))
    second = await stack.petitions.file(filing("twice"))
    assert (first.created, second.created) == (True, False)
    await stack.petitions.act("twice", AcknowledgeInput(actor=official(Tier.VILLAGE)))
    assert await logged(stack, "twice", 2) == ["PetitionFiled", "Acknowledged"]
    assert (await stack.petitions.view("twice")).seq == 2


async def test_a_long_petition_continues_as_new_and_keeps_its_state_and_sequence(stack: Stack) -> None:
    await stack.petitions.file(filing("long"), history_limit=50)
    handle = stack.petitions.handle("long")
    await resolved(stack, "long")
    actor = official(Tier.VILLAGE)
    for _ in range(5):  # each round: rated, closed, the fix fails, reopened, resolved again
        await stack.petitions.act("long", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
        await stack.petitions.act("long", RecordReturnVisitInput(actor=contact_cadre(), held=False))
        await stack.petitions.act("long", AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
        await stack.petitions.act(
            "long", ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="Fixed again.")
        )

    view = await stack.petitions.view("long")
    assert (view.seq, view.reopen_count, view.stage) == (4 + 5 * 6, 5, Stage.FEEDBACK)
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    latest = (await handle.fetch_history()).events
    started = latest[0].workflow_execution_started_event_attributes
    carried = json.loads(started.input.payloads[0].data)
    # The latest run began from the carried state, not from the filing: it was continued as new.
    assert (carried["filing"], carried["state"]["petition_id"]) == (None, "long")
    assert carried["state"]["seq"] > 4
    types = await logged(stack, "long", view.seq)
    assert [e.seq for e in stack.log.events["long"]] == list(range(1, view.seq + 1))
    assert types.count("PetitionFiled") == 1


async def test_the_workflow_logs_its_noteworthy_events_with_petition_workflow_and_run(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="temporalio.workflow")
    await stack.petitions.file(filing("logged"))
    await stack.petitions.act(
        "logged", EscalateInput(actor=official(Tier.VILLAGE), reason="Needs the township.")
    )
    await logged(stack, "logged", 2)
    records = [r for r in caplog.records if r.getMessage().startswith("petition event")]
    assert [(r.args, r.petition_id, r.seq, r.tier, r.actor) for r in records] == [  # type: ignore[attr-defined]
        (("PetitionFiled",), "logged", 1, "village", "petitioner:hh-0042"),
        (("Escalated",), "logged", 2, "township", "official:village-official"),
    ]
    workflow_info = records[-1].temporal_workflow  # type: ignore[attr-defined]
    assert workflow_info["workflow_id"] == "petition-logged" and workflow_info["run_id"]
