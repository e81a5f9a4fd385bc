"""The payload codec: AES-256-GCM and SM4-GCM round trips, key lookup by id, tampering refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from petitionflow.codec import (
    CIPHER,
    ENCODING,
    KEY_ID,
    DecryptionError,
    EncryptionCodec,
    Keyring,
    KeyringError,
    key_ids,
    load_keyring,
    new_key,
)
from petitionflow.converter import data_converter
from schemas.commands import PetitionerContact

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"name": "Wang Fang", "phone": "13800000000"}')


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
async def test_a_payload_round_trips_and_its_ciphertext_holds_nothing_in_clear(cipher: str) -> None:
    codec = EncryptionCodec(Keyring([new_key("k1", cipher)], "k1"))
    [sealed] = await codec.encode([PLAIN])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert sealed.metadata[CIPHER] == cipher.encode()
    assert b"Wang" not in sealed.data and b"1380" not in sealed.data and b"json/plain" not in sealed.data
    assert await codec.decode([sealed]) == [PLAIN]


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
async def test_the_converter_round_trips_a_contract(cipher: str) -> None:
    converter = data_converter(Keyring([new_key("k1", cipher)], "k1"))
    petitioner = PetitionerContact(petitioner_id="hh-1", name="Wang Fang", phone="13800000000")
    [payload] = await converter.encode([petitioner])
    assert b"Wang" not in payload.SerializeToString()
    assert await converter.decode([payload], [PetitionerContact]) == [petitioner]


async def test_two_encryptions_of_one_payload_differ() -> None:
    codec = EncryptionCodec(Keyring([new_key("k1")], "k1"))
    first, second = await codec.encode([PLAIN, PLAIN])
    assert first.data != second.data


async def test_a_plain_payload_passes_through_decoding() -> None:
    codec = EncryptionCodec(Keyring([new_key("k1")], "k1"))
    assert await codec.decode([PLAIN]) == [PLAIN]


async def test_an_unlisted_key_id_fails_naming_the_key() -> None:
    [sealed] = await EncryptionCodec(Keyring([new_key("old")], "old")).encode([PLAIN])
    other = EncryptionCodec(Keyring([new_key("new")], "new"))
    with pytest.raises(DecryptionError) as error:
        await other.decode([sealed])
    assert str(error.value) == (
        "payload encrypted with key 'old', which the keyring does not hold (it holds new):"
        " list the retired key again to read it"
    )


async def test_a_tampered_ciphertext_fails_clearly() -> None:
    codec = EncryptionCodec(Keyring([new_key("k1", "sm4-gcm")], "k1"))
    [sealed] = await codec.encode([PLAIN])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(flipped))
    with pytest.raises(DecryptionError, match="payload under key 'k1' does not authenticate"):
        await codec.decode([tampered])


async def test_a_payload_relabelled_with_another_listed_key_fails() -> None:
    """The key id is authenticated data: moving a payload to another key's label does not decrypt."""
    a, b = new_key("a"), new_key("b")
    [sealed] = await EncryptionCodec(Keyring([a, b], "a")).encode([PLAIN])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"b"}, data=sealed.data)
    with pytest.raises(DecryptionError, match="payload under key 'b' does not authenticate"):
        await EncryptionCodec(Keyring([a, b], "a")).decode([relabelled])


async def test_rotation_encrypts_with_the_new_primary_and_reads_the_old() -> None:
    before = Keyring([new_key("a")], "a")
    [under_a] = await EncryptionCodec(before).encode([PLAIN])
    after = before.with_primary(new_key("b", "sm4-gcm"))
    [under_b] = await EncryptionCodec(after).encode([PLAIN])
    assert key_ids([under_a, under_b, PLAIN]) == {"a", "b"}
    assert await EncryptionCodec(after).decode([under_a, under_b]) == [PLAIN, PLAIN]


def test_a_key_file_round_trips_and_is_private(tmp_path: Path) -> None:
    ring = Keyring([new_key("a"), new_key("b", "sm4-gcm")], "b")
    path = tmp_path / "keys.json"
    ring.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_keyring(key_file=path, keys_text=None)
    assert loaded is not None and loaded.primary == "b" and loaded.keys == ring.keys
    assert "secret" not in repr(loaded.keys["a"]) and repr(loaded) == "Keyring(primary='b', keys=[a, b])"


def test_the_short_form_names_an_aes_key_by_its_base64() -> None:
    secret = base64.b64encode(bytes(32)).decode()
    ring = load_keyring(key_file=None, keys_text=json.dumps({"primary": "k", "keys": {"k": secret}}))
    assert ring is not None and ring.keys["k"].cipher == "aes-256-gcm"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "PETITIONFLOW_KEYS is not JSON: Expecting property name enclosed in double quotes (line 1)"),
        (
            '{"primary": "x", "keys": {}}',
            "PETITIONFLOW_KEYS: the primary key 'x' is not among the keys (none)",
        ),
        ('{"keys": {"k": "***"}}', "PETITIONFLOW_KEYS: key 'k' is not valid base64"),
        (
            json.dumps({"keys": {"k": {"cipher": "sm4-gcm", "key": base64.b64encode(bytes(32)).decode()}}}),
            "PETITIONFLOW_KEYS: key 'k': sm4-gcm needs a 16-byte key, got 32 bytes",
        ),
        (
            json.dumps({"keys": {"k": {"cipher": "des", "key": "AAAA"}}}),
            "PETITIONFLOW_KEYS: key 'k': unknown cipher 'des' (use aes-256-gcm, sm4-gcm)",
        ),
    ],
)
def test_bad_key_text_fails_naming_the_reason(text: str, message: str) -> None:
    with pytest.raises(KeyringError) as error:
        load_keyring(key_file=None, keys_text=text)
    assert str(error.value) == message


def test_a_missing_key_file_and_both_sources_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match=r"cannot read the key file .*nope.json: No such file"):
        load_keyring(key_file=tmp_path / "nope.json", keys_text=None)
    with pytest.raises(KeyringError, match="set PETITIONFLOW_KEY_FILE or PETITIONFLOW_KEYS, not both"):
        load_keyring(key_file=tmp_path / "k.json", keys_text="{}")
    assert load_keyring(key_file=None, keys_text=None) is None


async def test_a_failure_message_is_encrypted_too() -> None:
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    converter = data_converter(Keyring([new_key("k1")], "k1"))
    failure = Failure()
    await converter.encode_failure(ApplicationError("Wang Fang's petition did not store"), failure)
    assert failure.message == "Encoded failure"
    assert b"Wang" not in failure.SerializeToString()
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    decoded = await converter.decode_failure(failure)
    assert str(decoded) == "Wang Fang's petition did not store"
