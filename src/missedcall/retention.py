"""Retention: what the database forgets, and when (``[server] keep_days``).

Theory of operation: what is finished is kept ``keep_days`` after it finished,
then deleted, kind by kind, in this order (children before the call they
belong to, so that no foreign key ever points nowhere):

==========================================  ====================================================
journal entries marked done                 by when they were done
the notifications history                   by the end of the call
the users a verdict names (``call_users``)  by the end of the call, once it has no journal entry
decided calls (record and verdict)          by the end of the call, once nothing refers to it
mails sent or failed, message included      by their last change
logons that ended                           by their end; each user's latest is kept
==========================================  ====================================================

Never deleted by age: open journal entries (and so the calls they are about),
mails still to deliver (queued, retrying, being sent) and mails set aside for
an administrator.  A call forgotten and then replayed would be decided anew;
PBX events do not come back after months, so that is a theoretical case.

Deletion goes in rounds of at most ``limit`` rows of each kind, each round one
transaction through the group committer, so that the first prune of a large
database never holds the event loop for long: calls are decided and mails sent
in between.  The server prunes at start and then every ``interval`` seconds (a
day).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable

from missedcall.db import transaction
from missedcall.outbox.commit import GroupCommitter

__all__ = ["DAY", "KINDS", "Retention", "prune_round"]

log = logging.getLogger("missedcall.retention")

DAY = 86400.0

_RULES: tuple[tuple[str, str], ...] = (
    (
        "journal",
        "DELETE FROM journal WHERE id IN (SELECT id FROM journal"
        " WHERE state = 'done' AND done_at < :cutoff LIMIT :limit)",
    ),
    (
        "notifications",
        # In the order of insertion, oldest first: an index would be in the users' order.
        "DELETE FROM notifications WHERE rowid IN (SELECT rowid FROM notifications NOT INDEXED"
        " WHERE at < :cutoff LIMIT :limit)",
    ),
    (
        "call_users",
        "DELETE FROM call_users WHERE rowid IN (SELECT rowid FROM call_users AS c"
        " WHERE decided_at < :cutoff"
        " AND NOT EXISTS (SELECT 1 FROM journal AS j WHERE j.call_id = c.call_id) LIMIT :limit)",
    ),
    (
        "decisions",
        "DELETE FROM decisions WHERE call_id IN (SELECT call_id FROM decisions AS d"
        " WHERE decided_at < :cutoff"  # call_users stay while a journal entry does
        " AND NOT EXISTS (SELECT 1 FROM notifications AS n WHERE n.call_id = d.call_id)"
        " AND NOT EXISTS (SELECT 1 FROM call_users AS c WHERE c.call_id = d.call_id)"
        " ORDER BY decided_at LIMIT :limit)",
    ),
    (
        "outbox",
        # By the partial index on age: the planner would walk every sent mail instead.
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_finished"
        " WHERE state IN ('sent', 'failed') AND changed_at < :cutoff LIMIT :limit)",
    ),
    (
        "logons",
        "DELETE FROM logons WHERE id IN (SELECT id FROM logons AS l"
        " WHERE logged_off_at < :cutoff AND logged_on_at"
        " < (SELECT max(logged_on_at) FROM logons AS m WHERE m.user_id = l.user_id)"
        " LIMIT :limit)",
    ),
)

KINDS: tuple[str, ...] = tuple(kind for kind, _ in _RULES)


def prune_round(connection: sqlite3.Connection, cutoff: float, limit: int) -> dict[str, int]:
    """Delete at most ``limit`` rows of each kind finished before ``cutoff``; how many.

    A kind with ``limit`` deleted may have more: call again until none has.
    """
    deleted: dict[str, int] = {}
    with transaction(connection):
        for kind, sql in _RULES:
            deleted[kind] = connection.execute(sql, {"cutoff": cutoff, "limit": limit}).rowcount
    return deleted


class Retention:
    """Prunes the server's database through its group committer, now and every ``interval``."""

    def __init__(
        self,
        committer: GroupCommitter,
        keep_days: int,
        clock: Callable[[], float],
        *,
        interval: float = DAY,
        limit: int = 200,
    ) -> None:
        if keep_days < 1:
            raise ValueError("keep_days must be at least 1 (0 keeps everything: no Retention)")
        self._committer = committer
        self._keep = keep_days * DAY
        self._clock = clock
        self._interval = interval
        self._limit = limit

    async def prune(self) -> dict[str, int]:
        """Delete everything finished more than ``keep_days`` ago; how many of each kind."""
        cutoff = self._clock() - self._keep
        connection = self._committer.connection
        total = dict.fromkeys(KINDS, 0)
        while True:
            deleted = await self._committer.write(
                lambda: prune_round(connection, cutoff, self._limit)
            )
            for kind, count in deleted.items():
                total[kind] += count
            if all(count < self._limit for count in deleted.values()):
                break
        if any(total.values()):
            log.info(
                "retention deleted %s finished_more_than_days_ago=%d",
                " ".join(f"{kind}={count}" for kind, count in total.items()),
                self._keep // DAY,
            )
        return total

    async def run_until(self, stop: asyncio.Event) -> None:
        """Prune now and every ``interval`` until ``stop`` is set.

        A database error is logged and the prune tried again at the next turn:
        forgetting late is harmless, stopping the server for it is not.
        """
        while not stop.is_set():
            try:
                await self.prune()
            except sqlite3.Error:
                log.exception("retention failed; tried again in %.0f s", self._interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
