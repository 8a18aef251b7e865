"""What many tests share: a clock that stands still, and waiting for work done after an ack."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final

CLOCK_START: Final = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
EVENTUALLY_SECONDS: Final = 5.0
"""How long `eventually` waits: far beyond what loopback work takes, short enough to fail."""


class FixedClock:
    """A Clock that stands still until a test moves it."""

    def __init__(self, start: datetime = CLOCK_START) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.current = start

    def now(self) -> datetime:
        """Return the time the test set."""
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward and return the new time."""
        self.current += delta
        return self.current

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        self.current = moment


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    *,
    seconds: float = EVENTUALLY_SECONDS,
    interval: float = 0.02,
) -> None:
    """Wait until `condition` holds (work a platform acked is finished after the ack);
    fail, saying `what` did not happen, after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        assert loop.time() < deadline, f"{what} did not happen within {seconds:g} s"
        await asyncio.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
