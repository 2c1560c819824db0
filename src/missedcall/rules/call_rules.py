"""Exceptions that skip a whole call, each one small function, applied in table order.

Every rule has the signature ``(facts) -> reason | None``; the first reason wins.
"""

from __future__ import annotations

from collections.abc import Callable

from missedcall.rules.facts import CallFacts

CallRule = Callable[[CallFacts], str | None]


def policy_none(facts: CallFacts) -> str | None:
    return "policy_none" if facts.policy.recipients == "none" else None


def internal_call(facts: CallFacts) -> str | None:
    internal = facts.record.direction == "internal"
    return "internal_call" if facts.policy.internal_calls and internal else None


def hidden_number(facts: CallFacts) -> str | None:
    caller = facts.record.caller
    hidden = caller.presentation == "restricted" or not caller.number
    return "hidden_number" if facts.policy.hidden_number and hidden else None


def no_contact(facts: CallFacts) -> str | None:
    return "no_contact" if facts.policy.no_contact and not facts.contact_found else None


def short_ring(facts: CallFacts) -> str | None:
    """The call rang, from the first alert to the answer or the end, too briefly."""
    threshold = facts.policy.min_ring_seconds
    record = facts.record
    if threshold <= 0 or not record.participants:
        return None
    first_alert = min(p.first_alert_at for p in record.participants)
    answers = [at for at, _ in facts.answers()]
    until = min(answers) if answers else record.ended_at
    return "short_ring" if until - first_alert < threshold else None


def excluded_number(facts: CallFacts) -> str | None:
    numbering, number = facts.numbering, facts.number
    if number and any(numbering.matches(number, p) for p in facts.policy.excluded_numbers):
        return "excluded_number"
    return None


CALL_RULES: tuple[CallRule, ...] = (
    policy_none,
    internal_call,
    hidden_number,
    no_contact,
    short_ring,
    excluded_number,
)
