"""How the workflow stores its events: a local activity first, an ordinary one when that fails."""

from __future__ import annotations

from collections import Counter

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from petitionflow.audit.history import read_evidence
from schemas.commands import AcknowledgeInput, AssessInput
from schemas.common import AssessmentDecision, Tier
from tests.factories import filing, official
from tests.workflows.conftest import FakeEventLog, Stack, running
from tests.workflows.test_petition_workflow import logged


def _kinds(history: WorkflowHistory) -> Counter[str]:
    return Counter(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events)


def _scheduled(history: WorkflowHistory) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_the_reply_to_an_action_leaves_with_its_events_already_stored(stack: Stack) -> None:
    await stack.petitions.file(filing("local"))
    actor = official(Tier.VILLAGE)
    await stack.petitions.act("local", AcknowledgeInput(actor=actor))
    # No waiting: the local activity ran in the workflow task that sent the reply.
    assert stack.log.types("local") == ["PetitionFiled", "Acknowledged"]
    await stack.petitions.act("local", AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    assert stack.log.types("local") == ["PetitionFiled", "Acknowledged", "Assessed"]
    assert stack.log.petitioners["hh-0042"].name == "Wang Fang"

    history = await stack.petitions.handle("local").fetch_history()
    assert _scheduled(history) == [], "no ordinary activity while the local attempts succeed"
    # One marker per store call (the filing, with the petitioner's contact; two actions), one patch.
    assert _kinds(history)["MARKER_RECORDED"] == 4
    sent = read_evidence([history]).envelopes
    assert [(e.seq, e.event["type"], e.completed) for e in sent] == [
        (1, "PetitionFiled", True),
        (2, "Acknowledged", True),
        (3, "Assessed", True),
    ]


@pytest.mark.parametrize(
    "log",
    [FakeEventLog(refuse_local=True), FakeEventLog(stall_local=3.0)],
    ids=["refused", "timed-out"],
)
async def test_a_failed_local_attempt_is_retried_as_an_ordinary_activity(
    env: WorkflowEnvironment, log: FakeEventLog
) -> None:
    async with running(env, log) as stack:
        petitions = stack.petitions
        await petitions.file(filing("fallback"))
        view = await petitions.act("fallback", AcknowledgeInput(actor=official(Tier.VILLAGE)))
        assert view.seq == 2, "the reply does not wait for the event log"
        assert await logged(stack, "fallback", 2) == ["PetitionFiled", "Acknowledged"]
        assert log.petitioners["hh-0042"].name == "Wang Fang"
        history = await petitions.handle("fallback").fetch_history()

    scheduled = _scheduled(history)
    assert set(scheduled) == {"append_events"}, "the contact goes with the filing's append"
    failed_markers = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        and e.marker_recorded_event_attributes.HasField("failure")
    ]
    # Every ordinary activity follows a failed local attempt (under a heavily loaded machine a
    # workflow task can also fail and retry one, hence at least).
    assert len(failed_markers) >= len(scheduled) >= 1
    # The audit reads what was sent from the ordinary activities' inputs.
    sent = read_evidence([history]).envelopes
    assert sorted({(e.seq, e.event["type"]) for e in sent}) == [(1, "PetitionFiled"), (2, "Acknowledged")]
    assert all(e.completed for e in sent)
