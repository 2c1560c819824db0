"""The call record: what happened in one call, whatever the PBX (SPEC §4).

Records are plain frozen values; :meth:`CallRecord.to_json` gives exactly the
field names of SPEC §4, which are a contract with the CLI's users.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal, TypeVar

Direction = Literal["inbound", "internal", "outbound"]
Presentation = Literal["allowed", "restricted"]
ForwardKind = Literal["forward", "transfer"]

SIMULTANEOUS_SECONDS = 0.05
"""Alerts that start this close together are simultaneous (SPEC §4, §5)."""

JsonObject = dict[str, object]


@dataclass(frozen=True, slots=True)
class Caller:
    number: str
    name: str | None
    presentation: Presentation


@dataclass(frozen=True, slots=True)
class Participant:
    line: str
    first_alert_at: float
    last_alert_at: float
    ring_seconds: float
    answered_at: float | None = None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


@dataclass(frozen=True, slots=True)
class Pickup:
    by: str
    from_line: str
    at: float


@dataclass(frozen=True, slots=True)
class Forward:
    from_line: str
    to_line: str
    kind: ForwardKind


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    started_at: float
    ended_at: float
    caller: Caller
    dialed: str
    direction: Direction
    participants: tuple[Participant, ...]
    answered_by: str | None
    answered_at: float | None = None
    pickup: Pickup | None = None
    forwards: tuple[Forward, ...] = ()
    voicemail: bool = False
    busy: tuple[str, ...] = ()
    incomplete: bool = False
    caller_line: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def participant(self, line: str) -> Participant | None:
        return next((p for p in self.participants if p.line == line), None)

    def to_json(self) -> JsonObject:
        return {
            "call_id": self.call_id,
            "started_at": iso_time(self.started_at),
            "ended_at": iso_time(self.ended_at),
            "caller": {
                "number": self.caller.number,
                "name": self.caller.name,
                "presentation": self.caller.presentation,
            },
            "dialed": self.dialed,
            "direction": self.direction,
            "participants": [_participant_json(p) for p in self.participants],
            "answered_by": self.answered_by,
            "pickup": None
            if self.pickup is None
            else {
                "by": self.pickup.by,
                "from": self.pickup.from_line,
                "at": iso_time(self.pickup.at),
            },
            "forwards": [
                {"from": f.from_line, "to": f.to_line, "kind": f.kind} for f in self.forwards
            ],
            "voicemail": self.voicemail,
            "busy": list(self.busy),
            "incomplete": self.incomplete,
        }


def _participant_json(p: Participant) -> JsonObject:
    return {
        "line": p.line,
        "first_alert_at": iso_time(p.first_alert_at),
        "last_alert_at": iso_time(p.last_alert_at),
        "ring_seconds": round(p.ring_seconds, 3),
        "answered": p.answered,
        "answered_at": None if p.answered_at is None else iso_time(p.answered_at),
    }


@lru_cache(maxsize=4096)
def iso_time(epoch_seconds: float) -> str:
    """ISO 8601 with milliseconds and an explicit UTC offset.

    Cached: a call's moments are written again and again (its record stored,
    its document for each recipient, the log lines), and datetime is slow.
    """
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds")


def line_sort_key(line: str) -> tuple[int, int, str]:
    """Extensions in numeric order, other names after them in text order."""
    return (0, int(line), line) if line.isdigit() else (1, 0, line)


T = TypeVar("T")


def order_simultaneous(
    items: Iterable[T], when: Callable[[T], float], line: Callable[[T], str]
) -> list[T]:
    """Order by time; alerts within 50 ms of a group's first count as simultaneous
    and are ordered by line number (a PBX starts parallel legs in arbitrary order)."""
    by_time = sorted(items, key=lambda item: (when(item), line_sort_key(line(item))))
    ordered: list[T] = []
    group: list[T] = []
    for item in by_time:
        if group and when(item) - when(group[0]) > SIMULTANEOUS_SECONDS:
            ordered.extend(sorted(group, key=lambda member: line_sort_key(line(member))))
            group = []
        group.append(item)
    ordered.extend(sorted(group, key=lambda member: line_sort_key(line(member))))
    return ordered


def by_first_alert(participants: Sequence[Participant]) -> list[Participant]:
    return order_simultaneous(participants, lambda p: p.first_alert_at, lambda p: p.line)


def by_last_alert(participants: Sequence[Participant]) -> list[Participant]:
    return order_simultaneous(participants, lambda p: p.last_alert_at, lambda p: p.line)


def ring_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Total time covered by the intervals, overlaps counted once."""
    total = 0.0
    covered_until = float("-inf")
    for start, end in sorted(intervals):
        if end <= covered_until:
            continue
        total += end - max(start, covered_until)
        covered_until = end
    return total
