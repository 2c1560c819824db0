"""A rendered notification, ready to queue (what the renderer hands over), and its refusals."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OutgoingMail", "Refusal"]


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One mail for one user about one call.

    ``(call_id, user)`` identifies it: the outbox queues it at most once.
    ``data`` is the whole RFC 5322 message (headers and body, CRLF line ends);
    the envelope is kept apart because ``sender = "caller"`` makes the From
    header differ from the address bounces go to.
    """

    call_id: str
    user: str
    envelope_from: str
    envelope_to: tuple[str, ...]
    message_id: str
    data: bytes

    def __post_init__(self) -> None:
        if not self.envelope_to:
            raise ValueError(f"mail for call {self.call_id} to {self.user} has no recipient")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A recipient the SMTP server refused, with its reply: 4xx for now, 5xx for good."""

    recipient: str
    code: int
    reply: str

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def to_json(self) -> dict[str, str | int]:
        return {"recipient": self.recipient, "code": self.code, "reply": self.reply}
