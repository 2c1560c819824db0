"""Whether a call is a user calling someone back (SPEC §6): pure, no storage.

A journal entry is done when its user later calls the same number.  A call is
such a callback when one of our lines made it (``outbound``, or ``internal`` to
a colleague) to something that is a number; the number is normalised exactly
as the rules normalise a caller's number, so the two compare equal.
"""

from __future__ import annotations

from missedcall.calls.record import CallRecord
from missedcall.directory.users import Directory

__all__ = ["callbacks_in"]


def callbacks_in(record: CallRecord, directory: Directory) -> list[tuple[str, str]]:
    """The ``(user id, normalised number)`` this call calls back; empty if none."""
    if record.direction == "inbound":
        return []
    user = _calling_user(record, directory)
    number = directory.numbering.dialed(record.dialed)
    if user is None or not directory.numbering.dialable(number):
        return []
    return [(user, number)]


def _calling_user(record: CallRecord, directory: Directory) -> str | None:
    line = record.caller_line or directory.line_of_number(record.caller.number)
    owner = directory.user_of_line(line) if line else None
    return owner.id if owner else None
