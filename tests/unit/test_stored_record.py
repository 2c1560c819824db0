"""A call record comes back from its stored JSON as it was (for previews of real calls)."""

from __future__ import annotations

from pathlib import Path

from missedcall.calls.stored import record_from_json
from missedcall.commands.calls import correlate_files
from missedcall.config import load_config
from missedcall.directory.users import Directory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk"


def test_every_recorded_call_survives_the_round_trip_through_json() -> None:
    directory = Directory.from_config(load_config(FIXTURES / "config.toml"))
    records = list(correlate_files(sorted(FIXTURES.glob("*.ami")), directory))
    assert len(records) == 15
    for record in records:
        back = record_from_json(record.to_json(), directory.line_of_number)
        assert back.to_json() == record.to_json()
        if record.answered_at is None:
            assert back.answered_at is None
        else:
            assert back.answered_at is not None
            assert abs(back.answered_at - record.answered_at) < 0.001
        assert back.caller_line == record.caller_line
