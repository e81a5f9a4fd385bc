"""Real servers the dispatcher delivers to: an HTTP receiver (Starlette under uvicorn) that checks
every shape's signature the way its real counterpart does, and SMTP servers (aiosmtpd), plain or
with STARTTLS under a CA made for the test."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import hmac
import ipaddress
import json
import ssl
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from petitionflow.dev.embedded_pg import free_port
from petitionflow.notify._sms import aliyun_signature

WEBHOOK_SECRET = "webhook-secret-for-tests"
DINGTALK_SECRET = "SECdingtalk-secret-for-tests"
ALIYUN_KEY_ID = "LTAI-test-key"
ALIYUN_SECRET = "aliyun-secret-for-tests"


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    arrived: float


@dataclass
class Receiver:
    """Every request that passed its signature check, in order of arrival; ``refused`` the others."""

    port: int = field(default_factory=free_port)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ids(self, path: str | None = None) -> list[str]:
        return [
            r.body.get("id") or r.body.get("OutId") or r.headers.get("idempotency-key", "")
            for r in self.at(path)
        ]

    def at(self, path: str | None) -> list[Received]:
        return [r for r in self.received if path is None or r.path == path]

    def _refuse(self, path: str, why: str, status: int = 401) -> Response:
        self.refused.append((path, why))
        return JSONResponse({"error": why}, status_code=status)

    async def _hook(self, request: Request) -> Response:
        raw = await request.body()
        stamp = request.headers.get("x-petitionflow-timestamp", "")
        expected = (
            "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + b"." + raw, "sha256").hexdigest()
        )
        if not hmac.compare_digest(request.headers.get("x-petitionflow-signature", ""), expected):
            return self._refuse(request.url.path, "bad signature")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return self._refuse(request.url.path, "stale timestamp")
        if request.headers.get("idempotency-key") != json.loads(raw)["id"]:
            return self._refuse(request.url.path, "idempotency key differs from the body's id", 400)
        if self.delay:
            await asyncio.sleep(self.delay)
        self._keep(request, json.loads(raw))
        return JSONResponse({"ok": True})

    async def _wecom(self, request: Request) -> Response:
        body = json.loads(await request.body())
        if request.query_params.get("key") != "wecom-key" or body.get("msgtype") != "text":
            return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
        self._keep(request, body)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _dingtalk(self, request: Request) -> Response:
        q = request.query_params
        stamp = q.get("timestamp", "")
        mac = hmac.new(DINGTALK_SECRET.encode(), f"{stamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256)
        if (
            q.get("sign") != base64.b64encode(mac.digest()).decode()
            or abs(time.time() * 1000 - int(stamp)) > 3.6e6
        ):
            self.refused.append((request.url.path, "bad sign"))
            return JSONResponse({"errcode": 310000, "errmsg": "sign not match"})
        self._keep(request, json.loads(await request.body()))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _aliyun(self, request: Request) -> Response:
        form = dict(urllib.parse.parse_qsl((await request.body()).decode(), keep_blank_values=True))
        required = {"AccessKeyId", "Action", "Format", "RegionId", "SignatureMethod", "SignatureNonce",
                    "SignatureVersion", "Timestamp", "Version", "PhoneNumbers", "SignName", "TemplateCode",
                    "TemplateParam", "Signature"}  # fmt: skip
        if missing := required - form.keys():
            return JSONResponse({"Code": "MissingParameter", "Message": ",".join(sorted(missing))}, 400)
        if form["AccessKeyId"] != ALIYUN_KEY_ID:
            return JSONResponse({"Code": "InvalidAccessKeyId.NotFound"}, 404)
        if form["Signature"] != aliyun_signature(ALIYUN_SECRET, request.method, form):
            self.refused.append((request.url.path, "SignatureDoesNotMatch"))
            return JSONResponse(
                {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}, 400
            )
        if (form["Action"], form["Version"], form["SignatureMethod"]) != (
            "SendSms",
            "2017-05-25",
            "HMAC-SHA1",
        ):
            return JSONResponse({"Code": "InvalidParameter"}, 400)
        json.loads(form["TemplateParam"])  # must be a JSON object
        self._keep(request, form)
        return JSONResponse(
            {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "x"}
        )

    async def _gateway(self, request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer gateway-key":
            return self._refuse(request.url.path, "no key")
        self._keep(request, json.loads(await request.body()))
        return JSONResponse({"accepted": True}, status_code=202)

    def _keep(self, request: Request, body: dict[str, Any]) -> None:
        self.received.append(Received(request.url.path, body, dict(request.headers), time.monotonic()))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hook/{name}", self._hook, methods=["POST"]),
                Route("/cgi-bin/webhook/send", self._wecom, methods=["POST"]),
                Route("/robot/send", self._dingtalk, methods=["POST"]),
                Route("/aliyun/", self._aliyun, methods=["POST"]),
                Route("/gateway", self._gateway, methods=["POST"]),
            ]
        )

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None


@contextlib.asynccontextmanager
async def receiving(delay: float = 0.0) -> AsyncIterator[Receiver]:
    receiver = Receiver(delay=delay)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


class Mailbox:
    """aiosmtpd's handler: keeps every message accepted, after a login with the right password."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append((str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 OK"

    def authenticate(
        self, server: object, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and data.login == b"notify" and data.password == b"smtp-secret":
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@contextlib.contextmanager
def smtp_server() -> Any:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass(frozen=True)
class Certificates:
    """A CA made for the test and the SMTP server's certificate it signed (for 127.0.0.1)."""

    ca: Path
    cert: Path
    key: Path


def certificates(directory: Path) -> Certificates:
    """Make a CA and a server certificate signed by it, as PEM files in ``directory`` (no network)."""
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("petitionflow test CA"))
        .issuer_name(name("petitionflow test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("smtp.county.example"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


@contextlib.contextmanager
def starttls_server(certs: Certificates) -> Any:
    """An SMTP server that offers STARTTLS and takes neither a login nor a message before it."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.cert, certs.key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        tls_context=context,
        require_starttls=True,
        auth_require_tls=True,
        auth_required=True,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
