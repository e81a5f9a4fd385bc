"""The dev stack's own secrets, generated once into its data folder: a payload key file and the
Open311 pseudonym secret. A deployment configures its own (``PETITIONFLOW_KEY_FILE``,
``PETITIONFLOW_PSEUDONYM_SECRET``); these never leave ``.data/``."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from petitionflow.codec import Keyring, new_key
from petitionflow.settings import DEV_KEY_FILE, DEV_PSEUDONYM_FILE


def dev_key_file(data_dir: Path) -> Path:
    """``data_dir``'s key file, created with one AES-256-GCM key the first time."""
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        key = new_key(datetime.now(UTC).strftime("dev-%Y%m%d"))
        Keyring([key], key.id).write(path)
    return path


def dev_pseudonym_secret(data_dir: Path) -> str:
    """``data_dir``'s pseudonym secret, created the first time."""
    path = data_dir / DEV_PSEUDONYM_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
