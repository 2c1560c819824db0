"""Turns a finished call's state into its record (SPEC §4): one participant per line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from missedcall.calls.channels import Call, Channel
from missedcall.calls.lines import LineMap
from missedcall.calls.record import (
    Caller,
    CallRecord,
    Direction,
    Participant,
    by_first_alert,
    ring_seconds,
)

HIDDEN_NUMBERS: Final = frozenset(
    {"anonymous", "restricted", "private", "unavailable", "unknown", "withheld"}
)
"""What PBXs and carriers put in place of a number they must not show."""


def assemble(
    call: Call, ended_at: float, lines: LineMap, line_of: Callable[[Channel], str | None]
) -> CallRecord:
    participants, busy = _participants(call, line_of)
    answers = [(p.answered_at, p.line) for p in participants if p.answered_at is not None]
    if call.pickup is not None:
        answers.append((call.pickup.at, call.pickup.by))
    first_answer = min(answers, default=None)
    number = call.caller_number
    caller_line = lines.line_of_number(number) if number else None
    caller_internal = caller_line is not None or lines.is_internal_number(number)
    name = call.caller_name if call.caller_name != number else ""
    restricted = call.restricted or number.lower() in HIDDEN_NUMBERS
    return CallRecord(
        call_id=call.call_id,
        started_at=call.started_at,
        ended_at=ended_at,
        caller=Caller(number, name or None, "restricted" if restricted else "allowed"),
        dialed=call.dialed,
        direction=_direction(call, lines, caller_internal, bool(participants or busy)),
        participants=tuple(by_first_alert(participants)),
        answered_by=None if first_answer is None else first_answer[1],
        answered_at=None if first_answer is None else first_answer[0],
        pickup=call.pickup,
        forwards=tuple(call.forwards),
        voicemail=call.voicemail,
        busy=tuple(busy),
        incomplete=call.incomplete,
        caller_line=caller_line,
    )


def _participants(
    call: Call, line_of: Callable[[Channel], str | None]
) -> tuple[list[Participant], list[str]]:
    """Every leg's rings merged per line; lines only tried while busy apart."""
    intervals: dict[str, list[tuple[float, float]]] = {}
    answered: dict[str, float] = {}
    busy: list[str] = []
    for leg in call.legs:
        channel = leg.channel
        line = line_of(channel) if channel.is_device() else None
        if line is None:
            continue
        rang = list(leg.intervals)
        if leg.answered_at is not None:
            answered[line] = min(answered.get(line, leg.answered_at), leg.answered_at)
            if not rang:
                rang.append((leg.answered_at, leg.answered_at))  # answered without ringing
        if rang:
            intervals.setdefault(line, []).extend(rang)
        elif leg.busy and line not in busy:
            busy.append(line)
    participants = [
        Participant(
            line=line,
            first_alert_at=min(start for start, _ in spans),
            last_alert_at=max(start for start, _ in spans),
            ring_seconds=ring_seconds(spans),
            answered_at=answered.get(line),
        )
        for line, spans in intervals.items()
    ]
    return participants, [line for line in busy if line not in intervals]


def _direction(call: Call, lines: LineMap, caller_internal: bool, reached_lines: bool) -> Direction:
    if not caller_internal:
        return "inbound"
    if reached_lines or lines.is_internal_number(call.dialed):
        return "internal"
    return "outbound"
