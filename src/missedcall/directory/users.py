"""Who owns which line, and which devices and numbers reach it.

The :class:`Directory` is built once from the configuration and answers the
correlator's :class:`~missedcall.calls.lines.LineMap` questions, so the
correlator never sees the config.  With no users configured it behaves like
:class:`~missedcall.calls.lines.ResourceNames`: every ringing device is a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from missedcall.calls.lines import ResourceNames, is_short_extension
from missedcall.config import Config, UserSettings
from missedcall.directory.numbering import Numbering

__all__ = ["Directory"]


@dataclass(frozen=True, slots=True)
class Directory:
    """Users by id, lines by owner, devices by line; read-only after construction."""

    users: Mapping[str, UserSettings]
    numbering: Numbering
    owners: Mapping[str, str]
    devices: Mapping[tuple[str, str], str]

    @classmethod
    def from_config(cls, config: Config) -> Directory:
        numbering = config.numbering
        return cls(
            users={user.id: user for user in config.users},
            numbering=Numbering(
                country=numbering.country,
                area_code=numbering.area_code,
                did_prefix=numbering.did_prefix,
                internal_max_digits=numbering.internal_max_digits,
                outside_prefix=numbering.outside_prefix,
            ),
            owners={line: user.id for user in config.users for line in user.lines},
            devices={_device_key(name): line for name, line in config.asterisk.devices.items()},
        )

    @property
    def lines(self) -> frozenset[str]:
        return frozenset(self.owners)

    def user(self, user_id: str) -> UserSettings | None:
        return self.users.get(user_id)

    def user_of_line(self, line: str) -> UserSettings | None:
        owner = self.owners.get(line)
        return None if owner is None else self.users[owner]

    def device_line(self, device: str) -> str | None:
        """The configured line of a device; the technology (``PJSIP``) in any case."""
        return self.devices.get(_device_key(device))

    def line_of_number(self, number: str) -> str | None:
        """A configured line reached by ``number``: ``201``, ``+4930555201``, ``030 555201``."""
        return self.numbering.line_of(number, self.owners)

    def is_line(self, name: str) -> bool:
        """A configured line, or an extension that simply has no user here.

        ``trunk`` or ``01701234567`` (a mobile behind a trunk) are not lines once
        users are configured; without users every ringing device is one.
        """
        if not self.users:
            return ResourceNames().is_line(name)
        return name in self.owners or is_short_extension(name, self.numbering.internal_max_digits)

    def is_internal_number(self, number: str) -> bool:
        """A line, or a short extension (group, queue, feature code such as ``*8``)."""
        return self.line_of_number(number) is not None or is_short_extension(
            number.lstrip("*#"), self.numbering.internal_max_digits
        )


def _device_key(device: str) -> tuple[str, str]:
    """``PJSIP/201`` and ``pjsip/201`` are one device; the resource keeps its case."""
    technology, _, resource = device.partition("/")
    return technology.lower(), resource
