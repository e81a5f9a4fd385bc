"""A change behind ``workflow.patched`` replays the histories recorded before it and after it."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from petitionflow.audit import read_export
from petitionflow.audit.exporting import histories
from petitionflow.converter import data_converter
from schemas.commands import AcknowledgeInput
from schemas.common import Tier
from tests.audit.variants import PATCH_ID, ChangedPetitionWorkflow, PatchedPetitionWorkflow
from tests.factories import filing, official
from tests.workflows.conftest import FakeEventLog, running
from workflows.petition import LEAN_STEPS, PetitionWorkflow

GOLDEN = Path(__file__).parents[1] / "histories"


def _replayer(workflow: type) -> Replayer:
    return Replayer(workflows=[workflow], data_converter=data_converter())


async def _record_with_the_patch(env: WorkflowEnvironment) -> WorkflowHistory:
    """A petition started on the patched code: its history carries the patch marker."""
    async with running(env, FakeEventLog(), PatchedPetitionWorkflow) as stack:
        petitions = stack.petitions
        await petitions.file(filing("patched"))
        await petitions.act("patched", AcknowledgeInput(actor=official(Tier.VILLAGE)))
        return await petitions.handle("patched").fetch_history()


async def test_the_patched_code_replays_old_and_new_histories(env: WorkflowEnvironment) -> None:
    old = histories(read_export(GOLDEN / "happy-path.json"))
    new = await _record_with_the_patch(env)
    patches = [
        e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
        for e in new.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    # The production patch is met first, when filing decides which search attributes to upsert.
    assert patches == [
        f'{{"id":"{LEAN_STEPS}","deprecated":false}}'.encode(),
        f'{{"id":"{PATCH_ID}","deprecated":false}}'.encode(),
    ]

    patched = _replayer(PatchedPetitionWorkflow)
    for history in [*old, new]:
        await patched.replay_workflow(history)  # both paths replay: old histories skip the change

    # Without the patch the same change breaks every petition already running ...
    with pytest.raises(NondeterminismError):
        await _replayer(ChangedPetitionWorkflow).replay_workflow(old[0])
    # ... and once a petition ran the new path, the old code cannot carry it: do not roll back.
    with pytest.raises(NondeterminismError):
        await _replayer(PetitionWorkflow).replay_workflow(new)
