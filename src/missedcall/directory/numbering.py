"""Telephone numbers: from whatever the PBX signals to E.164, and back to lines.

A PBX hands over numbers in every form: ``+4989…``, ``004989…``, ``089…``, the
bare ``4989…`` some trunks send, a local ``555201`` without area code, an
extension ``201``, or ``anonymous``.  Contact search, ``excluded_numbers`` and
"did this user call back" all compare numbers, so they compare them in one
canonical form: E.164 for outside numbers, the digits as written for internal
extensions.  Caller numbers are hostile input: nothing here raises on them;
what is not a number comes back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

__all__ = ["Numbering"]

# Characters people and PBXs put between digits; dropped before anything else.
_SEPARATORS = re.compile(r"[\s()./-]")
_NUMBER = re.compile(r"\+?[0-9]+")


@dataclass(frozen=True, slots=True)
class Numbering:
    """The numbering plan of the site (``[numbering]``).

    ``country`` is an ISO region (``DE``), ``area_code`` the local area code
    without national prefix (``30``), ``did_prefix`` the company's public prefix
    in E.164 (``+4930555``), and digit strings up to ``internal_max_digits``
    long are internal extensions.  Values are taken as validated by the config.
    """

    country: str | None = None
    area_code: str | None = None
    did_prefix: str | None = None
    internal_max_digits: int = 6
    outside_prefix: str | None = None
    _country_code: str = field(init=False, repr=False, compare=False)
    _trunk_prefix: str = field(init=False, repr=False, compare=False)
    _idd: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(self.country or "")
        code = str(metadata.country_code) if metadata else ""
        trunk = (metadata.national_prefix or "") if metadata else ""
        idd = metadata.international_prefix if metadata and metadata.international_prefix else "00"
        object.__setattr__(self, "_country_code", code)
        object.__setattr__(self, "_trunk_prefix", trunk)
        object.__setattr__(self, "_idd", re.compile(idd))

    def normalize(self, number: str) -> str:
        """The canonical form: E.164, an extension as written, or the input unchanged."""
        return _normalized(self, number)

    def _normalize(self, number: str) -> str:
        digits = _SEPARATORS.sub("", number)
        if not _NUMBER.fullmatch(digits):
            return number
        if digits.startswith("+"):
            return _canonical(digits)
        if len(digits) <= self.internal_max_digits:
            return digits
        if not self.country:
            return _canonical("+" + digits[2:]) if digits.startswith("00") else digits
        return _canonical(self._national(digits))

    def _national(self, digits: str) -> str:
        """A digit string without ``+`` that is too long to be an extension."""
        country = self.country or ""
        if self._idd.match(digits) or (
            self._trunk_prefix and digits.startswith(self._trunk_prefix)
        ):
            return _e164(digits, country) or digits
        if digits.startswith(self._country_code) and _valid("+" + digits):
            return "+" + digits
        if self.area_code:
            return _e164(self.area_code + digits, country) or digits
        return _e164(digits, country, valid_only=True) or digits

    def dialed(self, number: str) -> str:
        """A number a user dialled, normalised: without the outside-line prefix
        (``0`` ``0891234567`` is ``+49891234567``), so a callback compares
        equal to the caller's number."""
        prefix = self.outside_prefix
        if prefix and number.startswith(prefix):
            rest = number[len(prefix) :]
            if len(rest) > self.internal_max_digits:
                return self.normalize(rest)
        return self.normalize(number)

    def line_of(self, number: str, lines: Container[str]) -> str | None:
        """The line ``number`` reaches: itself if it is a line, or the rest after the DID prefix."""
        if number in lines:
            return number
        normal = self.normalize(number)
        if normal in lines:
            return normal
        if self.did_prefix and normal.startswith(self.did_prefix):
            rest = normal[len(self.did_prefix) :]
            if rest in lines:
                return rest
        return None

    def matches(self, number: str, pattern: str) -> bool:
        """Whether ``number`` matches an ``excluded_numbers`` entry (exact, or prefix ``…*``)."""
        normal = self.normalize(number)
        if pattern.endswith("*"):
            written = _SEPARATORS.sub("", pattern[:-1])
            prefix = self._normalize_prefix(written)
            if not prefix:
                return False
            if normal.startswith("+"):
                return normal.startswith(prefix)
            # Not a number phonenumbers could place (kept as dialled): compare as written too.
            return normal.startswith((prefix, written))
        return normal == self.normalize(pattern)

    def _normalize_prefix(self, digits: str) -> str:
        """A number prefix (separators removed) in the form numbers are normalised to,
        without validity checks.

        Too short to be a number, a prefix is rewritten textually: ``00`` and
        ``0`` (international and national prefixes) become ``+`` and ``+49``;
        anything else is an extension prefix and stays as written.
        """
        if not _NUMBER.fullmatch(digits) or digits.startswith("+"):
            return digits
        if idd := self._idd.match(digits):
            return "+" + digits[idd.end() :]
        if self._trunk_prefix and digits.startswith(self._trunk_prefix):
            return "+" + self._country_code + digits[len(self._trunk_prefix) :]
        return digits

    def dialable(self, number: str) -> str:
        """The form to put behind a telephony link prefix; empty when it is not a number."""
        normal = self.normalize(number)
        return normal if _NUMBER.fullmatch(normal) else ""

    def display(self, number: str) -> str:
        """A readable international form (``+49 89 1234567``); other input as normalised."""
        normal = self.normalize(number)
        if not normal.startswith("+"):
            return normal
        try:
            parsed = phonenumbers.parse(normal, None)
        except NumberParseException:
            return normal
        return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)


@lru_cache(maxsize=8192)
def _normalized(numbering: Numbering, number: str) -> str:
    """Every call asks for the same few numbers again and again (rules, journal,
    links, contacts); phonenumbers takes some 100 us a parse."""
    return numbering._normalize(number)


def _canonical(number: str) -> str:
    """E.164 as phonenumbers writes it, repeated until it stays put.

    One pass may leave a national prefix inside (``+4900891234567`` gives
    ``+490891234567``), so the canonical form is the fixed point.
    """
    for _ in range(8):
        if not number.startswith("+"):
            return number
        again = _e164(number, None)
        if again is None or again == number:
            return number
        number = again
    return number


def _e164(text: str, region: str | None, *, valid_only: bool = False) -> str | None:
    """``text`` parsed for ``region`` and formatted as E.164, or None if it does not parse."""
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if valid_only and not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _valid(text: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, None))
    except NumberParseException:
        return False
