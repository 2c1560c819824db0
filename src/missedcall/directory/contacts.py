"""Contact search: who is calling, by number, from the configured sources (SPEC §8).

Every source answers one question, :meth:`ContactLookup.find`, for a number in
the site's canonical form (E.164, or an extension).  :class:`ContactDirectory`
asks the sources in order, keeps answers (found or not) for a short time, and
treats a source that fails as absent for that lookup: contact search may make
a mail poorer, never late or lost.  CSV is the first kind of source; vCard and
LDAP sources plug in behind the same protocol.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from missedcall.config import ContactsSettings, CsvSource
from missedcall.directory.numbering import Numbering

__all__ = [
    "CSV_COLUMNS",
    "Contact",
    "ContactDirectory",
    "ContactLookup",
    "ContactSourceError",
    "CsvContacts",
    "build_sources",
    "parse_csv",
]

log = logging.getLogger("missedcall.contacts")

PhoneKind = Literal["work", "mobile", "home", "fax"]


@dataclass(frozen=True, slots=True)
class Contact:
    """A person or company as a source knows them; phones are normalised numbers."""

    name: str
    company: str | None = None
    email: str | None = None
    phones: tuple[tuple[PhoneKind, str], ...] = ()
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    title: str | None = None
    department: str | None = None
    note: str | None = None
    source: str = ""  # where it came from, for the administrator: "contacts.csv:12"


class ContactSourceError(Exception):
    """A source cannot answer now (file missing, server down); the search skips it."""


class ContactLookup(Protocol):
    def find(self, number: str) -> Contact | None:
        """The contact with this number (normalised); None if the source has none."""
        ...


# ---------------------------------------------------------------------------
# The directory: sources in order, a cache, and failures contained


class ContactDirectory:
    """Searches the sources in order (the first hit wins) and caches hits and misses."""

    def __init__(
        self,
        sources: Sequence[ContactLookup],
        numbering: Numbering,
        ttl_seconds: float = 300,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._sources = tuple(sources)
        self._numbering = numbering
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._cache: dict[str, tuple[float, Contact | None]] = {}
        self._failing: dict[int, str] = {}  # source position -> the error last logged

    def find(self, number: str) -> Contact | None:
        """The caller's contact; None for no contact, and for what is not a number."""
        key = self._numbering.normalize(number)
        if not self._numbering.dialable(key):
            return None
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and now < cached[0]:
            return cached[1]
        contact = self._search(key)
        self._remember(key, contact, now)
        return contact

    def _search(self, number: str) -> Contact | None:
        for position, source in enumerate(self._sources):
            try:
                contact = source.find(number)
            except Exception as error:  # whatever a source does wrong, the search goes on
                self._failed(position, source, error)
                continue
            self._works(position, source)
            if contact is not None:
                return contact
        return None

    def _failed(self, position: int, source: ContactLookup, error: Exception) -> None:
        """Log a failing source once, not at every call, until it works or fails differently."""
        message = str(error) or type(error).__name__
        if self._failing.get(position) != message:
            log.warning("contact source %r skipped: %s", source, message)
        self._failing[position] = message

    def _works(self, position: int, source: ContactLookup) -> None:
        if self._failing.pop(position, None) is not None:
            log.info("contact source %r works again", source)

    def _remember(self, key: str, contact: Contact | None, now: float) -> None:
        if self._ttl <= 0:
            return
        self._cache.pop(key, None)
        if len(self._cache) >= self._max_entries:
            del self._cache[next(iter(self._cache))]  # the oldest entry
        self._cache[key] = (now + self._ttl, contact)


def build_sources(settings: ContactsSettings, numbering: Numbering) -> list[ContactLookup]:
    """The configured sources, in order; none of them does any I/O before its first lookup."""
    # The vCard and LDAP modules import this one, so they are imported here, not at the top.
    from missedcall.directory.ldap_source import LdapContacts  # noqa: PLC0415
    from missedcall.directory.vcard_source import VcardContacts  # noqa: PLC0415

    sources: list[ContactLookup] = []
    for source in settings.sources:
        if isinstance(source, CsvSource):
            sources.append(CsvContacts(source.path, numbering))
        elif source.type == "vcard":
            sources.append(VcardContacts(source.path, numbering))
        else:
            sources.append(LdapContacts(source, numbering))
    return sources


# ---------------------------------------------------------------------------
# CSV files

TEXT_COLUMNS = (
    "name",
    "company",
    "email",
    "street",
    "city",
    "postal_code",
    "country",
    "title",
    "department",
    "note",
)
PHONE_COLUMNS: Mapping[str, PhoneKind] = {
    "phone": "work",
    "mobile": "mobile",
    "home": "home",
    "fax": "fax",
}
CSV_COLUMNS = (*TEXT_COLUMNS, *PHONE_COLUMNS)
"""The columns a contacts CSV file may have, documented in ``docs/contacts.md``."""

MAX_ROW_WARNINGS = 10

_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # undecodable bytes, kept by surrogateescape
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class CsvContacts:
    """A CSV file of contacts, read again whenever it changes on disk."""

    def __init__(self, path: Path, numbering: Numbering) -> None:
        self._path = path
        self._numbering = numbering
        self._loaded: tuple[int, int] | None = None  # (mtime_ns, size) of what was read
        self._index: Mapping[str, Contact] = {}

    def __repr__(self) -> str:
        return f"CsvContacts({str(self._path)!r})"

    def find(self, number: str) -> Contact | None:
        return self._current().get(self._numbering.normalize(number))

    def _current(self) -> Mapping[str, Contact]:
        signature = self._signature()
        if signature != self._loaded:
            self._index = self._load()
            self._loaded = signature
        return self._index

    def _signature(self) -> tuple[int, int]:
        try:
            status = self._path.stat()
        except OSError as error:
            raise ContactSourceError(f"{self._path}: cannot read: {error.strerror}") from error
        return status.st_mtime_ns, status.st_size

    def _load(self) -> Mapping[str, Contact]:
        try:
            data = self._path.read_bytes()
        except OSError as error:
            raise ContactSourceError(f"{self._path}: cannot read: {error.strerror}") from error
        text = data.decode("utf-8-sig", errors="surrogateescape")
        index, problems = parse_csv(text, str(self._path), self._numbering)
        _log_problems(problems)
        log.info("%s: %d contact numbers loaded", self._path, len(index))
        return index


def parse_csv(text: str, origin: str, numbering: Numbering) -> tuple[dict[str, Contact], list[str]]:
    """Contacts by normalised number (the first row with a number wins), and the
    problems of the rows that were skipped or trimmed, each naming file and line."""
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    problems: list[str] = []
    rows = _rows(text, delimiter, origin, problems)
    header = next(rows, None)
    if header is None:
        raise ContactSourceError(f"{origin}: empty; a header row is required")
    columns = _header(header, origin, problems)
    index: dict[str, Contact] = {}
    for line, fields in rows:
        try:
            contact, notes = _contact(fields, columns, numbering, f"{origin}:{line}")
        except _RowError as error:
            problems.append(f"{origin}, line {line}: skipped: {error}")
            continue
        problems.extend(f"{origin}, line {line}: {note}" for note in notes)
        for _, number in contact.phones:
            index.setdefault(number, contact)
    return index, problems


def _rows(
    text: str, delimiter: str, origin: str, problems: list[str]
) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on; blank rows left out, unreadable ones reported."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            problems.append(f"{origin}, line {start}: skipped: not CSV: {error}")
            fields = []
        if any(field.strip() for field in fields):
            yield start, fields
        start = reader.line_num + 1


def _header(header: tuple[int, list[str]], origin: str, problems: list[str]) -> list[str | None]:
    """The known column of each field (None for columns that are ignored)."""
    line, fields = header
    names = [re.sub(r"[\s-]+", "_", field.strip().lower()) for field in fields]
    columns: list[str | None] = [name if name in CSV_COLUMNS else None for name in names]
    if not {"name", "company"} & set(names) or not set(PHONE_COLUMNS) & set(names):
        raise ContactSourceError(
            f"{origin}, line {line}: must be the header row, with a 'name' or 'company' column "
            f"and a 'phone', 'mobile', 'home' or 'fax' column; found {fields!r}"
        )
    unknown = [field for field, column in zip(fields, columns, strict=True) if column is None]
    if unknown:
        problems.append(f"{origin}, line {line}: columns ignored: {', '.join(unknown)}")
    return columns


class _RowError(ValueError):
    """A row that cannot be a contact."""


def _contact(
    fields: list[str], columns: list[str | None], numbering: Numbering, source: str
) -> tuple[Contact, list[str]]:
    """The contact of one row, and notes about values left out of it."""
    values = _values(fields, columns)
    notes: list[str] = []
    phones: list[tuple[PhoneKind, str]] = []
    for column, kind in PHONE_COLUMNS.items():
        raw = values.pop(column, "")
        number = numbering.normalize(raw)
        if numbering.dialable(number):
            phones.append((kind, number))
        elif raw:
            notes.append(f"{column} {raw!r} is not a phone number; left out")
    email = values.pop("email", "")
    if email and not _EMAIL.fullmatch(email):
        notes.append(f"email {email!r} is not an e-mail address; left out")
        email = ""
    name = values.pop("name", "") or values.get("company", "")
    if not name:
        raise _RowError("no name or company")
    if not phones:
        raise _RowError("no phone number")
    return Contact(
        name=name, email=email or None, phones=tuple(phones), source=source, **values
    ), notes


def _values(fields: list[str], columns: list[str | None]) -> dict[str, str]:
    """The known columns' values of a row, trimmed, empty ones left out."""
    if any(_NOT_UTF8.search(field) for field in fields):
        raise _RowError("not UTF-8; save the file as 'CSV UTF-8'")
    if len(fields) > len(columns) and any(field.strip() for field in fields[len(columns) :]):
        raise _RowError(f"{len(fields)} fields, but the header has {len(columns)} columns")
    return {
        column: field.strip()
        for column, field in zip(columns, fields, strict=False)
        if column is not None and field.strip()
    }


def _log_problems(problems: list[str]) -> None:
    for problem in problems[:MAX_ROW_WARNINGS]:
        log.warning("%s", problem)
    if len(problems) > MAX_ROW_WARNINGS:
        log.warning("… and %d more problems like these", len(problems) - MAX_ROW_WARNINGS)
