"""Outside text made safe to show: caller names, numbers and contact fields.

Caller names and numbers come from the PBX (so from whoever calls), contact
fields from files and directories: any of them may hold line breaks, NUL and
other control characters (which XML cannot even carry), bidi overrides that
make a name read backwards, or ten thousand characters.  Everything that goes
into the template document passes through here first, so templates, headers
and the vCard only ever see printable text.
"""

from __future__ import annotations

import re

__all__ = ["MAX_FIELD", "MAX_NOTE", "one_line", "paragraphs"]

MAX_FIELD = 200
"""Characters kept of a one-line field; a caller name is never longer in real life."""
MAX_NOTE = 2000
"""Characters kept of a multi-line field (a contact's note)."""

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Bidi embeddings, overrides, isolates and marks: they can make text display reversed.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates (undecodable bytes kept by surrogateescape) and the noncharacters
# that XML 1.0 refuses.
_UNREPRESENTABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x85]")


def one_line(text: str | None, limit: int = MAX_FIELD) -> str:
    """Printable text on one line, whitespace collapsed, at most ``limit`` characters."""
    if not text:
        return ""
    if text.isascii() and text.isprintable() and len(text) <= limit and "  " not in text:
        return text.strip()  # the common case, fast
    text = _UNREPRESENTABLE.sub("\ufffd", _BIDI.sub("", text))
    text = _SPACES.sub(" ", _CONTROLS.sub(" ", text)).strip()
    return _shorten(text, limit)


def paragraphs(text: str | None, limit: int = MAX_NOTE) -> str:
    """Like :func:`one_line` for each line, keeping the line breaks (as ``\\n``)."""
    if not text:
        return ""
    lines = [one_line(line, limit) for line in _LINE_BREAKS.split(text)]
    return _shorten("\n".join(lines).strip("\n"), limit)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
