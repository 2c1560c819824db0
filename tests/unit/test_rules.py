"""The notification rules on every recorded call, under every policy (SPEC §5, §6).

The expected verdicts are written by hand from the manifest of each recording
and the spec; they are not produced by running the code.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from missedcall.calls.record import CallRecord
from missedcall.commands.calls import correlate_files
from missedcall.config import Config, UserSettings, load_config
from missedcall.directory.users import Directory
from missedcall.rules import Decision, Judge, Policy
from missedcall.rules.decision import Channel

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk"
CONFIG = load_config(FIXTURES / "config.toml")
DIRECTORY = Directory.from_config(CONFIG)
RECORDS = {
    path.stem.split("-", 1)[1]: record
    for path in sorted(FIXTURES.glob("*.ami"))
    for record in correlate_files([path], DIRECTORY)
}
UTC = ZoneInfo("UTC")

# scenario -> recipients -> when_answered_elsewhere -> users mailed (in participant order);
# everyone else who rang is skipped, with the reason in SKIPS below.
MAILED: dict[str, dict[str, dict[bool, list[str]]]] = {
    "missed-direct": {p: {False: ["anna"], True: ["anna"]} for p in ("all", "first", "last")},
    "answered-direct": {p: {False: [], True: []} for p in ("all", "first", "last")},
    "ringgroup-missed": {
        "all": {False: ["anna", "bernd", "carla"], True: ["anna", "bernd", "carla"]},
        "first": {False: ["anna"], True: ["anna"]},  # simultaneous: lowest line first
        "last": {False: ["carla"], True: ["carla"]},  # simultaneous: highest line last
    },
    "ringgroup-answered": {
        "all": {False: [], True: ["anna", "carla"]},
        "first": {False: [], True: ["anna"]},
        "last": {False: [], True: ["carla"]},
    },
    "huntgroup-missed": {
        "all": {False: ["anna", "bernd", "carla"], True: ["anna", "bernd", "carla"]},
        "first": {False: ["anna"], True: ["anna"]},
        "last": {False: ["carla"], True: ["carla"]},
    },
    "queue-rrmemory-missed": {
        "all": {False: ["anna", "bernd", "carla"], True: ["anna", "bernd", "carla"]},
        "first": {False: ["anna"], True: ["anna"]},
        "last": {False: ["bernd"], True: ["bernd"]},  # 202 was the last one rung again
    },
    "cf-unconditional-missed": {
        p: {False: ["bernd"], True: ["bernd"]} for p in ("all", "first", "last")
    },
    "cf-noanswer-missed": {
        "all": {False: ["anna", "bernd"], True: ["anna", "bernd"]},
        "first": {False: ["anna"], True: ["anna"]},
        "last": {False: ["bernd"], True: ["bernd"]},
    },
    "directed-pickup": {p: {False: [], True: ["anna"]} for p in ("all", "first", "last")},
    "short-ring": {p: {False: [], True: []} for p in ("all", "first", "last")},
    "anonymous-missed": {p: {False: [], True: []} for p in ("all", "first", "last")},
    "internal-missed": {p: {False: [], True: []} for p in ("all", "first", "last")},
    "busy": {p: {False: [], True: []} for p in ("all", "first", "last")},
    "voicemail": {p: {False: ["anna"], True: ["anna"]} for p in ("all", "first", "last")},
    "parallel-mobile": {p: {False: ["anna"], True: ["anna"]} for p in ("all", "first", "last")},
}

CALL_LEVEL_SKIP = {
    "short-ring": "short_ring",
    "anonymous-missed": "hidden_number",
    "internal-missed": "internal_call",
}


def judge(email: Policy, journal: Policy | None = None, config: Config = CONFIG) -> Judge:
    directory = Directory.from_config(config)
    return Judge(email, journal or Policy(), directory, directory.numbering, UTC)


def mailed(decision: Decision) -> list[str]:
    return [t.user for t in decision.email]


def skips(decision: Decision, channel: Channel = "email") -> dict[str | None, str]:
    return {s.user: s.reason for s in decision.skipped if s.channel == channel}


CASES = [
    (scenario, recipients, elsewhere)
    for scenario in MAILED
    for recipients in ("all", "first", "last")
    for elsewhere in (False, True)
]


@pytest.mark.parametrize(("scenario", "recipients", "elsewhere"), CASES)
def test_recorded_call_mails_exactly_whom_the_policy_names(
    scenario: str, recipients: str, elsewhere: bool
) -> None:
    policy = Policy(recipients=recipients, when_answered_elsewhere=elsewhere)  # type: ignore[arg-type]
    decision = judge(policy).decide(RECORDS[scenario])
    assert mailed(decision) == MAILED[scenario][recipients][elsewhere]
    assert [t.to for t in decision.email] == [f"{u}@example.com" for u in mailed(decision)]
    reasons = skips(decision)
    if scenario in CALL_LEVEL_SKIP:
        assert reasons == {None: CALL_LEVEL_SKIP[scenario]}
        return
    participants = {DIRECTORY.user_of_line(p.line).id for p in RECORDS[scenario].participants}  # type: ignore[union-attr]
    assert set(reasons) | set(mailed(decision)) == participants
    assert not set(reasons) & set(mailed(decision))


@pytest.mark.parametrize("scenario", sorted(MAILED))
def test_policy_none_mails_nobody_and_says_so_once(scenario: str) -> None:
    decision = judge(Policy(recipients="none")).decide(RECORDS[scenario])
    assert decision.email == ()
    if RECORDS[scenario].participants:
        assert skips(decision) == {None: "policy_none"}


def test_answered_call_skips_the_answerer_and_colleagues_as_answered() -> None:
    decision = judge(Policy()).decide(RECORDS["ringgroup-answered"])
    assert skips(decision) == {"anna": "answered", "bernd": "answered", "carla": "answered"}


def test_first_and_last_skip_the_others_as_not_selected() -> None:
    first = judge(Policy(recipients="first")).decide(RECORDS["huntgroup-missed"])
    assert skips(first) == {"bernd": "not_selected", "carla": "not_selected"}
    last = judge(Policy(recipients="last")).decide(RECORDS["huntgroup-missed"])
    assert skips(last) == {"anna": "not_selected", "bernd": "not_selected"}


def test_a_user_answering_a_picked_up_call_elsewhere_only_counts_when_wanted() -> None:
    strict = judge(Policy()).decide(RECORDS["directed-pickup"])
    assert skips(strict) == {"anna": "answered"}
    lenient = judge(Policy(when_answered_elsewhere=True)).decide(RECORDS["directed-pickup"])
    assert mailed(lenient) == ["anna"]


@pytest.mark.parametrize(
    ("scenario", "exception"),
    [
        ("internal-missed", {"internal_calls": False}),
        ("anonymous-missed", {"hidden_number": False}),
        ("short-ring", {"min_ring_seconds": 0.0}),
        ("short-ring", {"min_ring_seconds": 1.0}),
    ],
)
def test_switching_an_exception_off_lets_the_call_through(
    scenario: str, exception: dict[str, object]
) -> None:
    decision = judge(Policy(**exception)).decide(RECORDS[scenario])  # type: ignore[arg-type]
    assert mailed(decision) == ["anna"]


def test_min_ring_seconds_above_the_ring_time_skips_a_real_missed_call() -> None:
    decision = judge(Policy(min_ring_seconds=25)).decide(RECORDS["missed-direct"])
    assert skips(decision) == {None: "short_ring"}


def test_ring_time_of_an_answered_call_counts_until_the_answer() -> None:
    decision = judge(Policy(min_ring_seconds=3.5, when_answered_elsewhere=True)).decide(
        RECORDS["ringgroup-answered"]  # rang 4 s until 202 answered
    )
    assert mailed(decision) == ["anna", "carla"]
    decision = judge(Policy(min_ring_seconds=4.5, when_answered_elsewhere=True)).decide(
        RECORDS["ringgroup-answered"]
    )
    assert skips(decision) == {None: "short_ring"}


@pytest.mark.parametrize("entry", ["+49891234567", "+4989*", "0891234567", "089*", "00498912*"])
def test_excluded_numbers_match_exactly_or_by_prefix_after_normalisation(entry: str) -> None:
    decision = judge(Policy(excluded_numbers=(entry,))).decide(RECORDS["missed-direct"])
    assert skips(decision) == {None: "excluded_number"}


@pytest.mark.parametrize("entry", ["+49891234568", "+4930*", "299", "+498912345678*"])
def test_excluded_numbers_leave_other_callers_alone(entry: str) -> None:
    decision = judge(Policy(excluded_numbers=(entry,))).decide(RECORDS["missed-direct"])
    assert mailed(decision) == ["anna"]


def test_an_excluded_extension_skips_an_internal_caller() -> None:
    policy = Policy(internal_calls=False, excluded_numbers=("202",))
    assert skips(judge(policy).decide(RECORDS["internal-missed"])) == {None: "excluded_number"}


def test_no_contact_skips_when_contact_search_found_nobody() -> None:
    decision = judge(Policy(no_contact=True)).decide(RECORDS["missed-direct"], contact_found=False)
    assert skips(decision) == {None: "no_contact"}
    found = judge(Policy(no_contact=True)).decide(RECORDS["missed-direct"], contact_found=True)
    assert mailed(found) == ["anna"]


def test_call_level_skips_follow_the_spec_order() -> None:
    everything = Policy(no_contact=True, min_ring_seconds=100, excluded_numbers=("anonymous",))
    record = RECORDS["anonymous-missed"]
    assert skips(judge(everything).decide(record, contact_found=False)) == {None: "hidden_number"}
    assert skips(
        judge(replace(everything, hidden_number=False)).decide(record, contact_found=False)
    ) == {None: "no_contact"}


def with_user(user_id: str, **changes: object) -> Config:
    users = tuple(u.model_copy(update=changes) if u.id == user_id else u for u in CONFIG.users)
    return CONFIG.model_copy(update={"users": users})


def test_a_user_who_opted_out_is_skipped_and_nobody_else_is_mailed_instead() -> None:
    config = with_user("anna", notify=False)
    decision = judge(Policy(recipients="first"), config=config).decide(RECORDS["ringgroup-missed"])
    assert mailed(decision) == []
    assert skips(decision) == {
        "anna": "opted_out",
        "bernd": "not_selected",
        "carla": "not_selected",
    }


def test_a_user_without_an_email_address_is_skipped_with_no_email() -> None:
    decision = judge(Policy(), config=with_user("bernd", email=None)).decide(
        RECORDS["ringgroup-missed"]
    )
    assert mailed(decision) == ["anna", "carla"]
    assert skips(decision) == {"bernd": "no_email"}


def test_precedence_answered_before_opted_out_before_no_email() -> None:
    config = with_user("bernd", notify=False, email=None)
    decision = judge(Policy(), config=config).decide(RECORDS["ringgroup-answered"])
    assert skips(decision)["bernd"] == "answered"
    decision = judge(Policy(), config=config).decide(RECORDS["ringgroup-missed"])
    assert skips(decision)["bernd"] == "opted_out"


class LoggedOn:
    """Presence: everyone in ``users`` is logged on, since ``since``."""

    def __init__(self, users: set[str], since: float = 0.0) -> None:
        self.users, self.since = users, since

    def is_logged_on(self, user: str, at: float) -> bool:
        return user in self.users

    def last_logon(self, user: str, before: float) -> float | None:
        return self.since if user in self.users else None


def test_when_logged_off_skips_users_logged_on_at_the_time_of_the_call() -> None:
    config = with_user("anna", when="logged_off")
    directory = Directory.from_config(config)
    judge_ = Judge(
        Policy(),
        Policy(),
        directory,
        directory.numbering,
        UTC,
        presence=LoggedOn({"anna", "bernd"}),
    )
    decision = judge_.decide(RECORDS["ringgroup-missed"])
    assert skips(decision) == {"anna": "logged_on"}  # bernd is 'always'
    assert mailed(decision) == ["bernd", "carla"]


class Sent:
    """History that remembers what the judge decided, as the store would."""

    def __init__(self) -> None:
        self.sent: list[tuple[Channel, str, str, float]] = []

    def last_notified(
        self, channel: Channel, user: str, number: str, before: float
    ) -> float | None:
        times = [
            at for c, u, n, at in self.sent if (c, u, n) == (channel, user, number) and at < before
        ]
        return max(times, default=None)

    def remember(self, decision: Decision, record: CallRecord, number: str) -> None:
        for target in decision.email:
            self.sent.append(("email", target.user, number, record.ended_at))
        for target in decision.journal:
            self.sent.append(("journal", target.user, number, record.ended_at))


def decide_in_order(policy: Policy, presence: object | None = None) -> list[Decision]:
    history = Sent()
    judge_ = Judge(
        policy,
        Policy(),
        DIRECTORY,
        DIRECTORY.numbering,
        UTC,
        history=history,
        presence=presence or LoggedOn(set()),
    )  # type: ignore[arg-type]
    decisions = []
    for record in RECORDS.values():
        decision = judge_.decide(record)
        history.remember(decision, record, DIRECTORY.numbering.normalize(record.caller.number))
        decisions.append(decision)
    return decisions


def test_repeated_same_day_mails_each_user_once_per_caller_and_day() -> None:
    decisions = decide_in_order(Policy(repeated_same_day=True))
    users = [u for d in decisions for u in mailed(d)]
    assert sorted(users) == ["anna", "bernd", "carla"]  # every trace is the same caller, same day
    assert "repeated_same_day" in {s.reason for d in decisions for s in d.skipped}


def test_repeated_same_day_mails_again_on_the_next_day() -> None:
    history = Sent()
    record = RECORDS["missed-direct"]
    number = DIRECTORY.numbering.normalize(record.caller.number)
    history.sent.append(("email", "anna", number, record.ended_at - 86400))
    judge_ = Judge(
        Policy(repeated_same_day=True),
        Policy(),
        DIRECTORY,
        DIRECTORY.numbering,
        UTC,
        history=history,
    )
    assert mailed(judge_.decide(record)) == ["anna"]


def test_repeated_until_logon_waits_for_a_logon_after_the_last_mail() -> None:
    never = decide_in_order(Policy(repeated_until_logon=True))
    assert sorted(u for d in never for u in mailed(d)) == ["anna", "bernd", "carla"]
    always_fresh = decide_in_order(
        Policy(repeated_until_logon=True), presence=LoggedOn({"anna", "bernd", "carla"}, since=4e9)
    )
    assert sum(len(d.email) for d in always_fresh) > 3


def test_journal_defaults_keep_answered_elsewhere_and_excepted_calls() -> None:
    journal = Policy.from_settings(CONFIG.journal)
    assert journal.when_answered_elsewhere and journal.min_ring_seconds == 0
    decisions = {name: judge(Policy(), journal).decide(record) for name, record in RECORDS.items()}
    entries = {name: [t.user for t in d.journal] for name, d in decisions.items()}
    assert entries["ringgroup-answered"] == ["anna", "carla"]
    assert entries["directed-pickup"] == ["anna"]
    assert (
        entries["short-ring"]
        == entries["anonymous-missed"]
        == entries["internal-missed"]
        == ["anna"]
    )
    assert entries["answered-direct"] == [] and entries["busy"] == []
    assert all(t.to is None for d in decisions.values() for t in d.journal)


def test_the_decision_answers_why_a_user_did_or_did_not_get_a_mail() -> None:
    decision = judge(Policy(recipients="first")).decide(RECORDS["huntgroup-missed"])
    assert decision.why("anna") == "notified"
    assert decision.why("bernd") == "not_selected"
    assert decision.why("emil") == "not_a_participant"
    call_level = judge(Policy()).decide(RECORDS["short-ring"])
    assert call_level.why("anna") == "short_ring"


def test_outbound_and_unrung_calls_make_no_decision_at_all() -> None:
    decision = judge(Policy()).decide(RECORDS["busy"])
    assert decision == Decision(RECORDS["busy"].call_id)


def test_a_user_with_two_lines_that_both_rang_gets_one_mail() -> None:
    users = tuple(
        u.model_copy(update={"lines": ("201", "202")})
        if u.id == "anna"
        else u.model_copy(update={"lines": ()})
        if u.id == "bernd"
        else u
        for u in CONFIG.users
    )
    config = CONFIG.model_copy(update={"users": users})
    decision = judge(Policy(), config=config).decide(RECORDS["ringgroup-missed"])
    assert mailed(decision) == ["anna", "carla"]
    assert [t.line for t in decision.email] == ["201", "203"]


def test_user_settings_are_plain_config_objects() -> None:
    assert isinstance(DIRECTORY.user_of_line("201"), UserSettings)
