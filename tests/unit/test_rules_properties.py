"""Properties of the rules that hold for any call and any policy (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from missedcall.calls.record import Caller, CallRecord, Participant, Pickup
from missedcall.config import Config, load_config
from missedcall.directory.users import Directory
from missedcall.rules import Decision, Judge, Policy

CONFIG = load_config(Path(__file__).parents[1] / "fixtures" / "asterisk" / "config.toml")
LINES = ["201", "202", "203", "204", "205", "299"]  # 299 has no user
START = 1_800_000_000.0


@st.composite
def records(draw: st.DrawFn) -> CallRecord:
    lines = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=5, unique=True))
    participants = []
    for line in lines:
        first = START + draw(st.floats(0, 60))
        last = first + draw(st.floats(0, 30))
        answered = draw(st.one_of(st.none(), st.floats(0, 20).map(lambda d, f=last: f + d)))
        participants.append(Participant(line, first, last, draw(st.floats(0, 90)), answered))
    pickup = None
    if draw(st.booleans()) and not any(p.answered for p in participants):
        pickup = Pickup("204", participants[0].line, participants[0].first_alert_at + 1)
    number = draw(st.sampled_from(["+49891234567", "+4930999888", "0891234567", "", "202"]))
    return CallRecord(
        call_id=str(draw(st.integers(1, 10**6))),
        started_at=START,
        ended_at=START + 200,
        caller=Caller(number, None, draw(st.sampled_from(["allowed", "allowed", "restricted"]))),
        dialed="+4930555201",
        direction=draw(st.sampled_from(["inbound", "inbound", "internal"])),
        participants=tuple(participants),
        answered_by=None,
        pickup=pickup,
    )


policies = st.builds(
    Policy,
    recipients=st.sampled_from(["none", "first", "last", "all"]),
    when_answered_elsewhere=st.booleans(),
    internal_calls=st.booleans(),
    hidden_number=st.booleans(),
    min_ring_seconds=st.sampled_from([0.0, 2.0, 30.0]),
)


@st.composite
def configs(draw: st.DrawFn) -> Config:
    users = tuple(
        u.model_copy(
            update={"notify": draw(st.booleans()), "email": draw(st.sampled_from([u.email, None]))}
        )
        for u in CONFIG.users
    )
    return CONFIG.model_copy(update={"users": users})


def decide(record: CallRecord, policy: Policy, config: Config = CONFIG) -> Decision:
    directory = Directory.from_config(config)
    return Judge(policy, policy, directory, directory.numbering, ZoneInfo("UTC")).decide(record)


def mailed(decision: Decision) -> set[str]:
    return {t.user for t in decision.email}


@settings(max_examples=300)
@given(records(), policies, configs())
def test_at_most_one_mail_and_one_verdict_per_user_per_call(
    record: CallRecord, policy: Policy, config: Config
) -> None:
    decision = decide(record, policy, config)
    users = [t.user for t in decision.email]
    assert len(users) == len(set(users))
    skipped = [s.user for s in decision.skipped if s.channel == "email"]
    assert len(skipped) == len(set(skipped))
    assert not set(users) & set(skipped)


@settings(max_examples=300)
@given(records(), policies, configs())
def test_first_and_last_pick_a_single_user_among_those_all_would_mail(
    record: CallRecord, policy: Policy, config: Config
) -> None:
    everyone = mailed(decide(record, replace(policy, recipients="all"), config))
    for choice in ("first", "last"):
        chosen = mailed(decide(record, replace(policy, recipients=choice), config))
        assert chosen <= everyone
        assert len(chosen) <= 1


@settings(max_examples=200)
@given(records(), policies, configs())
def test_none_mails_nobody(record: CallRecord, policy: Policy, config: Config) -> None:
    assert decide(record, replace(policy, recipients="none"), config).email == ()


@settings(max_examples=300)
@given(records(), policies)
def test_an_answered_call_mails_nobody_unless_answered_elsewhere_is_wanted(
    record: CallRecord, policy: Policy
) -> None:
    answer_times = [p.answered_at for p in record.participants if p.answered_at is not None]
    if record.pickup is not None:
        answer_times.append(record.pickup.at)
    if not answer_times or policy.when_answered_elsewhere:
        return
    first_answer = min(answer_times)
    decision = decide(record, policy)
    for target in decision.email:
        participant = record.participant(target.line)
        assert participant is not None
        # only someone whose phone started ringing after the last answer may be mailed
        assert participant.first_alert_at > first_answer
        assert all(at < participant.first_alert_at for at in answer_times)


@settings(max_examples=300)
@given(records(), policies, st.sampled_from(["anna", "bernd", "carla", "dora", "emil"]))
def test_a_skipped_user_never_shifts_the_mail_to_someone_else(
    record: CallRecord, policy: Policy, user: str
) -> None:
    before = mailed(decide(record, policy))
    users = tuple(
        u.model_copy(update={"notify": False}) if u.id == user else u for u in CONFIG.users
    )
    after = mailed(decide(record, policy, CONFIG.model_copy(update={"users": users})))
    assert after == before - {user}
