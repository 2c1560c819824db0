"""A small line map for correlator tests: the lab's lines 201-205."""

from __future__ import annotations

from typing import ClassVar

from missedcall.calls.lines import is_short_extension

DID_PREFIXES = ("+4930555", "4930555")


class LabLines:
    lines: ClassVar = frozenset({"201", "202", "203", "204", "205"})
    devices: ClassVar = {"Local/01701234567@mobile": "201", "PJSIP/01701234567@trunk": "201"}

    def device_line(self, device: str) -> str | None:
        return self.devices.get(device)

    def line_of_number(self, number: str) -> str | None:
        if number in self.lines:
            return number
        for prefix in DID_PREFIXES:
            if number.startswith(prefix) and number[len(prefix) :] in self.lines:
                return number[len(prefix) :]
        return None

    def is_line(self, name: str) -> bool:
        return name in self.lines or is_short_extension(name)

    def is_internal_number(self, number: str) -> bool:
        return self.line_of_number(number) is not None or is_short_extension(number.lstrip("*#"))
