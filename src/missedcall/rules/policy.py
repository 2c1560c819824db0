"""A notification policy: recipients, answered-elsewhere and the exceptions (SPEC §5, §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from missedcall.config import PolicySettings

Recipients = Literal["none", "first", "last", "all"]


@dataclass(frozen=True, slots=True)
class Policy:
    recipients: Recipients = "all"
    when_answered_elsewhere: bool = False
    internal_calls: bool = True
    hidden_number: bool = True
    no_contact: bool = False
    repeated_same_day: bool = False
    repeated_until_logon: bool = False
    min_ring_seconds: float = 2.0
    excluded_numbers: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> Policy:
        exceptions = settings.exceptions
        return cls(
            recipients=settings.recipients,
            when_answered_elsewhere=settings.when_answered_elsewhere,
            internal_calls=exceptions.internal_calls,
            hidden_number=exceptions.hidden_number,
            no_contact=exceptions.no_contact,
            repeated_same_day=exceptions.repeated_same_day,
            repeated_until_logon=exceptions.repeated_until_logon,
            min_ring_seconds=float(exceptions.min_ring_seconds),
            excluded_numbers=tuple(exceptions.excluded_numbers),
        )
