"""Notifications decided but not yet on disk, which the rules must already count.

The server judges a call, then commits its verdict in the next group commit,
while it goes on judging the next calls.  A caller who rings twice within
those few milliseconds must meet ``repeated_same_day`` all the same, so the
history the rules read is the store's plus what is still waiting to be written.
"""

from __future__ import annotations

from collections import defaultdict

from missedcall.rules.decision import Channel, Decision
from missedcall.rules.ports import History

Key = tuple[Channel, str, str]  # channel, user, number


class PendingHistory:
    """A :class:`~missedcall.rules.ports.History` over the store and the uncommitted verdicts."""

    def __init__(self, store: History) -> None:
        self._store = store
        self._waiting: defaultdict[Key, list[float]] = defaultdict(list)

    def hold(self, decision: Decision, number: str, at: float) -> None:
        """A verdict on its way to the store: its notifications count from now on."""
        for key in _keys(decision, number):
            self._waiting[key].append(at)

    def release(self, decision: Decision, number: str, at: float) -> None:
        """The verdict was written (or failed to be): the store answers for it now."""
        for key in _keys(decision, number):
            times = self._waiting.get(key)
            if times is not None and at in times:
                times.remove(at)
                if not times:
                    del self._waiting[key]

    def last_notified(
        self, channel: Channel, user: str, number: str, before: float
    ) -> float | None:
        stored = self._store.last_notified(channel, user, number, before)
        waiting = [at for at in self._waiting.get((channel, user, number), ()) if at < before]
        return max([at for at in (stored, *waiting) if at is not None], default=None)

    def waiting(self) -> int:
        """How many notifications wait to be written (not ``__len__``: an empty
        history is still a history, never falsy)."""
        return sum(len(times) for times in self._waiting.values())


def _keys(decision: Decision, number: str) -> list[Key]:
    channels: list[tuple[Channel, str]] = [("email", t.user) for t in decision.email]
    channels += [("journal", t.user) for t in decision.journal]
    return [(channel, user, number) for channel, user in channels]
