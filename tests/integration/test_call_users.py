"""Which calls concern which user: kept with every decision, and filled in for decisions made
before the table existed (migration 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from missedcall import db
from missedcall.calls.record import Caller, CallRecord, Participant
from missedcall.journal.store import StateStore
from missedcall.rules.decision import Decision, Skip, Target


def record(call_id: str, ended_at: float) -> CallRecord:
    return CallRecord(
        call_id=call_id,
        started_at=ended_at - 20,
        ended_at=ended_at,
        caller=Caller("+49891234567", "Jane", "allowed"),
        dialed="201",
        direction="inbound",
        participants=(Participant("201", ended_at - 20, ended_at - 20, 20),),
        answered_by=None,
    )


DECISION = Decision(
    "c1",
    email=(Target("anna", "201", "anna@example.com"),),
    journal=(Target("bernd", "202"),),
    skipped=(Skip("email", "carla", "203", "opted_out"), Skip("journal", None, None, "short_ring")),
)


NAMED = [("c1", "anna"), ("c1", "bernd"), ("c1", "carla")]


def test_recent_decisions_of_a_user_are_those_that_name_him(tmp_path: Path) -> None:
    connection = db.open_database(tmp_path / "missedcall.db")
    store = StateStore(connection)
    store.record_decision(record("c1", 100.0), DECISION, "+49891234567")
    store.record_decision(record("c2", 200.0), Decision("c2"), "+49891234567")
    assert [r["call_id"] for r, _ in store.recent_decisions()] == ["c2", "c1"]
    for user in ("anna", "bernd", "carla"):
        assert [d["call_id"] for _, d in store.recent_decisions(user)] == ["c1"]
        assert store.concerns("c1", user)
    assert store.recent_decisions("dora") == [] and not store.concerns("c1", "dora")
    connection.close()


def test_the_migration_fills_in_the_decisions_made_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "missedcall.db"
    with monkeypatch.context() as before:
        before.setattr(db, "MIGRATIONS", db.MIGRATIONS[:2])
        old = db.open_database(path)
        old.execute(
            "INSERT INTO decisions VALUES ('c1', 100.0, ?, ?)",
            (json.dumps(record("c1", 100.0).to_json()), json.dumps(DECISION.to_json())),
        )
        old.close()
    connection = db.open_database(path)
    rows = connection.execute("SELECT call_id, user_id, decided_at FROM call_users ORDER BY 2")
    assert rows.fetchall() == [
        ("c1", "anna", 100.0),
        ("c1", "bernd", 100.0),
        ("c1", "carla", 100.0),
    ]
    connection.close()
