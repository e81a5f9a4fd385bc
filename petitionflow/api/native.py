"""The native HTTP API under ``/v1``: file, act, read; the echo wall and the figures in public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.api import filing as filings
from petitionflow.api import idempotency
from petitionflow.api.bodies import (
    OFFICIAL_BODIES,
    PETITIONER_BODIES,
    OfficialBody,
    PetitionerBody,
    to_action,
)
from petitionflow.api.deps import AnyReader, AppServices, FilingService, Official, ServiceName, Services
from petitionflow.api.errors import ApiError, ErrorBody, refusal_status
from petitionflow.api.params import UtcMoment, refuse_unprintable
from petitionflow.client import Refusal
from schemas.commands import ACTION_TYPES, Action, FilePetitionInput
from schemas.common import Actor, PersonId, PetitionId, RegionId, Stage, Tier
from schemas.state import PetitionState
from store import offices
from store.models import EchoWallEntry, FigureGroup, FigureRow, PetitionRow
from workflows.lifecycle import is_recused

router = APIRouter(prefix="/v1")

PathPetitionId = Annotated[
    str,
    Path(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The petition id."
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Sent again by the same caller with the same request, the action is applied once "
        "and answered alike (Idempotent-Replayed: true); with another request, 422; while the first "
        "is still being answered, 409.",
    ),
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Malformed JSON.",
        401: "Missing, unknown, revoked or expired credentials.",
        403: "The rules refuse this person: wrong tier, region, not an official, not the petitioner.",
        404: "No such petition.",
        409: "The rules refuse it in the petition's state: wrong stage, closed, finished, top tier; "
        "the petition id belongs to another service (petition_id_taken); or the Idempotency-Key's "
        "first request is still being answered (idempotency_key_in_use, Retry-After).",
        422: "Invalid input (the fields name each problem), a reason the rules require is missing, "
        "or an Idempotency-Key sent before with another request.",
    }
    described[429] = "Too many requests from this address, key or token: wait Retry-After seconds."
    return {s: {"model": ErrorBody, "description": described[s]} for s in (*statuses, 429)}


class Filed(BaseModel):
    """The answer to a filing: ``created`` is false when the id was filed before (nothing new)."""

    created: bool
    petition: PetitionState


class PetitionPage(BaseModel):
    items: list[PetitionRow]
    next_after: PetitionId | None
    """Pass as ``after`` for the next page; null on the last page."""


def _bind(petition_id: str) -> None:
    structlog.contextvars.bind_contextvars(petition_id=petition_id)


async def _missing_or_finished(app: AppServices, petition_id: str) -> ApiError:
    """Temporal answered NOT_FOUND: either no such petition, or its workflow has ended (finished)."""
    try:
        await app.petitions.handle(petition_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return ApiError(404, "not_found", f"no petition {petition_id} was filed")
        raise
    return ApiError(409, "finished", "the petition's record is finished: nothing more can be done")


async def _view(app: AppServices, petition_id: str) -> PetitionState:
    try:
        return await app.petitions.view(petition_id)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "not_found", f"no petition {petition_id} was filed") from None
        raise


async def _act(
    app: AppServices,
    petition_id: str,
    action: Action,
    *,
    caller: str,
    key: str | None,
    body: OfficialBody | PetitionerBody,
) -> PetitionState | Response:
    structlog.contextvars.bind_contextvars(action=action.kind)

    async def send(update_id: str | None) -> PetitionState:
        try:
            return await app.petitions.act(petition_id, action, request_id=update_id)
        except Refusal as refusal:
            raise ApiError(refusal_status(refusal.code), refusal.code.value, refusal.reason) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise await _missing_or_finished(app, petition_id) from None
            raise

    request_hash = idempotency.fingerprint(action.kind, petition_id, body.model_dump(mode="json"))
    return await idempotency.once(app.pool, caller=caller, key=key, request_hash=request_hash, run=send)


@router.post(
    "/petitions",
    tags=["petitions"],
    status_code=201,
    response_model=Filed,
    summary="File a petition (idempotent by petition_id)",
    responses={
        200: {"model": Filed, "description": "Filed before: nothing new was started."},
        **_errors(400, 401, 409, 422),
    },
)
async def file_petition(
    filing: FilePetitionInput, app: AppServices, service: FilingService, response: Response
) -> Filed:
    """A backend service files a petition. Filing the same ``petition_id`` again starts nothing new
    and answers 200 with ``created: false`` and the petition as it stands; an id another service
    filed is refused (409 ``petition_id_taken``).

    The petition starts at the tier bound to the service's API key: leave ``tier`` out (a body
    naming another tier is refused, 422). ``category`` must be one of the catalogue's services."""
    _bind(filing.petition_id)
    refuse_unprintable("body", filing.model_dump(mode="json"))
    filing = filings.bind_to_key(filing, service, app.catalogue)
    filing = await filings.resolve_intake(app.pool, filing, service)
    await filings.claim(app.pool, filing.petition_id, service.name)
    filed = await app.petitions.file(filing)
    if not filed.created:
        response.status_code = 200
    return Filed(created=filed.created, petition=await _view(app, filing.petition_id))


def _route(
    verb: str, act: Callable[..., Awaitable[PetitionState | Response]], body_type: type, who: str, how: str
) -> None:
    # FastAPI reads the body's model from the annotation: give each verb its own.
    act.__annotations__["body"] = body_type
    router.add_api_route(
        f"/petitions/{{petition_id}}/actions/{verb}",
        act,
        methods=["POST"],
        name=f"act_{verb}",
        tags=["actions"],
        summary=f"{verb} ({who})",
        description=f"{ACTION_TYPES[verb].__doc__}\n\n{how}",
        response_model=PetitionState,
        responses=_errors(400, 401, 403, 404, 409, 422),
    )


async def _with_offices(
    app: Services, petition_id: str, verb: str, body: OfficialBody
) -> dict[str, object] | None:
    """The body's fields with the offices it names resolved from the directory, for the actions that
    name offices (dispatch, summon); None for the others."""
    if verb not in offices.OFFICE_FIELDS:
        return None
    try:
        region = (await app.petitions.view(petition_id)).region
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise await _missing_or_finished(app, petition_id) from None
        raise
    try:
        return await offices.command_fields(app.pool, verb, body.model_dump(), region)
    except offices.UnknownOffice as unknown:
        field = offices.OFFICE_FIELDS[verb][0]
        raise filings.invalid((field,), f"no office {unknown.office_id!r} in the directory") from None


def _add_official_action(verb: str, body_type: type[OfficialBody]) -> None:
    async def act(
        petition_id: PathPetitionId,
        body: OfficialBody,
        actor: Official,
        app: AppServices,
        idempotency_key: IdempotencyKey = None,
    ) -> PetitionState | Response:
        _bind(petition_id)
        category = getattr(body, "category", None)
        if category is not None and (problem := filings.category_problem(app.catalogue, category)):
            raise filings.invalid(("category",), problem)
        resolved = await _with_offices(app, petition_id, verb, body)
        action = to_action(verb, body, actor, resolved=resolved)
        caller = idempotency.caller_of(actor)
        return await _act(app, petition_id, action, caller=caller, key=idempotency_key, body=body)

    _route(verb, act, body_type, "an official, by bearer token", "The bearer token fixes who acts.")


def _add_petitioner_action(verb: str, body_type: type[PetitionerBody]) -> None:
    async def act(
        petition_id: PathPetitionId,
        body: PetitionerBody,
        service: ServiceName,
        app: AppServices,
        idempotency_key: IdempotencyKey = None,
    ) -> PetitionState | Response:
        _bind(petition_id)
        actor = Actor.petitioner(body.petitioner_id)
        structlog.contextvars.bind_contextvars(actor=f"petitioner:{actor.id}")
        action = to_action(verb, body, actor)
        caller = idempotency.caller_of(service=service)
        return await _act(app, petition_id, action, caller=caller, key=idempotency_key, body=body)

    _route(
        verb,
        act,
        body_type,
        "for the petitioner, by a service's API key",
        "A service sends it for the petitioner it names.",
    )


for _verb, _body in OFFICIAL_BODIES.items():
    _add_official_action(_verb, _body)
for _verb, _pbody in PETITIONER_BODIES.items():
    _add_petitioner_action(_verb, _pbody)


@router.get(
    "/petitions/{petition_id}",
    tags=["petitions"],
    response_model=PetitionState,
    summary="A petition as it stands (officials, auditors, services)",
    responses=_errors(401, 404),
)
async def get_petition(petition_id: PathPetitionId, app: AppServices, reader: AnyReader) -> PetitionState:
    """A petition about its reader (recusal: its cadre, or an official of its village office) is
    answered 404, as one that does not exist."""
    _bind(petition_id)
    view = await _view(app, petition_id)
    if reader.actor is not None and is_recused(view, reader.actor):
        raise ApiError(404, "not_found", f"no petition {petition_id} was filed")
    return view


@router.get(
    "/petitions",
    tags=["petitions"],
    response_model=PetitionPage,
    summary="Petitions from the read model, in id order, a page at a time",
    responses=_errors(401, 422),
)
async def list_petitions(
    app: AppServices,
    reader: AnyReader,
    tier: Tier | None = None,
    stage: Stage | None = None,
    region: Annotated[RegionId | None, Query(description="A village, township, county or city id.")] = None,
    overdue: bool | None = None,
    official: Annotated[
        PersonId | None, Query(description="The official who acknowledged it at its current tier.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[PetitionId | None, Query(description="next_after of the previous page.")] = None,
) -> PetitionPage:
    rows = await app.petitions.list_petitions(
        tier=tier,
        stage=stage,
        region_id=region,
        overdue=overdue,
        official_id=official,
        limit=limit,
        after=after,
    )
    next_after = rows[-1].petition_id if len(rows) == limit else None
    if reader.actor is not None:  # a page may come back shorter: next_after still pages on
        actor = reader.actor
        rows = [row for row in rows if not is_recused(row.state, actor)]
    return PetitionPage(items=rows, next_after=next_after)


@router.get(
    "/echo-wall",
    tags=["public"],
    response_model=list[EchoWallEntry],
    summary="The public echo wall: how each petition was answered (no personal data)",
    responses=_errors(422),
)
async def echo_wall(
    app: AppServices,
    region: Annotated[RegionId | None, Query(description="A village, township, county or city id.")] = None,
    tier: Tier | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[EchoWallEntry]:
    return await app.petitions.echo_wall(region_id=region, tier=tier, limit=limit)


@router.get(
    "/figures",
    tags=["public"],
    response_model=list[FigureRow],
    summary="Response, resolution, on-time, satisfaction, escalation and reopen rates",
    responses=_errors(422),
)
async def figures(
    app: AppServices,
    by: FigureGroup = FigureGroup.TIER,
    tier: Tier | None = None,
    region: RegionId | None = None,
    official: PersonId | None = None,
    since: UtcMoment | None = None,
    until: UtcMoment | None = None,
) -> list[FigureRow]:
    return await app.petitions.figures(
        by, tier=tier, region_id=region, official_id=official, since=since, until=until
    )
