"""The county's directory as contracts: regions, offices, people, households (``store/directory`` keeps
them in PostgreSQL, ``petitionflow/directory`` imports and serves them)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from schemas.common import Contract, PersonId, RegionId, Tier

OfficeId = RegionId
HouseholdId = PersonId


class OfficeKind(StrEnum):
    TERRITORIAL = "territorial"
    """The government of a region: the village committee, the township government, …"""
    DEPARTMENT = "department"
    """A functional department of a county or a city (水利局, the water bureau)."""
    CENTRE = "centre"
    """A county's or city's intake centre (the 12345 / 96333 hotline)."""


class PersonRole(StrEnum):
    CADRE = "cadre"
    OFFICIAL = "official"


class Region(Contract):
    region_id: RegionId
    tier: Tier
    parent_id: RegionId | None
    name_zh: str
    name_en: str
    boundary: dict[str, Any] | None = None
    """A GeoJSON Polygon or MultiPolygon geometry in WGS-84 (villages only)."""


class Office(Contract):
    office_id: OfficeId
    kind: OfficeKind
    tier: Tier
    region_id: RegionId
    name_zh: str
    name_en: str
    supervisor_id: OfficeId | None = None
    phone: str | None = None
    email: str | None = None
    webhook: str | None = None


class Person(Contract):
    person_id: PersonId
    name: str
    role: PersonRole
    office_id: OfficeId
    phone: str | None = None
    email: str | None = None
    webhook: str | None = None


class Household(Contract):
    household_id: HouseholdId
    village_id: RegionId
    cadre_id: PersonId | None = None
    phone: str | None = None


class Successor(Contract):
    old_id: RegionId
    new_id: RegionId
