"""``missedcall check-smtp``: send a test mail through the configured server, show the talk.

The mail goes through the same :class:`~missedcall.outbox.smtp.SmtpDelivery`
as notifications do, so what works here works for them.  Each step of the SMTP
conversation is printed with the server's reply (connect, EHLO, STARTTLS,
AUTH, MAIL FROM, RCPT TO, DATA), then the verdict, or the step that failed
with its code and text.  Exit codes: 0 accepted, 1 not accepted, 2 the
command line or configuration is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import unicodedata
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, localtime, make_msgid, parseaddr

from missedcall.config import ConfigError, SmtpSettings, load_config
from missedcall.outbox.mail import OutgoingMail
from missedcall.outbox.smtp import DeliveryResult, Reply, SmtpDelivery

__all__ = ["run"]

_STEPS = {
    "connect": "connect",
    "ehlo": "EHLO",
    "starttls": "STARTTLS",
    "login": "AUTH",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
}


def run(args: argparse.Namespace) -> int:
    """``args``: ``config`` (path), ``to`` (address or None: the From address), ``verbose``."""
    try:
        settings = load_config(args.config).smtp
    except ConfigError as error:
        print(f"missedcall check-smtp: {args.config}: invalid configuration:", file=sys.stderr)
        print(error, file=sys.stderr)
        return 2
    if settings is None:
        print(f"missedcall check-smtp: {args.config}: no [smtp] section", file=sys.stderr)
        return 2
    mail = test_mail(settings, args.to or _address(settings.from_))
    print(_heading(settings))
    result = asyncio.run(_send(settings, mail))
    for reply in result.transcript:
        print(_line(reply, args.verbose))
    print(_verdict(result, mail))
    return 0 if result.outcome == "accepted" else 1


def test_mail(settings: SmtpSettings, to: str) -> OutgoingMail:
    """A short plain-text mail that says what it is."""
    sender = _address(settings.from_)
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = settings.from_
    message["To"] = to
    message["Subject"] = "missedcall: test mail (check-smtp)"
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = make_msgid("check-smtp", domain=sender.rpartition("@")[2] or None)
    message.set_content(
        "This is a test mail sent by 'missedcall check-smtp'.\n"
        "If you can read it, missedcall can send missed-call notifications through\n"
        f"{settings.host}:{settings.port}.\n"
    )
    return OutgoingMail(
        call_id="check-smtp",
        user="check-smtp",
        envelope_from=sender,
        envelope_to=(to,),
        message_id=str(message["Message-ID"]),
        data=message.as_bytes(),
    )


async def _send(settings: SmtpSettings, mail: OutgoingMail) -> DeliveryResult:
    delivery = SmtpDelivery(settings)
    try:
        return await delivery.send(mail)
    finally:
        await delivery.close()


def _heading(settings: SmtpSettings) -> str:
    login = f", login as {settings.username}" if settings.username else ", no login"
    return f"smtp {settings.host}:{settings.port} security={settings.security}{login}"


def _line(reply: Reply, verbose: bool) -> str:
    step = _STEPS.get(reply.step, reply.step)
    if reply.argument:
        step += f" <{_printable(reply.argument)}>"
    code = "---" if reply.code is None else str(reply.code)
    lines = reply.text.splitlines() or [""]
    shown = lines if verbose else lines[:1]
    indent = "\n" + " " * 44  # under the text of the first line
    return f"  {step:<36}  {code} {indent.join(_printable(line) for line in shown)}".rstrip()


def _verdict(result: DeliveryResult, mail: OutgoingMail) -> str:
    if result.outcome == "accepted":
        return f"OK: accepted for {', '.join(result.accepted)} (Message-ID {mail.message_id})"
    reply = result.reply
    step = _STEPS.get(reply.step, reply.step)
    code = "no reply" if reply.code is None else str(reply.code)
    kind = "temporary, would be retried" if result.outcome == "temporary" else "permanent"
    return f"FAILED at {step}: {code} {_printable(reply.text)} ({kind})"


def _address(mailbox: str) -> str:
    """``Phone system <pbx@example.com>`` -> ``pbx@example.com``."""
    return parseaddr(mailbox)[1] or mailbox


def _printable(text: str) -> str:
    """A server's text reaches the terminal without escape sequences."""
    return "".join("?" if unicodedata.category(c).startswith("C") else c for c in text)
