"""The SQLite state on disk: migrations, the rules' History and Presence, decisions
recorded once however often the events are replayed, and the journal's life."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from missedcall import db
from missedcall.calls.record import CallRecord
from missedcall.db import DatabaseError, Migration, open_database
from missedcall.journal.store import Recorded, StateStore
from missedcall.rules.decision import Decision, Skip, Target
from tests.support.calls import JANE, missed_call

JOHN = "+49301234567"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "missedcall.db"


@pytest.fixture
def database(path: Path) -> Path:
    return path  # the shared connection opens it, its folder made on the way


@pytest.fixture
def store(connection: sqlite3.Connection) -> StateStore:
    return StateStore(connection)


def decision(call_id: str, users: tuple[str, ...] = ("anna", "bernd")) -> Decision:
    lines = {"anna": "201", "bernd": "203"}
    return Decision(
        call_id,
        email=tuple(Target(u, lines[u], f"{u}@example.com") for u in users),
        journal=tuple(Target(u, lines[u]) for u in users),
        skipped=(Skip("email", "carl", "202", "opted_out"),),
    )


def miss(store: StateStore, call_id: str, ended_at: float, number: str = JANE) -> Recorded:
    """Record a call from ``number`` that anna and bernd missed."""
    return store.record_decision(missed_call(call_id, ended_at, number), decision(call_id), number)


def count(connection: sqlite3.Connection, table: str) -> int:
    query = {
        "decisions": "SELECT count(*) FROM decisions",
        "notifications": "SELECT count(*) FROM notifications",
        "journal": "SELECT count(*) FROM journal",
    }[table]
    return int(connection.execute(query).fetchone()[0])


# ---------------------------------------------------------------------------
# The database and its migrations


def test_a_new_database_is_created_with_its_folder_and_migrated(path: Path) -> None:
    connection = open_database(path)
    assert path.is_file()
    assert db.schema_version(connection) == db.latest_version()
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert {"schema_version", "decisions", "notifications", "logons", "journal"} <= tables
    connection.close()


def test_the_connection_is_tuned_for_one_server_and_occasional_readers(
    connection: sqlite3.Connection,
) -> None:
    def pragma(name: str) -> object:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]

    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("synchronous") == 1  # NORMAL
    assert pragma("busy_timeout") == 5000
    assert pragma("temp_store") == 2  # MEMORY: savepoint journals never go to a file


def test_a_transaction_inside_another_joins_it_and_a_failure_undoes_both(
    connection: sqlite3.Connection,
) -> None:
    connection.execute("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")
    with pytest.raises(sqlite3.IntegrityError), db.transaction(connection):
        connection.execute("INSERT INTO numbers VALUES (1)")
        with db.transaction(connection):
            connection.execute("INSERT INTO numbers VALUES (2)")
            connection.execute("INSERT INTO numbers VALUES (2)")
    assert not connection.in_transaction
    assert connection.execute("SELECT count(*) FROM numbers").fetchone() == (0,)
    with db.transaction(connection):
        with db.transaction(connection):
            connection.execute("INSERT INTO numbers VALUES (3)")
        assert connection.in_transaction  # the inner one did not commit on its own
    assert connection.execute("SELECT n FROM numbers").fetchall() == [(3,)]


def test_migration_versions_count_up_from_one() -> None:
    versions = [m.version for m in db.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


def test_opening_again_changes_nothing_and_keeps_the_data(path: Path) -> None:
    first = open_database(path)
    miss(StateStore(first), "1.1", 1000.0)
    applied = first.execute("SELECT * FROM schema_version").fetchall()
    first.close()
    again = open_database(path)
    assert again.execute("SELECT * FROM schema_version").fetchall() == applied
    assert count(again, "journal") == 2
    again.close()


def test_connections_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    """SQLite reports a concurrent switch to WAL as busy without waiting; the opener waits."""

    def version(path: Path) -> int:
        connection = open_database(path)
        try:
            return db.schema_version(connection)
        finally:
            connection.close()

    for round_ in range(20):
        path = tmp_path / f"round-{round_}.db"
        with ThreadPoolExecutor(max_workers=8) as pool:
            versions = list(pool.map(version, [path] * 8))
        assert versions == [db.latest_version()] * 8


def test_a_new_migration_is_applied_to_an_existing_database_once(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_database(path).close()
    extra = Migration(db.latest_version() + 1, "a test table", "CREATE TABLE extra (x TEXT);")
    monkeypatch.setattr(db, "MIGRATIONS", (*db.MIGRATIONS, extra))
    for _ in range(2):
        connection = open_database(path)
        assert db.schema_version(connection) == extra.version
        connection.execute("SELECT x FROM extra").fetchall()
        connection.close()


def test_a_failing_migration_leaves_nothing_of_itself_behind(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_database(path).close()
    version = db.latest_version()
    broken = Migration(
        version + 1, "broken", "CREATE TABLE half (x TEXT);\nINSERT INTO nowhere VALUES (1);"
    )
    monkeypatch.setattr(db, "MIGRATIONS", (*db.MIGRATIONS, broken))
    with pytest.raises(DatabaseError, match="no such table: nowhere"):
        open_database(path)
    monkeypatch.undo()
    connection = open_database(path)
    assert db.schema_version(connection) == version
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables
    connection.close()


def test_a_database_from_a_newer_missedcall_is_refused_by_name_and_versions(path: Path) -> None:
    connection = open_database(path)
    newer = db.latest_version() + 5
    connection.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, 'future', 0)",
        (newer,),
    )
    connection.close()
    with pytest.raises(DatabaseError) as refused:
        open_database(path)
    message = str(refused.value)
    assert str(path) in message
    assert f"schema version {newer}" in message
    assert f"up to {db.latest_version()}" in message


def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "missedcall.db"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(DatabaseError, match=str(path)):
        open_database(path)


# ---------------------------------------------------------------------------
# History


def test_last_notified_is_the_latest_call_strictly_before_the_moment(store: StateStore) -> None:
    miss(store, "1.1", 1000.0)
    miss(store, "1.2", 2000.0)
    assert store.last_notified("email", "anna", JANE, 1000.0) is None
    assert store.last_notified("email", "anna", JANE, 1000.5) == 1000.0
    assert store.last_notified("email", "anna", JANE, 2000.5) == 2000.0
    assert store.last_notified("journal", "bernd", JANE, 5000.0) == 2000.0


def test_history_is_per_channel_user_and_number(store: StateStore) -> None:
    store.record_decision(missed_call("1.1", 1000.0), decision("1.1", ("anna",)), JANE)
    assert store.last_notified("email", "anna", JANE, 5000.0) == 1000.0
    assert store.last_notified("email", "bernd", JANE, 5000.0) is None
    assert store.last_notified("email", "anna", JOHN, 5000.0) is None
    only_journal = Decision("1.2", journal=(Target("bernd", "203"),))
    store.record_decision(missed_call("1.2", 2000.0), only_journal, JANE)
    assert store.last_notified("journal", "bernd", JANE, 5000.0) == 2000.0
    assert store.last_notified("email", "bernd", JANE, 5000.0) is None


# ---------------------------------------------------------------------------
# Presence


def test_a_user_is_logged_on_from_logon_until_logoff(store: StateStore) -> None:
    store.logon("anna", 100.0, "web")
    assert not store.is_logged_on("anna", 99.0)
    assert store.is_logged_on("anna", 100.0)
    assert store.is_logged_on("anna", 10_000.0)
    assert store.logoff("anna", 200.0) == 1
    assert store.is_logged_on("anna", 199.0)
    assert not store.is_logged_on("anna", 200.0)
    assert not store.is_logged_on("bernd", 150.0)


def test_sessions_of_one_user_end_separately_when_named(store: StateStore) -> None:
    store.logon("anna", 100.0, "web")
    store.logon("anna", 110.0, "client")
    assert store.logoff("anna", 200.0, via="web") == 1
    assert store.is_logged_on("anna", 300.0)
    assert store.logoff("anna", 400.0) == 1
    assert not store.is_logged_on("anna", 500.0)
    assert store.logoff("anna", 600.0) == 0


def test_last_logon_is_the_latest_logon_strictly_before_the_moment(store: StateStore) -> None:
    assert store.last_logon("anna", 1000.0) is None
    store.logon("anna", 100.0, "web")
    store.logoff("anna", 150.0)
    store.logon("anna", 300.0, "client")
    assert store.last_logon("anna", 100.0) is None
    assert store.last_logon("anna", 299.0) == 100.0
    assert store.last_logon("anna", 1000.0) == 300.0
    assert store.last_logon("bernd", 1000.0) is None


# ---------------------------------------------------------------------------
# Decisions


def test_a_decision_is_stored_with_its_record(store: StateStore) -> None:
    call = missed_call("1.1", 1000.0)
    miss(store, "1.1", 1000.0)
    stored = store.decision_for("1.1")
    assert stored is not None
    assert stored == (
        json.loads(json.dumps(call.to_json())),
        json.loads(json.dumps(decision("1.1").to_json())),
    )
    assert store.decision_for("9.9") is None


def test_recording_returns_the_new_targets_and_a_replay_records_nothing(
    store: StateStore, connection: sqlite3.Connection
) -> None:
    first = miss(store, "1.1", 1000.0)
    assert first == Recorded(decision("1.1").email, decision("1.1").journal)
    counts = [count(connection, t) for t in ("decisions", "notifications", "journal")]
    assert counts == [1, 4, 2]
    assert miss(store, "1.1", 1000.0) == Recorded()
    assert [count(connection, t) for t in ("decisions", "notifications", "journal")] == counts


def test_a_replay_that_decides_more_records_only_the_new_user(store: StateStore) -> None:
    store.record_decision(missed_call("1.1", 1000.0), decision("1.1", ("anna",)), JANE)
    again = store.record_decision(missed_call("1.1", 1000.0), decision("1.1"), JANE)
    assert again == Recorded(
        (Target("bernd", "203", "bernd@example.com"),), (Target("bernd", "203"),)
    )


def test_a_decision_is_recorded_wholly_or_not_at_all(
    store: StateStore, connection: sqlite3.Connection
) -> None:
    def failing_reason(record: CallRecord, target: Target) -> str:
        if target.user == "bernd":
            raise RuntimeError("disk on fire")
        return "missed"

    call = missed_call("1.1", 1000.0)
    with pytest.raises(RuntimeError):
        store.record_decision(call, decision("1.1"), JANE, failing_reason)
    assert [count(connection, t) for t in ("decisions", "notifications", "journal")] == [0, 0, 0]
    assert store.record_decision(call, decision("1.1"), JANE) != Recorded()


def test_a_journal_entry_holds_the_call_and_the_reason(store: StateStore) -> None:
    call = missed_call("1.1", 1000.0, voicemail=True)
    store.record_decision(call, decision("1.1", ("anna",)), JANE)
    [entry] = store.journal_entries()
    assert (entry.call_id, entry.user, entry.line, entry.number) == ("1.1", "anna", "201", JANE)
    assert (entry.caller_number, entry.caller_name) == (JANE, "Jane Doe")
    assert (entry.started_at, entry.created_at) == (970.0, 1000.0)
    assert (entry.reason, entry.state, entry.done_at, entry.done_by) == (
        "voicemail",
        "open",
        None,
        None,
    )
    assert store.journal_entry(entry.id) == entry
    assert store.journal_entry(entry.id + 1) is None


def test_the_journal_reason_can_be_given(store: StateStore) -> None:
    call = missed_call("1.1", 1000.0)
    store.record_decision(call, decision("1.1"), JANE, lambda _, t: f"because {t.user}")
    assert sorted(e.reason for e in store.journal_entries()) == ["because anna", "because bernd"]


# ---------------------------------------------------------------------------
# The journal


def test_entries_are_listed_newest_first_by_user_and_state(store: StateStore) -> None:
    for index in range(5):
        miss(store, f"1.{index}", 1000.0 + index)
    newest = store.journal_entries(limit=3)
    assert [(e.call_id, e.user) for e in newest] == [
        ("1.4", "bernd"),
        ("1.4", "anna"),
        ("1.3", "bernd"),
    ]
    anna = store.journal_entries(user="anna")
    assert [e.call_id for e in anna] == ["1.4", "1.3", "1.2", "1.1", "1.0"]
    store.mark_done(anna[0].id, 2000.0)
    assert [e.id for e in store.journal_entries(user="anna", state="done")] == [anna[0].id]
    assert len(store.journal_entries(user="anna", state="open")) == 4
    assert store.journal_entries(user="carl") == []


def test_mark_done_closes_an_open_entry_once(store: StateStore) -> None:
    miss(store, "1.1", 1000.0)
    entry = store.journal_entries(user="anna")[0]
    assert store.mark_done(entry.id, 2000.0) is True
    assert store.mark_done(entry.id, 3000.0) is False
    assert store.mark_done(entry.id + 100, 3000.0) is False
    done = store.journal_entry(entry.id)
    assert done is not None
    assert (done.state, done.done_at, done.done_by) == ("done", 2000.0, "hand")


def test_a_callback_closes_that_users_open_entries_for_that_number_only(
    store: StateStore,
) -> None:
    miss(store, "1.1", 1000.0)
    miss(store, "1.2", 1100.0)
    miss(store, "1.3", 1200.0, JOHN)
    miss(store, "1.4", 3000.0)  # after the callback began
    assert store.close_on_callback("anna", JANE, 2000.0) == 2
    assert store.close_on_callback("anna", JANE, 2500.0) == 0
    states = {(e.call_id, e.user): (e.state, e.done_by) for e in store.journal_entries()}
    assert states == {
        ("1.1", "anna"): ("done", "callback"),
        ("1.2", "anna"): ("done", "callback"),
        ("1.3", "anna"): ("open", None),
        ("1.4", "anna"): ("open", None),
        ("1.1", "bernd"): ("open", None),
        ("1.2", "bernd"): ("open", None),
        ("1.3", "bernd"): ("open", None),
        ("1.4", "bernd"): ("open", None),
    }


def test_a_callback_leaves_entries_done_by_hand_as_they_were(store: StateStore) -> None:
    miss(store, "1.1", 1000.0)
    entry = store.journal_entries(user="anna")[0]
    store.mark_done(entry.id, 1500.0)
    assert store.close_on_callback("anna", JANE, 2000.0) == 0
    done = store.journal_entry(entry.id)
    assert done is not None and (done.done_at, done.done_by) == (1500.0, "hand")
