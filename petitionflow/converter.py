"""The one data converter: how every payload crosses Temporal (client, worker, replayer, audit, tests).

Every part that turns payloads into values, or back, takes its converter from here, so the payload
codec (encryption, ``petitionflow.codec``) plugs in at exactly this spot and nowhere else. The
composition root (``worker.connect``) loads the keyring from the settings once and passes it in; with
no keyring the payloads travel as plain JSON, as they did before encryption existed.
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from petitionflow.codec import EncryptionCodec, Keyring


def data_converter(keyring: Keyring | None = None) -> DataConverter:
    """The converter for petitionflow's pydantic contracts, encrypting with ``keyring`` when given.

    With a keyring, failures carry their message and stack trace in an encoded (so encrypted)
    attribute too: an activity's error can quote the petition it failed on.
    """
    if keyring is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
