"""A composed notification as RFC 5322 bytes: the headers of the sender mode, then MIME.

In ``server`` mode the mail says it is automatic (RFC 3834 ``Auto-Submitted``,
Exchange's ``X-Auto-Response-Suppress``) so that absence replies do not pile up
at the server's address; in the caller modes it does not, because there an
absence reply reaching the caller is the point.  The MIME boundaries come from
the Message-ID, so the same notification always gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache

from missedcall.render.headers import address_field, field, unstructured_field
from missedcall.render.mime import Part, attachment, multipart, text_part
from missedcall.render.vcard import VCard

__all__ = ["Composed", "Envelope", "Mailbox", "assemble"]

Mailbox = tuple[str, str]  # (display name, address)

_AUTOMATIC = (
    field("Auto-Submitted", "auto-generated"),
    field("X-Auto-Response-Suppress", "All"),
)
_MIME_VERSION = field("MIME-Version", "1.0")


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the headers say."""

    date: datetime  # the end of the call
    sender: str  # the sender mode in effect: server, caller, caller-reply-to
    server: Mailbox
    caller: Mailbox  # the address is empty unless a caller mode is in effect
    recipient: Mailbox
    subject: str
    message_id: str  # with the angle brackets


@dataclass(frozen=True, slots=True)
class Composed:
    """A notification with its texts made, before MIME."""

    envelope: Envelope
    text: str
    html: str
    language: str
    vcard: VCard | None


def assemble(composed: Composed) -> bytes:
    """The whole message: 7-bit, CRLF line ends, no line over 78 characters."""
    return _body(composed).to_bytes(_headers(composed.envelope))


def _headers(envelope: Envelope) -> list[str]:
    sender = envelope.sender
    headers = [
        _date_field(envelope.date),
        _mailbox_field("From", envelope.caller if sender == "caller" else envelope.server),
    ]
    if sender == "caller":
        headers.append(_mailbox_field("Sender", envelope.server))
    if sender == "caller-reply-to":
        headers.append(_mailbox_field("Reply-To", envelope.caller))
    headers += [
        _mailbox_field("To", envelope.recipient),
        unstructured_field("Subject", envelope.subject),
        field("Message-ID", envelope.message_id),
    ]
    if sender == "server":
        headers += _AUTOMATIC
    headers.append(_MIME_VERSION)
    return headers


def _date_field(moment: datetime) -> str:
    """The Date field: the mails of a call share it (its end)."""
    return _date_at_offset(moment, moment.utcoffset())


@lru_cache(maxsize=64)
def _date_at_offset(moment: datetime, offset: timedelta | None) -> str:
    # The offset is part of the key: the same instant in another zone is an equal datetime.
    return field("Date", format_datetime(moment))


@lru_cache(maxsize=256)
def _mailbox_field(name: str, mailbox: Mailbox) -> str:
    """A field of one mailbox: the server's is in every mail, a user's in many."""
    return address_field(name, [mailbox])


def _body(composed: Composed) -> Part:
    token = composed.envelope.message_id[1:9]
    parts = [text_part("plain", composed.text), text_part("html", composed.html)]
    alternative = multipart("alternative", f"=_mc_{token}_alt", parts)
    if composed.vcard is None:
        return alternative
    return multipart("mixed", f"=_mc_{token}_mix", [alternative, _card(composed.vcard)])


@lru_cache(maxsize=256)
def _card(vcard: VCard) -> Part:
    """The vCard attachment; the same caller's card is encoded once."""
    return attachment("text/vcard", vcard.filename, vcard.text)
