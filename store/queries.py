"""Reading the read models: petitions, the public echo wall and the figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from schemas.common import PersonId, PetitionId, RegionId, Stage, Tier
from schemas.state import PetitionState
from store._db import Db, connection
from store.models import EchoWallEntry, FigureGroup, FigureRow, OfficeFigures, PetitionRow
from store.projections import ECHO_COLUMNS, PETITION_COLUMNS

_PETITION_SELECT = ", ".join(c if c != "state" else "state::text AS state" for c in PETITION_COLUMNS)
_REGION_COLUMNS = ("village_id", "township_id", "county_id", "city_id")


def _petition(row: asyncpg.Record) -> PetitionRow:
    values = dict(row)
    values["state"] = PetitionState.model_validate_json(values["state"])
    return PetitionRow.model_validate(values)


def _in_region(param: str, *, answering: bool = False) -> str:
    """A region id matches a petition whose path passes through it, at whatever tier; with
    ``answering``, also one whose successor path does (``RegionRenamed``; migration 014's indexes)."""
    matches = [f"{c} = {param}" for c in _REGION_COLUMNS]
    if answering:
        matches += [
            f"(state -> 'answering' <> 'null'::jsonb AND state -> 'answering' ->> '{tier}' = {param})"
            for tier in ("village", "township", "county", "city")
        ]
    return "(" + " OR ".join(matches) + ")"


async def get_petition(db: Db, petition_id: PetitionId) -> PetitionRow | None:
    """The petition's read-model row with its folded state, or None when it was never filed."""
    async with connection(db) as conn:
        row = await conn.fetchrow(
            f"SELECT {_PETITION_SELECT} FROM petitions WHERE petition_id = $1", petition_id
        )
    return None if row is None else _petition(row)


async def list_petitions(
    db: Db,
    *,
    tier: Tier | None = None,
    stage: Stage | None = None,
    region_id: RegionId | None = None,
    overdue: bool | None = None,
    official_id: PersonId | None = None,
    limit: int = 100,
    after: PetitionId | None = None,
    within: tuple[Tier, RegionId] | None = None,
    filed_by: str | None = None,
) -> list[PetitionRow]:
    """Petitions matching every filter given, in id order, ``limit`` at a time.

    Args:
        within: only petitions whose grid path has this region at this tier (what an official of
            that office may read: its own and the regions' below it).
        filed_by: only petitions this service filed (``petition_ids``).
        region_id: a village, township, county or city id: petitions whose grid path contains it,
            or whose successor path does since a directory change (``RegionRenamed``).
        official_id: the official who acknowledged the petition at its current tier.
        after: the last ``petition_id`` of the previous page (keyset pagination).
    """
    conditions: list[str] = []
    args: list[Any] = []

    def where(template: str, value: object) -> None:
        args.append(value)
        conditions.append(template.format(f"${len(args)}"))

    if tier is not None:
        where("tier = {}", tier.value)
    if stage is not None:
        where("stage = {}", stage.value)
    if region_id is not None:
        where(_in_region("{0}", answering=True), region_id)
    if overdue is not None:
        where("overdue = {}", overdue)
    if official_id is not None:
        where("acknowledged_by = {}", official_id)
    if after is not None:
        where("petition_id > {}", after)
    if within is not None:
        where(f"{within[0].value}_id = {{}}", within[1])
    if filed_by is not None:
        where("petition_id IN (SELECT petition_id FROM petition_ids WHERE service = {})", filed_by)
    args.append(limit)
    sql = (
        f"SELECT {_PETITION_SELECT} FROM petitions"
        + (" WHERE " + " AND ".join(conditions) if conditions else "")
        + f" ORDER BY petition_id LIMIT ${len(args)}"
    )
    async with connection(db) as conn:
        rows = await conn.fetch(sql, *args)
    return [_petition(r) for r in rows]


async def echo_wall(
    db: Db, *, region_id: RegionId | None = None, tier: Tier | None = None, limit: int = 50
) -> list[EchoWallEntry]:
    """The latest answers on the public board, newest first.

    Args:
        region_id: only petitions whose grid path contains this village, township, county or city.
        tier: only answers given at this tier.
    """
    conditions: list[str] = []
    args: list[Any] = []
    if region_id is not None:
        args.append(region_id)
        conditions.append(_in_region(f"${len(args)}"))
    if tier is not None:
        args.append(tier.value)
        conditions.append(f"tier = ${len(args)}")
    args.append(limit)
    sql = (
        f"SELECT {', '.join(ECHO_COLUMNS)} FROM echo_wall"
        + (" WHERE " + " AND ".join(conditions) if conditions else "")
        + f" ORDER BY resolved_at DESC, petition_id, seq LIMIT ${len(args)}"
    )
    async with connection(db) as conn:
        rows = await conn.fetch(sql, *args)
    return [EchoWallEntry.model_validate(dict(r)) for r in rows]


_GROUP_COLUMN = {
    FigureGroup.TIER: "tier",
    FigureGroup.REGION: "region_id",
    FigureGroup.OFFICIAL: "official_id",
    FigureGroup.OFFICE: "coalesce(office_id, tier || ':' || region_id)",
}

_OFFICE_FIGURES = """
SELECT office_id,
       min(office_kind) AS office_kind,
       count(*) FILTER (WHERE fact = 'dispatched') AS dispatched,
       count(*) FILTER (WHERE fact = 'dispatched' AND on_time) AS dispatched_on_time,
       avg(seconds) FILTER (WHERE fact = 'dispatched') / 60 AS average_dispatch_minutes,
       count(*) FILTER (WHERE fact = 'received') AS received,
       count(*) FILTER (WHERE fact = 'signed_for') AS signed_for,
       count(*) FILTER (WHERE fact = 'sign_for_missed') AS sign_for_missed,
       count(*) FILTER (WHERE fact = 'sent_back') AS sent_back,
       count(*) FILTER (WHERE fact = 'summoned') AS summoned,
       count(*) FILTER (WHERE fact = 'summons_answered' AND on_time) AS summons_answered_on_time,
       count(*) FILTER (WHERE fact = 'summons_missed') AS summons_missed
FROM office_facts
WHERE ($1::text IS NULL OR tier = $1)
  AND ($2::text IS NULL OR region_id = $2)
  AND ($3::timestamptz IS NULL OR at >= $3)
  AND ($4::timestamptz IS NULL OR at < $4)
GROUP BY office_id
"""

_FIGURES = """
SELECT {group} AS grp,
       count(DISTINCT petition_id) AS petitions,
       count(*) AS stints,
       count(*) FILTER (WHERE responded_on_time) AS responded_on_time,
       count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,
       count(*) FILTER (WHERE resolved_on_time) AS resolved_on_time,
       count(*) FILTER (WHERE rating IS NOT NULL) AS rated,
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied')) AS satisfied,
       count(*) FILTER (WHERE escalated) AS escalated,
       count(*) FILTER (WHERE escalated_automatically) AS escalated_automatically,
       count(*) FILTER (WHERE reopened > 0) AS reopened,
       coalesce(sum(deadlines_missed), 0)::int AS deadlines_missed
FROM tier_stints
WHERE ($1::text IS NULL OR tier = $1)
  AND ($2::text IS NULL OR region_id = $2)
  AND ($3::text IS NULL OR official_id = $3)
  AND ($4::timestamptz IS NULL OR entered_at >= $4)
  AND ($5::timestamptz IS NULL OR entered_at < $5)
GROUP BY grp
"""


async def _with_office_figures(db: Db, rows: list[FigureRow], filters: tuple[object, ...]) -> list[FigureRow]:
    """``rows`` (by office) with each office's own figures; an office with facts but no stint (a
    summoned helper) gets a row of its own."""
    async with connection(db) as conn:
        found = {r["office_id"]: dict(r) for r in await conn.fetch(_OFFICE_FIGURES, *filters)}
    stints = {name: 0 for name in STINT_COUNTS}
    by_group = {row.group: row for row in rows}
    for office_id in found.keys() - by_group.keys():
        by_group[office_id] = FigureRow(group=office_id, **stints, **dict.fromkeys(RATES))
    result = []
    for group, row in by_group.items():
        r = found.get(group)
        office = None
        if r is not None:
            office = OfficeFigures(
                **r,
                dispatch_on_time_rate=_rate(r["dispatched_on_time"], r["dispatched"]),
                timely_receipt_rate=_rate(r["signed_for"], r["received"]),
                send_back_rate=_rate(r["sent_back"], r["received"]),
                summons_on_time_rate=_rate(r["summons_answered_on_time"], r["summoned"]),
            )
        result.append(row.model_copy(update={"office": office}))
    return result


STINT_COUNTS = (
    "petitions",
    "stints",
    "responded_on_time",
    "resolved",
    "resolved_on_time",
    "rated",
    "satisfied",
    "escalated",
    "escalated_automatically",
    "reopened",
    "deadlines_missed",
)
"""The counts of a ``FigureRow``."""
RATES = (
    "response_rate",
    "resolution_rate",
    "on_time_rate",
    "satisfaction_rate",
    "escalation_rate",
    "reopen_rate",
)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


async def figures(
    db: Db,
    by: FigureGroup | str,
    *,
    tier: Tier | None = None,
    region_id: RegionId | None = None,
    official_id: PersonId | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[FigureRow]:
    """The metric report by tier, by region or by official, over ``tier_stints``.

    The unit is a *stint*: one petition's stay at one tier (a petition escalated twice has three).
    A stint's region is the region of its tier (a township stint counts for the township), and its
    official is who acknowledged it, else whom a missed deadline was charged to, else who resolved it.
    Stints still running count too; pass ``until`` to report on a closed period.

    - ``response_rate`` = stints acknowledged no later than their respond deadline / stints;
    - ``resolution_rate`` = stints with a resolution (outcome resolved or not feasible: a reasoned
      refusal is also an answer) / stints;
    - ``on_time_rate`` = stints whose latest resolution met the resolve deadline / resolved stints;
    - ``satisfaction_rate`` = stints whose latest rating is satisfied or basically satisfied / rated
      stints;
    - ``escalation_rate`` = stints that ended by escalating (explicitly or automatically) / stints;
    - ``reopen_rate`` = stints reopened at least once (dissatisfied, or a failed return visit) /
      resolved stints;
    - ``deadlines_missed`` = respond and resolve deadlines missed, summed.

    The commitment completion rate of ``DOMAIN.md`` is not here: commitments are not modelled yet.

    Args:
        by: ``tier``, ``region``, ``official`` or ``office`` (the holding office of each stint, a
            petition that never met an office counting for its tier's ``<tier>:<region_id>``; each row
            then carries the office's own ``OfficeFigures`` from ``office_facts``).
        tier, region_id, official_id: keep only stints at this tier / region / of this official.
        since, until: keep only stints entered in ``[since, until)``.
    """
    group = FigureGroup(by)
    sql = _FIGURES.format(group=_GROUP_COLUMN[group])
    filters = (None if tier is None else tier.value, region_id, official_id, since, until)
    async with connection(db) as conn:
        rows = await conn.fetch(sql, *filters)
    counts = [dict(r) for r in rows]
    result = [
        FigureRow(
            group=r.pop("grp"),
            **r,
            response_rate=_rate(r["responded_on_time"], r["stints"]),
            resolution_rate=_rate(r["resolved"], r["stints"]),
            on_time_rate=_rate(r["resolved_on_time"], r["resolved"]),
            satisfaction_rate=_rate(r["satisfied"], r["rated"]),
            escalation_rate=_rate(r["escalated"], r["stints"]),
            reopen_rate=_rate(r["reopened"], r["resolved"]),
        )
        for r in counts
    ]
    if group is FigureGroup.OFFICE:
        result = await _with_office_figures(db, result, (filters[0], region_id, since, until))
    if group is FigureGroup.TIER:
        return sorted(result, key=lambda f: Tier(f.group or Tier.VILLAGE).rank)
    return sorted(result, key=lambda f: (f.group is None, f.group or ""))
