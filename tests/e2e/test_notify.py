"""The dev stack delivers notifications: a petition's village deadline passes, and the township
office's webhook (from the directory) receives the escalation, signed, within seconds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import asyncpg
import pytest

from petitionflow.dev.stack import unused_port
from tests.e2e.conftest import DevStack
from tests.e2e.test_cli import file_fast
from tests.notify.conftest import DINGTALK, WECOM
from tests.notify.receivers import WEBHOOK_SECRET, Receiver


class _Background:
    """The receiver's own event loop, in a thread: this test drives the stack from outside."""

    def __init__(self) -> None:
        self.receiver = Receiver()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.start(), self.loop).result(10)
        return self.receiver

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def notifying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevStack, Receiver]]:
    folder = tmp_path_factory.mktemp("e2e-notify")
    settings = folder / "notify.toml"
    settings.write_text(f'[webhook]\nsecret = "{WEBHOOK_SECRET}"\n\n[rate_limits]\nwebhook = 0\n')
    ports = {"temporal": unused_port(), "ui": unused_port(), "postgres": unused_port(), "api": unused_port()}
    stack = DevStack(folder / "data", ports)
    with _Background() as receiver:
        stack.start("--no-ui", env_extra={"PETITIONFLOW_NOTIFY_FILE": str(settings)})
        try:
            yield stack, receiver
        finally:
            output = stack.stop()
            assert WEBHOOK_SECRET not in output  # nothing secret in the logs


async def _directory(stack: DevStack, receiver: Receiver) -> None:
    """Point the offices of the dev stack's own directory (the sample county it loaded) at the
    receiver: the village, township, county and city of the filing's path."""
    pool = await asyncpg.create_pool(stack.env["PETITIONFLOW_DATABASE_URL"], min_size=1, max_size=1)
    hooks = {
        ("village", "v-dongshan"): receiver.url("/hook/village"),
        ("township", "t-xiazhuang"): receiver.url("/hook/township"),
        ("county", "c-yishui"): "wecom:" + receiver.url(WECOM),
        ("city", "x-linyi"): "dingtalk:" + receiver.url(DINGTALK),
    }
    try:
        for (tier, region), hook in hooks.items():
            changed = await pool.execute(
                "UPDATE directory_offices SET webhook = $3, email = NULL, phone = NULL"
                " WHERE version = (SELECT max(version) FROM directory_versions)"
                " AND kind = 'territorial' AND tier = $1 AND region_id = $2",
                tier,
                region,
                hook,
            )
            assert changed == "UPDATE 1", (tier, region, changed)
    finally:
        await pool.close()


def test_the_township_office_webhook_receives_the_escalation(notifying: tuple[DevStack, Receiver]) -> None:
    stack, receiver = notifying
    asyncio.run(_directory(stack, receiver))
    file_fast(stack, "e2e-notify", village_respond=3)
    deadline = time.monotonic() + 60
    handed: dict[str, object] | None = None
    while handed is None and time.monotonic() < deadline:
        handed = next(
            (
                r.body
                for r in receiver.at("/hook/township")
                if r.body["kind"] == "escalated_to_you" and r.body["petition_id"] == "e2e-notify"
            ),
            None,
        )
        time.sleep(0.2)
    if handed is None:
        owed = stack.cli_json("notifications", "list", "--petition", "e2e-notify")
        raise AssertionError(f"nothing reached the township office; refused: {receiver.refused}; {owed}")
    assert handed["subject"] == "诉求 e2e-notify 已上交给您"
    assert handed["recipient"] == {"role": "tier_office", "id": "township:t-xiazhuang"}
    assert receiver.refused == []  # every request carried a valid signature
    # The village office that missed it is supervised by the township: told too.
    kinds = {r.body["kind"] for r in receiver.at("/hook/township") if r.body["petition_id"] == "e2e-notify"}
    assert "deadline_missed_supervisor" in kinds
    listed = stack.cli_json("notifications", "list", "--petition", "e2e-notify")
    escalation = next(n for n in listed if n["kind"] == "escalated_to_you")
    assert escalation["delivered_at"] is not None and escalation["channel"] == "webhook"
    lag = time.monotonic() - deadline + 60
    print(f"escalation message at the township office {lag:.1f} s after filing (village deadline 3 s)")
