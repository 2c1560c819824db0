"""``missedcall journal list|done``: the journal of unanswered calls, from a terminal.

The database is ``<server.data_dir>/missedcall.db`` of the configuration, or the
file given with ``--state``.  Exit codes: 0 done, 1 the journal cannot do it
(no database, no such entry), 2 the command line or configuration is wrong.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime, tzinfo
from pathlib import Path

from missedcall.config import Config, ConfigError, load_config
from missedcall.db import DATABASE_NAME, DatabaseError, open_database
from missedcall.journal.entries import EntryState, JournalEntry
from missedcall.journal.store import StateStore

__all__ = ["LIST_LIMIT", "run_done", "run_list"]

LIST_LIMIT = 100
_HEADINGS = ("ID", "STATE", "CALL", "USER", "LINE", "CALLER", "REASON", "DONE")


class _CommandError(Exception):
    """The command cannot go on: the message for the terminal and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run_list(args: argparse.Namespace) -> int:
    """Print the newest journal entries, as a table or as JSON lines."""
    try:
        with _journal(args) as (store, zone):
            state = _state_filter(args.state_filter)
            entries = store.journal_entries(args.user, state, LIST_LIMIT + 1)
    except _CommandError as error:
        return _report("list", error)
    shown = entries[:LIST_LIMIT]
    if args.json:
        sys.stdout.writelines(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in shown)
    else:
        print(_table(shown, zone) if shown else "no journal entries")
    if len(entries) > LIST_LIMIT:
        print(f"(the newest {LIST_LIMIT} entries shown)", file=sys.stderr)
    return 0


def run_done(args: argparse.Namespace) -> int:
    """Mark one journal entry done by hand."""
    try:
        entry_id = _entry_id(args.entry_id)
        with _journal(args) as (store, zone):
            message = _mark_done(store, entry_id, zone)
    except _CommandError as error:
        return _report("done", error)
    print(message)
    return 0


def _mark_done(store: StateStore, entry_id: int, zone: tzinfo | None) -> str:
    entry = store.journal_entry(entry_id)
    if entry is None:
        raise _CommandError(f"no journal entry {entry_id}", 1)
    if store.mark_done(entry_id, time.time(), "hand"):
        return f"entry {entry_id} done: {_summary(entry, zone)}"
    return f"entry {entry_id} was already done: {_summary(entry, zone)}"


def _report(command: str, error: _CommandError) -> int:
    print(f"missedcall journal {command}: {error}", file=sys.stderr)
    return error.code


@contextmanager
def _journal(args: argparse.Namespace) -> Iterator[tuple[StateStore, tzinfo | None]]:
    """The store of the configured (or given) database, and the zone to show times in."""
    config = _config(args.config)
    zone = config.server.zone if config else None
    if args.state:
        path = Path(args.state)
    elif config:
        path = config.server.data_dir / DATABASE_NAME
    else:
        raise _CommandError("give the configuration (--config FILE) or database (--state DB)", 2)
    if not path.is_file():
        raise _CommandError(f"{path}: no database here; has missedcall run with it?", 1)
    try:
        with closing(open_database(path)) as connection:
            yield StateStore(connection), zone
    except DatabaseError as error:
        raise _CommandError(str(error), 1) from error
    except sqlite3.Error as error:
        raise _CommandError(f"{path}: {error}", 1) from error


def _config(path: str | None) -> Config | None:
    if path is None:
        return None
    try:
        return load_config(path)
    except ConfigError as error:
        raise _CommandError(f"{path}: invalid configuration:\n{error}", 2) from error


def _state_filter(value: str | None) -> EntryState | None:
    """``open`` (the default), ``done``, or ``all`` (None: either)."""
    if value in (None, "open"):
        return "open"
    if value == "done":
        return "done"
    if value == "all":
        return None
    raise _CommandError(f"--state must be open, done or all; got {value!r}", 2)


def _entry_id(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise _CommandError(f"ENTRY_ID must be a number; got {value!r}", 2) from None


# ---------------------------------------------------------------------------
# Text for the terminal


def _table(entries: Sequence[JournalEntry], zone: tzinfo | None) -> str:
    rows = [_HEADINGS, *(_row(entry, zone) for entry in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADINGS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _row(entry: JournalEntry, zone: tzinfo | None) -> tuple[str, ...]:
    done = f"{entry.done_by} {_time(entry.done_at, zone)}" if entry.done_at is not None else ""
    return (
        str(entry.id),
        entry.state,
        _time(entry.started_at, zone),
        _printable(entry.user),
        _printable(entry.line),
        _caller(entry),
        entry.reason,
        done,
    )


def _summary(entry: JournalEntry, zone: tzinfo | None) -> str:
    return (
        f"call from {_caller(entry)} at {_time(entry.started_at, zone)} "
        f"for {_printable(entry.user)} (line {_printable(entry.line)})"
    )


def _caller(entry: JournalEntry) -> str:
    number = entry.caller_number or "unknown number"
    caller = f"{entry.caller_name} <{number}>" if entry.caller_name else number
    return _printable(caller)


def _time(moment: float, zone: tzinfo | None) -> str:
    return datetime.fromtimestamp(moment, zone).strftime("%Y-%m-%d %H:%M:%S")


def _printable(text: str) -> str:
    """Caller names come from outside: no escape sequences or line breaks reach the terminal."""
    return "".join("?" if unicodedata.category(c).startswith("C") else c for c in text)
