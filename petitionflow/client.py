"""The typed Python client for backend services: file petitions, act on them, read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from schemas.commands import Action, DirectoryChangeInput, FilePetitionInput
from schemas.common import PersonId, PetitionId, RefusalCode, RegionId, Stage, Tier
from schemas.state import PetitionState
from schemas.workflow import TASK_QUEUE, WORKFLOW_TYPE, PetitionInput, workflow_id
from store import queries
from store.models import EchoWallEntry, FigureGroup, FigureRow, PetitionRow
from workflows import search
from workflows.petition import PetitionWorkflow

_QUERY_DEADLINE = timedelta(seconds=5)
_UNANSWERED = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
"""How a query nobody answered in time comes back: the server's deadline, or our own rpc_timeout."""


class Refusal(Exception):
    """The rules refused an action; nothing happened. ``code`` is stable, ``reason`` is for people."""

    def __init__(
        self, code: RefusalCode, reason: str, *, key: str | None = None, params: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{code.value}: {reason}")
        self.code = code
        self.reason = reason
        self.key = key or code.value
        """Names the sentence for a translation (``wrong_stage.not_acknowledged``); default the code."""
        self.params = params or {}
        """What fills the sentence's blanks: tiers, stages, ids, the action tried."""


REFUSAL_STATUS: dict[RefusalCode, int] = {
    RefusalCode.NOT_AN_OFFICIAL: 403,
    RefusalCode.WRONG_TIER: 403,
    RefusalCode.WRONG_REGION: 403,
    RefusalCode.NOT_PETITIONER: 403,
    RefusalCode.REASON_REQUIRED: 422,
    RefusalCode.WRONG_OFFICE: 403,
    RefusalCode.RECUSED: 403,
    RefusalCode.NOT_SUMMONED: 403,
    RefusalCode.OUTSIDE_AREA: 422,
}
"""The HTTP status a refusal answers with, for the API and the pages alike. Refusals that are not
here are about the petition's state (wrong stage, closed, finished, top tier …): 409 Conflict."""


def refusal_status(code: RefusalCode) -> int:
    return REFUSAL_STATUS.get(code, 409)


@dataclass(frozen=True)
class Filed:
    petition_id: str
    workflow_id: str
    created: bool
    """False when the petition id was filed before: nothing new was started."""


class PetitionClient:
    """Files and acts through Temporal; lists and reports from the PostgreSQL read models.

    Args:
        client: a Temporal client made with the pydantic data converter (``worker.connect``).
        pool: the event log's database, for the read-model methods (``list``, ``echo_wall``,
            ``figures``); without it those raise ``RuntimeError``.
    """

    def __init__(
        self, client: Client, *, pool: asyncpg.Pool | None = None, task_queue: str = TASK_QUEUE
    ) -> None:
        self._client = client
        self._pool = pool
        self._task_queue = task_queue

    @property
    def temporal(self) -> Client:
        """The Temporal client underneath, for what this one does not wrap (auditing, listing)."""
        return self._client

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
                search_attributes=search.at_filing(filing),
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

    async def directory_changed(
        self, petition_id: str, change: DirectoryChangeInput, *, request_id: str | None = None
    ) -> PetitionState:
        """Tell an open petition what a new directory version changes for it (the ``directory_changed``
        update); what differs is recorded as events, the rest changes nothing.

        Raises:
            Refusal: the petition's record is finished, or the actor is not the system.
        """
        try:
            state: PetitionState = await self.handle(petition_id).execute_update(
                "directory_changed", change, id=request_id, result_type=PetitionState
            )
            return state
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "Refused":
                return _raise_refusal(cause)
            raise

    async def view(self, petition_id: str, *, attempts: int = 4) -> PetitionState:
        """The petition as its workflow holds it now.

        A query that meets a run being continued as new can go unanswered; it is asked again, with a
        short deadline each time, before the error is raised.
        """
        for attempt in range(1, attempts + 1):
            try:
                return await self.handle(petition_id).query(
                    PetitionWorkflow.view, rpc_timeout=_QUERY_DEADLINE
                )
            except RPCError as err:
                if err.status not in _UNANSWERED or attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def list_petitions(
        self,
        *,
        tier: Tier | None = None,
        stage: Stage | None = None,
        region_id: RegionId | None = None,
        overdue: bool | None = None,
        official_id: PersonId | None = None,
        limit: int = 100,
        after: PetitionId | None = None,
        within: tuple[Tier, RegionId] | None = None,
        filed_by: str | None = None,
    ) -> list[PetitionRow]:
        """Petitions from the read model matching every filter given, ``limit`` at a time after ``after``.

        ``within`` (a tier and a region) and ``filed_by`` (a service) scope the list to a reader:
        see ``store.queries.list_petitions``."""
        return await queries.list_petitions(
            self._read_model(),
            tier=tier,
            stage=stage,
            region_id=region_id,
            overdue=overdue,
            official_id=official_id,
            limit=limit,
            after=after,
            within=within,
            filed_by=filed_by,
        )

    async def echo_wall(
        self, *, region_id: RegionId | None = None, tier: Tier | None = None, limit: int = 50
    ) -> list[EchoWallEntry]:
        """The public board of answers, newest first. Never holds personal data."""
        return await queries.echo_wall(self._read_model(), region_id=region_id, tier=tier, limit=limit)

    async def figures(
        self,
        by: FigureGroup = FigureGroup.TIER,
        *,
        tier: Tier | None = None,
        region_id: RegionId | None = None,
        official_id: PersonId | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[FigureRow]:
        """Response, resolution, on-time, satisfaction, escalation and reopen rates by ``by``."""
        return await queries.figures(
            self._read_model(),
            by,
            tier=tier,
            region_id=region_id,
            official_id=official_id,
            since=since,
            until=until,
        )

    def _read_model(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("this PetitionClient was made without a database pool: pass pool=")
        return self._pool

    def handle(self, petition_id: str) -> WorkflowHandle[PetitionWorkflow, PetitionState]:
        return self._client.get_workflow_handle_for(PetitionWorkflow.run, workflow_id(petition_id))


def _raise_refusal(cause: ApplicationError) -> PetitionState:
    details = cause.details
    code = RefusalCode(details[0]) if details else RefusalCode.WRONG_STAGE
    key = details[1] if len(details) > 1 and isinstance(details[1], str) else None
    given = details[2] if len(details) > 2 and isinstance(details[2], dict) else {}
    raise Refusal(code, cause.message, key=key, params={str(k): str(v) for k, v in given.items()})
