"""Open311 GeoReport v2 under ``/open311/v2``: petition categories as services, petitions as
service requests. Every method in ``.json`` and ``.xml``; errors in the spec's own format.

Public reads never show personal data: a request's ``description`` is the public summary of its
answer (none before it is answered), its ``address`` the grid path of its village.
See the README's Open311 section for how a POST is mapped onto a petition.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from petitionflow import intake
from petitionflow.api import filing as filings
from petitionflow.api import limits, xml
from petitionflow.api.deps import AppServices
from petitionflow.api.edge import EdgeConfig
from petitionflow.api.georeport import Open311Error, error_response, render, response_format
from petitionflow.api.params import unprintable_fields
from petitionflow.api.xml import UNPRINTABLE_REASON
from petitionflow.catalogue import Service, ServiceAttribute
from petitionflow.directory.locate import Ambiguous, Candidate, Crs, Found, Unknown
from petitionflow.intake import FilingBody
from schemas.common import Channel, ClosedReason, Stage, Tier, Urgency
from schemas.state import PetitionState
from store import auth, petition_ids, queries
from store.service_requests import service_requests
from workflows.lifecycle import current_deadline

router = APIRouter(prefix="/open311/v2", tags=["open311"])

MAX_SPAN = timedelta(days=90)
"""GeoReport v2: a date range may not span more than 90 days, and defaults to the last 90."""
_EARLIEST = datetime.min.replace(tzinfo=UTC) + MAX_SPAN
_LATEST = datetime.max.replace(tzinfo=UTC) - MAX_SPAN
MAX_REQUESTS = 1000
SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_CANDIDATES = 20
"""An ambiguous address_string's 400 lists at most this many villages."""
_CRS_NAMES = {Crs.WGS84: "WGS-84", Crs.GCJ02: "GCJ-02", Crs.BD09: "BD-09"}

Optional = Annotated[str | None, Query()]


def _param(values: Mapping[str, str], name: str) -> str | None:
    """GeoReport: an empty parameter is the same as an absent one."""
    value = values.get(name)
    return value if value else None


# ------------------------------------------------------------------------------------ services


def _service_fields(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": service.metadata,
        "type": "realtime",
        "keywords": ", ".join(service.keywords),
        "group": service.group,
    }


def _attribute_fields(attribute: ServiceAttribute) -> dict[str, Any]:
    return {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": attribute.datatype_description,
        "order": attribute.order,
        "description": attribute.description,
        "values": [{"key": v.key, "name": v.name} for v in attribute.values],
    }


@router.get("/discovery.{fmt}", summary="Service discovery")
async def discovery(fmt: str, request: Request) -> Response:
    fmt = response_format(fmt)
    # From the settings, never from the request's Host: a forged Host must not reach a client.
    config: EdgeConfig = request.app.state.edge
    base = config.public_base_url + router.prefix
    fields = {
        "changeset": "2026-03-01T00:00:00Z",
        "contact": "The petition office of the jurisdiction.",
        "key_service": "API keys are issued by the petition office to backend services.",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base,
                "changeset": "2026-03-01T00:00:00Z",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    if fmt == "xml":
        return xml.response(xml.render_object("discovery", fields))
    return JSONResponse(fields)


@router.get("/services.{fmt}", name="services", summary="GET Service List")
async def services(fmt: str, app: AppServices, jurisdiction_id: Optional = None) -> Response:
    fmt = response_format(fmt)
    return render(fmt, "services", [_service_fields(s) for s in app.catalogue.services])


@router.get("/services/{service_code}.{fmt}", summary="GET Service Definition")
async def service_definition(
    service_code: str, fmt: str, app: AppServices, jurisdiction_id: Optional = None
) -> Response:
    fmt = response_format(fmt)
    service = app.catalogue.get(service_code)
    if service is None:
        raise Open311Error(404, f"service_code {service_code!r} was not found", fmt=fmt)
    fields = {"service_code": service.code, "attributes": [_attribute_fields(a) for a in service.attributes]}
    if fmt == "xml":
        return xml.response(xml.render_object("service_definition", fields))
    return JSONResponse(fields)


# ------------------------------------------------------------------------------------ requests


def _span(window: timedelta) -> str:
    hours = window / timedelta(hours=1)
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day" + ("" if days == 1 else "s")
    whole = math.ceil(hours)
    return f"{whole} hour" + ("" if whole == 1 else "s")


def service_notice(state: PetitionState) -> str | None:
    """What the office holding the petition has to do, by when (None once it is closed)."""
    if state.stage is Stage.CLOSED:
        return None
    table = state.policy.urgent if state.urgency is Urgency.URGENT else state.policy.normal
    deadlines = table[state.tier]
    above = state.tier.above
    then = (
        f"; if it does not, the petition goes up to the {above.value} tier"
        if above is not None
        else "; the city tier is the top, and an overdue petition is reminded daily"
    )
    return (
        f"The {state.tier.value} office {state.region.at(state.tier)} responds within "
        f"{_span(deadlines.respond_within)} and resolves within {_span(deadlines.resolve_within)}{then}."
    )


_CLOSED_NOTES = {
    ClosedReason.SATISFIED: "Closed: the petitioner is satisfied with the answer.",
    ClosedReason.BASICALLY_SATISFIED: "Closed: the petitioner is basically satisfied with the answer.",
    ClosedReason.UNRATED: "Closed: answered, and no rating came within the feedback window.",
    ClosedReason.WITHDRAWN: "Closed: withdrawn by the petitioner.",
    ClosedReason.DISSATISFIED_AT_TOP: "Closed: still dissatisfied after the city tier, the top.",
}


def agency(state: PetitionState) -> str:
    """The office holding the petition: its name when the directory gives one, else ``<tier> <region>``
    (every petition held by its tier's territorial office before offices)."""
    if state.office is None:
        return f"{state.tier.value} {state.region.at(state.tier)}"
    return state.office.name or state.office.office_id


def status_notes(state: PetitionState) -> str:
    """Where the petition stands, in words, with nothing personal in them; the stage named."""
    at = f"the {state.tier.value} tier" if state.office is None else agency(state)
    if state.stage is Stage.DISPATCH:
        note = f"Received by {at}; waiting to be dispatched (stage dispatch)."
    elif state.stage is Stage.SIGN_FOR:
        note = f"Dispatched to {at}; waiting for it to sign for it (stage sign_for)."
    elif state.office is not None and state.stage is not Stage.CLOSED:
        note = _office_note(state, at)
    elif state.stage is Stage.CLOSED and state.closed_reason is not None:
        note = _CLOSED_NOTES[state.closed_reason]
    elif state.stage is Stage.FEEDBACK and state.resolution is not None:
        outcome = "resolved" if state.resolution.outcome.value == "resolved" else "answered: not feasible"
        note = f"{outcome.capitalize()} at {at}; waiting for the petitioner's rating."
    elif state.stage is Stage.RESOLVE:
        note = (
            f"Accepted at {at}; waiting for more information from the petitioner."
            if state.paused
            else f"Accepted at {at}; being resolved."
        )
    elif state.stage is Stage.ASSESS:
        note = f"Acknowledged at {at}; being assessed."
    else:
        note = f"Received at {at}; waiting for first contact."
    if state.office is not None:
        pass  # the offices' path is in the notes above; tiers can go down as well as up
    elif len(state.tiers_visited) > 1:
        note += " Escalated: " + " → ".join(t.value for t in state.tiers_visited) + "."
    if state.is_overdue:
        note += " Overdue."
    return note


def _office_note(state: PetitionState, at: str) -> str:
    if state.stage is Stage.FEEDBACK and state.resolution is not None:
        outcome = "resolved" if state.resolution.outcome.value == "resolved" else "answered: not feasible"
        return f"{outcome.capitalize()} by {at}; waiting for the petitioner's rating (stage feedback)."
    if state.stage is Stage.RESOLVE:
        waiting = "; waiting for more information from the petitioner" if state.paused else "; being resolved"
        return f"Accepted by {at}{waiting} (stage resolve)."
    if state.stage is Stage.ASSESS:
        return f"Signed for by {at}; being assessed (stage assess)."
    return f"Handed to {at}; waiting for first contact (stage collect)."


def request_fields(state: PetitionState, app: AppServices) -> dict[str, Any]:
    """A petition as a GeoReport v2 service request, fit for a public endpoint."""
    service = app.catalogue.get(state.category)
    closed = state.stage is Stage.CLOSED
    region = state.region
    return {
        "service_request_id": state.petition_id,
        "status": "closed" if closed else "open",
        "status_notes": status_notes(state),
        "service_name": service.name if service is not None else state.category,
        "service_code": state.category,
        "description": None if state.resolution is None else state.resolution.public_summary,
        "agency_responsible": agency(state),
        "service_notice": service_notice(state),
        "requested_datetime": state.filed_at,
        "updated_datetime": state.closed_at if closed and state.closed_at else state.updated_at,
        "expected_datetime": current_deadline(state),
        "address": ", ".join(region.at(t) for t in Tier),
        "address_id": region.village,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _moment(name: str, text: str | None, fmt: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(
            400, f"{name} {text!r} is not a W3C date-time (e.g. 2026-03-01T00:00:00Z)", fmt=fmt
        ) from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} {text!r} has no time zone (Z or ±hh:mm)", fmt=fmt)
    try:
        utc: datetime | None = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    # Within 90 days of the ends of the calendar, the window around it would leave the calendar.
    if utc is None or not _EARLIEST <= utc <= _LATEST:
        raise Open311Error(
            400, f"{name} {text!r} is too close to the years 1 or 9999 to search around", fmt=fmt
        )
    return utc


def _window(start: datetime | None, end: datetime | None, fmt: str) -> tuple[datetime, datetime | None]:
    if start is not None and end is not None:
        if end < start:
            raise Open311Error(400, "end_date is before start_date", fmt=fmt)
        if end - start > MAX_SPAN:
            raise Open311Error(400, "start_date to end_date may not span more than 90 days", fmt=fmt)
        return start, end
    if start is not None:
        return start, start + MAX_SPAN
    if end is not None:
        return end - MAX_SPAN, end
    # The most recent 90 days, with no upper bound: a petition is never filed "after now" on purpose,
    # but the engine's clock (Temporal's) may run ahead of this process's.
    return datetime.now(UTC) - MAX_SPAN, None


def _comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@router.get("/requests.{fmt}", summary="GET Service Requests")
async def list_requests(
    fmt: str,
    app: AppServices,
    service_request_id: Optional = None,
    service_code: Optional = None,
    start_date: Optional = None,
    end_date: Optional = None,
    status: Optional = None,
    jurisdiction_id: Optional = None,
) -> Response:
    fmt = response_format(fmt)
    ids = _comma_list(service_request_id)
    codes = _comma_list(service_code)
    unknown = [c for c in codes if app.catalogue.get(c) is None]
    if unknown and not ids:
        raise Open311Error(400, *(f"service_code {c!r} was not found" for c in unknown), fmt=fmt)
    statuses = set(_comma_list(status))
    if statuses - {"open", "closed"}:
        raise Open311Error(400, f"status must be open, closed or both, not {status!r}", fmt=fmt)
    start, end = _window(
        _moment("start_date", start_date or None, fmt), _moment("end_date", end_date or None, fmt), fmt
    )
    rows = await service_requests(
        app.pool,
        petition_ids=ids,
        categories=codes,
        filed_from=start,
        filed_until=end,
        closed=None if len(statuses) != 1 else statuses == {"closed"},
        limit=MAX_REQUESTS,
    )
    return render(fmt, "service_requests", [request_fields(r.state, app) for r in rows])


async def _state(app: AppServices, petition_id: str) -> PetitionState | None:
    """The read model's copy, or (just filed, not projected yet) the workflow's own view."""
    row = await queries.get_petition(app.pool, petition_id)
    if row is not None:
        return row.state
    try:
        return await app.petitions.view(petition_id)
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None  # never filed, or not even a valid id
        raise


@router.get("/requests/{service_request_id}.{fmt}", summary="GET Service Request")
async def get_request(
    service_request_id: str, fmt: str, app: AppServices, jurisdiction_id: Optional = None
) -> Response:
    fmt = response_format(fmt)
    state = await _state(app, service_request_id)
    if state is None:
        raise Open311Error(404, f"service_request_id {service_request_id!r} was not found", fmt=fmt)
    return render(fmt, "service_requests", [request_fields(state, app)])


@router.get("/tokens/{token}.{fmt}", summary="GET service_request_id from a token")
async def token(token: str, fmt: str, app: AppServices, jurisdiction_id: Optional = None) -> Response:
    """Every service here is realtime: a POST answers with the service_request_id itself, and the
    id doubles as its own token."""
    fmt = response_format(fmt)
    state = await _state(app, token)
    if state is None:
        raise Open311Error(404, f"token {token!r} was not found", fmt=fmt)
    return render(fmt, "service_requests", [{"service_request_id": state.petition_id, "token": token}])


# ------------------------------------------------------------------------------------ POST


_FIELD_NAMES = {
    ("description",): "description",
    ("category",): "service_code",
    ("urgency",): "attribute[urgency]",
    ("about",): "attribute[about]",
    ("petitioner", "petitioner_id"): "account_id",
    ("petitioner", "name"): "first_name/last_name",
    ("petitioner", "phone"): "phone",
    ("petitioner", "address"): "address_string",
}


def _open311_name(loc: tuple[int | str, ...]) -> str:
    return _FIELD_NAMES.get(tuple(str(p) for p in loc[:2]), _FIELD_NAMES.get((str(loc[0]),), "address_id"))


def pseudonym(secret: bytes, kind: str, value: str) -> str:
    """A stable pseudonym for a reporter's contact: the same contact gets the same id, and without the
    server's secret (``PETITIONFLOW_PSEUDONYM_SECRET``) no one can test guesses of the contact against
    it, as they could against a bare hash of a phone number."""
    message = f"{kind}:{value.strip().lower()}".encode()
    return "o311-" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:24]


def _petitioner_id(form: Mapping[str, str], secret: bytes) -> str | None:
    if account := _param(form, "account_id"):
        return account
    for name in ("email", "phone", "device_id"):
        if value := _param(form, name):
            return pseudonym(secret, name, value)
    return None


async def _form(request: Request, fmt: str) -> dict[str, str]:
    try:
        text = (await request.body()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Open311Error(
            400, "the request body is not UTF-8 application/x-www-form-urlencoded", fmt=fmt
        ) from None
    form = dict(request.query_params)
    form.update(pairs)
    bad = [name for path in unprintable_fields(form) for name in path[:1]]
    if bad:
        raise Open311Error(400, *(f"{name!r} {UNPRINTABLE_REASON}" for name in bad), fmt=fmt)
    return form


def _attributes(form: Mapping[str, str], service: Service, fmt: str) -> dict[str, str]:
    given = {
        k[len("attribute[") : -1]: v
        for k, v in form.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    known = {a.code: a for a in service.attributes}
    problems = [
        f"attribute[{code}] is not an attribute of service {service.code!r}"
        for code in given
        if code not in known
    ]
    for code, attribute in known.items():
        value = given.get(code)
        if not value:
            if attribute.required:
                problems.append(f"attribute[{code}] is required for service {service.code!r}")
            continue
        keys = [v.key for v in attribute.values]
        if keys and value not in keys:
            problems.append(f"attribute[{code}] must be one of {', '.join(keys)}, not {value!r}")
    if problems:
        raise Open311Error(400, *problems, fmt=fmt)
    return {code: value for code, value in given.items() if value}


def _location(
    form: Mapping[str, str], attributes: Mapping[str, str], app: AppServices, fmt: str
) -> Candidate:
    """The village a POST is from: by ``address_id`` if sent, else by ``lat``/``long`` (in
    ``attribute[crs]``, else the deployment's coordinate system), else by ``address_string``. The
    first one sent decides; an unknown or ambiguous place is a 400 naming the candidates."""
    lat, long = _param(form, "lat"), _param(form, "long")
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long must be sent together", fmt=fmt)
    if lat is not None and long is not None:
        try:
            ok = -90 <= float(lat) <= 90 and -180 <= float(long) <= 180
        except ValueError:
            ok = False
        if not ok:
            raise Open311Error(400, f"lat/long {lat},{long} is not a WGS84 position", fmt=fmt)
    address_string, address_id = _param(form, "address_string"), _param(form, "address_id")
    if lat is None and address_string is None and address_id is None:
        raise Open311Error(400, "a location is required: lat & long, address_string or address_id", fmt=fmt)

    if address_id is not None:
        located = app.gazetteer.by_id(address_id)
        if not isinstance(located, Found):
            raise Open311Error(
                400, f"address_id {address_id!r} is not a village of this jurisdiction", fmt=fmt
            )
        return located.village
    if lat is not None and long is not None:
        crs = Crs(attributes["crs"]) if "crs" in attributes else app.open311_crs
        located = app.gazetteer.by_point(float(lat), float(long), crs)
        if isinstance(located, Found):
            return located.village
        problem = (
            f"lat/long {lat},{long} ({_CRS_NAMES[crs]}) is in no village of this jurisdiction, nor within "
            f"{app.gazetteer.nearest_metres:g} m of one"
        )
        if isinstance(located, Unknown) and located.nearest is not None and located.distance_m is not None:
            nearest = located.nearest
            problem += (
                f": the nearest is {nearest.region_id} {nearest.name_zh} ({nearest.name_en}), "
                f"{located.distance_m / 1000:.1f} km away"
            )
        raise Open311Error(400, problem + " (is attribute[crs] right? wgs84, gcj02 or bd09)", fmt=fmt)
    assert address_string is not None
    located = app.gazetteer.by_address(address_string)
    if isinstance(located, Found):
        return located.village
    if isinstance(located, Ambiguous):
        shown = located.candidates[:MAX_CANDIDATES]
        more = len(located.candidates) - len(shown)
        raise Open311Error(
            400,
            f"address_string {address_string!r} could be any of {len(located.candidates)} villages: name "
            "the village with its township, or send its address_id",
            *(f"candidate {c.describe()}" for c in shown),
            *([f"and {more} more"] if more else []),
            fmt=fmt,
        )
    raise Open311Error(
        400,
        f"address_string {address_string!r} names no village, township, county or city of this "
        "jurisdiction: send address_id, or lat & long",
        fmt=fmt,
    )


@router.post(
    "/requests.{fmt}",
    summary="POST Service Request",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["api_key", "service_code", "description"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "api_key",
                                "jurisdiction_id",
                                "service_code",
                                "lat",
                                "long",
                                "address_string",
                                "address_id",
                                "email",
                                "device_id",
                                "account_id",
                                "first_name",
                                "last_name",
                                "phone",
                                "description",
                                "media_url",
                                "attribute[urgency]",
                                "attribute[crs]",
                                "attribute[about]",
                            )
                        },
                    }
                }
            },
        }
    },
)
async def post_request(fmt: str, request: Request, app: AppServices) -> Response:
    fmt = response_format(fmt)
    form = await _form(request, fmt)
    key = _param(form, "api_key")
    if key is not None and "api_key" not in request.query_params:  # the middleware counted a query's
        exceeded = await limits.count_form_key(request.app.state.limiter, key)
        if exceeded is not None:
            response = error_response(Open311Error(429, limits.describe(exceeded), fmt=fmt))
            response.headers["Retry-After"] = str(exceeded.retry_after)
            return response
    caller = None if key is None else await auth.authenticate_service(app.pool, key)
    if caller is None:
        reason = "api_key was not provided" if key is None else "Invalid api_key received"
        raise Open311Error(403, f"{reason} -- can't proceed with create_request.", fmt=fmt)
    structlog.contextvars.bind_contextvars(service=caller.name)

    code = _param(form, "service_code")
    if code is None:
        raise Open311Error(400, "service_code was not provided", fmt=fmt)
    service = app.catalogue.get(code)
    if service is None:
        raise Open311Error(404, f"service_code {code!r} was not found", fmt=fmt)
    attributes = _attributes(form, service, fmt)
    place = _location(form, attributes, app, fmt)
    village = app.regions.village(place.region_id)
    if village is None or village.path != place.path:
        raise Open311Error(400, f"village {place.region_id!r} has no contact cadre on duty here", fmt=fmt)
    petitioner_id = _petitioner_id(form, request.app.state.pseudonym_secret)
    if petitioner_id is None:
        raise Open311Error(
            400, "account_id (or email, phone or device_id) is required to identify the petitioner", fmt=fmt
        )
    name = " ".join(n for n in (_param(form, "first_name"), _param(form, "last_name")) if n)
    petition_id = "o311-" + uuid.uuid4().hex[:20]
    structlog.contextvars.bind_contextvars(petition_id=petition_id)
    try:
        body = FilingBody.model_validate(
            {
                "petition_id": petition_id,
                "petitioner": {
                    "petitioner_id": petitioner_id,
                    "name": name or "(not given)",
                    "phone": _param(form, "phone"),
                    "address": _param(form, "address_string"),
                },
                "village_id": village.path.village,
                "description": _param(form, "description") or "",
                "channel": Channel.OPEN311,
                "category": service.code,
                "urgency": attributes.get("urgency", Urgency.NORMAL.value),
                "tier": caller.tier,
                "about": attributes.get("about"),
            }
        )
        # The directory places the household (account_id) and names its cadre; a walk-in is filed at
        # the located village with its duty cadre (no directory: regions' village and duty cadre).
        filing = (await intake.place(app.pool, body, fallback=app.regions)).filing(app.policy)
    except ValidationError as err:
        raise Open311Error(
            400, *(f"{_open311_name(e['loc'])}: {e['msg']}" for e in err.errors()), fmt=fmt
        ) from None
    except intake.FilingProblem as problem:
        raise Open311Error(400, f"{_open311_name(problem.path)}: {problem.reason}", fmt=fmt) from None
    if not (await petition_ids.claim(app.pool, petition_id, caller.name)).mine:  # a random id: rare
        raise Open311Error(409, "service_request_id collided with another; send the request again", fmt=fmt)
    try:
        filing = await filings.resolve_intake(app.pool, filing, caller)
    except RequestValidationError as err:
        raise Open311Error(
            400, *(f"{_open311_name(e['loc'][1:])}: {e['msg']}" for e in err.errors()), fmt=fmt
        ) from None
    await app.petitions.file(filing)
    state = await app.petitions.view(petition_id)
    reply = {
        "service_request_id": petition_id,
        "service_notice": service_notice(state),
        "account_id": _param(form, "account_id"),
    }
    return render(fmt, "service_requests", [reply])
