"""Signed checkpoints: the tree's size and root, signed with the deployment's key.

The signature scheme is pluggable: a ``Signer`` signs, and ``VERIFIERS`` maps each algorithm name
to a function that checks a signature with a public key. Ed25519 (the ``cryptography`` package) is
the one shipped; a deployment that must use SM2 (China's commercial cryptography assessment) adds
its signer and ``register_verifier("sm2", ...)`` and nothing else changes.

What is signed is the checkpoint's ``message()``: the C2SP checkpoint body (origin, size, base64
root), then the time it was issued, one per line.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict

from store import chain

ORIGIN = "petitionflow"
CHECKPOINT_FORMAT: Literal["petitionflow.checkpoint/1"] = "petitionflow.checkpoint/1"


class Checkpoint(BaseModel):
    """One published checkpoint: anyone holding ``public_key`` can check ``signature``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["petitionflow.checkpoint/1"] = CHECKPOINT_FORMAT
    origin: str = ORIGIN
    tree_size: int
    root_hash: str
    """Hex: the Merkle tree head (``audit.merkle``) over the first ``tree_size`` recorded events."""
    issued_at: datetime
    algorithm: str
    key_id: str
    """Hex: the first 8 bytes of SHA-256 of the raw public key."""
    public_key: str
    """Base64 of the raw public key (Ed25519: 32 bytes)."""
    signature: str
    """Base64 of the signature over ``message()``."""

    def message(self) -> bytes:
        return signed_message(self.origin, self.tree_size, bytes.fromhex(self.root_hash), self.issued_at)


def signed_message(origin: str, tree_size: int, root: bytes, issued_at: datetime) -> bytes:
    return (
        f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\n{chain.canonical_at(issued_at)}\n"
    ).encode()


class Signer(Protocol):
    """Signs checkpoints with one key."""

    algorithm: str

    def public_key(self) -> bytes:
        """The raw public key."""
        ...

    def sign(self, message: bytes) -> bytes: ...


Verifier = Callable[[bytes, bytes, bytes], bool]
"""(raw public key, message, signature) -> does the signature hold."""


def _verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


VERIFIERS: dict[str, Verifier] = {"ed25519": _verify_ed25519}


def register_verifier(algorithm: str, verifier: Verifier) -> None:
    """Make checkpoints signed with ``algorithm`` checkable (SM2, for instance)."""
    VERIFIERS[algorithm] = verifier


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).digest()[:8].hex()


class Ed25519Signer:
    """An Ed25519 key, read from (or written to) a PEM file (PKCS #8, unencrypted)."""

    algorithm = "ed25519"

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_file(cls, path: Path) -> Ed25519Signer:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(key)

    def write(self, path: Path) -> Path:
        """Write the private key to ``path`` (owner-only) and the public key beside it (``.pub``);
        the public key's path."""
        private = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(private)
        public = path.with_name(path.name + ".pub")
        public.write_bytes(
            self._key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return public

    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def load_or_create(path: Path) -> Ed25519Signer:
    """The key at ``path``; a new one written there first when there is none (the dev stack)."""
    if not path.exists():
        Ed25519Signer.generate().write(path)
    return Ed25519Signer.from_file(path)


def read_public_key(path: Path) -> bytes:
    """A raw public key from a file: PEM (SubjectPublicKeyInfo) or the base64 of the raw key."""
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        key = serialization.load_pem_public_key(data)
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64decode(data.strip(), validate=True)


def sign_checkpoint(signer: Signer, tree_size: int, root: bytes, issued_at: datetime) -> Checkpoint:
    public = signer.public_key()
    signature = signer.sign(signed_message(ORIGIN, tree_size, root, issued_at))
    return Checkpoint(
        tree_size=tree_size,
        root_hash=root.hex(),
        issued_at=issued_at,
        algorithm=signer.algorithm,
        key_id=key_id(public),
        public_key=base64.b64encode(public).decode(),
        signature=base64.b64encode(signature).decode(),
    )


def signature_problem(checkpoint: Checkpoint, trusted_key: bytes) -> str | None:
    """Why ``checkpoint`` is not signed by ``trusted_key``, or None when it is."""
    verifier = VERIFIERS.get(checkpoint.algorithm)
    if verifier is None:
        return f"no verifier for the signature algorithm {checkpoint.algorithm!r}"
    if base64.b64decode(checkpoint.public_key) != trusted_key:
        return f"signed by key {checkpoint.key_id}, not by the trusted key {key_id(trusted_key)}"
    if not verifier(trusted_key, checkpoint.message(), base64.b64decode(checkpoint.signature)):
        return f"the signature does not hold for the trusted key {key_id(trusted_key)}"
    return None
