"""Retention on a SQLite file: what is finished is forgotten after ``keep_days``, what is
still of use (open journal entries, mails to deliver or set aside) never is."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from missedcall import retention as retention_module
from missedcall.bootstrap import DATABASE_NAME
from missedcall.db import open_database
from missedcall.journal.store import StateStore
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.store import Outbox
from missedcall.retention import DAY, KINDS, Retention, prune_round
from missedcall.rules.decision import Decision, Target
from tests.support.calls import JANE, missed_call
from tests.support.outbox import FakeClock, mail
from tests.support.running import running, trace
from tests.support.waiting import until

NOW = 2_000 * DAY
KEEP_DAYS = 90
CUTOFF = NOW - KEEP_DAYS * DAY
OLD = NOW - 100 * DAY
RECENT = NOW - 10 * DAY


@pytest.fixture
def store(connection: sqlite3.Connection) -> StateStore:
    return StateStore(connection)


def missed(store: StateStore, call_id: str, ended_at: float) -> None:
    """Anna and bernd missed the call: a mail and a journal entry each."""
    targets = (Target("anna", "201", "anna@example.com"), Target("bernd", "203", "bernd@x.org"))
    decision = Decision(
        call_id, email=targets, journal=tuple(Target(t.user, t.line) for t in targets)
    )
    store.record_decision(missed_call(call_id, ended_at), decision, JANE)


def sent(outbox: Outbox, number: int, at: float) -> None:
    """Mail ``c<number>`` queued and delivered at ``at``."""
    outbox.enqueue([mail(number)], "server", at)
    (claimed,) = outbox.claim(1, at)
    outbox.finish(claimed.id, at, accepted=claimed.mail.envelope_to)


def entries(store: StateStore, call_id: str) -> list[str]:
    return sorted(e.user for e in store.journal_entries() if e.call_id == call_id)


def rows(connection: sqlite3.Connection, table: str, call_id: str) -> int:
    assert table in ("decisions", "notifications", "call_users", "journal", "outbox")
    query = f"SELECT count(*) FROM {table} WHERE call_id = ?"
    return int(connection.execute(query, (call_id,)).fetchone()[0])


def everything_of(connection: sqlite3.Connection, call_id: str) -> dict[str, int]:
    tables = ("decisions", "notifications", "call_users", "journal", "outbox")
    return {table: rows(connection, table, call_id) for table in tables}


def done(store: StateStore, call_id: str, user: str, at: float) -> None:
    (entry,) = [e for e in store.journal_entries(user, state="open") if e.call_id == call_id]
    assert store.mark_done(entry.id, at)


def prune(connection: sqlite3.Connection, limit: int = 1000) -> dict[str, int]:
    return prune_round(connection, CUTOFF, limit)


def test_a_call_finished_longer_ago_than_keep_days_is_forgotten_and_a_newer_one_kept(
    connection: sqlite3.Connection, store: StateStore, outbox: Outbox
) -> None:
    for call_id, number, at in (("c1", 1, OLD), ("c2", 2, RECENT)):
        missed(store, call_id, at)
        for user in ("anna", "bernd"):
            done(store, call_id, user, at + 3600)
        sent(outbox, number, at + 60)

    deleted = prune(connection)

    assert deleted == {
        "journal": 2, "notifications": 4, "call_users": 2, "decisions": 1, "outbox": 1, "logons": 0
    }  # fmt: skip
    assert everything_of(connection, "c1") == dict.fromkeys(everything_of(connection, "c1"), 0)
    assert everything_of(connection, "c2") == {
        "decisions": 1, "notifications": 4, "call_users": 2, "journal": 2, "outbox": 1
    }  # fmt: skip
    assert store.decision_for("c1") is None
    assert store.decision_for("c2") is not None
    assert prune(connection) == dict.fromkeys(KINDS, 0)


def test_an_open_journal_entry_keeps_its_call_however_old(
    connection: sqlite3.Connection, store: StateStore
) -> None:
    missed(store, "c1", OLD)
    done(store, "c1", "anna", OLD + 3600)

    prune(connection)

    assert entries(store, "c1") == ["bernd"]  # anna's entry was done long ago
    assert store.decision_for("c1") is not None  # what bernd's entry is about
    assert rows(connection, "call_users", "c1") == 2
    assert rows(connection, "notifications", "c1") == 0  # the history of the rules is not

    done(store, "c1", "bernd", NOW - DAY)  # done yesterday: kept keep_days from now
    prune(connection)
    assert entries(store, "c1") == ["bernd"]

    assert prune_round(connection, NOW, 1000)["decisions"] == 1  # keep_days later
    assert everything_of(connection, "c1") == dict.fromkeys(everything_of(connection, "c1"), 0)


def test_mails_still_to_deliver_or_set_aside_are_kept_however_old_and_failed_ones_are_not(
    connection: sqlite3.Connection, outbox: Outbox
) -> None:
    outbox.enqueue([mail(number) for number in range(1, 6)], "server", OLD)
    outbox.enqueue([mail(6, user="bernd")], "client", OLD)
    claimed = {row.mail.call_id: row.id for row in outbox.claim(4, OLD)}  # c5 stays queued
    outbox.retry_later(claimed["c1"], OLD, OLD + 60, "421 busy")
    outbox.set_aside(claimed["c2"], OLD, "a bug")
    outbox.fail(claimed["c3"], OLD, 550, "no such user")  # c4 is left sending

    assert prune(connection)["outbox"] == 1

    left = {row.call_id: row.state for row in outbox.rows()}
    assert left == {
        "c1": "retry", "c2": "set_aside", "c4": "sending", "c5": "queued", "c6": "queued"
    }  # fmt: skip


def test_old_logons_that_ended_are_forgotten_but_each_users_latest_is_kept(
    connection: sqlite3.Connection, store: StateStore
) -> None:
    store.logon("anna", OLD - 2 * DAY, "web")
    store.logoff("anna", OLD - DAY)
    store.logon("anna", OLD, "web")
    store.logoff("anna", OLD + 60)
    store.logon("bernd", OLD - DAY, "client")  # still logged on
    store.logon("carl", OLD, "web")
    store.logoff("carl", OLD + 60)
    store.logon("carl", RECENT, "web")
    store.logoff("carl", RECENT + 60)

    assert prune(connection)["logons"] == 2

    assert store.last_logon("anna", NOW) == OLD
    assert store.is_logged_on("bernd", NOW)
    assert store.last_logon("carl", NOW) == RECENT


async def test_a_large_prune_goes_in_rounds_of_at_most_the_limit_each_its_own_commit(
    connection: sqlite3.Connection, store: StateStore, outbox: Outbox
) -> None:
    for number in range(25):
        missed(store, f"c{number}", OLD + number)
        for user in ("anna", "bernd"):
            done(store, f"c{number}", user, OLD + number)
    committer = GroupCommitter(outbox)
    retention = Retention(committer, KEEP_DAYS, FakeClock(NOW), limit=4)

    deleted = await retention.prune()

    assert deleted["decisions"] == 25
    assert deleted["journal"] == 50
    assert committer.commits >= 50 // 4  # the journal alone takes 13 rounds
    assert connection.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_keep_days_below_one_is_no_retention(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="keep_days"):
        Retention(GroupCommitter(outbox), 0, FakeClock(NOW))


async def test_the_running_server_forgets_old_calls_at_start_and_keeps_new_ones(
    tmp_path: Path,
) -> None:
    old = time.time() - 100 * DAY
    connection = open_database(tmp_path / DATABASE_NAME)
    state = StateStore(connection)
    missed(state, "long-ago", old)
    for user in ("anna", "bernd"):
        done(state, "long-ago", user, old)
    connection.close()

    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"))
        state = run.server.handler.store

        assert state.decision_for("long-ago") is None
        assert run.server.health.calls_decided == 1
        assert len(state.recent_decisions()) == 1  # the call just played is kept


async def test_the_server_prunes_again_every_interval_and_a_failed_prune_waits_for_the_next(
    connection: sqlite3.Connection,
    store: StateStore,
    outbox: Outbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    missed(store, "c1", NOW - 80 * DAY)
    for user in ("anna", "bernd"):
        done(store, "c1", user, NOW - 80 * DAY)
    clock = FakeClock(NOW)
    rounds: list[float] = []

    def failing_once(connection: sqlite3.Connection, cutoff: float, limit: int) -> dict[str, int]:
        rounds.append(cutoff)
        if len(rounds) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return prune_round(connection, cutoff, limit)

    monkeypatch.setattr(retention_module, "prune_round", failing_once)
    stop = asyncio.Event()
    retention = Retention(GroupCommitter(outbox), KEEP_DAYS, clock, interval=0.02)
    running_task = asyncio.create_task(retention.run_until(stop))
    await until(lambda: len(rounds) >= 3)
    assert "retention failed" in caplog.text
    assert store.decision_for("c1") is not None  # 80 days old: kept

    clock.advance(20 * DAY)
    await until(lambda: store.decision_for("c1") is None)
    stop.set()
    await asyncio.wait_for(running_task, 1.0)
