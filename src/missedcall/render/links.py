"""Telephony links (SPEC §7): ``link_prefix`` and the number in dialable form.

``tel:`` is what phones and most softphones open; ``phone:`` and ``callto:``
serve older clients, and a custom prefix (validated by the configuration: a
URI scheme of 1 to 9 characters and ``:``) serves a CTI client of the site.
The number behind it is the normalised international form (``+4989…``) or an
internal extension, digits and ``+`` only, so a link can carry nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from missedcall.directory.numbering import Numbering

__all__ = ["NumberForms", "number_forms", "telephony_link"]


@dataclass(frozen=True, slots=True)
class NumberForms:
    """How one number is shown and dialled; ``dialable`` is empty for what is not a number."""

    display: str
    dialable: str


@lru_cache(maxsize=4096)
def number_forms(numbering: Numbering, number: str) -> NumberForms:
    """Cached: parsing a number costs tens of microseconds, and the same ones recur
    (the company's own numbers, callers who ring again)."""
    return NumberForms(numbering.display(number), numbering.dialable(number))


def telephony_link(
    prefix: str | None, numbering: Numbering, number: str, *, hidden: bool = False
) -> str | None:
    """``tel:+49891234567``; None with links off, for a hidden number, or for no number."""
    if prefix is None or hidden:
        return None
    dialable = number_forms(numbering, number).dialable
    return prefix + dialable if dialable else None
