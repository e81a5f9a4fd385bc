"""The deployment's policy: ``PETITIONFLOW_POLICY_FILE`` (TOML) read and checked once, at start.

The file sets what a county decides for itself: the deadlines of each tier (normal and urgent), the
reminder points, the windows and the rounds (``schemas.policy.Policy``). Anything it leaves out keeps
the built-in default, so a file may set one tier's deadlines and nothing else::

    reminder_points = [0.5, 0.75]
    feedback_window = "7d"
    reopen_rounds = 1

    [normal.village]
    respond_within = "1d"
    resolve_within = "7d"

    [urgent.village]
    respond_within = "2h"
    resolve_within = "1d"

Durations are ``"90s"``, ``"30m"``, ``"2h"``, ``"7d"``, ``"2w"`` or a sum of them (``"1d12h"``),
an ISO 8601 duration (``"P1DT12H"``) or a number of seconds. A file that does not parse, names a key
``Policy`` does not have, or breaks a rule (a respond deadline after the resolve deadline, reminder
points not increasing) is a ``PolicyFileError`` naming the key and the reason: every process that
files petitions stops on it at start, with exit code 2.

Filing doors fill the policy in from here; no filing body carries one. A running petition keeps the
policy it was filed under (it travels in its ``PetitionFiled``), so changing the file changes only
petitions filed after the restart.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from schemas.common import Tier
from schemas.policy import Policy, TierDeadlines

ENV_VAR = "PETITIONFLOW_POLICY_FILE"

_DURATION_KEYS = (
    "overdue_reminder_every",
    "feedback_window",
    "return_visit_after",
    "return_visit_window",
    "info_wait_limit",
)
_TABLES = ("normal", "urgent")
_KEYS = frozenset((*_DURATION_KEYS, *_TABLES, "reminder_points", "reopen_rounds"))
_TIER_KEYS = frozenset(TierDeadlines.model_fields)

_UNIT = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SHORT = re.compile(r"^(?:\d+(?:\.\d+)?[wdhms])+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_TIMEDELTA: TypeAdapter[timedelta] = TypeAdapter(timedelta)


class PolicyFileError(ValueError):
    """The policy file cannot be used: ``key`` is where (``normal.village.respond_within``), or
    ``None`` for the file as a whole."""

    def __init__(self, path: Path, key: str | None, reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{ENV_VAR} {where}: {reason}")


def duration(value: object) -> timedelta:
    """A duration as the policy file writes it.

    Raises:
        ValueError: not a duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, str):
        text = value.strip().replace(" ", "").lower()
        if _SHORT.match(text):
            return timedelta(seconds=sum(float(n) * _UNIT[u] for n, u in _PART.findall(text)))
    try:
        return _TIMEDELTA.validate_python(value)
    except ValidationError:
        raise ValueError(
            f'{value!r} is not a duration: write e.g. "90s", "30m", "2h", "7d", "1d12h" '
            'or an ISO 8601 duration like "P1DT12H"'
        ) from None


def parse(path: Path, text: str) -> Policy:
    """The policy ``text`` (TOML) sets, over the defaults.

    Raises:
        PolicyFileError: naming the key and the reason.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyFileError(path, None, f"not TOML: {error}") from None
    return _policy(path, data)


def load(path: Path) -> Policy:
    """The policy of the file at ``path``.

    Raises:
        PolicyFileError: the file cannot be read, or ``parse`` refuses it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyFileError(path, None, f"cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise PolicyFileError(path, None, "is not UTF-8 text") from None
    return parse(path, text)


def deployment_policy(path: Path | None) -> Policy:
    """The policy in force: the file's (``Settings.policy_file``), or the defaults when unset."""
    return Policy() if path is None else load(path)


def _policy(path: Path, data: dict[str, Any]) -> Policy:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        known = ", ".join(sorted(_KEYS))
        raise PolicyFileError(path, unknown[0], f"is not a policy key; the keys are {known}")
    defaults = Policy()
    values: dict[str, Any] = {}
    for key in _DURATION_KEYS:
        if key in data:
            values[key] = _duration(path, key, data[key])
    if "reminder_points" in data:
        points = data["reminder_points"]
        if not isinstance(points, list) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) for p in points
        ):
            raise PolicyFileError(path, "reminder_points", "must be a list of fractions, like [0.5, 0.75]")
        if any(not 0 < p < 1 for p in points):
            raise PolicyFileError(path, "reminder_points", "every point must lie between 0 and 1 (exclusive)")
        if points != sorted(set(points)):
            raise PolicyFileError(path, "reminder_points", "must be strictly increasing")
        values["reminder_points"] = tuple(float(p) for p in points)
    if "reopen_rounds" in data:
        rounds = data["reopen_rounds"]
        if not isinstance(rounds, int) or isinstance(rounds, bool) or not 0 <= rounds <= 10:
            raise PolicyFileError(path, "reopen_rounds", "must be a whole number from 0 to 10")
        values["reopen_rounds"] = rounds
    for table in _TABLES:
        if table in data:
            values[table] = _tiers(path, table, data[table], getattr(defaults, table))
    try:
        return Policy(**values)
    except ValidationError as error:  # pragma: no cover - each rule is checked above, key by key
        problem = error.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise PolicyFileError(path, where or None, problem["msg"]) from None


def _duration(path: Path, key: str, value: object) -> timedelta:
    try:
        found = duration(value)
    except ValueError as error:
        raise PolicyFileError(path, key, str(error)) from None
    if found <= timedelta(0):
        raise PolicyFileError(path, key, "must be longer than zero")
    return found


def _tiers(path: Path, table: str, given: object, defaults: dict[Tier, TierDeadlines]) -> dict[Tier, Any]:
    if not isinstance(given, dict):
        raise PolicyFileError(path, table, "must be a table of tiers: [normal.village] …")
    tiers = {t.value: t for t in Tier}
    unknown = sorted(set(given) - set(tiers))
    if unknown:
        raise PolicyFileError(path, f"{table}.{unknown[0]}", f"is not a tier; use {', '.join(tiers)}")
    merged = dict(defaults)
    for name, deadlines in given.items():
        where = f"{table}.{name}"
        if not isinstance(deadlines, dict):
            raise PolicyFileError(path, where, "must be a table with respond_within and resolve_within")
        bad = sorted(set(deadlines) - _TIER_KEYS)
        if bad:
            raise PolicyFileError(
                path, f"{where}.{bad[0]}", "is not a deadline; use respond_within and resolve_within"
            )
        current = merged[tiers[name]]
        respond = current.respond_within
        resolve = current.resolve_within
        if "respond_within" in deadlines:
            respond = _duration(path, f"{where}.respond_within", deadlines["respond_within"])
        if "resolve_within" in deadlines:
            resolve = _duration(path, f"{where}.resolve_within", deadlines["resolve_within"])
        if respond > resolve:
            key = f"{where}.respond_within" if "respond_within" in deadlines else f"{where}.resolve_within"
            raise PolicyFileError(
                path,
                key,
                f"the respond deadline ({respond}) must not come after the resolve deadline ({resolve})",
            )
        merged[tiers[name]] = TierDeadlines(respond_within=respond, resolve_within=resolve)
    return merged


def to_toml(policy: Policy) -> str:
    """``policy`` written as a policy file (what ``petitionflow policy show`` prints)."""
    lines = [f"reminder_points = [{', '.join(_number(p) for p in policy.reminder_points)}]"]
    lines += [f'{key} = "{_short(getattr(policy, key))}"' for key in _DURATION_KEYS]
    lines.append(f"reopen_rounds = {policy.reopen_rounds}")
    for table in _TABLES:
        for tier, deadlines in getattr(policy, table).items():
            lines += [
                "",
                f"[{table}.{tier.value}]",
                f'respond_within = "{_short(deadlines.respond_within)}"',
                f'resolve_within = "{_short(deadlines.resolve_within)}"',
            ]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return repr(float(value))


def _short(value: timedelta) -> str:
    seconds = value.total_seconds()
    parts = []
    for unit in ("d", "h", "m"):
        count, seconds = divmod(seconds, _UNIT[unit])
        if count:
            parts.append(f"{int(count)}{unit}")
    if seconds or not parts:
        parts.append(f"{seconds:g}s")
    return "".join(parts)
