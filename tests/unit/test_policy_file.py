"""The deployment's policy file: what it sets over the defaults, and each way it can be wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from petitionflow.policy import PolicyFileError, deployment_policy, duration, load, parse, to_toml
from schemas.common import Tier, Urgency
from schemas.policy import Policy, TierDeadlines

HERE = Path("policy.toml")

EXAMPLE = """\
reminder_points = [0.25, 0.5, 0.9]
feedback_window = "3d"
overdue_reminder_every = "12h"
info_wait_limit = "P10D"
reopen_rounds = 2

[normal.village]
respond_within = "4h"
resolve_within = "3d"

[urgent.city]
respond_within = "1h30m"
resolve_within = 86400
"""


def test_a_file_sets_what_it_names_and_keeps_the_defaults_for_the_rest() -> None:
    policy = parse(HERE, EXAMPLE)

    defaults = Policy()
    assert policy.reminder_points == (0.25, 0.5, 0.9)
    assert (policy.feedback_window, policy.overdue_reminder_every) == (timedelta(days=3), timedelta(hours=12))
    assert (policy.info_wait_limit, policy.reopen_rounds) == (timedelta(days=10), 2)
    assert policy.deadlines(Tier.VILLAGE, Urgency.NORMAL) == TierDeadlines(
        respond_within=timedelta(hours=4), resolve_within=timedelta(days=3)
    )
    assert policy.deadlines(Tier.CITY, Urgency.URGENT) == TierDeadlines(
        respond_within=timedelta(hours=1, minutes=30), resolve_within=timedelta(days=1)
    )
    assert policy.normal[Tier.TOWNSHIP] == defaults.normal[Tier.TOWNSHIP]
    assert policy.urgent[Tier.VILLAGE] == defaults.urgent[Tier.VILLAGE]
    assert policy.return_visit_after == defaults.return_visit_after


def test_an_empty_file_and_no_file_are_the_defaults(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert load(empty) == Policy()
    assert deployment_policy(None) == Policy()


def test_what_policy_show_prints_reads_back_as_the_same_policy() -> None:
    policy = parse(HERE, EXAMPLE)
    assert parse(HERE, to_toml(policy)) == policy
    assert parse(HERE, to_toml(Policy())) == Policy()


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("deadline = '1d'", "deadline", "is not a policy key"),
        ("feedback_window = 'soon'", "feedback_window", "'soon' is not a duration"),
        ("feedback_window = '0s'", "feedback_window", "must be longer than zero"),
        ("feedback_window = true", "feedback_window", "True is not a duration"),
        ("reminder_points = [0.75, 0.5]", "reminder_points", "must be strictly increasing"),
        ("reminder_points = [0.5, 1.5]", "reminder_points", "between 0 and 1"),
        ("reminder_points = 'half'", "reminder_points", "must be a list of fractions"),
        ("reopen_rounds = 11", "reopen_rounds", "from 0 to 10"),
        ("normal = 3", "normal", "must be a table of tiers"),
        ("[normal.province]\nrespond_within = '1d'", "normal.province", "is not a tier"),
        ("[urgent.village]\nrespond = '1d'", "urgent.village.respond", "is not a deadline"),
        (
            "[normal.county]\nrespond_within = '40d'",
            "normal.county.respond_within",
            "must not come after the resolve deadline",
        ),
        ("[normal.county]\nresolve_within = 'x'", "normal.county.resolve_within", "is not a duration"),
    ],
)
def test_a_bad_key_is_named_with_its_reason(text: str, key: str, reason: str) -> None:
    with pytest.raises(PolicyFileError) as raised:
        parse(HERE, text)
    assert (raised.value.key, reason in raised.value.reason) == (key, True), raised.value.reason
    assert str(raised.value).startswith(f"PETITIONFLOW_POLICY_FILE policy.toml: {key}: ")


def test_a_file_that_is_not_toml_or_not_there_is_refused_as_a_whole(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError) as raised:
        parse(HERE, "[normal.village\n")
    assert (raised.value.key, raised.value.reason.startswith("not TOML")) == (None, True)
    with pytest.raises(PolicyFileError) as missing:
        load(tmp_path / "nowhere.toml")
    assert missing.value.reason.startswith("cannot be read")


def test_durations_in_every_spelling() -> None:
    assert duration("90s") == timedelta(seconds=90)
    assert duration("1d 12h") == timedelta(days=1, hours=12)
    assert duration("2w") == timedelta(days=14)
    assert duration("PT15M") == timedelta(minutes=15)
    assert duration(3600) == timedelta(hours=1)
