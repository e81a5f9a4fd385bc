"""Fixtures of the notify tests: the directory rows they need, written with SQL (the directory's own
import is another branch's), and a configuration pointing every channel at the local servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time, timedelta
from typing import Any

import asyncpg
import pytest

from petitionflow.notify import NotifyConfig
from tests.notify.receivers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    DINGTALK_SECRET,
    WEBHOOK_SECRET,
    Receiver,
    receiving,
)

HOUSEHOLD_PHONE = "+8613900000042"
WECOM = "/cgi-bin/webhook/send?key=wecom-key"
DINGTALK = "/robot/send?access_token=tok"


async def add_directory(pool: asyncpg.Pool, receiver: Receiver, *, version: int = 1) -> None:
    """The county of ``tests.integration.story.REGION``: an office per tier, each supervised by the
    one above, reached by a webhook or a robot of ``receiver``; two people; the households."""
    await pool.execute("INSERT INTO directory_versions (version, source) VALUES ($1, 'tests')", version)
    offices = [
        ("off-v-dongshan", "village", "v-dongshan", "off-t-xiazhuang", receiver.url("/hook/village")),
        ("off-t-xiazhuang", "township", "t-xiazhuang", "off-c-yishui", receiver.url("/hook/township")),
        ("off-c-yishui", "county", "c-yishui", "off-x-linyi", "wecom:" + receiver.url(WECOM)),
        ("off-x-linyi", "city", "x-linyi", None, "dingtalk:" + receiver.url(DINGTALK)),
    ]
    await pool.executemany(
        "INSERT INTO directory_offices (version, office_id, kind, tier, region_id, name_zh, name_en,"
        " supervisor_id, webhook) VALUES ($1, $2, 'territorial', $3, $4, $2, $2, $5, $6)",
        [(version, *o) for o in offices],
    )
    await pool.executemany(
        "INSERT INTO directory_people (version, person_id, name, role, office_id, phone, email, webhook)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (version, "cadre-zhang", "Zhang Wei", "cadre", "off-v-dongshan", "+8613900000001", None,
             receiver.url("/hook/cadre")),
            (version, "township-official", "Li Na", "official", "off-t-xiazhuang", None, None,
             receiver.url("/hook/official")),
        ],
    )  # fmt: skip
    await pool.executemany(
        "INSERT INTO directory_households (version, household_id, village_id, cadre_id, phone)"
        " VALUES ($1, $2, 'v-dongshan', 'cadre-zhang', $3)",
        [(version, f"hh-p-{i}", HOUSEHOLD_PHONE) for i in range(1, 21)],
    )


def config(receiver: Receiver, **changes: Any) -> NotifyConfig:
    """Every channel on, at ``receiver``; short backoff; no rate limits, no quiet hours; no log fallback."""
    base: dict[str, Any] = {
        "webhook": {"secret": WEBHOOK_SECRET},
        "robots": {"dingtalk_secret": DINGTALK_SECRET},
        "sms": {
            "enabled": True,
            "provider": "aliyun",
            "endpoint": receiver.url("/aliyun/"),
            "access_key_id": ALIYUN_KEY_ID,
            "access_key_secret": ALIYUN_SECRET,
            "sign_name": "县信访",
            "default_template": "SMS_100000001",
            "templates": {"resolution_to_petitioner": "SMS_100000002"},
        },
        "log": False,
        # No quiet hours unless a test asks for them: the suite runs at any hour of Shanghai's day.
        "quiet_start": time(0, 0),
        "quiet_end": time(0, 0),
        "backoff_initial": timedelta(milliseconds=200),
        "backoff_max": timedelta(seconds=2),
        "rate_limits": {},
        "lease": timedelta(seconds=1),
        "poll_interval": 0.05,
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return NotifyConfig.model_validate(base)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as r:
        yield r
