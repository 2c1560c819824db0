"""Group commit: many writers share few transactions, and an awaited write is on disk."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from missedcall.db import open_database
from missedcall.outbox import commit
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.store import Outbox
from tests.support.outbox import T0, mail

real_fsync = commit._fsync


async def test_concurrent_enqueues_share_few_transactions_and_each_is_durable(
    outbox: Outbox, database: Path
) -> None:
    """Each caller, as soon as its await returns, finds its row from another connection."""
    committer = GroupCommitter(outbox, max_delay=0.005, max_batch=64)
    reader = sqlite3.connect(database)

    async def decide(number: int) -> None:
        assert await committer.enqueue([mail(number)], "server", T0) == 1
        found = reader.execute("SELECT count(*) FROM outbox WHERE call_id = ?", (f"c{number}",))
        assert found.fetchone()[0] == 1

    await asyncio.gather(*(decide(number) for number in range(300)))
    reader.close()
    assert committer.writes == 300
    assert committer.commits <= 10  # 300 writers, batches of up to 64
    assert committer.longest_flush < 1.0


async def test_a_submitted_write_is_a_future_that_resolves_once_on_disk(
    outbox: Outbox, database: Path
) -> None:
    committer = GroupCommitter(outbox)
    reader = sqlite3.connect(database)
    queued = committer.submit(lambda: outbox.enqueue([mail(1)], "server", T0))
    assert not queued.done()  # nothing runs before the loop comes round
    assert reader.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    assert await queued == 1
    assert reader.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    reader.close()


async def test_a_decision_enqueued_twice_is_queued_once(outbox: Outbox) -> None:
    committer = GroupCommitter(outbox)
    first, again = await asyncio.gather(
        committer.enqueue([mail(1)], "server", T0), committer.enqueue([mail(1)], "server", T0)
    )
    assert sorted([first, again]) == [0, 1]
    assert await committer.enqueue([mail(1)], "server", T0 + 5) == 0
    assert len(outbox.rows()) == 1


async def test_a_failing_write_fails_its_caller_only(outbox: Outbox) -> None:
    committer = GroupCommitter(outbox, max_delay=0.01)

    def broken() -> None:
        outbox.enqueue([mail(99)], "server", T0)  # undone with the rest of this write
        outbox.connection.execute("INSERT INTO no_such_table VALUES (1)")

    results = await asyncio.gather(
        committer.enqueue([mail(1)], "server", T0),
        committer.write(broken),
        committer.enqueue([mail(2)], "server", T0),
        return_exceptions=True,
    )
    assert results[0] == 1
    assert isinstance(results[1], sqlite3.OperationalError)
    assert results[2] == 1
    assert committer.commits == 1
    assert sorted(row.call_id for row in outbox.rows()) == ["c1", "c2"]


async def test_a_cancelled_writer_writes_nothing(outbox: Outbox) -> None:
    committer = GroupCommitter(outbox, max_delay=0.05)
    waiting = asyncio.create_task(committer.enqueue([mail(1)], "server", T0))
    await asyncio.sleep(0)
    waiting.cancel()
    assert await committer.enqueue([mail(2)], "server", T0) == 1
    assert [row.call_id for row in outbox.rows()] == ["c2"]


async def test_a_full_batch_commits_without_waiting_for_the_delay(outbox: Outbox) -> None:
    committer = GroupCommitter(outbox, max_delay=60.0, max_batch=4)
    counts = await asyncio.wait_for(
        asyncio.gather(*(committer.enqueue([mail(n)], "server", T0) for n in range(4))), 5
    )
    assert counts == [1, 1, 1, 1]
    assert committer.commits == 1


async def test_writes_arriving_during_a_flush_to_disk_go_together_in_the_next_batch(
    outbox: Outbox, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fsync runs off the loop; what comes meanwhile waits for it, then joins one batch."""
    flushes: list[str] = []

    def slow_fsync(path: str) -> None:
        flushes.append(path)
        time.sleep(0.05)
        real_fsync(path)

    monkeypatch.setattr(commit, "_fsync", slow_fsync)
    committer = GroupCommitter(outbox)
    first = asyncio.create_task(committer.enqueue([mail(0)], "server", T0))
    await asyncio.sleep(0.01)  # its batch is committed and being flushed now
    assert committer.commits == 1 and not first.done()
    loop_turns = 0
    others = asyncio.gather(*(committer.enqueue([mail(n)], "server", T0) for n in range(1, 11)))
    while not first.done():
        loop_turns += 1  # the loop is free while the log is flushed
        await asyncio.sleep(0.001)
    assert await first == 1
    assert await others == [1] * 10
    assert loop_turns > 5
    assert committer.commits == 2  # the ten together, after the first
    assert flushes == [str(database) + "-wal"] * 2


async def test_writes_piled_up_during_a_flush_still_go_in_batches_of_at_most_max_batch(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_fsync(path: str) -> None:
        time.sleep(0.05)
        real_fsync(path)

    monkeypatch.setattr(commit, "_fsync", slow_fsync)
    committer = GroupCommitter(outbox, max_batch=40)
    first = asyncio.create_task(committer.enqueue([mail(0)], "server", T0))
    await asyncio.sleep(0.01)
    piled = [committer.enqueue([mail(n)], "server", T0) for n in range(1, 101)]
    assert await asyncio.gather(first, *piled) == [1] * 101
    assert committer.commits == 4  # 1, then 40 + 40 + 20: the loop is never held for more
    assert len(outbox.rows(limit=500)) == 101


async def test_a_failed_flush_to_disk_fails_the_writers_of_its_batch(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(path: str) -> None:
        raise OSError(5, "Input/output error", path)

    monkeypatch.setattr(commit, "_fsync", failing_fsync)
    committer = GroupCommitter(outbox)
    with pytest.raises(OSError, match="Input/output error"):
        await committer.enqueue([mail(1)], "server", T0)
    monkeypatch.setattr(commit, "_fsync", real_fsync)
    assert await committer.enqueue([mail(2)], "server", T0) == 1  # the next batch is not stuck


async def test_a_database_not_in_wal_mode_commits_fully_on_the_loop(
    outbox: Outbox, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fsync(path: str) -> None:
        raise AssertionError("nothing to flush beside SQLite's own")

    monkeypatch.setattr(commit, "_fsync", no_fsync)
    outbox.connection.execute("PRAGMA journal_mode = DELETE")
    committer = GroupCommitter(outbox)
    assert await committer.enqueue([mail(1)], "server", T0) == 1
    assert outbox.connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    reader = sqlite3.connect(database)
    assert reader.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    reader.close()


def test_only_a_database_file_in_wal_mode_has_a_log_to_flush(database: Path) -> None:
    in_memory = sqlite3.connect(":memory:")
    assert commit.write_ahead_log(in_memory) is None
    in_memory.close()
    on_disk = open_database(database)
    assert commit.write_ahead_log(on_disk) == str(database) + "-wal"
    on_disk.close()


async def test_the_write_ahead_log_stays_bounded_under_sustained_writes(
    outbox: Outbox, database: Path
) -> None:
    """Checkpoints keep up and the log starts over: it never grows with the work done."""
    committer = GroupCommitter(outbox)
    bulky = b"x" * 4000  # about a rendered mail

    async def decide(number: int) -> None:
        queued = replace(mail(number), data=bulky)
        assert await committer.enqueue([queued], "server", T0) == 1

    for first in range(0, 2000, 50):  # 2,000 mails of 4 kB: 8 MB through the log
        await asyncio.gather(*(decide(number) for number in range(first, first + 50)))
    assert committer.commits >= 40
    assert (database.parent / (database.name + "-wal")).stat().st_size < 6 * 1024 * 1024


async def test_the_worker_not_a_commit_on_the_loop_copies_the_log_into_the_database(
    outbox: Outbox, database: Path
) -> None:
    committer = GroupCommitter(outbox, checkpoint_seconds=0.0)
    assert outbox.connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    before = database.stat().st_size
    bulky = replace(mail(1), data=b"x" * 200_000)  # 50 pages: SQLite would wait for 1,000
    assert await committer.enqueue([bulky], "server", T0) == 1
    assert database.stat().st_size > before + 200_000


async def test_a_failed_checkpoint_fails_no_write_and_is_logged_once(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def locked(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database is locked")

    caplog.set_level(logging.INFO, logger="missedcall.outbox")
    committer = GroupCommitter(outbox, checkpoint_seconds=0.0)
    with monkeypatch.context() as patched:
        patched.setattr(commit.sqlite3, "connect", locked)
        for number in range(1, 4):
            assert await committer.enqueue([mail(number)], "server", T0) == 1
    assert await committer.enqueue([mail(4)], "server", T0) == 1
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(failures) == 1 and "database is locked" in failures[0]
    assert "checkpoint works again" in caplog.text
