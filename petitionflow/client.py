"""The typed Python client for backend services: file petitions, act on them, read them."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from schemas.commands import Action, FilePetitionInput
from schemas.common import RefusalCode
from schemas.state import PetitionState
from schemas.workflow import TASK_QUEUE, WORKFLOW_TYPE, PetitionInput, workflow_id
from workflows.petition import PetitionWorkflow


class Refusal(Exception):
    """The rules refused an action; nothing happened. ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: RefusalCode, reason: str) -> None:
        super().__init__(f"{code.value}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Filed:
    petition_id: str
    workflow_id: str
    created: bool
    """False when the petition id was filed before: nothing new was started."""


class PetitionClient:
    """Wraps a Temporal client created with the pydantic data converter (``worker.connect``)."""

    def __init__(self, client: Client, *, task_queue: str = TASK_QUEUE) -> None:
        self._client = client
        self._task_queue = task_queue

    async def file(self, filing: FilePetitionInput, *, history_limit: int | None = None) -> Filed:
        """File a petition. Idempotent by ``petition_id``: filing it again starts nothing new."""
        wid = workflow_id(filing.petition_id)
        start = PetitionInput(filing=filing)
        if history_limit is not None:
            start = PetitionInput(filing=filing, history_limit=history_limit)
        try:
            await self._client.start_workflow(
                WORKFLOW_TYPE,
                start,
                id=wid,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            return Filed(petition_id=filing.petition_id, workflow_id=wid, created=False)
        return Filed(petition_id=filing.petition_id, workflow_id=wid, created=True)

    async def act(self, petition_id: str, action: Action, *, request_id: str | None = None) -> PetitionState:
        """Send an action; returns the petition as it stands after it.

        ``request_id`` makes a retried call safe: the same id is answered once, not applied twice.

        Raises:
            Refusal: the rules do not allow it (wrong tier, region, stage, person ...).
        """
        try:
            state: PetitionState = await self.handle(petition_id).execute_update(
                action.kind, action, id=request_id, result_type=PetitionState
            )
            return state
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "Refused":
                return _raise_refusal(cause)
            raise

    async def view(self, petition_id: str) -> PetitionState:
        return await self.handle(petition_id).query(PetitionWorkflow.view)

    def handle(self, petition_id: str) -> WorkflowHandle[PetitionWorkflow, PetitionState]:
        return self._client.get_workflow_handle_for(PetitionWorkflow.run, workflow_id(petition_id))


def _raise_refusal(cause: ApplicationError) -> PetitionState:
    code = RefusalCode(cause.details[0]) if cause.details else RefusalCode.WRONG_STAGE
    raise Refusal(code, cause.message)
