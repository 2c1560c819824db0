"""Group commit: many writers share few transactions, and an awaited write is on disk."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.store import Outbox
from tests.support.outbox import T0, mail


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
