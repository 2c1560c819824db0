"""The correlator's working state: calls, their channels, and each channel's legs.

Plain mutable records, changed only by :mod:`missedcall.calls.asterisk`; and the
small pure helpers that read Asterisk's channel names and caller-ID fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from missedcall.calls.record import Forward, ForwardKind, Pickup


@dataclass(slots=True)
class Leg:
    """One channel's stay in one call."""

    channel: Channel
    intervals: list[tuple[float, float]] = field(default_factory=list)
    ring_since: float | None = None
    answered_at: float | None = None
    busy: bool = False

    def start_ringing(self, at: float) -> bool:
        if self.ring_since is not None or self.answered_at is not None:
            return False
        self.ring_since = at
        return True

    def stop_ringing(self, at: float) -> None:
        if self.ring_since is not None:
            self.intervals.append((self.ring_since, max(at, self.ring_since)))
            self.ring_since = None


@dataclass(slots=True, eq=False)
class Channel:
    uniqueid: str
    name: str
    call: Call
    leg: Leg | None = None
    is_destination: bool = False
    hop: bool = False
    ran_voicemail: bool = False
    dial_key: str | None = None
    caller_number: str = ""
    line: str | None = None
    line_known: bool = False

    @property
    def base(self) -> str:
        """The name without the sequence suffix: ``PJSIP/201-0000000a`` -> ``PJSIP/201``."""
        return device_base(self.name)

    @property
    def local_half(self) -> int:
        if self.name.startswith("Local/") and self.name[-2:] in (";1", ";2"):
            return int(self.name[-1])
        return 0

    def partner_name(self) -> str:
        return self.name[:-1] + ("1" if self.name.endswith("2") else "2")

    def current_leg(self) -> Leg:
        if self.leg is None:
            self.leg = Leg(self)
            self.call.legs.append(self.leg)
        return self.leg

    def is_device(self) -> bool:
        return self.is_destination and not self.hop


@dataclass(slots=True, eq=False)
class Call:
    call_id: str
    started_at: float
    last_at: float
    incomplete: bool = False
    caller_number: str = ""
    caller_name: str = ""
    restricted: bool = False
    caller_settled: bool = False
    dialed: str = ""
    live: set[str] = field(default_factory=set)
    legs: list[Leg] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)
    pickup: Pickup | None = None
    voicemail: bool = False
    absorbed: bool = False
    aimed_at: str | None = None  # the line an unanswered call is directed to
    connected_line: str | None = None  # the line that answered most recently
    dialed_line_resolved: bool = False

    def add_forward(self, from_line: str, to_line: str, kind: ForwardKind) -> None:
        forward = Forward(from_line, to_line, kind)
        if from_line != to_line and forward not in self.forwards:
            self.forwards.append(forward)


def device_base(channel_name: str) -> str:
    """Strip the ``-<hex sequence>`` and ``;n`` suffix Asterisk adds to a channel name."""
    name = channel_name[:-2] if channel_name[-2:] in (";1", ";2") else channel_name
    head, dash, tail = name.rpartition("-")
    if dash and tail and all(c in "0123456789abcdefABCDEF" for c in tail):
        return head
    return name


def resource_of(channel_name: str) -> str:
    """``PJSIP/201-0000000a`` -> ``201``; ``Local/201@phones-00000003;1`` -> ``201``."""
    base = device_base(channel_name)
    resource = base.partition("/")[2] or base
    if base.startswith("Local/"):
        resource = resource.partition("@")[0]
    return resource


def known(value: str | None) -> str:
    return "" if value is None or value == "<unknown>" else value


def presentation_code(value: str | None) -> int:
    if not value:
        return 0
    head = value.split(" ", 1)[0]
    return int(head) if head.isdigit() else 0
