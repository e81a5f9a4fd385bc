"""The client side of TLS and mTLS to Temporal: settings load the certificates, and a wrong one fails
with a message naming the setting. (The dev server speaks no TLS: a local TLS listener stands in for
the frontend's handshake.)"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import worker
from petitionflow.settings import Settings


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = (
        (name, key)
        if issuer is None
        else (x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]), issuer[1])
    )
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def _write(path: Path, item: x509.Certificate | ec.EllipticCurvePrivateKey) -> Path:
    if isinstance(item, x509.Certificate):
        path.write_bytes(item.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            item.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    """A CA and the frontend's certificate it signed, another CA, and a client certificate."""
    ca_key, other_key, server_key, client_key = _key(), _key(), _key(), _key()
    ca = _cert("temporal-ca", ca_key)
    return {
        "ca": _write(tmp_path / "ca.pem", ca),
        "other_ca": _write(tmp_path / "other-ca.pem", _cert("other-ca", other_key)),
        "server": _write(tmp_path / "server.pem", _cert("frontend", server_key, ("temporal-ca", ca_key))),
        "server_key": _write(tmp_path / "server.key", server_key),
        "client": _write(
            tmp_path / "client.pem", _cert("petitionflow-worker", client_key, ("temporal-ca", ca_key))
        ),
        "client_key": _write(tmp_path / "client.key", client_key),
        "stray_key": _write(tmp_path / "stray.key", _key()),
    }


def test_no_tls_settings_mean_no_tls() -> None:
    assert worker.tls_of(Settings()) is None


def test_the_certificates_and_key_are_loaded(pki: dict[str, Path]) -> None:
    tls = worker.tls_of(
        Settings(
            temporal_tls_ca=pki["ca"], temporal_tls_cert=pki["client"], temporal_tls_key=pki["client_key"]
        )
    )
    assert tls is not None
    assert tls.server_root_ca_cert == pki["ca"].read_bytes()
    assert tls.client_cert == pki["client"].read_bytes()
    assert tls.client_private_key == pki["client_key"].read_bytes()


def test_wrong_or_missing_files_fail_naming_the_setting(pki: dict[str, Path], tmp_path: Path) -> None:
    cases = [
        (
            Settings(temporal_tls_ca=tmp_path / "nope.pem"),
            f"PETITIONFLOW_TEMPORAL_TLS_CA: cannot read {tmp_path / 'nope.pem'}: No such file or directory",
        ),
        (
            Settings(temporal_tls_ca=pki["client_key"]),
            f"PETITIONFLOW_TEMPORAL_TLS_CA: {pki['client_key']} is not a PEM certificate",
        ),
        (
            Settings(temporal_tls_cert=pki["client"]),
            "mTLS needs a client certificate and its key: set PETITIONFLOW_TEMPORAL_TLS_KEY too",
        ),
        (
            Settings(temporal_tls_cert=pki["client"], temporal_tls_key=pki["client"]),
            f"PETITIONFLOW_TEMPORAL_TLS_KEY: {pki['client']} is not an unencrypted PEM private key",
        ),
        (
            Settings(temporal_tls_cert=pki["client"], temporal_tls_key=pki["stray_key"]),
            f"PETITIONFLOW_TEMPORAL_TLS_KEY: {pki['stray_key']} is not the key of the certificate"
            f" {pki['client']}",
        ),
    ]
    for settings, message in cases:
        with pytest.raises(worker.ConfigurationError) as error:
            worker.tls_of(settings)
        assert str(error.value) == message


@pytest.fixture
async def tls_frontend(pki: dict[str, Path]) -> AsyncIterator[str]:
    """A TLS listener with the frontend's certificate (signed by ``ca``), asking for a client cert."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki["server"], pki["server_key"])
    context.set_alpn_protocols(["h2"])

    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"127.0.0.1:{port}"


async def test_a_frontend_certificate_from_another_ca_fails_clearly(
    pki: dict[str, Path], tls_frontend: str
) -> None:
    settings = Settings(temporal_address=tls_frontend, temporal_tls_ca=pki["other_ca"])
    with pytest.raises(OSError) as error:
        await asyncio.wait_for(worker.connect_with(settings), timeout=60)
    assert "UnknownIssuer" in str(error.value)
    assert str(error.value).startswith(
        f"TLS with Temporal at {tls_frontend} failed: the frontend's certificate is not trusted by"
        " PETITIONFLOW_TEMPORAL_TLS_CA, or it refused the client certificate ("
    )


async def test_with_the_right_ca_and_a_client_certificate_the_handshake_passes(
    pki: dict[str, Path], tls_frontend: str
) -> None:
    """The stand-in hangs up after the handshake: the failure is then not a certificate's."""
    settings = Settings(
        temporal_address=tls_frontend,
        temporal_tls_ca=pki["ca"],
        temporal_tls_cert=pki["client"],
        temporal_tls_key=pki["client_key"],
    )
    with pytest.raises(OSError) as error:
        await asyncio.wait_for(worker.connect_with(settings), timeout=60)
    assert str(error.value).startswith(f"Temporal at {tls_frontend} (TLS): ")
    assert "UnknownIssuer" not in str(error.value)
