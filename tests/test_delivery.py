"""Posting with retries: a platform's Retry-After is obeyed, other transient errors back off."""

from __future__ import annotations

import random

import pytest

from bot.engine.daily.delivery import RetryPolicy, send_with_retry
from bot.engine.errors import ChatPostError


class Platform:
    """Fails with the given errors in turn, then answers with a message id."""

    def __init__(self, *errors: ChatPostError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def send(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"m{self.calls}"


class Sleeps:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def limited(after: float) -> ChatPostError:
    return ChatPostError("rate limited", transient=True, retry_after=after)


def flaky() -> ChatPostError:
    return ChatPostError("bad gateway", transient=True)


async def test_a_rate_limit_waits_at_least_as_long_as_the_platform_says_plus_a_spread() -> None:
    platform, sleeps = Platform(limited(2.5), limited(40.0)), Sleeps()
    policy = RetryPolicy(max_delay=1.0)

    message_id = await send_with_retry(platform.send, policy, sleep=sleeps, rng=random.Random(3))

    assert message_id == "m3"
    # Never less than the platform's word, and not capped by it; the jitter (at most the
    # cap) spreads the senders it refused together.
    assert 2.5 <= sleeps.waits[0] <= 3.5
    assert 40.0 <= sleeps.waits[1] <= 41.0


async def test_other_transient_errors_back_off_exponentially_within_the_cap() -> None:
    platform, sleeps = Platform(flaky(), flaky(), flaky(), flaky()), Sleeps()
    policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=5.0)

    await send_with_retry(platform.send, policy, sleep=sleeps, rng=random.Random(1))

    ceilings = [1.0, 2.0, 4.0, 5.0]
    assert len(sleeps.waits) == len(ceilings)
    for wait, ceiling in zip(sleeps.waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling  # jittered between half and all of the ceiling


async def test_a_permanent_error_is_raised_at_once() -> None:
    gone = ChatPostError("channel_not_found", transient=False)
    platform, sleeps = Platform(gone), Sleeps()

    with pytest.raises(ChatPostError, match="channel_not_found"):
        await send_with_retry(platform.send, RetryPolicy(), sleep=sleeps)

    assert (platform.calls, sleeps.waits) == (1, [])


async def test_the_last_transient_error_is_raised_when_the_attempts_run_out() -> None:
    platform, sleeps = Platform(flaky(), flaky(), limited(1.0)), Sleeps()

    with pytest.raises(ChatPostError, match="rate limited"):
        await send_with_retry(platform.send, RetryPolicy(attempts=3), sleep=sleeps)

    assert platform.calls == 3
    assert len(sleeps.waits) == 2
