"""Every golden history replays against today's workflow code: a change that would break running
petitions fails here, before it lands (see docs/changing-workflows.md).

``tests/histories/*.json`` are recorded by today's code (``record.py``); the folders beneath keep
earlier generations, never re-recorded, for as long as petitions started on that code may still be
open: ``v1/`` was recorded before the ``lean-steps`` patch (ordinary store activities, every search
attribute at every step), ``v2/`` before ``feedback-closing-reminder`` (no reminder before the
feedback window closes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.worker import Replayer

from petitionflow.audit import read_export
from petitionflow.audit.exporting import histories
from petitionflow.converter import data_converter
from tests.histories.scenarios import ADDED_AFTER_V1, ADDED_AFTER_V2, DISPATCH_SCENARIOS, SCENARIOS
from workflows.petition import PetitionWorkflow

HERE = Path(__file__).parent
CURRENT = sorted(HERE.glob("*.json"))
EARLIER = sorted(HERE.glob("v*/*.json"))
GOLDEN = CURRENT + EARLIER


def test_every_scenario_has_a_golden_history() -> None:
    assert sorted(p.stem for p in CURRENT) == sorted(SCENARIOS)


def test_earlier_generations_are_kept() -> None:
    dispatch = set(DISPATCH_SCENARIOS)
    assert sorted(p.stem for p in HERE.glob("v1/*.json")) == sorted(
        set(SCENARIOS) - ADDED_AFTER_V1 - dispatch
    )
    assert sorted(p.stem for p in HERE.glob("v2/*.json")) == sorted(
        set(SCENARIOS) - ADDED_AFTER_V2 - dispatch
    )


@pytest.mark.parametrize("path", GOLDEN, ids=[str(p.relative_to(HERE).with_suffix("")) for p in GOLDEN])
async def test_golden_history_replays_against_todays_code(path: Path) -> None:
    runs = histories(read_export(path))
    replayer = Replayer(workflows=[PetitionWorkflow], data_converter=data_converter())
    for history in runs:
        # Raises NondeterminismError (naming the history event) when the code no longer fits.
        await replayer.replay_workflow(history)
    if path.stem == "continue-as-new":
        assert len(runs) > 1, "the petition should span several runs"
    else:
        assert len(runs) == 1
