"""`missedcall journal list|done` on a real database: what an administrator sees,
and a clear message and exit code for every way it can go wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from missedcall.calls.record import Caller, CallRecord, Participant
from missedcall.db import open_database
from missedcall.journal.store import StateStore
from missedcall.rules.decision import Decision, Target

JANE = "+49891234567"
CALL_AT = 1_795_849_570.0  # 2026-11-28 07:06:10 UTC


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "missedcall.cli", "journal", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def missed(
    database: Path, call_id: str, started_at: float, name: str, users: tuple[str, ...]
) -> None:
    """Put a call from Jane that ``users`` missed into the journal."""
    lines = {"anna": "201", "bernd": "203"}
    record = CallRecord(
        call_id=call_id,
        started_at=started_at,
        ended_at=started_at + 20,
        caller=Caller(JANE, name, "allowed"),
        dialed="4930555600",
        direction="inbound",
        participants=tuple(Participant(lines[u], started_at, started_at, 20.0) for u in users),
        answered_by=None,
    )
    targets = tuple(Target(u, lines[u]) for u in users)
    connection = open_database(database)
    StateStore(connection).record_decision(record, Decision(call_id, journal=targets), JANE)
    connection.close()


@pytest.fixture(autouse=True)
def journal(tmp_path: Path) -> Path:
    """A configuration whose data_dir holds a journal: anna and bernd missed two calls."""
    database = tmp_path / "data" / "missedcall.db"
    missed(database, "1.1", CALL_AT, "Jane Doe", ("anna", "bernd"))
    missed(database, "1.2", CALL_AT + 3600, "Jane\x1b[31m Doe\nX", ("anna",))
    config = tmp_path / "missedcall.toml"
    config.write_text('[server]\ndata_dir = "data"\ntimezone = "UTC"\n', encoding="utf-8")
    return config


def test_list_shows_the_open_entries_newest_first_as_a_table(journal: Path) -> None:
    result = run("list", "--config", str(journal))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATE", "CALL", "USER", "LINE", "CALLER", "REASON", "DONE"]
    assert [line.split()[:6] for line in lines[1:]] == [
        ["3", "open", "2026-11-28", "08:06:10", "anna", "201"],
        ["2", "open", "2026-11-28", "07:06:10", "bernd", "203"],
        ["1", "open", "2026-11-28", "07:06:10", "anna", "201"],
    ]
    assert "Jane Doe <+49891234567>" in lines[2]
    assert lines[2].split()[-1] == "missed"


def test_caller_names_cannot_put_control_characters_on_the_terminal(journal: Path) -> None:
    result = run("list", "--config", str(journal))
    assert "\x1b" not in result.stdout
    assert "Jane?[31m Doe?X <+49891234567>" in result.stdout
    assert len(result.stdout.splitlines()) == 4


def test_list_by_user_and_state(journal: Path) -> None:
    run("done", "--config", str(journal), "1")
    done = run("list", "--config", str(journal), "--show", "done")
    assert [line.split()[:2] for line in done.stdout.splitlines()[1:]] == [["1", "done"]]
    assert "hand 2" in done.stdout  # done by hand, and when
    every = run("list", "--config", str(journal), "--state-filter", "all", "--user", "anna")
    assert [line.split()[0] for line in every.stdout.splitlines()[1:]] == ["3", "1"]
    nobody = run("list", "--config", str(journal), "--user", "carl")
    assert (nobody.returncode, nobody.stdout) == (0, "no journal entries\n")


def test_list_as_json_lines(journal: Path) -> None:
    result = run("list", "--config", str(journal), "--json", "--user", "bernd")
    assert result.returncode == 0, result.stderr
    [entry] = [json.loads(line) for line in result.stdout.splitlines()]
    assert entry == {
        "id": 2,
        "call_id": "1.1",
        "user": "bernd",
        "line": "203",
        "number": JANE,
        "caller": {"number": JANE, "name": "Jane Doe"},
        "started_at": "2026-11-28T07:06:10.000+00:00",
        "reason": "missed",
        "state": "open",
        "created_at": "2026-11-28T07:06:30.000+00:00",
        "done_at": None,
        "done_by": None,
    }


def test_the_database_can_be_named_instead_of_the_configuration(journal: Path) -> None:
    result = run("list", "--state", str(journal.parent / "data" / "missedcall.db"), "--json")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_done_marks_an_entry_done_by_hand_once(journal: Path) -> None:
    first = run("done", "--config", str(journal), "2")
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "entry 2 done: call from Jane Doe <+49891234567> at 2026-11-28 07:06:10 "
        "for bernd (line 203)\n"
    )
    again = run("done", "--config", str(journal), "2")
    assert again.returncode == 0
    assert again.stdout.startswith("entry 2 was already done: ")
    listed = run("list", "--config", str(journal), "--json", "--show", "all", "--user", "bernd")
    assert json.loads(listed.stdout)["done_by"] == "hand"


def test_done_with_an_unknown_entry_fails_with_exit_1(journal: Path) -> None:
    result = run("done", "--config", str(journal), "99")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "missedcall journal done: no journal entry 99\n"


def test_done_with_an_id_that_is_not_a_number_fails_with_exit_2(journal: Path) -> None:
    result = run("done", "--config", str(journal), "first")
    assert result.returncode == 2
    assert "ENTRY_ID must be a number; got 'first'" in result.stderr


def test_a_missing_database_is_reported_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "missedcall.db"
    result = run("list", "--state", str(missing))
    assert result.returncode == 1
    assert f"{missing}: no database here" in result.stderr
    assert not missing.parent.exists()


def test_without_configuration_or_database_the_command_says_what_it_needs() -> None:
    result = run("list")
    assert result.returncode == 2
    assert "--config FILE" in result.stderr and "--state DB" in result.stderr


def test_an_invalid_configuration_is_reported_by_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[server]\ndata_dir = "data"\ncolour = "blue"\n', encoding="utf-8")
    result = run("list", "--config", str(config))
    assert result.returncode == 2
    assert "server.colour: unknown key" in result.stderr
