"""MIME bodies and multiparts: 7-bit, short lines, and the stdlib reads back what was meant."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from missedcall.render.mime import attachment, encode_body, multipart, text_part

BODY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]) | st.sampled_from(list("\r\n =._-\t")),
    max_size=2000,
)


def read(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects
    return message


def expected(text: str) -> str:
    """What a text body means: line ends as ``\\n``, ending in one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def assert_seven_bit_short_lines(data: bytes) -> None:
    assert data.isascii()
    assert b"\x00" not in data
    lines = data.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    assert all(len(line) <= 998 for line in lines)


@settings(max_examples=300)
@given(BODY_TEXT)
def test_any_text_part_reads_back_as_the_same_text(text: str) -> None:
    data = text_part("plain", text).to_bytes()
    assert_seven_bit_short_lines(data)
    part = read(data)
    assert part.get_content_type() == "text/plain"
    assert part.get_content_charset() == "utf-8"
    assert part.get_content().replace("\r\n", "\n") == expected(text)


@settings(max_examples=200)
@given(BODY_TEXT)
def test_encoded_lines_are_at_most_76_characters(text: str) -> None:
    encoding, body = encode_body(text)
    assert encoding in {"7bit", "quoted-printable", "base64"}
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))


def test_the_encoding_fits_the_text() -> None:
    assert encode_body("Missed call\nfrom Jane\n")[0] == "7bit"
    assert encode_body("Verpasster Anruf von Jürgen\n")[0] == "quoted-printable"
    assert encode_body("x" * 200)[0] == "quoted-printable"  # a long line
    assert encode_body("Пропущенный звонок от Ивана\n")[0] == "base64"


def test_no_body_can_hold_a_boundary() -> None:
    """Boundaries start with '=_': 7-bit text holding it is quoted-printable instead."""
    for text in ("--=_mc_0000_alt\n", "=_", "a =_ b\n" * 3):
        encoding, body = encode_body(text)
        assert encoding != "7bit"
        assert b"=_" not in body


def test_a_multipart_reads_back_with_its_parts_in_order() -> None:
    alternative = multipart(
        "alternative",
        "=_test_alt",
        [text_part("plain", "plain text"), text_part("html", "<p>Grüße</p>")],
    )
    card = attachment("text/vcard", "Jürgen Müller.vcf", "BEGIN:VCARD\r\nEND:VCARD\r\n")
    message = read(multipart("mixed", "=_test_mix", [alternative, card]).to_bytes())
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/vcard",
    ]
    html = message.get_body(("html",))
    assert html is not None
    assert html.get_content().replace("\r\n", "\n") == "<p>Grüße</p>\n"
    attached = next(message.iter_attachments())
    assert attached.get_filename() == "Jürgen Müller.vcf"
    assert attached.get_content_disposition() == "attachment"
    assert attached.get_content().replace("\r\n", "\n") == "BEGIN:VCARD\nEND:VCARD\n"
