"""Offices on the unit tests' household path (``_petitions.HOME``): a county centre, the territorial
chain, a county department with its own chain, and offices elsewhere."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import FilePetitionInput
from schemas.common import Actor, Role, Tier
from schemas.directory import OfficeKind
from schemas.offices import About, Intake, OfficeRef, territorial
from schemas.policy import DispatchRules
from tests.unit._petitions import ELSEWHERE, HOME, T0, Petition, filing


def _office(office_id: str, kind: OfficeKind, tier: Tier, region_id: str) -> OfficeRef:
    return OfficeRef(office_id=office_id, kind=kind, tier=tier, region_id=region_id)


CITY_GOV = territorial(Tier.CITY, HOME.city)
COUNTY_GOV = territorial(Tier.COUNTY, HOME.county)
TOWNSHIP = territorial(Tier.TOWNSHIP, HOME.township)
VILLAGE = territorial(Tier.VILLAGE, HOME.village)
CENTRE = _office("centre-yishui", OfficeKind.CENTRE, Tier.COUNTY, HOME.county)
CITY_CENTRE = _office("centre-linyi", OfficeKind.CENTRE, Tier.CITY, HOME.city)
WATER = _office("water-yishui", OfficeKind.DEPARTMENT, Tier.COUNTY, HOME.county)
CITY_WATER = _office("water-linyi", OfficeKind.DEPARTMENT, Tier.CITY, HOME.city)
SUPERVISION = _office("supervision-yishui", OfficeKind.DEPARTMENT, Tier.COUNTY, HOME.county)
ROADS = _office("roads-yishui", OfficeKind.DEPARTMENT, Tier.COUNTY, HOME.county)
FAR_TOWNSHIP = territorial(Tier.TOWNSHIP, ELSEWHERE.township)
FAR_WATER = _office("water-mengyin", OfficeKind.DEPARTMENT, Tier.COUNTY, ELSEWHERE.county)

CHAINS: dict[str, tuple[OfficeRef, ...]] = {
    CENTRE.office_id: (COUNTY_GOV, CITY_GOV),
    CITY_CENTRE.office_id: (CITY_GOV,),
    WATER.office_id: (CITY_WATER, CITY_GOV),
    CITY_WATER.office_id: (CITY_GOV,),
    SUPERVISION.office_id: (COUNTY_GOV, CITY_GOV),
    ROADS.office_id: (SUPERVISION, COUNTY_GOV, CITY_GOV),
    TOWNSHIP.office_id: (COUNTY_GOV, CITY_GOV),
    VILLAGE.office_id: (TOWNSHIP, COUNTY_GOV, CITY_GOV),
    COUNTY_GOV.office_id: (CITY_GOV,),
    CITY_GOV.office_id: (),
    FAR_TOWNSHIP.office_id: (),
    FAR_WATER.office_id: (),
}
"""Each office's supervisors, nearest first, as a directory would give them."""

RULES = DispatchRules()


def staff(office: OfficeRef, name: str | None = None) -> Actor:
    """An official of ``office``; departments and centres name their office, territorial ones need not."""
    return Actor(
        role=Role.OFFICIAL,
        id=name or f"official-{office.office_id}",
        tier=office.tier,
        region_id=office.region_id,
        office_id=None if office.kind is OfficeKind.TERRITORIAL else office.office_id,
    )


def centre_filing(
    *,
    centre: OfficeRef = CENTRE,
    about: About | None = None,
    rules: DispatchRules = RULES,
    petition_id: str = "pet-1",
) -> FilePetitionInput:
    """A petition filed through ``centre`` (a filing service bound to it)."""
    base = filing(petition_id=petition_id, tier=centre.tier)
    recused = about is not None
    intake = Intake(
        office=centre,
        chain=CHAINS[centre.office_id],
        centre=True,
        about=about,
        recused_office=VILLAGE if recused else None,
        recused_person_id=base.contact_cadre_id if recused else None,
        rules=rules,
    )
    return base.model_copy(update={"intake": intake, "about": about})


def at_centre(
    *,
    at: datetime = T0,
    centre: OfficeRef = CENTRE,
    about: About | None = None,
    rules: DispatchRules = RULES,
    petition_id: str = "pet-1",
) -> Petition:
    """A petition filed through ``centre`` at ``at``, driven by hand."""
    return Petition(centre_filing(centre=centre, about=about, rules=rules, petition_id=petition_id), at=at)
