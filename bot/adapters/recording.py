"""A chat adapter that records what the bot posted: for tests, benchmarks and dry runs.

It can simulate a platform's latency and rate limits, so the daily fan-out is measured and
tested through the real retry path.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime

from bot.engine.daily.model import ChannelRef
from bot.engine.errors import ChatPostError
from bot.engine.reply import Reply


@dataclass(frozen=True, slots=True)
class RecordedPost:
    """One message the bot posted."""

    channel: ChannelRef
    message_id: str
    reply: Reply
    thread_of: str | None = None
    key: str | None = None


@dataclass
class RecordingAdapter:
    """Records posts in memory instead of sending them anywhere.

    `rate_limit_every`: every Nth new post is refused once as rate limited, with `retry_after`;
    its retry goes through, as on a real platform once the wait is over.
    `failing_channels`: posts there fail permanently (like a deleted channel).
    """

    platform: str = "recording"
    latency: float = 0.0
    rate_limit_every: int = 0
    retry_after: float = 0.05
    failing_channels: frozenset[str] = frozenset()
    posts: list[RecordedPost] = field(default_factory=list)
    rate_limited: int = 0
    _new_posts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _refused: set[tuple[ChannelRef, str | None]] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
        """Record a channel message and return its id."""
        return await self._record(channel, reply, None, key)

    async def post_reply(
        self, channel: ChannelRef, message_id: str, reply: Reply, *, key: str | None = None
    ) -> str:
        """Record a message in the thread of `message_id`."""
        return await self._record(channel, reply, message_id, key)

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime, under: str | None = None
    ) -> str | None:
        """The id of the recorded post with `key` in that channel (and thread), if any."""
        for post in self.posts:
            if (post.channel, post.thread_of, post.key) == (channel, under, key):
                return post.message_id
        return None

    def in_channel(self, channel: ChannelRef) -> list[RecordedPost]:
        """The posts made in one channel, in order."""
        return [post for post in self.posts if post.channel == channel]

    async def _record(
        self, channel: ChannelRef, reply: Reply, thread_of: str | None, key: str | None
    ) -> str:
        if self.latency:
            await asyncio.sleep(self.latency)
        if channel.channel in self.failing_channels:
            raise ChatPostError(f"channel_not_found: {channel}", transient=False)
        place = (channel, thread_of)
        # Only first tries count towards `rate_limit_every`; a refused post's retry goes through.
        first_try = self.rate_limit_every and place not in self._refused
        if first_try and next(self._new_posts) % self.rate_limit_every == 0:
            self._refused.add(place)
            self.rate_limited += 1
            raise ChatPostError("rate limited", transient=True, retry_after=self.retry_after)
        message_id = f"m{next(self._ids)}"
        self.posts.append(RecordedPost(channel, message_id, reply, thread_of, key))
        return message_id
