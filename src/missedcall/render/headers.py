"""Mail header fields, written by hand and by the rules (RFC 5322, 2047, 2231).

What the stdlib ``email`` package does with ``EmailMessage`` costs about a
millisecond a header set; this does the few things a notification needs in
microseconds.  The guarantees, which the tests check by re-parsing with the
stdlib parser: a field is always one header, whatever the value holds (CR,
LF and every other control character become spaces before anything else);
lines are folded at 78 characters; anything not plain printable ASCII, and
anything that a reader could take for an encoded word, is sent as RFC 2047
encoded words in UTF-8, split between characters.
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Iterable
from urllib.parse import quote

__all__ = [
    "address_field",
    "field",
    "header_text",
    "is_address",
    "param_field",
    "unstructured_field",
]

LINE = 78  # RFC 5322's recommended limit, CRLF not counted
WORD_LINE = 76  # RFC 2047: a line with encoded words is at most 76 characters
_WORD_OVERHEAD = len("=?utf-8?q??=")

_CONTROLS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")  # undecodable bytes: cannot be UTF-8
_SPACES = re.compile(r"\s+")
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_Q_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def header_text(value: str) -> str:
    """A value that can only ever be one header: controls to spaces, spaces collapsed."""
    value = _SURROGATES.sub("\ufffd", value)
    return _SPACES.sub(" ", _CONTROLS.sub(" ", value)).strip()


def is_address(address: str) -> bool:
    """A plain ASCII ``local@domain.tld`` that is safe to put between ``<`` and ``>``."""
    return len(address) <= 254 and _ADDRESS.fullmatch(address) is not None


def field(name: str, value: str) -> str:
    """A field of tokens we made ourselves (Message-ID, Date, Content-Type values)."""
    if _CONTROLS.search(value) or not value.isascii():
        raise ValueError(f"{name}: not a plain ASCII value: {value!r}")
    return _fold(name, value.split(" "))


def unstructured_field(name: str, value: str) -> str:
    """Subject and the like: any text, encoded where needed."""
    text = header_text(value)
    if _is_plain(text) and all(len(word) <= LINE - len(name) - 2 for word in text.split(" ")):
        return _fold(name, text.split(" ") if text else [])
    return _fold(name, _encoded_words(text, WORD_LINE - len(name) - 2))


def address_field(name: str, mailboxes: Iterable[tuple[str, str]]) -> str:
    """From, To, Reply-To, Sender: ``(display name, address)`` pairs; addresses must be valid."""
    tokens: list[str] = []
    for position, (display, address) in enumerate(mailboxes):
        if not is_address(address):
            raise ValueError(f"{name}: not an e-mail address: {address!r}")
        if position:
            tokens[-1] += ","
        tokens.extend(_phrase(header_text(display), WORD_LINE - len(name) - 2))
        tokens.append(f"<{address}>")
    return _fold(name, tokens)


def param_field(name: str, value: str, params: Iterable[tuple[str, str]]) -> str:
    """Content-Type and Content-Disposition with parameters; non-ASCII ones per RFC 2231."""
    tokens = [value]
    for key, text in params:
        tokens[-1] += ";"
        tokens.extend(_parameter(key, header_text(text)))
    return _fold(name, tokens)


def _is_plain(text: str) -> bool:
    """Printable ASCII that no reader would decode as an encoded word."""
    return text.isascii() and text.isprintable() and "=?" not in text


def _phrase(text: str, first_room: int) -> list[str]:
    if not text:
        return []
    if _is_plain(text) and _ATOMS.fullmatch(text) and max(map(len, text.split(" "))) < 60:
        return text.split(" ")
    if _is_plain(text) and len(text) < 60:
        return [_quoted(text)]
    return _encoded_words(text, first_room)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parameter(key: str, text: str) -> list[str]:
    """``key="value"``, or RFC 2231 ``key*0*=utf-8''…`` sections of percent-encoded UTF-8."""
    if _is_plain(text) and len(text) < 60:
        return [f"{key}={_quoted(text)}"]
    encoded = quote(text, safe="", encoding="utf-8")
    sections = _sections(encoded, 48)
    if len(sections) == 1:
        return [f"{key}*=utf-8''{encoded}"]
    tokens = [f"{key}*0*=utf-8''{sections[0]};"]
    tokens.extend(f"{key}*{n}*={section};" for n, section in enumerate(sections[1:], 1))
    tokens[-1] = tokens[-1].removesuffix(";")
    return tokens


def _sections(encoded: str, size: int) -> list[str]:
    """Pieces of at most ``size`` characters, never cutting a ``%XX`` escape."""
    sections, start = [], 0
    while start < len(encoded):
        end = min(start + size, len(encoded))
        if "%" in encoded[end - 2 : end] and end < len(encoded):
            end = encoded.rindex("%", start, end)
        sections.append(encoded[start:end])
        start = end
    return sections


def _encoded_words(text: str, first_room: int) -> list[str]:
    """``=?utf-8?q?…?=`` (or ``?b?``, whichever is shorter) words, cut between characters."""
    b_length = 4 * -(-len(text.encode("utf-8")) // 3)
    if sum(map(_q_cost, text)) <= b_length:
        return _words(text, "q", first_room)
    return _words(text, "b", first_room)


def _words(text: str, kind: str, first_room: int) -> list[str]:
    words: list[str] = []
    room = max(first_room, 20) - _WORD_OVERHEAD
    chunk: list[str] = []
    size = 0  # encoded length of chunk (q) or its byte count (b)
    for char in text:
        cost = _q_cost(char) if kind == "q" else len(char.encode())
        grown = size + cost if kind == "q" else 4 * -(-(size + cost) // 3)
        if chunk and grown > room:
            words.append(_word("".join(chunk), kind))
            chunk, size, room = [], 0, WORD_LINE - 1 - _WORD_OVERHEAD
        chunk.append(char)
        size += cost
    if chunk:
        words.append(_word("".join(chunk), kind))
    return words


def _q_cost(char: str) -> int:
    return 1 if char in _Q_SAFE or char == " " else 3 * len(char.encode())


def _word(text: str, kind: str) -> str:
    if kind == "b":
        return "=?utf-8?b?" + b64encode(text.encode()).decode("ascii") + "?="
    return "=?utf-8?q?" + "".join(map(_q_char, text)) + "?="


def _q_char(char: str) -> str:
    if char in _Q_SAFE:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode())


def _fold(name: str, tokens: list[str]) -> str:
    """``Name: tokens`` joined by spaces, a line break before a token that would not fit."""
    line = name + ":"
    lines: list[str] = []
    for token in tokens:
        if len(line) + 1 + len(token) > LINE and line != name + ":":
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"
