"""Posting through a ChatAdapter with retries: obey rate limits, back off on other errors.

Every wait is jittered. Channels posted at the same minute fail together (one 429 answers a
burst, one outage fails a fan-out); waits of the same length would bring their retries back
in lockstep, to be refused together again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from bot.engine.errors import ChatPostError

T = TypeVar("T")

DEFAULT_ATTEMPTS: Final = 5
DEFAULT_BASE_DELAY: Final = 0.5
DEFAULT_MAX_DELAY: Final = 30.0

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a transient posting error is retried.

    `rng` and `sleep` are where the jitter comes from and how a wait is waited: a seeded
    random.Random and a sleep that records make every wait a test can check, without a clock.
    Without `rng`, each send draws its own jitter.
    """

    attempts: int = DEFAULT_ATTEMPTS
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    rng: random.Random | None = field(default=None, compare=False, repr=False)
    sleep: Sleep = field(default=asyncio.sleep, compare=False, repr=False)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: between half and all of the attempt's ceiling."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * rng.uniform(0.5, 1.0)

    def after_rate_limit(self, retry_after: float, rng: random.Random) -> float:
        """The platform's Retry-After, never less, plus up to as long again (at least the base
        delay, at most the cap): the senders it refused together come back spread out."""
        spread = min(self.max_delay, max(retry_after, self.base_delay))
        return retry_after + rng.uniform(0.0, spread)

    def wait_after(self, error: ChatPostError, attempt: int, rng: random.Random) -> float:
        """How long to wait after `error` ended attempt number `attempt` (from 1)."""
        if error.retry_after is not None:
            return self.after_rate_limit(error.retry_after, rng)
        return self.backoff(attempt, rng)


async def send_with_retry(
    send: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Sleep | None = None,
    rng: random.Random | None = None,
) -> T:
    """Call `send` until it succeeds, retrying transient ChatPostErrors; re-raise the last one.

    `sleep` and `rng`, when given, stand in for the policy's.
    """
    wait = sleep or policy.sleep
    jitter = rng or policy.rng or random.Random()
    for attempt in range(1, policy.attempts + 1):
        try:
            return await send()
        except ChatPostError as error:
            if not error.transient or attempt == policy.attempts:
                raise
            await wait(policy.wait_after(error, attempt, jitter))
    raise AssertionError("unreachable: the loop returns or raises")
