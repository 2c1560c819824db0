"""What the rules ask of the world, answered by the store and the directory."""

from __future__ import annotations

from typing import Protocol

from missedcall.rules.decision import Channel


class History(Protocol):
    def last_notified(
        self, channel: Channel, user: str, number: str, before: float
    ) -> float | None:
        """When ``user`` was last served on ``channel`` for a call from ``number``
        (normalised) that ended before ``before``; None if never."""
        ...


class Presence(Protocol):
    def is_logged_on(self, user: str, at: float) -> bool:
        """Whether ``user`` is logged on to missedcall (web page or client) at ``at``."""
        ...

    def last_logon(self, user: str, before: float) -> float | None:
        """When ``user`` last logged on before ``before``; None if never."""
        ...


class NoHistory:
    """Nothing was ever sent and nobody ever logged on: the stateless answer."""

    def last_notified(
        self, channel: Channel, user: str, number: str, before: float
    ) -> float | None:
        return None

    def is_logged_on(self, user: str, at: float) -> bool:
        return False

    def last_logon(self, user: str, before: float) -> float | None:
        return None
