"""What a journal entry is, and why a call is in a user's journal (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from missedcall.calls.record import CallRecord, JsonObject, iso_time
from missedcall.rules.decision import Target

__all__ = ["DoneBy", "EntryState", "JournalEntry", "JournalReason", "journal_reason"]

EntryState = Literal["open", "done"]
DoneBy = Literal["callback", "hand"]
JournalReason = Callable[[CallRecord, Target], str]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One unanswered call in one user's journal; times are epoch seconds."""

    id: int
    call_id: str
    user: str
    line: str
    number: str  # the caller's number, normalised: what a callback is matched on
    caller_number: str  # as signalled
    caller_name: str | None
    started_at: float
    reason: str
    state: EntryState
    created_at: float
    done_at: float | None
    done_by: DoneBy | None

    def to_json(self) -> JsonObject:
        """The entry for scripts and the API; times in ISO 8601 like call records."""
        return {
            "id": self.id,
            "call_id": self.call_id,
            "user": self.user,
            "line": self.line,
            "number": self.number,
            "caller": {"number": self.caller_number, "name": self.caller_name},
            "started_at": iso_time(self.started_at),
            "reason": self.reason,
            "state": self.state,
            "created_at": iso_time(self.created_at),
            "done_at": None if self.done_at is None else iso_time(self.done_at),
            "done_by": self.done_by,
        }


def journal_reason(record: CallRecord, target: Target) -> str:
    """``answered_elsewhere`` when another line took the call after this line rang,
    else ``voicemail`` when voicemail took it, else ``missed``.

    An answer before this line rang (a transfer to it) is not "elsewhere": the
    line was handed a call it then missed, as the answered-elsewhere rule reads it.
    """
    participant = record.participant(target.line)
    rang_at = participant.first_alert_at if participant else record.started_at
    if any(at >= rang_at for at in _answer_times(record)):
        return "answered_elsewhere"
    return "voicemail" if record.voicemail else "missed"


def _answer_times(record: CallRecord) -> list[float]:
    times = [p.answered_at for p in record.participants if p.answered_at is not None]
    if record.pickup is not None:
        times.append(record.pickup.at)
    return times
