"""`petitionflow dev` runs the audit's schedule beside its worker: a key generated into the data
folder, a checkpoint signed with it at start, published, checkable with the public key."""

from __future__ import annotations

import json
import time
import urllib.request

from tests.e2e.conftest import DevStack


def test_dev_signs_a_checkpoint_at_start_that_anyone_can_check(stack: DevStack) -> None:
    key = stack.data_dir / "checkpoint-key.pem"
    public = stack.data_dir / "checkpoint-key.pem.pub"
    deadline = time.monotonic() + 30
    published: list[dict[str, object]] = []
    while not published and time.monotonic() < deadline:
        with urllib.request.urlopen(f"{stack.api}/v1/audit/checkpoints", timeout=10) as answer:
            published = json.loads(answer.read())
        time.sleep(0.2)
    assert published, "no checkpoint was published"
    assert key.exists() and public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    checkpoint = stack.data_dir.parent / "published-checkpoint.json"
    checkpoint.write_text(json.dumps(published[0]))
    taken = stack.cli("audit", "checkpoint", "--key", str(key))
    assert taken.returncode == 0, taken.stderr
    later = stack.data_dir.parent / "later-checkpoint.json"
    later.write_text(taken.stdout)
    both = stack.cli(
        "audit",
        "verify",
        "--checkpoint",
        str(checkpoint),
        "--checkpoint",
        str(later),
        "--public-key",
        str(public),
    )
    assert both.returncode == 0, both.stdout + both.stderr
