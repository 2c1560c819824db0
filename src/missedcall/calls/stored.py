"""A call record back from its JSON (:meth:`CallRecord.to_json`), as the database keeps it.

Previews of a template against a real call render a stored record.  The JSON
holds every field of SPEC §4; what it leaves out is derived again: the time the
call was answered (its first answer or pickup) and, given ``line_of``, the
caller's own line for an internal call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from missedcall.calls.record import Caller, CallRecord, Forward, Participant, Pickup

__all__ = ["record_from_json"]


def record_from_json(
    data: Mapping[str, Any], line_of: Callable[[str], str | None] | None = None
) -> CallRecord:
    """The record; ``line_of`` maps a caller's number to one of our lines."""
    caller = data["caller"]
    participants = tuple(_participant(p) for p in data["participants"])
    pickup = _pickup(data["pickup"]) if data.get("pickup") else None
    answers = [p.answered_at for p in participants if p.answered_at is not None]
    if pickup is not None:
        answers.append(pickup.at)
    internal = data["direction"] in ("internal", "outbound")
    return CallRecord(
        call_id=str(data["call_id"]),
        started_at=_epoch(data["started_at"]),
        ended_at=_epoch(data["ended_at"]),
        caller=Caller(str(caller["number"]), caller.get("name"), caller["presentation"]),
        dialed=str(data["dialed"]),
        direction=data["direction"],
        participants=participants,
        answered_by=data.get("answered_by"),
        answered_at=min(answers) if answers else None,
        pickup=pickup,
        forwards=tuple(Forward(f["from"], f["to"], f["kind"]) for f in data.get("forwards", ())),
        voicemail=bool(data.get("voicemail")),
        busy=tuple(data.get("busy", ())),
        incomplete=bool(data.get("incomplete")),
        caller_line=line_of(str(caller["number"])) if internal and line_of else None,
    )


def _participant(data: Mapping[str, Any]) -> Participant:
    answered_at = data.get("answered_at")
    return Participant(
        line=str(data["line"]),
        first_alert_at=_epoch(data["first_alert_at"]),
        last_alert_at=_epoch(data["last_alert_at"]),
        ring_seconds=float(data["ring_seconds"]),
        answered_at=None if answered_at is None else _epoch(answered_at),
    )


def _pickup(data: Mapping[str, Any]) -> Pickup:
    return Pickup(by=str(data["by"]), from_line=str(data["from"]), at=_epoch(data["at"]))


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
