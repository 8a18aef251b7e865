"""Daily posts paced to Slack's chat.postMessage rate, and retries after a 429 spread out.

Through the daily service, the real Slack chat adapter and slack_sdk, against the Slack double.
No test waits or reads a clock: the pacer and the engine's retry policy get a clock that stands
still (every post asks at the same instant, the worst case) and a sleep that records, and the
tests check the waits they asked for, that is, when each post was scheduled to go.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from doubles.slack import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, SlackDouble
from helpers import FixedClock
from prometheus_client import REGISTRY
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import web_client
from bot.adapters.slack.chat import SlackChatAdapter
from bot.adapters.slack.pacing import Pace, SlackPacer
from bot.engine.catalog import Catalog
from bot.engine.daily.delivery import RetryPolicy
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import DailyConfig, DailyService, Outcome
from bot.engine.errors import ChatPostError, SettingsError
from bot.engine.grading import Grader
from bot.engine.model import UserRef
from bot.engine.ports import ChatAdapter
from bot.engine.quiz import QuizService
from bot.engine.reply import Reply
from bot.platforms import StoreUser, slack_platform
from bot.settings import load_settings
from storage import SqlStore

OTHER_TEAM = "T0OTHER"
RETRY_AFTER = 2
NOTICE = Reply(title="Daily question")


class Waits:
    """A sleep that records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Rig:
    """The Slack chat adapter on the double, paced on a clock that stands at 0."""

    double: SlackDouble
    adapter: SlackChatAdapter
    paced: Waits
    """What the pacer waited before posts: a post that went at once waited nothing."""


def room(number: int, team: str = TEAM_ID) -> ChannelRef:
    return ChannelRef("slack", team, f"C{number:03d}")


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
def rig(double: SlackDouble) -> Rig:
    client = web_client(BOT_TOKEN, double.api_url)  # with slack_sdk's 429 retry, as the app's

    async def client_for(_: str) -> AsyncWebClient:
        return client

    paced = Waits()
    pacer = SlackPacer(Pace(), clock=lambda: 0.0, sleep=paced)
    return Rig(double, SlackChatAdapter(client_for, pacer), paced)


def daily_service(
    rig: Rig, store: SqlStore, clock: FixedClock, catalog: Catalog, retry: RetryPolicy
) -> DailyService:
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(7))
    return DailyService(quiz, store, {"slack": rig.adapter}, DailyConfig(retry=retry))


async def subscribe_channels(daily: DailyService, count: int) -> list[ChannelRef]:
    """`count` channels of one workspace, every one due at 09:00 UTC (the clock's time)."""
    rooms = [room(number) for number in range(count)]
    for channel in rooms:
        await daily.subscribe(
            channel,
            actor=UserRef("slack", TEAM_ID, "UADMIN", "Ada"),
            is_admin=True,
            post_time="09:00",
            timezone="UTC",
        )
    return rooms


def schedule(rig: Rig) -> list[float]:
    """When each chat.postMessage the double saw was scheduled to go, in order of time."""
    posts = len(rig.double.calls_to("chat.postMessage"))
    waited = rig.paced.waits
    return sorted([0.0] * (posts - len(waited)) + waited)


def most_within(times: Sequence[float], seconds: float) -> int:
    """The most of `times` that fall in any window `seconds` long."""
    ordered = sorted(times)
    return max(
        sum(1 for later in ordered[i:] if later < start + seconds)
        for i, start in enumerate(ordered)
    )


# -- the pace ------------------------------------------------------------------------------


async def test_sixty_channels_due_at_once_are_posted_at_slacks_pace(
    rig: Rig, store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    daily = daily_service(rig, store, clock, catalog, RetryPolicy(sleep=Waits()))
    rooms = await subscribe_channels(daily, 60)

    report = await daily.post_due()

    assert report.count(Outcome.POSTED) == 60
    posts = rig.double.calls_to("chat.postMessage")
    assert sorted(post.params["channel"] for post in posts) == [r.channel for r in rooms]
    slots = schedule(rig)
    pace = rig.adapter.pacer.pace
    # A burst of five at 09:00, then one a second: never more than the bucket holds.
    assert slots[: pace.burst] == [0.0] * pace.burst
    assert most_within(slots, 1.0) == pace.burst
    assert most_within(slots, 60.0) <= pace.per_minute + pace.burst - 1
    assert slots[-1] == 60 - pace.burst  # the last one, 55 s after the first


async def test_posts_in_one_channel_go_a_second_apart(rig: Rig) -> None:
    message = await rig.adapter.post(room(1), NOTICE)
    await rig.adapter.post_reply(room(1), message, NOTICE)  # the reveal, in the thread
    await rig.adapter.post(room(2), NOTICE)  # another channel is not held up

    assert rig.paced.waits == [1.0]
    assert len(rig.double.calls_to("chat.postMessage")) == 3


async def test_a_429_stops_the_workspaces_posts_for_its_retry_after_and_spends_the_burst(
    rig: Rig,
) -> None:
    rig.double.rate_limit_once("chat.postMessage", retry_after=3)

    with pytest.raises(ChatPostError) as refused:
        await rig.adapter.post(room(1), NOTICE)
    assert refused.value.transient
    assert refused.value.retry_after == 3.0
    # The adapter handles it, not slack_sdk: no retry of its own after the same Retry-After.
    assert len(rig.double.calls_to("chat.postMessage")) == 1

    await rig.adapter.post(room(2), NOTICE)
    await rig.adapter.post(room(3), NOTICE)
    await rig.adapter.post(room(1, team=OTHER_TEAM), NOTICE)

    # After the pause, one at a time: the bucket is empty, not a fresh burst of five. Another
    # workspace has limits of its own and posts at once.
    assert rig.paced.waits == [3.0, 4.0]
    assert len(rig.double.calls_to("chat.postMessage")) == 4


async def test_a_post_waiting_its_turn_when_a_429_arrives_goes_after_the_pause() -> None:
    waits: list[float] = []
    pacer: SlackPacer

    async def a_429_arrives_meanwhile(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            pacer.slow_down(TEAM_ID, 10.0)

    pacer = SlackPacer(Pace(burst=1), clock=lambda: 0.0, sleep=a_429_arrives_meanwhile)
    await pacer.wait_turn(TEAM_ID, "C1")  # at once
    await pacer.wait_turn(TEAM_ID, "C2")  # its second, then sent behind the pause

    assert waits == [1.0, 10.0]


# -- retries after a 429 ---------------------------------------------------------------------


async def test_retries_after_a_burst_of_429s_are_spread_over_the_retry_after(
    rig: Rig, store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    retried = Waits()
    policy = RetryPolicy(rng=random.Random(12), sleep=retried)
    daily = daily_service(rig, store, clock, catalog, policy)
    await subscribe_channels(daily, 20)
    for _ in range(20):
        rig.double.rate_limit_once("chat.postMessage", retry_after=RETRY_AFTER)
    limited = REGISTRY.get_sample_value(
        "awsquiz_platform_rate_limited_total", {"platform": "slack"}
    )

    report = await daily.post_due()

    assert report.count(Outcome.POSTED) == 20
    assert len(rig.double.calls_to("chat.postMessage")) == 40  # each refused once, then posted
    waits = retried.waits
    assert len(waits) == 20
    # Never before Slack allows, and not all at once: spread over a Retry-After's length.
    assert all(RETRY_AFTER <= wait < 2 * RETRY_AFTER for wait in waits)
    assert len(set(waits)) == 20
    assert max(waits) - min(waits) > RETRY_AFTER / 2
    assert most_within(waits, RETRY_AFTER / 10) <= 10  # in lockstep, one instant holds all 20
    counted = REGISTRY.get_sample_value(
        "awsquiz_platform_rate_limited_total", {"platform": "slack"}
    )
    assert (counted or 0) - (limited or 0) == 20


def test_the_wait_after_a_rate_limit_is_reproducible_with_a_seed() -> None:
    def waits(seed: int) -> list[float]:
        policy = RetryPolicy(rng=random.Random(seed))
        refused = ChatPostError("ratelimited", transient=True, retry_after=1.0)
        assert policy.rng is not None
        return [policy.wait_after(refused, attempt, policy.rng) for attempt in (1, 2, 3)]

    assert waits(5) == waits(5)
    assert waits(5) != waits(6)
    assert all(1.0 <= wait <= 2.0 for wait in waits(5))


# -- settings ---------------------------------------------------------------------------------


async def test_slack_posts_per_minute_sets_the_workspace_pace(
    double: SlackDouble, store: SqlStore, tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": double.api_url,
            "SLACK_POSTS_PER_MINUTE": "20",
        }
    )
    adapters: dict[str, ChatAdapter] = {}
    store_users: list[StoreUser] = []
    slack_platform(settings, adapters, store_users)
    for use in store_users:
        use(store)

    adapter = adapters["slack"]
    assert isinstance(adapter, SlackChatAdapter)
    assert adapter.pacer.pace == Pace(per_minute=20)
    assert adapter.pacer.pace.interval == 3.0


def test_slack_posts_per_minute_must_be_a_positive_number() -> None:
    with pytest.raises(SettingsError, match="SLACK_POSTS_PER_MINUTE"):
        load_settings({"SLACK_POSTS_PER_MINUTE": "0"})
