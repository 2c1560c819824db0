"""The verdict on one call: who is mailed, who gets a journal entry, who not and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["email", "journal"]

# Machine-readable skip reasons, spelled as SPEC §5 lists them.
CALL_REASONS = (
    "policy_none",
    "internal_call",
    "hidden_number",
    "no_contact",
    "short_ring",
    "excluded_number",
)
RECIPIENT_REASONS = (
    "answered",
    "not_selected",
    "opted_out",
    "no_email",
    "logged_on",
    "repeated_same_day",
    "repeated_until_logon",
)
ALREADY_NOTIFIED = "already_notified"
"""Not a rule: the call was decided before (a replay) and this user was served then."""


@dataclass(frozen=True, slots=True)
class Target:
    user: str
    line: str
    to: str | None = None  # the e-mail address; None for journal entries


@dataclass(frozen=True, slots=True)
class Skip:
    channel: Channel
    user: str | None
    line: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    call_id: str
    email: tuple[Target, ...] = ()
    journal: tuple[Target, ...] = ()
    skipped: tuple[Skip, ...] = field(default=())

    def why(self, user: str, channel: Channel = "email") -> str:
        """The answer to "why did (or didn't) this user get a mail for this call?"."""
        targets = self.email if channel == "email" else self.journal
        if any(t.user == user for t in targets):
            return "notified"
        for skip in self.skipped:
            if skip.channel == channel and skip.user in (user, None):
                return skip.reason
        return "not_a_participant"

    def to_json(self) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "email": [{"user": t.user, "line": t.line, "to": t.to} for t in self.email],
            "journal": [{"user": t.user, "line": t.line} for t in self.journal],
            "skipped": [
                {"channel": s.channel, "user": s.user, "line": s.line, "reason": s.reason}
                for s in self.skipped
            ],
        }
