"""`missedcall calls` on the real Asterisk recordings prints the expected records.

Expectations come from tests/fixtures/asterisk/expected-calls.jsonl, written from
what really happened on the lab PBX.  Its README sets the tolerances: times
within about 50 ms, ring_seconds within 0.1 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk"
CONFIG = FIXTURES / "config.toml"
TRACES = sorted(FIXTURES.glob("*.ami"))
EXPECTED = [
    json.loads(line) for line in (FIXTURES / "expected-calls.jsonl").read_text().splitlines()
]
TIME_TOLERANCE = 0.05
RING_TOLERANCE = 0.1


def run_calls(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "missedcall.cli", "calls", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def differences(expected: object, got: object, path: str = "") -> list[str]:
    """Where ``got`` departs from ``expected``; keys ``got`` adds are welcome."""
    if isinstance(expected, dict):
        return _object_differences(expected, got, path)
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return [f"{path}: expected {expected!r}, got {got!r}"]
        pairs = zip(expected, got, strict=True)
        return [p for i, (e, g) in enumerate(pairs) for p in differences(e, g, f"{path}[{i}]")]
    if isinstance(expected, str) and path.endswith(("_at", ".at")):
        same = isinstance(got, str) and _seconds_apart(expected, got) <= TIME_TOLERANCE
    elif isinstance(expected, float):
        same = isinstance(got, int | float) and abs(expected - got) <= RING_TOLERANCE
    else:
        same = expected == got
    return [] if same else [f"{path}: expected {expected!r}, got {got!r}"]


def _object_differences(expected: dict[str, object], got: object, path: str) -> list[str]:
    if not isinstance(got, dict):
        return [f"{path}: expected an object, got {got!r}"]
    problems = []
    for key, value in expected.items():
        if key == "scenario":
            continue  # a label of the expectations file, not a record field
        if key not in got:
            problems.append(f"{path}.{key}: missing")
        else:
            problems.extend(differences(value, got[key], f"{path}.{key}"))
    return problems


def _seconds_apart(first: str, second: str) -> float:
    return abs(
        datetime.fromisoformat(first).timestamp() - datetime.fromisoformat(second).timestamp()
    )


def expected_for(trace: Path) -> list[dict[str, object]]:
    scenario = trace.stem.split("-", 1)[1]
    return [e for e in EXPECTED if e["scenario"] == scenario]


@pytest.mark.parametrize("trace", TRACES, ids=lambda t: t.stem)
def test_each_recorded_scenario_gives_exactly_its_expected_calls(trace: Path) -> None:
    result = run_calls("--config", str(CONFIG), str(trace))
    assert result.returncode == 0, result.stderr
    got = [json.loads(line) for line in result.stdout.splitlines()]
    expected = expected_for(trace)
    assert len(got) == len(expected), result.stdout
    for want, have in zip(expected, got, strict=True):
        assert differences(want, have) == [], json.dumps(have, indent=1)


def test_all_recordings_in_one_run_print_every_call_in_order_of_call_end() -> None:
    result = run_calls("--config", str(CONFIG), *map(str, TRACES))
    assert result.returncode == 0, result.stderr
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [g["call_id"] for g in got] == [e["call_id"] for e in EXPECTED]
    ended = [datetime.fromisoformat(str(g["ended_at"])) for g in got]
    assert ended == sorted(ended)
    for want, have in zip(EXPECTED, got, strict=True):
        assert differences(want, have) == []


def test_records_use_exactly_the_spec_field_names() -> None:
    result = run_calls("--config", str(CONFIG), str(TRACES[0]))
    record = json.loads(result.stdout.splitlines()[0])
    assert {
        "call_id",
        "started_at",
        "ended_at",
        "caller",
        "dialed",
        "direction",
        "participants",
        "answered_by",
        "pickup",
        "forwards",
        "voicemail",
        "busy",
    } <= set(record)
    assert set(record["caller"]) >= {"number", "name", "presentation"}
    assert set(record["participants"][0]) == {
        "line",
        "first_alert_at",
        "last_alert_at",
        "ring_seconds",
        "answered",
        "answered_at",
    }


def test_a_missing_trace_is_a_clear_error_with_a_nonzero_exit() -> None:
    result = run_calls("/nonexistent/trace.ami")
    assert result.returncode != 0
    assert "/nonexistent/trace.ami" in result.stderr
    assert "cannot read" in result.stderr


def test_a_file_that_is_not_ami_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("just some text\nwithout any frames\n")
    result = run_calls(str(bogus))
    assert result.returncode != 0
    assert "no AMI frames" in result.stderr


def test_an_invalid_config_names_the_key_and_exits_nonzero(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[notify]\nrecipients = "every"\n')
    result = run_calls("--config", str(config), str(TRACES[0]))
    assert result.returncode != 0
    assert "notify.recipients" in result.stderr


def test_a_damaged_frame_is_reported_and_the_calls_around_it_survive(tmp_path: Path) -> None:
    data = TRACES[0].read_bytes()
    cut = data.index(b"Event: Newstate")
    damaged = tmp_path / "damaged.ami"
    damaged.write_bytes(data[:cut] + b"\xff\xfe garbage line without colon\r\n\r\n" + data[cut:])
    result = run_calls("--config", str(CONFIG), str(damaged))
    assert result.returncode == 0
    assert "no 'Key: Value' line" in result.stderr
    assert [json.loads(line)["call_id"] for line in result.stdout.splitlines()] == [
        EXPECTED[0]["call_id"]
    ]
