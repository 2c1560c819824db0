"""Helpers for outbox tests: mails, a clock the test moves, settings for a sink."""

from __future__ import annotations

from dataclasses import dataclass

from missedcall.config import SmtpSettings
from missedcall.outbox.mail import OutgoingMail

T0 = 1_800_000_000.0


@dataclass
class FakeClock:
    """Wall-clock seconds that move only when the test says so."""

    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def mail(number: int, *to: str, user: str = "anna") -> OutgoingMail:
    """The mail about call ``c<number>`` for ``user``; to anna@example.com unless told."""
    message_id = f"<c{number}.{user}@missedcall.test>"
    data = (
        f"From: PBX <pbx@example.com>\r\nTo: {', '.join(to or ('anna@example.com',))}\r\n"
        f"Subject: Missed call {number}\r\nMessage-ID: {message_id}\r\n\r\n"
        f"You missed call {number}.\r\n"
    ).encode()
    return OutgoingMail(
        call_id=f"c{number}",
        user=user,
        envelope_from="pbx@example.com",
        envelope_to=to or ("anna@example.com",),
        message_id=message_id,
        data=data,
    )


def smtp_settings(port: int, **overrides: object) -> SmtpSettings:
    """Settings for a sink on 127.0.0.1:``port``; keys as in the ``[smtp]`` table."""
    return SmtpSettings.model_validate(
        {
            "host": "127.0.0.1",
            "port": port,
            "from": "PBX <pbx@example.com>",
            "timeout_seconds": 2.0,
            **overrides,
        }
    )
