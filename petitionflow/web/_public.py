"""The public pages: no sign-in, never personal data. The home page and a region's echo wall, a
petition's public page, the dashboard and its CSV tables."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from petitionflow.web import _charts
from petitionflow.web._base import render, speaker, viewer, web
from petitionflow.web._i18n import Speaker
from schemas.common import Stage, Tier
from store import pages, queries
from store.models import FigureRow

router = APIRouter(include_in_schema=False)

PERIODS = {"30d": timedelta(days=30), "90d": timedelta(days=90), "365d": timedelta(days=365)}
Text = Annotated[str | None, Query(max_length=100)]


def _since(period: str | None) -> datetime | None:
    return None if period not in PERIODS else datetime.now(UTC) - PERIODS[period]


def _category(request: Request, category: str | None) -> str | None:
    if not category:
        return None
    return category if web(request).catalogue.get(category) is not None else None


async def _wall(
    request: Request, *, region_id: str | None, category: str | None, period: str | None, q: str | None
) -> dict[str, Any]:
    here = web(request)
    tier: Tier | None = None
    if region_id is not None:
        tier = await pages.region_tier(here.pool, region_id)
    entries = (
        []
        if region_id is not None and tier is None
        else await pages.echo_wall(
            here.pool,
            region_tier=tier,
            region_id=region_id,
            category=_category(request, category),
            since=_since(period),
            text=(q or "").strip() or None,
        )
    )
    return {
        "entries": entries,
        "region_id": region_id,
        "region_tier": tier,
        "categories": [s.code for s in here.catalogue.services],
        "periods": list(PERIODS),
        "filters": {"category": category or "", "period": period or "", "q": q or ""},
    }


def _totals(rows: list[FigureRow]) -> dict[str, float | None]:
    def total(name: str) -> int:
        return sum(int(getattr(r, name)) for r in rows)

    stints, resolved, rated = total("stints"), total("resolved"), total("rated")
    return {
        "stints": stints,
        "response_rate": total("responded_on_time") / stints if stints else None,
        "resolution_rate": resolved / stints if stints else None,
        "satisfaction_rate": total("satisfied") / rated if rated else None,
    }


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, category: Text = None, period: Text = None, q: Text = None) -> HTMLResponse:
    here = web(request)
    region = here.config.county_id
    wall = await _wall(request, region_id=region, category=category, period=period, q=q)
    tables, _ = await here.dashboard()
    return await render(
        request, "home.html", who=await viewer(request), headline=_totals(tables["tiers"]), **wall
    )


@router.get("/wall/{region_id}", response_class=HTMLResponse)
async def wall(
    request: Request, region_id: str, category: Text = None, period: Text = None, q: Text = None
) -> HTMLResponse:
    found = await _wall(request, region_id=region_id[:64], category=category, period=period, q=q)
    status = 404 if found["region_tier"] is None else 200
    return await render(request, "wall.html", status, who=await viewer(request), **found)


@router.get("/p/{petition_id}", response_class=HTMLResponse)
async def petition(request: Request, petition_id: str) -> HTMLResponse:
    here = web(request)
    row = await queries.get_petition(here.pool, petition_id[:64])
    if row is None:
        return await render(request, "not_found.html", 404, who=await viewer(request))
    steps = await pages.public_steps(here.pool, row.petition_id)
    return await render(
        request, "petition_public.html", who=await viewer(request), row=row, state=row.state, steps=steps
    )


# --------------------------------------------------------------------------------------- dashboard

_RATES = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_rate",
    "escalation_rate",
    "reopen_rate",
)
_COUNTS = ("stints", "petitions", "resolved", "rated", "escalated", "reopened", "deadlines_missed")


async def _tables(request: Request) -> dict[str, Any]:
    tables, counted_at = await web(request).dashboard()
    return {**tables, "counted_at": counted_at, "region_names": await web(request).names()}


def _charts_for(say: Speaker, tables: dict[str, Any]) -> dict[str, str]:
    tiers = [
        {"group": say.word("tier", r.group), **{k: getattr(r, k) for k in _RATES}} for r in tables["tiers"]
    ]
    months = [
        {
            "month": m.month,
            "response_rate": m.response_rate,
            "resolution_rate": m.resolution_rate,
            "satisfaction_rate": m.satisfaction_rate,
        }
        for m in tables["months"]
    ]
    charts = {
        rate: _charts.bar_chart(
            tiers,
            x="group",
            y=rate,
            title=say.gettext(_RATE_TITLES[rate]),
            x_title=say.gettext("Tier"),
            y_title=say.gettext("Rate"),
        )
        for rate in ("response_rate", "resolution_rate", "satisfaction_rate")
    }
    charts.update(_office_charts(say, tables))
    charts["months"] = _charts.line_chart(
        months,
        x="month",
        series={
            rate: say.gettext(_RATE_TITLES[rate])
            for rate in ("response_rate", "resolution_rate", "satisfaction_rate")
        },
        title=say.gettext("Month by month"),
        x_title=say.gettext("Month"),
    )
    return charts


OFFICE_RATES = ("dispatch_on_time_rate", "timely_receipt_rate", "send_back_rate", "summons_on_time_rate")
"""The rates of what offices did with the petitions sent to them (``OfficeFigures``)."""
OFFICE_CHARTS = ("timely_receipt_rate", "send_back_rate")


def office_label(say: Speaker, tables: dict[str, Any], names: dict[str, tuple[str, str]]) -> Any:
    """The name of an office figures group: the directory's, else (a petition that never met an
    office counts for ``<tier>:<region_id>``) the region's name and its tier's office."""
    known: dict[str, tuple[str, str, Any]] = tables.get("office_names", {})

    def label(group: str | None) -> str:
        if group is None:
            return ""
        if group in known:
            zh, en, _ = known[group]
            return zh if say.language == "zh-CN" else en
        tier, _, region_id = group.partition(":")
        region_zh, region_en = names.get(region_id, (region_id, region_id))
        return f"{region_zh if say.language == 'zh-CN' else region_en} {say.word('office', tier)}"

    return label


def _office_charts(say: Speaker, tables: dict[str, Any]) -> dict[str, str]:
    label = office_label(say, tables, tables.get("region_names", {}))
    rows = [
        {"office": label(r.group), **{k: getattr(r.office, k) for k in OFFICE_RATES}}
        for r in tables["offices"]
        if r.office is not None
    ]
    return {
        f"office_{rate}": _charts.row_chart(
            rows,
            y="office",
            x=rate,
            title=say.gettext(_OFFICE_RATE_TITLES[rate]),
            y_title=say.gettext("Office"),
            x_title=say.gettext("Rate"),
        )
        for rate in OFFICE_CHARTS
    }


_OFFICE_RATE_TITLES = {
    "dispatch_on_time_rate": "Dispatched in time",
    "timely_receipt_rate": "Timely receipt rate",
    "send_back_rate": "Send-back rate",
    "summons_on_time_rate": "Summonses answered in time",
}

_RATE_TITLES = {
    "response_rate": "Response rate",
    "resolution_rate": "Resolution rate",
    "satisfaction_rate": "Satisfaction rate",
    "on_time_rate": "On-time rate",
    "escalation_rate": "Escalation rate",
    "reopen_rate": "Reopen rate",
}


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    tables = await _tables(request)
    say = speaker(request)
    return await render(
        request,
        "dashboard.html",
        who=await viewer(request),
        charts=_charts_for(say, tables),
        rates=_RATES,
        rate_titles=_RATE_TITLES,
        counts=_COUNTS,
        tiers_list=list(Tier),
        tier_name=lambda t: say.word("tier", t),
        office_rates=OFFICE_RATES,
        office_charts=OFFICE_CHARTS,
        office_rate_titles=_OFFICE_RATE_TITLES,
        office_name=office_label(say, tables, tables["region_names"]),
        **tables,
    )


CSV_TABLES = ("tiers", "regions", "months", "league", "overdue", "offices")


@router.get("/dashboard/{table}.csv")
async def dashboard_csv(request: Request, table: str) -> Response:
    """A table of the dashboard as CSV with a UTF-8 byte-order mark (Excel and WPS then read the
    Chinese right); headers and words in the viewer's language, rates as fractions."""
    if table not in CSV_TABLES:
        return Response("no such table\n", status_code=404, media_type="text/plain")
    say = speaker(request)
    tables = await _tables(request)
    names = await web(request).names()
    rows = _csv_rows(say, table, tables, names)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="petitionflow-{table}.csv"'},
    )


def _csv_rows(
    say: Speaker, table: str, tables: dict[str, Any], names: dict[str, tuple[str, str]]
) -> list[list[object]]:
    def place(region_id: str | None) -> str:
        zh, en = names.get(region_id or "", (region_id or "", region_id or ""))
        return zh if say.language == "zh-CN" else en

    heads = [say.gettext(_RATE_TITLES[r]) for r in _RATES] + [say.gettext(_COUNT_TITLES[c]) for c in _COUNTS]

    def figures(r: FigureRow) -> list[object]:
        return [_fraction(getattr(r, k)) for k in _RATES] + [getattr(r, k) for k in _COUNTS]

    if table == "tiers":
        head: list[object] = [say.gettext("Tier"), *heads]
        return [head] + [[say.word("tier", r.group), *figures(r)] for r in tables["tiers"]]
    if table == "regions":
        head = [say.gettext("Region id"), say.gettext("Region"), *heads]
        return [head] + [[r.group, place(r.group), *figures(r)] for r in tables["regions"]]
    if table == "months":
        head = [
            say.gettext("Month"),
            say.gettext("Stints"),
            *(say.gettext(_RATE_TITLES[r]) for r in _RATES[:3]),
        ]
        return [head] + [
            [
                m.month,
                m.stints,
                _fraction(m.response_rate),
                _fraction(m.resolution_rate),
                _fraction(m.satisfaction_rate),
            ]
            for m in tables["months"]
        ]
    if table == "offices":
        label = office_label(say, tables, names)
        head = [
            say.gettext("Office id"),
            say.gettext("Office"),
            say.gettext("Kind"),
            say.gettext("Dispatched"),
            say.gettext("Average minutes to dispatch"),
            say.gettext(_OFFICE_RATE_TITLES["dispatch_on_time_rate"]),
            say.gettext("Received"),
            say.gettext("Signed for in time"),
            say.gettext(_OFFICE_RATE_TITLES["timely_receipt_rate"]),
            say.gettext("Sent back"),
            say.gettext(_OFFICE_RATE_TITLES["send_back_rate"]),
            say.gettext("Summoned"),
            say.gettext(_OFFICE_RATE_TITLES["summons_on_time_rate"]),
            *heads,
        ]
        body: list[list[object]] = []
        for r in tables["offices"]:
            o = r.office
            if o is None:
                continue
            minutes = "" if o.average_dispatch_minutes is None else round(o.average_dispatch_minutes, 2)
            body.append(
                [
                    r.group,
                    label(r.group),
                    say.word("kind", o.office_kind),
                    o.dispatched,
                    minutes,
                    _fraction(o.dispatch_on_time_rate),
                    o.received,
                    o.signed_for,
                    _fraction(o.timely_receipt_rate),
                    o.sent_back,
                    _fraction(o.send_back_rate),
                    o.summoned,
                    _fraction(o.summons_on_time_rate),
                    *figures(r),
                ]
            )
        return [head, *body]
    if table == "league":
        head = [
            say.gettext("Rank"),
            say.gettext("Township"),
            say.gettext("Average days to answer"),
            say.gettext("Stints"),
            say.gettext("Answered"),
            say.gettext("On time"),
        ]
        return [head] + [
            [
                i,
                place(r.region_id),
                "" if r.average_days is None else round(r.average_days, 2),
                r.stints,
                r.resolved,
                r.on_time,
            ]
            for i, r in enumerate(tables["league"], 1)
        ]
    return [[say.gettext("Tier"), say.gettext("Overdue"), say.gettext("Open")]] + [
        [say.word("tier", t), late, open_] for t, (late, open_) in tables["overdue"].items()
    ]


def _fraction(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


_COUNT_TITLES = {
    "stints": "Stints",
    "petitions": "Petitions",
    "resolved": "Answered",
    "rated": "Rated",
    "escalated": "Escalated",
    "reopened": "Reopened",
    "deadlines_missed": "Deadlines missed",
}

STAGES = list(Stage)
