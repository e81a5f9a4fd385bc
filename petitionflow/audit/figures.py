"""``audit figures``: the published figures recomputed from the events alone, and compared.

The figures (``store.queries.figures``, served at ``/v1/figures``) are counted over ``tier_stints``.
Here every petition's events are folded afresh (``store.projections.project``: the stints come out
of the events, not out of the table), the same counts and rates are taken in Python, and each group's
each figure is compared with what is served. A difference names the group and the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError

from petitionflow.audit.exporting import load_store, raw_event
from petitionflow.audit.models import Check, Finding
from schemas import upcasting
from schemas.common import PersonId, RegionId, Tier
from store import queries
from store._db import Db, connection
from store.models import FigureGroup, FigureRow
from store.projections import PetitionProjection, Stint

_GROUP = {FigureGroup.TIER: "tier", FigureGroup.REGION: "region_id", FigureGroup.OFFICIAL: "official_id"}
_SATISFIED = ("satisfied", "basically_satisfied")
_COUNTS = (
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


async def folded_stints(db: Db, *, batch: int = 500) -> tuple[list[Stint], list[Finding]]:
    """Every stint of every petition, folded from its events; and the petitions that do not fold."""
    async with connection(db) as conn:
        ids = [r[0] for r in await conn.fetch("SELECT petition_id FROM streams ORDER BY petition_id")]
    stints: list[Stint] = []
    problems: list[Finding] = []
    for start in range(0, len(ids), batch):
        for pid, (rows, _) in (await load_store(db, ids[start : start + batch])).items():
            projection = PetitionProjection()
            try:
                for row in rows:
                    projection.apply(row.seq, upcasting.parse_event(raw_event(row)))
            except (ValidationError, ValueError, AssertionError) as error:
                problems.append(
                    Finding(
                        check=Check.FOLD, message=f"petition {pid} does not fold, left out: {error}", row=pid
                    )
                )
                continue
            stints += projection.stints.values()
    return stints, problems


def figures_of(
    stints: Sequence[Stint],
    by: FigureGroup | str,
    *,
    tier: Tier | None = None,
    region_id: RegionId | None = None,
    official_id: PersonId | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[FigureRow]:
    """The figures of ``stints``, by the definitions of ``store.queries.figures``."""
    group = FigureGroup(by)
    if group not in _GROUP:
        raise ValueError(
            f"by {group.value}: the office figures (dispatch time, timely receipt, send-backs, summons)"
            " are not recomputed from the events yet; compare them with `petitionflow report --by office`"
        )
    kept = [
        s
        for s in stints
        if (tier is None or s.tier == tier.value)
        and (region_id is None or s.region_id == region_id)
        and (official_id is None or s.official_id == official_id)
        and (since is None or s.entered_at >= since)
        and (until is None or s.entered_at < until)
    ]
    groups: dict[str | None, list[Stint]] = {}
    for s in kept:
        groups.setdefault(getattr(s, _GROUP[group]), []).append(s)
    rows = []
    for key, members in groups.items():
        c = {
            "petitions": len({s.petition_id for s in members}),
            "stints": len(members),
            "responded_on_time": sum(s.responded_on_time for s in members),
            "resolved": sum(s.resolved_at is not None for s in members),
            "resolved_on_time": sum(s.resolved_on_time for s in members),
            "rated": sum(s.rating is not None for s in members),
            "satisfied": sum(s.rating in _SATISFIED for s in members),
            "escalated": sum(s.escalated for s in members),
            "escalated_automatically": sum(s.escalated_automatically for s in members),
            "reopened": sum(s.reopened > 0 for s in members),
            "deadlines_missed": sum(s.deadlines_missed for s in members),
        }
        rows.append(
            FigureRow(
                group=key,
                **c,
                response_rate=_rate(c["responded_on_time"], c["stints"]),
                resolution_rate=_rate(c["resolved"], c["stints"]),
                on_time_rate=_rate(c["resolved_on_time"], c["resolved"]),
                satisfaction_rate=_rate(c["satisfied"], c["rated"]),
                escalation_rate=_rate(c["escalated"], c["stints"]),
                reopen_rate=_rate(c["reopened"], c["resolved"]),
            )
        )
    if group is FigureGroup.TIER:
        return sorted(rows, key=lambda f: Tier(f.group or Tier.VILLAGE).rank)
    return sorted(rows, key=lambda f: (f.group is None, f.group or ""))


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def compare_figures(expected: Sequence[FigureRow], served: Sequence[FigureRow]) -> list[Finding]:
    """Each group's each figure, recomputed (expected) against served (found)."""
    want = {row.group: row.model_dump() for row in expected}
    got = {row.group: row.model_dump() for row in served}
    findings = []
    for key in sorted(want.keys() | got.keys(), key=lambda k: (k is None, k or "")):
        w, g = want.get(key), got.get(key)
        if w is None or g is None:
            findings.append(
                Finding(
                    check=Check.FIGURES,
                    table="figures",
                    row=str(key),
                    message=f"group {key}: "
                    + ("served but no event makes it" if w is None else "made by the events but not served"),
                    expected=None if w is None else w["stints"],
                    found=None if g is None else g["stints"],
                    field="stints",
                )
            )
            continue
        for name, value in w.items():
            if name != "group" and g[name] != value:
                findings.append(
                    Finding(
                        check=Check.FIGURES,
                        table="figures",
                        row=str(key),
                        field=name,
                        message=f"group {key}: {name} served differs from the events' count",
                        expected=value,
                        found=g[name],
                    )
                )
    return findings


async def audit_figures(
    db: Db,
    by: FigureGroup | str,
    *,
    served: Sequence[FigureRow] | None = None,
    tier: Tier | None = None,
    region_id: RegionId | None = None,
    official_id: PersonId | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[FigureRow], list[Finding]]:
    """The figures recomputed from the events, and where ``served`` (default: what ``/v1/figures``
    serves from this database, ``store.queries.figures``) differs."""
    stints, problems = await folded_stints(db)
    recomputed = figures_of(
        stints, by, tier=tier, region_id=region_id, official_id=official_id, since=since, until=until
    )
    if served is None:
        served = await queries.figures(
            db, by, tier=tier, region_id=region_id, official_id=official_id, since=since, until=until
        )
    return recomputed, problems + compare_figures(recomputed, served)
