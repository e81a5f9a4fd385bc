"""End-to-end: the real stack as a newcomer runs it (`petitionflow dev`), driven only from outside."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from petitionflow.dev.embedded_pg import EmbeddedPostgres
from petitionflow.dev.stack import unused_port

PETITIONFLOW = str(Path(sys.executable).parent / "petitionflow")

STACK_POLICY = """\
[urgent.village]
respond_within = "2s"
resolve_within = "10m"
[urgent.township]
respond_within = "10m"
resolve_within = "10m"
[urgent.county]
respond_within = "10m"
resolve_within = "10m"
[urgent.city]
respond_within = "10m"
resolve_within = "10m"
"""


@dataclass
class DevStack:
    """A `petitionflow dev` process and the environment that points the CLI at it."""

    data_dir: Path
    ports: dict[str, int]
    process: subprocess.Popen[str] | None = None
    output: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PETITIONFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports['temporal']}",
            "PETITIONFLOW_DATABASE_URL": EmbeddedPostgres(
                self.data_dir / "postgres", port=self.ports["postgres"]
            ).url("petitionflow"),
            # The payload key file `dev` generated: found by itself only on the default addresses.
            "PETITIONFLOW_KEY_FILE": str(self.data_dir / "dev-keys.json"),
        }

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    def secret(self, *args: str) -> str:
        """Run a CLI command that prints a new token or key as its last line; return it."""
        done = self.cli(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def policy_file(self, name: str, text: str) -> Path:
        """A policy file (TOML) beside the stack's data, for ``PETITIONFLOW_POLICY_FILE``."""
        path = self.data_dir.parent / f"policy-{name}.toml"
        path.write_text(text)
        return path

    def start(self, *extra: str, env_extra: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PETITIONFLOW_")}
        # The stack's own deployment policy: urgent petitions have 2 s at the village, so the HTTP
        # tests watch an automatic escalation; normal ones keep the defaults.
        env["PETITIONFLOW_POLICY_FILE"] = str(self.policy_file("stack", STACK_POLICY))
        env.update(env_extra or {})
        self.output = self.data_dir.parent / f"dev-{time.monotonic_ns()}.log"
        self.process = subprocess.Popen(
            [
                PETITIONFLOW,
                "dev",
                "--data-dir",
                str(self.data_dir),
                "--temporal-port",
                str(self.ports["temporal"]),
                "--ui-port",
                str(self.ports["ui"]),
                "--postgres-port",
                str(self.ports["postgres"]),
                "--port",
                str(self.ports["api"]),
                *extra,
            ],
            stdout=self.output.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 90
        while "petitionflow is running" not in self.output.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"petitionflow dev did not come up:\n{self.output.read_text()}")
            time.sleep(0.2)

    def stop(self) -> str:
        """Ctrl-C, as a person would; returns what the stack printed."""
        assert self.process is not None and self.output is not None
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        return self.output.read_text()

    def cli(
        self, *args: str, input: str | None = None, policy: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI against the stack; ``policy``: its ``PETITIONFLOW_POLICY_FILE``."""
        env = self.env if policy is None else {**self.env, "PETITIONFLOW_POLICY_FILE": str(policy)}
        return subprocess.run(
            [PETITIONFLOW, *args], env=env, input=input, capture_output=True, text=True, timeout=60
        )

    def cli_json(self, *args: str, input: str | None = None, policy: Path | None = None) -> Any:
        done = self.cli(*args, "--json", input=input, policy=policy)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    ports = {"temporal": unused_port(), "ui": unused_port(), "postgres": unused_port(), "api": unused_port()}
    running = DevStack(tmp_path_factory.mktemp("e2e") / "data", ports)
    running.start("--no-ui")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()
