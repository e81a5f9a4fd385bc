"""``GET /v1/directory/coverage``: the 双覆盖 figures of the current directory, in public.

Public because it names no person and no household: counts by region only (households, households
without a contact cadre, cadres, cadres without households, households per cadre).
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from petitionflow.api.deps import AppServices
from petitionflow.api.errors import ApiError, ErrorBody
from schemas.common import RegionId, Tier
from store import directory as store
from store import lookup

router = APIRouter(prefix="/v1/directory", tags=["public"])


class CoverageBy(StrEnum):
    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"


class RegionCoverage(BaseModel):
    model_config = ConfigDict(frozen=True)

    region_id: RegionId
    name_zh: str
    name_en: str
    households: int
    without_cadre: int
    """Households with no contact cadre."""
    cadres: int
    """Cadres of the offices in the region (its own and those below it)."""
    cadres_without_households: int
    households_per_cadre: float | None
    """Households that have a contact cadre, per cadre of the region; null without cadres."""


class CoverageReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int
    """The directory version the figures come from."""
    by: CoverageBy
    regions: list[RegionCoverage]


@router.get(
    "/coverage",
    response_model=CoverageReport,
    summary="Households per cadre, households without a cadre, cadres without households, by region",
    responses={
        404: {"model": ErrorBody, "description": "Nothing has been imported into the directory."},
        422: {"model": ErrorBody, "description": "`by` is not village, township or county."},
    },
)
async def coverage(request: Request, app: AppServices, by: CoverageBy = CoverageBy.COUNTY) -> CoverageReport:
    current = await lookup.current_version(app.pool)
    if current is None:
        raise ApiError(404, "no_directory", "the directory is empty: nothing has been imported")
    computed: dict[tuple[int, CoverageBy], CoverageReport] | None = getattr(
        request.app.state, "directory_coverage", None
    )
    if computed is None:
        computed = request.app.state.directory_coverage = {}
    key = (current, by)
    if key not in computed:
        # A version never changes once imported: its figures are computed once per process (at
        # Ganzhou's scale they read 2.38 million households, too much for every public request).
        version, rows = await store.coverage(app.pool, Tier(by.value), version=current)
        computed[key] = _report(version, by, rows)
        while len(computed) > _KEEP:
            del computed[next(iter(computed))]
    return computed[key]


_KEEP = 12
"""Reports kept per app: a few versions × the three groupings."""


def _report(version: int, by: CoverageBy, rows: list[store.Coverage]) -> CoverageReport:
    return CoverageReport(
        version=version,
        by=by,
        regions=[
            RegionCoverage(
                region_id=r.region_id,
                name_zh=r.name_zh,
                name_en=r.name_en,
                households=r.households,
                without_cadre=r.without_cadre,
                cadres=r.cadres,
                cadres_without_households=r.cadres_without_households,
                households_per_cadre=r.households_per_cadre,
            )
            for r in rows
        ],
    )
