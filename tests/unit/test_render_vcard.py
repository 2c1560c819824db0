"""The caller's vCard: valid 3.0 with every field, escaped, and a safe file name."""

from __future__ import annotations

import vobject  # type: ignore[import-untyped]

from missedcall.directory.contacts import Contact
from missedcall.render.sample import SAMPLE_CONTACT
from missedcall.render.vcard import safe_filename, vcard_of

FULL = Contact(
    name="Jürgen Müller",
    company="Müller & Söhne GmbH",
    email="j.mueller@example.com",
    phones=(
        ("work", "+49891234567"),
        ("mobile", "+491701234567"),
        ("home", "+4930123"),
        ("fax", "+49899"),
    ),
    street="Hauptstraße 1",
    city="München",
    postal_code="80331",
    country="Germany",
    title="Einkauf",
    department="Zentrale",
    note="Prefers mornings.\nSpeaks English.",
)


def test_every_field_is_on_the_card() -> None:
    card = vobject.readOne(vcard_of(FULL).text)
    assert card.version.value == "3.0"
    assert card.fn.value == "Jürgen Müller"
    assert (card.n.value.given, card.n.value.family) == ("Jürgen", "Müller")
    assert card.org.value == ["Müller & Söhne GmbH", "Zentrale"]
    assert card.title.value == "Einkauf"
    assert card.email.value == "j.mueller@example.com"
    phones = {tel.value: tel.params["TYPE"] for tel in card.contents["tel"]}
    assert phones == {
        "+49891234567": ["WORK", "VOICE"],
        "+491701234567": ["CELL", "VOICE"],
        "+4930123": ["HOME", "VOICE"],
        "+49899": ["WORK", "FAX"],
    }
    assert "TEL;TYPE=CELL,VOICE:+491701234567\r\n" in vcard_of(FULL).text
    address = card.adr.value
    assert (address.street, address.city, address.code, address.country) == (
        "Hauptstraße 1",
        "München",
        "80331",
        "Germany",
    )
    assert card.note.value == "Prefers mornings.\nSpeaks English."


def test_the_card_is_folded_at_75_octets_with_crlf() -> None:
    text = vcard_of(FULL).text
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    assert text.endswith("END:VCARD\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    long = vcard_of(Contact(name="ö" * 150, phones=(("work", "+49891234567"),)))
    assert all(len(line.encode()) <= 75 for line in long.text.split("\r\n"))
    assert vobject.readOne(long.text).fn.value == "ö" * 150


def test_special_characters_are_escaped() -> None:
    contact = Contact(name="Doe; Jane, \\x", company="A;B,C", phones=(("work", "+49891234567"),))
    text = vcard_of(contact).text
    assert "FN:Doe\\; Jane\\, \\\\x" in text
    card = vobject.readOne(text)
    assert card.fn.value == "Doe; Jane, \\x"
    assert card.org.value == ["A;B,C"]


def test_a_company_card_has_an_empty_structured_name() -> None:
    card = vobject.readOne(vcard_of(Contact(name="ACME", company="ACME")).text)
    assert card.fn.value == "ACME"
    assert card.n.value.family == "" and card.n.value.given == ""


def test_the_file_is_named_after_the_contact() -> None:
    assert vcard_of(SAMPLE_CONTACT).filename == "Jane Doe.vcf"
    assert vcard_of(FULL).filename == "Jürgen Müller.vcf"


def test_file_names_are_safe_everywhere() -> None:
    assert safe_filename("../../etc/passwd") == "etc passwd"
    assert safe_filename('a<b>c:d"e|f?g*h\\i/j') == "a b c d e f g h i j"
    assert safe_filename("..") == "contact"
    assert safe_filename("CON") == "contact"
    assert safe_filename("\r\n\x00") == "contact"
    assert len(safe_filename("x" * 500)) == 40
