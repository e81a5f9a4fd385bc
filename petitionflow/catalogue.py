"""The catalogue of petition categories, published to Open311 clients as GeoReport v2 services."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.common import Category, Urgency
from schemas.offices import About

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttributeValue(_Frozen):
    key: str
    name: str


class ServiceAttribute(_Frozen):
    """One extra form field of a service (GeoReport v2 service definition ``attribute``)."""

    code: str
    description: str
    datatype: Datatype
    required: bool
    order: int
    variable: bool = True
    datatype_description: str | None = None
    values: tuple[AttributeValue, ...] = ()


class Service(_Frozen):
    """A petition category: its ``code`` is both the Open311 ``service_code`` and the petition's
    ``category``."""

    code: Category
    name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    attributes: tuple[ServiceAttribute, ...] = ()

    @property
    def metadata(self) -> bool:
        """Whether a client must read the service definition for extra fields (GeoReport ``metadata``)."""
        return bool(self.attributes)


URGENCY = ServiceAttribute(
    code="urgency",
    description="How urgent is it? Urgent petitions run on the shorter deadlines of every tier.",
    datatype="singlevaluelist",
    required=False,
    order=1,
    datatype_description="normal (default) or urgent",
    values=(
        AttributeValue(key=Urgency.NORMAL.value, name="Normal"),
        AttributeValue(key=Urgency.URGENT.value, name="Urgent: a danger to people, or a livelihood lost"),
    ),
)

CRS = ServiceAttribute(
    code="crs",
    description=(
        "The coordinate system of lat/long: maps in China give GCJ-02 (Amap, Tencent, WeChat), "
        "Baidu's BD-09, GPS and OpenStreetMap WGS-84. Unset, the deployment's setting "
        "(PETITIONFLOW_OPEN311_CRS) applies."
    ),
    datatype="singlevaluelist",
    required=False,
    order=2,
    datatype_description="wgs84, gcj02 or bd09",
    values=(
        AttributeValue(key="wgs84", name="WGS-84 (GPS, OpenStreetMap)"),
        AttributeValue(key="gcj02", name="GCJ-02 (Amap/Gaode, Tencent, WeChat)"),
        AttributeValue(key="bd09", name="BD-09 (Baidu)"),
    ),
)
"""Not a property of the petition but of its location: every service takes it
(``petitionflow.directory.locate.Crs`` names the same systems)."""

ABOUT = ServiceAttribute(
    code="about",
    description=(
        "投诉的是本户的联系干部或本村（居）委会吗？是则他们回避，不得知悉，由上一级办理。"
        " Is the complaint about the household's contact cadre or its village office? Then they are"
        " recused: they are not told, cannot read or act on it, and it is handled one level up."
    ),
    datatype="singlevaluelist",
    required=False,
    order=3,
    datatype_description="contact_cadre or office; leave it out for any other petition",
    values=(
        AttributeValue(key=About.CONTACT_CADRE.value, name="本户的联系干部 / The household's contact cadre"),
        AttributeValue(key=About.OFFICE.value, name="本村（居）委会 / The village office"),
    ),
)
"""Recusal (issue 12): the same as ``about`` of a ``/v1`` filing."""

SERVICES: tuple[Service, ...] = (
    Service(
        code="roads",
        name="Roads and bridges",
        description="A village road, bridge or culvert that is broken, flooded or unsafe.",
        group="infrastructure",
        keywords=("road", "bridge", "pothole", "culvert"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
    Service(
        code="water",
        name="Drinking water and irrigation",
        description="No drinking water, a broken well or pipe, irrigation channels that do not deliver.",
        group="infrastructure",
        keywords=("water", "well", "pipe", "irrigation"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
    Service(
        code="subsidies",
        name="Subsidies and benefits",
        description="A subsidy, pension or relief payment wrongly denied, late or short.",
        group="livelihood",
        keywords=("subsidy", "pension", "relief", "benefit", "minimum living allowance"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
    Service(
        code="land",
        name="Land and housing",
        description="Land contracts, homestead plots, requisition and compensation, unsafe housing.",
        group="livelihood",
        keywords=("land", "contract", "homestead", "housing", "compensation"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
    Service(
        code="health",
        name="Health and clinics",
        description="Village clinics, medical insurance, public health hazards.",
        group="public services",
        keywords=("clinic", "doctor", "insurance", "hygiene"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
    Service(
        code="education",
        name="Schools",
        description="Schooling, school transport and school buildings.",
        group="public services",
        keywords=("school", "teacher", "school bus"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
    Service(
        code="disputes",
        name="Disputes",
        description="Disputes between neighbours, families or with an enterprise, for mediation.",
        group="order",
        keywords=("dispute", "mediation", "neighbour", "conflict"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
    Service(
        code="other",
        name="Other demands",
        description="Anything else a household needs an answer to.",
        group="other",
        keywords=("other", "suggestion"),
        attributes=(URGENCY, CRS, ABOUT),
    ),
)


class Catalogue:
    """The services on offer, by code, in a stable order."""

    def __init__(self, services: tuple[Service, ...] = SERVICES) -> None:
        codes = [s.code for s in services]
        if len(set(codes)) != len(codes):
            raise ValueError(f"two services share a code: {codes}")
        self._services = {s.code: s for s in services}

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self._services.values())

    def get(self, code: str) -> Service | None:
        return self._services.get(code)
