"""Every golden history replays against today's workflow code: a change that would break running
petitions fails here, before it lands (see docs/changing-workflows.md).

``tests/histories/*.json`` are recorded by today's code (``record.py``); the folders beneath keep
earlier generations, never re-recorded, for as long as petitions started on that code may still be
open: ``v1/`` was recorded before the ``lean-steps`` patch (ordinary store activities, every search
attribute at every step), ``v2/`` before ``feedback-closing-reminder`` (no reminder before the
feedback window closes). ``encrypted/`` holds histories recorded with the payload codec on
(``record.py --encrypted``), replayed with the TEST-ONLY key file beside them; the plain ones above
keep replaying with the codec on too, as petitions started before encryption do."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.worker import Replayer

from petitionflow.audit import read_export, verify_export
from petitionflow.audit.exporting import histories
from petitionflow.converter import data_converter
from tests.histories.record import ENCRYPTED, SM4_SUFFIX, golden_keyring
from tests.histories.scenarios import ADDED_AFTER_V1, ADDED_AFTER_V2, DISPATCH_SCENARIOS, SCENARIOS
from workflows.petition import PetitionWorkflow

HERE = Path(__file__).parent
CURRENT = sorted(HERE.glob("*.json"))
EARLIER = sorted(HERE.glob("v*/*.json"))
GOLDEN = CURRENT + EARLIER
SEALED = sorted(ENCRYPTED.glob("*.json"))
SEALED.remove(ENCRYPTED / "TEST-ONLY-keys.json")


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


def test_encrypted_recordings_are_kept() -> None:
    expected = {
        "continue-as-new",
        "escalation-to-city",
        "happy-path",
        "info-pause",
        f"happy-path{SM4_SUFFIX}",
    }
    assert expected <= {p.stem for p in SEALED}


@pytest.mark.parametrize("path", SEALED, ids=[p.stem for p in SEALED])
async def test_encrypted_golden_history_replays_with_the_test_keyring(path: Path) -> None:
    exported = read_export(path)
    assert exported.key_ids == (["golden-sm4"] if path.stem.endswith(SM4_SUFFIX) else ["golden-aes"])
    converter = data_converter(golden_keyring())
    replayer = Replayer(workflows=[PetitionWorkflow], data_converter=converter)
    for history in histories(exported):
        await replayer.replay_workflow(history)
    report = await verify_export(exported, converter=converter)
    assert (report.ok, report.findings) == (True, [])


async def test_an_encrypted_history_does_not_replay_without_its_key() -> None:
    [history] = histories(read_export(ENCRYPTED / "happy-path.json"))
    replayer = Replayer(workflows=[PetitionWorkflow], data_converter=data_converter())
    with pytest.raises(RuntimeError, match="Workflow activation completion failed"):
        await replayer.replay_workflow(history)
    only_sm4 = golden_keyring("golden-sm4")
    del only_sm4.keys["golden-aes"]
    # The replayer reports the codec's error by its type (its message is in the encrypted failure).
    with pytest.raises(RuntimeError, match=r'r#type: "DecryptionError"'):
        await Replayer(workflows=[PetitionWorkflow], data_converter=data_converter(only_sm4)).replay_workflow(
            history
        )


@pytest.mark.parametrize("path", GOLDEN, ids=[str(p.relative_to(HERE).with_suffix("")) for p in GOLDEN])
async def test_plain_golden_history_replays_with_the_codec_on(path: Path) -> None:
    replayer = Replayer(workflows=[PetitionWorkflow], data_converter=data_converter(golden_keyring()))
    for history in histories(read_export(path)):
        await replayer.replay_workflow(history)
