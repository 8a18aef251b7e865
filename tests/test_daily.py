"""The daily question end to end: subscribe, post exactly once, answer privately, reveal, streaks.

Driven through the real DailyService and SqlStore (SQLite, and PostgreSQL when configured),
posting through the RecordingAdapter, with a fixed clock.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from helpers import FixedClock

from bot.adapters.recording import RecordingAdapter
from bot.engine.catalog import Catalog
from bot.engine.daily.delivery import RetryPolicy
from bot.engine.daily.model import ChannelRef, PostState, Subscription
from bot.engine.daily.service import DailyConfig, DailyService, Outcome, daily_streak
from bot.engine.errors import (
    ChatPostError,
    InvalidOptionError,
    NotAllowedError,
    UnknownTopicError,
)
from bot.engine.grading import Grader
from bot.engine.model import Source, UserRef
from bot.engine.ports import SystemClock
from bot.engine.quiz import QuizService
from bot.engine.reply import Reply
from storage import SqlStore

FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)
TEAM = "T1"
ROOM = ChannelRef("slack", TEAM, "C1")
ADMIN = UserRef("slack", TEAM, "UADMIN", "Ada")
# 08:00 UTC on Monday 2025-03-03 is 09:00 in Europe/Paris.
POST_INSTANT = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def member(name: str) -> UserRef:
    return UserRef("slack", TEAM, f"U{name.upper()}", name)


def build(
    store: SqlStore,
    clock: FixedClock,
    catalog: Catalog,
    adapter: RecordingAdapter,
    *,
    shared_question: bool = False,
) -> DailyService:
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(7))
    settings = DailyConfig(retry=FAST_RETRY, shared_question=shared_question)
    return DailyService(quiz, store, {adapter.platform: adapter}, settings)


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter(platform="slack")


@pytest.fixture
def daily(
    store: SqlStore, clock: FixedClock, catalog: Catalog, adapter: RecordingAdapter
) -> DailyService:
    return build(store, clock, catalog, adapter)


async def subscribe(daily: DailyService, channel: ChannelRef = ROOM, **options: object) -> None:
    await daily.subscribe(
        channel,
        actor=UserRef(channel.platform, channel.workspace, "UADMIN", "Ada"),
        is_admin=True,
        post_time=str(options.pop("post_time", "09:00")),
        timezone=str(options.pop("timezone", "Europe/Paris")),
        **options,  # type: ignore[arg-type]
    )


async def test_subscribe_describes_the_schedule_with_next_post(
    daily: DailyService, clock: FixedClock
) -> None:
    clock.set(datetime(2025, 3, 3, 6, 0, tzinfo=UTC))
    reply = await daily.subscribe(
        ROOM, actor=ADMIN, is_admin=True, post_time="09:00", timezone="europe/paris"
    )
    assert reply.title == "Daily question is on"
    fields = {f.name: f.value for f in reply.fields}
    assert fields["Posts at"] == "09:00 Europe/Paris"
    assert fields["Next question"] == "Mon 03 Mar 09:00 Europe/Paris (08:00 UTC)"
    stored = await daily.store.subscription(ROOM)
    assert stored is not None
    assert stored.post_time == time(9, 0)
    assert stored.timezone == "Europe/Paris"


async def test_a_non_admin_cannot_change_the_schedule(daily: DailyService) -> None:
    await subscribe(daily)
    with pytest.raises(NotAllowedError, match="Only workspace admins"):
        await daily.subscribe(
            ROOM, actor=member("bob"), is_admin=False, post_time="07:00", timezone="UTC"
        )
    with pytest.raises(NotAllowedError):
        await daily.unsubscribe(ROOM, actor=member("bob"), is_admin=False)
    kept = await daily.store.subscription(ROOM)
    assert kept is not None
    assert kept.post_time == time(9, 0)
    assert kept.enabled


async def test_an_admin_of_another_workspace_cannot_touch_this_channel(
    daily: DailyService,
) -> None:
    outsider = UserRef("slack", "T2", "UADMIN", "Eve")
    with pytest.raises(NotAllowedError, match="your own workspace"):
        await daily.subscribe(
            ROOM, actor=outsider, is_admin=True, post_time="09:00", timezone="UTC"
        )


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"post_time": "25:00"}, InvalidOptionError, "HH:MM"),
        ({"post_time": "9am?"}, InvalidOptionError, "HH:MM"),
        ({"timezone": "Europe/Londn"}, InvalidOptionError, "Europe/London"),
        ({"topics": []}, InvalidOptionError, "at least one topic"),
        ({"topics": ["quantum"]}, UnknownTopicError, "AWS Lambda"),
        ({"answer_window": "forever"}, InvalidOptionError, "not a duration"),
    ],
)
async def test_bad_input_is_refused_and_the_old_subscription_is_unchanged(
    daily: DailyService, options: dict[str, object], error: type[Exception], message: str
) -> None:
    await subscribe(daily, topics=["lambda"])
    with pytest.raises(error, match=message):
        await subscribe(daily, ROOM, **options)
    kept = await daily.store.subscription(ROOM)
    assert kept is not None
    assert (kept.post_time, kept.timezone, kept.topics) == (time(9, 0), "Europe/Paris", ("lambda",))


async def test_the_post_goes_out_once_at_post_time_with_an_answer_button(
    daily: DailyService, clock: FixedClock, adapter: RecordingAdapter
) -> None:
    clock.set(POST_INSTANT - timedelta(hours=1))
    await subscribe(daily, topics=["ecs"])
    assert (await daily.post_due()).outcomes == {}
    assert adapter.posts == []

    clock.set(POST_INSTANT)
    first = await daily.post_due()
    second = await daily.post_due()
    assert first.outcomes == {ROOM: Outcome.POSTED}
    assert second.outcomes == {}  # the taken slot is skipped before any claim
    assert len(adapter.posts) == 1
    posted = adapter.posts[0]
    assert posted.reply.title.startswith("Daily question · Amazon ECS")
    post = await daily.store.latest_post(ROOM)
    assert post is not None
    assert post.state is PostState.POSTED
    assert post.message_id == posted.message_id
    assert [a.value for a in posted.reply.actions] == [f"daily:{post.id}"]


async def test_concurrent_rounds_post_exactly_once(
    daily: DailyService, clock: FixedClock, adapter: RecordingAdapter
) -> None:
    await subscribe(daily)
    clock.set(POST_INSTANT)
    await asyncio.gather(*(daily.post_due() for _ in range(10)), daily.post_if_due(ROOM))
    assert len(adapter.posts) == 1


async def test_catch_up_within_grace_posts_and_older_misses_are_skipped(
    daily: DailyService, clock: FixedClock, adapter: RecordingAdapter
) -> None:
    other = ChannelRef("slack", TEAM, "C2")
    await subscribe(daily)  # 09:00 Paris = 08:00 UTC
    await subscribe(daily, other, post_time="06:00")  # 05:00 UTC, missed by 4 hours
    clock.set(POST_INSTANT + timedelta(minutes=90))
    report = await daily.post_due()
    assert report.outcomes == {ROOM: Outcome.POSTED}
    assert [p.channel for p in adapter.posts] == [ROOM]


async def test_a_channel_never_repeats_a_question_until_its_pool_is_exhausted(
    daily: DailyService, clock: FixedClock, adapter: RecordingAdapter, catalog: Catalog
) -> None:
    await subscribe(daily, topics=["step functions"])
    pool = {q.id for q in catalog.select(topic_ids={"step-functions"})}
    clock.set(POST_INSTANT)
    for _ in range(len(pool) + 1):
        await daily.post_due()
        clock.advance(timedelta(days=1))
    asked = [p.reply.question_id for p in adapter.posts]
    assert len(asked) == len(pool) + 1
    assert set(asked[: len(pool)]) == pool
    assert asked[len(pool)] == asked[0]  # then the least recently posted comes back


async def test_shared_question_gives_every_channel_of_a_workspace_the_same_one(
    store: SqlStore, clock: FixedClock, catalog: Catalog, adapter: RecordingAdapter
) -> None:
    daily = build(store, clock, catalog, adapter, shared_question=True)
    rooms = [ChannelRef("slack", TEAM, f"C{i}") for i in range(4)]
    elsewhere = ChannelRef("slack", "T9", "C0")
    for room in [*rooms, elsewhere]:
        await subscribe(daily, room)
    clock.set(POST_INSTANT)
    for room in rooms:  # one after another, as cron would fire them
        await daily.post_if_due(room)
    questions = {p.reply.question_id for p in adapter.posts if p.channel in rooms}
    assert len(questions) == 1


async def test_shared_question_holds_when_every_channel_posts_at_the_same_moment(
    store: SqlStore, clock: FixedClock, catalog: Catalog, adapter: RecordingAdapter
) -> None:
    daily = build(store, clock, catalog, adapter, shared_question=True)
    rooms = [ChannelRef("slack", TEAM, f"C{i}") for i in range(6)]
    for room in rooms:
        await subscribe(daily, room)
    clock.set(POST_INSTANT)

    report = await daily.post_due()  # one round: the claims share one batch

    assert report.count(Outcome.POSTED) == len(rooms)
    assert len({p.reply.question_id for p in adapter.posts}) == 1


async def test_members_answer_privately_once_and_the_reveal_ranks_them(
    daily: DailyService, clock: FixedClock, adapter: RecordingAdapter, catalog: Catalog
) -> None:
    await subscribe(daily, topics=["ecs"], answer_window="2h")
    clock.set(POST_INSTANT)
    await daily.post_due()
    post = await daily.store.latest_post(ROOM)
    assert post is not None
    reference = catalog.question(post.question_id).reference

    best = await daily.answer(member("ann"), post.id, reference)
    clock.advance(timedelta(minutes=5))
    weak = await daily.answer(member("bob"), post.id, "containers <!channel> @everyone")
    again = await daily.answer(member("ann"), post.id, "a second try")

    assert best.score is not None
    assert best.score >= 90
    assert best.ephemeral
    assert all(f.name != "Reference answer" for f in best.fields)  # kept for the reveal
    assert weak.score is not None
    assert weak.score < best.score
    assert again.title == "Already answered"
    assert f"You scored {best.score}/100" in again.text

    clock.set(post.closes_at + timedelta(seconds=1))
    late = await daily.answer(member("cat"), post.id, "too late")
    assert late.title == "This question is closed"
    assert await daily.reveal_due() == 1
    assert await daily.reveal_due() == 0  # exactly once

    reveal = adapter.posts[-1]
    assert reveal.thread_of == post.message_id
    fields = {f.name: f.value for f in reveal.reply.fields}
    assert fields["Reference answer"] == reference
    assert fields["Ranking (2 people answered)"].splitlines() == [
        f"1. ann: {best.score}",
        f"2. bob: {weak.score}",
    ]
    assert "containers" not in str(reveal.reply)  # nobody's answer text is shown
    revealed = await daily.store.daily_post(post.id)
    assert revealed is not None
    assert revealed.state is PostState.REVEALED


async def test_daily_answers_count_in_the_channel_leaderboard(
    daily: DailyService, store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    await subscribe(daily)
    clock.set(POST_INSTANT)
    await daily.post_due()
    post = await daily.store.latest_post(ROOM)
    assert post is not None
    await daily.answer(member("ann"), post.id, catalog.question(post.question_id).reference)
    attempts = await store.attempts(member("ann"))
    assert [(a.source, a.channel) for a in attempts] == [(Source.DAILY, "C1")]
    board = await daily.quiz.leaderboard("slack", TEAM, channel="C1")
    assert [f.user.display_name for f in board.fields if f.user] == ["ann"]


async def test_an_answer_from_another_workspace_is_refused(
    daily: DailyService, clock: FixedClock
) -> None:
    await subscribe(daily)
    clock.set(POST_INSTANT)
    await daily.post_due()
    post = await daily.store.latest_post(ROOM)
    assert post is not None
    with pytest.raises(InvalidOptionError, match="does not exist here"):
        await daily.answer(UserRef("slack", "T2", "UANN", "ann"), post.id, "binpack")


async def test_streak_counts_consecutive_passing_days(
    daily: DailyService, clock: FixedClock, catalog: Catalog
) -> None:
    await subscribe(daily)
    ann = member("ann")
    clock.set(POST_INSTANT)
    for day in range(3):
        await daily.post_due()
        post = await daily.store.latest_post(ROOM)
        assert post is not None
        if day != 0:  # misses the first day
            answer = catalog.question(post.question_id).reference
            reply = await daily.answer(ann, post.id, answer)
            assert {f.name: f.value for f in reply.fields}["Streak"] == f"{day} day" + (
                "s" if day > 1 else ""
            )
        clock.advance(timedelta(days=1))
    assert await daily.streak(ann, ROOM) == 2


def test_streak_rules_skip_an_open_day_and_stop_at_a_miss_or_a_fail() -> None:
    d = [datetime(2025, 3, n, tzinfo=UTC).date() for n in range(1, 8)]
    assert daily_streak([(d[6], None), (d[5], 80), (d[4], 60), (d[3], None)], d[6]) == 2
    assert daily_streak([(d[6], None), (d[5], 80)], None) == 0
    assert daily_streak([(d[6], 90), (d[5], 20), (d[4], 90)], None) == 1
    assert daily_streak([], None) == 0


async def test_rate_limits_are_retried_and_permanent_failures_do_not_block_others(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = RecordingAdapter(
        platform="slack", rate_limit_every=2, retry_after=0.001, failing_channels=frozenset({"C0"})
    )
    daily = build(store, clock, catalog, adapter)
    rooms = [ChannelRef("slack", TEAM, f"C{i}") for i in range(6)]
    for room in rooms:
        await subscribe(daily, room)
    clock.set(POST_INSTANT)
    report = await daily.post_due()
    assert report.count(Outcome.POSTED) == 5
    assert report.outcomes[rooms[0]] is Outcome.FAILED
    assert adapter.rate_limited > 0
    assert sorted(p.channel.channel for p in adapter.posts) == ["C1", "C2", "C3", "C4", "C5"]
    failed = await store.post_for(rooms[0], POST_INSTANT.date())
    assert failed is not None
    assert failed.state is PostState.FAILED
    assert failed.error is not None
    assert "channel_not_found" in failed.error


async def test_a_post_that_fails_for_good_is_reported_to_the_failure_listeners(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = RecordingAdapter(platform="slack", failing_channels=frozenset({"C1"}))
    daily = build(store, clock, catalog, adapter)
    reported: list[tuple[str, str]] = []

    async def broken(_subscription: Subscription, _error: ChatPostError) -> None:
        raise RuntimeError("the report itself failed")

    async def record(subscription: Subscription, error: ChatPostError) -> None:
        reported.append((subscription.created_by, str(error)))

    daily.failure_listeners += [broken, record]  # one broken listener does not stop the next
    await subscribe(daily)
    clock.set(POST_INSTANT)
    assert await daily.post_now(ROOM) is Outcome.FAILED
    ((created_by, error),) = reported
    assert created_by == "UADMIN"
    assert "channel_not_found" in error


async def test_a_crash_between_claim_and_post_is_recovered_after_the_lease(
    daily: DailyService, store: SqlStore, clock: FixedClock, adapter: RecordingAdapter
) -> None:
    await subscribe(daily, topics=["s3"])
    clock.set(POST_INSTANT)
    # A process claimed the slot and died before posting.
    crashed = await store.claim_post(
        ROOM,
        POST_INSTANT.date(),
        "s3/versioning",
        POST_INSTANT + timedelta(hours=20),
        clock.now(),
        daily.config.lease,
    )
    assert crashed is not None
    assert (await daily.post_due()).outcomes == {}  # the slot is taken, if not yet posted
    assert await daily.recover_stale_claims() == 0  # lease still running
    clock.advance(daily.config.lease + timedelta(seconds=1))
    assert await daily.recover_stale_claims() == 1
    assert [p.reply.question_id for p in adapter.posts] == ["s3/versioning"]
    assert await daily.recover_stale_claims() == 0


async def test_unsubscribe_stops_posting_and_status_says_so(
    daily: DailyService, clock: FixedClock, adapter: RecordingAdapter
) -> None:
    await subscribe(daily)
    off = await daily.unsubscribe(ROOM, actor=ADMIN, is_admin=True)
    assert off.title == "Daily question is off"
    clock.set(POST_INSTANT)
    assert (await daily.post_due()).outcomes == {}
    assert adapter.posts == []
    status = await daily.status(ROOM)
    assert status.title == "Daily question is off"
    assert (await daily.status(ChannelRef("slack", TEAM, "C9"))).title == "No daily question here"


async def test_a_slow_post_keeps_its_claim_so_no_other_process_posts_it_again(
    store: SqlStore, catalog: Catalog
) -> None:
    # On the real clock, with a lease far shorter than the platform takes to answer.
    adapter = RecordingAdapter(platform="slack", latency=1.0)
    config = DailyConfig(retry=FAST_RETRY, lease=timedelta(seconds=0.3))

    def process() -> DailyService:
        quiz = QuizService(catalog, Grader(), store, SystemClock(), random.Random(7))
        return DailyService(quiz, store, {"slack": adapter}, config)

    sender, other = process(), process()
    await subscribe(sender)
    sending = asyncio.create_task(sender.post_now(ROOM))
    taken_over = 0
    while not sending.done():
        taken_over += await other.recover_stale_claims()
        await asyncio.sleep(0.05)

    assert await sending is Outcome.POSTED
    assert taken_over == 0
    assert len(adapter.posts) == 1


async def test_a_reveal_refused_for_good_is_reported_once_and_not_retried(
    daily: DailyService, store: SqlStore, clock: FixedClock, adapter: RecordingAdapter
) -> None:
    reported: list[str] = []

    async def record(_subscription: Subscription, error: ChatPostError) -> None:
        reported.append(str(error))

    daily.failure_listeners.append(record)
    await subscribe(daily, answer_window="1h")
    clock.set(POST_INSTANT)
    assert await daily.post_now(ROOM) is Outcome.POSTED
    adapter.failing_channels = frozenset({ROOM.channel})  # the bot lost the channel since

    clock.advance(timedelta(hours=2))
    assert await daily.reveal_due() == 0
    clock.advance(daily.config.lease * 3)
    assert await daily.reveal_due() == 0

    post = await store.latest_post(ROOM)
    assert post is not None
    assert post.state is PostState.REVEALED
    assert post.revealed_at is None
    assert post.error is not None
    assert "channel_not_found" in post.error
    assert len(reported) == 1
    assert len(adapter.posts) == 1  # the question only


async def test_a_process_without_the_platform_leaves_its_reveals_to_one_that_has_it(
    store: SqlStore, clock: FixedClock, catalog: Catalog, adapter: RecordingAdapter
) -> None:
    slack = build(store, clock, catalog, adapter)
    discord_only = build(store, clock, catalog, RecordingAdapter(platform="discord"))
    await subscribe(slack, answer_window="1h")
    clock.set(POST_INSTANT)
    await slack.post_now(ROOM)
    clock.advance(timedelta(hours=2))

    assert await discord_only.reveal_due() == 0
    untouched = await store.latest_post(ROOM)
    assert untouched is not None
    assert untouched.state is PostState.POSTED
    assert await slack.reveal_due() == 1


async def test_no_more_posts_are_in_flight_than_the_concurrency_limit(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    class CountingAdapter(RecordingAdapter):
        in_flight = 0
        most_in_flight = 0

        async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return await super().post(channel, reply, key=key)
            finally:
                self.in_flight -= 1

    adapter = CountingAdapter(platform="slack", latency=0.01)
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(7))
    daily = DailyService(quiz, store, {"slack": adapter}, DailyConfig(concurrency=3))
    rooms = [ChannelRef("slack", TEAM, f"C{i}") for i in range(12)]
    for room in rooms:
        await subscribe(daily, room)
    clock.set(POST_INSTANT)

    report = await daily.post_due()

    assert report.count(Outcome.POSTED) == len(rooms)
    assert adapter.most_in_flight == 3


class DownPlatform(RecordingAdapter):
    """A platform that answers every post with a passing error while `down`."""

    down: bool = True

    async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
        if self.down:
            raise ChatPostError("503 service unavailable", transient=True)
        return await super().post(channel, reply, key=key)


async def test_a_platform_down_past_the_retries_gets_the_post_later_while_answers_are_open(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = DownPlatform(platform="slack")
    daily = build(store, clock, catalog, adapter)
    await subscribe(daily, answer_window="2h")
    clock.set(POST_INSTANT)

    assert await daily.post_now(ROOM) is Outcome.DEFERRED
    waiting = await store.latest_post(ROOM)
    assert waiting is not None
    assert waiting.state is PostState.CLAIMED  # not given up: the lease will run out

    adapter.down = False
    clock.advance(daily.config.lease + timedelta(seconds=1))
    assert await daily.recover_stale_claims() == 1
    assert [p.channel for p in adapter.posts] == [ROOM]


async def test_a_post_still_not_out_when_its_answers_close_is_given_up(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = DownPlatform(platform="slack")
    daily = build(store, clock, catalog, adapter)
    await subscribe(daily, answer_window="10m")
    clock.set(POST_INSTANT)
    assert await daily.post_now(ROOM) is Outcome.DEFERRED

    adapter.down = False
    clock.advance(timedelta(minutes=11))
    assert await daily.recover_stale_claims() == 0

    given_up = await store.latest_post(ROOM)
    assert given_up is not None
    assert given_up.state is PostState.FAILED
    assert given_up.error == "answers closed before it was posted"
    assert adapter.posts == []


# -- killed mid post: nothing twice ------------------------------------------------------------


@dataclass
class KilledAfterSending(RecordingAdapter):
    """The platform takes each message, then the sender dies before hearing back (once each).

    The exception stands in for the process dying: the claim is left as a crash leaves it.
    """

    dying: bool = True

    async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
        message_id = await super().post(channel, reply, key=key)
        if self.dying:
            raise RuntimeError("killed before the message id was stored")
        return message_id

    async def post_reply(
        self, channel: ChannelRef, message_id: str, reply: Reply, *, key: str | None = None
    ) -> str:
        sent = await super().post_reply(channel, message_id, reply, key=key)
        if self.dying:
            raise RuntimeError("killed before the reveal was recorded")
        return sent


def run_of(
    store: SqlStore, clock: FixedClock, catalog: Catalog, adapter: RecordingAdapter, instance: str
) -> DailyService:
    """One run of a bot process named `instance` (each run claims under its own id)."""
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(7))
    config = DailyConfig(retry=FAST_RETRY, instance=instance)
    return DailyService(quiz, store, {adapter.platform: adapter}, config)


async def test_a_restart_takes_over_its_killed_runs_claim_at_once_and_finds_the_post(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = KilledAfterSending(platform="slack")
    killed = run_of(store, clock, catalog, adapter, "bot-1")
    await subscribe(killed)
    clock.set(POST_INSTANT)
    assert (await killed.post_due()).count(Outcome.DEFERRED) == 1
    left = await store.post_for(ROOM, POST_INSTANT.date())
    assert left is not None
    assert left.state is PostState.CLAIMED
    assert left.claimer == killed.claimer

    adapter.dying = False
    restarted = run_of(store, clock, catalog, adapter, "bot-1")
    clock.advance(timedelta(seconds=5))  # well inside the dead run's lease

    assert await restarted.recover_own_claims() == 1
    assert len(adapter.posts) == 1  # found where the platform had it, not posted again
    posted = await store.post_for(ROOM, POST_INSTANT.date())
    assert posted is not None
    assert (posted.state, posted.message_id) == (PostState.POSTED, adapter.posts[0].message_id)
    assert posted.first_claimed_at == left.claimed_at


async def test_another_instances_live_claim_waits_for_its_lease(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = KilledAfterSending(platform="slack")
    other = run_of(store, clock, catalog, adapter, "bot-1")
    await subscribe(other)
    clock.set(POST_INSTANT)
    await other.post_due()
    adapter.dying = False
    second = run_of(store, clock, catalog, adapter, "bot-2")

    assert await second.recover_own_claims() == 0  # bot-1 may still be sending: not ours
    assert await second.recover_stale_claims() == 0
    clock.advance(timedelta(minutes=6))  # bot-1's lease ran out: it is dead
    assert await second.recover_stale_claims() == 1
    assert len(adapter.posts) == 1


async def test_a_post_the_platform_never_got_is_sent_by_the_restart(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = DownPlatform(platform="slack")
    killed = run_of(store, clock, catalog, adapter, "bot-1")
    await subscribe(killed)
    clock.set(POST_INSTANT)
    await killed.post_due()  # down past the retries: the claim is left for later
    adapter.down = False

    restarted = run_of(store, clock, catalog, adapter, "bot-1")
    assert await restarted.recover_own_claims() == 1
    post = await store.post_for(ROOM, POST_INSTANT.date())
    assert post is not None
    assert post.state is PostState.POSTED
    assert [sent.key for sent in adapter.posts] == [f"daily:{post.id}"]


async def test_a_reveal_killed_after_sending_is_recorded_not_revealed_again(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    adapter = KilledAfterSending(platform="slack")
    adapter.dying = False
    killed = run_of(store, clock, catalog, adapter, "bot-1")
    await subscribe(killed, answer_window="1h")
    clock.set(POST_INSTANT)
    await killed.post_due()
    clock.advance(timedelta(hours=1))
    adapter.dying = True
    with pytest.raises(RuntimeError):
        await killed.reveal_due()
    post = await store.post_for(ROOM, POST_INSTANT.date())
    assert post is not None
    assert post.state is PostState.REVEALING

    adapter.dying = False
    restarted = run_of(store, clock, catalog, adapter, "bot-1")
    assert await restarted.recover_own_claims() == 1
    revealed = await store.post_for(ROOM, POST_INSTANT.date())
    assert revealed is not None
    assert revealed.state is PostState.REVEALED
    assert [p.thread_of for p in adapter.posts] == [None, post.message_id]
