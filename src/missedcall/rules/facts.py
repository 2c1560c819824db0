"""Everything a rule may look at for one call and one channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from missedcall.calls.record import CallRecord, Participant
from missedcall.config import UserSettings
from missedcall.directory.numbering import Numbering
from missedcall.rules.decision import Channel
from missedcall.rules.policy import Policy
from missedcall.rules.ports import History, Presence


@dataclass(frozen=True, slots=True)
class CallFacts:
    record: CallRecord
    channel: Channel
    policy: Policy
    number: str  # the caller's number, normalised
    contact_found: bool
    numbering: Numbering
    timezone: tzinfo
    history: History
    presence: Presence

    @property
    def now(self) -> float:
        """Decisions are taken when the call ends; time comes from the PBX."""
        return self.record.ended_at

    def answers(self) -> list[tuple[float, str]]:
        """Every moment a line took the call: its own answer or a pickup."""
        taken = [
            (p.answered_at, p.line) for p in self.record.participants if p.answered_at is not None
        ]
        if self.record.pickup is not None:
            taken.append((self.record.pickup.at, self.record.pickup.by))
        return taken


@dataclass(frozen=True, slots=True)
class Candidate:
    """A participant's user, as the policy sees them."""

    user: UserSettings
    participant: Participant
    user_lines: frozenset[str]
    selected: bool

    @property
    def line(self) -> str:
        return self.participant.line
