"""SMS through a provider's HTTP API. Chinese providers send only templates registered in advance
(模板), under a registered signature name (签名): each message kind maps to a template code, and the
template's parameters come from the message (``Message.sms_params``), never free text.

Two adapters:

- ``AliyunSms``: Alibaba Cloud SMS, ``dysmsapi`` API version 2017-05-25, action ``SendSms``, as its
  public documentation describes the RPC style (help.aliyun.com, "签名机制" / "Signature mechanism",
  document 28839 / 315526): the common parameters ``AccessKeyId``, ``Action``, ``Format``,
  ``RegionId``, ``SignatureMethod=HMAC-SHA1``, ``SignatureNonce`` (a UUID per request),
  ``SignatureVersion=1.0``, ``Timestamp`` (UTC ``YYYY-MM-DDThh:mm:ssZ``), ``Version``, and the
  action's ``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam`` (a JSON object).
  The canonicalised query is every parameter but ``Signature``, sorted by name, names and values
  percent-encoded (RFC 3986: unreserved ``A-Za-z0-9-_.~`` kept, space as ``%20``), joined by ``&``;
  ``StringToSign = METHOD + "&" + enc("/") + "&" + enc(canonicalised)``;
  ``Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))``. The answer is JSON with
  ``Code`` (``OK`` when accepted), ``Message``, ``BizId`` and ``RequestId``.
- ``GenericSms``: a configurable request: POST JSON ``{phone, template, params, text, id}`` with the
  configured headers to the configured URL; any 2xx is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from petitionflow.notify._base import DeliveryError, HttpPool, Message, TransportError, http_error
from petitionflow.notify._config import SmsConfig

ALIYUN_VERSION = "2017-05-25"
# Codes of a request the provider will never accept as is: retrying cannot help.
_ALIYUN_PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.INVALID_PARAMETERS",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound",
}


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's RPC signature wants it."""
    return urllib.parse.quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )


def aliyun_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    mac = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


class AliyunSms:
    name = "sms"

    def __init__(
        self,
        http: HttpPool,
        config: SmsConfig,
        *,
        utcnow: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._config = config
        self._utcnow = utcnow

    def template(self, kind: str) -> str | None:
        return self._config.templates.get(kind, self._config.default_template)

    def request_params(self, message: Message, phone: str) -> dict[str, str]:
        c = self._config
        template = self.template(message.kind)
        if template is None:
            raise DeliveryError(f"no SMS template for kind {message.kind}", permanent=True)
        params = {
            "AccessKeyId": c.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": c.region_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "Timestamp": self._utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": ALIYUN_VERSION,
            "PhoneNumbers": phone,
            "SignName": c.sign_name,
            "TemplateCode": template,
            "TemplateParam": json.dumps(message.sms_params, ensure_ascii=False, sort_keys=True),
            "OutId": message.key,
        }
        params["Signature"] = aliyun_signature(c.access_key_secret.get_secret_value(), "POST", params)
        return params

    async def send(self, message: Message, address: str) -> None:
        params = self.request_params(message, address)
        try:
            response = await self._http.post(
                self._config.endpoint,
                content=canonical_query(params) + "&Signature=" + percent_encode(params["Signature"]),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except TransportError as error:
            raise DeliveryError(f"sms provider unreachable: {error}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        code = answer.get("Code") if isinstance(answer, dict) else None
        if response.status_code < 300 and code == "OK":
            return
        if code is not None:
            raise DeliveryError(f"sms provider code {code}", permanent=code in _ALIYUN_PERMANENT)
        raise http_error(response.status_code, "sms provider")

    async def aclose(self) -> None:
        pass


class GenericSms:
    name = "sms"

    def __init__(self, http: HttpPool, config: SmsConfig) -> None:
        self._http = http
        self._config = config

    async def send(self, message: Message, address: str) -> None:
        c = self._config
        body = {
            "id": message.key,
            "phone": address,
            "sign_name": c.sign_name,
            "template": c.templates.get(message.kind, c.default_template),
            "params": message.sms_params,
            "text": message.text,
        }
        headers = {k: v.get_secret_value() for k, v in c.generic_headers.items()}
        try:
            response = await self._http.post(c.endpoint, json=body, headers=headers)
        except TransportError as error:
            raise DeliveryError(f"sms gateway unreachable: {error}") from None
        if response.status_code >= 300:
            raise http_error(response.status_code, "sms gateway")

    async def aclose(self) -> None:
        pass


def sms_channel(http: HttpPool, config: SmsConfig) -> AliyunSms | GenericSms:
    return AliyunSms(http, config) if config.provider == "aliyun" else GenericSms(http, config)
