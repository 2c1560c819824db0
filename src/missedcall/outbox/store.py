"""The outbox: every mail decided, kept in SQLite until it is delivered or given up.

Theory of operation (Mailman's switchboard, in rows): a decision queues one row
per call and user, ``UNIQUE (call_id, user_id)``, so replaying events,
restarting or reconnecting queues nothing twice.  ``id`` grows with each row
and is never reused (AUTOINCREMENT): it is the order of decision, and rows are
claimed in that order.  A row moves like this::

    queued ──claim──▶ sending ──finish──────▶ sent
      ▲  ▲               ├──retry_later──▶ retry ──(due) claim──▶ sending
      │  │               ├──postpone─────▶ retry       not tried: the server is down
      │  │               ├──fail─────────▶ failed      the server's 5xx reply
      │  │               └──set_aside────▶ set_aside   an unexpected error
      │  └──recover──────┘  a crash left it sending (set aside after MAX_RECOVERIES)
      └── requeue (failed, set_aside) · retry_now (retry): by hand

``attempts`` counts the times the mail was offered to a server, and the max
age of retries runs from ``first_attempt_at``: a claim that ends postponed
counts for neither.

Recipients are tracked one by one: ``accepted_to`` lists those the server took,
``refused`` those it refused for good; a claim offers the mail to the others.
Rows with ``dispatch = 'client'`` are never claimed: they stay queued until the
user's own client fetches them (:meth:`Outbox.pending_for_user`) and confirms
each (:meth:`Outbox.confirm`).

Each method is a transaction of its own, or a part of the caller's when one is
open (the :class:`~missedcall.outbox.commit.GroupCommitter` runs many in one).
All the SQL of the table is here; every value is a bound parameter.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, cast

from missedcall.db import transaction
from missedcall.outbox.mail import OutgoingMail, Refusal

__all__ = [
    "MAX_RECOVERIES",
    "STATES",
    "Claimed",
    "Dispatch",
    "Outbox",
    "OutboxRow",
    "QueuedMail",
    "State",
]

State = Literal["queued", "sending", "sent", "retry", "failed", "set_aside"]
Dispatch = Literal["server", "client"]
STATES: tuple[State, ...] = ("queued", "sending", "sent", "retry", "failed", "set_aside")

# A row found ``sending`` this many times after a crash is probably what crashes
# the server (Mailman's MAX_BAK_COUNT): it is set aside instead of tried again.
MAX_RECOVERIES = 3

_MAIL_COLUMNS = "id, call_id, user_id, envelope_from, envelope_to, message_id, data"
_ROW_COLUMNS = (
    "id, call_id, user_id, dispatch, envelope_to, message_id, length(data) AS size, state,"
    " queued_at, changed_at, first_attempt_at, attempts, recoveries, retry_at, reply_code,"
    " reply, accepted_to, refused"
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row taken for delivery; ``mail.envelope_to`` holds the recipients still waiting."""

    id: int
    mail: OutgoingMail
    attempts: int  # before this one
    first_attempt_at: float | None
    queued_at: float  # the call's hang-up: what delivery lag is measured from


@dataclass(frozen=True, slots=True)
class QueuedMail:
    """A mail waiting for the user's own client to send it."""

    id: int
    mail: OutgoingMail
    queued_at: float


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """What the administrator sees of a row (the message itself left out)."""

    id: int
    call_id: str
    user: str
    dispatch: Dispatch
    envelope_to: tuple[str, ...]
    message_id: str
    size: int
    state: State
    queued_at: float
    changed_at: float
    first_attempt_at: float | None
    attempts: int
    recoveries: int
    retry_at: float | None
    reply_code: int | None
    reply: str | None
    accepted: tuple[str, ...]
    refused: tuple[Refusal, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "call_id": self.call_id,
            "user": self.user,
            "dispatch": self.dispatch,
            "envelope_to": list(self.envelope_to),
            "message_id": self.message_id,
            "size": self.size,
            "state": self.state,
            "queued_at": self.queued_at,
            "changed_at": self.changed_at,
            "first_attempt_at": self.first_attempt_at,
            "attempts": self.attempts,
            "recoveries": self.recoveries,
            "retry_at": self.retry_at,
            "reply_code": self.reply_code,
            "reply": self.reply,
            "accepted": list(self.accepted),
            "refused": [refusal.to_json() for refusal in self.refused],
        }


class Outbox:
    """The outbox table over one open database.

    The connection is switched to ``synchronous = FULL``: a COMMIT returns only
    once the write-ahead log is on disk, so an acknowledged decision survives a
    power cut, not only a crash of the process.  (Group commit pays that fsync
    once for many rows, and off the event loop: see :mod:`.commit`.)  Give the
    outbox a connection of its own if other writers on the same connection
    should not pay it.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA synchronous = FULL")
        self._db = connection
        # What the rows being sent had been accepted for and refused for before this
        # claim, so that settling need not read it back (it lies after the message).
        self._before: dict[int, tuple[str, str]] = {}

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    # -- Queueing ----------------------------------------------------------

    def enqueue(self, mails: Sequence[OutgoingMail], dispatch: Dispatch, at: float) -> int:
        """Queue the mails of a decision; how many were new (a replay queues none)."""
        if not mails:
            return 0
        with self._writing():
            cursor = self._db.executemany(
                "INSERT OR IGNORE INTO outbox (call_id, user_id, dispatch, envelope_from,"
                " envelope_to, message_id, data, queued_at, changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        mail.call_id,
                        mail.user,
                        dispatch,
                        mail.envelope_from,
                        json.dumps(list(mail.envelope_to)),
                        mail.message_id,
                        mail.data,
                        at,
                        at,
                    )
                    for mail in mails
                ],
            )
        return cursor.rowcount

    # -- Delivery by the server --------------------------------------------

    def claim(self, limit: int, now: float) -> list[Claimed]:
        """Take up to ``limit`` due rows for sending, oldest decision first."""
        with self._writing():
            rows = self._rows(
                "UPDATE outbox SET state = 'sending', retry_at = NULL, changed_at = :now"
                " WHERE id IN ("
                "SELECT id FROM outbox WHERE state = 'queued' AND dispatch = 'server'"
                " UNION ALL SELECT id FROM outbox WHERE state = 'retry' AND retry_at <= :now"
                " ORDER BY id LIMIT :limit)"
                f" RETURNING {_MAIL_COLUMNS}, attempts, first_attempt_at, queued_at, accepted_to,"
                " refused",
                {"now": now, "limit": limit},
            )
        self._before.update((row["id"], (row["accepted_to"], row["refused"])) for row in rows)
        return sorted((_claimed(row) for row in rows), key=lambda claimed: claimed.id)

    def finish(
        self,
        row_id: int,
        at: float,
        *,
        accepted: Sequence[str] = (),
        refused: Sequence[Refusal] = (),
    ) -> bool:
        """The server took the mail (for every recipient not refused for good)."""
        return self._settle(row_id, at, "sent", accepted=accepted, refused=refused)

    def retry_later(
        self,
        row_id: int,
        at: float,
        retry_at: float,
        reason: str,
        *,
        code: int | None = None,
        accepted: Sequence[str] = (),
        refused: Sequence[Refusal] = (),
    ) -> bool:
        """A temporary failure: try again at ``retry_at``."""
        return self._settle(
            row_id,
            at,
            "retry",
            retry_at=retry_at,
            code=code,
            reply=reason,
            accepted=accepted,
            refused=refused,
        )

    def postpone(self, row_id: int, at: float, retry_at: float, reason: str) -> bool:
        """The mail was not offered to the server after all: try at ``retry_at``."""
        return self._settle(row_id, at, "retry", retry_at=retry_at, reply=reason, tried=False)

    def fail(
        self,
        row_id: int,
        at: float,
        code: int | None,
        reply: str,
        *,
        accepted: Sequence[str] = (),
        refused: Sequence[Refusal] = (),
    ) -> bool:
        """A permanent failure, kept with the server's reply; never tried again by itself."""
        return self._settle(
            row_id, at, "failed", code=code, reply=reply, accepted=accepted, refused=refused
        )

    def set_aside(self, row_id: int, at: float, reason: str) -> bool:
        """Something unexpected went wrong: keep the row for a human (see :meth:`requeue`)."""
        return self._settle(row_id, at, "set_aside", reply=reason)

    def _settle(
        self,
        row_id: int,
        at: float,
        state: State,
        *,
        retry_at: float | None = None,
        code: int | None = None,
        reply: str | None = None,
        accepted: Sequence[str] = (),
        refused: Sequence[Refusal] = (),
        tried: bool = True,
    ) -> bool:
        """Move a row being sent to where its attempt left it; False if it is not being sent."""
        with self._writing():
            before = (
                self._before.get(row_id)
                or self._db.execute(
                    "SELECT accepted_to, refused FROM outbox WHERE id = ? AND state = 'sending'",
                    (row_id,),
                ).fetchone()
            )
            if before is None:
                return False
            all_accepted = _union(json.loads(before[0]), accepted)
            all_refused = _newest(_refusals(before[1]), refused, all_accepted)
            cursor = self._db.execute(
                "UPDATE outbox SET state = :state, changed_at = :at, retry_at = :retry_at,"
                " reply_code = :code, reply = :reply, accepted_to = :accepted, refused = :refused,"
                " attempts = attempts + :tried,"
                " first_attempt_at = CASE WHEN :tried THEN coalesce(first_attempt_at, :at)"
                " ELSE first_attempt_at END"
                " WHERE id = :id AND state = 'sending'",
                {
                    "state": state,
                    "at": at,
                    "retry_at": retry_at,
                    "code": code,
                    "reply": reply,
                    "accepted": json.dumps(all_accepted),
                    "refused": json.dumps([refusal.to_json() for refusal in all_refused]),
                    "tried": int(tried),
                    "id": row_id,
                },
            )
        self._before.pop(row_id, None)
        return cursor.rowcount == 1

    def recover(self, now: float) -> int:
        """Put rows a crash left ``sending`` back in the queue; how many there were.

        The server may have accepted such a mail before the crash: sending it
        again can duplicate it, with the same Message-ID, which is the price of
        never losing one.  Only one runner may use the outbox at a time.
        """
        self._before.clear()
        with self._writing():
            cursor = self._db.execute(
                "UPDATE outbox SET recoveries = recoveries + 1, changed_at = :now,"
                " state = CASE WHEN recoveries + 1 >= :cap THEN 'set_aside' ELSE 'queued' END,"
                " reply = CASE WHEN recoveries + 1 >= :cap THEN :reason ELSE reply END"
                " WHERE state = 'sending'",
                {
                    "now": now,
                    "cap": MAX_RECOVERIES,
                    "reason": f"found sending after {MAX_RECOVERIES} crashes",
                },
            )
        return cursor.rowcount

    def next_retry_at(self) -> float | None:
        """When the earliest row waiting to be retried is due; None if none waits."""
        row = self._db.execute("SELECT min(retry_at) FROM outbox WHERE state = 'retry'").fetchone()
        return None if row[0] is None else float(row[0])

    # -- By hand -----------------------------------------------------------

    def requeue(self, row_id: int, at: float) -> bool:
        """Send a failed or set-aside row again, as if newly queued; False if it is neither."""
        with self._writing():
            cursor = self._db.execute(
                "UPDATE outbox SET state = 'queued', changed_at = ?, first_attempt_at = NULL,"
                " recoveries = 0, reply_code = NULL, reply = NULL, refused = '[]'"
                " WHERE id = ? AND state IN ('failed', 'set_aside')",
                (at, row_id),
            )
        return cursor.rowcount == 1

    def retry_now(self, row_id: int, at: float) -> bool:
        """Make a row waiting for its retry due at once; False if it is not waiting."""
        with self._writing():
            cursor = self._db.execute(
                "UPDATE outbox SET state = 'queued', retry_at = NULL, changed_at = ?"
                " WHERE id = ? AND state = 'retry'",
                (at, row_id),
            )
        return cursor.rowcount == 1

    # -- Delivery by the user's client -------------------------------------

    def pending_for_user(self, user: str, limit: int = 100) -> list[QueuedMail]:
        """The user's mails waiting for the client to send them, oldest first."""
        rows = self._rows(
            f"SELECT {_MAIL_COLUMNS}, queued_at FROM outbox"
            " WHERE user_id = ? AND state = 'queued' AND dispatch = 'client' ORDER BY id LIMIT ?",
            (user, limit),
        )
        return [QueuedMail(row["id"], _mail(row), row["queued_at"]) for row in rows]

    def confirm(self, row_id: int, user: str, at: float) -> bool:
        """The user's client sent the mail; False unless it is that user's, waiting."""
        with self._writing():
            cursor = self._db.execute(
                "UPDATE outbox SET state = 'sent', changed_at = ?, first_attempt_at = ?,"
                " attempts = attempts + 1"
                " WHERE id = ? AND user_id = ? AND dispatch = 'client' AND state = 'queued'",
                (at, at, row_id, user),
            )
        return cursor.rowcount == 1

    # -- Queries -----------------------------------------------------------

    def counts_by_state(self, user: str | None = None) -> dict[State, int]:
        """How many rows are in each state, of one user or all."""
        counts = dict.fromkeys(STATES, 0)
        if user is None:
            rows = self._db.execute("SELECT state, count(*) FROM outbox GROUP BY state")
        else:
            rows = self._db.execute(
                "SELECT state, count(*) FROM outbox WHERE user_id = ? GROUP BY state", (user,)
            )
        for state, count in rows:
            counts[state] = count
        return counts

    def oldest_queued_age(self, now: float) -> float | None:
        """Seconds the oldest mail still to be delivered by the server has waited (the lag)."""
        row = self._db.execute(
            "SELECT min(queued_at) FROM outbox"
            " WHERE state IN ('queued', 'sending', 'retry') AND dispatch = 'server'"
        ).fetchone()
        return None if row[0] is None else max(0.0, now - row[0])

    def row(self, row_id: int) -> OutboxRow | None:
        rows = self._rows(f"SELECT {_ROW_COLUMNS} FROM outbox WHERE id = ?", (row_id,))
        return _outbox_row(rows[0]) if rows else None

    def message(self, row_id: int) -> bytes | None:
        """The mail of a row as it was queued (an .eml file): for the administrator to read."""
        found = self._db.execute("SELECT data FROM outbox WHERE id = ?", (row_id,)).fetchone()
        return None if found is None else bytes(found[0])

    def rows(
        self, state: State | None = None, user: str | None = None, limit: int = 100
    ) -> list[OutboxRow]:
        """The newest rows first, of one user or all, in one state or any.

        The conditions are constant text chosen by which filters are given; the
        values are bound as always.
        """
        filters = {"state = ?": state, "user_id = ?": user}
        given = {condition: value for condition, value in filters.items() if value is not None}
        where = " WHERE " + " AND ".join(given) if given else ""
        rows = self._rows(
            f"SELECT {_ROW_COLUMNS} FROM outbox{where} ORDER BY id DESC LIMIT ?",
            (*given.values(), limit),
        )
        return [_outbox_row(row) for row in rows]

    # -- Helpers -----------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A transaction of its own, or part of the caller's (group commit)."""
        if self._db.in_transaction:
            yield
        else:
            with transaction(self._db):
                yield

    def _rows(
        self, sql: str, parameters: tuple[object, ...] | dict[str, object]
    ) -> list[sqlite3.Row]:
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, parameters).fetchall()


def _mail(row: sqlite3.Row, recipients: Sequence[str] | None = None) -> OutgoingMail:
    return OutgoingMail(
        call_id=row["call_id"],
        user=row["user_id"],
        envelope_from=row["envelope_from"],
        envelope_to=tuple(json.loads(row["envelope_to"]) if recipients is None else recipients),
        message_id=row["message_id"],
        data=bytes(row["data"]),
    )


def _claimed(row: sqlite3.Row) -> Claimed:
    """The mail goes to the recipients neither accepted nor refused for good yet."""
    done = set(json.loads(row["accepted_to"]))
    done.update(r.recipient for r in _refusals(row["refused"]) if r.permanent)
    waiting = [r for r in json.loads(row["envelope_to"]) if r not in done]
    return Claimed(
        row["id"], _mail(row, waiting), row["attempts"], row["first_attempt_at"], row["queued_at"]
    )


def _outbox_row(row: sqlite3.Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        call_id=row["call_id"],
        user=row["user_id"],
        dispatch=cast(Dispatch, row["dispatch"]),
        envelope_to=tuple(json.loads(row["envelope_to"])),
        message_id=row["message_id"],
        size=row["size"],
        state=cast(State, row["state"]),
        queued_at=row["queued_at"],
        changed_at=row["changed_at"],
        first_attempt_at=row["first_attempt_at"],
        attempts=row["attempts"],
        recoveries=row["recoveries"],
        retry_at=row["retry_at"],
        reply_code=row["reply_code"],
        reply=row["reply"],
        accepted=tuple(json.loads(row["accepted_to"])),
        refused=tuple(_refusals(row["refused"])),
    )


def _refusals(text: str) -> list[Refusal]:
    return [Refusal(r["recipient"], r["code"], r["reply"]) for r in json.loads(text)]


def _union(old: Sequence[str], new: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*old, *new]))


def _newest(
    old: Sequence[Refusal], new: Sequence[Refusal], accepted: Sequence[str]
) -> list[Refusal]:
    """One refusal a recipient, the latest; none for a recipient accepted since."""
    by_recipient = {refusal.recipient: refusal for refusal in [*old, *new]}
    return [r for recipient, r in by_recipient.items() if recipient not in accepted]
