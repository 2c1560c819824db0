"""Verdicts on their way to disk count as history for the calls judged meanwhile."""

from __future__ import annotations

from missedcall.journal.pending import PendingHistory
from missedcall.rules.decision import Channel, Decision, Target


class Stored:
    def __init__(self, at: float | None = None) -> None:
        self.at = at

    def last_notified(
        self, channel: Channel, user: str, number: str, before: float
    ) -> float | None:
        return self.at if self.at is not None and self.at < before else None


DECISION = Decision(
    "c1", email=(Target("anna", "201", "anna@example.com"),), journal=(Target("bernd", "202"),)
)


def test_held_notifications_are_history_until_released() -> None:
    pending = PendingHistory(Stored())
    pending.hold(DECISION, "+4989", 100.0)
    assert pending.last_notified("email", "anna", "+4989", 200.0) == 100.0
    assert pending.last_notified("journal", "bernd", "+4989", 200.0) == 100.0
    assert pending.last_notified("email", "bernd", "+4989", 200.0) is None
    assert pending.last_notified("email", "anna", "+4930", 200.0) is None
    pending.release(DECISION, "+4989", 100.0)
    assert pending.last_notified("email", "anna", "+4989", 200.0) is None
    assert pending.waiting() == 0


def test_the_later_of_stored_and_held_wins_and_before_is_respected() -> None:
    pending = PendingHistory(Stored(50.0))
    pending.hold(DECISION, "+4989", 100.0)
    assert pending.last_notified("email", "anna", "+4989", 200.0) == 100.0
    assert pending.last_notified("email", "anna", "+4989", 80.0) == 50.0
    assert pending.last_notified("email", "anna", "+4989", 40.0) is None


def test_releasing_one_of_two_identical_holds_keeps_the_other() -> None:
    pending = PendingHistory(Stored())
    pending.hold(DECISION, "+4989", 100.0)
    pending.hold(DECISION, "+4989", 100.0)
    pending.release(DECISION, "+4989", 100.0)
    assert pending.last_notified("email", "anna", "+4989", 200.0) == 100.0
