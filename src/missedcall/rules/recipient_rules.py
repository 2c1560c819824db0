"""Reasons to skip one recipient, each one small function, applied in table order.

Every rule has the signature ``(facts, candidate) -> reason | None``; the order
of the tables is the precedence of SPEC §5 (a user skipped for several reasons
is given the first).  The journal uses the same rules but those about e-mail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from missedcall.rules.facts import CallFacts, Candidate

RecipientRule = Callable[[CallFacts, Candidate], str | None]


def answered(facts: CallFacts, candidate: Candidate) -> str | None:
    """The user took the call, or (unless wanted) someone did after the user's phone rang."""
    taken = facts.answers()
    if any(line in candidate.user_lines for _, line in taken):
        return "answered"
    if facts.policy.when_answered_elsewhere:
        return None
    rang_at = candidate.participant.first_alert_at
    return "answered" if any(at >= rang_at for at, _ in taken) else None


def not_selected(facts: CallFacts, candidate: Candidate) -> str | None:
    return None if candidate.selected else "not_selected"


def opted_out(facts: CallFacts, candidate: Candidate) -> str | None:
    return None if candidate.user.notify else "opted_out"


def no_email(facts: CallFacts, candidate: Candidate) -> str | None:
    return None if candidate.user.email else "no_email"


def logged_on(facts: CallFacts, candidate: Candidate) -> str | None:
    user = candidate.user
    if user.when == "logged_off" and facts.presence.is_logged_on(user.id, facts.now):
        return "logged_on"
    return None


def repeated_same_day(facts: CallFacts, candidate: Candidate) -> str | None:
    if not facts.policy.repeated_same_day or not facts.number:
        return None
    last = facts.history.last_notified(facts.channel, candidate.user.id, facts.number, facts.now)
    if last is None:
        return None
    same_day = _day(last, facts) == _day(facts.now, facts)
    return "repeated_same_day" if same_day else None


def repeated_until_logon(facts: CallFacts, candidate: Candidate) -> str | None:
    if not facts.policy.repeated_until_logon or not facts.number:
        return None
    user = candidate.user.id
    last = facts.history.last_notified(facts.channel, user, facts.number, facts.now)
    if last is None:
        return None
    logon = facts.presence.last_logon(user, facts.now)
    return "repeated_until_logon" if logon is None or logon < last else None


def _day(moment: float, facts: CallFacts) -> object:
    return datetime.fromtimestamp(moment, facts.timezone).date()


EMAIL_RULES: tuple[RecipientRule, ...] = (
    answered,
    not_selected,
    opted_out,
    no_email,
    logged_on,
    repeated_same_day,
    repeated_until_logon,
)
JOURNAL_RULES: tuple[RecipientRule, ...] = (
    answered,
    not_selected,
    repeated_same_day,
    repeated_until_logon,
)
