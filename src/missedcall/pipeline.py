"""What happens to every finished call: the verdict, remembered once, and callbacks closed.

Shared by ``missedcall decide`` (which prints the verdicts) and ``missedcall run``
(which also queues the mails), so both judge a call the same way.  Judging only
reads; committing writes the decision, the journal, the closed callbacks and
(given a ``queue``) the outbox rows in one transaction, so a decision is never
on disk without its mails, nor its mails without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from missedcall.calls.record import CallRecord
from missedcall.db import transaction
from missedcall.directory.contacts import Contact, ContactLookup
from missedcall.directory.users import Directory
from missedcall.journal.callbacks import callbacks_in
from missedcall.journal.store import Recorded, StateStore
from missedcall.rules import Decision, Judge, Skip
from missedcall.rules.decision import ALREADY_NOTIFIED, Channel


@dataclass(frozen=True, slots=True)
class Verdict:
    record: CallRecord
    decision: Decision
    contact: Contact | None
    number: str  # the caller's number, normalised
    replay: bool  # decided before: nothing new may come of it


@dataclass(frozen=True, slots=True)
class Handled:
    verdict: Verdict
    new: Recorded  # the mails and journal entries this call adds now (none on a replay)
    callbacks_closed: int = 0

    @property
    def decision(self) -> Decision:
        return self.verdict.decision


Queue = Callable[[Recorded], object]


@dataclass(frozen=True, slots=True)
class CallHandler:
    judge: Judge
    store: StateStore
    directory: Directory
    contacts: ContactLookup | None = None

    def handle(self, record: CallRecord) -> Handled:
        return self.commit(self.verdict(record))

    def verdict(self, record: CallRecord) -> Verdict:
        """The decision on a call, from what is known now; writes nothing."""
        number = self.directory.numbering.normalize(record.caller.number)
        contact = self.contacts.find(record.caller.number) if self.contacts else None
        earlier = self.store.decision_for(record.call_id)
        if earlier is not None:
            return Verdict(record, replayed(record.call_id, earlier[1]), contact, number, True)
        decision = self.judge.decide(record, contact_found=contact is not None)
        return Verdict(record, decision, contact, number, False)

    def commit(self, verdict: Verdict, queue: Queue | None = None) -> Handled:
        """Remember the verdict and hand what is new to ``queue``, all in one transaction."""
        with transaction(self.store.connection):
            closed = self._close_callbacks(verdict.record)
            if verdict.replay:
                return Handled(verdict, Recorded(), closed)
            new = self.store.record_decision(verdict.record, verdict.decision, verdict.number)
            if queue is not None and new.email:
                queue(new)
        return Handled(verdict, new, closed)

    def _close_callbacks(self, record: CallRecord) -> int:
        """A user calling a number back closes that user's open entries for it."""
        return sum(
            self.store.close_on_callback(user, number, record.started_at)
            for user, number in callbacks_in(record, self.directory)
        )


def replayed(call_id: str, stored: dict[str, object]) -> Decision:
    """A call decided before (events replayed after a restart or a reconnect):
    nobody is served twice; the earlier verdict says who was served and why not."""
    skipped = [
        _skip(e.get("channel"), e.get("user"), e.get("line"), e.get("reason"))
        for e in _entries(stored, "skipped")
    ]
    for channel in ("email", "journal"):
        skipped.extend(
            _skip(channel, t.get("user"), t.get("line"), ALREADY_NOTIFIED)
            for t in _entries(stored, channel)
        )
    return Decision(call_id, (), (), tuple(skipped))


def _skip(channel: object, user: object, line: object, reason: object) -> Skip:
    served: Channel = "journal" if channel == "journal" else "email"
    return Skip(
        served,
        None if user is None else str(user),
        None if line is None else str(line),
        str(reason),
    )


def _entries(stored: dict[str, object], key: str) -> list[dict[str, object]]:
    value = stored.get(key)
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, dict)]
