"""The officials' pages: sign-in with a one-time code, the work queue, the petition page with a form
for each action, and a cadre's filing on a household's behalf (下访).

A page acts through the typed client, as the API does: the actor is fixed by the session (or bearer
token), the rules decide, and a refusal is shown as the decider's key in the viewer's language.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from petitionflow.client import Refusal, refusal_status
from petitionflow.web._base import (
    SESSION_COOKIE,
    Viewer,
    csrf_ok,
    render,
    speaker,
    viewer,
    web,
)
from schemas.commands import ACTION_TYPES, FilePetitionInput, PetitionerContact
from schemas.common import Actor, Channel, Role, Stage, Tier, Urgency
from schemas.directory import OfficeKind
from schemas.offices import OfficeRef
from schemas.policy import DispatchRules
from schemas.state import PetitionState
from store import auth, directory, lookup, offices, pages, petition_ids, rate_limits, sessions
from store.auth import digest
from workflows.lifecycle import holding_office, holds, is_recused, may_know, serves

router = APIRouter(include_in_schema=False)

PRE_COOKIE = "pf_pre"
"""Before sign-in there is no session to hold a CSRF token: a random cookie and the same value in
the form (double submit) keep another site from signing a browser in or asking codes for it."""
OFFICIAL_ACTIONS = (
    "acknowledge",
    "assess",
    "request_info",
    "resolve",
    "escalate",
    "record_return_visit",
    "dispatch",
    "sign_for",
    "send_back",
    "summon",
    "answer_summons",
)
FILING_SERVICE = "web-cadre-visit"
"""The service a cadre's filing is claimed for (``petition_ids``)."""


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=web(request).config.secure_cookies,
        path="/",
    )


async def _throttled(request: Request, bucket: str) -> bool:
    """Count a sign-in attempt in ``bucket`` and in the caller's address; True when over the limit."""
    config = web(request).config
    address = request.client.host if request.client else "unknown"
    windows = [
        rate_limits.Window(bucket, config.code_requests_per_window, config.throttle_seconds),
        rate_limits.Window(
            f"web-sign-in-address:{address}", config.code_requests_per_window * 10, config.throttle_seconds
        ),
    ]
    counts = await rate_limits.hit(web(request).pool, windows)
    return any(c.exceeded for c in counts)


def _login_bucket(kind: str, login: str) -> str:
    return f"web-{kind}:{digest(login.strip().lower()).hex()[:32]}"


async def _signin_page(request: Request, *, status: int = 200, **context: Any) -> HTMLResponse:
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    page = await render(request, context.pop("template", "signin.html"), status, pre=pre, **context)
    _cookie(page, request, PRE_COOKIE, pre, 3600)
    return page


def _pre_ok(request: Request, given: str | None) -> bool:
    cookie = request.cookies.get(PRE_COOKIE)
    return bool(cookie and given and secrets.compare_digest(cookie, given))


@router.get("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> HTMLResponse:
    return await _signin_page(request)


@router.post("/signin", response_class=HTMLResponse)
async def ask_code(
    request: Request,
    login: Annotated[str, Form(max_length=200)] = "",
    pre: Annotated[str | None, Form()] = None,
) -> Response:
    """Send a code to the roster's person with this phone or email. The answer is the same whether
    or not the roster knows the login, so the form tells nobody who is on it."""
    say = speaker(request)
    if not _pre_ok(request, pre):
        return await _signin_page(
            request, status=403, error=say.gettext("The form expired; please try again.")
        )
    if not login.strip():
        return await _signin_page(request, status=422, error=say.gettext("Enter your phone number or email."))
    if await _throttled(request, _login_bucket("code", login)):
        return await _signin_page(
            request, status=429, error=say.gettext("Too many attempts; wait a few minutes and try again.")
        )
    person = await sessions.find_person(web(request).pool, login)
    if person is not None:
        await sessions.issue_code(web(request).pool, person)
    return await _signin_page(request, template="signin_code.html", login=login.strip())


@router.post("/signin/code", response_class=HTMLResponse)
async def check_code(
    request: Request,
    login: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    pre: Annotated[str | None, Form()] = None,
) -> Response:
    say = speaker(request)
    again: dict[str, Any] = {"template": "signin_code.html", "login": login.strip()}
    if not _pre_ok(request, pre):
        return await _signin_page(
            request, status=403, error=say.gettext("The form expired; please try again.")
        )
    if await _throttled(request, _login_bucket("try", login)):
        return await _signin_page(
            request,
            status=429,
            error=say.gettext("Too many attempts; wait a few minutes and try again."),
            **again,
        )
    pool = web(request).pool
    person = await sessions.find_person(pool, login)
    if (
        person is None
        or not code.strip().isdigit()
        or not await sessions.use_code(pool, person.person_id, code)
    ):
        return await _signin_page(
            request, status=401, error=say.gettext("That code is wrong or has expired."), **again
        )
    return await _open(request, person.actor)


@router.post("/signin/token", response_class=HTMLResponse)
async def token_signin(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    pre: Annotated[str | None, Form()] = None,
) -> Response:
    """Sign in with an access token (auditors, and machines that drive the pages)."""
    say = speaker(request)
    if not _pre_ok(request, pre):
        return await _signin_page(
            request, status=403, error=say.gettext("The form expired; please try again.")
        )
    if await _throttled(request, "web-token-sign-in"):
        return await _signin_page(
            request, status=429, error=say.gettext("Too many attempts; wait a few minutes and try again.")
        )
    actor = await auth.authenticate(web(request).pool, token.strip())
    if actor is None:
        return await _signin_page(request, status=401, error=say.gettext("That token is unknown or expired."))
    return await _open(request, actor)


async def _open(request: Request, actor: Actor) -> Response:
    config = web(request).config
    pool = web(request).pool
    secret, _ = await sessions.open_session(pool, actor, ttl=config.session_ttl)
    if await sessions.session(pool, secret) is None:  # the roster does not list them so
        await sessions.close_session(pool, secret)
        say = speaker(request)
        return await _signin_page(
            request,
            status=403,
            error=say.gettext("The county's roster does not list you at this office; ask its administrator."),
        )
    target = "/audit" if actor.role is Role.AUDITOR else "/queue"
    response = RedirectResponse(target, status_code=303)
    _cookie(response, request, SESSION_COOKIE, secret, int(config.session_ttl.total_seconds()))
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    who = await viewer(request)
    if who.via == "session" and csrf_ok(who, csrf):
        await sessions.close_session(web(request).pool, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/", status_code=303)
    if who.via != "session" or csrf_ok(who, csrf):
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _must_sign_in(request: Request) -> Response:
    return RedirectResponse("/signin", status_code=303)


def _serves(who: Viewer) -> bool:
    return (
        who.actor is not None
        and who.actor.role in (Role.OFFICIAL, Role.CONTACT_CADRE)
        and who.actor.tier is not None
        and who.actor.region_id is not None
    )


# -------------------------------------------------------------------------------------------- queue


@router.get("/queue", response_class=HTMLResponse)
async def queue(
    request: Request,
    stage: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    who = await viewer(request)
    if not _serves(who):
        return _must_sign_in(request)
    assert who.actor is not None and who.actor.tier is not None and who.actor.region_id is not None
    chosen_stage = Stage(stage) if stage in {s.value for s in Stage} else None
    chosen_category = category if category and web(request).catalogue.get(category) else None
    pool = web(request).pool
    actor = who.actor
    assert actor.tier is not None and actor.region_id is not None
    items = await pages.queue(
        pool,
        actor.tier,
        actor.region_id,
        office_id=actor.office_id,
        stage=chosen_stage,
        category=chosen_category,
    )
    # The summonses this office has yet to answer (协办), wherever the petition is held.
    mine = actor.office_id or await _government_id(request, actor)
    listed = {i.petition_id for i in items}
    helping = [
        i
        for i in await pages.summoned(pool, mine)
        if i.petition_id not in listed
        and (chosen_stage is None or i.stage is chosen_stage)
        and (chosen_category is None or i.category == chosen_category)
    ]
    named = (await offices.names(pool, [mine])).get(mine)
    office_name = None if named is None else named[0 if speaker(request).language == "zh-CN" else 1]
    now = datetime.now(UTC)
    return await render(
        request,
        "queue.html",
        who=who,
        office_name=office_name,
        items=items,
        helping=helping,
        now=now,
        soon=now + timedelta(hours=24),
        stages=[s for s in Stage if s is not Stage.CLOSED],
        categories=[s.code for s in web(request).catalogue.services],
        filters={"stage": stage or "", "category": category or ""},
    )


# ------------------------------------------------------------------------------------ petition page


async def _government_id(request: Request, actor: Actor) -> str:
    """The office id of the government ``actor`` serves: the directory's, else ``<tier>:<region>``."""
    assert actor.tier is not None and actor.region_id is not None
    return await offices.government_id(web(request).pool, actor.tier, actor.region_id)


def _may_see_contact(actor: Actor, state: PetitionState) -> bool:
    """The office holding the petition, and the petition's contact cadre."""
    return holds(state, actor) or actor.id == state.contact_cadre_id


async def _petition_page(
    request: Request,
    petition_id: str,
    who: Viewer,
    *,
    status: int = 200,
    refusal: str | None = None,
    done: str | None = None,
    state: PetitionState | None = None,
    errors: list[str] | None = None,
) -> Response:
    here = web(request)
    if state is None:
        state = await _state(request, petition_id)
        if state is None:
            return await render(request, "not_found.html", 404, who=who)
    assert who.actor is not None
    # Outside their region, or the complaint is about them: as for the API, it is not there.
    if not may_know(who.actor, state.region, state.contact_cadre_id) or is_recused(state, who.actor):
        return await render(request, "not_found.html", 404, who=who)
    contact = None
    if _may_see_contact(who.actor, state):
        home = await directory.household(here.pool, state.petitioner_id)
        contact = {
            "petitioner_id": state.petitioner_id,
            "phone": None if home is None else home.phone,
        }
    return await render(
        request,
        "petition_official.html",
        status,
        who=who,
        state=state,
        steps=await pages.timeline(here.pool, petition_id),
        contact=contact,
        refusal=refusal,
        done=done,
        errors=errors or [],
        now=datetime.now(UTC),
        actions=(actions := _actions_now(state, who.actor)),
        choices=await _office_choices(request, state, actions),
        holder=holding_office(state),
        rules=state.rules or DispatchRules(),
        **await _office_words(request, [holding_office(state), *(s.office for s in state.summons)]),
    )


async def _office_words(request: Request, named: list[OfficeRef]) -> dict[str, Callable[..., str]]:
    """``office_name`` (of an ``OfficeRef``) and ``listed_name`` (of a directory office) in the
    viewer's language: the directory's names, else the tier's government and the region's name."""
    say = speaker(request)
    here = web(request)
    known = await offices.names(here.pool, [o.office_id for o in named])
    regions = await here.names()
    zh = say.language == "zh-CN"

    def office_name(office: OfficeRef) -> str:
        if office.office_id in known:
            name_zh, name_en, _ = known[office.office_id]
            return name_zh if zh else name_en
        if office.name:
            return office.name
        region_zh, region_en = regions.get(office.region_id, (office.region_id, office.region_id))
        return f"{region_zh if zh else region_en} {say.word('office', office.tier)}"

    def listed_name(office: offices.Listed) -> str:
        return office.name_zh if zh else office.name_en

    return {"office_name": office_name, "listed_name": listed_name}


async def _office_choices(request: Request, state: PetitionState, actions: list[str]) -> dict[str, Any]:
    """The directory's offices the dispatch and summon forms offer: for a dispatch, the offices of
    the holding centre's area (its tier and below, on the petition's path), no centre, not the
    holder, not a recused office; for a summons, the other offices on the petition's path."""
    if "dispatch" not in actions and "summon" not in actions:
        return {}
    holder = holding_office(state)
    recused = state.recused_office.office_id if state.recused_office else None
    pending = {s.office.office_id for s in state.summons if s.pending}
    listed = [
        o
        for o in await offices.along(web(request).pool, state.region)
        if o.office_id not in (holder.office_id, recused) and o.kind is not OfficeKind.CENTRE
    ]
    return {
        "dispatch": [o for o in listed if o.tier.rank <= holder.tier.rank],
        "summon": [o for o in listed if o.office_id not in pending],
    }


async def _state(request: Request, petition_id: str) -> PetitionState | None:
    """The petition as its workflow holds it now (fresher than the read model), or None."""
    try:
        return await web(request).petitions.view(petition_id)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


def _actions_now(state: PetitionState, actor: Actor) -> list[str]:
    """The forms worth showing in this stage (the office actions only to the office they are
    for); the rules still decide when one is sent."""
    if state.finished:
        return []
    if state.stage is Stage.CLOSED:
        return ["record_return_visit"]
    holds = serves(actor, holding_office(state))
    shown = {
        Stage.DISPATCH: ["dispatch"] if holds else [],
        Stage.SIGN_FOR: ["sign_for", "send_back"] if holds else [],
        Stage.COLLECT: ["acknowledge", "escalate"],
        Stage.ASSESS: ["assess", "request_info", "resolve", "escalate"],
        Stage.RESOLVE: ["resolve", "request_info", "escalate"],
        Stage.FEEDBACK: [],
    }[state.stage]
    working = state.stage in (Stage.COLLECT, Stage.ASSESS, Stage.RESOLVE)
    if working and holds and _may_send_back(state):
        shown = [*shown, "send_back"]
    if working and holds:
        shown = [*shown, "summon"]
    if any(s.answered_at is None and serves(actor, s.office) for s in state.summons):
        shown = [*shown, "answer_summons"]
    return shown


def _may_send_back(state: PetitionState) -> bool:
    """Received from a centre's dispatch, and not the supervisor's final word (its window aside)."""
    return state.centre is not None and state.received_at is not None and not state.final_dispatch


@router.get("/o/{petition_id}", response_class=HTMLResponse)
async def petition(request: Request, petition_id: str, done: str | None = None) -> Response:
    who = await viewer(request)
    if who.actor is None:
        return _must_sign_in(request)
    return await _petition_page(
        request, petition_id[:64], who, done=done if done in OFFICIAL_ACTIONS else None
    )


def _action_body(kind: str, form: dict[str, str], actor: Actor) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "actor": actor.model_dump(mode="json")}
    for name, value in form.items():
        if name == "csrf" or value.strip() == "":
            continue
        body[name] = value.strip()
    if kind == "record_return_visit":
        body["held"] = form.get("held") == "yes"
    if kind == "assess":
        body["common_issue"] = form.get("common_issue") == "on"
    return body


@router.post("/o/{petition_id}/{kind}", response_class=HTMLResponse)
async def act(request: Request, petition_id: str, kind: str) -> Response:
    who = await viewer(request)
    if who.actor is None:
        return _must_sign_in(request)
    posted = await request.form()
    form = {k: v for k, v in posted.items() if isinstance(v, str) and k != "office_ids"}
    say = speaker(request)
    if not csrf_ok(who, form.get("csrf")):
        return await render(
            request, "error.html", 403, who=who, message=say.gettext("The form expired; please try again.")
        )
    if kind not in OFFICIAL_ACTIONS:
        return await render(request, "not_found.html", 404, who=who)
    petition_id = petition_id[:64]
    current = await _state(request, petition_id)
    if current is None:
        return await render(request, "not_found.html", 404, who=who)
    body = _action_body(kind, form, who.actor)
    if kind == "summon":
        chosen = [v for v in posted.getlist("office_ids") if isinstance(v, str)]
        body["office_ids"] = [v.strip() for v in chosen if v.strip()]
    if kind in offices.OFFICE_FIELDS:
        try:
            body = await offices.command_fields(web(request).pool, kind, body, current.region)
        except offices.UnknownOffice:
            field = offices.OFFICE_FIELDS[kind][0]
            problem = say.gettext(
                "%(field)s: %(problem)s",
                field=say.word("field", field),
                problem=say.word("problem", "unknown_office"),
            )
            return await _petition_page(request, petition_id, who, status=422, errors=[problem])
    try:
        action = ACTION_TYPES[kind].model_validate(body)
    except ValidationError as invalid:
        problems = [
            say.gettext(
                "%(field)s: %(problem)s",
                field=say.word("field", str(e["loc"][0]) if e["loc"] else ""),
                problem=say.word("problem", e["type"]),
            )
            for e in invalid.errors()
        ]
        return await _petition_page(request, petition_id, who, status=422, errors=problems)
    try:
        state = await web(request).petitions.act(petition_id, action)  # type: ignore[arg-type]
    except Refusal as refused:
        sentence = say.refusal(refused.key, refused.params, refused.reason)
        return await _petition_page(
            request, petition_id, who, status=refusal_status(refused.code), refusal=sentence
        )
    if request.headers.get("hx-request"):
        return await _petition_page(request, petition_id, who, done=kind, state=state)
    return RedirectResponse(f"/o/{petition_id}?done={kind}", status_code=303)


# ------------------------------------------------------------------------------ a cadre's filing


@router.get("/file", response_class=HTMLResponse)
async def filing_form(request: Request) -> Response:
    who = await viewer(request)
    if not _serves(who) or who.actor is None or who.actor.tier is not Tier.VILLAGE:
        return _must_sign_in(request)
    return await render(
        request, "file.html", who=who, categories=[s.code for s in web(request).catalogue.services], form={}
    )


@router.post("/file", response_class=HTMLResponse)
async def file_petition(
    request: Request,
    household_id: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    urgency: Annotated[str, Form(max_length=10)] = "normal",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """A village cadre files what a household told them on a visit: at the village, in the cadre's
    own village, with the household as petitioner and the cadre as contact."""
    who = await viewer(request)
    if not _serves(who) or who.actor is None or who.actor.tier is not Tier.VILLAGE:
        return _must_sign_in(request)
    say = speaker(request)
    here = web(request)
    form = {
        "household_id": household_id,
        "name": name,
        "category": category,
        "description": description,
        "urgency": urgency,
    }
    categories = [s.code for s in here.catalogue.services]

    async def again(status: int, message: str) -> Response:
        return await render(
            request, "file.html", status, who=who, categories=categories, form=form, error=message
        )

    if not csrf_ok(who, csrf):
        return await again(403, say.gettext("The form expired; please try again."))

    household = await directory.household(here.pool, household_id.strip()) if household_id.strip() else None
    if household is None:
        return await again(422, say.gettext("No household with this number in the directory."))
    if household.village_id != who.actor.region_id:
        return await again(403, say.gettext("This household is not in your village."))
    pool = here.pool
    version = await lookup.current_version(pool)
    path = None if version is None else await lookup.village_path(pool, household.village_id, version=version)
    if path is None:
        return await again(422, say.gettext("The household's village is not in the directory."))
    if here.catalogue.get(category) is None:
        return await again(422, say.gettext("Choose a category."))
    petition_id = f"cv-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    try:
        filing = FilePetitionInput(
            petition_id=petition_id,
            petitioner=_contact(household.household_id, name.strip(), household.phone),
            region=path,
            description=description.strip(),
            channel=Channel.CADRE_VISIT,
            category=category,
            contact_cadre_id=household.cadre_id or who.actor.id,
            urgency=Urgency(urgency) if urgency in {u.value for u in Urgency} else Urgency.NORMAL,
            tier=Tier.VILLAGE,
        )
    except ValidationError as invalid:
        fields = ", ".join(say.word("field", str(e["loc"][0])) for e in invalid.errors() if e["loc"])
        return await again(422, say.gettext("Please check: %(fields)s", fields=fields))
    await petition_ids.claim(here.pool, petition_id, FILING_SERVICE)
    await here.petitions.file(filing)
    return RedirectResponse(f"/o/{petition_id}", status_code=303)


def _contact(household_id: str, name: str, phone: str | None) -> PetitionerContact:
    """The household as petitioner; a directory phone the contract does not take is left out."""
    try:
        return PetitionerContact(petitioner_id=household_id, name=name or household_id, phone=phone)
    except ValidationError:
        return PetitionerContact(petitioner_id=household_id, name=name or household_id)
