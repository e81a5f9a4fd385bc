"""``audit figures``: the published figures recomputed from the events alone, and compared.

The figures (``store.queries.figures``, served at ``/v1/figures``) are counted over ``tier_stints``.
Here every petition's events are folded afresh (``store.projections.PetitionProjection``: the stints
and, for ``by=office``, the offices' facts come out of the events, not out of ``tier_stints`` or
``office_facts``), the same counts and rates are taken in Python, and each group's each figure is
compared with what is served. A difference names the group and the figure (``office.sent_back`` for
an office's own figures).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from petitionflow.audit.exporting import load_store, raw_event
from petitionflow.audit.models import Check, Finding
from schemas import upcasting
from schemas.common import PersonId, RegionId, Tier
from store import queries
from store._db import Db, connection
from store.models import FigureGroup, FigureRow, OfficeFigures
from store.projections import OfficeFact, PetitionProjection, Stint
from store.queries import RATES, STINT_COUNTS

_GROUP = {FigureGroup.TIER: "tier", FigureGroup.REGION: "region_id", FigureGroup.OFFICIAL: "official_id"}
_SATISFIED = ("satisfied", "basically_satisfied")


@dataclass
class Folded:
    """What the events of every petition fold to: the facts behind the figures."""

    stints: list[Stint] = field(default_factory=list)
    office_facts: list[OfficeFact] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    """The petitions that do not fold (left out of both)."""


async def folded_facts(db: Db, *, batch: int = 500) -> Folded:
    """Every stint and every office fact of every petition, folded from its events."""
    async with connection(db) as conn:
        ids = [r[0] for r in await conn.fetch("SELECT petition_id FROM streams ORDER BY petition_id")]
    folded = Folded()
    for start in range(0, len(ids), batch):
        for pid, (rows, _) in (await load_store(db, ids[start : start + batch])).items():
            projection = PetitionProjection()
            try:
                for row in rows:
                    projection.apply(row.seq, upcasting.parse_event(raw_event(row)))
            except (ValidationError, ValueError, AssertionError) as error:
                folded.problems.append(
                    Finding(
                        check=Check.FOLD, message=f"petition {pid} does not fold, left out: {error}", row=pid
                    )
                )
                continue
            folded.stints += projection.stints.values()
            folded.office_facts += projection.office_facts
    return folded


async def folded_stints(db: Db, *, batch: int = 500) -> tuple[list[Stint], list[Finding]]:
    """Every stint of every petition, folded from its events; and the petitions that do not fold."""
    folded = await folded_facts(db, batch=batch)
    return folded.stints, folded.problems


def _group_of(stint: Stint, group: FigureGroup) -> str | None:
    if group is FigureGroup.OFFICE:
        # store.queries._GROUP_COLUMN: coalesce(office_id, tier || ':' || region_id)
        return stint.office_id if stint.office_id is not None else f"{stint.tier}:{stint.region_id}"
    value: str | None = getattr(stint, _GROUP[group])
    return value


def office_figures_of(
    facts: Sequence[OfficeFact],
    *,
    tier: Tier | None = None,
    region_id: RegionId | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, OfficeFigures]:
    """Each office's own figures from ``facts``, by the definitions of ``store.queries._OFFICE_FIGURES``:
    a fact is kept by its own tier, region and moment (``at``), whoever the official."""
    offices: dict[str, list[OfficeFact]] = {}
    for f in facts:
        if (
            (tier is None or f.tier == tier.value)
            and (region_id is None or f.region_id == region_id)
            and (since is None or f.at >= since)
            and (until is None or f.at < until)
        ):
            offices.setdefault(f.office_id, []).append(f)
    result = {}
    for office_id, members in offices.items():
        named: dict[str, list[OfficeFact]] = {}
        for f in members:
            named.setdefault(f.fact, []).append(f)
        dispatched = named.get("dispatched", [])
        seconds = [f.seconds for f in dispatched if f.seconds is not None]
        c = {
            "dispatched": len(dispatched),
            "dispatched_on_time": sum(f.on_time is True for f in dispatched),
            "received": len(named.get("received", [])),
            "signed_for": len(named.get("signed_for", [])),
            "sign_for_missed": len(named.get("sign_for_missed", [])),
            "sent_back": len(named.get("sent_back", [])),
            "summoned": len(named.get("summoned", [])),
            "summons_answered_on_time": sum(f.on_time is True for f in named.get("summons_answered", [])),
            "summons_missed": len(named.get("summons_missed", [])),
        }
        result[office_id] = OfficeFigures(
            office_kind=min(f.office_kind for f in members),
            **c,
            average_dispatch_minutes=sum(seconds) / len(seconds) / 60 if seconds else None,
            dispatch_on_time_rate=_rate(c["dispatched_on_time"], c["dispatched"]),
            timely_receipt_rate=_rate(c["signed_for"], c["received"]),
            send_back_rate=_rate(c["sent_back"], c["received"]),
            summons_on_time_rate=_rate(c["summons_answered_on_time"], c["summoned"]),
        )
    return result


def figures_of(
    stints: Sequence[Stint],
    by: FigureGroup | str,
    *,
    tier: Tier | None = None,
    region_id: RegionId | None = None,
    official_id: PersonId | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    office_facts: Sequence[OfficeFact] = (),
) -> list[FigureRow]:
    """The figures of ``stints``, by the definitions of ``store.queries.figures``.

    By office, each row also carries its office's ``OfficeFigures`` from ``office_facts``, and an
    office with facts but no stint kept (a summoned helper) gets a row of its own.
    """
    group = FigureGroup(by)
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
        groups.setdefault(_group_of(s, group), []).append(s)
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
    if group is FigureGroup.OFFICE:
        offices = office_figures_of(office_facts, tier=tier, region_id=region_id, since=since, until=until)
        rows += (
            FigureRow(group=key, **dict.fromkeys(STINT_COUNTS, 0), **dict.fromkeys(RATES))
            for key in offices.keys() - groups.keys()
        )
        rows = [row.model_copy(update={"office": offices.get(row.group or "")}) for row in rows]
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
        findings += _differences(str(key), w, g)
    return findings


def _differences(
    key: str, want: dict[str, object], got: dict[str, object], prefix: str = ""
) -> list[Finding]:
    """Each figure of one group where served (``got``) differs from the events' (``want``); an
    office's own figures (``office``) field by field, as ``office.<figure>``."""
    findings = []
    for name, value in want.items():
        if name == "group":
            continue
        found = got.get(name)
        if isinstance(value, dict) and isinstance(found, dict):
            findings += _differences(key, value, found, prefix=f"{prefix}{name}.")
        elif not _same(value, found):
            if isinstance(found, dict):
                what = "served but no office fact makes them"
            elif isinstance(value, dict):
                what = "made by the office facts but not served"
            else:
                what = "served differs from the events' count"
            findings.append(
                Finding(
                    check=Check.FIGURES,
                    table="figures",
                    row=key,
                    field=f"{prefix}{name}",
                    message=f"group {key}: {prefix}{name} {what}",
                    expected=value,
                    found=found,
                )
            )
    return findings


def _same(want: object, got: object) -> bool:
    """Equal; floats (an average, a rate) within rounding of each other, as SQL's ``avg`` and
    Python's sum may add in another order."""
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-9)
    return want == got


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
    folded = await folded_facts(db)
    recomputed = figures_of(
        folded.stints,
        by,
        tier=tier,
        region_id=region_id,
        official_id=official_id,
        since=since,
        until=until,
        office_facts=folded.office_facts,
    )
    if served is None:
        served = await queries.figures(
            db, by, tier=tier, region_id=region_id, official_id=official_id, since=since, until=until
        )
    return recomputed, folded.problems + compare_figures(recomputed, served)
