"""Waiting for what another task or process does, bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

WAIT_SECONDS = 15.0


async def until(
    condition: Callable[[], bool], timeout: float = WAIT_SECONDS, step: float = 0.005
) -> None:
    """Return once ``condition()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(step)
