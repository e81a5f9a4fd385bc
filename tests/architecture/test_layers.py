"""The layers point down and nothing imports in a cycle: import-linter's contracts in pyproject.toml,
checked on the tree as it is, and shown to fail on a deliberately added upward import or cycle."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "workflows", "store", "activities", "petitionflow", "bench")
DOORS = ("petitionflow.cli", "petitionflow.api", "petitionflow.dev", "petitionflow.audit", "bench")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over ``tree`` (its packages first on the path, so a copy is what is read)."""
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(lint), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "worker.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tree_copy: Path) -> None:
    with (tree_copy / "store" / "_db.py").open("a") as module:
        module.write("\nimport petitionflow.cli  # deliberately upward\n")
    result = _lint_imports(tree_copy)
    assert result.returncode == 1
    assert "store is not allowed to import petitionflow.cli" in result.stdout
    assert "- store._db -> petitionflow.cli" in result.stdout


def test_a_cycle_hidden_in_a_function_is_found(tree_copy: Path) -> None:
    with (tree_copy / "petitionflow" / "api" / "errors.py").open("a") as module:
        module.write("\n\ndef _cycle() -> None:\n    from petitionflow.api import open311  # noqa: F401\n")
    result = _lint_imports(tree_copy)
    assert result.returncode == 1
    assert "No cycles are allowed in petitionflow.api." in result.stdout


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_composition_root_imports_no_door() -> None:
    """import-linter does not take the top-level module ``worker`` as a layer: read its imports."""
    imported = _imported_modules(ROOT / "worker.py")
    reaching_up = sorted(
        name for name in imported if any(name == door or name.startswith(door + ".") for door in DOORS)
    )
    assert reaching_up == []
    assert {"activities.eventlog", "workflows.petition", "petitionflow.converter"} <= imported


def test_only_the_converter_module_names_the_pydantic_converter() -> None:
    naming = sorted(
        str(path.relative_to(ROOT))
        for package in (*PACKAGES, "tests")
        for path in (ROOT / package).rglob("*.py")
        if "pydantic_data_converter" in path.read_text() and path != Path(__file__)
    )
    assert naming == ["petitionflow/converter.py"]
