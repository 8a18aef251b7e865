"""The real AsyncIOScheduler driving the daily flow, on the real clock, with short triggers."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import helpers
import pytest

from bot.adapters.recording import RecordingAdapter
from bot.engine.catalog import Catalog
from bot.engine.daily.delivery import RetryPolicy
from bot.engine.daily.model import ChannelRef, PostState
from bot.engine.daily.schedule import next_post_at
from bot.engine.daily.service import DailyConfig, DailyService
from bot.engine.grading import Grader
from bot.engine.model import UserRef
from bot.engine.ports import SystemClock
from bot.engine.quiz import QuizService
from bot.scheduler import DailyScheduler, post_job_id
from storage import SqlStore

ROOM = ChannelRef("slack", "T1", "C1")
ADMIN = UserRef("slack", "T1", "UADMIN", "Ada")
DEADLINE = 5.0


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter(platform="slack")


@pytest.fixture
def daily(store: SqlStore, catalog: Catalog, adapter: RecordingAdapter) -> DailyService:
    quiz = QuizService(catalog, Grader(), store, SystemClock(), random.Random(3))
    config = DailyConfig(retry=RetryPolicy(base_delay=0.001))
    return DailyService(quiz, store, {"slack": adapter}, config)


@pytest.fixture
async def scheduler(daily: DailyService) -> AsyncIterator[DailyScheduler]:
    running = DailyScheduler(daily, sweep_interval=timedelta(seconds=0.2))
    yield running
    await running.shutdown()


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (briefly) for the scheduler to make `condition` true."""

    async def check() -> bool:
        return condition()

    await eventually_async(check)


async def eventually_async(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait (briefly) for the scheduler to make an awaited `condition` true."""
    await helpers.eventually(condition, "the scheduler's work", seconds=DEADLINE)


async def test_start_builds_one_cron_job_per_channel_in_its_timezone(
    daily: DailyService, scheduler: DailyScheduler
) -> None:
    await daily.subscribe(
        ROOM, actor=ADMIN, is_admin=True, post_time="23:45", timezone="Pacific/Kiritimati"
    )
    await scheduler.start()
    job = scheduler.scheduler.get_job(post_job_id(ROOM))
    assert job is not None
    expected = next_post_at(
        datetime.now(UTC),
        datetime.strptime("23:45", "%H:%M").time(),
        ZoneInfo("Pacific/Kiritimati"),
    )
    assert job.next_run_time == expected


async def test_subscription_changes_move_and_drop_the_job(
    daily: DailyService, scheduler: DailyScheduler
) -> None:
    await scheduler.start()
    assert scheduler.scheduler.get_job(post_job_id(ROOM)) is None
    await daily.subscribe(ROOM, actor=ADMIN, is_admin=True, post_time="07:10", timezone="UTC")
    job = scheduler.scheduler.get_job(post_job_id(ROOM))
    assert job is not None
    assert (job.next_run_time.hour, job.next_run_time.minute) == (7, 10)
    await daily.unsubscribe(ROOM, actor=ADMIN, is_admin=True)
    assert scheduler.scheduler.get_job(post_job_id(ROOM)) is None


async def test_the_sweep_catches_up_a_post_that_was_due_and_reveals_it_on_a_date_trigger(
    daily: DailyService, scheduler: DailyScheduler, adapter: RecordingAdapter, store: SqlStore
) -> None:
    # Due a minute ago, as if the bot had been down at post time.
    due = datetime.now(UTC) - timedelta(minutes=1)
    await daily.subscribe(
        ROOM,
        actor=ADMIN,
        is_admin=True,
        post_time=f"{due:%H:%M}",
        timezone="UTC",
        answer_window="10m",
    )
    await scheduler.start()
    await eventually(lambda: len(adapter.posts) == 1)
    post = await store.latest_post(ROOM)
    assert post is not None
    assert scheduler.scheduler.get_job(f"daily:reveal:{post.id}") is not None

    # Bring the close time forward to "in a moment" and let a short date trigger fire.
    soon = datetime.now(UTC) + timedelta(seconds=0.3)
    await store_close_at(store, post.id, soon)
    moved = await store.daily_post(post.id)
    assert moved is not None
    await scheduler.on_posted(moved)
    await eventually_async(lambda: _is_revealed(store, post.id))
    assert len(adapter.posts) == 2
    assert adapter.posts[1].thread_of == adapter.posts[0].message_id
    assert adapter.posts[1].reply.title == "Daily question: the answer"


async def _is_revealed(store: SqlStore, post_id: int) -> bool:
    return await _is_in_state(store, post_id, PostState.REVEALED)


async def store_close_at(store: SqlStore, post_id: int, moment: datetime) -> None:
    """Move a post's close time (the test's only write behind the Store's back)."""
    from sqlalchemy import update

    from storage.tables import DailyPostRow

    async with store.engine.begin() as connection:
        await connection.execute(
            update(DailyPostRow).where(DailyPostRow.id == post_id).values(closes_at=moment)
        )


async def test_shutdown_lets_a_reveal_in_flight_finish_instead_of_cancelling_it(
    daily: DailyService, scheduler: DailyScheduler, adapter: RecordingAdapter, store: SqlStore
) -> None:
    due = datetime.now(UTC) - timedelta(minutes=1)
    await daily.subscribe(
        ROOM, actor=ADMIN, is_admin=True, post_time=f"{due:%H:%M}", timezone="UTC"
    )
    await scheduler.start()
    post = await store.latest_post(ROOM)
    assert post is not None

    # The reveal is slow to reach the platform; shutdown arrives while it is being sent.
    adapter.latency = 0.5
    await store_close_at(store, post.id, datetime.now(UTC))
    await eventually_async(lambda: _is_in_state(store, post.id, PostState.REVEALING))
    await scheduler.shutdown()

    assert await _is_in_state(store, post.id, PostState.REVEALED)
    assert [p.thread_of for p in adapter.posts] == [None, adapter.posts[0].message_id]


async def _is_in_state(store: SqlStore, post_id: int, state: PostState) -> bool:
    post = await store.daily_post(post_id)
    return post is not None and post.state is state


async def test_the_sweep_picks_up_schedules_changed_by_another_process(
    daily: DailyService, scheduler: DailyScheduler, store: SqlStore, adapter: RecordingAdapter
) -> None:
    await scheduler.start()
    # `awsquiz daily set` in another process: same database, no listener of ours.
    elsewhere = DailyService(daily.quiz, store, {"slack": adapter}, daily.config)
    await elsewhere.subscribe(ROOM, actor=ADMIN, is_admin=True, post_time="06:30", timezone="UTC")

    await eventually(lambda: scheduler.scheduler.get_job(post_job_id(ROOM)) is not None)
    job = scheduler.scheduler.get_job(post_job_id(ROOM))
    assert (job.next_run_time.hour, job.next_run_time.minute) == (6, 30)

    first_run = job.next_run_time
    await scheduler.rebuild()  # nothing changed: the job is left as it was
    assert scheduler.scheduler.get_job(post_job_id(ROOM)).next_run_time == first_run

    await elsewhere.unsubscribe(ROOM, actor=ADMIN, is_admin=True)
    await eventually(lambda: scheduler.scheduler.get_job(post_job_id(ROOM)) is None)
