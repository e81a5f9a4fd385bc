"""Auditors' routes: export, verify and the timeline of any petition, for an auditor's token only."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.api import scope
from petitionflow.api.deps import AppServices, Reader, official
from petitionflow.api.errors import ApiError
from petitionflow.api.params import UtcMoment
from petitionflow.audit import AuditExport, TimelineEntry, VerifyReport, export, petition_timeline, verify
from petitionflow.audit.checkpoints import (
    ConsistencyProof,
    PetitionProof,
    as_checkpoint,
    consistency_proof,
    petition_proof,
)
from petitionflow.audit.signing import Checkpoint
from petitionflow.audit.timeline import petition_state_as_of
from schemas.common import Actor, PetitionId, Role
from schemas.state import PetitionState
from store import access, queries
from store import checkpoints as checkpoint_store
from store.access import AccessRead

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
async def export_petition(
    petition_id: PetitionId, app: AppServices, who: Auditor, request: Request
) -> AuditExport:
    """Every run of the petition's Temporal history and its PostgreSQL events, as one document that
    ``petitionflow audit verify --from`` checks offline. The read is in the access log."""
    try:
        exported = await export(app.petitions.temporal, app.pool, petition_id)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise _not_found(petition_id) from None
        raise
    await scope.log_audit_read(app.pool, Reader(actor=who, service=None), petition_id, request=request)
    return exported


@router.get("/petitions/{petition_id}/verify", response_model=VerifyReport, responses=_AUDIT_ERRORS)
async def verify_petition(
    petition_id: PetitionId, app: AppServices, who: Auditor, request: Request
) -> VerifyReport:
    """Replay, hash chain, fold, history and read model, compared; ``ok`` only when all agree. The
    findings quote the values that differ, the text too: the read is in the access log."""
    try:
        report = await verify(app.petitions.temporal, app.pool, petition_id)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise _not_found(petition_id) from None
        raise
    await scope.log_audit_read(app.pool, Reader(actor=who, service=None), petition_id, request=request)
    return report


@router.get("/petitions/{petition_id}/timeline", response_model=list[TimelineEntry], responses=_AUDIT_ERRORS)
async def petition_timeline_route(
    petition_id: PetitionId,
    app: AppServices,
    who: Auditor,
    request: Request,
    as_of: Annotated[UtcMoment | None, Query(description="Only events up to this moment (ISO 8601).")] = None,
) -> list[TimelineEntry]:
    """Each event: when, who, tier and stage after it, what changed, deadlines met or missed (the
    read is in the access log)."""
    if await queries.get_petition(app.pool, petition_id) is None:
        raise _not_found(petition_id)
    await scope.log_audit_read(app.pool, Reader(actor=who, service=None), petition_id, request=request)
    return await petition_timeline(app.pool, petition_id, as_of=as_of)


@router.get("/petitions/{petition_id}/state", response_model=PetitionState, responses=_AUDIT_ERRORS)
async def petition_state(
    petition_id: PetitionId,
    app: AppServices,
    who: Auditor,
    request: Request,
    as_of: Annotated[UtcMoment, Query(description="The moment to fold the events up to (ISO 8601).")],
) -> PetitionState:
    """The petition as it stood at ``as_of``, folded from its events (the read is in the access log)."""
    state = await petition_state_as_of(app.pool, petition_id, as_of)
    if state is None:
        if await queries.get_petition(app.pool, petition_id) is None:
            raise _not_found(petition_id)
        raise ApiError(404, "not_found", f"petition {petition_id} had not been filed at {as_of.isoformat()}")
    await scope.log_audit_read(app.pool, Reader(actor=who, service=None), petition_id, request=request)
    return state


class AccessLogPage(BaseModel):
    items: list[AccessRead]
    next_after: int | None
    """Pass as ``after`` for the next page; null on the last page."""


ACCESS_LOG_COLUMNS = (
    "id",
    "at",
    "reader_role",
    "reader_id",
    "reader_tier",
    "reader_region",
    "service",
    "petition_id",
    "fields",
    "route",
    "request_id",
)


def access_log_csv(rows: list[AccessRead]) -> str:
    """The rows as CSV with a header line; ``fields`` joined by spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ACCESS_LOG_COLUMNS)
    for row in rows:
        values = row.model_dump(mode="json")
        values["fields"] = " ".join(row.fields)
        writer.writerow(["" if values[c] is None else values[c] for c in ACCESS_LOG_COLUMNS])
    return out.getvalue()


@router.get(
    "/access-log",
    response_model=AccessLogPage,
    responses={
        **{k: v for k, v in _AUDIT_ERRORS.items() if k != 404},
        200: {"content": {"text/csv": {}}, "description": "The page, as JSON or (format=csv) CSV."},
    },
)
async def access_log(
    app: AppServices,
    _: Auditor,
    petition: Annotated[PetitionId | None, Query(description="Only reads of this petition.")] = None,
    after: Annotated[int | None, Query(ge=0, description="next_after of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: an export with a header line.")
    ] = "json",
) -> AccessLogPage | Response:
    """Who read which petition's text or petitioner's contact, when, and which fields, oldest first."""
    rows = await access.list_reads(app.pool, petition_id=petition, after=after, limit=limit)
    next_after = rows[-1].id if len(rows) == limit else None
    if format == "csv":
        headers = {"Content-Disposition": 'attachment; filename="access-log.csv"'}
        if next_after is not None:
            headers["X-Next-After"] = str(next_after)
        return Response(access_log_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    return AccessLogPage(items=rows, next_after=next_after)


# ----------------------------------------------------------------------- public: checkpoints, proofs

public_router = APIRouter(prefix="/v1/audit", tags=["audit"])
"""Routes anyone may call: the signed checkpoints and the proofs checked against them."""


@public_router.get("/checkpoints", response_model=list[Checkpoint])
async def list_published_checkpoints(
    app: AppServices,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")] = 100,
) -> list[Checkpoint]:
    """The signed checkpoints (tree size, root, signature and the public key), newest first: check
    them with ``petitionflow audit verify --checkpoint FILE --public-key KEY``."""
    return [as_checkpoint(row) for row in await checkpoint_store.list_checkpoints(app.pool, limit=limit)]


async def _checkpoint_of_size(app: AppServices, size: int | None, name: str) -> Checkpoint:
    row = (
        await checkpoint_store.latest_checkpoint(app.pool)
        if size is None
        else await checkpoint_store.checkpoint_of_size(app.pool, size)
    )
    if row is not None:
        return as_checkpoint(row)
    if size is None:
        raise ApiError(404, "no_checkpoint", "no checkpoint was taken yet")
    raise ApiError(404, "no_checkpoint", f"{name}: no checkpoint of tree size {size}")


@public_router.get(
    "/petitions/{petition_id}/proof",
    response_model=PetitionProof,
    responses={404: {"description": "No such petition, or no checkpoint yet"}},
)
async def petition_proof_route(
    petition_id: PetitionId,
    app: AppServices,
    tree_size: Annotated[
        int | None, Query(ge=0, description="The checkpoint's tree size (default: the latest checkpoint).")
    ] = None,
) -> PetitionProof:
    """The petition's public events (seq, type, time, chain hashes) in a checkpoint's tree, each with
    its inclusion proof: ``petitionflow audit verify --proof FILE --checkpoint FILE --public-key KEY``."""
    if await queries.get_petition(app.pool, petition_id) is None:
        raise _not_found(petition_id)
    checkpoint = await _checkpoint_of_size(app, tree_size, "tree_size")
    return await petition_proof(app.pool, petition_id, checkpoint)


@public_router.get(
    "/checkpoints/consistency",
    response_model=ConsistencyProof,
    responses={404: {"description": "No checkpoint of that size"}},
)
async def consistency_route(
    app: AppServices,
    first: Annotated[int, Query(ge=0, description="The earlier checkpoint's tree size.")],
    second: Annotated[int, Query(ge=0, description="The later checkpoint's tree size.")],
) -> ConsistencyProof:
    """The proof that the later checkpoint extends the earlier:
    ``petitionflow audit verify --consistency FILE --public-key KEY``."""
    if first > second:
        raise ApiError(422, "invalid_request", "first: must not be larger than second")
    a = await _checkpoint_of_size(app, first, "first")
    b = await _checkpoint_of_size(app, second, "second")
    return await consistency_proof(app.pool, a, b)
