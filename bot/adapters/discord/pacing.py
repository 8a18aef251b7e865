"""Keep the bot under Discord's global rate limit before Discord has to say 429.

Discord allows a bot 50 REST requests a second in all (interaction responses and their
webhooks apart). discord.py waits out each route's bucket itself, from the
`X-RateLimit-Remaining`/`-Reset-After`/`-Bucket` headers, but it only learns of the global
limit from a 429: a fan-out of daily posts to 150 channels drew dozens of them. The pacer
spaces the requests out instead, through discord.py's `http_trace` hook, which aiohttp awaits
before it sends each request (retries included).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Final

import aiohttp
from discord.http import Route

GLOBAL_LIMIT_PER_SECOND: Final = 50
"""Discord's global REST limit for a bot."""
REQUESTS_PER_SECOND: Final = 45.0
"""What awsquiz allows itself: a margin under the limit for requests that arrive bunched."""
EXEMPT_PATHS: Final = ("/interactions/", "/webhooks/")
"""Interaction callbacks and follow-ups, which Discord leaves out of the global limit."""


class RequestPacer:
    """Lets requests go at most `per_second` a second, each at least 1/per_second apart.

    Even spacing, not a burst allowance: requests that wait in a queue (an event loop that
    stalled, a network that delayed some) could otherwise arrive in one window together.
    The next slot counts from when a request actually left, so a stall never saves up slots.
    """

    def __init__(self, per_second: float = REQUESTS_PER_SECOND) -> None:
        if per_second <= 0:
            raise ValueError(f"a pacer needs a positive rate, not {per_second}")
        self.interval: Final = 1.0 / per_second
        self._lock = asyncio.Lock()
        self._next_at = 0.0

    async def wait(self) -> None:
        """Return when the next request may leave."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            delay = self._next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next_at = loop.time() + self.interval


def share_of_the_limit(shards: int | None, shard_count: int | None) -> float:
    """This process's requests per second: all of REQUESTS_PER_SECOND, or, when it runs only
    some of the shards (DISCORD_SHARD_IDS), the same part of it, since the limit is the bot's
    across every process."""
    if not shards or not shard_count:
        return REQUESTS_PER_SECOND
    return REQUESTS_PER_SECOND * min(shards, shard_count) / shard_count


def counts_against_the_limit(url: str) -> bool:
    """Whether a request to `url` counts against the bot's global limit: REST calls do,
    except interaction callbacks and webhooks; the gateway connection is not REST."""
    if not url.startswith(Route.BASE):
        return False
    path = url.removeprefix(Route.BASE)
    return not path.startswith(EXEMPT_PATHS)


def pacing_trace(pacer: RequestPacer) -> aiohttp.TraceConfig:
    """An aiohttp trace (discord.py's `http_trace` option) that paces every counted request."""

    async def before_request(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if counts_against_the_limit(str(params.url)):
            await pacer.wait()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(before_request)
    return trace
