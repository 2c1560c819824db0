"""Group commit: many writers, one COMMIT, so that durability costs one fsync a batch.

A write (a decision's mails to queue, a runner's claim or outcome) waits up to
``max_delay`` seconds (by default none: until the event loop comes round, so
the writes of every task that ran meanwhile join it), or until ``max_batch``
writes wait, and then all run in one transaction, each in a SAVEPOINT of its
own so that a failing write fails its own caller only.  Each caller's
``await`` returns only once its rows are on disk.

The transaction runs on the event loop, not in a thread (a thread would need a
connection of its own and would let a claim and a write interleave); it is
short: a batch of 256 mails of 3 kB takes 10 to 40 ms on the development
machine (``python -m bench delivery`` prints the longest as ``loop blocked``).
The fsync that makes it durable is the slow part, and needs no connection:
with the database in WAL mode the COMMIT runs with ``synchronous = NORMAL``
(written, not yet flushed) and a worker thread flushes the write-ahead log,
while the loop goes on.  The writes that come meanwhile wait for that flush
to end and then go to disk together: the busier the server, the larger the
batches (never more than ``max_batch`` in one transaction, the loop getting a
turn between two).  A database not in WAL mode (in memory) commits with
``synchronous = FULL`` on the loop instead.

The same worker thread, at most every ``checkpoint_seconds``, copies the log
into the database file, on a connection of its own, so that the log can start
over.  SQLite's automatic checkpoint is off on the loop's connection: it would
run inside the COMMIT that fills the log past 1,000 pages, copying them and
waiting for two fsyncs there, several milliseconds in which no call is judged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from missedcall.db import transaction
from missedcall.outbox.mail import OutgoingMail
from missedcall.outbox.store import Dispatch, Outbox

__all__ = ["GroupCommitter"]

log = logging.getLogger("missedcall.outbox")

T = TypeVar("T")
# The log grows by what is written between two checkpoints: at 40 MB/s (mails
# written as fast as SQLite takes them) it stays under 2 MB, and a busy server's
# fsyncs come more often than this anyway.
CHECKPOINT_SECONDS = 0.02


@dataclass(slots=True)
class _Write(Generic[T]):
    operation: Callable[[], T]
    done: asyncio.Future[T]
    result: T | None = None
    error: BaseException | None = None


class GroupCommitter:
    """Runs the outbox's writes of many callers in few transactions."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        max_delay: float = 0.0,
        max_batch: int = 256,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
    ) -> None:
        self._outbox = outbox
        self._max_delay = max_delay
        self._max_batch = max_batch
        self._pending: list[_Write[Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._log_file = write_ahead_log(outbox.connection)  # None: FULL commits, no thread
        if self._log_file is not None:  # the worker thread checkpoints instead
            outbox.connection.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpoint_seconds = checkpoint_seconds
        self._next_checkpoint = 0.0  # loop time
        self._checkpoint_failure = ""  # why the last checkpoint failed: logged once, not each time
        self._flushing = False  # a batch is committed and its fsync runs
        self.commits = 0  # transactions committed
        self.writes = 0  # writes committed in them
        self.longest_flush = 0.0  # seconds: the longest the event loop was held

    @property
    def connection(self) -> sqlite3.Connection:
        """The database its writes go to (the outbox's)."""
        return self._outbox.connection

    async def enqueue(self, mails: Sequence[OutgoingMail], dispatch: Dispatch, at: float) -> int:
        """Queue a decision's mails; returns how many were new once they are on disk."""
        return await self.write(lambda: self._outbox.enqueue(mails, dispatch, at))

    async def write(self, operation: Callable[[], T]) -> T:
        """Run ``operation`` (outbox calls, no awaiting) in the next group's transaction."""
        return await self.submit(operation)

    def submit(self, operation: Callable[[], T]) -> asyncio.Future[T]:
        """:meth:`write` for a caller that goes on meanwhile: the future of its result."""
        loop = asyncio.get_running_loop()
        write: _Write[T] = _Write(operation, loop.create_future())
        self._pending.append(write)
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._max_delay, self._flush)
        return write.done

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing:
            return  # these writes go to disk with the next batch, once the fsync ends
        self._pending = [write for write in self._pending if not write.done.done()]
        # At most a batch at once: writes that piled up during an fsync may be more.
        batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
        if not batch:
            return
        started = time.perf_counter()
        try:
            self._commit(batch)
        except Exception as error:  # BEGIN or COMMIT failed: nothing of the batch is written
            for write in batch:
                write.error = error
        else:
            self.commits += 1
            self.writes += len(batch)
        self.longest_flush = max(self.longest_flush, time.perf_counter() - started)
        if self._log_file is None or all(write.error is not None for write in batch):
            self._settle(batch)
            self._flush_rest_soon()
            return
        self._flushing = True
        loop = asyncio.get_running_loop()
        checkpoint = loop.time() >= self._next_checkpoint
        if checkpoint:
            self._next_checkpoint = loop.time() + self._checkpoint_seconds
        flushed = loop.run_in_executor(None, _make_durable, self._log_file, checkpoint)
        flushed.add_done_callback(lambda done: self._synced(batch, done))

    def _synced(self, batch: list[_Write[Any]], flushed: asyncio.Future[str | None]) -> None:
        self._flushing = False
        error = flushed.exception()
        if error is not None:  # committed, but whether it is on disk is unknown
            for write in batch:
                write.error = write.error or error
        else:
            self._note_checkpoint(flushed.result())
        self._settle(batch)
        self._flush_rest_soon()

    def _note_checkpoint(self, failure: str | None) -> None:
        """Log when checkpoints start failing and when they work again, not every failure."""
        if failure is None or failure == self._checkpoint_failure:
            return
        if failure:
            log.error("checkpoint failed: %s; the write-ahead log grows until one works", failure)
        else:
            log.info("checkpoint works again")
        self._checkpoint_failure = failure

    def _flush_rest_soon(self) -> None:
        """What came during the fsync, or was left over from a full batch, goes next,
        after the loop has had a turn."""
        if self._pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(0, self._flush)

    def _settle(self, batch: list[_Write[Any]]) -> None:
        for write in batch:
            _resolve(write)

    def _commit(self, batch: list[_Write[Any]]) -> None:
        db = self._outbox.connection
        flushed_here = self._log_file is None
        db.execute(f"PRAGMA synchronous = {'FULL' if flushed_here else 'NORMAL'}")
        try:
            with transaction(db):
                for write in batch:
                    self._run(write)
        finally:
            if db.in_transaction:  # a COMMIT that failed can leave it open
                db.execute("ROLLBACK")
            db.execute("PRAGMA synchronous = FULL")  # what other writers of the connection get

    def _run(self, write: _Write[Any]) -> None:
        """One write in a savepoint: if it fails, the batch goes on without it."""
        db = self._outbox.connection
        db.execute("SAVEPOINT write")
        try:
            write.result = write.operation()
        except Exception as error:
            db.execute("ROLLBACK TO write")
            write.error = error
        db.execute("RELEASE write")


def write_ahead_log(connection: sqlite3.Connection) -> str | None:
    """The file of the database's write-ahead log; None unless in WAL mode on disk."""
    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    files = {name: file for _, name, file in connection.execute("PRAGMA database_list")}
    if str(mode).lower() != "wal" or not files.get("main"):
        return None
    return str(files["main"]) + "-wal"


def _make_durable(log_file: str, checkpoint: bool) -> str | None:
    """In the worker thread: flush the log; if it is time, copy it into the database.

    Returns None if no checkpoint ran, else why it failed ("" if it did not)."""
    _fsync(log_file)
    return _checkpoint(log_file.removesuffix("-wal")) if checkpoint else None


def _checkpoint(database: str) -> str:
    """Copy what the log holds into the database file, so that the log can start over.

    PASSIVE: the writer on the loop is never kept waiting.  A failure costs no
    write (they are on disk, in the log) and is retried at the next checkpoint.
    """
    try:
        connection = sqlite3.connect(database, isolation_level=None)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()
    except sqlite3.Error as error:
        return f"{database}: {error}"
    return ""


def _fsync(path: str) -> None:
    """Flush a file's written pages to disk (the file, not a descriptor, is flushed)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _resolve(write: _Write[Any]) -> None:
    if write.done.done():
        return
    if write.error is not None:
        write.done.set_exception(write.error)
    else:
        write.done.set_result(write.result)
