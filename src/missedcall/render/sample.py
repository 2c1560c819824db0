"""A made-up missed call and caller, for previewing templates without a trace."""

from __future__ import annotations

from missedcall.calls.record import Caller, CallRecord, Participant
from missedcall.config import UserSettings
from missedcall.directory.contacts import Contact
from missedcall.directory.users import Directory

__all__ = ["SAMPLE_CALL_ID", "SAMPLE_CONTACT", "sample_call"]

SAMPLE_CALL_ID = "sample"
SAMPLE_NUMBER = "+49891234567"
SAMPLE_CONTACT = Contact(
    name="Jane Doe",
    company="Example Trading Ltd",
    email="jane.doe@example.com",
    phones=(("work", SAMPLE_NUMBER), ("mobile", "+491701234567")),
    street="1 Sample Street",
    city="Munich",
    postal_code="80331",
    country="Germany",
    title="Head of Purchasing",
    source="sample",
)
RING_SECONDS = 18.0


def sample_call(user: UserSettings, line: str, directory: Directory, now: float) -> CallRecord:
    """Jane Doe rang ``line`` (and a colleague's line, if there is one) and nobody answered."""
    colleague = next(
        (
            other.lines[0]
            for other in directory.users.values()
            if other.id != user.id and other.lines
        ),
        None,
    )
    started = now - RING_SECONDS - 5
    lines = [line] if colleague is None else [line, colleague]
    did_prefix = directory.numbering.did_prefix
    return CallRecord(
        call_id=SAMPLE_CALL_ID,
        started_at=started,
        ended_at=started + RING_SECONDS,
        caller=Caller(number=SAMPLE_NUMBER, name=SAMPLE_CONTACT.name, presentation="allowed"),
        dialed=(did_prefix or "") + line,
        direction="inbound",
        participants=tuple(
            Participant(
                line=ringing,
                first_alert_at=started,
                last_alert_at=started,
                ring_seconds=RING_SECONDS,
            )
            for ringing in lines
        ),
        answered_by=None,
    )
