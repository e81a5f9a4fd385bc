"""Leaf-by-leaf differences between two JSON documents, named by dotted paths."""

from __future__ import annotations

from typing import TypeAlias

from petitionflow.audit.models import Json

ABSENT = "(absent)"
"""Stands for a key one side does not have."""

Difference: TypeAlias = tuple[str, Json, Json]
"""(path, expected, found)."""


def differences(expected: Json, found: Json, path: str = "") -> list[Difference]:
    """Every leaf where ``found`` differs from ``expected``; empty when they are equal."""
    if expected == found:
        return []
    if isinstance(expected, dict) and isinstance(found, dict):
        result: list[Difference] = []
        for key in sorted(expected.keys() | found.keys()):
            result += differences(expected.get(key, ABSENT), found.get(key, ABSENT), _join(path, key))
        return result
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        result = []
        for i, (e, f) in enumerate(zip(expected, found, strict=True)):
            result += differences(e, f, _join(path, str(i)))
        return result
    return [(path or "(whole)", expected, found)]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
