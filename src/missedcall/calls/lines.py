"""How the correlator learns which numbers and devices are the company's lines.

The correlator stays pure: it asks this small port, and the directory (built
from the configuration) answers.  :class:`ResourceNames` is the answer when no
directory is configured: every ringing device is the line its name says.
"""

from __future__ import annotations

from typing import Protocol


class LineMap(Protocol):
    def device_line(self, device: str) -> str | None:
        """The line a device belongs to by configuration.

        ``device`` is a channel name without its sequence suffix
        (``PJSIP/201``, ``Local/01701234567@mobile``) or ``TECH/dialstring``
        (``PJSIP/01701234567@trunk``).
        """
        ...

    def line_of_number(self, number: str) -> str | None:
        """The line a dialled or calling number reaches (``+4930555201`` -> ``201``)."""
        ...

    def is_line(self, name: str) -> bool:
        """Whether a device's resource name (``201``, ``trunk``) is one of our lines."""
        ...

    def is_internal_number(self, number: str) -> bool:
        """Whether a dialled number stays inside the PBX: a line, or a short
        extension such as a group, a queue or a feature code."""
        ...


SHORT_EXTENSION_DIGITS = 6


def is_short_extension(number: str, max_digits: int = SHORT_EXTENSION_DIGITS) -> bool:
    """Digits only and short: an extension, not a public number."""
    return number.isdigit() and len(number) <= max_digits


class ResourceNames:
    """No directory: a ringing device is the line its name says.

    Without a list of lines a number cannot be told to be a line rather than a
    group or a queue, so no number is a line (forwards are then not inferred),
    and a short number is merely internal.
    """

    def device_line(self, device: str) -> str | None:
        return None

    def line_of_number(self, number: str) -> str | None:
        return None

    def is_line(self, name: str) -> bool:
        # Feature codes (``**201`` for a pickup) are dialled, never rung.
        return bool(name) and "*" not in name and "#" not in name

    def is_internal_number(self, number: str) -> bool:
        return is_short_extension(number.lstrip("*#"))
