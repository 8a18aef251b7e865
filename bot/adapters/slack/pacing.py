"""The daily poster's pace: chat.postMessage per workspace, kept under Slack's rate limits.

Slack puts chat.postMessage in a "special" rate tier (docs.slack.dev/apis/web-api/rate-limits):
about one message per second per channel, with short bursts, under a workspace-wide limit it
does not publish; its overview table gives posting messages as "1 per second, short bursts >1
allowed". Sixty channels due at 09:00 used to get sixty posts within 55 ms. The pace here is
conservative: one post a second per channel, and per workspace a token bucket of
`per_minute` posts a minute (60 by default: that one a second) that lets `burst` go at once.

A 429 stops the whole workspace for its Retry-After, and the bucket starts empty after it:
the retries come back one at a time, not as a second burst.

A reservation is made synchronously (no await between reading and taking a slot), so posts
of one event loop need no lock and are served in the order they asked. Each process paces
its own posts: processes sharing a workspace share Slack's limit, which the engine's jittered
retries absorb.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

CHANNEL_INTERVAL_SECONDS: Final = 1.0
WORKSPACE_POSTS_PER_MINUTE: Final = 60
WORKSPACE_BURST: Final = 5
REMEMBERED_CHANNELS: Final = 1024
"""Past this many channels a workspace forgets those whose interval has passed."""
REMEMBERED_WORKSPACES: Final = 4096
"""Past this many workspaces the pacer forgets those with nothing in flight."""

Clock = Callable[[], float]
"""Seconds on a monotonic clock."""
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast the daily poster may post in one workspace."""

    per_minute: int = WORKSPACE_POSTS_PER_MINUTE
    burst: int = WORKSPACE_BURST
    channel_interval: float = CHANNEL_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        if self.per_minute < 1 or self.burst < 1 or self.channel_interval < 0:
            raise ValueError(f"not a pace: {self}")

    @property
    def interval(self) -> float:
        """Seconds between two posts of a workspace once its burst is spent."""
        return 60.0 / self.per_minute

    @property
    def tolerance(self) -> float:
        """How far ahead of the steady rate a post may go: the burst, less the post itself."""
        return (self.burst - 1) * self.interval


@dataclass(slots=True)
class _Workspace:
    """One workspace's bucket, as a generic cell rate algorithm: the time its next post is due
    at the steady rate, when each channel may post next, and any pause Slack asked for."""

    due: float
    channels: dict[str, float] = field(default_factory=dict)
    paused_until: float = 0.0
    pauses: int = 0


class SlackPacer:
    """Hands out each post's turn in its workspace and channel; learns from 429s."""

    def __init__(
        self,
        pace: Pace | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.pace = pace or Pace()
        self._clock = clock
        self._sleep = sleep
        self._workspaces: dict[str, _Workspace] = {}

    async def wait_turn(self, workspace: str, channel: str) -> None:
        """Wait until a post in `channel` of `workspace` keeps to the pace; then it is taken.

        A 429 that stops the workspace while this post waits sends it to the back, after the
        pause, rather than into the refusal again.
        """
        while True:
            slot, pauses = self.reserve(workspace, channel)
            delay = slot - self._clock()
            if delay > 0:
                await self._sleep(delay)
            bucket = self._workspaces.get(workspace)
            if bucket is None or bucket.pauses == pauses or slot >= bucket.paused_until:
                return

    def reserve(self, workspace: str, channel: str) -> tuple[float, int]:
        """Take the earliest time a post may go and return it, with the workspace's pause count.

        Never earlier than now, the workspace's bucket allows, the channel's last post plus
        its interval, or the end of a pause.
        """
        now = self._clock()
        bucket = self._bucket(workspace, now)
        slot = max(
            now,
            bucket.due - self.pace.tolerance,
            bucket.channels.get(channel, now),
            bucket.paused_until,
        )
        bucket.due = max(bucket.due, slot) + self.pace.interval
        bucket.channels[channel] = slot + self.pace.channel_interval
        if len(bucket.channels) > REMEMBERED_CHANNELS:
            bucket.channels = {c: at for c, at in bucket.channels.items() if at > now}
        return slot, bucket.pauses

    def slow_down(self, workspace: str, seconds: float) -> None:
        """Slack said 429 with Retry-After `seconds`: no post in the workspace before then,
        and none of the burst right after."""
        now = self._clock()
        bucket = self._bucket(workspace, now)
        bucket.paused_until = max(bucket.paused_until, now + max(seconds, 0.0))
        bucket.due = max(bucket.due, bucket.paused_until + self.pace.tolerance)
        bucket.pauses += 1

    def _bucket(self, workspace: str, now: float) -> _Workspace:
        bucket = self._workspaces.get(workspace)
        if bucket is None:
            if len(self._workspaces) >= REMEMBERED_WORKSPACES:
                self._forget_idle(now)
            bucket = self._workspaces[workspace] = _Workspace(due=now)
        return bucket

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that are full again: forgetting them changes no post's turn."""
        self._workspaces = {
            name: bucket
            for name, bucket in self._workspaces.items()
            if max(bucket.due, bucket.paused_until, *bucket.channels.values()) > now
        }
