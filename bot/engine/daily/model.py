"""Domain values of the daily question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from bot.engine.model import Difficulty


@dataclass(frozen=True, slots=True, order=True)
class ChannelRef:
    """A chat channel, scoped by platform and workspace (Slack team, Discord guild)."""

    platform: str
    workspace: str
    channel: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.channel}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's daily question settings.

    `difficulty_mix` weights the levels (empty: every level alike); `answer_window` of None
    means answers stay open until shortly before the next post.
    """

    channel: ChannelRef
    post_time: time
    timezone: str
    topics: tuple[str, ...] = ()
    difficulty_mix: tuple[tuple[Difficulty, int], ...] = ()
    answer_window: timedelta | None = None
    enabled: bool = True
    created_by: str = ""
    updated_at: datetime | None = None


class PostState(StrEnum):
    """Where a daily post is in its life.

    claimed -> posted -> revealing -> revealed; claimed -> failed when posting gave up. A
    reveal the platform refused for good is `revealed` too, with its error and no revealed_at.
    """

    CLAIMED = "claimed"
    POSTED = "posted"
    FAILED = "failed"
    REVEALING = "revealing"
    REVEALED = "revealed"


@dataclass(frozen=True, slots=True)
class DailyPost:
    """One day's question in one channel; unique per (channel, local date)."""

    id: int
    channel: ChannelRef
    local_date: date
    question_id: str
    state: PostState
    claimed_at: datetime
    lease_until: datetime | None
    closes_at: datetime
    message_id: str | None = None
    posted_at: datetime | None = None
    revealed_at: datetime | None = None
    error: str | None = None
    first_claimed_at: datetime | None = None
    claimer: str | None = None

    @property
    def taken_over(self) -> bool:
        """Whether an earlier claimer had it: its post may have reached the platform."""
        return self.first_claimed_at is not None and self.claimed_at > self.first_claimed_at


@dataclass(frozen=True, slots=True)
class DailyResult:
    """One member's scored answer to a daily post (never the answer text)."""

    user_id: str
    display_name: str
    score: int
    covered: tuple[str, ...]
    answered_at: datetime
