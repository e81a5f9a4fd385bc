"""The auditors' page: a petition's verification result (event log against workflow history, read
model and hash chain) and its timeline as of a chosen moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from petitionflow import audit
from petitionflow.web._base import render, viewer, web
from schemas.common import Role

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
async def audit_home(
    request: Request, petition: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    who = await viewer(request)
    if who.actor is None or who.actor.role is not Role.AUDITOR:
        return RedirectResponse("/signin", status_code=303)
    if petition:
        return RedirectResponse(f"/audit/{petition}", status_code=303)
    return await render(request, "audit.html", who=who, report=None, entries=None)


def _moment(given: str | None, timezone: str) -> datetime | None:
    """``2026-03-02T10:00`` as the browser's datetime-local field sends it, in the pages' zone."""
    if not given:
        return None
    try:
        moment = datetime.fromisoformat(given)
    except ValueError:
        return None
    return moment.replace(tzinfo=ZoneInfo(timezone)) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get("/audit/{petition_id}", response_class=HTMLResponse)
async def audit_petition(
    request: Request, petition_id: str, at: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    who = await viewer(request)
    if who.actor is None or who.actor.role is not Role.AUDITOR:
        return RedirectResponse("/signin", status_code=303)
    here = web(request)
    petition_id = petition_id[:64]
    as_of = _moment(at, here.config.timezone)
    entries = await audit.petition_timeline(here.pool, petition_id, as_of=as_of)
    if not entries:
        return await render(request, "not_found.html", 404, who=who)
    report = await audit.verify(here.petitions.temporal, here.pool, petition_id)
    state = None if as_of is None else await audit.petition_state_as_of(here.pool, petition_id, as_of)
    return await render(
        request,
        "audit.html",
        who=who,
        petition_id=petition_id,
        report=report,
        entries=entries,
        as_of=as_of,
        at=at or "",
        state=state,
    )
