"""The household's page, opened by the signed link in its message: where its petition stands, the
answer, and the rating form (FixMyStreet's "has this been fixed?"). The link opens this one petition
and nothing else: no other page, no other petition, no officials' data."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.client import Refusal
from petitionflow.proofs import LinkClaims, verify_link
from petitionflow.web._base import render, speaker, web
from schemas.commands import RateInput
from schemas.common import Actor, Rating, Stage
from schemas.state import PetitionState
from store import pages

router = APIRouter(include_in_schema=False)


def _claims(request: Request, token: str) -> LinkClaims | None:
    config = web(request).config
    if config.link_secret is None:
        return None
    return verify_link(config.link_secret, token, max_age_seconds=int(config.link_max_age.total_seconds()))


def _form_token(request: Request, token: str) -> str:
    """The rating form's CSRF value: bound to the link, so only a page opened with it can post."""
    secret = (web(request).config.link_secret or "").encode()
    return hmac.new(secret, b"rate:" + token.encode(), hashlib.sha256).hexdigest()


async def _state(request: Request, claims: LinkClaims) -> PetitionState | None:
    try:
        state = await web(request).petitions.view(claims.petition_id)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return state if state.petitioner_id == claims.household_id else None


async def _page(
    request: Request, token: str, *, status: int = 200, refusal: str | None = None, thanks: bool = False
) -> Response:
    claims = _claims(request, token)
    state = None if claims is None else await _state(request, claims)
    if claims is None or state is None:
        return await render(request, "link_invalid.html", 404)
    steps = await pages.public_steps(web(request).pool, claims.petition_id)
    page = await render(
        request,
        "household.html",
        status,
        state=state,
        steps=steps,
        token=token,
        form_token=_form_token(request, token),
        refusal=refusal,
        thanks=thanks,
        may_rate=state.stage is Stage.FEEDBACK,
        ratings=list(Rating),
        household=True,
    )
    page.headers["referrer-policy"] = "no-referrer"
    page.headers["cache-control"] = "no-store"
    return page


@router.get("/h/{token}", response_class=HTMLResponse)
async def household(request: Request, token: str, thanks: bool = False) -> Response:
    return await _page(request, token[:1000], thanks=thanks)


@router.post("/h/{token}", response_class=HTMLResponse)
async def rate(
    request: Request,
    token: str,
    rating: Annotated[str, Form(max_length=40)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
    form_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    token = token[:1000]
    claims = _claims(request, token)
    if claims is None or not hmac.compare_digest(form_token, _form_token(request, token)):
        return await render(request, "link_invalid.html", 404)
    say = speaker(request)
    if rating not in {r.value for r in Rating}:
        return await _page(request, token, status=422, refusal=say.gettext("Choose one of the answers."))
    action = RateInput(
        actor=Actor.petitioner(claims.household_id), rating=Rating(rating), comment=comment.strip() or None
    )
    try:
        await web(request).petitions.act(claims.petition_id, action)
    except Refusal as refused:
        return await _page(
            request, token, status=409, refusal=say.refusal(refused.key, refused.params, refused.reason)
        )
    return RedirectResponse(f"/h/{token}?thanks=true", status_code=303)
