"""The rules under a changing directory: a merged village's successor answers for its petitions, a
reassigned household's new cadre acts as its cadre and the former one no longer does."""

from __future__ import annotations

import pytest

from petitionflow.audit.timeline import summary
from schemas.commands import AcknowledgeInput, DirectoryChangeInput, RateInput, RecordReturnVisitInput
from schemas.common import SYSTEM, Actor, Rating, RefusalCode, RegionPath, Tier
from schemas.events import ContactCadreChanged, DeadlineMissed, RegionRenamed
from tests.unit._petitions import CADRE, CADRE_ID, HOME, PETITIONER, T0, Petition, days, hours, official
from tests.unit.test_lifecycle import resolved_at_village
from workflows.lifecycle import Refused

MERGED = HOME.model_copy(update={"village": "v-dongli-xinhe"})
"""v-dongli merged into its neighbour: the new village, same township."""


def change(**fields: object) -> DirectoryChangeInput:
    return DirectoryChangeInput.model_validate({"actor": SYSTEM, "directory_version": 2, **fields})


def test_a_merger_records_the_successor_and_its_officials_may_act() -> None:
    p = Petition()

    (renamed,) = p.act(change(answering=MERGED), T0 + hours(1))

    assert renamed == RegionRenamed(
        at=T0 + hours(1),
        actor=SYSTEM,
        renamed={"v-dongli": "v-dongli-xinhe"},
        answering=MERGED,
        directory_version=2,
    )
    assert (p.state.region, p.state.answering) == (HOME, MERGED)  # the filed path is kept
    successor = Actor.official("li-xinhe", Tier.VILLAGE, MERGED.village)
    p.act(AcknowledgeInput(actor=successor), T0 + hours(2))
    assert p.state.acknowledged_by == "li-xinhe"


def test_after_a_merger_the_filed_regions_officials_still_may_act_and_others_may_not() -> None:
    p = Petition()
    p.act(change(answering=MERGED), T0 + hours(1))

    with pytest.raises(Refused) as refused:
        p.act(AcknowledgeInput(actor=Actor.official("stranger", Tier.VILLAGE, "v-xiaoli")), T0 + hours(2))
    assert (refused.value.code, refused.value.reason) == (
        RefusalCode.WRONG_REGION,
        "the petition belongs to village v-dongli-xinhe (filed under v-dongli); "
        "stranger serves village v-xiaoli",
    )
    p.act(AcknowledgeInput(actor=official(Tier.VILLAGE)), T0 + hours(3))


def test_a_missed_deadline_after_a_merger_is_charged_to_the_successors_region() -> None:
    p = Petition()
    p.act(change(answering=MERGED), T0 + hours(1))

    missed = [e for e in p.wait_until(T0 + days(1)) if isinstance(e, DeadlineMissed)]

    assert [e.region_id for e in missed] == ["v-dongli-xinhe"]


def test_a_reassigned_cadre_acts_and_the_former_one_may_not() -> None:
    p = Petition()

    (changed,) = p.act(change(contact_cadre_id="cadre-zhao"), T0 + hours(1))

    assert changed == ContactCadreChanged(
        at=T0 + hours(1), actor=SYSTEM, from_cadre_id=CADRE_ID, to_cadre_id="cadre-zhao", directory_version=2
    )
    with pytest.raises(Refused) as refused:
        p.act(AcknowledgeInput(actor=CADRE), T0 + hours(2))
    assert (refused.value.code, refused.value.reason) == (
        RefusalCode.NOT_AN_OFFICIAL,
        "cadre-wang is no longer the household's contact cadre (cadre-zhao is, since the directory changed)",
    )
    p.act(AcknowledgeInput(actor=Actor.contact_cadre("cadre-zhao", HOME.village)), T0 + hours(3))
    assert (p.state.contact_cadre_id, p.state.former_contact_cadres) == ("cadre-zhao", (CADRE_ID,))


def test_the_new_cadre_records_the_return_visit_of_a_closed_petition() -> None:
    p = resolved_at_village()
    p.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + days(3))
    p.act(change(contact_cadre_id="cadre-zhao"), p.state.updated_at + hours(1))
    p.wait_until(p.state.return_visit_due or T0)
    at = p.state.updated_at + hours(1)

    with pytest.raises(Refused):
        p.act(RecordReturnVisitInput(actor=CADRE, held=True), at)
    p.act(RecordReturnVisitInput(actor=Actor.contact_cadre("cadre-zhao", HOME.village), held=True), at)
    assert p.state.finished


def test_what_does_not_differ_records_nothing_and_only_the_system_may_tell() -> None:
    p = Petition()

    assert p.act(change(answering=HOME, contact_cadre_id=CADRE_ID), T0 + hours(1)) == []
    with pytest.raises(Refused) as refused:
        p.act(DirectoryChangeInput(actor=official(Tier.VILLAGE), directory_version=2), T0 + hours(1))
    assert refused.value.code is RefusalCode.NOT_AN_OFFICIAL


def test_a_township_merger_names_every_tier_that_changed() -> None:
    p = Petition()
    moved = RegionPath(village="v-dongli", township="t-new", county=HOME.county, city=HOME.city)

    (renamed,) = p.act(change(answering=moved), T0 + hours(1))

    assert isinstance(renamed, RegionRenamed)
    assert renamed.renamed == {"t-xujiahu": "t-new"}


def test_the_audit_timeline_says_who_was_answerable_from_when() -> None:
    p = Petition()
    events = p.act(change(answering=MERGED, contact_cadre_id="cadre-zhao"), T0 + hours(1))

    assert [summary(e) for e in events] == [
        "regions renamed (directory version 2): v-dongli → v-dongli-xinhe",
        "contact cadre cadre-wang → cadre-zhao (directory version 2)",
    ]
