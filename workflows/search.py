"""Search attributes a Petition workflow keeps current, so operators can list petitions in Temporal."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from schemas.state import PetitionState

TIER = SearchAttributeKey.for_keyword("PetitionTier")
STAGE = SearchAttributeKey.for_keyword("PetitionStage")
REGION = SearchAttributeKey.for_keyword_list("PetitionRegion")
"""Every region on the household's path (village, township, county, city ids)."""
OVERDUE = SearchAttributeKey.for_bool("PetitionOverdue")

ALL: tuple[SearchAttributeKey[Any], ...] = (TIER, STAGE, REGION, OVERDUE)


def updates(state: PetitionState) -> list[SearchAttributeUpdate[Any]]:
    """The search attribute values that describe ``state``."""
    region = state.region
    return [
        TIER.value_set(state.tier.value),
        STAGE.value_set(state.stage.value),
        REGION.value_set([region.village, region.township, region.county, region.city]),
        OVERDUE.value_set(state.is_overdue),
    ]
