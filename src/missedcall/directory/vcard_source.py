"""Contacts from vCard files (SPEC §8): one ``.vcf`` file, or a folder of them.

Address books are exported as one file of many cards, or synchronised as a
folder of one card per file; both are vCard 2.1, 3.0 or 4.0.  A file is split
into cards before parsing, so one broken card costs that card only, with a
warning naming file, card and line.  Each file is parsed again when its
modification time or size changes, and a folder is listed at every lookup, so
edits take effect without a restart and an unchanged file is never parsed twice.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vobject  # type: ignore[import-untyped]  # vobject ships no type hints; its values stay in _card_contact

from missedcall.directory.contacts import (
    MAX_ROW_WARNINGS,
    Contact,
    ContactSourceError,
    PhoneKind,
)
from missedcall.directory.numbering import Numbering

__all__ = ["VcardContacts", "parse_vcards"]

log = logging.getLogger("missedcall.contacts")

Signature = tuple[int, int]  # (mtime_ns, size) of a file as it was read


@dataclass(frozen=True, slots=True)
class _Parsed:
    signature: Signature
    contacts: tuple[Contact, ...]


class VcardContacts:
    """A ``.vcf`` file or a folder of ``.vcf`` files, read again whenever one changes."""

    def __init__(self, path: Path, numbering: Numbering) -> None:
        self._path = path
        self._numbering = numbering
        self._files: dict[Path, _Parsed] = {}
        self._index: Mapping[str, Contact] = {}

    def __repr__(self) -> str:
        return f"VcardContacts({str(self._path)!r})"

    def find(self, number: str) -> Contact | None:
        return self._current().get(self._numbering.normalize(number))

    def _current(self) -> Mapping[str, Contact]:
        signatures = self._signatures()
        if signatures.keys() == self._files.keys() and all(
            self._files[path].signature == signature for path, signature in signatures.items()
        ):
            return self._index
        self._files = {path: self._parsed(path, sig) for path, sig in signatures.items()}
        self._index = _index(self._files.values())
        log.info("%s: %d contact numbers loaded", self._path, len(self._index))
        return self._index

    def _signatures(self) -> dict[Path, Signature]:
        """The files to read, in order, with their signatures; raises if the path is gone."""
        try:
            if not self._path.is_dir():
                return {self._path: _signature(self._path)}
            files = sorted(
                entry
                for entry in self._path.iterdir()
                if entry.suffix.lower() == ".vcf" and not entry.name.startswith(".")
            )
            return {file: _signature(file) for file in files if file.is_file()}
        except OSError as error:
            raise ContactSourceError(f"{self._path}: cannot read: {error.strerror}") from error

    def _parsed(self, path: Path, signature: Signature) -> _Parsed:
        known = self._files.get(path)
        if known is not None and known.signature == signature:
            return known
        try:
            data = path.read_bytes()
        except OSError as error:
            if path == self._path:
                raise ContactSourceError(f"{path}: cannot read: {error.strerror}") from error
            log.warning("%s: skipped: cannot read: %s", path, error.strerror)
            return _Parsed(signature, ())
        contacts, problems = parse_vcards(_decode(data), str(path), self._numbering)
        _log_problems(problems)
        return _Parsed(signature, tuple(contacts))


def _signature(path: Path) -> Signature:
    status = path.stat()
    return status.st_mtime_ns, status.st_size


def _decode(data: bytes) -> str:
    """UTF-8 as vCard 3.0 and 4.0 require; Windows-1252 for old 2.1 exports that are not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _index(files: Iterable[_Parsed]) -> dict[str, Contact]:
    """Contacts by normalised number; the first card with a number wins."""
    index: dict[str, Contact] = {}
    for parsed in files:
        for contact in parsed.contacts:
            for _, number in contact.phones:
                index.setdefault(number, contact)
    return index


def _log_problems(problems: list[str]) -> None:
    for problem in problems[:MAX_ROW_WARNINGS]:
        log.warning("%s", problem)
    if len(problems) > MAX_ROW_WARNINGS:
        log.warning("… and %d more problems like these", len(problems) - MAX_ROW_WARNINGS)


# ---------------------------------------------------------------------------
# Parsing: text to cards to contacts


def parse_vcards(text: str, origin: str, numbering: Numbering) -> tuple[list[Contact], list[str]]:
    """The contacts with a phone number in ``text``, and the problems of the cards skipped,
    each naming ``origin``, the card's position and its first line."""
    contacts: list[Contact] = []
    problems: list[str] = []
    for position, (line, card) in enumerate(_split(text), start=1):
        where = f"{origin}, card {position} (line {line})"
        if card is None:
            problems.append(f"{where}: skipped: no END:VCARD")
            continue
        try:
            parsed = vobject.readOne(card)
            contact = _card_contact(parsed, numbering, f"{origin}:{line}")
        except _CardError as error:
            problems.append(f"{where}: skipped: {error}")
            continue
        except Exception as error:  # vobject raises many kinds; a bad card must not stop the file
            problems.append(f"{where}: skipped: not a vCard: {error}")
            continue
        if contact is not None:
            contacts.append(contact)
    return contacts, problems


def _split(text: str) -> Iterator[tuple[int, str | None]]:
    """Each top-level card's first line number and text (None if it never ends)."""
    depth, start = 0, 0
    lines: list[str] = []
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            if depth == 0:
                start, lines = number, []
            depth += 1
        if depth > 0:
            lines.append(line)
        if marker == "END:VCARD" and depth > 0:
            depth -= 1
            if depth == 0:
                yield start, "".join(lines)
    if depth > 0:
        yield start, None


class _CardError(ValueError):
    """A card that parses but cannot be a contact."""


PHONE_KINDS: tuple[tuple[str, PhoneKind], ...] = (
    ("fax", "fax"),
    ("cell", "mobile"),
    ("mobile", "mobile"),
    ("home", "home"),
)
"""TEL types in order of precedence (``TYPE=home,fax`` is a fax); anything else is work."""


def _card_contact(card: Any, numbering: Numbering, source: str) -> Contact | None:
    """The contact of a parsed card; None when it has no phone number to be found by."""
    phones = _phones(card, numbering)
    if not phones:
        return None
    organisation = [_text(part) for part in _parts(_first(card, "org"))]
    company = organisation[0] if organisation else ""
    name = _text(_first(card, "fn")) or _name(_first(card, "n")) or company
    if not name:
        raise _CardError("no name (FN, N or ORG)")
    address = _first(card, "adr")
    return Contact(
        name=name,
        company=company or None,
        email=_text(_first(card, "email")) or None,
        phones=phones,
        street=_text(getattr(address, "street", "")) or None,
        city=_text(getattr(address, "city", "")) or None,
        postal_code=_text(getattr(address, "code", "")) or None,
        country=_text(getattr(address, "country", "")) or None,
        title=_text(_first(card, "title")) or None,
        department=", ".join(part for part in organisation[1:] if part) or None,
        note=_text(_first(card, "note")) or None,
        source=source,
    )


def _phones(card: Any, numbering: Numbering) -> tuple[tuple[PhoneKind, str], ...]:
    phones: list[tuple[PhoneKind, str]] = []
    for line in card.contents.get("tel", []):
        number = numbering.normalize(_tel(_text(line.value)))
        if numbering.dialable(number) and all(number != known for _, known in phones):
            phones.append((_phone_kind(_types(line)), number))
    return tuple(phones)


def _tel(value: str) -> str:
    """The number of a TEL value: 4.0's ``tel:+49-89-123;ext=5`` URI or plain text."""
    if value[:4].lower() == "tel:":
        value = value[4:]
    return value.split(";", 1)[0]


def _phone_kind(types: set[str]) -> PhoneKind:
    return next((kind for name, kind in PHONE_KINDS if name in types), "work")


def _types(line: Any) -> set[str]:
    """The TYPE values of a line: ``TYPE=a,b``, ``TYPE=a;TYPE=b`` and 2.1's bare ``;A;B``."""
    written = [*line.params.get("TYPE", []), *line.singletonparams]
    return {kind.strip().lower() for value in written for kind in str(value).split(",")}


def _first(card: Any, name: str) -> Any:
    """The value of the preferred line called ``name`` (PREF or TYPE=pref), else the first."""
    lines = card.contents.get(name, [])
    preferred = [line for line in lines if "PREF" in line.params or "pref" in _types(line)]
    chosen = (preferred or lines)[:1]
    return chosen[0].value if chosen else ""


def _name(name: Any) -> str:
    """A display name from N, for cards without FN (allowed in 2.1)."""
    parts = ("prefix", "given", "additional", "family", "suffix")
    return " ".join(text for part in parts if (text := _text(getattr(name, part, ""))))


def _parts(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    """A value as one trimmed string; components that are lists are joined by spaces."""
    if isinstance(value, list | tuple):
        return " ".join(text for item in value if (text := _text(item)))
    return value.strip() if isinstance(value, str) else ""
