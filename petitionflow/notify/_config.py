"""The dispatcher's configuration: channels, credentials and delivery rules.

From a TOML file named by ``PETITIONFLOW_NOTIFY_FILE`` (``Settings.notify_file``), else the
defaults: only the ``log`` channel, for development. Credentials are ``SecretStr``: they never print,
and nothing here is logged but the names of the channels enabled. Environment variables override
the file's credentials: ``PETITIONFLOW_NOTIFY_WEBHOOK_SECRET``, ``PETITIONFLOW_NOTIFY_SMTP_PASSWORD``,
``PETITIONFLOW_NOTIFY_SMS_ACCESS_KEY_SECRET``, ``PETITIONFLOW_NOTIFY_DINGTALK_SECRET`` (and the SMTP
server's CA file, ``PETITIONFLOW_NOTIFY_SMTP_CA_FILE``).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, SecretStr, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookConfig(_Section):
    enabled: bool = True
    secret: SecretStr = SecretStr("")
    """The HMAC-SHA256 key of the ``X-Petitionflow-Signature`` header (empty: unsigned)."""
    timeout: float = 10.0


class EmailConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    """Require STARTTLS before login and sending: a server that does not offer it fails the try
    (``smtp unreachable: SMTPException``), nothing goes in clear. Off: plain SMTP (a relay on
    localhost)."""
    ca_file: str | None = None
    """A PEM file of more certificates to trust for the server's (a county's own CA), beside the
    system's; ``PETITIONFLOW_NOTIFY_SMTP_CA_FILE`` overrides it."""
    username: str | None = None
    """Log in as this user. Off loopback it needs ``starttls``: the password never goes in clear."""
    password: SecretStr | None = None
    sender: str = "petitionflow@localhost"
    timeout: float = 10.0

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> EmailConfig:
        if self.enabled and self.username and not self.starttls and not _loopback(self.host):
            raise ValueError(
                f"a login to {self.host} would send the password in clear: set starttls = true"
                " (or relay through a server on this host)"
            )
        return self


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmsConfig(_Section):
    enabled: bool = False
    provider: Literal["aliyun", "generic"] = "aliyun"
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    """Aliyun: the dysmsapi endpoint. Generic: the URL the request goes to."""
    sign_name: str = "petitionflow"
    """The SMS signature (签名) registered with the provider."""
    access_key_id: str = ""
    access_key_secret: SecretStr = SecretStr("")
    region_id: str = "cn-hangzhou"
    templates: dict[str, str] = Field(default_factory=dict)
    """Message kind → the provider's template code (e.g. ``reminder = "SMS_153055065"``). A kind
    without one goes by ``default_template``, else is not sent by SMS."""
    default_template: str | None = None
    generic_headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Generic provider: headers to send (an API key); the body is JSON: phone, template, params, text."""
    timeout: float = 10.0


class RobotConfig(_Section):
    enabled: bool = True
    dingtalk_secret: SecretStr = SecretStr("")
    """The signing secret (加签) of the DingTalk robots; empty: unsigned (keyword or IP checks)."""
    timeout: float = 10.0


class NotifyConfig(_Section):
    webhook: WebhookConfig = WebhookConfig()
    email: EmailConfig = EmailConfig()
    sms: SmsConfig = SmsConfig()
    robots: RobotConfig = RobotConfig()
    log: bool = True
    """Deliver to the log what no other channel can (development): on by default, off in production."""
    language: Literal["zh_CN", "en"] = "zh_CN"
    languages: dict[str, Literal["zh_CN", "en"]] = Field(default_factory=dict)
    """Per recipient role (``tier_office``, ``official``, ``contact_cadre``, ``petitioner``)."""
    link_base: str = "http://127.0.0.1:8000/v1/petitions/"
    """The petition link in messages to offices and officials: this plus the petition id."""
    timezone: str = "Asia/Shanghai"
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 0)
    """No SMS to households between these local times: held until the end."""
    batch: int = Field(default=200, ge=1)
    concurrency: int = Field(default=64, ge=1)
    poll_interval: float = 0.2
    lease: timedelta = timedelta(minutes=2)
    backoff_initial: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    give_up_after: timedelta = timedelta(hours=24)
    rate_limits: dict[str, float] = Field(
        default_factory=lambda: {"sms": 20.0, "email": 20.0, "wecom": 0.33, "dingtalk": 0.33, "webhook": 0.0}
    )
    """Messages per second per channel (0: unlimited). WeCom and DingTalk robots take 20 a minute.
    Shared by every dispatcher of the database (``notify_rate_windows``): N processes together send
    no more than the limit, as an SMS gateway's contract counts the account's messages."""
    rate_windows: dict[str, PositiveFloat] = Field(default_factory=dict)
    """Seconds a channel's limit is counted over (default 1, or ``1/rate`` below one a second): at
    most ``rate × window`` messages within each window, the rest wait for the next one."""
    confirm_after: timedelta = timedelta(milliseconds=200)
    """Ask Temporal about a held notification's event once it has waited this long."""

    @classmethod
    def load(cls, path: Path | None) -> NotifyConfig:
        data: dict[str, object] = {}
        if path is not None:
            with path.open("rb") as f:
                data = tomllib.load(f)
        config = cls.model_validate(data)
        return config.with_env_secrets(os.environ)

    def with_env_secrets(self, env: dict[str, str] | os._Environ[str]) -> NotifyConfig:
        updates: dict[str, tuple[str, str]] = {
            "PETITIONFLOW_NOTIFY_WEBHOOK_SECRET": ("webhook", "secret"),
            "PETITIONFLOW_NOTIFY_SMTP_PASSWORD": ("email", "password"),
            "PETITIONFLOW_NOTIFY_SMTP_CA_FILE": ("email", "ca_file"),
            "PETITIONFLOW_NOTIFY_SMS_ACCESS_KEY_SECRET": ("sms", "access_key_secret"),
            "PETITIONFLOW_NOTIFY_DINGTALK_SECRET": ("robots", "dingtalk_secret"),
        }
        config = self
        for name, (section, field) in updates.items():
            if name in env:
                value = env[name] if field == "ca_file" else SecretStr(env[name])
                part = getattr(config, section).model_copy(update={field: value})
                config = config.model_copy(update={section: part})
        return config

    def enabled_channels(self) -> list[str]:
        names = ["webhook"] if self.webhook.enabled else []
        names += ["wecom", "dingtalk"] if self.robots.enabled else []
        names += ["email"] if self.email.enabled else []
        names += ["sms"] if self.sms.enabled else []
        return names + (["log"] if self.log else [])
