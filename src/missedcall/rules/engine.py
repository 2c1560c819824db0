"""Applies the policy tables to a call record: the product's judgement (SPEC §5, §6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Protocol

from missedcall.calls.record import CallRecord, Participant, by_first_alert, by_last_alert
from missedcall.config import UserSettings
from missedcall.directory.numbering import Numbering
from missedcall.rules.call_rules import CALL_RULES
from missedcall.rules.decision import Channel, Decision, Skip, Target
from missedcall.rules.facts import CallFacts, Candidate
from missedcall.rules.policy import Policy
from missedcall.rules.ports import History, NoHistory, Presence
from missedcall.rules.recipient_rules import EMAIL_RULES, JOURNAL_RULES, RecipientRule


class Users(Protocol):
    def user_of_line(self, line: str) -> UserSettings | None: ...


@dataclass(frozen=True, slots=True)
class Judge:
    """Decides, for one finished call, the mails and journal entries it makes."""

    email_policy: Policy
    journal_policy: Policy
    users: Users
    numbering: Numbering
    timezone: tzinfo
    history: History = field(default_factory=NoHistory)
    presence: Presence = field(default_factory=NoHistory)

    def decide(self, record: CallRecord, *, contact_found: bool = True) -> Decision:
        if record.direction == "outbound" or not record.participants:
            return Decision(record.call_id)  # nobody's phone rang for anybody to miss
        email, email_skips = self._channel(record, "email", self.email_policy, contact_found)
        journal, journal_skips = self._channel(
            record, "journal", self.journal_policy, contact_found
        )
        return Decision(record.call_id, email, journal, email_skips + journal_skips)

    def _channel(
        self, record: CallRecord, channel: Channel, policy: Policy, contact_found: bool
    ) -> tuple[tuple[Target, ...], tuple[Skip, ...]]:
        facts = CallFacts(
            record=record,
            channel=channel,
            policy=policy,
            number=self.numbering.normalize(record.caller.number),
            contact_found=contact_found,
            numbering=self.numbering,
            timezone=self.timezone,
            history=self.history,
            presence=self.presence,
        )
        for rule in CALL_RULES:
            reason = rule(facts)
            if reason is not None:
                return (), (Skip(channel, None, None, reason),)
        rules = EMAIL_RULES if channel == "email" else JOURNAL_RULES
        targets: list[Target] = []
        skips: list[Skip] = []
        for candidate in self._candidates(record, policy):
            reason = _first_reason(rules, facts, candidate)
            if reason is not None:
                skips.append(Skip(channel, candidate.user.id, candidate.line, reason))
            else:
                to = candidate.user.email if channel == "email" else None
                targets.append(Target(candidate.user.id, candidate.line, to))
        return tuple(targets), tuple(skips)

    def _candidates(self, record: CallRecord, policy: Policy) -> list[Candidate]:
        """One candidate per user, on the user's selected line if any, else the first."""
        selected = _selected(record.participants, policy)
        by_user: dict[str, list[Participant]] = {}
        owners: dict[str, UserSettings] = {}
        for participant in record.participants:
            user = self.users.user_of_line(participant.line)
            if user is not None:
                by_user.setdefault(user.id, []).append(participant)
                owners[user.id] = user
        candidates = []
        for user_id, rung in by_user.items():
            chosen = next((p for p in rung if p.line in selected), rung[0])
            candidates.append(
                Candidate(
                    user=owners[user_id],
                    participant=chosen,
                    user_lines=frozenset(owners[user_id].lines) | {p.line for p in rung},
                    selected=chosen.line in selected,
                )
            )
        return candidates


def _selected(participants: Sequence[Participant], policy: Policy) -> frozenset[str]:
    """The lines the policy picks among those that rang and did not answer."""
    unanswered = [p for p in participants if not p.answered]
    if policy.recipients == "first":
        unanswered = by_first_alert(unanswered)[:1]
    elif policy.recipients == "last":
        unanswered = by_last_alert(unanswered)[-1:]
    elif policy.recipients == "none":
        unanswered = []
    return frozenset(p.line for p in unanswered)


def _first_reason(
    rules: Sequence[RecipientRule], facts: CallFacts, candidate: Candidate
) -> str | None:
    for rule in rules:
        reason = rule(facts, candidate)
        if reason is not None:
            return reason
    return None
