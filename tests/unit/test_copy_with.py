"""``evolve`` stores only fields ``PetitionState`` has: a misspelt change is refused, not kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.common import RegionPath, copy_with
from schemas.events import Acknowledged
from schemas.state import PetitionState
from tests.unit._petitions import T0, filing, hours, official
from workflows import lifecycle

FIELDS = sorted(PetitionState.model_fields)


def _filed() -> PetitionState:
    return lifecycle.fold(lifecycle.decide(None, filing(), T0))


def test_evolve_refuses_a_change_that_names_no_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that misspells a field (``stgae``) fails loudly instead of being stored unseen."""
    real_changes = lifecycle._changes

    def misspelt(state: PetitionState, event: lifecycle.Event) -> dict[str, object]:
        changes = real_changes(state, event)
        changes["stgae"] = changes.pop("stage")
        return changes

    monkeypatch.setattr(lifecycle, "_changes", misspelt)
    state = _filed()
    acknowledged = Acknowledged(at=T0 + hours(1), actor=official(state.tier), tier=state.tier)
    with pytest.raises(ValueError, match=r"^PetitionState has no field stgae$"):
        lifecycle.evolve(state, acknowledged)


@settings(max_examples=200, derandomize=True, database=None)
@given(
    known=st.lists(st.sampled_from(FIELDS), unique=True, max_size=6),
    unknown=st.lists(
        st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
            lambda name: name not in PetitionState.model_fields
        ),
        unique=True,
        max_size=3,
    ),
)
def test_copy_with_takes_known_fields_as_model_copy_does_and_refuses_any_other(
    known: list[str], unknown: list[str]
) -> None:
    state = _filed()
    changes: dict[str, object] = {name: getattr(state, name) for name in known}
    changes |= dict.fromkeys(unknown, "x")
    if unknown:
        with pytest.raises(ValueError) as refused:
            copy_with(state, changes)
        assert str(refused.value) == f"PetitionState has no field {', '.join(sorted(unknown))}"
    else:
        assert copy_with(state, changes) == state.model_copy(update=changes) == state


def test_copy_with_checks_each_class_against_its_own_fields() -> None:
    region = RegionPath(village="v", township="t", county="c", city="x")
    assert copy_with(region, {"village": "v2"}).village == "v2"
    with pytest.raises(ValueError, match=r"^RegionPath has no field stage$"):
        copy_with(region, {"stage": "x"})
