"""A decision's mail, ready to send: the renderer (SPEC §7).

For one call and one recipient: the template document, the subject, text
and HTML from the templates, the caller's vCard, and the sender mode's
headers (:mod:`missedcall.render.assemble`).  The Message-ID is derived from
call and recipient, so a re-send is recognisably the same message.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from missedcall.calls.record import CallRecord
from missedcall.config import NotifySettings, UserSettings
from missedcall.directory.contacts import Contact
from missedcall.directory.users import Directory
from missedcall.render.assemble import Composed, Envelope, Mailbox, assemble
from missedcall.render.document import (
    CallParts,
    DocumentFacts,
    MailFacts,
    build_document,
    call_parts,
)
from missedcall.render.headers import header_text, is_address
from missedcall.render.i18n import Languages
from missedcall.render.vcard import VCard, vcard_of
from missedcall.render.xslt import TemplateError, Templates
from missedcall.rules.decision import Target

__all__ = ["RenderError", "RenderedMail", "Renderer", "message_id"]


class RenderError(ValueError):
    """A notification that cannot become a mail: no usable recipient address, or a
    template that failed (even the packaged one, or any one in ``strict`` mode)."""


@dataclass(frozen=True, slots=True)
class RenderedMail:
    message_id: str  # with the angle brackets, as in the header
    envelope_from: str  # the server's address: bounces come back to it in every sender mode
    to: str
    subject: str
    text: str
    html: str
    language: str
    vcard: VCard | None
    data: bytes  # the whole message, CRLF line ends, 7-bit


class Renderer:
    """Turns (call, recipient, contact) into a :class:`RenderedMail`."""

    def __init__(
        self,
        *,
        notify: NotifySettings,
        server_mailbox: str,
        zone: ZoneInfo,
        directory: Directory,
        templates: Templates,
        languages: Languages,
    ) -> None:
        name, address = parseaddr(server_mailbox)
        if not is_address(address):
            raise RenderError(f"server address {server_mailbox!r} is not an e-mail address")
        self._server: Mailbox = (name, address)
        self._notify = notify
        self._zone = zone
        self._directory = directory
        self._templates = templates
        self._languages = languages
        self._last_parts: tuple[tuple[object, ...], CallParts] | None = None

    @property
    def templates(self) -> Templates:
        return self._templates

    @property
    def languages(self) -> Languages:
        return self._languages

    def render(
        self,
        record: CallRecord,
        target: Target,
        user: UserSettings,
        contact: Contact | None,
        *,
        language: str | None = None,
        strict: bool = False,
    ) -> RenderedMail:
        """The mail for ``user`` about ``record``; ``language`` overrides the user's choice,
        ``strict`` makes a failing template an error instead of falling back to the default."""
        composed = self.compose(record, target, user, contact, language=language, strict=strict)
        envelope = composed.envelope
        return RenderedMail(
            message_id=envelope.message_id,
            envelope_from=envelope.server[1],
            to=envelope.recipient[1],
            subject=envelope.subject,
            text=composed.text,
            html=composed.html,
            language=composed.language,
            vcard=composed.vcard,
            data=assemble(composed),
        )

    def compose(
        self,
        record: CallRecord,
        target: Target,
        user: UserSettings,
        contact: Contact | None,
        *,
        language: str | None = None,
        strict: bool = False,
    ) -> Composed:
        """Everything :meth:`render` makes but the MIME bytes (for previews, and benchmarks)."""
        to = target.to or user.email
        if not to or not is_address(to):
            raise RenderError(f"user {user.id!r} has no usable e-mail address ({to!r})")
        chosen = self._languages.get(language or user.language or self._notify.language)
        caller_address = _caller_address(contact)
        sender = self._notify.sender if caller_address else "server"
        vcard = vcard_of(contact) if contact is not None and self._notify.attach_vcard else None
        facts = DocumentFacts(
            record=record,
            recipient=user,
            line=target.line,
            contact=contact,
            language=chosen,
            zone=self._zone,
            numbering=self._directory.numbering,
            owner_of=self._directory.user_of_line,
            link_prefix=self._notify.link_prefix,
            mail=MailFacts(sender, sender != "server", vcard is not None),
        )
        document = build_document(facts, self._call_parts(facts))
        apply = self._templates.apply
        try:
            subject = apply("subject.xsl", document, strict=strict)
            text = apply("text.xsl", document, strict=strict)
            html = apply("html.xsl", document, strict=strict)
        except TemplateError as error:
            raise RenderError(f"template failed: {error}") from error
        envelope = Envelope(
            date=datetime.fromtimestamp(record.ended_at, self._zone),
            sender=sender,
            server=self._server,
            caller=(document.findtext("caller/label") or "", caller_address or ""),
            recipient=(user.name, to),
            subject=header_text(subject),
            message_id=message_id(record.call_id, user.id, self._server[1]),
        )
        return Composed(envelope, text, html, chosen.code, vcard)

    def _call_parts(self, facts: DocumentFacts) -> CallParts:
        """The parts of the last call's document if this is that call again, for another
        recipient (the server renders a call's mails one after the other), else new ones.

        The same call means the same objects (record, contact, language: see
        :class:`~missedcall.render.i18n.Languages`); the rest is the renderer's own.
        """
        key = (facts.record, facts.contact, facts.language)
        last = self._last_parts
        if last is None or any(a is not b for a, b in zip(last[0], key, strict=True)):
            last = (key, call_parts(facts))
            self._last_parts = last  # one assignment: a preview in a thread sees all or nothing
        return last[1]


def _caller_address(contact: Contact | None) -> str | None:
    """The contact's e-mail address if it can stand in a header; else None."""
    if contact is None or contact.email is None:
        return None
    address = contact.email.strip()
    return address if is_address(address) else None


def message_id(call_id: str, user_id: str, server_address: str) -> str:
    """``<…@domain>``, the same for the same call and recipient (a re-send is recognisable)."""
    digest = hashlib.sha256(f"{call_id}\0{user_id}".encode()).hexdigest()[:20]
    readable = re.sub(r"[^A-Za-z0-9]+", ".", call_id).strip(".")[:40]
    domain = server_address.rpartition("@")[2]
    return f"<{digest}.{readable or 'call'}@{domain}>"
