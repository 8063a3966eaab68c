"""Real servers on 127.0.0.1 for channel tests: an SMTP server (aiosmtpd) that keeps
what it receives, and an HTTP server (stdlib, in a thread) standing in for Slack,
Telegram or a webhook receiver, which records each request and answers with the
replies it was given.

    with smtp_server() as smtp: ...; smtp.received[0].message["Subject"]
    with http_receiver(Reply(429, b"{}", {"Retry-After": "7"})) as web: ...; web.requests
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on (just now): for servers that need a number up front,
    and for a connection that must be refused."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


# --- SMTP ------------------------------------------------------------------------

@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage  # parsed with the modern policy


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (username, password)


class _Handler:
    def __init__(self, server: SmtpServer, rcpt_reply: str | None) -> None:
        self.server = server
        self.rcpt_reply = rcpt_reply

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        content = cast(bytes, envelope.original_content or envelope.content)
        parsed = message_from_bytes(content, policy=policy.default)
        self.server.received.append(
            ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@contextmanager
def smtp_server(*, credentials: tuple[str, str] | None = None,
                tls: tuple[Path, Path] | None = None, implicit_tls: bool = False,
                rcpt_reply: str | None = None) -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port. ``credentials``: AUTH is offered and
    only this (username, password) accepted. ``tls``: (certificate, key) files, and
    STARTTLS is required (``implicit_tls``: TLS from the first byte instead).
    ``rcpt_reply``: every RCPT gets this answer (e.g. "550 ...")."""
    server = SmtpServer(LOOPBACK, free_port())
    kwargs: dict[str, Any] = {}
    if credentials is not None:
        def authenticate(smtp: SMTP, session: Session, envelope: Envelope,
                         mechanism: str, data: Any) -> AuthResult:
            if isinstance(data, LoginPassword):
                pair = (data.login.decode(), data.password.decode())
                server.logins.append(pair)
                return AuthResult(success=pair == credentials, handled=False)
            return AuthResult(success=False, handled=False)

        # (aiosmtpd counts only STARTTLS as TLS for AUTH: implicit TLS must waive it.)
        kwargs.update(authenticator=authenticate,
                      auth_require_tls=tls is not None and not implicit_tls)
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        if implicit_tls:
            kwargs.update(ssl_context=context)
        else:
            kwargs.update(tls_context=context, require_starttls=True)
    controller = Controller(_Handler(server, rcpt_reply), hostname=LOOPBACK,
                            port=server.port, ready_timeout=10, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, written to ``folder``.
    Trust it in a test with SSL_CERT_FILE=<certificate>."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


# --- HTTP ------------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    """What the HTTP receiver answers. ``hang``: answer nothing until the test ends
    (for timeouts)."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class HttpReceiver:
    """A loopback HTTP server's base ``url`` and what it received (``requests``)."""

    def __init__(self, replies: tuple[Reply, ...]) -> None:
        self.replies = list(replies) or [Reply()]
        self.requests: list[Recorded] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.url = ""

    def next_reply(self) -> Reply:
        """The replies in order; the last one repeats."""
        with self.lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def _handler_class(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests.append(Recorded(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                    body))
            reply = receiver.next_reply()
            if reply.hang:
                receiver.release.wait(30)
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@contextmanager
def http_receiver(*replies: Reply, port: int = 0) -> Iterator[HttpReceiver]:
    """An HTTP server on a loopback port (``port``, or a free one), answering POSTs
    with ``replies``."""
    receiver = HttpReceiver(replies)
    server = ThreadingHTTPServer((LOOPBACK, port), _handler_class(receiver))
    server.daemon_threads = True
    receiver.url = f"http://{LOOPBACK}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
