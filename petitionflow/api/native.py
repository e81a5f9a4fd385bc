"""The native HTTP API under ``/v1``: file, act, read; the echo wall and the figures in public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from petitionflow import intake
from petitionflow.api import filing as filings
from petitionflow.api import idempotency, petitioner, scope
from petitionflow.api.bodies import (
    OFFICIAL_BODIES,
    PETITIONER_BODIES,
    OfficialBody,
    PetitionerBody,
    to_action,
)
from petitionflow.api.deps import (
    API_KEY,
    AnyReader,
    AppServices,
    FilingService,
    Official,
    Reader,
    Services,
)
from petitionflow.api.errors import ApiError, ErrorBody, refusal_status
from petitionflow.api.params import UtcMoment, refuse_unprintable
from petitionflow.client import Refusal
from petitionflow.intake import FilingBody
from schemas.commands import ACTION_TYPES, Action
from schemas.common import PersonId, PetitionId, RefusalCode, RegionId, Stage, Tier
from schemas.state import PetitionState
from store import access, offices
from store.models import EchoWallEntry, FigureGroup, FigureRow
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
    petition: scope.PetitionView
    """As any service reads it: without the petition's text and petitioner (``withheld``)."""


PetitionerToken = Annotated[
    str | None,
    Header(
        alias=petitioner.TOKEN_HEADER,
        min_length=1,
        max_length=1000,
        description="The household's link token for this petition: it proves who acts.",
    ),
]
CallbackOperator = Annotated[
    str | None,
    Header(
        alias=petitioner.OPERATOR_HEADER,
        min_length=1,
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="The hotline operator recording the petitioner's answer on a callback (回访); "
        "with the key of a service holding the callback permission.",
    ),
]


class PetitionPage(BaseModel):
    items: list[scope.ListedPetition]
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


_WHO_REFUSALS = frozenset({RefusalCode.WRONG_REGION, RefusalCode.WRONG_TIER, RefusalCode.NOT_AN_OFFICIAL})


async def _may_read(app: AppServices, petition_id: str, action: Action) -> bool:
    """Whether the official refused for who they are may know the petition exists: one outside its
    regions is answered 404, as a read would be, not with the rules' reason (which names its tier)."""
    state = await _view(app, petition_id)
    reader = Reader(actor=action.actor, service=None)
    return scope.may_read(reader, state.region, owner=None, contact_cadre_id=state.contact_cadre_id)


async def _act(
    app: AppServices,
    petition_id: str,
    action: Action,
    *,
    caller: str,
    key: str | None,
    body: OfficialBody | PetitionerBody,
    shown: Callable[[PetitionState], PetitionState] = lambda state: state,
) -> PetitionState | Response:
    """Send ``action``, once per Idempotency-Key; answer with the new state as ``shown`` makes it
    (kept so, for a replay)."""
    structlog.contextvars.bind_contextvars(action=action.kind)

    async def send(update_id: str | None) -> PetitionState:
        try:
            return shown(await app.petitions.act(petition_id, action, request_id=update_id))
        except Refusal as refusal:
            if isinstance(body, PetitionerBody):
                raise petitioner.refused(refusal) from None
            if refusal.code in _WHO_REFUSALS and not await _may_read(app, petition_id, action):
                raise scope.not_found(petition_id) from None
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
    body: FilingBody, app: AppServices, service: FilingService, response: Response
) -> Filed:
    """A backend service files a petition. Filing the same ``petition_id`` again starts nothing new
    and answers 200 with ``created: false`` and the petition as it stands; an id another service
    filed is refused (409 ``petition_id_taken``).

    The petition starts at the tier bound to the service's API key: leave ``tier`` out (a body
    naming another tier is refused, 422). ``category`` must be one of the catalogue's services.
    The policy is the deployment's: a body carrying ``policy`` is refused (422). Once a directory
    is imported, the household (``petitioner.petitioner_id``) gives the region path and the contact
    cadre, or a walk-in names its ``village_id`` (its duty cadre becomes the contact); a ``region``
    or ``contact_cadre_id`` the directory contradicts is refused (422 naming the field)."""
    _bind(body.petition_id)
    refuse_unprintable("body", body.model_dump(mode="json"))
    body = filings.bind_to_key(body, service, app.catalogue)
    try:
        placed = await intake.place(app.pool, body, fallback=app.regions)
    except intake.FilingProblem as problem:
        raise filings.invalid(problem.path, problem.reason) from None
    filing = placed.filing(app.policy)
    filing = await filings.resolve_intake(app.pool, filing, service)
    if (personal := scope.personal_in_id(filing)) is not None:
        raise filings.invalid(("petition_id",), personal)
    await filings.claim(app.pool, filing.petition_id, service.name)
    filed = await app.petitions.file(filing)
    if not filed.created:
        response.status_code = 200
    return Filed(created=filed.created, petition=scope.withhold(await _view(app, filing.petition_id)))


def _route(
    verb: str,
    act: Callable[..., Awaitable[PetitionState | Response]],
    body_type: type,
    who: str,
    how: str,
    answer: type[PetitionState] = PetitionState,
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
        response_model=answer,
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
        app: AppServices,
        request: Request,
        api_key: API_KEY = None,
        link: PetitionerToken = None,
        operator: CallbackOperator = None,
        idempotency_key: IdempotencyKey = None,
    ) -> PetitionState | Response:
        _bind(petition_id)
        proven = await petitioner.prove(
            request, app, petition_id, body.petitioner_id, link=link, api_key=api_key, operator=operator
        )
        action = to_action(verb, body, proven.actor)
        # The household sees its own petition; a relaying service what any service may read.
        shown = scope.as_seen_by_household if link else scope.withhold
        return await _act(
            app, petition_id, action, caller=proven.caller, key=idempotency_key, body=body, shown=shown
        )

    _route(
        verb,
        act,
        body_type,
        "the petitioner, proved by a link token or a hotline callback",
        f"The household's link token (`{petitioner.TOKEN_HEADER}`) proves who acts; or a hotline "
        f"operator records the answer given on a callback (`{petitioner.OPERATOR_HEADER}`, with the "
        "API key of a service holding the callback permission). A service's key alone is 403 "
        "`petitioner_proof_required`; a proof that does not hold (a wrong, expired or another "
        "petition's token, another petitioner's id) 403 `petitioner_unproven`, alike. The answer "
        "holds the petition's text for the household (a link token), not for a relaying service.",
        answer=scope.PetitionView,
    )


for _verb, _body in OFFICIAL_BODIES.items():
    _add_official_action(_verb, _body)
for _verb, _pbody in PETITIONER_BODIES.items():
    _add_petitioner_action(_verb, _pbody)


@router.get(
    "/petitions/{petition_id}",
    tags=["petitions"],
    response_model=scope.PetitionView,
    summary="A petition as it stands, to those who may read it (officials, auditors, services)",
    responses=_errors(401, 404),
)
async def get_petition(
    petition_id: PathPetitionId, app: AppServices, reader: AnyReader, request: Request
) -> scope.PetitionView:
    """An official reads the petitions of their office's region and of the regions below it, an
    auditor every petition, a service those it filed; for anyone else it does not exist (404). The
    petition's text, its petitioner id and the petitioner's contact go only to the office holding
    it, its contact cadre and auditors (each such read is in the access log); others get them null,
    named in ``withheld``."""
    _bind(petition_id)
    owner = await access.owner(app.pool, petition_id) if reader.actor is None else None
    if reader.actor is None and owner != reader.service:
        raise scope.not_found(petition_id)
    state = await _view(app, petition_id)
    if reader.actor is not None and is_recused(state, reader.actor):  # a complaint about the reader
        raise scope.not_found(petition_id)
    if not scope.may_read(reader, state.region, owner=owner, contact_cadre_id=state.contact_cadre_id):
        raise scope.not_found(petition_id)
    return await scope.present(app.pool, reader, state, request=request)


@router.get(
    "/petitions",
    tags=["petitions"],
    response_model=PetitionPage,
    summary="Petitions from the read model the caller may read, in id order, a page at a time",
    responses=_errors(401, 422),
)
async def list_petitions(
    app: AppServices,
    reader: AnyReader,
    request: Request,
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
        within=scope.within(reader),
        filed_by=reader.service if reader.actor is None else None,
    )
    next_after = rows[-1].petition_id if len(rows) == limit else None
    if reader.actor is not None:  # a page may come back shorter: next_after still pages on
        actor = reader.actor
        rows = [row for row in rows if not is_recused(row.state, actor)]
    items = await scope.present_rows(app.pool, reader, rows, request=request)
    return PetitionPage(items=items, next_after=next_after)


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
