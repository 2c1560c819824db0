"""The login rate limit: per account, per address, over a sliding window, in bounded memory."""

from __future__ import annotations

from missedcall.auth.ratelimit import LoginLimiter
from tests.support.outbox import FakeClock


def limiter(clock: FakeClock, **options: int) -> LoginLimiter:
    return LoginLimiter(per_account=3, per_address=5, window_seconds=60, clock=clock, **options)


def test_an_account_waits_after_too_many_failures_until_the_oldest_leaves_the_window() -> None:
    clock = FakeClock(0.0)
    limit = limiter(clock)
    for _ in range(3):
        assert limit.wait("anna", "10.0.0.1") == 0
        limit.failed("anna", "10.0.0.1")
        clock.advance(10)
    assert limit.wait("anna", "10.0.0.2") == 30  # from any address: the first failed at 0
    assert limit.wait("bernd", "10.0.0.2") == 0
    clock.advance(30)
    assert limit.wait("anna", "10.0.0.1") == 0


def test_an_address_waits_after_too_many_failures_whatever_the_accounts() -> None:
    clock = FakeClock(0.0)
    limit = limiter(clock)
    for user in ("a", "b", "c", "d", "e"):
        limit.failed(user, "10.0.0.1")
    assert limit.wait("f", "10.0.0.1") == 60
    assert limit.wait("f", "10.0.0.2") == 0


def test_a_right_password_clears_the_account_but_not_the_address() -> None:
    clock = FakeClock(0.0)
    limit = limiter(clock)
    for _ in range(2):
        limit.failed("anna", "10.0.0.1")
    limit.succeeded("anna")
    limit.failed("anna", "10.0.0.1")
    limit.failed("anna", "10.0.0.1")
    assert limit.wait("anna", "10.0.0.3") == 0  # two failures since the success
    for _ in range(3):
        limit.failed("x", "10.0.0.1")
    assert limit.wait("y", "10.0.0.1") > 0  # the address's five are all still counted


def test_memory_is_bounded_forgetting_the_least_recently_failed() -> None:
    clock = FakeClock(0.0)
    limit = limiter(clock, max_keys=100)
    for _ in range(3):
        limit.failed("anna", "10.0.0.1")
    assert limit.wait("anna", "10.0.0.9") > 0
    for n in range(1000):  # an attacker spraying accounts from many addresses
        limit.failed(f"spray-{n}", f"10.1.{n // 256}.{n % 256}")
    assert limit.wait("anna", "10.0.0.9") == 0  # pushed out: at most 100 keys are kept
    assert limit.wait("spray-999", "10.0.0.9") == 0  # one failure each: under the limit
