"""Contacts from an LDAP directory: Active Directory, OpenLDAP (SPEC §8).

Directories hold numbers as people typed them (``089 123-4567``, ``+49 (89)
1234567``), so searching ``(telephoneNumber=<caller>)`` would miss most of them.
Instead the source reads the entries that have a phone number (a paged search
with the configured filter), indexes them by normalised number, and answers
lookups from that index; no caller's number is ever put into a filter.  The
index is read again after ``refresh_seconds``, or at once by :meth:`refresh`.

Every network step is bounded by ``timeout_seconds``.  A directory that cannot
be read raises :class:`ContactSourceError`, and is not asked again for
``retry_seconds``: a server that is down costs one timeout per retry period,
not one per call.  ldap3, which has no type hints, is used in :func:`_search`
and the helpers below it only.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ldap3  # type: ignore[import-untyped]  # no type hints; confined to _search and below
from ldap3.core.exceptions import (  # type: ignore[import-untyped]  # as above
    LDAPException,
    LDAPOperationResult,
)

from missedcall.config import ContactField, LdapSource
from missedcall.directory.contacts import Contact, ContactSourceError, PhoneKind
from missedcall.directory.numbering import Numbering

__all__ = ["DirectoryEntry", "LdapContacts", "contacts_by_number"]

log = logging.getLogger("missedcall.contacts")

REFRESH_SECONDS = 300.0
RETRY_SECONDS = 30.0
MAX_ENTRIES = 50_000
PAGE_SIZE = 500  # below Active Directory's MaxPageSize (1000)
SERVER_LIMITS: Mapping[int, str] = {3: "the server's time limit", 4: "the server's size limit"}

PHONE_FIELDS: Mapping[ContactField, PhoneKind] = {
    "phone_work": "work",
    "phone_mobile": "mobile",
    "phone_home": "home",
    "fax": "fax",
}

# Standard attributes have several names (RFC 4519, RFC 4524), and a server answers
# with the one it prefers: OpenLDAP returns ``street`` when asked for ``streetAddress``.
ALIASES: Mapping[str, str] = {
    "streetaddress": "street",
    "friendlycountryname": "co",
    "localityname": "l",
    "organizationname": "o",
    "organizationalunitname": "ou",
    "commonname": "cn",
    "surname": "sn",
    "gn": "givenname",
    "rfc822mailbox": "mail",
    "mobiletelephonenumber": "mobile",
    "hometelephonenumber": "homephone",
}

_ATTRIBUTE = re.compile(r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)(?:;[A-Za-z0-9-]+)*")


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """An entry as read: its DN, and its values by attribute key (see :func:`attribute_key`)."""

    dn: str
    attributes: Mapping[str, Sequence[str]]


def attribute_key(name: str) -> str:
    """One key for all the names of an attribute: lower case, aliases folded."""
    key = name.lower()
    return ALIASES.get(key, key)


class LdapContacts:
    """An LDAP directory, read whole into an index by normalised number and kept fresh."""

    def __init__(
        self,
        settings: LdapSource,
        numbering: Numbering,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._numbering = numbering
        self._refresh_seconds = refresh_seconds
        self._retry_seconds = retry_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._index: Mapping[str, Contact] | None = None
        self._error = ""  # why the last reading failed
        self._next_reading = -math.inf

    def __repr__(self) -> str:
        return f"LdapContacts({self._settings.url!r}, base={self._settings.base!r})"

    def find(self, number: str) -> Contact | None:
        if self._clock() >= self._next_reading:
            self.refresh()
        if self._index is None:
            raise ContactSourceError(self._error)
        return self._index.get(self._numbering.normalize(number))

    def refresh(self) -> None:
        """Read the directory now; if that fails, lookups fail until the retry time."""
        started = self._clock()
        try:
            entries = self._read()
        except ContactSourceError as error:
            self._index, self._error = None, str(error)
            self._next_reading = started + self._retry_seconds
            raise
        origin = self._settings.url.rstrip("/")
        self._index = contacts_by_number(
            entries, self._settings.attribute_map, self._numbering, origin
        )
        self._next_reading = started + self._refresh_seconds
        log.info("%r: %d contact numbers loaded", self, len(self._index))

    def _read(self) -> list[DirectoryEntry]:
        attribute_map = self._settings.attribute_map
        attributes = _attribute_names(attribute_map.values(), self._settings.url)
        phones = _attribute_names(
            (attribute_map.get(field, ()) for field in PHONE_FIELDS), self._settings.url
        )
        if not phones:
            raise ContactSourceError(f"{self._settings.url}: no attribute holds phone numbers")
        present = "".join(f"({name}=*)" for name in phones)
        search_filter = f"(&{self._settings.search_filter}(|{present}))"
        entries, cut = _search(self._settings, search_filter, attributes, self._max_entries)
        if cut:
            log.warning(
                "%r: only the first %d entries are used (%s); narrow the filter",
                self,
                len(entries),
                cut,
            )
        # The order the server sends is no order: sorted, a number shared by two entries
        # finds the same one after every reading.
        return sorted(entries, key=lambda entry: entry.dn)


def _attribute_names(groups: Iterable[Iterable[str]], url: str) -> list[str]:
    """The attribute names once each, in order; a name that is not one is an error."""
    names = list(dict.fromkeys(name for group in groups for name in group))
    for name in names:
        if not _ATTRIBUTE.fullmatch(name):
            raise ContactSourceError(f"{url}: {name!r} is not an LDAP attribute name")
    return names


# ---------------------------------------------------------------------------
# Entries to contacts


def contacts_by_number(
    entries: Iterable[DirectoryEntry],
    attribute_map: Mapping[ContactField, Sequence[str]],
    numbering: Numbering,
    origin: str,
) -> dict[str, Contact]:
    """Contacts by normalised number; the first entry with a number wins."""
    index: dict[str, Contact] = {}
    for entry in entries:
        contact = _contact(entry, attribute_map, numbering, f"{origin}/{entry.dn}")
        if contact is not None:
            for _, number in contact.phones:
                index.setdefault(number, contact)
    return index


def _contact(
    entry: DirectoryEntry,
    attribute_map: Mapping[ContactField, Sequence[str]],
    numbering: Numbering,
    source: str,
) -> Contact | None:
    """The contact of an entry; None without a name or a phone number."""

    def values(field: ContactField) -> list[str]:
        found = (entry.attributes.get(attribute_key(a), ()) for a in attribute_map.get(field, ()))
        return [text for group in found for value in group if (text := value.strip())]

    def first(field: ContactField) -> str | None:
        return next(iter(values(field)), None)

    phones: list[tuple[PhoneKind, str]] = []
    for field, kind in PHONE_FIELDS.items():
        for raw in values(field):
            number = numbering.dialable(raw)
            if number and all(number != known for _, known in phones):
                phones.append((kind, number))
    person = " ".join(filter(None, (first("given_name"), first("surname"))))
    name = first("name") or person or first("company")
    if not name or not phones:
        return None
    return Contact(
        name=name,
        company=first("company"),
        email=first("email"),
        phones=tuple(phones),
        street=first("street"),
        city=first("city"),
        postal_code=first("postal_code"),
        country=first("country"),
        title=first("title"),
        department=first("department"),
        source=source,
    )


# ---------------------------------------------------------------------------
# The ldap3 boundary


def _search(
    settings: LdapSource, search_filter: str, attributes: Sequence[str], limit: int
) -> tuple[list[DirectoryEntry], str]:
    """At most ``limit`` entries, and why the list was cut short (empty if it was not)."""
    connection = _connection(settings)
    step = "cannot connect"
    try:
        connection.open()
        if settings.starttls:
            step = "cannot start TLS"
            connection.start_tls()
        step = f"cannot bind as {settings.bind_dn!r}" if settings.bind_dn else "cannot bind"
        connection.bind()
        step = f"cannot search {settings.base!r}"
        return _entries(connection, settings.base, search_filter, attributes, limit)
    except (LDAPException, OSError) as error:
        raise ContactSourceError(f"{settings.url}: {step}: {_reason(error)}") from error
    finally:
        with contextlib.suppress(LDAPException, OSError):  # the connection may be broken
            connection.unbind()


def _connection(settings: LdapSource) -> Any:
    """An unopened connection; certificates are always verified, against the system's CAs."""
    server = ldap3.Server(
        settings.url.rstrip("/"),
        get_info=ldap3.NONE,
        connect_timeout=settings.timeout_seconds,
        tls=ldap3.Tls(validate=ssl.CERT_REQUIRED),
    )
    return ldap3.Connection(
        server,
        user=settings.bind_dn,
        password=settings.password,
        auto_bind=ldap3.AUTO_BIND_NONE,
        # ldap3 packs the receive timeout as a C long: a float fails on Linux.
        receive_timeout=math.ceil(settings.timeout_seconds),
        raise_exceptions=True,
        read_only=True,
        auto_referrals=False,
    )


def _entries(
    connection: Any, base: str, search_filter: str, attributes: Sequence[str], limit: int
) -> tuple[list[DirectoryEntry], str]:
    entries: list[DirectoryEntry] = []
    pages = connection.extend.standard.paged_search(
        base,
        search_filter,
        ldap3.SUBTREE,
        attributes=list(attributes),
        paged_size=min(PAGE_SIZE, limit + 1),
        generator=True,
    )
    for response in pages:
        if response.get("type") != "searchResEntry":
            continue  # a referral (Active Directory's other domains): not followed
        if len(entries) == limit:
            return entries, f"more than {limit} entries"
        entries.append(_entry(response))
    # ldap3 ends a paged search cut by the server's limits quietly: the last result tells.
    result: Mapping[str, Any] = connection.result or {}
    return entries, SERVER_LIMITS.get(result.get("result", 0), "")


def _entry(response: Mapping[str, Any]) -> DirectoryEntry:
    attributes: dict[str, list[str]] = {}
    for name, values in response["raw_attributes"].items():
        texts = [v.decode("utf-8", errors="replace") for v in values if isinstance(v, bytes)]
        attributes.setdefault(attribute_key(name), []).extend(texts)
    return DirectoryEntry(str(response["dn"]), attributes)


def _reason(error: Exception) -> str:
    if isinstance(error, LDAPOperationResult):
        message = f": {error.message}" if error.message else ""
        return f"{error.description} (result {error.result}){message}"
    return str(error) or type(error).__name__
