"""The CLI against the running stack: file, act as each tier, watch an automatic escalation, rate."""

from __future__ import annotations

import json
import time
from typing import Any

from schemas.common import Tier
from tests.e2e.conftest import DevStack
from tests.factories import REGION, filing, filing_body


def fast_policy(village_respond: float) -> str:
    """A policy file's text: the village has seconds to respond; the tiers above have minutes."""
    tiers = "".join(
        f'[normal.{tier.value}]\nrespond_within = "{respond}s"\nresolve_within = "600s"\n'
        for tier, respond in zip(Tier, (village_respond, 600, 600, 600), strict=True)
    )
    return tiers


def file_fast(stack: DevStack, petition_id: str, village_respond: float) -> dict[str, Any]:
    """File through the CLI, whose deployment policy (its own PETITIONFLOW_POLICY_FILE) is fast."""
    policy = stack.policy_file(f"village-{village_respond:g}", fast_policy(village_respond))
    filed: dict[str, Any] = stack.cli_json(
        "file", "--from", "-", input=json.dumps(filing_body(petition_id)), policy=policy
    )
    return filed


def wait_for_tier(stack: DevStack, petition_id: str, tier: str, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        view: dict[str, Any] = stack.cli_json("show", petition_id)
        if view["tier"] == tier or time.monotonic() > deadline:
            return view
        time.sleep(0.5)


def official_args(tier: Tier) -> list[str]:
    """Act as an official straight through Temporal: an operator's command, which names them."""
    return [
        "--official",
        f"{tier.value}-official",
        "--tier",
        tier.value,
        "--region",
        REGION.at(tier),
        "--operator",
        "op-e2e",
    ]


def test_a_petition_climbs_on_its_own_and_is_answered_by_the_township(stack: DevStack) -> None:
    filed = file_fast(stack, "e2e-climb", village_respond=2)
    assert (filed["created"], filed["petition"]["tier"]) == (True, "village")
    again = stack.cli_json("file", "--from", "-", input=json.dumps(filing_body("e2e-climb")))
    assert again["created"] is False

    carrying = stack.cli("file", "--from", "-", input=filing("e2e-policy").model_dump_json())
    assert carrying.returncode == 2
    assert "policy: Value error, a filing cannot choose its policy" in " ".join(carrying.stderr.split())

    view = wait_for_tier(stack, "e2e-climb", "township")
    assert (view["tier"], view["deadlines_missed"], view["tiers_visited"]) == (
        "township",
        1,
        ["village", "township"],
    )

    late = stack.cli("act", "e2e-climb", "acknowledge", *official_args(Tier.VILLAGE))
    assert late.returncode == 1
    assert "refused (wrong_tier): the petition is at the township tier" in " ".join(late.stderr.split())

    township = official_args(Tier.TOWNSHIP)
    assert stack.cli("act", "e2e-climb", "acknowledge", *township).returncode == 0
    assert stack.cli("act", "e2e-climb", "assess", *township, "-f", "decision=accept").returncode == 0
    resolved = stack.cli_json(
        "act",
        "e2e-climb",
        "resolve",
        *township,
        "-f",
        "outcome=resolved",
        "-f",
        "public_summary=Bridge rebuilt.",
    )
    assert (resolved["stage"], resolved["resolution"]["on_time"]) == ("feedback", True)
    rated = stack.cli_json(
        "act",
        "e2e-climb",
        "rate",
        "--petitioner",
        "hh-0042",
        "--operator",
        "op-e2e",
        "-f",
        "rating=satisfied",
    )
    assert (rated["stage"], rated["closed_reason"]) == ("closed", "satisfied")

    time.sleep(1)  # the event log is written just after the update answers
    wall = stack.cli_json("echo-wall")
    entry = next(e for e in wall if e["petition_id"] == "e2e-climb")
    assert (entry["tier"], entry["public_summary"], entry["rating"]) == (
        "township",
        "Bridge rebuilt.",
        "satisfied",
    )
    assert "Wang Fang" not in json.dumps(wall) and "collapsed" not in json.dumps(wall)

    figures = {row["group"]: row for row in stack.cli_json("report", "--by", "tier")}
    assert figures["village"]["escalated_automatically"] >= 1
    assert figures["township"]["resolved_on_time"] >= 1
    listed = stack.cli_json("list", "--region", REGION.township, "--stage", "closed")
    assert "e2e-climb" in [row["petition_id"] for row in listed]


def test_bad_input_exits_2_names_the_field_and_changes_nothing(stack: DevStack) -> None:
    before = len(stack.cli_json("list", "--limit", "1000"))

    too_long = filing_body("e2e-long")
    too_long["description"] = "x" * 4001
    done = stack.cli("file", "--from", "-", input=json.dumps(too_long))
    assert done.returncode == 2
    assert "description: String should have at most 4000 characters" in done.stderr

    unknown = filing_body("e2e-unknown")
    unknown["priority"] = "high"
    done = stack.cli("file", "--from", "-", input=json.dumps(unknown))
    assert (done.returncode, "priority: Extra inputs are not permitted" in done.stderr) == (2, True)

    done = stack.cli("file", "--from", "-", input="{not json")
    assert (done.returncode, "is not JSON" in done.stderr) == (2, True)

    done = stack.cli("act", "e2e-missing", "acknowledge", *official_args(Tier.VILLAGE))
    assert (done.returncode, "not found" in done.stderr) == (2, True)

    done = stack.cli("act", "e2e-climb", "frobnicate", *official_args(Tier.VILLAGE))
    assert (done.returncode, "unknown action 'frobnicate'" in done.stderr) == (2, True)

    time.sleep(0.5)
    assert len(stack.cli_json("list", "--limit", "1000")) == before


def test_an_official_acts_with_a_token_until_it_is_revoked(stack: DevStack) -> None:
    file_fast(stack, "e2e-token", village_respond=600)
    issued = stack.cli("officials", "add", "li-village", "--tier", "village", "--region", REGION.village)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    assert len(token) >= 40

    view = stack.cli_json("act", "e2e-token", "acknowledge", "--token", token)
    assert (view["stage"], view["acknowledged_by"]) == ("assess", "li-village")

    revoked = stack.cli("officials", "revoke", "li-village")
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "revoked 1 token(s) of li-village")
    refused = stack.cli("act", "e2e-token", "assess", "--token", token, "-f", "decision=accept")
    assert (refused.returncode, "the token is unknown, revoked or expired" in refused.stderr) == (2, True)
    assert stack.cli_json("show", "e2e-token")["stage"] == "assess"

    key = stack.cli("keys", "add", "hotline-12345").stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    assert stack.cli("keys", "revoke", "hotline-12345").returncode == 0
    assert stack.cli("keys", "revoke", "hotline-12345").returncode == 2  # nothing left to revoke
    bad_role = stack.cli("officials", "add", "hh-0042", "--role", "petitioner")
    assert (bad_role.returncode, "holds no token" in bad_role.stderr) == (2, True)


def test_a_second_stack_on_taken_ports_says_which_port_and_exits_2(stack: DevStack) -> None:
    second = stack.cli(
        "dev",
        "--data-dir",
        str(stack.data_dir.parent / "second"),
        "--temporal-port",
        str(stack.ports["temporal"]),
        "--postgres-port",
        str(stack.ports["postgres"]),
        "--port",
        str(stack.ports["api"]),
        "--no-ui",
    )
    assert second.returncode == 2
    assert f"port {stack.ports['api']} (HTTP API) is already in use" in " ".join(second.stderr.split())


def test_open_petitions_and_their_timers_survive_a_restart(stack: DevStack) -> None:
    file_fast(stack, "e2e-restart", village_respond=6)
    printed = stack.stop()
    assert "stopped; petitions and timers are kept in" in printed
    time.sleep(7)  # the village's deadline passes while nothing runs

    stack.start("--no-ui")
    view = wait_for_tier(stack, "e2e-restart", "township")
    assert (view["tier"], view["deadlines_missed"]) == ("township", 1)
    assert stack.cli_json("show", "e2e-climb")["stage"] == "closed"
