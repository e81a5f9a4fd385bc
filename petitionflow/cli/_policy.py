"""``petitionflow policy show``: the policy in force (``PETITIONFLOW_POLICY_FILE``, or the defaults)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from petitionflow.cli._support import emit_json, policy_in_force
from petitionflow.policy import to_toml
from petitionflow.settings import Settings

policy_app = typer.Typer(
    help="The deployment's policy: deadlines, reminders, windows, rounds.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the policy new petitions are filed under, as a policy file (exit 2 if the file is bad)."""
    settings = Settings()
    policy = policy_in_force(settings)
    if as_json:
        emit_json(policy)
        return
    source = settings.policy_file or "the built-in defaults (PETITIONFLOW_POLICY_FILE is not set)"
    sys.stdout.write(f"# the policy in force: {source}\n" + to_toml(policy))
