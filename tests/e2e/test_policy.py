"""The deployment's policy file as a process meets it: checked at start, shown by `policy show`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import PETITIONFLOW

BAD = '[normal.village]\nrespond_within = "3d"\nresolve_within = "1d"\n'


def _run(*args: str, policy: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETITIONFLOW_")}
    if policy is not None:
        env["PETITIONFLOW_POLICY_FILE"] = str(policy)
    # Addresses that nothing listens on: a process that got past its policy check would fail later.
    env["PETITIONFLOW_TEMPORAL_ADDRESS"] = "127.0.0.1:9"
    env["PETITIONFLOW_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:9/nowhere"
    return subprocess.run([PETITIONFLOW, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "command",
    [("worker",), ("api",), ("dev", "--no-ui"), ("policy", "show"), ("file", "--from", "-")],
)
def test_a_bad_policy_file_stops_the_process_naming_the_key(tmp_path: Path, command: tuple[str, ...]) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(BAD)

    done = (
        _run(*command, "--data-dir", str(tmp_path / "data"), policy=policy)
        if command[0] == "dev"
        else (_run(*command, policy=policy))
    )

    message = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stderr
    assert (
        f"PETITIONFLOW_POLICY_FILE {policy}: normal.village.respond_within: the respond deadline" in message
    )
    assert not (tmp_path / "data").exists()  # dev stopped before starting anything


def test_policy_show_prints_the_file_in_force_or_the_defaults(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('feedback_window = "3d"\n[urgent.village]\nrespond_within = "30m"\n')

    shown = _run("policy", "show", policy=policy)
    defaults = _run("policy", "show", policy=None)

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"# the policy in force: {policy}"
    assert 'feedback_window = "3d"' in shown.stdout
    assert '[urgent.village]\nrespond_within = "30m"\nresolve_within = "1d"' in shown.stdout
    assert "the built-in defaults" in defaults.stdout.splitlines()[0]
    assert 'feedback_window = "7d"' in defaults.stdout
