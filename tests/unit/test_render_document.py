"""The template input document, on the real recordings: its content and its documentation."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from lxml import etree

from missedcall.calls.record import CallRecord
from missedcall.directory.contacts import Contact
from missedcall.render.document import DocumentFacts, MailFacts, build_document
from missedcall.render.sample import SAMPLE_CONTACT
from tests.support.rendering import (
    EXAMPLE_XML,
    ROOT,
    call_from,
    example_document,
    lab_config,
    recorded_calls,
    renderer,
)

DOCS = (ROOT / "docs" / "template-input.md").read_text()


def document(
    record: CallRecord,
    user_id: str = "anna",
    contact: Contact | None = None,
    extra: str = "",
    language: str = "en",
) -> etree._Element:
    config = lab_config(extra)
    rendering, directory = renderer(extra)
    user = directory.user(user_id)
    assert user is not None
    facts = DocumentFacts(
        record=record,
        recipient=user,
        line=user.lines[0],
        contact=contact,
        language=rendering.languages.get(language),
        zone=config.server.zone,
        numbering=directory.numbering,
        owner_of=directory.user_of_line,
        link_prefix=config.notify.link_prefix,
        mail=MailFacts("server", replies_reach_caller=False, vcard_attached=False),
    )
    return build_document(facts).getroot()


def test_the_documented_example_is_what_the_code_produces() -> None:
    """If this fails after a deliberate change: python -m tests.support.rendering."""
    assert example_document().decode() == EXAMPLE_XML.read_text()


def test_every_element_of_the_example_is_documented() -> None:
    root = etree.fromstring(EXAMPLE_XML.read_bytes())
    paths = {
        re.sub(r"\[\d+\]", "", root.getroottree().getpath(element))[len("/notification/") :]
        for element in root.iter()
        if element is not root and getattr(element.getparent(), "tag", "") != "strings"
    }
    moments = ("/iso", "/local", "/date", "/time", "/text")
    party = ("/line", "/owner", "/owner-id")
    missing = [
        path
        for path in sorted(paths)
        if f"`{path}`" not in DOCS and not path.endswith(moments) and not path.endswith(party)
    ]
    assert missing == []


def test_each_recorded_call_gives_a_document_with_its_participants_in_order() -> None:
    for record in recorded_calls():
        root = document(record)
        lines = root.xpath("participants/participant/line/text()")
        assert lines == [p.line for p in record.participants]
        assert root.findtext("call/id") == record.call_id
        assert root.findtext("call/answered") == str(record.answered_by is not None).lower()


def test_times_are_given_in_utc_and_in_the_server_zone_per_language() -> None:
    record = call_from("01-missed-direct.ami")
    root = document(record, language="de")
    assert root.findtext("call/started/iso") == "2026-11-28T07:06:10.923+00:00"
    assert root.findtext("call/started/local") == "2026-11-28T08:06:10+01:00"
    assert root.findtext("call/started/date") == "Samstag, 28.11.2026"
    assert root.findtext("call/started/time") == "08:06 Uhr"
    assert root.findtext("call/ring-seconds") == "20"
    assert root.findtext("call/ring-duration") == "20 Sek."
    assert root.findtext("call/time-zone") == "Europe/Berlin"


def test_a_pickup_names_who_took_the_call_from_whom() -> None:
    root = document(call_from("13-directed-pickup.ami"))
    assert root.findtext("pickup/by/line") == "204"
    assert root.findtext("pickup/by/owner") == "Dora Delta"
    assert root.findtext("pickup/from/owner-id") == "anna"
    assert root.findtext("answered-by/line") == "204"
    assert root.find("answered-by/at/iso") is not None


def test_a_ring_group_answered_by_a_colleague_marks_who_answered() -> None:
    root = document(call_from("04-ringgroup-answered.ami"))
    answered = root.xpath("participants/participant[answered='true']/owner/text()")
    assert answered == ["Bernd Beta"]
    assert root.xpath("participants/participant[is-recipient='true']/line/text()") == ["201"]
    assert root.find("participants/participant[answered='true']/answered-at/time") is not None


def test_a_forward_names_both_lines() -> None:
    root = document(call_from("11-cf-noanswer-missed.ami"))
    assert root.findtext("forwards/forward/kind") == "forward"
    assert root.findtext("forwards/forward/from/line") == "201"
    assert root.findtext("forwards/forward/to/owner") == "Bernd Beta"


def test_a_hidden_number_has_no_display_form_and_no_link() -> None:
    root = document(call_from("16-anonymous-missed.ami"))
    assert root.findtext("caller/hidden") == "true"
    assert root.findtext("caller/presentation") == "restricted"
    assert root.findtext("caller/number") == "anonymous"
    assert root.find("caller/display") is None
    assert root.find("caller/link") is None


def test_an_internal_caller_is_named_after_the_line_and_its_owner() -> None:
    root = document(call_from("17-internal-missed.ami"))
    assert root.findtext("call/direction") == "internal"
    assert root.findtext("caller/label") == "Bernd Beta"
    assert root.findtext("caller/link") == "tel:202"


def test_voicemail_and_busy_lines_are_reported() -> None:
    assert document(call_from("20-voicemail.ami")).findtext("call/voicemail") == "true"
    busy = document(call_from("19-busy.ami"))
    assert busy.xpath("busy/party/line/text()") == ["201"]
    assert busy.find("participants/participant") is None


def test_the_contact_is_absent_without_one_and_complete_with_one() -> None:
    record = call_from("01-missed-direct.ami")
    assert document(record).find("contact") is None
    root = document(record, contact=SAMPLE_CONTACT)
    assert root.findtext("contact/company") == "Example Trading Ltd"
    assert root.xpath("contact/phones/phone/kind/text()") == ["work", "mobile"]
    assert root.findtext("contact/phones/phone[kind='mobile']/display") == "+49 170 1234567"
    assert root.findtext("contact/address/postal-code") == "80331"
    assert root.findtext("caller/label") == "Jane Doe"
    assert root.find("contact/department") is None  # unknown values are absent, not empty


@pytest.mark.parametrize(
    ("setting", "link"),
    [
        ("", "tel:+49891234567"),
        ('[notify]\nlink_prefix = "callto:"\n', "callto:+49891234567"),
        ('[notify]\nlink_prefix = "sip:"\n', "sip:+49891234567"),
        ("[notify]\nlink_prefix = false\n", None),
    ],
)
def test_links_follow_the_link_prefix(setting: str, link: str | None) -> None:
    root = document(call_from("01-missed-direct.ami"), contact=SAMPLE_CONTACT, extra=setting)
    assert root.findtext("caller/link") == link
    assert root.findtext("contact/phones/phone/link") == link
    assert root.findtext("caller/dialable") == "+49891234567"


def test_language_strings_are_text_even_with_markup_characters_and_kept_when_empty() -> None:
    config = lab_config("")
    rendering, directory = renderer("")
    user = directory.user("anna")
    assert user is not None
    english = rendering.languages.get("en")
    odd = {**english.strings, "call-back": '<b>Call & "see"</b>', "note": ""}
    facts = DocumentFacts(
        record=call_from("01-missed-direct.ami"),
        recipient=user,
        line="201",
        contact=None,
        language=replace(english, strings=odd),
        zone=config.server.zone,
        numbering=directory.numbering,
        owner_of=directory.user_of_line,
        link_prefix=None,
        mail=MailFacts("server", replies_reach_caller=False, vcard_attached=False),
    )
    strings = build_document(facts).getroot().find("strings")
    assert strings is not None
    assert [child.tag for child in strings] == list(odd)
    assert strings.findtext("call-back") == '<b>Call & "see"</b>'
    assert strings.find("call-back/b") is None
    assert strings.find("note") is not None and strings.findtext("note") == ""


def test_the_strings_of_the_language_are_in_the_document() -> None:
    root = document(call_from("01-missed-direct.ami"), language="de")
    assert root.findtext("language/code") == "de"
    assert root.findtext("strings/call-back") == "Zurückrufen"
    assert root.findtext("recipient/language") == "de"
