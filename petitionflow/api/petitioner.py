"""Petitioners proving who they are: link tokens, SMS reply codes, hotline callbacks.

A backend key alone no longer acts for a household. ``rate``, ``provide_info`` and ``withdraw``
need one of:

- ``X-Petitioner-Token``: a link token for this petition (``POST /v1/petitions/{id}/petitioner-link``
  by the service that filed it, or made by the system when it answers: ``petitionflow.proofs``);
- a reply code from the petitioner's phone, through the SMS gateway (``POST /v1/sms/inbound``);
- ``X-Callback-Operator`` with the API key of a service holding the callback permission
  (``petitionflow keys add NAME --callback``): a hotline operator recording the answer given on a
  callback (回访).

The service and the operator who carried the action, and the proof, are recorded in the event
(``Actor.relay``). Every attempt counts against the petition's (or the phone's) window of the shared
limiter; a wrong token, a token for another petition, an expired one and a wrong petitioner id are
all answered alike (403 ``petitioner_unproven``), so none tells a guesser anything.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field, StringConstraints
from temporalio.service import RPCError, RPCStatusCode

from petitionflow import proofs
from petitionflow.api.deps import (
    API_KEY_CHALLENGE,
    AppServices,
    FilingService,
    Services,
    service_key_of,
)
from petitionflow.api.errors import ApiError, ErrorBody, refusal_status
from petitionflow.api.limits import RateLimiter
from petitionflow.api.params import refuse_unprintable
from petitionflow.api.scope import PetitionView, as_seen_by_household
from petitionflow.client import Refusal
from petitionflow.settings import Settings
from schemas.commands import RateInput
from schemas.common import Actor, PersonId, PetitionId, Proof, RefusalCode, Relay
from store import access
from store.rate_limits import Window

router = APIRouter(prefix="/v1", tags=["petitioners"])

TOKEN_HEADER = "X-Petitioner-Token"
OPERATOR_HEADER = "X-Callback-Operator"


@dataclass(frozen=True, slots=True)
class ProofConfig:
    """The link secret and how guesses are throttled (``PETITIONFLOW_LINK_SECRET`` …)."""

    secret: str = field(default_factory=proofs.new_secret, repr=False)
    link_max_age: timedelta = proofs.LINK_MAX_AGE
    guesses: int = 10
    """Attempts per petition (link, callback) or per phone (reply code) per window."""
    guess_window_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ProofConfig:
        return cls(
            secret=settings.link_secret_value(),
            link_max_age=timedelta(days=settings.link_max_age_days),
            guesses=settings.petitioner_guesses,
            guess_window_seconds=settings.petitioner_guess_window_seconds,
        )


def config(request: Request) -> ProofConfig:
    found: ProofConfig = request.app.state.proofs
    return found


def unproven() -> ApiError:
    """The one answer for every proof that does not hold, whatever was wrong with it."""
    return ApiError(
        403,
        "petitioner_unproven",
        "the proof does not hold for this petition's petitioner: a wrong, expired or another "
        "petition's token, or another petitioner's id",
    )


def proof_required() -> ApiError:
    return ApiError(
        403,
        "petitioner_proof_required",
        f"a service's key alone does not act for a household: send the household's link token "
        f"({TOKEN_HEADER}), its SMS reply through the gateway (POST /v1/sms/inbound), or record a "
        f"hotline callback ({OPERATOR_HEADER}) with the key of a service holding the callback permission",
    )


def _bucket(kind: str, secret: str, value: str) -> str:
    # Keyed, so the rate_limits table holds neither a phone number nor a reversible hash of one.
    return f"proof-{kind}:" + hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


async def throttle(limiter: RateLimiter, cfg: ProofConfig, kind: str, value: str) -> None:
    """Count one attempt at proving a petitioner for ``value`` (a petition id, a phone); 429 once
    there were more than ``cfg.guesses`` in the window, right or wrong."""
    window = Window(_bucket(kind, cfg.secret, value), cfg.guesses, cfg.guess_window_seconds)
    exceeded = await limiter.check([window])
    if exceeded is not None:
        reason = (
            f"too many attempts to prove a petitioner for this {kind}: at most {cfg.guesses} in "
            f"{cfg.guess_window_seconds:g} s; retry after {exceeded.retry_after} s"
        )
        raise ApiError(429, "rate_limited", reason, headers={"Retry-After": str(exceeded.retry_after)})


@dataclass(frozen=True, slots=True)
class Proven:
    """The petitioner an action is for, as its proof says, and whose idempotency keys these are."""

    actor: Actor
    caller: str


async def prove(
    request: Request,
    app: Services,
    petition_id: PetitionId,
    claimed: PersonId,
    *,
    link: str | None,
    api_key: str | None,
    operator: str | None,
) -> Proven:
    """Who acts for the petitioner ``claimed`` on ``petition_id``, from the request's proof.

    Raises:
        ApiError: 401 without a link token or an API key (or with a wrong key); 403
            ``petitioner_proof_required`` for a key with no proof; 403 ``petitioner_unproven`` for a
            proof that does not hold; 429 after too many attempts on this petition.
    """
    cfg = config(request)
    service = None if not api_key else await service_key_of(api_key, app.pool)
    if link:
        await throttle(request.app.state.limiter, cfg, "petition", petition_id)
        found = proofs.check_link(cfg.secret, link, petition_id, max_age=cfg.link_max_age)
        if found is None or found != claimed:
            raise unproven()
        relay = Relay(proof=Proof.LINK, service=None if service is None else service.name)
        structlog.contextvars.bind_contextvars(actor="petitioner", proof=Proof.LINK.value)
        return Proven(Actor.petitioner(found).relayed(relay), caller=f"petitioner:{found}@{petition_id}")
    if service is None:
        raise ApiError(
            401,
            "unauthenticated",
            f"an {TOKEN_HEADER} (the household's link token) or an X-API-Key header is required",
            headers={"WWW-Authenticate": API_KEY_CHALLENGE},
        )
    if not operator or not service.callback:
        raise proof_required()
    await throttle(request.app.state.limiter, cfg, "petition", petition_id)
    relay = Relay(proof=Proof.CALLBACK, service=service.name, operator=operator)
    structlog.contextvars.bind_contextvars(actor="petitioner", proof=Proof.CALLBACK.value)
    return Proven(Actor.petitioner(claimed).relayed(relay), caller=f"service:{service.name}")


def refused(refusal: Refusal) -> ApiError:
    """A refusal of a petitioner's action: another petitioner's id answers as a wrong proof does."""
    if refusal.code is RefusalCode.NOT_PETITIONER:
        return unproven()
    return ApiError(refusal_status(refusal.code), refusal.code.value, refusal.reason)


class PetitionerLink(BaseModel):
    petition_id: PetitionId
    token: str
    """Send as ``X-Petitioner-Token`` with rate, provide_info or withdraw on this petition."""
    expires_at: datetime


@router.post(
    "/petitions/{petition_id}/petitioner-link",
    response_model=PetitionerLink,
    status_code=201,
    summary="A link token for the petitioner of a petition this service filed",
    responses={
        401: {"model": ErrorBody, "description": "Missing or unknown API key."},
        404: {"model": ErrorBody, "description": "No such petition, or another service filed it."},
    },
)
async def petitioner_link(
    petition_id: Annotated[str, StringConstraints(min_length=1, max_length=64)],
    app: AppServices,
    service: FilingService,
    request: Request,
) -> PetitionerLink:
    """A signed link token tied to this one petition and its petitioner, expiring after the
    configured days (30 by default), for the app or the SMS the service sends the household."""
    structlog.contextvars.bind_contextvars(petition_id=petition_id)
    if await access.owner(app.pool, petition_id) != service.name:
        raise ApiError(404, "not_found", f"no petition {petition_id} was filed")
    try:
        state = await app.petitions.view(petition_id)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "not_found", f"no petition {petition_id} was filed") from None
        raise
    cfg = config(request)
    now = datetime.now(UTC)
    token = proofs.issue_link(cfg.secret, petition_id, state.petitioner_id, now=now)
    return PetitionerLink(petition_id=petition_id, token=token, expires_at=now + cfg.link_max_age)


@router.get(
    "/petitions/{petition_id}/as-petitioner",
    response_model=PetitionView,
    summary="The petition as its petitioner sees it, by link token (apps, the SMS's web page)",
    responses={
        401: {"model": ErrorBody, "description": f"No {TOKEN_HEADER}."},
        403: {"model": ErrorBody, "description": "petitioner_unproven: the token does not hold here."},
        429: {"model": ErrorBody, "description": "Too many attempts on this petition: wait Retry-After."},
    },
)
async def as_petitioner(
    petition_id: Annotated[str, StringConstraints(min_length=1, max_length=64)],
    app: AppServices,
    request: Request,
    link: Annotated[str | None, Header(alias=TOKEN_HEADER, min_length=1, max_length=1000)] = None,
) -> PetitionView:
    """Everything but the contact the household gave: the question it was asked, the answer, the
    deadlines. The token must be this petition's; the attempt counts like an action's."""
    structlog.contextvars.bind_contextvars(petition_id=petition_id)
    if not link:
        raise ApiError(
            401, "unauthenticated", f"an {TOKEN_HEADER} header (the household's link token) is required"
        )
    cfg = config(request)
    await throttle(request.app.state.limiter, cfg, "petition", petition_id)
    found = proofs.check_link(cfg.secret, link, petition_id, max_age=cfg.link_max_age)
    if found is None:
        raise unproven()
    try:
        state = await app.petitions.view(petition_id)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise unproven() from None
        raise
    if state.petitioner_id != found:
        raise unproven()
    structlog.contextvars.bind_contextvars(actor="petitioner", proof=Proof.LINK.value)
    return as_seen_by_household(state)


class InboundSms(BaseModel):
    """An SMS a household sent to the service number, as the gateway passes it on."""

    phone: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The sender's number, in any format (+86 139 …, 139…)."
    )
    text: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="What they wrote: the reply code and their choice, e.g. '4821 1' (1 satisfied, "
        "2 basically satisfied, 3 dissatisfied)."
    )


class SmsAccepted(BaseModel):
    petition_id: PetitionId
    rating: str


@router.post(
    "/sms/inbound",
    response_model=SmsAccepted,
    summary="The SMS gateway's inbound webhook: a household rates an answer by reply code",
    responses={
        401: {"model": ErrorBody, "description": "Missing or unknown API key (the gateway's)."},
        403: {"model": ErrorBody, "description": "reply_unproven: not the household's phone, or the code."},
        409: {"model": ErrorBody, "description": "The petition is past rating (wrong stage, closed)."},
        429: {"model": ErrorBody, "description": "Too many replies from this phone: wait Retry-After."},
    },
)
async def sms_inbound(
    sms: InboundSms, app: AppServices, gateway: FilingService, request: Request
) -> SmsAccepted:
    """The gateway posts every inbound SMS here with its own API key. The reply holds only if the
    phone is the petitioner's on record or the one the answer's SMS was sent to, and the code is the
    petition's outstanding one; it is then spent, and the rating recorded with the gateway named in
    the event. Do not retry a 4xx."""
    refuse_unprintable("body", sms.model_dump(mode="json"))
    cfg = config(request)
    await throttle(request.app.state.limiter, cfg, "phone", proofs.national_number(sms.phone) or sms.phone)
    reply = await proofs.check_reply(app.pool, cfg.secret, sms.phone, sms.text)
    if reply is None or not await proofs.spend(app.pool, reply):
        raise ApiError(
            403,
            "reply_unproven",
            "the reply holds for no petition: the phone is not a petitioner's on record nor one an "
            "answer was sent to, or the code is not the outstanding one (wrong, used or expired)",
        )
    structlog.contextvars.bind_contextvars(
        petition_id=reply.petition_id, actor="petitioner", proof=Proof.REPLY_CODE.value
    )
    actor = Actor.petitioner(reply.petitioner_id).relayed(Relay(proof=Proof.REPLY_CODE, service=gateway.name))
    try:
        await app.petitions.act(reply.petition_id, RateInput(actor=actor, rating=reply.rating))
    except Refusal as refusal:
        raise refused(refusal) from None
    return SmsAccepted(petition_id=reply.petition_id, rating=reply.rating.value)
