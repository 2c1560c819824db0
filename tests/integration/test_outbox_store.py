"""The outbox table on a real SQLite file: queued once, claimed in order of decision,
every state change by the rules, client rows only for their owner, nothing lost in a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from missedcall.db import open_database
from missedcall.outbox.mail import Refusal
from missedcall.outbox.store import MAX_RECOVERIES, Outbox
from tests.support.outbox import T0, mail


def test_a_call_and_user_is_queued_once_however_often_it_is_enqueued(outbox: Outbox) -> None:
    assert outbox.enqueue([mail(1), mail(1, user="bernd")], "server", T0) == 2
    assert outbox.enqueue([mail(1), mail(2)], "server", T0 + 1) == 1  # a replay, and one new
    assert outbox.enqueue([], "server", T0) == 0
    assert [(row.call_id, row.user) for row in outbox.rows()] == [
        ("c2", "anna"),
        ("c1", "bernd"),
        ("c1", "anna"),
    ]


def test_claim_takes_due_rows_oldest_decision_first_and_only_once(outbox: Outbox) -> None:
    outbox.enqueue([mail(n) for n in (3, 1, 2)], "server", T0)
    first = outbox.claim(2, T0 + 1)
    assert [c.mail.call_id for c in first] == ["c3", "c1"]
    assert [(c.attempts, c.first_attempt_at) for c in first] == [(0, None), (0, None)]
    assert [c.mail.call_id for c in outbox.claim(10, T0 + 1)] == ["c2"]
    assert outbox.claim(10, T0 + 1) == []
    assert outbox.counts_by_state()["sending"] == 3


def test_a_retry_is_claimed_when_due_and_keeps_its_first_attempt(outbox: Outbox) -> None:
    outbox.enqueue([mail(1)], "server", T0)
    [row] = outbox.claim(1, T0)
    assert outbox.retry_later(row.id, T0, T0 + 30, "451 busy", code=451)
    assert outbox.next_retry_at() == T0 + 30
    assert outbox.claim(1, T0 + 29) == []
    [again] = outbox.claim(1, T0 + 30)
    assert (again.id, again.attempts, again.first_attempt_at) == (row.id, 1, T0)
    assert outbox.next_retry_at() is None


def test_a_postponed_row_was_not_tried(outbox: Outbox) -> None:
    """Claimed, but the server went away before its turn: no attempt, the max age not started."""
    outbox.enqueue([mail(1)], "server", T0)
    [row] = outbox.claim(1, T0)
    assert outbox.postpone(row.id, T0, T0 + 30, "smtp server unavailable")
    [again] = outbox.claim(1, T0 + 30)
    assert (again.attempts, again.first_attempt_at) == (0, None)


def test_settled_rows_keep_the_reply_and_only_a_row_being_sent_can_settle(outbox: Outbox) -> None:
    outbox.enqueue([mail(1), mail(2), mail(3)], "server", T0)
    sent, failed, aside = outbox.claim(3, T0)
    assert outbox.finish(sent.id, T0 + 1, accepted=("anna@example.com",))
    assert outbox.fail(failed.id, T0 + 1, 550, "5.1.1 no such user")
    assert outbox.set_aside(aside.id, T0 + 1, "ValueError: boom")
    assert not outbox.finish(sent.id, T0 + 2)  # already settled
    rows = {row.call_id: row for row in outbox.rows()}
    assert (rows["c1"].state, rows["c1"].accepted) == ("sent", ("anna@example.com",))
    assert (rows["c2"].state, rows["c2"].reply_code, rows["c2"].reply) == (
        "failed",
        550,
        "5.1.1 no such user",
    )
    assert (rows["c3"].state, rows["c3"].reply) == ("set_aside", "ValueError: boom")
    assert outbox.counts_by_state() == {
        "queued": 0,
        "sending": 0,
        "sent": 1,
        "retry": 0,
        "failed": 1,
        "set_aside": 1,
    }


def test_recipients_are_tracked_one_by_one(outbox: Outbox) -> None:
    """A retry goes only to the recipients neither accepted nor refused for good."""
    outbox.enqueue([mail(1, "a@example.com", "b@example.com", "c@example.com")], "server", T0)
    [row] = outbox.claim(1, T0)
    outbox.retry_later(
        row.id,
        T0,
        T0 + 30,
        "450 mailbox busy",
        accepted=("a@example.com",),
        refused=(Refusal("b@example.com", 550, "no"), Refusal("c@example.com", 450, "busy")),
    )
    [again] = outbox.claim(1, T0 + 30)
    assert again.mail.envelope_to == ("c@example.com",)
    outbox.finish(again.id, T0 + 31, accepted=("c@example.com",))
    [done] = outbox.rows()
    assert done.envelope_to == ("a@example.com", "b@example.com", "c@example.com")
    assert done.accepted == ("a@example.com", "c@example.com")
    assert done.refused == (Refusal("b@example.com", 550, "no"),)
    assert done.to_json()["refused"] == [{"recipient": "b@example.com", "code": 550, "reply": "no"}]


@pytest.mark.parametrize("settled_by", ["the claiming outbox", "another outbox"])
def test_a_settled_row_keeps_the_recipients_of_earlier_attempts(
    outbox: Outbox, database: Path, settled_by: str
) -> None:
    """The claiming outbox remembers them; any other reads them back from the row."""
    outbox.enqueue([mail(1, "a@example.com", "b@example.com")], "server", T0)
    [row] = outbox.claim(1, T0)
    outbox.retry_later(row.id, T0, T0 + 30, "450 busy", accepted=("a@example.com",))
    [again] = outbox.claim(1, T0 + 30)
    other = Outbox(open_database(database))
    settling = outbox if settled_by == "the claiming outbox" else other
    assert settling.finish(again.id, T0 + 31, accepted=("b@example.com",))
    assert not settling.finish(again.id, T0 + 32)  # sent already
    assert not outbox.fail(again.id, T0 + 33, 550, "late")  # sent, whoever asks
    [done] = outbox.rows()
    assert (done.state, done.accepted) == ("sent", ("a@example.com", "b@example.com"))
    other.connection.close()


def test_client_rows_are_never_claimed_and_only_their_owner_confirms(outbox: Outbox) -> None:
    outbox.enqueue([mail(1), mail(2)], "client", T0)
    outbox.enqueue([mail(1, user="bernd")], "client", T0)
    assert outbox.claim(10, T0) == []
    pending = outbox.pending_for_user("anna", 10)
    assert [(p.mail.call_id, p.queued_at) for p in pending] == [("c1", T0), ("c2", T0)]
    assert pending[0].mail.data.startswith(b"From: PBX")
    assert not outbox.confirm(pending[0].id, "bernd", T0 + 5)
    assert outbox.confirm(pending[0].id, "anna", T0 + 5)
    assert not outbox.confirm(pending[0].id, "anna", T0 + 6)  # once
    assert [p.mail.call_id for p in outbox.pending_for_user("anna", 10)] == ["c2"]
    assert outbox.oldest_queued_age(T0 + 10) is None  # client rows are not the server's lag


def test_rows_left_sending_by_a_crash_are_recovered_then_set_aside(
    outbox: Outbox, database: Path
) -> None:
    outbox.enqueue([mail(1)], "server", T0)
    for crash in range(1, MAX_RECOVERIES + 1):
        outbox.claim(1, T0 + crash)
        # The process dies here; a new one opens the file.
        reopened = Outbox(open_database(database))
        assert reopened.recover(T0 + crash + 0.5) == 1
        [row] = reopened.rows()
        reopened.connection.close()
        assert row.recoveries == crash
        assert row.state == ("queued" if crash < MAX_RECOVERIES else "set_aside")
    assert row.reply == f"found sending after {MAX_RECOVERIES} crashes"
    assert outbox.recover(T0 + 10) == 0


def test_rows_are_requeued_by_hand(outbox: Outbox) -> None:
    outbox.enqueue([mail(1), mail(2), mail(3)], "server", T0)
    failed, aside, waiting = outbox.claim(3, T0)
    outbox.fail(failed.id, T0, 550, "no")
    outbox.set_aside(aside.id, T0, "boom")
    outbox.retry_later(waiting.id, T0, T0 + 3600, "busy")
    assert not outbox.requeue(waiting.id, T0 + 1)  # waiting is no failure
    assert not outbox.retry_now(failed.id, T0 + 1)  # a failure is not waiting
    assert outbox.requeue(failed.id, T0 + 1)
    assert outbox.requeue(aside.id, T0 + 1)
    assert outbox.retry_now(waiting.id, T0 + 1)
    again = outbox.claim(3, T0 + 2)
    assert [c.id for c in again] == [failed.id, aside.id, waiting.id]
    assert [c.first_attempt_at for c in again] == [None, None, T0]  # the max age restarts


def test_queries_for_the_api(outbox: Outbox) -> None:
    outbox.enqueue([mail(1)], "server", T0)
    outbox.enqueue([mail(2), mail(3, user="bernd")], "server", T0 + 60)
    assert outbox.oldest_queued_age(T0 + 100) == 100
    assert [r.call_id for r in outbox.rows(user="bernd")] == ["c3"]
    assert [r.call_id for r in outbox.rows(state="queued", limit=2)] == ["c3", "c2"]
    assert outbox.rows(state="sent") == []
    row = outbox.rows(limit=1)[0].to_json()
    assert (row["state"], row["size"], row["dispatch"]) == (
        "queued",
        len(mail(3, user="bernd").data),
        "server",
    )


def test_the_outbox_commits_to_disk_before_returning(outbox: Outbox) -> None:
    """synchronous = FULL: a commit waits for the write-ahead log to reach the disk."""
    assert outbox.connection.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_a_decision_queued_cannot_be_inserted_twice_by_sql_either(outbox: Outbox) -> None:
    outbox.enqueue([mail(1)], "server", T0)
    with pytest.raises(sqlite3.IntegrityError):
        outbox.connection.execute(
            "INSERT INTO outbox (call_id, user_id, dispatch, envelope_from, envelope_to,"
            " message_id, data, queued_at, changed_at)"
            " VALUES ('c1', 'anna', 'client', 'x', '[]', 'm', x'00', 0, 0)"
        )
