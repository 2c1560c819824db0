"""Calls for the tests of the stored state: one from Jane that lines rang and nobody took."""

from __future__ import annotations

from missedcall.calls.record import Caller, CallRecord, Participant

JANE = "+49891234567"


def missed_call(
    call_id: str,
    ended_at: float,
    number: str = JANE,
    lines: tuple[str, ...] = ("201", "203"),
    voicemail: bool = False,
) -> CallRecord:
    """The call, ringing each of ``lines`` for the 30 seconds before ``ended_at``."""
    started_at = ended_at - 30
    return CallRecord(
        call_id=call_id,
        started_at=started_at,
        ended_at=ended_at,
        caller=Caller(number, "Jane Doe", "allowed"),
        dialed="4930555600",
        direction="inbound",
        participants=tuple(Participant(line, started_at, started_at, 30.0) for line in lines),
        answered_by=None,
        voicemail=voicemail,
    )
