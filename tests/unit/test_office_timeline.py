"""The auditor's timeline names every event, the office events (issue 12) among them."""

from __future__ import annotations

import pytest

from petitionflow.audit.timeline import summary
from schemas.events import Event
from tests.unit.test_schemas import ONE_OF_EACH


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.type)
def test_every_event_has_a_summary(event: Event) -> None:
    assert summary(event).strip()


def test_a_send_back_says_who_to_whom_and_why() -> None:
    (sent_back,) = [e for e in ONE_OF_EACH if e.type == "SentBack"]

    assert summary(sent_back) == "sent back by water-yishui to centre-yishui (send-back 1): not ours"
