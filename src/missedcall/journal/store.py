"""The durable state of decisions, notifications, logons and the journal, in SQLite.

The store answers the rules' :class:`~missedcall.rules.ports.History` and
:class:`~missedcall.rules.ports.Presence` questions and records what each call
decided.  A call is recorded for a user on a channel at most once
(``UNIQUE (channel, call_id, user_id)``): replaying the same events finds the
rows already there and notifies nobody twice.  All the SQL of these tables is
here; every value is a bound parameter.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Literal

from missedcall.calls.record import CallRecord, JsonObject
from missedcall.db import transaction
from missedcall.journal import entries
from missedcall.journal.entries import DoneBy, EntryState, JournalEntry, JournalReason
from missedcall.rules.decision import Channel, Decision, Target

__all__ = ["Recorded", "StateStore", "Via"]

Via = Literal["web", "client", "api"]

_SELECT_ENTRIES = (
    "SELECT id, call_id, user_id, line, number, caller_number, caller_name, started_at,"
    " reason, state, created_at, done_at, done_by FROM journal"
)


@dataclass(frozen=True, slots=True)
class Recorded:
    """The targets of a decision that were new: the ones to act on now."""

    email: tuple[Target, ...] = ()
    journal: tuple[Target, ...] = ()


class StateStore:
    """Decisions, notifications, logons and the journal over one open database."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @property
    def connection(self) -> sqlite3.Connection:
        """For writers that must commit together with the store (the outbox)."""
        return self._db

    # -- History -----------------------------------------------------------

    def last_notified(
        self, channel: Channel, user: str, number: str, before: float
    ) -> float | None:
        row = self._db.execute(
            "SELECT max(at) FROM notifications"
            " WHERE user_id = ? AND channel = ? AND number = ? AND at < ?",
            (user, channel, number, before),
        ).fetchone()
        return _optional_float(row[0])

    # -- Presence ----------------------------------------------------------

    def is_logged_on(self, user: str, at: float) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM logons WHERE user_id = ? AND logged_on_at <= ?"
            " AND (logged_off_at IS NULL OR logged_off_at > ?) LIMIT 1",
            (user, at, at),
        ).fetchone()
        return row is not None

    def last_logon(self, user: str, before: float) -> float | None:
        row = self._db.execute(
            "SELECT max(logged_on_at) FROM logons WHERE user_id = ? AND logged_on_at < ?",
            (user, before),
        ).fetchone()
        return _optional_float(row[0])

    def logon(self, user: str, at: float, via: Via) -> None:
        """A session begins; a user may have several at once (web page and client)."""
        with transaction(self._db):
            self._db.execute(
                "INSERT INTO logons (user_id, logged_on_at, via) VALUES (?, ?, ?)",
                (user, at, via),
            )

    def logoff(self, user: str, at: float, via: Via | None = None) -> int:
        """End the user's open sessions (only those ``via`` if given); how many ended."""
        with transaction(self._db):
            cursor = self._db.execute(
                "UPDATE logons SET logged_off_at = ? WHERE user_id = ?"
                " AND logged_off_at IS NULL AND logged_on_at <= ? AND (? IS NULL OR via = ?)",
                (at, user, at, via, via),
            )
        return cursor.rowcount

    # -- Decisions ---------------------------------------------------------

    def decision_for(self, call_id: str) -> tuple[JsonObject, JsonObject] | None:
        """The record and decision stored for a call, as JSON objects; None if undecided."""
        row = self._db.execute(
            "SELECT record_json, decision_json FROM decisions WHERE call_id = ?", (call_id,)
        ).fetchone()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))

    def record_decision(
        self,
        record: CallRecord,
        decision: Decision,
        number: str,
        journal_reason: JournalReason = entries.journal_reason,
    ) -> Recorded:
        """Store a call's decision, its notifications and journal entries in one transaction.

        ``number`` is the caller's normalised number.  What was recorded before
        for the call (a replay) is kept and left out of the result.
        """
        with transaction(self._db):
            self._insert_decision(record, decision)
            email = tuple(t for t in decision.email if self._notify("email", record, t, number))
            journal = tuple(
                t
                for t in decision.journal
                if self._add_to_journal(record, t, number, journal_reason(record, t))
            )
        return Recorded(email, journal)

    def _insert_decision(self, record: CallRecord, decision: Decision) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO decisions (call_id, decided_at, record_json, decision_json)"
            " VALUES (?, ?, ?, ?)",
            (
                record.call_id,
                record.ended_at,
                json.dumps(record.to_json(), ensure_ascii=False),
                json.dumps(decision.to_json(), ensure_ascii=False),
            ),
        )
        named = {t.user for t in (*decision.email, *decision.journal)}
        named.update(s.user for s in decision.skipped if s.user is not None)
        self._db.executemany(
            "INSERT OR IGNORE INTO call_users (call_id, user_id, decided_at) VALUES (?, ?, ?)",
            [(record.call_id, user, record.ended_at) for user in sorted(named)],
        )

    def recent_decisions(
        self, user: str | None = None, limit: int = 50
    ) -> list[tuple[JsonObject, JsonObject]]:
        """The newest decided calls first, as (record, decision) JSON objects; with ``user``
        only those whose verdict names that user (mailed, journaled, or skipped and why)."""
        if user is None:
            rows = self._db.execute(
                "SELECT record_json, decision_json FROM decisions"
                " ORDER BY decided_at DESC, call_id DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = self._db.execute(
                "SELECT d.record_json, d.decision_json FROM call_users AS c"
                " JOIN decisions AS d ON d.call_id = c.call_id WHERE c.user_id = ?"
                " ORDER BY c.decided_at DESC, c.call_id DESC LIMIT ?",
                (user, limit),
            )
        return [(json.loads(record), json.loads(decision)) for record, decision in rows]

    def concerns(self, call_id: str, user: str) -> bool:
        """Whether the verdict on the call names the user."""
        row = self._db.execute(
            "SELECT 1 FROM call_users WHERE user_id = ? AND call_id = ?", (user, call_id)
        ).fetchone()
        return row is not None

    def _notify(self, channel: Channel, record: CallRecord, target: Target, number: str) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO notifications (channel, call_id, user_id, number, at)"
            " VALUES (?, ?, ?, ?, ?)",
            (channel, record.call_id, target.user, number, record.ended_at),
        )
        return cursor.rowcount == 1

    def _add_to_journal(self, record: CallRecord, target: Target, number: str, reason: str) -> bool:
        if not self._notify("journal", record, target, number):
            return False
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO journal (call_id, user_id, line, number, caller_number,"
            " caller_name, started_at, reason, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
            (
                record.call_id,
                target.user,
                target.line,
                number,
                record.caller.number,
                record.caller.name,
                record.started_at,
                reason,
                record.ended_at,
            ),
        )
        return cursor.rowcount == 1

    # -- Journal -----------------------------------------------------------

    def journal_entries(
        self, user: str | None = None, state: EntryState | None = None, limit: int = 100
    ) -> list[JournalEntry]:
        """The newest entries first, of one user or all, in one state or both.

        The conditions are constant text chosen by which filters are given (so that
        the indexes serve them); the values are bound as always.
        """
        filters = {"user_id = ?": user, "state = ?": state}
        given = {condition: value for condition, value in filters.items() if value is not None}
        where = " WHERE " + " AND ".join(given) if given else ""
        rows = self._rows(
            _SELECT_ENTRIES + where + " ORDER BY created_at DESC, id DESC LIMIT ?",
            (*given.values(), limit),
        )
        return [_entry(row) for row in rows]

    def journal_entry(self, entry_id: int) -> JournalEntry | None:
        rows = self._rows(_SELECT_ENTRIES + " WHERE id = ?", (entry_id,))
        return _entry(rows[0]) if rows else None

    def mark_done(self, entry_id: int, at: float, by: DoneBy = "hand") -> bool:
        """Close an open entry; False when there is no such open entry."""
        with transaction(self._db):
            cursor = self._db.execute(
                "UPDATE journal SET state = 'done', done_at = ?, done_by = ?"
                " WHERE id = ? AND state = 'open'",
                (at, by, entry_id),
            )
        return cursor.rowcount == 1

    def close_on_callback(self, user: str, number: str, at: float) -> int:
        """The user called ``number`` (normalised) at ``at``: close the entries it answers."""
        with transaction(self._db):
            cursor = self._db.execute(
                "UPDATE journal SET state = 'done', done_at = ?, done_by = 'callback'"
                " WHERE user_id = ? AND number = ? AND state = 'open' AND created_at < ?",
                (at, user, number, at),
            )
        return cursor.rowcount

    def _rows(self, sql: str, parameters: tuple[object, ...]) -> list[sqlite3.Row]:
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, parameters).fetchall()


def _entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        id=row["id"],
        call_id=row["call_id"],
        user=row["user_id"],
        line=row["line"],
        number=row["number"],
        caller_number=row["caller_number"],
        caller_name=row["caller_name"],
        started_at=row["started_at"],
        reason=row["reason"],
        state=row["state"],
        created_at=row["created_at"],
        done_at=row["done_at"],
        done_by=row["done_by"],
    )


def _optional_float(value: float | None) -> float | None:
    """``max()`` over no rows is NULL; a REAL column may hold a whole number as an int."""
    return None if value is None else float(value)
