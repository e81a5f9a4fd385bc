"""Nothing personal in logs: the fields that would carry a petitioner's words or contact are dropped
from every line, structlog's and the standard library's, however they were passed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from petitionflow import logs

NAME, PHONE, WORDS = "Wang Fang", "+86 139 0000 0042", "The bridge collapsed"


def test_the_processor_drops_personal_keys_and_masks_them_in_nested_dicts() -> None:
    with capture_logs(processors=[logs.drop_personal]) as lines:
        structlog.get_logger("t").info(
            "filed",
            petition_id="p-1",
            name=NAME,
            Phone=PHONE,
            description=WORDS,
            body={"petitioner": {"name": NAME}, "category": "roads", "filing": {"address": "3 East Lane"}},
        )

    [line] = lines
    assert line == {
        "event": "filed",
        "log_level": "info",
        "petition_id": "p-1",
        "body": {"petitioner": logs.WITHHELD, "category": "roads", "filing": {"address": logs.WITHHELD}},
    }


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    logs.stop()
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_configured_logging_writes_no_personal_field_in_json_or_console() -> None:
    for fmt in ("json", "console"):
        stream = io.StringIO()
        logs.configure(fmt=fmt, stream=stream)  # type: ignore[arg-type]
        try:
            structlog.get_logger("petitionflow.test").warning("sms_received", phone=PHONE, text="4821 1")
            logging.getLogger("temporalio.test").warning("relayed", extra={"comment": WORDS, "seq": 7})
        finally:
            logs.stop()
        written = stream.getvalue()
        assert "sms_received" in written and "relayed" in written, fmt
        for personal in (PHONE, "4821 1", WORDS):
            assert personal not in written, (fmt, personal)
        if fmt == "json":
            relayed = json.loads(written.splitlines()[1])
            assert (relayed["seq"], "comment" in relayed) == (7, False)
