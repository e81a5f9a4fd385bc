"""Offices as the rules see them: who holds a petition, who may take it next, who is recused.

The decider never reads the directory. A door resolves from it what the rules need (the office a
petition goes to, that office's chain of supervisors, nearest first) and passes it in the command, so
the rules stay pure and a replay sees the same offices the first run saw.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from schemas.common import Contract, RegionId, RegionPath, Tier
from schemas.directory import OfficeId, OfficeKind
from schemas.policy import DispatchRules


class OfficeRef(Contract):
    """An office: its id, its kind, and the tier and region it serves."""

    office_id: OfficeId
    kind: OfficeKind
    tier: Tier
    region_id: RegionId
    name: Annotated[str, Field(max_length=200)] | None = None
    """For people: the office's name as the directory gives it."""

    def __str__(self) -> str:
        return self.office_id


def territorial_office_id(tier: Tier, region_id: RegionId) -> OfficeId:
    """The id of a region's own government when no directory names it: ``<tier>:<region_id>``
    (the address the notifications outbox already uses for a tier's office)."""
    return f"{tier.value}:{region_id}"


def territorial(tier: Tier, region_id: RegionId) -> OfficeRef:
    """The territorial office of ``region_id`` at ``tier``, by the default id."""
    return OfficeRef(
        office_id=territorial_office_id(tier, region_id),
        kind=OfficeKind.TERRITORIAL,
        tier=tier,
        region_id=region_id,
    )


Chain = Annotated[tuple[OfficeRef, ...], Field(max_length=12)]
"""An office's supervisors, nearest first: where each escalation goes next."""


def territorial_chain(tier: Tier, region: RegionPath) -> tuple[OfficeRef, ...]:
    """The territorial offices above ``tier`` on ``region``'s path, nearest first: the chain of a
    territorial office when no directory is loaded."""
    chain: list[OfficeRef] = []
    above = tier.above
    while above is not None:
        chain.append(territorial(above, region.at(above)))
        above = above.above
    return tuple(chain)


class About(StrEnum):
    """What a complaint is about, when it is about the people who would handle it (recusal)."""

    CONTACT_CADRE = "contact_cadre"
    OFFICE = "office"


class Intake(Contract):
    """Where a new petition starts, as the filing door resolved it from the directory.

    A petition filed through a centre starts in stage ``dispatch``, held by the centre; a petition
    about its contact cadre or village office starts one level up, with them recused.
    """

    office: OfficeRef
    """The office that holds the petition first: the centre, or the office one level up."""
    chain: Chain = ()
    """``office``'s supervisors, nearest first."""
    centre: bool = False
    """``office`` is a centre: the petition waits to be dispatched."""
    about: About | None = None
    recused_office: OfficeRef | None = None
    """The office skipped because the complaint is about it (or about its cadre)."""
    recused_person_id: str | None = None
    """The cadre the complaint is about: never an actor, a reader or a recipient of this petition."""
    rules: DispatchRules = Field(default_factory=DispatchRules)


class Summons(Contract):
    """One office summoned to help (协办): answered with its part, or missed."""

    office: OfficeRef
    summoned_at: datetime
    answer_by: datetime
    answered_at: datetime | None = None
    missed: bool = False

    @property
    def pending(self) -> bool:
        """Not answered, and its limit not yet recorded as missed: its timer is still to come."""
        return self.answered_at is None and not self.missed
