"""`missedcall decide` over the real recordings, as an administrator runs it.

Expected verdicts are written by hand from the manifest and SPEC §5/§6.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.pbx import Pbx

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk"
LAB_CONFIG = (FIXTURES / "config.toml").read_text()
TRACES = [str(p) for p in sorted(FIXTURES.glob("*.ami"))]
SCENARIOS = [
    "missed-direct", "answered-direct", "ringgroup-missed", "ringgroup-answered",
    "huntgroup-missed", "queue-rrmemory-missed", "cf-unconditional-missed",
    "cf-noanswer-missed", "directed-pickup", "short-ring", "anonymous-missed",
    "internal-missed", "busy", "voicemail", "parallel-mobile",
]  # fmt: skip
EVERYONE = ["anna", "bernd", "carla"]
DEFAULT_EMAIL = {
    "missed-direct": ["anna"],
    "ringgroup-missed": EVERYONE,
    "huntgroup-missed": EVERYONE,
    "queue-rrmemory-missed": EVERYONE,
    "cf-unconditional-missed": ["bernd"],
    "cf-noanswer-missed": ["anna", "bernd"],
    "voicemail": ["anna"],
    "parallel-mobile": ["anna"],
}
DEFAULT_JOURNAL = {
    "missed-direct": ["anna"],
    "ringgroup-missed": EVERYONE,
    "ringgroup-answered": ["anna", "carla"],
    "huntgroup-missed": EVERYONE,
    "queue-rrmemory-missed": EVERYONE,
    "cf-unconditional-missed": ["bernd"],
    "cf-noanswer-missed": ["anna", "bernd"],
    "directed-pickup": ["anna"],
    "short-ring": ["anna"],
    "anonymous-missed": ["anna"],
    "internal-missed": ["anna"],
    "voicemail": ["anna"],
    "parallel-mobile": ["anna"],
}
SPEC_REASONS = {
    "answered", "policy_none", "not_selected", "opted_out", "no_email", "logged_on",
    "internal_call", "hidden_number", "no_contact", "repeated_same_day",
    "repeated_until_logon", "short_ring", "excluded_number",
}  # fmt: skip


def decide(config: Path, *traces: str, state: Path | None = None) -> list[dict[str, object]]:
    command = [sys.executable, "-m", "missedcall.cli", "decide", "--config", str(config)]
    if state is not None:
        command += ["--state", str(state)]
    result = subprocess.run(
        [*command, *traces], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def users(decision: dict[str, object], channel: str) -> list[str]:
    return [str(t["user"]) for t in decision[channel]]  # type: ignore[attr-defined]


def write_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "missedcall.toml"
    config.write_text(extra + "\n" + LAB_CONFIG)
    return config


def test_lab_config_decides_every_recorded_call_as_the_spec_says(tmp_path: Path) -> None:
    decisions = decide(write_config(tmp_path), *TRACES)
    assert len(decisions) == len(SCENARIOS)
    for scenario, decision in zip(SCENARIOS, decisions, strict=True):
        assert users(decision, "email") == DEFAULT_EMAIL.get(scenario, []), scenario
        assert users(decision, "journal") == DEFAULT_JOURNAL.get(scenario, []), scenario
        for target in decision["email"]:  # type: ignore[attr-defined]
            assert target["to"] == f"{target['user']}@example.com"


def test_every_skip_names_its_channel_and_a_spec_reason(tmp_path: Path) -> None:
    by_scenario = dict(zip(SCENARIOS, decide(write_config(tmp_path), *TRACES), strict=True))
    for decision in by_scenario.values():
        for skip in decision["skipped"]:  # type: ignore[attr-defined]
            assert skip["channel"] in ("email", "journal")
            assert skip["reason"] in SPEC_REASONS
    assert by_scenario["short-ring"]["skipped"] == [
        {"channel": "email", "user": None, "line": None, "reason": "short_ring"}
    ]
    assert by_scenario["internal-missed"]["skipped"] == [
        {"channel": "email", "user": None, "line": None, "reason": "internal_call"}
    ]
    assert {"channel": "email", "user": "bernd", "line": "202", "reason": "answered"} in (
        by_scenario["ringgroup-answered"]["skipped"]  # type: ignore[operator]
    )


def test_another_policy_with_history_within_one_run(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '[notify]\nrecipients = "first"\nwhen_answered_elsewhere = true\n'
        "[notify.exceptions]\ninternal_calls = false\nhidden_number = false\n"
        "min_ring_seconds = 0\nrepeated_same_day = true\n",
    )
    decisions = dict(zip(SCENARIOS, decide(config, *TRACES), strict=True))
    mailed = {name: users(d, "email") for name, d in decisions.items() if users(d, "email")}
    # Anna is mailed once for +49891234567; bernd once (only he rang for the forward);
    # the anonymous and the internal caller are other numbers.
    assert mailed == {
        "missed-direct": ["anna"],
        "cf-unconditional-missed": ["bernd"],
        "anonymous-missed": ["anna"],
        "internal-missed": ["anna"],
    }
    ringgroup = {s["user"]: s["reason"] for s in decisions["ringgroup-missed"]["skipped"]}  # type: ignore[attr-defined]
    assert ringgroup == {
        "anna": "repeated_same_day",
        "bernd": "not_selected",
        "carla": "not_selected",
    }


def test_deciding_the_same_trace_twice_with_state_notifies_nobody_twice(tmp_path: Path) -> None:
    config, state = write_config(tmp_path), tmp_path / "state.db"
    first = decide(config, *TRACES, state=state)
    second = decide(config, *TRACES, state=state)
    assert sum(len(d["email"]) for d in first) == 15  # type: ignore[arg-type]
    for before, after in zip(first, second, strict=True):
        assert after["email"] == [] and after["journal"] == []
        served = {(t["user"], "email") for t in before["email"]} | {  # type: ignore[attr-defined]
            (t["user"], "journal")
            for t in before["journal"]  # type: ignore[attr-defined]
        }
        again = {
            (s["user"], s["channel"])
            for s in after["skipped"]  # type: ignore[attr-defined]
            if s["reason"] == "already_notified"
        }
        assert again == served


def test_history_in_state_persists_across_runs(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[notify.exceptions]\nrepeated_same_day = true\n")
    state = tmp_path / "state.db"
    decide(config, TRACES[0], state=state)  # anna mailed for +49891234567
    later = decide(config, str(FIXTURES / "20-voicemail.ami"), state=state)
    assert later[0]["email"] == []
    assert later[0]["skipped"][0]["reason"] == "repeated_same_day"  # type: ignore[index]


def callback_trace(tmp_path: Path) -> Path:
    """Anna's desk phone calls the missed caller back (a later, synthetic call)."""
    pbx = Pbx()
    anna = pbx.channel("PJSIP/201", caller="201", name="Anna Alpha", exten="0891234567")
    out = pbx.dial(anna, "PJSIP/trunk", dialstring="0891234567@trunk")
    pbx.ringing(anna, out)
    pbx.wait(3)
    pbx.answer(anna, out)
    pbx.wait(40)
    pbx.hangup(out, anna)
    trace = tmp_path / "callback.ami"
    trace.write_bytes(b"".join(m.encode() for m in pbx.messages))
    return trace


def test_calling_the_number_back_closes_the_users_journal_entries(tmp_path: Path) -> None:
    config, state = write_config(tmp_path), tmp_path / "state.db"
    decide(config, TRACES[0], str(FIXTURES / "03-ringgroup-missed.ami"), state=state)
    outbound = decide(config, str(callback_trace(tmp_path)), state=state)
    assert outbound == [
        {"call_id": outbound[0]["call_id"], "email": [], "journal": [], "skipped": []}
    ]
    listing = subprocess.run(
        [sys.executable, "-m", "missedcall.cli", "journal", "list", "--state", str(state),
         "--show", "all", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    entries = [json.loads(line) for line in listing.stdout.splitlines()]
    states = {(e["user"], e["call_id"]): (e["state"], e["done_by"]) for e in entries}
    assert states[("anna", "1795849570.0")] == ("done", "callback")
    assert states[("anna", "1795849613.8")] == ("done", "callback")
    assert states[("bernd", "1795849613.8")] == ("open", None)  # only anna called back


def test_an_invalid_config_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[notify]\nrecipients = "every"\n')
    result = subprocess.run(
        [sys.executable, "-m", "missedcall.cli", "decide", "--config", str(config), TRACES[0]],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "notify.recipients: must be one of none, first, last, all; got 'every'" in result.stderr
