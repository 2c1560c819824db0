"""Call records in words, for people reading a terminal."""

from __future__ import annotations

from datetime import datetime

from missedcall.calls.record import CallRecord


def describe(record: CallRecord) -> str:
    caller = record.caller.number or "unknown number"
    if record.caller.presentation == "restricted":
        caller = f"{caller} (withheld)"
    if record.caller.name:
        caller = f"{record.caller.name} <{caller}>"
    when = datetime.fromtimestamp(record.started_at).strftime("%Y-%m-%d %H:%M:%S")
    lines = [f"{when}  {record.direction} call from {caller} to {record.dialed or '?'}"]
    for p in record.participants:
        outcome = "answered" if p.answered else "missed"
        lines.append(f"    line {p.line}: rang {p.ring_seconds:.1f} s, {outcome}")
    for forward in record.forwards:
        lines.append(f"    {forward.kind} {forward.from_line} -> {forward.to_line}")
    if record.pickup:
        lines.append(f"    picked up by {record.pickup.by} from {record.pickup.from_line}")
    if record.busy:
        lines.append(f"    busy: {', '.join(record.busy)}")
    if record.voicemail:
        lines.append("    voicemail took the call")
    outcome = f"answered by {record.answered_by}" if record.answered_by else "not answered"
    if record.incomplete:
        outcome += " (incomplete: the PBX connection was lost during the call)"
    lines.append(f"    -> {outcome}")
    return "\n".join(lines)
