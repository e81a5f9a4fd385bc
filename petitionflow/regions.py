"""The region directory: where a household sits in the grid, looked up by its village.

Doors that cannot carry a full ``RegionPath`` (Open311's single ``address_id``) name a village, and
the directory gives its path village → township → county → city and the village's duty contact
cadre (who is told of petitions from households the caller did not tie to a cadre of their own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, TypeAdapter

from schemas.common import PersonId, RegionId, RegionPath, Tier
from schemas.directory import Region


class Village(BaseModel):
    """A village of the grid: its full path and the contact cadre on duty for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: RegionPath
    contact_cadre_id: PersonId


_VILLAGES = TypeAdapter(list[Village])


class RegionDirectory:
    """Villages by id. Build it from data (``from_file``) or use ``SAMPLE`` for development."""

    def __init__(self, villages: list[Village]) -> None:
        self._villages = {v.path.village: v for v in villages}
        if len(self._villages) != len(villages):
            raise ValueError("two villages share an id")

    @classmethod
    def from_file(cls, path: Path) -> RegionDirectory:
        """Read a JSON list of ``{"path": {village, township, county, city}, "contact_cadre_id"}``."""
        return cls(_VILLAGES.validate_json(path.read_bytes()))

    @classmethod
    def from_grid(cls, regions: Iterable[Region], duty: Mapping[RegionId, PersonId]) -> RegionDirectory:
        """The villages of a directory version (``store.directory.Grid``) that have a duty cadre,
        each with its path up to the city."""
        by_id = {r.region_id: r for r in regions}
        villages = []
        for region in by_id.values():
            cadre = duty.get(region.region_id)
            if region.tier is not Tier.VILLAGE or cadre is None:
                continue
            path = {Tier.VILLAGE.value: region.region_id}
            at = region
            while at.parent_id is not None and at.parent_id in by_id:
                at = by_id[at.parent_id]
                path[at.tier.value] = at.region_id
            villages.append(Village(path=RegionPath.model_validate(path), contact_cadre_id=cadre))
        return cls(villages)

    def village(self, village_id: RegionId) -> Village | None:
        return self._villages.get(village_id)

    def resolve(self, address_id: str) -> Village | None:
        """The village an ``address_id`` names: a village id (``v-dongshan``), or a full path from
        village to city separated by ``/`` (``v-dongshan/t-xiazhuang/c-yishui/x-linyi``) that must
        match the directory."""
        parts = address_id.split("/")
        if len(parts) == 1:
            return self.village(address_id)
        if len(parts) != 4:
            return None
        village = self.village(parts[0])
        if village is None or [village.path.at(t) for t in Tier] != parts:
            return None
        return village

    def __len__(self) -> int:
        return len(self._villages)


SAMPLE = RegionDirectory(
    [
        Village(
            path=RegionPath(village="v-dongshan", township="t-xiazhuang", county="c-yishui", city="x-linyi"),
            contact_cadre_id="cadre-zhang",
        ),
        Village(
            path=RegionPath(village="v-xishan", township="t-xiazhuang", county="c-yishui", city="x-linyi"),
            contact_cadre_id="cadre-li",
        ),
        Village(
            path=RegionPath(village="v-nanhu", township="t-shangzhuang", county="c-mengyin", city="x-linyi"),
            contact_cadre_id="cadre-wang",
        ),
    ]
)
"""A few villages of Linyi city (Yishui and Mengyin counties) for the dev stack and the tests."""
