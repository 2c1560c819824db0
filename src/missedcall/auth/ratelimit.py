"""The login rate limit: failed logins counted per account and per client address.

After ``limit`` failures within ``window`` seconds, further logins for that key
are refused -- even with the right password -- until the oldest failure is
older than the window, so guessing costs time whichever account or address it
comes from.  Memory is bounded: at most ``max_keys`` keys are remembered, the
least recently failed forgotten first (an attacker spraying addresses can only
push out his own keys' history, never unlock a key faster than the window).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginLimiter"]


@dataclass
class _Window:
    limit: int
    seconds: float
    max_keys: int
    failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again; 0 if it may now."""
        recent = self._recent(key, now)
        if recent is None or len(recent) < self.limit:
            return 0.0
        return recent[0] + self.seconds - now

    def fail(self, key: str, now: float) -> None:
        recent = self._recent(key, now) or deque(maxlen=self.limit)
        recent.append(now)
        self.failures[key] = recent
        self.failures.move_to_end(key)
        while len(self.failures) > self.max_keys:
            self.failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self.failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        recent = self.failures.get(key)
        while recent and recent[0] <= now - self.seconds:
            recent.popleft()
        return recent


class LoginLimiter:
    """Per account and per address; ``wait`` says how long a login must wait (0: go)."""

    def __init__(
        self,
        *,
        per_account: int = 5,
        per_address: int = 20,
        window_seconds: float = 300.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts = _Window(per_account, window_seconds, max_keys)
        self._addresses = _Window(per_address, window_seconds, max_keys)
        self._clock = clock

    def wait(self, account: str, address: str) -> float:
        now = self._clock()
        return max(self._accounts.wait(account, now), self._addresses.wait(address, now))

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        self._accounts.fail(account, now)
        self._addresses.fail(address, now)

    def succeeded(self, account: str) -> None:
        """A right password clears the account's failures (not the address's)."""
        self._accounts.forget(account)
