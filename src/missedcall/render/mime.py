"""MIME bodies and multiparts, assembled as bytes (RFC 2045, 2046).

The message is built from the leaves up: each :class:`Part` is its header
lines and its encoded body, and a multipart is a part whose body joins others
between boundaries.  Every body is 7-bit: text that is plain short-lined ASCII
goes as is, mostly-Latin text as quoted-printable, the rest as base64 (both
encoders are the C ones of :mod:`binascii`).  Boundaries begin with ``=_``,
which neither encoding can produce and a 7-bit body is never allowed to hold,
so no body can contain one.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from missedcall.render.headers import field, param_field

__all__ = ["Part", "attachment", "multipart", "text_part"]

_NEWLINES = re.compile(r"\r\n|\r")
_LONGEST_PLAIN_LINE = 76
_ENCODING_FIELDS = {
    encoding: field("Content-Transfer-Encoding", encoding)
    for encoding in ("7bit", "quoted-printable", "base64")
}


@dataclass(frozen=True, slots=True)
class Part:
    headers: tuple[str, ...]  # complete header lines, each ending in CRLF
    body: bytes  # encoded, CRLF line ends

    def to_bytes(self, extra_headers: Iterable[str] = ()) -> bytes:
        """The part as bytes; ``extra_headers`` go first (a message's own headers)."""
        head = "".join((*extra_headers, *self.headers)).encode("ascii")
        return head + b"\r\n" + self.body


def text_part(subtype: str, text: str) -> Part:
    """A ``text/<subtype>; charset=utf-8`` part."""
    encoding, body = encode_body(text)
    return Part((_text_type(subtype), _ENCODING_FIELDS[encoding]), body)


@lru_cache(maxsize=8)
def _text_type(subtype: str) -> str:
    return param_field("Content-Type", f"text/{subtype}", [("charset", "utf-8")])


def attachment(content_type: str, filename: str, text: str) -> Part:
    """A text file attached under ``filename`` (UTF-8)."""
    encoding, body = encode_body(text)
    return Part(
        (
            param_field("Content-Type", content_type, [("charset", "utf-8"), ("name", filename)]),
            param_field("Content-Disposition", "attachment", [("filename", filename)]),
            _ENCODING_FIELDS[encoding],
        ),
        body,
    )


def multipart(subtype: str, boundary: str, parts: Sequence[Part]) -> Part:
    delimiter = b"--" + boundary.encode("ascii")
    body = b"".join(delimiter + b"\r\n" + part.to_bytes() + b"\r\n" for part in parts)
    return Part(
        (param_field("Content-Type", f"multipart/{subtype}", [("boundary", boundary)]),),
        body + delimiter + b"--\r\n",
    )


def encode_body(text: str) -> tuple[str, bytes]:
    """The transfer encoding and the encoded body of ``text``, with CRLF line ends."""
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    if not text.endswith("\n"):
        text += "\n"
    if (
        text.isascii()
        and "=_" not in text
        and all(
            len(line) <= _LONGEST_PLAIN_LINE and line.isprintable() for line in text.split("\n")
        )
    ):
        return "7bit", text.encode("ascii").replace(b"\n", b"\r\n")
    data = text.encode("utf-8")
    ascii_bytes = len(text.encode("ascii", "ignore"))
    if (len(data) - ascii_bytes) * 5 > ascii_bytes:  # base64 is then the shorter
        return "base64", _base64(data.replace(b"\n", b"\r\n"))  # text's canonical line end
    return "quoted-printable", binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


def _base64(data: bytes) -> bytes:
    """Lines of 76 characters, CRLF after each."""
    return b"".join(
        binascii.b2a_base64(data[start : start + 57], newline=False) + b"\r\n"
        for start in range(0, len(data), 57)
    )
