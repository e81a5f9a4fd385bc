"""The dispatcher's pure parts: templates in both languages, Aliyun's signature, DingTalk's sign,
quiet hours, backoff, the configuration and its secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from pydantic import ValidationError

from petitionflow.notify import NotifyConfig, kinds, render
from petitionflow.notify._delivery import backoff, quiet_until
from petitionflow.notify._robots import dingtalk_sign, robot_kind
from petitionflow.notify._sms import aliyun_signature, canonical_query
from petitionflow.notify._templates import HERE, LANGUAGES, translations
from petitionflow.notify._webhook import sign
from store.outbox import UNBOUND_KINDS

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
FACTS = {
    "tier": "township",
    "from_tier": "village",
    "to_tier": "township",
    "clock": "respond",
    "point": 0.5,
    "automatic": True,
    "category": "roads",
    "channel": "hotline",
    "urgency": "normal",
    "question": "Which bridge?",
    "rating": "satisfied",
    "reason": "unrated",
    "outcome": "resolved",
    "round": 1,
    "public_summary": "The bridge was rebuilt.",
    "code": "042917",
    "ttl_minutes": 10,
    "due_at": (NOW + timedelta(hours=30)).isoformat(),
    "respond_by": (NOW + timedelta(days=2)).isoformat(),
    "resolve_by": (NOW + timedelta(days=15)).isoformat(),
    "feedback_by": (NOW + timedelta(days=7)).isoformat(),
    "visit_by": (NOW + timedelta(days=30)).isoformat(),
    "closes_at": (NOW + timedelta(days=1)).isoformat(),
    "return_visit_due": (NOW + timedelta(days=30)).isoformat(),
}
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("kind", kinds())
def test_every_kind_renders_in_chinese_and_in_english(kind: str) -> None:
    zh = render(kind, "zh_CN", petition_id="p-42", facts=FACTS, now=NOW, extra={"office": "off-v-1"})
    en = render(kind, "en", petition_id="p-42", facts=FACTS, now=NOW, extra={"office": "off-v-1"})
    for rendered in (zh, en):
        assert rendered.subject and rendered.text
        # Every message of an event names its petition; a sign-in code is of no petition.
        assert ("p-42" in rendered.subject + rendered.text) == (kind not in UNBOUND_KINDS)
        assert "%(" not in rendered.text and "{{" not in rendered.text
    assert HAN.search(zh.subject) and HAN.search(zh.text)
    assert not HAN.search(en.subject + en.text)


def test_the_reminder_says_what_is_due_by_when_and_how_long_is_left() -> None:
    facts = {"tier": "village", "clock": "respond", "due_at": FACTS["due_at"], "point": 0.5}
    zh = render("reminder", "zh_CN", petition_id="p-1", facts=facts, now=NOW)
    en = render("reminder", "en", petition_id="p-1", facts=facts, now=NOW)
    assert zh.subject == "提醒：诉求 p-1 将于 2026-12-02 16:00 到期"
    assert zh.text == "诉求 p-1 在村级的响应时限为 2026-12-02 16:00，剩余 1天。"
    assert (
        en.text == "The respond deadline of petition p-1 at the village tier is 2026-12-02 16:00: 1 day left."
    )
    assert en.params == {"petition_id": "p-1", "tier": "village", "due": "2026-12-02 16:00", "left": "1 day"}


def test_the_answer_tells_the_petitioner_the_summary_and_how_to_rate() -> None:
    facts = {
        "tier": "village",
        "outcome": "resolved",
        "public_summary": "修好了桥。",
        "feedback_by": FACTS["feedback_by"],
    }
    zh = render("resolution_to_petitioner", "zh_CN", petition_id="p-1", facts=facts, now=NOW)
    assert "修好了桥。" in zh.text and "回复1满意" in zh.text and "2026-12-08 10:00" in zh.text


def test_every_message_id_is_translated_into_chinese() -> None:
    root = HERE
    method_map = [("_templates.py", "python"), ("templates/**.txt", "jinja2")]
    options = {"templates/**.txt": {"extensions": "jinja2.ext.i18n"}}
    ids = {
        message if isinstance(message, str) else message[0]
        for _, _, message, *_ in extract_from_dir(
            str(root), method_map, options_map=options, keywords={"N_": None, "_": None, "gettext": None}
        )
    }
    assert len(ids) > 40
    zh = translations("zh_CN")
    untranslated = sorted(i for i in ids if zh.gettext(i) == i)
    assert untranslated == []
    assert set(LANGUAGES) == {p.name for p in (HERE / "locale").iterdir() if p.is_dir()}


def test_aliyun_signature_matches_the_documented_example() -> None:
    """The example of Aliyun's SMS documentation (HTTP protocol and signature, GET, secret testSecret)."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature("testSecret", "GET", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert canonical_query({"b": "a b*~", "a": "1", "Signature": "x"}) == "a=1&b=a%20b%2A~"


def test_dingtalk_sign_and_robot_addresses() -> None:
    # HMAC-SHA256 keyed by the secret over "<ms>\n<secret>", Base64 (DingTalk's 自定义机器人 加签).
    mac = hmac.new(b"SECxyz", b"1577262236757\nSECxyz", hashlib.sha256).digest()
    assert dingtalk_sign("SECxyz", "1577262236757") == base64.b64encode(mac).decode()
    assert robot_kind("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k") == (
        "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    )  # fmt: skip
    assert robot_kind("dingtalk:http://relay/robot") == ("dingtalk", "http://relay/robot")
    assert robot_kind("https://hooks.example/x") == ("webhook", "https://hooks.example/x")
    assert (
        sign("k", "1700000000", b"{}")
        == "sha256=" + __import__("hmac").new(b"k", b"1700000000.{}", "sha256").hexdigest()
    )


def test_quiet_hours_end_at_seven_in_shanghai() -> None:
    shanghai = "Asia/Shanghai"
    at = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 local
    assert quiet_until(at, shanghai, time(22), time(7)) == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    early = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 05:00 local, the next day
    assert quiet_until(early, shanghai, time(22), time(7)) == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), shanghai, time(22), time(7)) is None


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    rng = random.Random(7)
    waits = [backoff(n, timedelta(seconds=30), timedelta(hours=1), rng) for n in range(1, 12)]
    for n, wait in enumerate(waits, start=1):
        full = min(3600, 30 * 2 ** (n - 1))
        assert full / 2 <= wait.total_seconds() <= full
    assert len({w for w in waits}) == len(waits)


def test_the_configuration_file_and_its_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.toml"
    path.write_text(
        '[webhook]\nsecret = "from-the-file"\n[sms]\nenabled = true\naccess_key_secret = "sms-secret"\n'
        '[sms.templates]\nreminder = "SMS_1"\n[rate_limits]\nsms = 5\n'
    )
    monkeypatch.setenv("PETITIONFLOW_NOTIFY_WEBHOOK_SECRET", "from-the-environment")
    config = NotifyConfig.load(path)
    assert config.webhook.secret.get_secret_value() == "from-the-environment"
    assert config.sms.templates == {"reminder": "SMS_1"} and config.rate_limits == {"sms": 5.0}
    assert "sms-secret" not in repr(config) and "from-the" not in str(config.model_dump())
    assert config.enabled_channels() == ["webhook", "wecom", "dingtalk", "sms", "log"]
    path.write_text("[webhook]\nsecrett = 1\n")
    with pytest.raises(ValueError, match="secrett"):
        NotifyConfig.load(path)


def test_the_smtp_ca_file_and_the_rate_windows_from_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notify.toml"
    path.write_text(
        '[email]\nstarttls = true\nca_file = "/etc/ssl/county-ca.pem"\n'
        "[rate_limits]\nsms = 100\n[rate_windows]\nsms = 0.5\n"
    )
    assert NotifyConfig.load(path).email.ca_file == "/etc/ssl/county-ca.pem"
    monkeypatch.setenv("PETITIONFLOW_NOTIFY_SMTP_CA_FILE", "/run/secrets/smtp-ca.pem")
    config = NotifyConfig.load(path)
    assert (config.email.ca_file, config.email.starttls) == ("/run/secrets/smtp-ca.pem", True)
    assert config.rate_windows == {"sms": 0.5}
    path.write_text("[rate_windows]\nsms = 0\n")
    with pytest.raises(ValueError, match=r"rate_windows\.sms"):
        NotifyConfig.load(path)


def test_a_login_off_this_host_without_starttls_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "notify.toml"
    path.write_text('[email]\nenabled = true\nhost = "smtp.county.example"\nusername = "notify"\n')
    with pytest.raises(ValidationError, match="would send the password in clear: set starttls = true"):
        NotifyConfig.load(path)
    path.write_text(
        '[email]\nenabled = true\nhost = "smtp.county.example"\nusername = "notify"\nstarttls = true\n'
    )
    assert NotifyConfig.load(path).email.starttls
    path.write_text('[email]\nenabled = true\nhost = "::1"\nusername = "notify"\n')  # a local relay
    assert NotifyConfig.load(path).email.host == "::1"
