"""What the web pages read beyond ``store.queries``: the work queue, the echo wall with its filters,
a petition's public steps, and the dashboard's trends, league table and overdue counts.

Every figure here is counted over the same read models as ``queries.figures``; none holds personal
data except ``queue`` (officials only), which returns read-model rows without the folded state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.common import Stage, Tier
from store._db import Db, connection
from store.models import EchoWallEntry
from store.projections import ECHO_COLUMNS

_REGION_COLUMN = {
    Tier.VILLAGE: "village_id",
    Tier.TOWNSHIP: "township_id",
    Tier.COUNTY: "county_id",
    Tier.CITY: "city_id",
}


@dataclass(frozen=True, slots=True)
class QueueItem:
    petition_id: str
    stage: Stage
    category: str
    urgency: str
    village_id: str
    filed_at: datetime
    current_deadline: datetime | None
    overdue: bool
    acknowledged_by: str | None


async def queue(
    db: Db,
    tier: Tier,
    region_id: str,
    *,
    office_id: str | None = None,
    stage: Stage | None = None,
    category: str | None = None,
    limit: int = 100,
) -> list[QueueItem]:
    """The open petitions held by the office of ``tier`` in ``region_id``, soonest deadline first
    (overdue ones lead; those with no pending deadline come last).

    ``office_id`` names a department or a centre (``Actor.office_id``): only what that office holds
    (a centre's petitions waiting for dispatch, a department's dispatched ones). None: the region's
    government, which holds what no office or a territorial office holds."""
    held = "office_kind = 'territorial'" if office_id is None else "office_id = $6"
    sql = (
        f"SELECT {_QUEUE_COLUMNS} FROM petitions"
        f" WHERE tier = $1 AND {_REGION_COLUMN[tier]} = $2 AND NOT finished"
        " AND ($3::text IS NULL OR stage = $3) AND ($4::text IS NULL OR category = $4)"
        f" AND {held} ORDER BY current_deadline NULLS LAST, petition_id LIMIT $5"
    )
    args: list[object] = [tier.value, region_id, None if stage is None else stage.value, category, limit]
    if office_id is not None:
        args.append(office_id)
    async with connection(db) as conn:
        rows = await conn.fetch(sql, *args)
    return [QueueItem(**{**dict(r), "stage": Stage(r["stage"])}) for r in rows]


_QUEUE_COLUMNS = (
    "petition_id, stage, category, urgency, village_id, filed_at, current_deadline, overdue, acknowledged_by"
)


async def summoned(db: Db, office_id: str, *, limit: int = 100) -> list[QueueItem]:
    """The open petitions ``office_id`` was summoned to help with (协办) and has yet to answer
    (``office_facts``), soonest deadline first."""
    sql = (
        f"SELECT {_QUEUE_COLUMNS} FROM petitions WHERE NOT finished AND petition_id IN ("
        "  SELECT f.petition_id FROM office_facts f WHERE f.office_id = $1 AND f.fact = 'summoned'"
        "  AND NOT EXISTS (SELECT 1 FROM office_facts a WHERE a.petition_id = f.petition_id"
        "   AND a.office_id = f.office_id AND a.fact = 'summons_answered' AND a.seq > f.seq))"
        " ORDER BY current_deadline NULLS LAST, petition_id LIMIT $2"
    )
    async with connection(db) as conn:
        rows = await conn.fetch(sql, office_id, limit)
    return [QueueItem(**{**dict(r), "stage": Stage(r["stage"])}) for r in rows]


def _region_filter(region_tier: Tier | None, param: str) -> str:
    return f"{param}::text IS NULL" if region_tier is None else f"{_REGION_COLUMN[region_tier]} = {param}"


async def echo_wall(
    db: Db,
    *,
    region_tier: Tier | None = None,
    region_id: str | None = None,
    category: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
    limit: int = 50,
) -> list[EchoWallEntry]:
    """The public board, newest first: of one region (at ``region_tier``), of a category, answered
    in ``[since, until)``, whose public summary contains ``text`` (case-insensitive)."""
    pattern = None
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = (
        f"SELECT {', '.join(ECHO_COLUMNS)} FROM echo_wall"
        f" WHERE {_region_filter(region_tier, '$1')} AND ($2::text IS NULL OR category = $2)"
        " AND ($3::timestamptz IS NULL OR resolved_at >= $3)"
        " AND ($4::timestamptz IS NULL OR resolved_at < $4)"
        " AND ($5::text IS NULL OR public_summary ILIKE $5)"
        " ORDER BY resolved_at DESC, petition_id, seq LIMIT $6"
    )
    async with connection(db) as conn:
        rows = await conn.fetch(sql, region_id, category, since, until, pattern, limit)
    return [EchoWallEntry.model_validate(dict(r)) for r in rows]


@dataclass(frozen=True, slots=True)
class PublicStep:
    """One public step of a petition's timeline: what happened, when, at which tier."""

    type: str
    at: datetime
    tier: str | None
    to_tier: str | None = None
    rating: str | None = None
    outcome: str | None = None


_PUBLIC_TYPES = (
    "PetitionFiled",
    "Acknowledged",
    "Escalated",
    "Resolved",
    "FeedbackReceived",
    "Closed",
    "Reopened",
)


async def public_steps(db: Db, petition_id: str) -> list[PublicStep]:
    """Filed, acknowledged, escalated to …, answered, rated, reopened, closed: no text, no names."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT type, at, coalesce(body->>'tier', body->>'from_tier') AS tier,"
            " body->>'to_tier' AS to_tier,"
            " body->>'rating' AS rating, body->>'outcome' AS outcome"
            " FROM events WHERE petition_id = $1 AND type = ANY($2::text[]) ORDER BY seq",
            petition_id,
            list(_PUBLIC_TYPES),
        )
    return [PublicStep(**dict(r)) for r in rows]


@dataclass(frozen=True, slots=True)
class Month:
    month: str
    """``YYYY-MM`` in the dashboard's time zone."""
    stints: int
    responded_on_time: int
    resolved: int
    rated: int
    satisfied: int

    @property
    def response_rate(self) -> float | None:
        return None if not self.stints else self.responded_on_time / self.stints

    @property
    def resolution_rate(self) -> float | None:
        return None if not self.stints else self.resolved / self.stints

    @property
    def satisfaction_rate(self) -> float | None:
        return None if not self.rated else self.satisfied / self.rated


async def monthly(db: Db, *, timezone: str, months: int = 12) -> list[Month]:
    """Stints by the month they began (in ``timezone``), the last ``months`` months with any."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT to_char(date_trunc('month', entered_at AT TIME ZONE $1), 'YYYY-MM') AS month,"
            " count(*) AS stints,"
            " count(*) FILTER (WHERE responded_on_time) AS responded_on_time,"
            " count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,"
            " count(*) FILTER (WHERE rating IS NOT NULL) AS rated,"
            " count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied')) AS satisfied"
            " FROM tier_stints GROUP BY 1 ORDER BY 1 DESC LIMIT $2",
            timezone,
            months,
        )
    return [Month(**dict(r)) for r in reversed(rows)]


@dataclass(frozen=True, slots=True)
class LeagueRow:
    region_id: str
    stints: int
    resolved: int
    average_days: float | None
    """Mean days from a stint's start to its answer, over the answered ones."""
    on_time: int


async def league(db: Db, tier: Tier = Tier.TOWNSHIP) -> list[LeagueRow]:
    """The offices of ``tier`` by responsiveness: fewest average days to an answer first."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT region_id, count(*) AS stints,"
            " count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,"
            " avg(extract(epoch FROM resolved_at - entered_at) / 86400.0)"
            "   FILTER (WHERE resolved_at IS NOT NULL)::float8 AS average_days,"
            " count(*) FILTER (WHERE resolved_on_time) AS on_time"
            " FROM tier_stints WHERE tier = $1 GROUP BY region_id"
            " ORDER BY average_days NULLS LAST, region_id",
            tier.value,
        )
    return [LeagueRow(**dict(r)) for r in rows]


async def overdue_counts(db: Db, *, now: datetime | None = None) -> dict[Tier, tuple[int, int]]:
    """Per tier: open petitions whose pending deadline has passed, and open petitions in all."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT tier, count(*) FILTER (WHERE overdue OR current_deadline < coalesce($1, now())) AS late,"
            " count(*) AS open FROM petitions WHERE NOT finished AND stage <> 'closed' GROUP BY tier",
            now,
        )
    found = {Tier(r["tier"]): (r["late"], r["open"]) for r in rows}
    return {t: found.get(t, (0, 0)) for t in Tier}


async def region_names(db: Db) -> dict[str, tuple[str, str]]:
    """Every region of the current directory: id -> (Chinese name, romanised name)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT region_id, name_zh, name_en FROM directory_regions"
            " WHERE version = (SELECT max(version) FROM directory_versions)"
        )
    return {r["region_id"]: (r["name_zh"], r["name_en"]) for r in rows}


async def region_tier(db: Db, region_id: str) -> Tier | None:
    """The tier of ``region_id`` as the petitions read model knows it (None if no petition is there)."""
    async with connection(db) as conn:
        for tier, column in _REGION_COLUMN.items():
            # Ordered as the index ``petitions_<tier>`` (``(column, petition_id)``) is: a prepared
            # statement's generic plan otherwise expects the average region's thousands of rows,
            # picks a sequential scan that stops at the first, and reads the whole table for an id
            # of another tier (80 ms at a million petitions).
            found = await conn.fetchval(
                f"SELECT 1 FROM petitions WHERE {column} = $1 ORDER BY {column}, petition_id LIMIT 1",
                region_id,
            )
            if found:
                return tier
    return None


def as_dict(value: Any) -> dict[str, Any]:
    """A dataclass row as a dict (for CSV)."""
    return {name: getattr(value, name) for name in value.__slots__}


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a petition's timeline as officials see it: who did what at which tier."""

    seq: int
    type: str
    at: datetime
    actor_role: str
    actor_id: str
    tier: str | None
    to_tier: str | None
    text: str | None
    """The event's public summary, reason, question, note or (a summoned office's) part."""
    to_office: str | None = None
    """The office it went to (dispatched, sent back, handed up, summoned), by its directory name."""


async def timeline(db: Db, petition_id: str) -> list[Step]:
    """Every event of the petition, in order, for the officials' petition page."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT seq, type, at, actor->>'role' AS actor_role, actor->>'id' AS actor_id,"
            " coalesce(body->>'tier', body->>'from_tier') AS tier, body->>'to_tier' AS to_tier,"
            " coalesce(body->>'public_summary', body->>'reason', body->>'question', body->>'note',"
            "          body->>'info', body->>'part') AS text,"
            " coalesce(body->'to_office'->>'name', body->'to_office'->>'office_id',"
            "          (SELECT string_agg(coalesce(o->>'name', o->>'office_id'), '、')"
            "           FROM jsonb_array_elements(body->'offices') o)) AS to_office"
            " FROM events WHERE petition_id = $1 ORDER BY seq",
            petition_id,
        )
    return [Step(**dict(r)) for r in rows]
