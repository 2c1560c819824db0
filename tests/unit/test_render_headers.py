"""Header fields: one header whatever the value, folded, encoded, and read back intact."""

from __future__ import annotations

import email
import email.policy
import email.utils
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from missedcall.render.headers import (
    address_field,
    field,
    header_text,
    param_field,
    unstructured_field,
)

ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=400)
HOSTILE = st.text(
    alphabet=st.sampled_from(
        list("aZ09 \t\r\n\x00\x1b\x7f\x85=?_\"'<>,;:\\()@.é日🙂\u202e\u2028\ufffd")
    ),
    max_size=300,
)


def read(*fields: str) -> EmailMessage:
    data = ("".join(fields) + "\r\nbody\r\n").encode("ascii")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def assert_well_formed(text: str, name: str) -> None:
    """One field: ASCII, CRLF only before a folding space, no line over 78 characters."""
    assert text.isascii()
    assert text.startswith(name + ":")
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    assert all(line.startswith((" ", "\t")) for line in lines[1:]), lines
    assert "\r" not in text.replace("\r\n", "") and "\n" not in text.replace("\r\n", "")
    assert "\x00" not in text
    assert all(len(line) <= 78 for line in lines), max(lines, key=len)


@settings(max_examples=300)
@given(ANY_TEXT | HOSTILE)
def test_any_subject_is_one_header_and_reads_back_as_sent(value: str) -> None:
    text = unstructured_field("Subject", value)
    assert_well_formed(text, "Subject")
    message = read(text)
    assert message["Subject"] == header_text(value)
    assert list(message.keys()) == ["Subject"]


def display_name(text: str) -> str:
    """The display name as RFC 2047 §6.2 reads it.

    Python 3.11's parser keeps the space between two encoded words of a display
    name (CPython gh-128110), so encoded names are decoded with the older
    ``email.header`` API, which follows the RFC."""
    mailbox = read(text)["From"].addresses[0]
    assert mailbox.addr_spec == "jane.doe@example.com"
    if "=?" not in text:
        return str(mailbox.display_name)
    value = text.partition(":")[2].replace("\r\n", "").rsplit("<", 1)[0].strip()
    return str(make_header(decode_header(value)))


@settings(max_examples=300)
@given(ANY_TEXT | HOSTILE)
def test_any_display_name_is_one_header_and_reads_back_as_sent(name: str) -> None:
    text = address_field("From", [(name, "jane.doe@example.com")])
    assert_well_formed(text, "From")
    assert display_name(text) == header_text(name)


@settings(max_examples=200)
@given(ANY_TEXT | HOSTILE)
def test_any_file_name_parameter_reads_back_as_sent(name: str) -> None:
    text = param_field("Content-Disposition", "attachment", [("filename", name)])
    assert_well_formed(text, "Content-Disposition")
    # A parameter value has no surrounding blanks, and get_filename() unquotes
    # once more: a name in <…> or "…" loses its outer pair (and the blanks inside).
    assert read(text).get_filename() == email.utils.unquote(header_text(name).strip()).strip()


def test_line_breaks_cannot_add_a_header() -> None:
    injected = "Jane\r\nBcc: victim@example.com\r\n\r\nbody"
    for text in (
        unstructured_field("Subject", injected),
        address_field("From", [(injected, "a@example.com")]),
    ):
        message = read(text)
        assert "Bcc" not in message
        assert len(message.keys()) == 1


def test_plain_ascii_stays_readable_and_is_folded_at_spaces() -> None:
    subject = "Missed call from " + "Jane Doe " * 20
    text = unstructured_field("Subject", subject)
    assert "=?" not in text
    assert text.count("\r\n") > 1
    assert read(text)["Subject"] == subject.strip()


def test_non_ascii_is_encoded_in_utf8_words() -> None:
    text = unstructured_field("Subject", "Verpasster Anruf von Jürgen Müller")
    assert "=?utf-8?" in text
    assert read(text)["Subject"] == "Verpasster Anruf von Jürgen Müller"


def test_ascii_that_looks_like_an_encoded_word_is_encoded_so_it_is_not_decoded() -> None:
    tricky = "=?utf-8?q?=E2=80=AEevil?="
    assert read(unstructured_field("Subject", tricky))["Subject"] == tricky
    assert display_name(address_field("From", [(tricky, "jane.doe@example.com")])) == tricky


def test_ten_thousand_characters_fold_into_short_lines() -> None:
    for value in ("x" * 10_000, "ä" * 10_000, "日本" * 5_000, "word " * 2_000):
        text = unstructured_field("Subject", value)
        assert_well_formed(text, "Subject")
        assert read(text)["Subject"] == header_text(value)


def test_special_characters_in_a_display_name_are_quoted() -> None:
    text = address_field("To", [('Doe, Jane "JD" (Sales)', "jane@example.com")])
    assert '"Doe, Jane \\"JD\\" (Sales)"' in text
    assert read(text)["To"].addresses[0].display_name == 'Doe, Jane "JD" (Sales)'


def test_an_invalid_address_is_refused() -> None:
    for address in ("jane@example.com>, evil@x.org", "a b@example.com", "jäne@example.com", ""):
        with pytest.raises(ValueError, match="not an e-mail address"):
            address_field("From", [("Jane", address)])


def test_own_fields_must_be_plain_ascii() -> None:
    assert field("Message-ID", "<a.b@example.com>") == "Message-ID: <a.b@example.com>\r\n"
    with pytest.raises(ValueError, match="plain ASCII"):
        field("Message-ID", "<a\r\nb@example.com>")


def test_lone_surrogates_from_undecodable_bytes_do_not_break_encoding() -> None:
    text = unstructured_field("Subject", "caller \udcff name")
    assert read(text)["Subject"] == "caller \ufffd name"
