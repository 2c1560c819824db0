"""XML written as text, for documents of many small elements.

Creating a hundred elements one by one through lxml costs more than writing
them as text and parsing that once.  The tags are the caller's own constants;
every value is escaped here, so no value can become markup.  Values must be
text XML can carry: outside text is cleaned (:mod:`missedcall.render.clean`)
and configuration and language files are validated before they get here.
"""

from __future__ import annotations

from lxml import etree

__all__ = ["XmlWriter", "escape"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class XmlWriter:
    """The document as text: the tags are ours, every value is escaped."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[str] = []

    def add(self, tag: str, text: str | None) -> None:
        """A child with text; nothing when the text is empty (absent means unknown)."""
        if text:
            self._parts.append(f"<{tag}>{escape(text)}</{tag}>")

    def add_all(self, children: tuple[tuple[str, str], ...]) -> None:
        for tag, text in children:
            self.add(tag, text)

    def flag(self, tag: str, value: bool) -> None:
        self._parts.append(f"<{tag}>true</{tag}>" if value else f"<{tag}>false</{tag}>")

    def element(self, tag: str, **attributes: str) -> _Open:
        """``with out.element("call"):`` writes ``<call>`` … ``</call>``."""
        start = tag + "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
        return _Open(self._parts, start, tag)

    def add_written(self, fragment: str) -> None:
        """XML written before: by another writer (:meth:`text`), or with :func:`escape`."""
        self._parts.append(fragment)

    def text(self) -> str:
        """What was written, for :meth:`add_written` into another document."""
        return "".join(self._parts)

    def parse(self) -> etree._Element:
        return etree.fromstring(self.text().encode("utf-8"), _PARSER)


class _Open:
    """An element being written (a class, not a generator: this is the hot path)."""

    __slots__ = ("_end", "_parts", "_start")

    def __init__(self, parts: list[str], start: str, end: str) -> None:
        self._parts, self._start, self._end = parts, start, end

    def __enter__(self) -> None:
        self._parts.append(f"<{self._start}>")

    def __exit__(self, *_: object) -> None:
        self._parts.append(f"</{self._end}>")


def escape(text: str) -> str:
    """Text as XML character data or an attribute value (in double quotes)."""
    if "&" in text or "<" in text or ">" in text or '"' in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return text.replace('"', "&quot;")
    return text
