"""SqlStore as the DailyStore port, and migration 0002, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from bot.engine.daily.model import ChannelRef, DailyPost, PostState, Subscription
from bot.engine.model import Difficulty, Grade, NewAttempt, Source, UserRef, Verdict
from bot.engine.ports import QuestionChoice
from storage import SqlStore, open_store
from storage.database import alembic_config, create_engine

NOW: Final = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DAY: Final = date(2025, 3, 3)
LEASE: Final = timedelta(minutes=5)
CLOSES: Final = NOW + timedelta(hours=8)
CHANNEL: Final = ChannelRef("slack", "T1", "C1")
ALICE: Final = UserRef("slack", "T1", "U1", "Alice")
BOB: Final = UserRef("slack", "T1", "U2", "Bob")
SECRET_ANSWER: Final = "my private answer about Fargate"


async def claim(
    store: SqlStore,
    *,
    channel: ChannelRef = CHANNEL,
    day: date = DAY,
    question_id: str = "q1",
    now: datetime = NOW,
) -> DailyPost | None:
    """Claim a slot with the default close time and lease."""
    return await store.claim_post(channel, day, question_id, CLOSES, now, LEASE)


async def posted(
    store: SqlStore, *, channel: ChannelRef = CHANNEL, day: date = DAY, question_id: str = "q1"
) -> DailyPost:
    """Claim a slot and mark it posted; return the post as stored."""
    claimed = await claim(store, channel=channel, day=day, question_id=question_id)
    assert claimed is not None
    await store.mark_posted(claimed.id, f"m-{claimed.id}", NOW + timedelta(seconds=1))
    post = await store.daily_post(claimed.id)
    assert post is not None
    return post


def answer(
    user: UserRef,
    *,
    score: int = 70,
    at: datetime = NOW + timedelta(minutes=10),
    source: Source = Source.SLASH,
) -> NewAttempt:
    """A graded answer to a daily question; the source is what the store must override."""
    return NewAttempt(
        user=user,
        question_id="q1",
        topic_id="ecs",
        difficulty=Difficulty.ADVANCED,
        answer=SECRET_ANSWER,
        grade=Grade(score=score, verdict=Verdict.PARTIAL, covered=("fargate",), missed=("task",)),
        source=source,
        created_at=at,
    )


async def fetch_all(store: SqlStore, sql: str) -> Sequence[Any]:
    """Run raw SQL on the store's engine and return the rows."""
    async with store.engine.connect() as connection:
        return (await connection.execute(text(sql))).all()


# -- subscriptions ----------------------------------------------------------------------------


async def test_a_subscription_round_trips_every_field(store: SqlStore) -> None:
    subscription = Subscription(
        channel=CHANNEL,
        post_time=time(9, 30),
        timezone="Europe/Berlin",
        topics=("ecs", "lambda"),
        difficulty_mix=((Difficulty.INTERVIEW, 1), (Difficulty.BASIC, 3)),
        answer_window=timedelta(hours=4, minutes=15),
        enabled=True,
        created_by="U1",
        updated_at=datetime(2025, 3, 1, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
    )

    await store.save_subscription(subscription)
    loaded = await store.subscription(CHANNEL)

    assert loaded == subscription
    assert loaded.updated_at is not None
    assert loaded.updated_at.tzinfo is not None


async def test_a_subscription_with_defaults_round_trips_and_gets_a_time(store: SqlStore) -> None:
    await store.save_subscription(Subscription(CHANNEL, time(7, 0), "UTC"))

    loaded = await store.subscription(CHANNEL)

    assert loaded is not None
    assert (loaded.topics, loaded.difficulty_mix, loaded.answer_window) == ((), (), None)
    assert (loaded.enabled, loaded.created_by) == (True, "")
    assert loaded.updated_at is not None
    assert loaded.updated_at.tzinfo is not None


async def test_saving_a_subscription_again_replaces_it(store: SqlStore) -> None:
    await store.save_subscription(
        Subscription(CHANNEL, time(9, 0), "UTC", topics=("ecs",), updated_at=NOW)
    )
    replacement = Subscription(
        CHANNEL,
        time(18, 45),
        "America/New_York",
        difficulty_mix=((Difficulty.ADVANCED, 2),),
        answer_window=timedelta(minutes=90),
        enabled=False,
        created_by="U2",
        updated_at=NOW + timedelta(days=1),
    )

    await store.save_subscription(replacement)

    assert await store.subscription(CHANNEL) == replacement
    assert len(await fetch_all(store, "SELECT id FROM daily_subscriptions")) == 1


async def test_subscriptions_filter_and_order_by_channel(store: SqlStore) -> None:
    channels = [
        ChannelRef("slack", "T1", "C2"),
        ChannelRef("discord", "G1", "C1"),
        ChannelRef("slack", "T1", "C1"),
        ChannelRef("slack", "T2", "C1"),
    ]
    for channel in channels:
        await store.save_subscription(Subscription(channel, time(9, 0), "UTC", updated_at=NOW))
    paused = ChannelRef("slack", "T1", "C0")
    await store.save_subscription(
        Subscription(paused, time(9, 0), "UTC", enabled=False, updated_at=NOW)
    )

    def refs(found: Sequence[Subscription]) -> list[ChannelRef]:
        return [subscription.channel for subscription in found]

    assert refs(await store.subscriptions()) == sorted(channels)
    assert refs(await store.subscriptions(enabled_only=False)) == sorted([*channels, paused])
    assert refs(await store.subscriptions(platform="slack", workspace="T1")) == [
        ChannelRef("slack", "T1", "C1"),
        ChannelRef("slack", "T1", "C2"),
    ]
    assert refs(await store.subscriptions(platform="discord")) == [channels[1]]
    assert await store.subscriptions(platform="discord", workspace="T1") == []


async def test_the_same_channel_id_elsewhere_is_another_subscription(store: SqlStore) -> None:
    here = Subscription(CHANNEL, time(9, 0), "UTC", updated_at=NOW)
    other_workspace = Subscription(ChannelRef("slack", "T2", "C1"), time(10, 0), "UTC")
    other_platform = Subscription(ChannelRef("discord", "T1", "C1"), time(11, 0), "UTC")
    await store.save_subscription(here)

    assert await store.subscription(other_workspace.channel) is None
    assert await store.subscription(other_platform.channel) is None

    await store.save_subscription(other_workspace)
    await store.save_subscription(other_platform)

    assert await store.subscription(CHANNEL) == here
    for other in (other_workspace, other_platform):
        loaded = await store.subscription(other.channel)
        assert loaded is not None
        assert loaded.post_time == other.post_time


@pytest.mark.parametrize(
    ("subscription", "problem"),
    [
        (Subscription(CHANNEL, time(9, 0, 30), "UTC"), "seconds"),
        (Subscription(CHANNEL, time(9), "UTC", answer_window=timedelta(seconds=90)), "minutes"),
        (Subscription(CHANNEL, time(9), "UTC", answer_window=timedelta(0)), "minutes"),
        (
            Subscription(
                CHANNEL,
                time(9),
                "UTC",
                difficulty_mix=((Difficulty.BASIC, 1), (Difficulty.BASIC, 2)),
            ),
            "twice",
        ),
    ],
)
async def test_values_the_columns_cannot_hold_are_refused(
    store: SqlStore, subscription: Subscription, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        await store.save_subscription(subscription)

    assert await store.subscription(CHANNEL) is None


# -- claiming ---------------------------------------------------------------------------------


async def test_claim_post_round_trips_and_is_found_every_way(store: SqlStore) -> None:
    india = timezone(timedelta(hours=5, minutes=30))

    post = await store.claim_post(
        CHANNEL, DAY, "q1", CLOSES.astimezone(india), NOW.astimezone(india), LEASE
    )

    assert post is not None
    assert (post.channel, post.local_date, post.question_id) == (CHANNEL, DAY, "q1")
    assert (post.state, post.claimed_at, post.lease_until) == (PostState.CLAIMED, NOW, NOW + LEASE)
    assert post.closes_at == CLOSES
    assert (post.message_id, post.posted_at, post.revealed_at, post.error) == (
        None,
        None,
        None,
        None,
    )
    for moment in (post.claimed_at, post.lease_until, post.closes_at):
        assert moment is not None
        assert moment.tzinfo is not None
    assert await store.daily_post(post.id) == post
    assert await store.post_for(CHANNEL, DAY) == post
    assert await store.latest_post(CHANNEL) == post
    assert await store.daily_post(post.id + 1000) is None
    assert await store.post_for(CHANNEL, DAY + timedelta(days=1)) is None


async def test_a_held_claim_is_not_claimed_again(store: SqlStore) -> None:
    first = await claim(store, question_id="q1")

    assert first is not None
    assert await claim(store, question_id="q2", now=NOW + timedelta(minutes=1)) is None
    assert await claim(store, question_id="q3", now=NOW + LEASE) is None  # lease ends, not ended
    post = await store.post_for(CHANNEL, DAY)
    assert post == first


async def test_the_same_channel_id_elsewhere_has_its_own_slot(store: SqlStore) -> None:
    elsewhere = [ChannelRef("slack", "T2", "C1"), ChannelRef("discord", "T1", "C1")]

    here = await claim(store, question_id="q1")
    others = [await claim(store, channel=channel, question_id="q2") for channel in elsewhere]

    assert here is not None
    assert all(post is not None and post.question_id == "q2" for post in others)
    assert len({post.id for post in [here, *others] if post is not None}) == 3
    for channel in elsewhere:
        assert await store.latest_post(channel) in others
        assert await store.posted_question_ids(channel) == ["q2"]
    assert await store.posted_question_ids(CHANNEL) == ["q1"]


async def test_fifty_concurrent_claims_of_one_slot_have_one_winner(store: SqlStore) -> None:
    claims = await asyncio.gather(*(claim(store, question_id=f"q{index}") for index in range(50)))

    winners = [post for post in claims if post is not None]
    assert len(winners) == 1
    assert await store.post_for(CHANNEL, DAY) == winners[0]
    assert len(await fetch_all(store, "SELECT id FROM daily_posts")) == 1


async def test_two_store_engines_racing_two_hundred_slots_claim_each_once(
    database_url: str,
) -> None:
    """Two engines with their own pools stand in for two bot processes on one database."""
    channels = [ChannelRef("slack", "T1", f"C{index:03d}") for index in range(200)]
    async with await open_store(database_url) as first, await open_store(database_url) as second:
        results = await asyncio.gather(
            *(
                claim(store, channel=channel, question_id=f"{name}-{channel.channel}")
                for channel in channels
                for store, name in ((first, "first"), (second, "second"))
            )
        )
        winners = [post for post in results if post is not None]
        stored = await fetch_all(first, "SELECT channel, question_id FROM daily_posts")

    assert sorted(post.channel for post in winners) == channels
    assert len(stored) == 200
    assert {row.question_id for row in stored} == {post.question_id for post in winners}


async def test_two_engines_batching_claims_in_opposite_orders_neither_deadlock_nor_double(
    database_url: str,
) -> None:
    """Group-committed claims hold many row locks in one transaction: each process walks the
    slots in its own order, and neither a deadlock nor a second winner may result."""
    channels = [ChannelRef("slack", "T1", f"C{index:03d}") for index in range(300)]

    async def claim_all(store: SqlStore, order: list[ChannelRef], name: str) -> list[object]:
        return await asyncio.gather(
            *(
                store.claim_next_post(
                    channel,
                    DAY,
                    lambda history, today, c=channel: f"{name}-{c.channel}",  # type: ignore[misc]
                    CLOSES,
                    NOW,
                    LEASE,
                )
                for channel in order
            )
        )

    async with await open_store(database_url) as first, await open_store(database_url) as second:
        results = await asyncio.gather(
            claim_all(first, channels, "first"),
            claim_all(second, channels[::-1], "second"),
        )
        stored = await fetch_all(first, "SELECT channel FROM daily_posts")

    winners = [post for batch in results for post in batch if post is not None]
    assert len(winners) == len(channels)
    assert sorted(row.channel for row in stored) == [c.channel for c in channels]


async def test_claim_next_post_chooses_from_the_channel_history_newest_first(
    store: SqlStore,
) -> None:
    seen: list[list[str]] = []

    def choose(history: Sequence[str], workspace_today: Sequence[str]) -> str:
        seen.append(list(history))
        return f"q{len(seen)}"

    for offset in range(3):
        day = DAY + timedelta(days=offset)
        post = await store.claim_next_post(CHANNEL, day, choose, CLOSES, NOW, LEASE)
        assert post is not None
        assert post.question_id == f"q{offset + 1}"
    assert seen == [[], ["q1"], ["q2", "q1"]]
    assert await store.taken_slots({DAY, DAY + timedelta(days=2)}) == {
        (CHANNEL, DAY),
        (CHANNEL, DAY + timedelta(days=2)),
    }


async def test_only_the_holder_of_a_claim_can_renew_its_lease(store: SqlStore) -> None:
    first = await claim(store)
    assert first is not None
    assert await store.renew_claim(first.id, first.claimed_at, NOW + 2 * LEASE)
    renewed = await store.daily_post(first.id)
    assert renewed is not None
    assert renewed.lease_until == NOW + 2 * LEASE

    # Once the lease runs out another claimer takes over: the first can no longer renew.
    later = NOW + 3 * LEASE
    takeover = await claim(store, now=later)
    assert takeover is not None
    assert not await store.renew_claim(first.id, first.claimed_at, later + LEASE)
    assert await store.renew_claim(takeover.id, takeover.claimed_at, later + LEASE)

    await store.mark_posted(takeover.id, "m-1", later)
    assert not await store.renew_claim(takeover.id, takeover.claimed_at, later + 2 * LEASE)


async def test_a_claim_sees_the_questions_its_workspace_has_that_day_batch_included(
    store: SqlStore,
) -> None:
    await claim(store, channel=ChannelRef("slack", "T1", "C0"), question_id="q-earlier")
    await claim(store, channel=ChannelRef("slack", "T2", "C0"), question_id="other-workspace")
    await claim(store, day=DAY - timedelta(days=1), question_id="other-day")
    seen: dict[str, list[str]] = {}

    def choose_for(channel: ChannelRef) -> QuestionChoice:
        def choose(history: Sequence[str], workspace_today: Sequence[str]) -> str:
            seen[channel.channel] = list(workspace_today)
            return f"q-{channel.channel}"

        return choose

    rooms = [ChannelRef("slack", "T1", f"C{n}") for n in range(1, 4)]
    # Submitted together, so they share one batch (one transaction).
    await asyncio.gather(
        *(
            store.claim_next_post(r, DAY, choose_for(r), CLOSES, NOW, LEASE, shared=True)
            for r in rooms
        )
    )

    assert seen == {
        "C1": ["q-earlier"],
        "C2": ["q-earlier", "q-C1"],
        "C3": ["q-earlier", "q-C1", "q-C2"],
    }


async def test_a_stale_claim_is_taken_over_only_after_its_lease_with_its_question(
    store: SqlStore,
) -> None:
    original = await claim(store, question_id="q1")
    assert original is not None
    before = NOW + LEASE - timedelta(seconds=1)
    after = NOW + LEASE + timedelta(minutes=1)

    assert await claim(store, question_id="q2", now=before) is None
    assert await store.stale_claims(before) == []
    assert await store.stale_claims(after) == [original]

    taken = await claim(store, question_id="q2", now=after)

    assert taken is not None
    assert (taken.id, taken.question_id, taken.state) == (original.id, "q1", PostState.CLAIMED)
    assert (taken.claimed_at, taken.lease_until) == (after, after + LEASE)
    assert await store.stale_claims(after) == []
    assert await claim(store, question_id="q3", now=after + timedelta(seconds=1)) is None


async def test_concurrent_takeovers_of_a_stale_claim_have_one_winner(store: SqlStore) -> None:
    await claim(store)
    later = NOW + timedelta(hours=1)

    claims = await asyncio.gather(
        *(claim(store, question_id=f"q{index}", now=later) for index in range(30))
    )

    winners = [post for post in claims if post is not None]
    assert len(winners) == 1
    assert winners[0].question_id == "q1"


async def test_a_posted_or_failed_post_is_never_claimed_again(store: SqlStore) -> None:
    post = await posted(store)
    failed = await claim(store, channel=ChannelRef("slack", "T1", "C2"))
    assert failed is not None
    await store.mark_failed(failed.id, "channel_not_found", NOW + timedelta(minutes=1))
    much_later = NOW + timedelta(days=2)

    assert await claim(store, now=much_later) is None
    assert await claim(store, channel=failed.channel, now=much_later) is None
    assert await store.stale_claims(much_later) == []
    assert (post.state, post.message_id) == (PostState.POSTED, f"m-{post.id}")
    assert (post.posted_at, post.lease_until) == (NOW + timedelta(seconds=1), None)
    given_up = await store.daily_post(failed.id)
    assert given_up is not None
    assert (given_up.state, given_up.error, given_up.lease_until) == (
        PostState.FAILED,
        "channel_not_found",
        None,
    )


async def test_a_late_mark_posted_does_not_move_a_post_backwards(store: SqlStore) -> None:
    post = await posted(store)
    assert await store.claim_reveal(post.id, CLOSES, LEASE)
    await store.mark_revealed(post.id, CLOSES + timedelta(minutes=1))

    await store.mark_posted(post.id, "m-late", CLOSES + timedelta(minutes=2))
    await store.mark_failed(post.id, "too late", CLOSES + timedelta(minutes=2))

    revealed = await store.daily_post(post.id)
    assert revealed is not None
    assert (revealed.state, revealed.message_id, revealed.error) == (
        PostState.REVEALED,
        f"m-{post.id}",
        None,
    )


# -- posts by channel and workspace -----------------------------------------------------------


async def test_question_ids_of_the_channel_and_of_the_workspace(store: SqlStore) -> None:
    for offset, question_id in ((0, "q1"), (2, "q3"), (1, "q2")):
        await claim(store, day=DAY + timedelta(days=offset), question_id=question_id)
    await claim(store, channel=ChannelRef("slack", "T1", "C2"), question_id="q9")
    await claim(store, channel=ChannelRef("slack", "T1", "C3"), question_id="q1")
    await claim(store, channel=ChannelRef("slack", "T2", "C1"), question_id="other-workspace")
    await claim(store, channel=ChannelRef("discord", "T1", "C2"), question_id="other-platform")
    await claim(
        store,
        channel=ChannelRef("slack", "T1", "C4"),
        day=DAY - timedelta(days=1),
        question_id="other-day",
    )

    latest = await store.latest_post(CHANNEL)

    assert latest is not None
    assert latest.question_id == "q3"
    assert await store.posted_question_ids(CHANNEL) == ["q3", "q2", "q1"]
    assert await store.latest_post(ChannelRef("slack", "T1", "C9")) is None


# -- revealing --------------------------------------------------------------------------------


async def test_due_reveals_are_closed_posts_and_stale_reveals(store: SqlStore) -> None:
    open_post = await posted(store, channel=ChannelRef("slack", "T1", "C1"))
    closed = await posted(store, channel=ChannelRef("slack", "T1", "C2"))
    await claim(store, channel=ChannelRef("slack", "T1", "C3"))  # claimed, never posted
    assert await store.claim_reveal(closed.id, CLOSES, LEASE)

    assert await store.due_reveals(CLOSES - timedelta(seconds=1)) == []
    due = await store.due_reveals(CLOSES)
    assert [post.id for post in due] == [open_post.id]
    stale = await store.due_reveals(CLOSES + LEASE + timedelta(seconds=1))
    assert sorted(post.id for post in stale) == sorted([open_post.id, closed.id])


async def test_claim_reveal_has_one_winner_and_a_stale_reveal_is_retaken(store: SqlStore) -> None:
    post = await posted(store)

    wins = await asyncio.gather(*(store.claim_reveal(post.id, CLOSES, LEASE) for _ in range(20)))

    assert sorted(wins) == [False] * 19 + [True]
    revealing = await store.daily_post(post.id)
    assert revealing is not None
    assert (revealing.state, revealing.lease_until) == (PostState.REVEALING, CLOSES + LEASE)
    assert not await store.claim_reveal(post.id, CLOSES + LEASE, LEASE)

    retry_at = CLOSES + LEASE + timedelta(seconds=1)
    retakes = await asyncio.gather(
        *(store.claim_reveal(post.id, retry_at, LEASE) for _ in range(20))
    )

    assert retakes.count(True) == 1
    await store.mark_revealed(post.id, retry_at + timedelta(seconds=5))
    revealed = await store.daily_post(post.id)
    assert revealed is not None
    assert (revealed.state, revealed.lease_until) == (PostState.REVEALED, None)
    assert revealed.revealed_at == retry_at + timedelta(seconds=5)
    assert not await store.claim_reveal(post.id, retry_at + timedelta(days=1), LEASE)
    assert await store.due_reveals(retry_at + timedelta(days=1)) == []


async def test_only_posted_or_stale_revealing_posts_can_be_claimed_for_reveal(
    store: SqlStore,
) -> None:
    claimed = await claim(store)
    assert claimed is not None

    assert not await store.claim_reveal(claimed.id, CLOSES, LEASE)
    assert not await store.claim_reveal(claimed.id + 1000, CLOSES, LEASE)


# -- answers ----------------------------------------------------------------------------------


async def test_a_daily_answer_round_trips_as_a_daily_attempt(store: SqlStore) -> None:
    post = await posted(store)

    stored = await store.record_daily_attempt(answer(ALICE), post.id)

    assert stored is not None
    assert (stored.source, stored.channel, stored.answer) == (Source.DAILY, "C1", SECRET_ANSWER)
    assert await store.daily_answer(post.id, ALICE) == stored
    assert await store.attempts(ALICE) == [stored]
    assert await store.daily_answer(post.id, BOB) is None
    assert await store.record_daily_attempt(answer(ALICE, score=100), post.id) is None
    assert [attempt.score for attempt in await store.attempts(ALICE)] == [70]
    # A daily answer counts in the channel's leaderboard like any other.
    (row,) = await store.leaderboard("slack", "T1", channel="C1")
    assert (row.user, row.points) == (ALICE, 70)


async def test_thirty_concurrent_answers_of_one_member_store_one(store: SqlStore) -> None:
    post = await posted(store)

    stored = await asyncio.gather(
        *(store.record_daily_attempt(answer(ALICE, score=index), post.id) for index in range(30))
    )

    kept = [attempt for attempt in stored if attempt is not None]
    assert len(kept) == 1
    assert await store.daily_answer(post.id, ALICE) == kept[0]
    assert len(await fetch_all(store, "SELECT id FROM attempts")) == 1
    assert len(await fetch_all(store, "SELECT id FROM users")) == 1


async def test_a_hundred_members_answering_at_once_are_all_stored(store: SqlStore) -> None:
    post = await posted(store)
    members = [UserRef("slack", "T1", f"U{index:03d}", f"Member {index}") for index in range(100)]

    stored = await asyncio.gather(
        *(
            store.record_daily_attempt(answer(member, score=index), post.id)
            for index, member in enumerate(members)
        )
    )

    assert all(attempt is not None for attempt in stored)
    results = await store.daily_results(post.id)
    assert len(results) == 100
    assert {result.user_id: result.score for result in results} == {
        member.user: index for index, member in enumerate(members)
    }


async def test_the_same_member_answers_each_daily_post_once(store: SqlStore) -> None:
    monday = await posted(store)
    tuesday = await posted(store, day=DAY + timedelta(days=1), question_id="q2")

    assert await store.record_daily_attempt(answer(ALICE), monday.id) is not None
    assert await store.record_daily_attempt(answer(ALICE), tuesday.id) is not None
    # Attempts outside any daily post are never limited by the one-answer key.
    await store.record_attempt(answer(ALICE))
    await store.record_attempt(answer(ALICE))

    assert len(await store.attempts(ALICE)) == 4


async def test_an_answer_to_a_post_of_another_workspace_is_refused(store: SqlStore) -> None:
    post = await posted(store)
    stranger = UserRef("slack", "T2", "U1", "Stranger")
    same_id_other_platform = UserRef("discord", "T1", "U1")

    for user in (stranger, same_id_other_platform):
        with pytest.raises(ValueError, match="no daily post"):
            await store.record_daily_attempt(answer(user), post.id)
    with pytest.raises(ValueError, match="no daily post"):
        await store.record_daily_attempt(answer(ALICE), post.id + 1000)

    assert await fetch_all(store, "SELECT id FROM attempts") == []
    assert await store.daily_answer(post.id, stranger) is None


async def test_daily_results_rank_best_first_earlier_wins_and_hide_answers(
    store: SqlStore,
) -> None:
    post = await posted(store)
    carol = UserRef("slack", "T1", "U3", "Carol")
    answers = [
        (ALICE, 80, 30),
        (BOB, 95, 40),
        (carol, 80, 20),
        (UserRef("slack", "T1", "U4"), 10, 5),
    ]
    for user, score, minutes in answers:
        await store.record_daily_attempt(
            answer(user, score=score, at=NOW + timedelta(minutes=minutes)), post.id
        )

    results = await store.daily_results(post.id)

    assert [(result.user_id, result.display_name, result.score) for result in results] == [
        ("U2", "Bob", 95),
        ("U3", "Carol", 80),
        ("U1", "Alice", 80),
        ("U4", "", 10),
    ]
    assert results[1].answered_at == NOW + timedelta(minutes=20)
    assert results[1].answered_at.tzinfo is not None
    assert results[0].covered == ("fargate",)
    assert SECRET_ANSWER not in repr(results)
    assert await store.daily_results(post.id + 1000) == []


async def test_daily_history_lists_posted_days_with_gaps_as_none(store: SqlStore) -> None:
    days = [DAY + timedelta(days=offset) for offset in range(6)]
    posts = [await posted(store, day=day, question_id=f"q{day.day}") for day in days[:4]]
    await claim(store, day=days[4])  # still only claimed: not a posted day
    given_up = await claim(store, day=days[5])
    assert given_up is not None
    await store.mark_failed(given_up.id, "rate limited", NOW)
    assert await store.claim_reveal(posts[1].id, CLOSES, LEASE)
    assert await store.claim_reveal(posts[0].id, CLOSES, LEASE)
    await store.mark_revealed(posts[0].id, CLOSES)
    await store.record_daily_attempt(answer(ALICE, score=60), posts[0].id)
    await store.record_daily_attempt(answer(ALICE, score=90), posts[2].id)
    await store.record_daily_attempt(answer(BOB, score=40), posts[1].id)
    elsewhere = await posted(store, channel=ChannelRef("slack", "T1", "C2"), day=days[1])
    await store.record_daily_attempt(answer(ALICE, score=100), elsewhere.id)

    history = await store.daily_history(CHANNEL, ALICE, 10)

    assert history == [(days[3], None), (days[2], 90), (days[1], None), (days[0], 60)]
    assert await store.daily_history(CHANNEL, ALICE, 2) == [(days[3], None), (days[2], 90)]
    assert await store.daily_history(CHANNEL, BOB, 10) == [
        (days[3], None),
        (days[2], None),
        (days[1], 40),
        (days[0], None),
    ]
    # A member of another workspace with the same id never sees these scores.
    assert await store.daily_history(CHANNEL, UserRef("slack", "T2", "U1"), 10) == [
        (day, None) for day in reversed(days[:4])
    ]
    assert await store.daily_history(CHANNEL, ALICE, 0) == []
    assert await store.daily_history(ChannelRef("slack", "T2", "C1"), ALICE, 10) == []


async def test_removing_a_daily_post_keeps_its_answers_as_plain_attempts(store: SqlStore) -> None:
    post = await posted(store)
    await store.record_daily_attempt(answer(ALICE), post.id)

    async with store.engine.begin() as connection:
        await connection.execute(text("DELETE FROM daily_posts"))

    (kept,) = await store.attempts(ALICE)
    assert (kept.score, kept.source) == (70, Source.DAILY)
    assert await fetch_all(store, "SELECT id FROM attempts WHERE daily_post_id IS NOT NULL") == []


# -- migration 0002 ---------------------------------------------------------------------------


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if direction == "up":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def _schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        "attempt_columns": {column["name"] for column in inspector.get_columns("attempts")},
        "post_columns": {column["name"] for column in inspector.get_columns("daily_posts")},
        "attempt_uniques": {
            unique["name"] for unique in inspector.get_unique_constraints("attempts")
        },
        "attempt_fks": {
            (fk["name"], fk["referred_table"], fk["options"].get("ondelete"))
            for fk in inspector.get_foreign_keys("attempts")
        },
        # PostgreSQL also lists the index behind each unique constraint; those are not ours.
        "post_indexes": {
            index["name"]
            for index in inspector.get_indexes("daily_posts")
            if "duplicates_constraint" not in index
        },
        "attempt_checks": {check["name"] for check in inspector.get_check_constraints("attempts")},
        "version": connection.execute(text("SELECT version_num FROM alembic_version")).scalar(),
    }


SEED_0001: Final = [
    "INSERT INTO users (id, platform, workspace, user_id, display_name, created_at) "
    "VALUES (1, 'slack', 'T1', 'U1', 'Alice', '2025-03-01 12:00:00+00:00')",
    "INSERT INTO attempts (user_id, platform, workspace, question_id, topic_id, difficulty, "
    "answer, score, verdict, covered, missed, source, hints_used, channel, created_at) "
    "VALUES (1, 'slack', 'T1', 'q1', 'ecs', 'basic', 'an answer', 55, 'partial', '[]', '[]', "
    "'daily', 0, 'C1', '2025-03-01 12:00:00+00:00')",
    "INSERT INTO daily_posts (platform, workspace, channel, local_date, question_id, state, "
    "claimed_at, message_id) "
    "VALUES ('slack', 'T1', 'C1', '2025-03-01', 'q1', 'posted', '2025-03-01 09:00:00+00:00', 'm1')",
]


async def test_migration_0002_applies_on_0001_keeps_data_and_downgrades(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "up", "0001")
            for statement in SEED_0001:
                await connection.execute(text(statement))
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "up", "0002")
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "up", "0002")  # idempotent
        async with engine.connect() as connection:
            upgraded = await connection.run_sync(_schema)
            carried_sql = "SELECT a.score, a.daily_post_id, p.error, p.message_id"
            carried = (
                await connection.execute(text(f"{carried_sql} FROM attempts a, daily_posts p"))
            ).one()
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "down", "0001")
        async with engine.connect() as connection:
            downgraded = await connection.run_sync(_schema)
            kept: Sequence[int] = (
                (await connection.execute(text("SELECT score FROM attempts"))).scalars().all()
            )
            posts = (await connection.execute(text("SELECT message_id FROM daily_posts"))).all()
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "up", "0002")
        async with engine.connect() as connection:
            again = await connection.run_sync(_schema)
    finally:
        await engine.dispose()

    assert upgraded["version"] == "0002"
    assert {"daily_post_id"} <= upgraded["attempt_columns"]
    assert {"error"} <= upgraded["post_columns"]
    assert "uq_attempts_daily_post_id_user_id" in upgraded["attempt_uniques"]
    assert (
        "fk_attempts_daily_post_id_daily_posts",
        "daily_posts",
        "SET NULL",
    ) in upgraded["attempt_fks"]
    assert {
        "ix_daily_posts_state_lease_until",
        "ix_daily_posts_state_closes_at",
    } <= upgraded["post_indexes"]
    # SQLite rebuilds attempts to add the key; its CHECK constraints must survive the copy.
    assert {"ck_attempts_score", "ck_attempts_source"} <= upgraded["attempt_checks"]
    assert tuple(carried) == (55, None, None, "m1")

    assert downgraded["version"] == "0001"
    assert "daily_post_id" not in downgraded["attempt_columns"]
    assert "error" not in downgraded["post_columns"]
    assert downgraded["attempt_uniques"] == set()
    assert {name for name, _, _ in downgraded["attempt_fks"]} == {"fk_attempts_user_id_users"}
    assert downgraded["post_indexes"] == set()
    assert (list(kept), [tuple(row) for row in posts]) == ([55], [("m1",)])

    assert again == upgraded
