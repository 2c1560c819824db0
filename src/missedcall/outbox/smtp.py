"""Delivery over SMTP (aiosmtplib): a small pool of connections, every outcome classified.

The conversation is driven one command at a time (connect, EHLO, STARTTLS,
EHLO, AUTH, then per mail MAIL, RCPT for each recipient, DATA) so that each
reply is known by its step: ``missedcall check-smtp`` prints them, and the
runner learns which recipients were refused and why.

What an outcome means, after aiosmtplib's exceptions and Mailman's outgoing runner:

=============================================================  =========================
the server took DATA for at least one recipient                accepted (refusals listed)
no reply: connection refused, timeout, the server hung up      temporary, server-wide
a reply while connecting, greeting, STARTTLS or AUTH, or 421   temporary, server-wide
a 4xx reply to MAIL, RCPT or DATA                              temporary
a 5xx reply to MAIL, DATA, or RCPT for every recipient         permanent
=============================================================  =========================

*Server-wide* failures are about the server or our settings (down, overloaded,
a wrong password), not about the mail, so they never fail a mail at once and
tell the runner to pause.  Anything else (a bug, an address aiosmtplib refuses
to send) is raised to the caller, whose job is to set the mail aside.

A connection is reused for the next mail; one that went stale while idle is
replaced once, silently.  At most ``max_connections`` are open at a time.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Literal

from aiosmtplib import (
    SMTP,
    SMTPDataError,
    SMTPException,
    SMTPResponse,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPStatus,
)

from missedcall.config import SmtpSettings
from missedcall.outbox.mail import OutgoingMail, Refusal

__all__ = ["DeliveryResult", "Outcome", "Reply", "SmtpDelivery"]

Outcome = Literal["accepted", "temporary", "permanent"]

_SERVER_STEPS = frozenset({"connect", "ehlo", "starttls", "login"})
_SERVICE_NOT_AVAILABLE = 421


@dataclass(frozen=True, slots=True)
class Reply:
    """One step of the conversation and the server's answer; ``code`` None: no answer came."""

    step: str
    code: int | None
    text: str
    argument: str = ""  # the address of MAIL FROM and RCPT TO

    def __str__(self) -> str:
        step = f"{self.step} <{self.argument}>" if self.argument else self.step
        return f"{step}: {self.code if self.code is not None else 'no reply'} {self.text}".strip()


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one mail; ``reply`` is the answer that decided it."""

    outcome: Outcome
    reply: Reply
    server_wide: bool = False
    accepted: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()
    transcript: tuple[Reply, ...] = field(default=(), repr=False)

    @property
    def temporary_refusals(self) -> tuple[Refusal, ...]:
        return tuple(refusal for refusal in self.refused if not refusal.permanent)


class _StepError(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


class _Conversation:
    """One mail's (or one test's) exchange on one connection, reply by reply.

    Each step has ``timeout`` seconds for its reply.  The mail's own commands
    are given no timeout of aiosmtplib's: on Python 3.11 its ``wait_for`` takes
    two extra turns of the event loop per reply, which a busy server pays on
    every command of every mail.
    """

    def __init__(self, client: SMTP, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.replies: list[Reply] = []

    async def step(
        self, step: str, command: Awaitable[SMTPResponse], argument: str = ""
    ) -> SMTPResponse:
        """Run one command and note its reply; a failure is raised as :class:`_StepError`."""
        try:
            async with asyncio.timeout(self.timeout):
                response = await command
        except SMTPResponseException as error:
            reply = Reply(step, error.code, error.message, argument)
        except (SMTPException, OSError) as error:  # TimeoutError among them
            reply = Reply(step, None, _describe(error, self.timeout), argument)
        else:
            self.replies.append(Reply(step, response.code, response.message, argument))
            return response
        self.replies.append(reply)
        raise _StepError(reply)


class SmtpDelivery:
    """Sends mails through the configured server over at most ``max_connections`` connections.

    ``tls_context`` replaces the default (the system's certificate authorities,
    host names checked); tests pass one that trusts their own authority.
    """

    def __init__(self, settings: SmtpSettings, *, tls_context: ssl.SSLContext | None = None):
        self._settings = settings
        self._tls_context = tls_context
        self._clients: asyncio.LifoQueue[SMTP] = asyncio.LifoQueue()
        for _ in range(settings.max_connections):
            self._clients.put_nowait(self._client())

    @property
    def settings(self) -> SmtpSettings:
        return self._settings

    async def send(self, mail: OutgoingMail) -> DeliveryResult:
        """Offer ``mail`` to the server; raises only on what is no SMTP outcome at all."""
        client = await self._clients.get()
        try:
            return await self._send(client, mail)
        except BaseException:  # cancelled or a bug, mid-conversation: start afresh next time
            client.close()
            raise
        finally:
            self._clients.put_nowait(client)

    async def close(self) -> None:
        """Say goodbye on the open connections (those in use are left to finish)."""
        while not self._clients.empty():
            client = self._clients.get_nowait()
            if client.is_connected:
                try:
                    await client.quit()
                except (SMTPException, OSError):
                    client.close()

    def _client(self) -> SMTP:
        settings = self._settings
        return SMTP(
            hostname=settings.host,
            port=settings.port,
            use_tls=settings.security == "tls",
            start_tls=False,  # done by hand, so that the step is known
            timeout=settings.timeout_seconds,
            tls_context=self._tls_context,
        )

    async def _send(self, client: SMTP, mail: OutgoingMail) -> DeliveryResult:
        conversation = _Conversation(client, self._settings.timeout_seconds)
        reused = client.is_connected
        try:
            if not reused:
                await self._open(conversation)
            return await _deliver(conversation, mail)
        except _StepError as failure:
            if reused and _went_stale(failure.reply):
                client.close()
                return await self._send(client, mail)
            await _tidy(client, failure.reply)
            return _failed(failure.reply, conversation.replies)

    async def _open(self, conversation: _Conversation) -> None:
        client, settings = conversation.client, self._settings
        await conversation.step("connect", client.connect())
        await conversation.step("ehlo", client.ehlo())
        if settings.security == "starttls":
            await conversation.step("starttls", client.starttls())
            await conversation.step("ehlo", client.ehlo())
        if settings.username is not None and settings.password is not None:
            await conversation.step("login", client.login(settings.username, settings.password))


async def _deliver(conversation: _Conversation, mail: OutgoingMail) -> DeliveryResult:
    client, sender = conversation.client, mail.envelope_from
    await conversation.step("mail", client.mail(sender, timeout=None), sender)
    accepted: list[str] = []
    refused: list[Refusal] = []
    for recipient in mail.envelope_to:
        try:
            await conversation.step("rcpt", client.rcpt(recipient, timeout=None), recipient)
            accepted.append(recipient)
        except _StepError as failure:
            if failure.reply.code is None:
                raise
            refused.append(Refusal(recipient, failure.reply.code, failure.reply.text))
    if not accepted:
        await _reset(client)
        return _all_refused(refused, conversation.replies)
    await conversation.step("data", _data(client, mail.data))
    return DeliveryResult(
        "accepted",
        conversation.replies[-1],
        accepted=tuple(accepted),
        refused=tuple(refused),
        transcript=tuple(conversation.replies),
    )


async def _data(client: SMTP, message: bytes) -> SMTPResponse:
    """DATA, then the message with its dots stuffed and the final dot.

    Rendered messages end every line in CRLF already (:mod:`missedcall.render.mime`),
    and for them aiosmtplib's ``data()`` would only rewrite every line end once more,
    a regex pass over the whole message; anything else still goes through it.
    """
    if not _in_canonical_form(message):
        return await client.data(message, timeout=None)  # which also ends the last line
    start = await client.execute_command(b"DATA", timeout=None)
    if start.code != SMTPStatus.start_input:
        raise SMTPDataError(start.code, start.message)
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    protocol = client.protocol
    try:
        if protocol is None:
            raise SMTPServerDisconnected("Connection lost")
        protocol.write(stuffed + b".\r\n")
        response = await protocol.read_response(timeout=None)
    except SMTPServerDisconnected:
        client.close()  # as aiosmtplib does: the conversation is out of step
        raise
    if response.code != SMTPStatus.completed:
        raise SMTPDataError(response.code, response.message)
    return response


def _in_canonical_form(message: bytes) -> bool:
    """Every line, the last included, ends in CRLF, and no CR or LF stands alone."""
    ends = message.count(b"\r\n")
    return (
        message.endswith(b"\r\n") and message.count(b"\n") == ends and message.count(b"\r") == ends
    )


def _all_refused(refused: list[Refusal], replies: list[Reply]) -> DeliveryResult:
    """Nobody accepted: permanent only if every refusal is."""
    decisive = next((r for r in refused if not r.permanent), refused[0])
    outcome: Outcome = "permanent" if all(r.permanent for r in refused) else "temporary"
    return DeliveryResult(
        outcome,
        Reply("rcpt", decisive.code, decisive.reply, decisive.recipient),
        server_wide=decisive.code == _SERVICE_NOT_AVAILABLE,
        refused=tuple(refused),
        transcript=tuple(replies),
    )


def _failed(reply: Reply, replies: list[Reply]) -> DeliveryResult:
    server_wide = (
        reply.code is None or reply.step in _SERVER_STEPS or reply.code == _SERVICE_NOT_AVAILABLE
    )
    permanent = not server_wide and reply.code is not None and reply.code >= 500
    return DeliveryResult(
        "permanent" if permanent else "temporary",
        reply,
        server_wide=server_wide,
        transcript=tuple(replies),
    )


def _went_stale(reply: Reply) -> bool:
    """A reused connection the server dropped while idle fails at its first command."""
    return reply.step == "mail" and reply.code in (None, _SERVICE_NOT_AVAILABLE)


async def _tidy(client: SMTP, reply: Reply) -> None:
    """After a failure: drop a connection in doubt, clear the envelope of a good one."""
    if reply.code is None or reply.step in _SERVER_STEPS:
        client.close()
    else:
        await _reset(client)


async def _reset(client: SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.rset()
    except (SMTPException, OSError):
        client.close()


def _describe(error: BaseException, timeout: float) -> str:
    text = getattr(error, "message", None) or str(error)
    if not text and isinstance(error, TimeoutError):  # asyncio.timeout's says nothing
        text = f"timed out: no reply within {timeout:g} s"
    return " ".join(str(text or type(error).__name__).split())
