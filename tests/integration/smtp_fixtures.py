"""A real SMTP server in the test process (aiosmtpd), for the e-mail tests.

``smtp_server`` speaks plain SMTP; ``smtp_starttls_server`` offers STARTTLS and
requires a login (user ``datavern``, password ``hemmelig-passord``) over TLS;
``smtps_server`` speaks TLS from the first byte (port 465 style), without a login
(aiosmtpd counts only STARTTLS as TLS for its login rule). The TLS servers
use a self-signed certificate made for the test. Each fixture yields a
``SmtpBox`` with the messages received and the settings that reach it.

Import the fixtures into a test module: ``from smtp_fixtures import smtp_server``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from datavern.notify.email import SmtpSettings

USER = "datavern"
PASSWORD = "hemmelig-passord"


@dataclass
class SmtpBox:
    host: str
    port: int
    security: str
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def settings(self, **overrides: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "verify_certificate": False,
            "DATAVERN_SMTP_FROM": "Samtykketest <noreply@samtykketest.example>",
            "timeout": 10,
        }
        if self.security == "starttls":
            values.update(username=USER, password=PASSWORD)
        values.update(overrides)
        return SmtpSettings(**values)


class _Handler:
    def __init__(self, box: SmtpBox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.box.messages.append(parsed)
        self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.login.decode() == USER
        and data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificate(folder: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def _serve(box: SmtpBox, **kwargs: Any) -> Iterator[SmtpBox]:
    controller = Controller(_Handler(box), hostname=box.host, port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpBox]:
    """Plain SMTP on localhost, no login."""
    yield from _serve(SmtpBox("127.0.0.1", _free_port(), "none"))


@pytest.fixture
def smtp_starttls_server(tmp_path: Path) -> Iterator[SmtpBox]:
    """SMTP with STARTTLS and a required login."""
    context = _certificate(tmp_path)
    yield from _serve(
        SmtpBox("127.0.0.1", _free_port(), "starttls"),
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )


@pytest.fixture
def smtps_server(tmp_path: Path) -> Iterator[SmtpBox]:
    """SMTP over TLS from the first byte."""
    context = _certificate(tmp_path)
    box = SmtpBox("127.0.0.1", _free_port(), "tls")
    controller = Controller(
        _Handler(box),
        hostname=box.host,
        port=box.port,
        ssl_context=context,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
