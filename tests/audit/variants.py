"""Test-only variants of the Petition workflow: a careless change and the same change behind a patch.

Both are registered under the production name ``Petition``, so they replay its histories. Neither is
ever registered on a real worker.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.state import PetitionState
    from schemas.workflow import WORKFLOW_TYPE, PetitionInput
    from workflows.petition import PetitionWorkflow

GRACE = timedelta(seconds=30)
PATCH_ID = "grace-before-start"


@workflow.defn(name=WORKFLOW_TYPE)
class ChangedPetitionWorkflow(PetitionWorkflow):
    """Waits 30 seconds before it starts work: a new command, with no patch. Breaks old histories."""

    @workflow.run
    async def run(self, input: PetitionInput) -> PetitionState:
        await workflow.sleep(GRACE)
        return await super().run(input)


@workflow.defn(name=WORKFLOW_TYPE)
class PatchedPetitionWorkflow(PetitionWorkflow):
    """The same change behind ``workflow.patched``: old histories take the old path when replayed."""

    @workflow.run
    async def run(self, input: PetitionInput) -> PetitionState:
        if workflow.patched(PATCH_ID):
            await workflow.sleep(GRACE)
        return await super().run(input)
