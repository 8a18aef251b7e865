"""Posting through a ChatAdapter with retries: obey rate limits, back off on other errors."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from bot.engine.errors import ChatPostError

T = TypeVar("T")

DEFAULT_ATTEMPTS: Final = 5
DEFAULT_BASE_DELAY: Final = 0.5
DEFAULT_MAX_DELAY: Final = 30.0

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a transient posting error is retried."""

    attempts: int = DEFAULT_ATTEMPTS
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with jitter, so many channels do not retry in lockstep."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * rng.uniform(0.5, 1.0)


async def send_with_retry(
    send: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> T:
    """Call `send` until it succeeds, retrying transient ChatPostErrors; re-raise the last one."""
    jitter = rng or random.Random()
    for attempt in range(1, policy.attempts + 1):
        try:
            return await send()
        except ChatPostError as error:
            if not error.transient or attempt == policy.attempts:
                raise
            # A platform's Retry-After is obeyed as given; our own backoff is capped.
            told = error.retry_after
            await sleep(told if told is not None else policy.backoff(attempt, jitter))
    raise AssertionError("unreachable: the loop returns or raises")
