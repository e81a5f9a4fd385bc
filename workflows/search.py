"""Search attributes a Petition workflow keeps current, so operators can list petitions in Temporal."""

from __future__ import annotations

from typing import Any

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

from schemas.commands import FilePetitionInput
from schemas.common import RegionPath
from schemas.state import PetitionState

TIER = SearchAttributeKey.for_keyword("PetitionTier")
STAGE = SearchAttributeKey.for_keyword("PetitionStage")
REGION = SearchAttributeKey.for_keyword_list("PetitionRegion")
"""Every region on the household's path (village, township, county, city ids)."""
OVERDUE = SearchAttributeKey.for_bool("PetitionOverdue")

ALL: tuple[SearchAttributeKey[Any], ...] = (TIER, STAGE, REGION, OVERDUE)
"""Registered on every server. ``STAGE`` is only set by petitions started before the ``lean-steps``
patch: see ``changes``."""


def updates(state: PetitionState) -> list[SearchAttributeUpdate[Any]]:
    """Every search attribute value that describes ``state`` (the code before ``lean-steps``)."""
    region = state.region
    return [
        TIER.value_set(state.tier.value),
        STAGE.value_set(state.stage.value),
        REGION.value_set([region.village, region.township, region.county, region.city]),
        OVERDUE.value_set(state.is_overdue),
    ]


def _path(region: RegionPath) -> list[str]:
    return [region.village, region.township, region.county, region.city]


def at_filing(filing: FilePetitionInput) -> TypedSearchAttributes:
    """The routing attributes a petition starts with, set by the client when it starts the workflow
    (in the start event: no upsert, no extra visibility write). The workflow upserts any it finds
    different from its own state's."""
    tier = filing.tier if filing.intake is None else filing.intake.office.tier
    return TypedSearchAttributes(
        [
            SearchAttributePair(TIER, tier.value),
            SearchAttributePair(REGION, _path(filing.region)),
            SearchAttributePair(OVERDUE, False),
        ]
    )


def changes(
    before: PetitionState | None, after: PetitionState, *, answering: bool = False
) -> list[SearchAttributeUpdate[Any]]:
    """The routing attributes — tier, region, overdue — whose values ``after`` changes (all of them
    when there is no ``before``). ``answering``: the regions now answering for the petition changed
    (``RegionRenamed``, behind the ``directory-changes`` patch): the region attribute lists the filed
    path's ids and theirs.

    The stage is left out: it changes at nearly every step, every upsert is a write to Temporal's
    visibility store and an event in history, and lists by stage come from the read model.
    """
    wanted: list[SearchAttributeUpdate[Any]] = []
    if before is None or before.tier != after.tier:
        wanted.append(TIER.value_set(after.tier.value))
    if answering and after.answering is not None:
        filed = _path(after.region)
        wanted.append(REGION.value_set([*filed, *(r for r in _path(after.answering) if r not in filed)]))
    elif before is None or before.region != after.region:
        wanted.append(REGION.value_set(_path(after.region)))
    if before is None or before.is_overdue != after.is_overdue:
        wanted.append(OVERDUE.value_set(after.is_overdue))
    return wanted
