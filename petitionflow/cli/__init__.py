"""The ``petitionflow`` command line, one door: each ``_module`` registers its commands on one app.

``_engine`` runs the engine (dev, worker, api, migrate, rebuild), ``_petitions`` files and acts,
``_access`` issues keys and tokens, ``_conflicts`` shows and settles event-log conflicts, ``_audit``
is ``petitionflow audit``, ``_directory`` the county's directory, ``_notify`` the dispatcher and
``notifications list | retry``, ``_crypto`` the payload key file (``petitionflow encryption``);
``_support`` holds what they share (connections, output, exit codes).
"""

from __future__ import annotations

import os
import sys

import typer

from petitionflow.cli import (
    _access,
    _audit,
    _changes,
    _conflicts,
    _crypto,
    _directory,
    _engine,
    _notify,
    _petitions,
    _policy,
)
from petitionflow.cli._support import EXIT_BAD_INPUT, EXIT_REFUSED

app = typer.Typer(help="petitionflow: every petition carried from filing to an answer.", no_args_is_help=True)
_engine.register(app)
_petitions.register(app)
_access.register(app)
_conflicts.register(app)
_directory.register(app)
_policy.register(app)
_changes.register(app, _directory.directory)
_notify.register(app)
_crypto.register(app)
app.add_typer(_audit.audit_app, name="audit")

__all__ = ["EXIT_BAD_INPUT", "EXIT_REFUSED", "app", "main"]


def main() -> None:
    """The console script: run the command, then leave without interpreter finalisation."""
    try:
        app()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    # Every command has closed its pools and servers by now. The Temporal client's native threads
    # can abort CPython's finalisation of a short-lived process (temporalio/sdk-python#300), which
    # would turn a finished command into a crash: skip finalisation.
    os._exit(code)
