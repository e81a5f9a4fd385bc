"""WeCom (企业微信) and DingTalk (钉钉) group robots, where officials already work.

Both take a POST of JSON to the robot's webhook URL and answer ``{"errcode": 0, "errmsg": "ok"}``
(HTTP 200 even when refused, so the errcode decides):

- WeCom: ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``, body
  ``{"msgtype": "text", "text": {"content": ...}}``; 20 messages a minute per robot.
- DingTalk: ``https://oapi.dingtalk.com/robot/send?access_token=TOKEN``, the same body shape. A
  robot with signing (加签) also takes ``&timestamp=<ms>&sign=<s>``, where ``s`` is the URL-encoded
  Base64 of HMAC-SHA256, keyed by the secret, of ``"<ms>\\n<secret>"``; the timestamp must be within
  an hour of DingTalk's clock.

A directory webhook is a robot when its host is one of those, or when it is written
``wecom:<url>`` / ``dingtalk:<url>`` (a self-hosted relay or a test server).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Mapping

from petitionflow.notify._base import DeliveryError, HttpPool, Message, TransportError, http_error

WECOM_HOST = "qyapi.weixin.qq.com"
DINGTALK_HOST = "oapi.dingtalk.com"


def robot_kind(webhook: str) -> tuple[str, str]:
    """(channel, url) of a directory webhook: ``wecom``, ``dingtalk`` or ``webhook``."""
    for kind in ("wecom", "dingtalk"):
        if webhook.startswith(kind + ":") and not webhook.startswith(kind + "://"):
            return kind, webhook[len(kind) + 1 :]
    host = urllib.parse.urlsplit(webhook).hostname or ""
    if host == WECOM_HOST:
        return "wecom", webhook
    if host == DINGTALK_HOST:
        return "dingtalk", webhook
    return "webhook", webhook


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's ``sign`` parameter (not yet URL-encoded)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _text(message: Message) -> str:
    return message.text + (f"\n{message.link}" if message.link else "")


async def _post(http: HttpPool, url: str, payload: Mapping[str, object], who: str) -> None:
    try:
        response = await http.post(url, json=payload)
    except TransportError as error:
        raise DeliveryError(f"{who} robot unreachable: {error}") from None
    if response.status_code >= 300:
        raise http_error(response.status_code, f"{who} robot")
    try:
        answer = response.json()
    except ValueError:
        raise DeliveryError(f"{who} robot answered no JSON") from None
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        # 45009 (WeCom) and 130101 (DingTalk): too many messages this minute, try again later.
        raise DeliveryError(f"{who} robot errcode {code}", permanent=code not in (45009, 130101, -1))


class WecomChannel:
    name = "wecom"

    def __init__(self, http: HttpPool) -> None:
        self._http = http

    async def send(self, message: Message, address: str) -> None:
        await _post(self._http, address, {"msgtype": "text", "text": {"content": _text(message)}}, "wecom")

    async def aclose(self) -> None:
        pass


class DingtalkChannel:
    name = "dingtalk"

    def __init__(self, http: HttpPool, secret: str) -> None:
        self._http = http
        self._secret = secret

    async def send(self, message: Message, address: str) -> None:
        url = address
        if self._secret:
            timestamp = str(int(time.time() * 1000))
            sign = urllib.parse.quote_plus(dingtalk_sign(self._secret, timestamp))
            url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={sign}"
        payload = {"msgtype": "text", "text": {"content": _text(message)}}
        await _post(self._http, url, payload, "dingtalk")

    async def aclose(self) -> None:
        pass
