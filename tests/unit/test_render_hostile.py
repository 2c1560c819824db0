"""Hostile callers: names, numbers and contact fields chosen to break the mail.

Caller names and numbers come from whoever calls, contact fields from files and
directories.  Whatever they hold, each mail is still exactly the headers we
wrote, correctly encoded; the HTML shows the text and runs nothing; the vCard
holds the text as data.  Every message is read back with the stdlib parser.
"""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import EmailMessage

import lxml.html
import pytest
import vobject  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from missedcall.calls.record import Caller, CallRecord
from missedcall.directory.contacts import Contact
from missedcall.render.clean import MAX_FIELD, one_line
from missedcall.render.sample import SAMPLE_CONTACT
from tests.support.rendering import call_from, render

HEADERS = {"Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"}
SERVER_HEADERS = HEADERS | {"Auto-Submitted", "X-Auto-Response-Suppress"}
NAMES = {
    "crlf": "Jane\r\nBcc: victim@example.com\r\n\r\n<b>body</b>",
    "nul": "Jane\x00Doe\x00",
    "script": '<script>alert("x")</script><img src=x onerror=alert(1)> & "Doe"',
    "bidi": "Jane \u202eexe.gnp\u202c Doe \u2066\u2069\u200f",
    "invalid utf-8": "J\ufffd\ufffdne D\ufffde",
    "long": "Jane Doe " * 1200,
    "encoded word": "=?utf-8?b?PHNjcmlwdD4=?= Doe",
    "controls": "Jane\x1b[31mDoe\x07\x7f\x85\u2028End",
}
NUMBERS = {
    "crlf": "+49891234567\r\nBcc: victim@example.com",
    "script": "<script>1</script>",
    "long": "4" * 10_000,
    "nul": "+4989\x001234567",
}


def with_caller(record: CallRecord, number: str, name: str | None) -> CallRecord:
    return replace(record, caller=Caller(number=number, name=name, presentation="allowed"))


def check(message: EmailMessage, data: bytes, sender: str) -> None:
    """Structure and headers are exactly ours, whatever the caller sent."""
    expected = SERVER_HEADERS if sender == "server" else HEADERS | {"Sender", "Reply-To"}
    assert set(message.keys()) <= expected
    assert {"Date", "From", "To", "Subject", "Message-ID"} <= set(message.keys())
    assert "Bcc" not in message
    assert message["To"].addresses[0].addr_spec == "anna@example.com"
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))
    assert data.isascii()
    types = [part.get_content_type() for part in message.walk()]
    assert types[:1] in (["multipart/mixed"], ["multipart/alternative"])
    assert "text/plain" in types and "text/html" in types
    for part in message.walk():
        assert not part.defects, part.defects


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.parametrize("sender", ["server", "caller", "caller-reply-to"])
@pytest.mark.parametrize("case", sorted(NAMES))
def test_a_hostile_caller_name_is_shown_as_text_everywhere(case: str, sender: str) -> None:
    name = NAMES[case]
    record = with_caller(call_from("01-missed-direct.ami"), "+49891234567", name)
    contact = replace(SAMPLE_CONTACT, name=name)
    data, message = render(record, "anna", contact, f'[notify]\nsender = "{sender}"\n', "en")
    check(message, data, sender)
    shown = one_line(name)
    assert "\r" not in shown and "\n" not in shown and "\x00" not in shown
    assert "\u202e" not in shown
    assert len(shown) <= MAX_FIELD
    assert message["Subject"] == f"Missed call from {shown} (+49 89 1234567)"
    assert shown in text_of(message)
    html = html_of(message)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    page = lxml.html.fromstring(html)
    assert page.xpath("//script | //img | //b") == []
    assert shown in " ".join(page.text_content().split())
    if sender == "caller":
        assert message["From"].addresses[0].addr_spec == "jane.doe@example.com"
    card = vobject.readOne(next(message.iter_attachments()).get_content())
    assert card.fn.value == shown


@pytest.mark.parametrize("case", sorted(NUMBERS))
def test_a_hostile_caller_number_is_shown_as_text_and_links_only_digits(case: str) -> None:
    record = with_caller(call_from("01-missed-direct.ami"), NUMBERS[case], None)
    data, message = render(record, "anna", None)
    check(message, data, "server")
    html = html_of(message)
    assert "<script" not in html
    links = lxml.html.fromstring(html).xpath("//a/@href")
    assert all(re.fullmatch(r"tel:\+?[0-9]+", link) for link in links), links


def test_a_hostile_contact_cannot_reach_the_headers_the_html_or_the_vcard_structure() -> None:
    contact = Contact(
        name="Evil\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Other",
        company="ACME; Inc., <b>bold</b>",
        email="jane@example.com\r\nBcc: victim@example.com",
        phones=(("work", "+49891234567"),),
        street="Main St 1\\n; ,",
        note="line one\r\nline two\x00\r\nEND:VCARD",
        title="\u202eCEO",
    )
    record = call_from("01-missed-direct.ami")
    data, message = render(record, "anna", contact, '[notify]\nsender = "caller"\n', "en")
    check(message, data, "server")  # no usable caller address: server mode
    assert message["From"].addresses[0].addr_spec == "pbx@example.com"
    assert "<b>" not in html_of(message)
    text = next(message.iter_attachments()).get_content()
    lines = text.splitlines()
    assert lines.count("BEGIN:VCARD") == 1 and lines.count("END:VCARD") == 1
    assert len(list(vobject.readComponents(text))) == 1
    card = vobject.readOne(text)
    assert card.fn.value == "Evil END:VCARD BEGIN:VCARD FN:Other"
    assert card.org.value == ["ACME; Inc., <b>bold</b>"]
    assert card.note.value == "line one\nline two\nEND:VCARD"  # escaped, not a line
    assert card.adr.value.street == "Main St 1\\n; ,"
    assert card.title.value == "CEO"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(alphabet=st.characters(codec=None), max_size=300),
    number=st.text(alphabet=st.sampled_from(list("+0123456789 \r\n<>&\x00a")), max_size=40),
)
def test_any_caller_renders_to_a_clean_message(name: str, number: str) -> None:
    record = with_caller(call_from("01-missed-direct.ami"), number, name)
    data, message = render(record, "anna", None, language="en")
    check(message, data, "server")
    label = one_line(name)
    if label:
        assert label in text_of(message)
        assert label in " ".join(lxml.html.fromstring(html_of(message)).text_content().split())
