"""``deploy/compose.yaml`` ships no password (issue 10, item 9): every place that needs one takes
``POSTGRES_PASSWORD`` from the environment, and compose refuses to start without it."""

from __future__ import annotations

import re
from pathlib import Path

COMPOSE = Path(__file__).parents[2] / "deploy" / "compose.yaml"


def test_the_compose_file_takes_the_database_password_from_the_environment() -> None:
    lines = [line.split("#")[0] for line in COMPOSE.read_text().splitlines()]
    settings = {
        m["name"]: m["value"].strip()
        for line in lines
        if (
            m := re.match(
                r"^\s+(?P<name>POSTGRES_PASSWORD|POSTGRES_PWD|PETITIONFLOW_DATABASE_URL):(?P<value>.*)$", line
            )
        )
    }

    assert sorted(settings) == ["PETITIONFLOW_DATABASE_URL", "POSTGRES_PASSWORD", "POSTGRES_PWD"]
    for name, value in settings.items():
        assert "${POSTGRES_PASSWORD:?" in value, f"{name} must come from the environment: {value}"
    assert "petitionflow:petitionflow@" not in COMPOSE.read_text()
