"""Auditors' routes: export, verify and the timeline of any petition, for an auditor's token only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.api.deps import AppServices, official
from petitionflow.api.errors import ApiError
from petitionflow.api.params import UtcMoment
from petitionflow.audit import AuditExport, TimelineEntry, VerifyReport, export, petition_timeline, verify
from petitionflow.audit.timeline import petition_state_as_of
from schemas.common import Actor, PetitionId, Role
from schemas.state import PetitionState
from store import queries

router = APIRouter(prefix="/v1/audit", tags=["audit"])

_AUDIT_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Not an auditor"},
    404: {"description": "No such petition"},
}


async def auditor(actor: Annotated[Actor, Depends(official)]) -> Actor:
    """The caller, who must hold an auditor's token."""
    if actor.role is not Role.AUDITOR:
        raise ApiError(
            403, "not_an_auditor", f"only an auditor may audit; the token is a {actor.role.value}'s"
        )
    return actor


Auditor = Annotated[Actor, Depends(auditor)]


def _not_found(petition_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no petition {petition_id}")


@router.get("/petitions/{petition_id}/export", response_model=AuditExport, responses=_AUDIT_ERRORS)
async def export_petition(petition_id: PetitionId, app: AppServices, _: Auditor) -> AuditExport:
    """Every run of the petition's Temporal history and its PostgreSQL events, as one document that
    ``petitionflow audit verify --from`` checks offline."""
    try:
        return await export(app.petitions.temporal, app.pool, petition_id)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise _not_found(petition_id) from None
        raise


@router.get("/petitions/{petition_id}/verify", response_model=VerifyReport, responses=_AUDIT_ERRORS)
async def verify_petition(petition_id: PetitionId, app: AppServices, _: Auditor) -> VerifyReport:
    """Replay, hash chain, fold, history and read model, compared; ``ok`` only when all agree."""
    try:
        return await verify(app.petitions.temporal, app.pool, petition_id)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise _not_found(petition_id) from None
        raise


@router.get("/petitions/{petition_id}/timeline", response_model=list[TimelineEntry], responses=_AUDIT_ERRORS)
async def petition_timeline_route(
    petition_id: PetitionId,
    app: AppServices,
    _: Auditor,
    as_of: Annotated[UtcMoment | None, Query(description="Only events up to this moment (ISO 8601).")] = None,
) -> list[TimelineEntry]:
    """Each event: when, who, tier and stage after it, what changed, deadlines met or missed."""
    if await queries.get_petition(app.pool, petition_id) is None:
        raise _not_found(petition_id)
    return await petition_timeline(app.pool, petition_id, as_of=as_of)


@router.get("/petitions/{petition_id}/state", response_model=PetitionState, responses=_AUDIT_ERRORS)
async def petition_state(
    petition_id: PetitionId,
    app: AppServices,
    _: Auditor,
    as_of: Annotated[UtcMoment, Query(description="The moment to fold the events up to (ISO 8601).")],
) -> PetitionState:
    """The petition as it stood at ``as_of``, folded from its events."""
    state = await petition_state_as_of(app.pool, petition_id, as_of)
    if state is None:
        if await queries.get_petition(app.pool, petition_id) is None:
            raise _not_found(petition_id)
        raise ApiError(404, "not_found", f"petition {petition_id} had not been filed at {as_of.isoformat()}")
    return state
