"""The installation's one SQLite database, and the migrations that shape it.

Theory of operation: every piece of durable state (decisions, notifications,
logons, the journal, the outbox) lives in ``<data_dir>/missedcall.db``.  The
schema is the result of an ordered list of migrations; ``schema_version``
records which have been applied.  Opening the database applies the missing ones,
each in its own transaction under a write lock, so two processes opening a new
file at once cannot apply one twice.  A database written by a newer missedcall
is refused rather than misread.

Connections run in autocommit mode; writers group statements with
:func:`transaction`, which takes the write lock up front (``BEGIN IMMEDIATE``)
so that WAL readers never have to upgrade a read lock into a deadlock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DATABASE_NAME",
    "MIGRATIONS",
    "DatabaseError",
    "Migration",
    "latest_version",
    "open_database",
    "schema_version",
    "transaction",
]

DATABASE_NAME = "missedcall.db"
BUSY_TIMEOUT_SECONDS = 5.0


class DatabaseError(Exception):
    """The database file cannot be used by this version of missedcall."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    sql: str


# One ordered list for the whole database.  Other modules (the outbox, …) add
# their tables by appending a migration here with the next version number;
# a migration that has shipped is never edited, only followed by another.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "decisions, notifications, logons and the journal",
        """
        CREATE TABLE decisions (
            call_id TEXT PRIMARY KEY,
            decided_at REAL NOT NULL,
            record_json TEXT NOT NULL,
            decision_json TEXT NOT NULL
        );
        CREATE TABLE notifications (
            channel TEXT NOT NULL CHECK (channel IN ('email', 'journal')),
            call_id TEXT NOT NULL REFERENCES decisions (call_id),
            user_id TEXT NOT NULL,
            number TEXT NOT NULL,
            at REAL NOT NULL,
            UNIQUE (channel, call_id, user_id)
        );
        CREATE INDEX notifications_history ON notifications (user_id, channel, number, at);
        CREATE TABLE logons (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            logged_on_at REAL NOT NULL,
            logged_off_at REAL CHECK (logged_off_at IS NULL OR logged_off_at >= logged_on_at),
            via TEXT NOT NULL CHECK (via IN ('web', 'client', 'api'))
        );
        CREATE INDEX logons_by_user ON logons (user_id, logged_on_at);
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES decisions (call_id),
            user_id TEXT NOT NULL,
            line TEXT NOT NULL,
            number TEXT NOT NULL,
            caller_number TEXT NOT NULL,
            caller_name TEXT,
            started_at REAL NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
            created_at REAL NOT NULL,
            done_at REAL,
            done_by TEXT CHECK (done_by IN ('callback', 'hand')),
            UNIQUE (call_id, user_id),
            CHECK ((state = 'open') = (done_at IS NULL AND done_by IS NULL))
        );
        CREATE INDEX journal_by_user ON journal (user_id, state, created_at);
        CREATE INDEX journal_by_state ON journal (state, created_at);
        CREATE INDEX journal_open_by_number ON journal (user_id, number, created_at)
            WHERE state = 'open';
        """,
    ),
    # -- outbox (missedcall.outbox.store) -----------------------------------
    Migration(
        2,
        "the outbox: one mail per call and user, delivered by the server or the user's client",
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            call_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            dispatch TEXT NOT NULL CHECK (dispatch IN ('server', 'client')),
            envelope_from TEXT NOT NULL,
            envelope_to TEXT NOT NULL,
            message_id TEXT NOT NULL,
            data BLOB NOT NULL,
            state TEXT NOT NULL DEFAULT 'queued' CHECK (
                state IN ('queued', 'sending', 'sent', 'retry', 'failed', 'set_aside')
            ),
            queued_at REAL NOT NULL,
            changed_at REAL NOT NULL,
            first_attempt_at REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            recoveries INTEGER NOT NULL DEFAULT 0,
            retry_at REAL,
            reply_code INTEGER,
            reply TEXT,
            accepted_to TEXT NOT NULL DEFAULT '[]',
            refused TEXT NOT NULL DEFAULT '[]',
            UNIQUE (call_id, user_id),
            CHECK ((state = 'retry') = (retry_at IS NOT NULL))
        );
        CREATE INDEX outbox_queued ON outbox (dispatch, id) WHERE state = 'queued';
        CREATE INDEX outbox_retry ON outbox (retry_at) WHERE state = 'retry';
        CREATE INDEX outbox_by_state ON outbox (state, id);
        CREATE INDEX outbox_by_user ON outbox (user_id, state, id);
        """,
    ),
    # -- the API (missedcall.auth, missedcall.overrides) --------------------
    Migration(
        3,
        "API sessions and tokens, settings changed at run time, users' own choices, calls by user",
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
            via TEXT NOT NULL CHECK (via IN ('web', 'client', 'api')),
            csrf_token TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        );
        CREATE INDEX sessions_by_expiry ON sessions (expires_at);
        CREATE INDEX sessions_by_account ON sessions (account, via);
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_used_at REAL,
            revoked_at REAL
        );
        CREATE TABLE settings_overrides (
            key TEXT PRIMARY KEY,
            value_json TEXT NOT NULL,
            changed_at REAL NOT NULL,
            changed_by TEXT NOT NULL
        );
        CREATE TABLE user_overrides (
            user_id TEXT NOT NULL,
            key TEXT NOT NULL CHECK (key IN ('notify', 'language', 'when')),
            value_json TEXT NOT NULL,
            changed_at REAL NOT NULL,
            changed_by TEXT NOT NULL,
            PRIMARY KEY (user_id, key)
        );
        CREATE TABLE call_users (
            call_id TEXT NOT NULL REFERENCES decisions (call_id),
            user_id TEXT NOT NULL,
            decided_at REAL NOT NULL,
            UNIQUE (user_id, call_id)
        );
        CREATE INDEX call_users_recent ON call_users (user_id, decided_at);
        INSERT OR IGNORE INTO call_users (call_id, user_id, decided_at)
            SELECT d.call_id, json_extract(named.value, '$.user'), d.decided_at
            FROM decisions AS d, json_each(d.decision_json, '$.email') AS named
            UNION ALL
            SELECT d.call_id, json_extract(named.value, '$.user'), d.decided_at
            FROM decisions AS d, json_each(d.decision_json, '$.journal') AS named
            UNION ALL
            SELECT d.call_id, json_extract(named.value, '$.user'), d.decided_at
            FROM decisions AS d, json_each(d.decision_json, '$.skipped') AS named
            WHERE json_extract(named.value, '$.user') IS NOT NULL;
        """,
    ),
    # -- retention (missedcall.retention) ------------------------------------
    Migration(
        4,
        "indexes for forgetting old calls and mails: by age, and on the calls' child rows",
        """
        CREATE INDEX decisions_by_time ON decisions (decided_at, call_id);
        CREATE INDEX notifications_by_call ON notifications (call_id);
        CREATE INDEX call_users_by_call ON call_users (call_id);
        CREATE INDEX outbox_finished ON outbox (changed_at) WHERE state IN ('sent', 'failed');
        """,
    ),
)


def latest_version() -> int:
    return MIGRATIONS[-1].version


def open_database(path: str | Path) -> sqlite3.Connection:
    """Open (creating it and its folder if need be) and migrate the database at ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    except (OSError, sqlite3.Error) as error:
        raise DatabaseError(f"{path}: cannot open the database: {error}") from error
    try:
        _configure(connection)
        _migrate(connection, path)
    except sqlite3.Error as error:
        connection.close()
        raise DatabaseError(f"{path}: {error}") from error
    except DatabaseError:
        connection.close()
        raise
    return connection


def _configure(connection: sqlite3.Connection) -> None:
    _use_wal(connection)
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")
    # Every write of a group commit runs in a savepoint, whose undo journal SQLite
    # otherwise spills to a temporary file past 64 kB: two writes a page, for nothing.
    connection.execute("PRAGMA temp_store = MEMORY")


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch a new file to WAL, waiting for another process doing the same.

    SQLite reports a concurrent switch as busy at once, without waiting for
    the busy timeout, so the wait is here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            busy = (error.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Everything inside happens, or nothing does; the write lock is taken at once.

    Inside a transaction already, the work joins it, and a failure goes up to
    whoever opened it: a group commit, which runs each writer's work in a
    savepoint of its own and undoes all of it (a savepoint for every store
    call within would cost more statements than the calls themselves).
    """
    if connection.in_transaction:
        yield connection
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        if connection.in_transaction:  # SQLite may have rolled back already
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _migrate(connection: sqlite3.Connection, path: str | Path) -> None:
    """Apply the migrations this database lacks, one transaction each.

    The version is read again under the write lock: another process may have
    migrated the file meanwhile.
    """
    found = schema_version(connection)
    _refuse_newer(found, path)
    if found == latest_version():
        return
    for migration in MIGRATIONS:
        with transaction(connection):
            connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                " description TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            found = schema_version(connection)
            _refuse_newer(found, path)
            if found < migration.version:
                _apply(connection, migration)


def _apply(connection: sqlite3.Connection, migration: Migration) -> None:
    for statement in _statements(migration.sql):
        connection.execute(statement)
    connection.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.description, time.time()),
    )


def schema_version(connection: sqlite3.Connection) -> int:
    """The last migration applied; 0 for a new file."""
    table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if table is None:
        return 0
    row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def _refuse_newer(found: int, path: str | Path) -> None:
    known = latest_version()
    if found > known:
        raise DatabaseError(
            f"{path}: the database is at schema version {found}, but this missedcall "
            f"knows versions up to {known}; it was written by a newer missedcall"
        )


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (``execute`` runs one at a time)."""
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending.strip()[:60]!r}")
    return statements
