"""Link tokens and reply codes: tied to one petition and petitioner, expiring, unforgeable, and
answering every wrong guess alike."""

from __future__ import annotations

from datetime import timedelta

from petitionflow import proofs
from schemas.common import Rating
from tests.factories import T0

SECRET = "a-test-secret-of-enough-length-000000000000"


def test_a_link_token_speaks_for_its_petitioner_on_its_petition_until_it_expires() -> None:
    token = proofs.issue_link(SECRET, "p-1", "hh-0042", now=T0)

    assert proofs.check_link(SECRET, token, "p-1", now=T0 + timedelta(days=29)) == "hh-0042"
    assert proofs.check_link(SECRET, token, "p-1", now=T0 + timedelta(days=31)) is None, "expired"
    assert proofs.check_link(SECRET, token, "p-2", now=T0) is None, "another petition"
    assert proofs.check_link("another-secret-000000000000000000000000", token, "p-1", now=T0) is None
    assert (
        proofs.check_link(SECRET, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "p-1", now=T0) is None
    )
    assert proofs.check_link(SECRET, "not-a-token", "p-1", now=T0) is None
    assert (
        proofs.check_link(SECRET, token, "p-1", max_age=timedelta(hours=1), now=T0 + timedelta(hours=2))
        is None
    )


def test_replies_are_read_with_or_without_spaces_and_words() -> None:
    assert proofs.parse_reply("48211") == ("4821", Rating.SATISFIED)
    assert proofs.parse_reply(" 4821 2 基本满意") == ("4821", Rating.BASICALLY_SATISFIED)
    assert proofs.parse_reply("4821-3") == ("4821", Rating.DISSATISFIED)
    for not_a_reply in ("1", "482", "4821", "4821 4", "48211 extra9", "满意"):
        assert proofs.parse_reply(not_a_reply) is None, not_a_reply


def test_a_phone_is_compared_by_its_last_eleven_digits() -> None:
    assert proofs.national_number("+86 139 0000 0042") == "13900000042"
    assert proofs.national_number("13900000042") == "13900000042"
    assert proofs.national_number("0042") is None
