"""Why a call is in a user's journal: answered elsewhere after the line rang,
taken by voicemail, or simply missed."""

from __future__ import annotations

import pytest

from missedcall.calls.record import Caller, CallRecord, Participant, Pickup
from missedcall.journal.entries import journal_reason
from missedcall.rules.decision import Target

ANNA = Target("anna", "201")


def call(
    bernd_answered_at: float | None = None,
    pickup_at: float | None = None,
    voicemail: bool = False,
) -> CallRecord:
    """Anna's 201 rang at 10; Bernd's 203 rang at 5 and perhaps answered."""
    return CallRecord(
        call_id="1.1",
        started_at=0.0,
        ended_at=30.0,
        caller=Caller("+49891234567", None, "allowed"),
        dialed="600",
        direction="inbound",
        participants=(
            Participant("203", 5.0, 5.0, 5.0, bernd_answered_at),
            Participant("201", 10.0, 10.0, 20.0),
        ),
        answered_by=None if bernd_answered_at is None else "203",
        pickup=None if pickup_at is None else Pickup("205", "201", pickup_at),
        voicemail=voicemail,
    )


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (call(), "missed"),
        (call(voicemail=True), "voicemail"),
        (call(bernd_answered_at=12.0), "answered_elsewhere"),
        (call(bernd_answered_at=10.0), "answered_elsewhere"),  # the same moment counts
        (call(pickup_at=15.0), "answered_elsewhere"),
        (call(bernd_answered_at=8.0), "missed"),  # answered, then handed to anna
        (call(bernd_answered_at=8.0, voicemail=True), "voicemail"),
    ],
)
def test_the_reason_of_an_entry(record: CallRecord, reason: str) -> None:
    assert journal_reason(record, ANNA) == reason
