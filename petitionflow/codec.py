"""Payload encryption: a keyring of named keys and the Temporal payload codec that uses it.

Every payload the engine hands Temporal (workflow inputs, update arguments and answers, activity
inputs and results, failure messages) is encrypted with the keyring's *primary* key, and the key's id
travels in the payload's metadata (``encryption-key-id``, with ``encoding: binary/encrypted``), so a
payload is decrypted with whichever listed key made it: a rotated-out key stays listed until no
history still needs it, and old petitions keep replaying (the samples-go encryption codec's lookup by
key id). A payload without the encrypted encoding passes through unchanged: histories recorded
before encryption was switched on decode as they always did.

The cipher is chosen per key: AES-256-GCM, or SM4-GCM (GB/T 32907, for deployments that must pass
China's commercial cryptography assessment), both from the ``cryptography`` package. The key id and
the cipher name are bound into the authenticated data, so a payload relabelled with another key id
does not decrypt.

Key file (JSON, never in the repository; ``PETITIONFLOW_KEY_FILE``, or the same text in
``PETITIONFLOW_KEYS``)::

    {"primary": "2026-12", "keys": {
        "2026-12": {"cipher": "sm4-gcm", "key": "<base64 of 16 bytes>"},
        "2026-06": "<base64 of 32 bytes: AES-256-GCM, the default cipher>"}}
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
"""The ``encoding`` metadata of an encrypted payload (the value Temporal's samples use)."""
KEY_ID = "encryption-key-id"
CIPHER = "encryption-cipher"
NONCE_SIZE = 12
TAG_SIZE = 16


class KeyringError(ValueError):
    """A key file or key text that cannot be used; the message names the key and the reason."""


class DecryptionError(ValueError):
    """A payload that does not decrypt: its key is not listed, or it was altered."""


class Cipher(Protocol):
    """An AEAD cipher under one key: ``seal`` returns ciphertext with its tag appended."""

    def seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes: ...

    def open(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        """Raises ``cryptography.exceptions.InvalidTag`` when ``sealed`` does not authenticate."""
        ...


class _AesGcm:
    name: ClassVar[str] = "aes-256-gcm"
    key_size: ClassVar[int] = 32

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, data, aad)

    def open(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        return self._aead.decrypt(nonce, sealed, aad)


class _Sm4Gcm:
    name: ClassVar[str] = "sm4-gcm"
    key_size: ClassVar[int] = 16

    def __init__(self, key: bytes) -> None:
        self._key = key
        try:  # SM4 is present only when the OpenSSL that cryptography links was built with it
            _Cipher(algorithms.SM4(key), modes.GCM(bytes(NONCE_SIZE))).encryptor()
        except UnsupportedAlgorithm:
            raise KeyringError(
                "sm4-gcm: this build of the cryptography package (its OpenSSL) has no SM4-GCM"
            ) from None

    def seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        encryptor = _Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        return encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def open(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < TAG_SIZE:
            raise InvalidTag()
        body, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
        decryptor = _Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(body) + decryptor.finalize()


CIPHERS: dict[str, type[_AesGcm] | type[_Sm4Gcm]] = {c.name: c for c in (_AesGcm, _Sm4Gcm)}
"""The ciphers a key can name; the first is the default."""
DEFAULT_CIPHER = _AesGcm.name


@dataclass(frozen=True, slots=True)
class Key:
    id: str
    cipher: str
    secret: bytes

    def __repr__(self) -> str:  # never print the secret
        return f"Key(id={self.id!r}, cipher={self.cipher!r})"


def new_key(key_id: str, cipher: str = DEFAULT_CIPHER) -> Key:
    """A fresh random key for ``cipher``."""
    if cipher not in CIPHERS:
        raise KeyringError(f"unknown cipher {cipher!r}: use one of {', '.join(CIPHERS)}")
    return Key(key_id, cipher, os.urandom(CIPHERS[cipher].key_size))


class Keyring:
    """Named keys and the primary one: encrypt with the primary, decrypt with any listed key."""

    def __init__(self, keys: Iterable[Key], primary: str) -> None:
        self.keys: dict[str, Key] = {}
        self._ciphers: dict[str, Cipher] = {}
        for key in keys:
            if key.id in self.keys:
                raise KeyringError(f"key {key.id!r} is listed twice")
            kind = CIPHERS.get(key.cipher)
            if kind is None:
                raise KeyringError(
                    f"key {key.id!r}: unknown cipher {key.cipher!r} (use {', '.join(CIPHERS)})"
                )
            if len(key.secret) != kind.key_size:
                raise KeyringError(
                    f"key {key.id!r}: {key.cipher} needs a {kind.key_size}-byte key,"
                    f" got {len(key.secret)} bytes"
                )
            self.keys[key.id] = key
            self._ciphers[key.id] = kind(key.secret)
        if primary not in self.keys:
            raise KeyringError(f"the primary key {primary!r} is not among the keys ({self._listed()})")
        self.primary = primary

    def _listed(self) -> str:
        return ", ".join(sorted(self.keys)) or "none"

    def __repr__(self) -> str:
        return f"Keyring(primary={self.primary!r}, keys=[{self._listed()}])"

    # ----------------------------------------------------------------------------------- payloads

    def encrypt(self, plain: Payload) -> Payload:
        key = self.keys[self.primary]
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._ciphers[key.id].seal(nonce, plain.SerializeToString(), _aad(key))
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key.id.encode(), CIPHER: key.cipher.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """The payload ``encrypt`` made; any other payload unchanged.

        Raises:
            DecryptionError: the payload's key is not listed, or it does not authenticate.
        """
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(
                f"payload encrypted with key {key_id!r}, which the keyring does not hold"
                f" (it holds {self._listed()}): list the retired key again to read it"
            )
        cipher = payload.metadata.get(CIPHER, key.cipher.encode()).decode(errors="replace")
        if cipher != key.cipher:
            raise DecryptionError(
                f"payload under key {key_id!r} names cipher {cipher!r}, the key is {key.cipher}"
            )
        nonce, sealed = payload.data[:NONCE_SIZE], payload.data[NONCE_SIZE:]
        try:
            plain = self._ciphers[key_id].open(nonce, sealed, _aad(key))
        except InvalidTag:
            raise DecryptionError(
                f"payload under key {key_id!r} does not authenticate: it was altered, or the key is not"
                " the one it was encrypted with"
            ) from None
        return Payload.FromString(plain)

    # -------------------------------------------------------------------------------------- files

    def to_json(self) -> dict[str, Any]:
        """The key-file form (holds the secrets: write it only where a key file belongs)."""
        return {
            "primary": self.primary,
            "keys": {
                k.id: {"cipher": k.cipher, "key": base64.b64encode(k.secret).decode()}
                for k in self.keys.values()
            },
        }

    def with_primary(self, key: Key) -> Keyring:
        """This keyring with ``key`` added as the primary: the earlier keys stay, for decryption."""
        return Keyring([*self.keys.values(), key], key.id)

    @classmethod
    def from_json(cls, data: object, *, where: str = "the key text") -> Keyring:
        if not isinstance(data, Mapping) or not isinstance(data.get("keys"), Mapping):
            raise KeyringError(f"{where}: expected {{'primary': key id, 'keys': {{key id: base64 key}}}}")
        keys = [_key(str(key_id), value, where) for key_id, value in data["keys"].items()]
        primary = data.get("primary")
        if primary is None and len(keys) == 1:
            primary = keys[0].id
        if not isinstance(primary, str):
            raise KeyringError(f"{where}: 'primary' must name one of the keys")
        try:
            return cls(keys, primary)
        except KeyringError as error:
            raise KeyringError(f"{where}: {error}") from None

    @classmethod
    def parse(cls, text: str, *, where: str = "the key text") -> Keyring:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise KeyringError(f"{where} is not JSON: {error.msg} (line {error.lineno})") from None
        return cls.from_json(data, where=where)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise KeyringError(f"cannot read the key file {path}: {error.strerror}") from None
        return cls.parse(text, where=f"key file {path}")

    def write(self, path: Path) -> None:
        """Write the key file readable by its owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(self.to_json(), file, indent=1)
            file.write("\n")


def _aad(key: Key) -> bytes:
    return f"petitionflow/{key.cipher}/{key.id}".encode()


def _key(key_id: str, value: object, where: str) -> Key:
    cipher = DEFAULT_CIPHER
    if isinstance(value, Mapping):
        cipher = str(value.get("cipher", DEFAULT_CIPHER))
        value = value.get("key")
    if not isinstance(value, str):
        raise KeyringError(
            f"{where}: key {key_id!r} must be base64 text (or {{'cipher': ..., 'key': base64}})"
        )
    try:
        secret = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{where}: key {key_id!r} is not valid base64") from None
    return Key(key_id, cipher, secret)


def load_keyring(*, key_file: Path | None, keys_text: str | None) -> Keyring | None:
    """The keyring the settings name: a key file, or key text from the environment; None for neither.

    Raises:
        KeyringError: both are set, or the one set cannot be used.
    """
    if key_file is not None and keys_text:
        raise KeyringError("set PETITIONFLOW_KEY_FILE or PETITIONFLOW_KEYS, not both")
    if key_file is not None:
        return Keyring.load(key_file)
    if keys_text:
        return Keyring.parse(keys_text, where="PETITIONFLOW_KEYS")
    return None


class EncryptionCodec(PayloadCodec):
    """The Temporal payload codec over a :class:`Keyring`."""

    def __init__(self, keyring: Keyring) -> None:
        super().__init__()
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.keyring.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.keyring.decrypt(p) for p in payloads]


def key_ids(payloads: Iterable[Payload]) -> set[str]:
    """The key ids the encrypted ones among ``payloads`` need."""
    return {
        p.metadata[KEY_ID].decode(errors="replace")
        for p in payloads
        if p.metadata.get("encoding") == ENCODING and KEY_ID in p.metadata
    }
