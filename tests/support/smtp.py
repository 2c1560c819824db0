"""A controllable SMTP server on 127.0.0.1 for tests: aiosmtpd with a recording handler.

It runs in the test's own event loop (no thread), records every message it
accepts (and can store it in a Maildir), and has switches for what real servers
do to us: refuse recipients, answer 451 for a while, hang, drop connections,
require a login, speak STARTTLS or implicit TLS with certificates from a
throw-away authority (trustme).  Stop it and start it again on the same port to
play a server that was down.
"""

from __future__ import annotations

import asyncio
import mailbox
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, Literal

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class Received:
    """A message the sink accepted, with how it came."""

    envelope_from: str
    envelope_to: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message_id(self) -> str:
        return str(BytesHeaderParser().parsebytes(self.data)["Message-ID"])


class Certificates:
    """A throw-away certificate authority and a certificate for 127.0.0.1 and localhost."""

    def __init__(self) -> None:
        self.authority = trustme.CA()
        self._certificate = self.authority.issue_cert("127.0.0.1", "localhost")

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._certificate.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.authority.configure_trust(context)
        return context

    def authority_file(self, folder: Path) -> Path:
        """The authority as a PEM file, e.g. for ``SSL_CERT_FILE``."""
        path = folder / "test-ca.pem"
        self.authority.cert_pem.write_to_path(str(path))
        return path


@dataclass
class SmtpSink:
    """An SMTP server with switches; ``await start()``, ``await stop()``, or ``async with``."""

    security: Security = "none"
    certificates: Certificates | None = None
    logins: dict[str, str] | None = None  # required AUTH: user -> password
    maildir: Path | None = None
    # Switches, changeable at any time:
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> reply, e.g. "550 ..."
    busy_replies: int = 0  # answer this many next DATA commands with 451
    hang_seconds: float = 0.0  # wait this long before answering DATA
    drop_connections: int = 0  # hang up on this many next MAIL commands, without a reply
    # What happened:
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _sessions: list[SMTP] = field(default_factory=list)

    async def __aenter__(self) -> SmtpSink:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on 127.0.0.1: on a free port the first time, on the same port after."""
        tls = self.security == "tls"
        self._server = await asyncio.get_running_loop().create_server(
            self._protocol,
            "127.0.0.1",
            self.port,
            ssl=self._server_context() if tls else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and hang up on every client, as a server that went down."""
        if self._server is not None:
            self._server.close()
            for session in self._sessions:
                _hang_up(session)
            self._sessions.clear()
            await self._server.wait_closed()
            self._server = None

    @property
    def recipients(self) -> list[str]:
        return [to for message in self.received for to in message.envelope_to]

    def _server_context(self) -> ssl.SSLContext:
        if self.certificates is None:
            raise ValueError("TLS needs certificates")
        return self.certificates.server_context()

    def _protocol(self) -> SMTP:
        self.connections += 1
        starttls = self.security == "starttls"
        with warnings.catch_warnings():
            # Implicit TLS is TLS, but aiosmtpd cannot tell and warns about AUTH without it.
            warnings.simplefilter("ignore", UserWarning)
            session = SMTP(
                _Handler(self),
                hostname="sink.test",
                tls_context=self._server_context() if starttls else None,
                require_starttls=starttls,
                authenticator=self._authenticate if self.logins is not None else None,
                auth_required=self.logins is not None,
                auth_require_tls=starttls,
                loop=asyncio.get_running_loop(),
            )
        self._sessions.append(session)
        return session

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = (
            isinstance(data, LoginPassword)
            and self.logins is not None
            and self.logins.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=good, handled=False, auth_data=data)

    def record(self, server: SMTP, session: Session, envelope: Envelope) -> None:
        data = envelope.original_content or b""
        login = session.auth_data.login.decode() if session.auth_data else None
        tls = session.ssl is not None or _is_tls(server)
        self.received.append(
            Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), data, tls, login)
        )
        if self.maildir is not None:
            mailbox.Maildir(self.maildir).add(data)


class _Handler:
    """aiosmtpd's hooks, each asking the sink's switches."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.sink.drop_connections > 0:
            self.sink.drop_connections -= 1
            _hang_up(server)
            return "421 4.3.0 gone"  # never arrives: the connection is closed
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.sink.refuse.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.sink.hang_seconds:
            await asyncio.sleep(self.sink.hang_seconds)
        if self.sink.busy_replies > 0:
            self.sink.busy_replies -= 1
            return "451 4.3.0 busy, try again later"
        self.sink.record(server, session, envelope)
        return f"250 2.0.0 queued as {len(self.sink.received)}"


@contextmanager
def serving_in_a_thread(sink: SmtpSink) -> Iterator[SmtpSink]:
    """Run ``sink`` on an event loop of its own, for code under test that runs its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="smtp-sink", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(sink.start(), loop).result(timeout=5)
        yield sink
    finally:
        asyncio.run_coroutine_threadsafe(sink.stop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def _hang_up(server: SMTP) -> None:
    """Close the connection at once, without a word: what a crashed server does."""
    if isinstance(server.transport, asyncio.Transport):
        server.transport.abort()


def _is_tls(server: SMTP) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None
