"""The caller's contact as a vCard 3.0 attachment (SPEC §7 ``attach_vcard``).

vCard 3.0 (RFC 2426) because every common client reads it: Outlook, Apple
Contacts, Thunderbird, Gmail and the phones.  :mod:`vobject` escapes ``,``
``;`` ``\\`` and line breaks and folds lines at 75 octets without cutting a
UTF-8 sequence; fields pass through :mod:`missedcall.render.clean` first, so
no control character reaches it.  The same contact calls again and again, so
cards are kept in a small cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import vobject  # type: ignore[import-untyped]

from missedcall.directory.contacts import Contact
from missedcall.render.clean import one_line, paragraphs

__all__ = ["VCard", "safe_filename", "vcard_of"]

PRODID = "-//missedcall//missed call notification//EN"
FILENAME_CHARACTERS = 40

_TEL_TYPES = {
    "work": ["WORK", "VOICE"],
    "mobile": ["CELL", "VOICE"],
    "home": ["HOME", "VOICE"],
    "fax": ["WORK", "FAX"],
}
# Characters no file system or mail program accepts in a name, and a leading dot.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+|^[.\s]+')
# Names Windows will not give to a file.
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)]
)


@dataclass(frozen=True, slots=True)
class VCard:
    filename: str  # "Jane Doe.vcf"
    text: str  # CRLF line ends


@lru_cache(maxsize=1024)
def vcard_of(contact: Contact) -> VCard:
    """The contact's card and a file name made from the contact's name."""
    card = vobject.vCard()
    name = one_line(contact.name) or one_line(contact.company) or "?"
    card.add("prodid").value = PRODID
    card.add("fn").value = name
    card.add("n").value = _structured_name(name, contact)
    company, department = one_line(contact.company), one_line(contact.department)
    if company or department:
        card.add("org").value = [company, department] if department else [company]
    _add_text(card, "title", one_line(contact.title))
    _add_phones(card, contact)
    if one_line(contact.email):
        email = card.add("email")
        email.value = one_line(contact.email)
        email.type_param = "INTERNET"
    _add_address(card, contact)
    _add_text(card, "note", paragraphs(contact.note))
    return VCard(safe_filename(name) + ".vcf", card.serialize())


def _structured_name(name: str, contact: Contact) -> vobject.vcard.Name:
    """N is required in 3.0; a company's card has an empty one, a person's is split."""
    if contact.company and name == one_line(contact.company):
        return vobject.vcard.Name()
    given, _, family = name.rpartition(" ")
    return vobject.vcard.Name(family=family, given=given)


def _add_text(card: vobject.base.Component, key: str, value: str) -> None:
    if value:
        card.add(key).value = value


def _add_phones(card: vobject.base.Component, contact: Contact) -> None:
    for kind, raw in contact.phones:
        number = one_line(raw)
        if number:
            tel = card.add("tel")
            tel.value = number
            tel.params["TYPE"] = _TEL_TYPES[kind]  # TYPE=WORK,VOICE, as clients expect


def _add_address(card: vobject.base.Component, contact: Contact) -> None:
    street, city = one_line(contact.street), one_line(contact.city)
    code, country = one_line(contact.postal_code), one_line(contact.country)
    if street or city or code or country:
        address = card.add("adr")
        address.value = vobject.vcard.Address(street=street, city=city, code=code, country=country)
        address.type_param = "WORK"


def safe_filename(name: str) -> str:
    """A name that is a valid file name everywhere, at most 40 characters; never empty."""
    cleaned = _UNSAFE.sub(" ", one_line(name)).strip(" .")
    cleaned = " ".join(cleaned.split())[:FILENAME_CHARACTERS].rstrip(" .")
    if not cleaned or cleaned.upper() in _RESERVED:
        return "contact"
    return cleaned
