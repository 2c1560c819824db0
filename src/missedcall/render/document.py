"""The XML document a template turns into a message: one per notification.

Administrators write templates against these element names, so they are a
contract: documented one by one in ``docs/template-input.md``, only ever
added to.  Conventions: values are elements, not attributes; an optional value
that is unknown is left out (so ``xsl:if test="contact/company"`` works);
booleans are ``true``/``false``; every outside text (caller, contact) has been
through :mod:`missedcall.render.clean`.

The document is written as text by :class:`~missedcall.render.xmlwriter.XmlWriter`,
which escapes every value, and parsed once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from lxml import etree

from missedcall.calls.record import CallRecord, Participant, iso_time
from missedcall.config import UserSettings
from missedcall.directory.contacts import Contact
from missedcall.directory.numbering import Numbering
from missedcall.render.clean import one_line, paragraphs
from missedcall.render.i18n import Language
from missedcall.render.links import number_forms, telephony_link
from missedcall.render.xmlwriter import XmlWriter, escape

__all__ = [
    "DOCUMENT_VERSION",
    "CallParts",
    "DocumentFacts",
    "MailFacts",
    "build_document",
    "call_parts",
]

DOCUMENT_VERSION = "1"
"""Raised only if an element changes meaning; new elements keep the version."""

OwnerOf = Callable[[str], UserSettings | None]


@dataclass(frozen=True, slots=True)
class MailFacts:
    """How the mail is sent, so a template can say where a reply goes."""

    sender: str  # the sender mode in effect: server, caller, caller-reply-to
    replies_reach_caller: bool
    vcard_attached: bool


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """Everything one notification's document is made of."""

    record: CallRecord
    recipient: UserSettings
    line: str
    contact: Contact | None
    language: Language
    zone: ZoneInfo
    numbering: Numbering
    owner_of: OwnerOf
    link_prefix: str | None
    mail: MailFacts


@dataclass(frozen=True, slots=True)
class CallParts:
    """What the documents of a call have in common, in one language, written once.

    A ring group's call goes to every member: only ``recipient`` and each
    participant's ``is-recipient`` differ from one member's document to the next.
    """

    head: str  # call, caller, contact
    participants: tuple[tuple[str, str | None, str], ...]  # before is-recipient, owner id, after
    tail: str  # answered-by, pickup, forwards, busy


def call_parts(facts: DocumentFacts) -> CallParts:
    """The parts of ``facts``' document that do not depend on its recipient."""
    head = XmlWriter()
    _call(head, facts)
    _caller(head, facts)
    if facts.contact is not None:
        _contact(head, facts.contact, facts)
    tail = XmlWriter()
    _other_parties(tail, facts)
    return CallParts(
        head.text(), tuple(_participant(p, facts) for p in facts.record.participants), tail.text()
    )


def build_document(facts: DocumentFacts, parts: CallParts | None = None) -> etree._ElementTree:
    """The document; ``parts`` are :func:`call_parts` of the same call, language and
    contact (written for another recipient), or None to write them here."""
    parts = parts or call_parts(facts)
    recipient = facts.recipient.id
    out = XmlWriter()
    with out.element("notification", version=DOCUMENT_VERSION):
        out.add_written(parts.head)
        _recipient(out, facts)
        with out.element("participants"):
            for before, owner, after in parts.participants:
                out.add_written(before)
                out.flag("is-recipient", owner == recipient)
                out.add_written(after)
        out.add_written(parts.tail)
        _mail(out, facts.mail)
        with out.element("language"):
            out.add("code", facts.language.code)
            out.add("name", facts.language.name)
        out.add_written(_strings(facts.language))
    return etree.ElementTree(out.parse())


@lru_cache(maxsize=64)
def _strings(language: Language) -> str:
    """The ``strings`` element of a language, written once (an empty string is kept)."""
    written = "".join(f"<{key}>{escape(text)}</{key}>" for key, text in language.strings.items())
    return f"<strings>{written}</strings>"


def _moment(out: XmlWriter, tag: str, epoch: float, facts: DocumentFacts) -> None:
    """A point in time, in UTC (as ``missedcall calls`` prints it) and in local forms."""
    with out.element(tag):
        out.add("iso", iso_time(epoch))
        out.add_all(_local_forms(int(epoch), facts.zone, facts.language))


@lru_cache(maxsize=256)
def _local_forms(second: int, zone: ZoneInfo, language: Language) -> tuple[tuple[str, str], ...]:
    """The local forms of a second; the phones of a group start ringing in the same one."""
    local = datetime.fromtimestamp(second, zone)
    when = language.when(local)
    return (
        ("local", local.isoformat(timespec="seconds")),
        ("date", when.date),
        ("time", when.time),
        ("text", when.text),
    )


def _seconds(out: XmlWriter, seconds: float, language: Language) -> None:
    out.add("ring-seconds", str(max(0, round(seconds))))
    out.add("ring-duration", language.duration(seconds))


def _call_ring_seconds(record: CallRecord) -> float:
    """From the first alert of any line to the answer or the end (SPEC §5 ``min_ring_seconds``)."""
    if not record.participants:
        return 0.0
    first = min(p.first_alert_at for p in record.participants)
    until = record.answered_at if record.answered_at is not None else record.ended_at
    return max(0.0, until - first)


def _call(out: XmlWriter, facts: DocumentFacts) -> None:
    record = facts.record
    with out.element("call"):
        out.add("id", one_line(record.call_id))
        out.add("direction", record.direction)
        out.add("dialed", one_line(record.dialed))
        out.add("dialed-display", one_line(number_forms(facts.numbering, record.dialed).display))
        _moment(out, "started", record.started_at, facts)
        _moment(out, "ended", record.ended_at, facts)
        _seconds(out, _call_ring_seconds(record), facts.language)
        out.flag("answered", record.answered_by is not None)
        out.flag("voicemail", record.voicemail)
        out.flag("incomplete", record.incomplete)
        out.add("time-zone", str(facts.zone))


def _caller(out: XmlWriter, facts: DocumentFacts) -> None:
    signalled = facts.record.caller
    number = one_line(signalled.number)
    forms = number_forms(facts.numbering, number)
    hidden = signalled.presentation == "restricted" or not forms.dialable
    with out.element("caller"):
        out.add("number", number)
        if not hidden:
            out.add("display", one_line(forms.display))
            out.add("dialable", forms.dialable)
            out.add("link", telephony_link(facts.link_prefix, facts.numbering, number))
        out.add("name", one_line(signalled.name))
        out.add("label", _caller_label(facts))
        out.add("presentation", signalled.presentation)
        out.flag("hidden", hidden)
        out.add("line", facts.record.caller_line)


def _caller_label(facts: DocumentFacts) -> str:
    """The best name for the caller: the contact's, the one signalled, or the colleague's."""
    if facts.contact is not None and one_line(facts.contact.name):
        return one_line(facts.contact.name)
    if one_line(facts.record.caller.name):
        return one_line(facts.record.caller.name)
    line = facts.record.caller_line
    owner = facts.owner_of(line) if line else None
    return one_line(owner.name) if owner else ""


def _contact(out: XmlWriter, contact: Contact, facts: DocumentFacts) -> None:
    with out.element("contact"):
        out.add("name", one_line(contact.name))
        out.add("company", one_line(contact.company))
        out.add("title", one_line(contact.title))
        out.add("department", one_line(contact.department))
        out.add("email", one_line(contact.email))
        if contact.phones:
            with out.element("phones"):
                for kind, number in contact.phones:
                    _phone(out, kind, one_line(number), facts)
        address = [
            ("street", one_line(contact.street)),
            ("postal-code", one_line(contact.postal_code)),
            ("city", one_line(contact.city)),
            ("country", one_line(contact.country)),
        ]
        if any(value for _, value in address):
            with out.element("address"):
                for tag, value in address:
                    out.add(tag, value)
        out.add("note", paragraphs(contact.note))


def _phone(out: XmlWriter, kind: str, number: str, facts: DocumentFacts) -> None:
    with out.element("phone"):
        out.add("kind", kind)
        out.add("number", number)
        out.add("display", one_line(number_forms(facts.numbering, number).display))
        out.add("link", telephony_link(facts.link_prefix, facts.numbering, number))


def _recipient(out: XmlWriter, facts: DocumentFacts) -> None:
    user = facts.recipient
    with out.element("recipient"):
        out.add("id", user.id)
        out.add("name", one_line(user.name))
        out.add("email", user.email)
        out.add("line", facts.line)
        out.add("language", user.language)


def _party(out: XmlWriter, line: str, owner_of: OwnerOf) -> UserSettings | None:
    """A line and its owner: the shape of every party (participant, pickup, forward…)."""
    out.add("line", line)
    owner = owner_of(line)
    if owner is not None:
        out.add("owner", one_line(owner.name))
        out.add("owner-id", owner.id)
    return owner


def _other_parties(out: XmlWriter, facts: DocumentFacts) -> None:
    """Everyone the call met but its participants: who answered, picked up, forwarded…"""
    record, owner_of = facts.record, facts.owner_of
    if record.answered_by is not None:
        with out.element("answered-by"):
            _party(out, record.answered_by, owner_of)
            if record.answered_at is not None:
                _moment(out, "at", record.answered_at, facts)
    if record.pickup is not None:
        with out.element("pickup"):
            with out.element("by"):
                _party(out, record.pickup.by, owner_of)
            with out.element("from"):
                _party(out, record.pickup.from_line, owner_of)
            _moment(out, "at", record.pickup.at, facts)
    with out.element("forwards"):
        for forward in record.forwards:
            with out.element("forward"):
                out.add("kind", forward.kind)
                with out.element("from"):
                    _party(out, forward.from_line, owner_of)
                with out.element("to"):
                    _party(out, forward.to_line, owner_of)
    with out.element("busy"):
        for line in record.busy:
            with out.element("party"):
                _party(out, line, owner_of)


def _participant(participant: Participant, facts: DocumentFacts) -> tuple[str, str | None, str]:
    """The participant's XML before its ``is-recipient``, its owner's id, the XML after."""
    before = XmlWriter()
    before.add_written("<participant>")
    owner = _party(before, participant.line, facts.owner_of)
    after = XmlWriter()
    _moment(after, "first-alert", participant.first_alert_at, facts)
    _seconds(after, participant.ring_seconds, facts.language)
    after.flag("answered", participant.answered)
    if participant.answered_at is not None:
        _moment(after, "answered-at", participant.answered_at, facts)
    after.add_written("</participant>")
    return before.text(), None if owner is None else owner.id, after.text()


def _mail(out: XmlWriter, mail: MailFacts) -> None:
    with out.element("mail"):
        out.add("sender", mail.sender)
        out.flag("replies-reach-caller", mail.replies_reach_caller)
        out.flag("vcard-attached", mail.vcard_attached)
