"""``petitionflow encryption``: make and rotate the key file that encrypts payloads in Temporal.

The key file (``petitionflow.codec``) is a secret: keep it out of the repository, readable by the
engine's user only, and give it to the workers, the API and the auditors as
``PETITIONFLOW_KEY_FILE`` (or its text as ``PETITIONFLOW_KEYS``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from petitionflow.cli._support import emit_json, fail, out
from petitionflow.codec import CIPHERS, DEFAULT_CIPHER, Keyring, KeyringError, new_key

encryption = typer.Typer(
    help="The key file that encrypts payloads in Temporal (PETITIONFLOW_KEY_FILE).", no_args_is_help=True
)

_CIPHER_HELP = f"The cipher of the new key: {', '.join(CIPHERS)}."


def register(app: typer.Typer) -> None:
    app.add_typer(encryption, name="encryption")


def _key_id(key_id: str | None) -> str:
    return key_id or datetime.now(UTC).strftime("k-%Y%m%d-%H%M%S")


def _cipher(cipher: str) -> str:
    if cipher not in CIPHERS:
        fail(f"--cipher: unknown cipher {cipher!r}; use one of {', '.join(CIPHERS)}")
    return cipher


def _load(path: Path) -> Keyring:
    try:
        return Keyring.load(path)
    except KeyringError as error:
        fail(str(error))


@encryption.command("generate")
def generate(
    path: Annotated[Path, typer.Argument(help="The key file to create (refused if it exists).")],
    cipher: Annotated[str, typer.Option(help=_CIPHER_HELP)] = DEFAULT_CIPHER,
    key_id: Annotated[str | None, typer.Option("--id", help="The key's id (default: k-<UTC time>).")] = None,
) -> None:
    """Create a key file holding one new random key, its primary."""
    if path.exists():
        fail(f"{path} exists: use `petitionflow encryption rotate {path}` to add a key to it")
    key = new_key(_key_id(key_id), _cipher(cipher))
    Keyring([key], key.id).write(path)
    out.print(f"wrote {path}: primary key {key.id} ({key.cipher}); set PETITIONFLOW_KEY_FILE={path}")


@encryption.command("rotate")
def rotate(
    path: Annotated[Path, typer.Argument(help="The key file to add a key to.")],
    cipher: Annotated[str, typer.Option(help=_CIPHER_HELP)] = DEFAULT_CIPHER,
    key_id: Annotated[
        str | None, typer.Option("--id", help="The new key's id (default: k-<UTC time>).")
    ] = None,
) -> None:
    """Add a new random key and make it the primary; the earlier keys stay listed, to decrypt old
    histories. Restart the workers and the API with the new file."""
    ring = _load(path)
    new_id = _key_id(key_id)
    if new_id in ring.keys:
        fail(f"--id: {path} already holds a key {new_id!r}")
    rotated = ring.with_primary(new_key(new_id, _cipher(cipher)))
    rotated.write(path)
    out.print(
        f"{path}: primary key {new_id} ({cipher}); still decrypting with {', '.join(sorted(ring.keys))}"
    )


@encryption.command("show")
def show(
    path: Annotated[Path, typer.Argument(help="The key file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The key ids, their ciphers and the primary: never the keys themselves."""
    ring = _load(path)
    listed = {"primary": ring.primary, "keys": {k.id: k.cipher for k in ring.keys.values()}}
    if as_json:
        emit_json(listed)
        return
    for key in ring.keys.values():
        out.print(f"{key.id}\t{key.cipher}" + ("\tprimary" if key.id == ring.primary else ""))
