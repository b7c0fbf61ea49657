"""HTTPS to the checked address: the certificate is verified against the host name, not the address."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from image_pipeline.webhooks.adapters.transport import SafeTransport
from image_pipeline.webhooks.domain.targets import TargetPolicy

HOST = "hooks.example.com"


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _Answer(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Answer.seen.append((self.path, self.headers["host"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def _server(cert: Path, key: Path, handler: type[BaseHTTPRequestHandler] | None = None) -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), handler or _Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return _certificate(tmp_path, HOST)


def _transport(trusted: Path) -> SafeTransport:
    # https only; the loopback network is let through so that the test server can stand in for the host
    policy = TargetPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    return SafeTransport(
        policy, resolver=lambda host, port: ["127.0.0.1"], tls=ssl.create_default_context(cafile=str(trusted))
    )


def test_https_reaches_the_checked_address_with_the_host_name_verified(certificate: tuple[Path, Path]) -> None:
    # Given a TLS server for hooks.example.com that DNS (faked) places at 127.0.0.1
    with _server(*certificate) as port:
        # When a delivery is posted to https://hooks.example.com:<port>/in
        answer = _transport(certificate[0]).post(f"https://{HOST}:{port}/in?x=1", b'{"a":1}', {})
        # Then the certificate matched the name, the request named the host, and the body arrived
        assert answer.status == 204
        assert _Answer.seen[-1] == ("/in?x=1", f"{HOST}:{port}", b'{"a":1}')


def test_a_certificate_for_another_name_is_an_error_to_retry(tmp_path: Path) -> None:
    # Given the server presents a certificate for another name at the address the host resolves to
    cert, key = _certificate(tmp_path, "other.example.net")
    with _server(cert, key) as port:
        answer = _transport(cert).post(f"https://{HOST}:{port}/in", b"{}", {})
        # Then nothing is delivered: no status, a TLS error (retried like a connection failure)
        assert answer.status is None
        assert "certificate" in (answer.error or "").lower()


class _Trickle(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(20):  # each header line well within a per-read timeout, all of them not
            self.wfile.write(b"x-slow: 1\r\n")
            self.wfile.flush()
            time.sleep(0.15)
        self.wfile.write(b"content-length: 0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        return


def test_an_answer_trickling_in_over_tls_past_the_limit_is_a_timeout(certificate: tuple[Path, Path]) -> None:
    # Given a TLS endpoint that takes about 3 s to send its headers
    with _server(*certificate, handler=_Trickle) as port:
        policy = TargetPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
        transport = SafeTransport(
            policy,
            resolver=lambda host, port: ["127.0.0.1"],
            tls=ssl.create_default_context(cafile=str(certificate[0])),
            timeout_seconds=1,
        )
        # When the transport allows one second for the whole attempt
        answer = transport.post(f"https://{HOST}:{port}/in", b"{}", {})
    # Then it is a timeout, not a delivery
    assert answer.status is None
    assert "timed out" in (answer.error or "")
