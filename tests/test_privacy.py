"""Personal data: forget me, and the purge of removed workspaces, on SQLite and PostgreSQL.

Members' data is made the way members make it (questions asked and answered, a daily answer,
an interview answered in the DM), and every check reads the tables with plain SQL.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import FixedClock
from sqlalchemy import text

from bot.adapters.recording import RecordingAdapter
from bot.engine.catalog import Catalog
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import DailyService, Outcome
from bot.engine.grading import Grader
from bot.engine.interview import InterviewService
from bot.engine.model import UserRef
from bot.engine.outbox import Receipt
from bot.engine.privacy import CONFIRM_COMMAND, FORGET_CONFIRM_WINDOW, PrivacyService
from bot.engine.quiz import QuizService
from bot.engine.reply import Tone
from bot.engine.tutor import InterviewChange, Tutor, Where
from bot.scheduler import DailyScheduler
from storage import SqlStore, open_store
from storage import privacy as storage_privacy

ALICE = UserRef("slack", "T1", "U1", "Alice")
BOB = UserRef("slack", "T1", "U2", "Bob")
ALICE_ELSEWHERE = UserRef("slack", "T2", "U1", "Alice")
"""The same Slack user id in another workspace: another scope, never touched with T1's."""
DISCORD_ALICE = UserRef("discord", "T1", "U1", "Alice")
"""Same ids on another platform: another scope too."""
ROOM = ChannelRef("slack", "T1", "C1")
OTHER_ROOM = ChannelRef("slack", "T2", "C9")
CHANNEL = Where("C1")
DM = Where("D1", direct=True)
GRACE = timedelta(days=30)

Scope = tuple[str, str, str]
Snapshot = dict[str, Counter[Scope]]


@dataclass
class Process:
    """One bot process's engine on the shared database: its own store, Tutor and privacy."""

    store: SqlStore
    tutor: Tutor
    privacy: PrivacyService
    daily: DailyService


def process(catalog: Catalog, store: SqlStore, clock: FixedClock, grace: timedelta) -> Process:
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(7))
    daily = DailyService(quiz, store, {"slack": RecordingAdapter("slack")})
    privacy = PrivacyService(store, clock, removal_grace=grace)
    daily.removal_listeners.append(privacy.workspace_removed)
    tutor = Tutor(catalog, quiz, InterviewService(quiz), daily, store, privacy=privacy)
    return Process(store, tutor, privacy, daily)


@pytest.fixture
def bot(catalog: Catalog, store: SqlStore, clock: FixedClock) -> Process:
    return process(catalog, store, clock, GRACE)


@pytest.fixture
async def second_store(database_url: str, store: SqlStore) -> AsyncIterator[SqlStore]:
    """Another process's store on the same database (`store` migrated it)."""
    other = await open_store(database_url)
    try:
        yield other
    finally:
        await other.close()


# -- what members leave behind ------------------------------------------------------------------


async def practise(tutor: Tutor, user: UserRef) -> None:
    """Answer a question, and leave another open."""
    await tutor.ask(user, topic="ecs", difficulty=None, where=CHANNEL)
    graded = await tutor.answer(user, "Tasks run on a cluster of EC2 or Fargate.", where=CHANNEL)
    assert graded.replies[0].score is not None
    await tutor.ask(user, topic="s3", difficulty=None, where=CHANNEL)


async def interview_in_dm(tutor: Tutor, user: UserRef, event_id: str) -> None:
    """Start a mock interview and answer its first question in the DM (replies stored)."""
    await tutor.start_interview(user, ["ec2"], 3)
    turn = await tutor.message(user, "An Auto Scaling group of instances.", Receipt(event_id, "D1"))
    assert turn.direct[0].title.startswith("Score")


async def answer_the_daily(bot: Process, user: UserRef, channel: ChannelRef) -> None:
    """Post the channel's daily question (subscribing it first) and answer it."""
    admin = UserRef(channel.platform, channel.workspace, "UADMIN", "Ada")
    if await bot.store.subscription(channel) is None:
        await bot.daily.subscribe(
            channel, actor=admin, is_admin=True, post_time="09:00", timezone="UTC"
        )
        assert await bot.daily.post_now(channel) is Outcome.POSTED
    post = await bot.store.latest_post(channel)
    assert post is not None
    graded = await bot.tutor.daily_answer(user, post.id, "Security groups and NACLs.")
    assert graded.replies[0].score is not None


async def populate(bot: Process) -> None:
    """Alice and Bob in T1, Alice's id in T2 and on Discord, each with data of every kind."""
    await practise(bot.tutor, ALICE)
    await interview_in_dm(bot.tutor, ALICE, "Ev1")
    await answer_the_daily(bot, ALICE, ROOM)
    await practise(bot.tutor, BOB)
    await interview_in_dm(bot.tutor, BOB, "Ev2")
    await answer_the_daily(bot, BOB, ROOM)
    # One interview runs per member id of a platform (wherever it started): T2 gets none.
    await practise(bot.tutor, ALICE_ELSEWHERE)
    await answer_the_daily(bot, ALICE_ELSEWHERE, OTHER_ROOM)
    await practise(bot.tutor, DISCORD_ALICE)
    await interview_in_dm(bot.tutor, DISCORD_ALICE, "Ev3")


# -- reading the tables with plain SQL ------------------------------------------------------------

MEMBER_TABLES = {
    "users": "SELECT platform, workspace, user_id FROM users",
    "attempts": "SELECT u.platform, u.workspace, u.user_id FROM attempts a "
    "JOIN users u ON u.id = a.user_id",
    "daily answers": "SELECT u.platform, u.workspace, u.user_id FROM attempts a "
    "JOIN users u ON u.id = a.user_id WHERE a.source = 'daily'",
    "question_views": "SELECT u.platform, u.workspace, u.user_id FROM question_views v "
    "JOIN users u ON u.id = v.user_id",
    "open_questions": "SELECT u.platform, u.workspace, u.user_id FROM open_questions o "
    "JOIN users u ON u.id = o.user_id",
    "interview_sessions": "SELECT u.platform, u.workspace, u.user_id FROM interview_sessions s "
    "JOIN users u ON u.id = s.user_id",
    "stored_replies": "SELECT platform, workspace, user_id FROM stored_replies",
    "forget_requests": "SELECT platform, workspace, user_id FROM forget_requests",
}
WORKSPACE_TABLES = {
    "daily_subscriptions": "SELECT platform, workspace FROM daily_subscriptions",
    "daily_posts": "SELECT platform, workspace FROM daily_posts",
    "workspace_removals": "SELECT platform, workspace FROM workspace_removals",
}


async def snapshot(store: SqlStore) -> Snapshot:
    """Every member's rows per table, counted by (platform, workspace, member id)."""
    taken: Snapshot = {}
    async with store.engine.connect() as connection:
        for table, sql in MEMBER_TABLES.items():
            rows = (await connection.execute(text(sql))).all()
            taken[table] = Counter((r[0], r[1], r[2]) for r in rows)
        for table, sql in WORKSPACE_TABLES.items():
            rows = (await connection.execute(text(sql))).all()
            taken[table] = Counter((r[0], r[1], "") for r in rows)
    return taken


def without(
    before: Snapshot, *, scope: Scope | None = None, workspace: str | None = None
) -> Snapshot:
    """`before` with the rows of one member, or of every member of one Slack workspace, gone."""

    def kept(key: Scope) -> bool:
        if scope is not None and key == scope:
            return False
        return workspace is None or key[:2] != ("slack", workspace)

    return {
        table: Counter({k: n for k, n in rows.items() if kept(k)}) for table, rows in before.items()
    }


def scope_of(user: UserRef) -> Scope:
    return (user.platform, user.workspace, user.user)


# -- forget me ----------------------------------------------------------------------------------


async def test_forget_lists_what_is_kept_and_deletes_nothing_before_the_confirmation(
    bot: Process,
) -> None:
    await populate(bot)
    before = await snapshot(bot.store)

    asked = await bot.tutor.forget(ALICE)

    (reply,) = asked.replies
    assert reply.tone is Tone.WARNING
    for kept in (
        "your member id and display name",
        "3 graded answers (1 of them to daily questions)",
        "your open question",
        "1 mock interview (the one running ends)",
        "the replies I stored to 1 message of yours in our direct messages",
    ):
        assert kept in reply.text
    assert f"run `{CONFIRM_COMMAND}` within 5 minutes" in reply.text
    after = await snapshot(bot.store)
    assert after == before | {"forget_requests": Counter({scope_of(ALICE): 1})}


async def test_a_confirmed_forget_deletes_one_member_of_one_workspace_and_nothing_else(
    bot: Process, clock: FixedClock
) -> None:
    await populate(bot)
    before = await snapshot(bot.store)
    assert all(
        before[table][scope_of(ALICE)] for table in MEMBER_TABLES if table != "forget_requests"
    )

    await bot.tutor.forget(ALICE)
    clock.advance(FORGET_CONFIRM_WINDOW - timedelta(seconds=1))
    done = await bot.tutor.forget(ALICE, confirm=True)

    (reply,) = done.replies
    assert reply.title == "Forgotten"
    assert "3 graded answers" in reply.text
    assert done.interview is InterviewChange.ENDED  # the Slack App Home is republished
    assert await snapshot(bot.store) == without(before, scope=scope_of(ALICE))


async def test_a_forgotten_member_starts_afresh(bot: Process) -> None:
    await practise(bot.tutor, ALICE)
    await bot.tutor.forget(ALICE)
    await bot.tutor.forget(ALICE, confirm=True)

    stats = await bot.tutor.stats(ALICE)
    await practise(bot.tutor, ALICE)

    assert "No answers yet" in stats.replies[0].text
    assert len(await bot.store.attempts(ALICE)) == 1


async def test_a_confirmation_without_a_request_is_refused_and_deletes_nothing(
    bot: Process,
) -> None:
    await populate(bot)
    before = await snapshot(bot.store)

    refused = await bot.tutor.forget(ALICE, confirm=True)

    (reply,) = refused.replies
    assert reply.tone is Tone.ERROR
    assert "no request to forget you" in reply.text
    assert "Run `/awsquiz forget` first" in reply.text
    assert await snapshot(bot.store) == before


async def test_an_expired_confirmation_is_refused_and_must_be_asked_again(
    bot: Process, clock: FixedClock
) -> None:
    await populate(bot)
    await bot.tutor.forget(ALICE)
    clock.advance(FORGET_CONFIRM_WINDOW + timedelta(seconds=1))
    before = await snapshot(bot.store)

    late = await bot.tutor.forget(ALICE, confirm=True)
    again = await bot.tutor.forget(ALICE, confirm=True)

    assert "expired" in late.replies[0].text
    assert "Nothing was deleted" in late.replies[0].text
    assert "no request to forget you" in again.replies[0].text  # the late one was used up
    assert await snapshot(bot.store) == before | {"forget_requests": Counter()}


async def test_another_member_cannot_confirm_someone_elses_request(bot: Process) -> None:
    await populate(bot)
    await bot.tutor.forget(ALICE)

    bobs = await bot.tutor.forget(BOB, confirm=True)
    elsewhere = await bot.tutor.forget(ALICE_ELSEWHERE, confirm=True)

    assert bobs.replies[0].tone is Tone.ERROR
    assert elsewhere.replies[0].tone is Tone.ERROR
    assert (await snapshot(bot.store))["users"][scope_of(ALICE)] == 1


async def test_nothing_kept_is_said_so_and_asks_for_no_confirmation(bot: Process) -> None:
    asked = await bot.tutor.forget(ALICE)

    assert asked.replies[0].title == "Nothing to forget"
    assert (await snapshot(bot.store))["forget_requests"] == Counter()


async def test_the_confirmation_may_reach_another_process(
    bot: Process, catalog: Catalog, second_store: SqlStore, clock: FixedClock
) -> None:
    await populate(bot)
    before = await snapshot(bot.store)
    elsewhere = process(catalog, second_store, clock, GRACE)

    await bot.tutor.forget(ALICE)
    done = await elsewhere.tutor.forget(ALICE, confirm=True)

    assert done.replies[0].title == "Forgotten"
    assert await snapshot(bot.store) == without(before, scope=scope_of(ALICE))


async def test_a_process_that_knew_a_forgotten_member_answers_for_their_new_row_only(
    bot: Process, catalog: Catalog, second_store: SqlStore, clock: FixedClock
) -> None:
    """This process cached Alice's key; another forgets her. Her next answer here must land
    on her new row, never on Carol's, who may now hold her old key (SQLite reuses it)."""
    await practise(bot.tutor, BOB)
    await practise(bot.tutor, ALICE)  # Alice's row is the newest: its id may come back
    elsewhere = process(catalog, second_store, clock, GRACE)
    await elsewhere.tutor.forget(ALICE)
    await elsewhere.tutor.forget(ALICE, confirm=True)
    carol = UserRef("slack", "T1", "U3", "Carol")
    await elsewhere.tutor.ask(carol, topic="ecs", difficulty=None, where=CHANNEL)

    await practise(bot.tutor, ALICE)

    assert len(await bot.store.attempts(ALICE)) == 1
    assert await bot.store.attempts(carol) == []
    assert await bot.store.open_question(carol) is not None  # still hers, unanswered


# -- removed workspaces ------------------------------------------------------------------------


async def test_a_removed_workspace_is_purged_once_the_grace_period_has_passed(
    bot: Process, clock: FixedClock
) -> None:
    await populate(bot)
    before = await snapshot(bot.store)

    await bot.daily.stop_workspace("slack", "T1")
    clock.advance(GRACE - timedelta(minutes=1))
    kept = await bot.privacy.sweep()
    during = await snapshot(bot.store)
    clock.advance(timedelta(minutes=1))
    purged = await bot.privacy.sweep()

    assert kept == 0
    assert during["users"] == before["users"]
    assert during["workspace_removals"] == Counter({("slack", "T1", ""): 1})
    assert purged == 1
    assert await snapshot(bot.store) == without(before, workspace="T1")


async def test_a_workspace_used_again_within_the_grace_period_keeps_its_data(
    bot: Process, clock: FixedClock
) -> None:
    await populate(bot)
    await bot.daily.stop_workspace("slack", "T1")
    await bot.privacy.sweep()
    clock.advance(timedelta(days=3))
    removed = await snapshot(bot.store)

    await bot.tutor.stats(BOB)  # the app was installed again, and Bob used it
    clock.advance(GRACE)
    await bot.privacy.sweep()

    after = await snapshot(bot.store)
    assert after["workspace_removals"] == Counter()
    assert after == removed | {"workspace_removals": Counter()}


async def test_use_seen_by_another_process_cancels_a_removal_it_did_not_know_of(
    bot: Process, catalog: Catalog, second_store: SqlStore, clock: FixedClock
) -> None:
    await populate(bot)
    other = process(catalog, second_store, clock, GRACE)
    await other.privacy.sweep()  # nothing removed yet, as far as it knows
    await bot.daily.stop_workspace("slack", "T1")
    clock.advance(timedelta(minutes=1))

    await other.tutor.ask(BOB, topic="lambda", difficulty=None, where=CHANNEL)
    clock.advance(timedelta(minutes=1))
    await other.privacy.sweep()  # learns of the removal, and that T1 was used after it
    clock.advance(GRACE)
    purged = await bot.privacy.sweep()

    assert purged == 0
    assert (await snapshot(bot.store))["users"][scope_of(ALICE)] == 1


async def test_the_bot_added_back_cancels_the_purge(bot: Process, clock: FixedClock) -> None:
    await populate(bot)
    await bot.daily.stop_workspace("slack", "T1")

    await bot.tutor.workspace_back("slack", "T1")
    clock.advance(GRACE * 2)
    purged = await bot.privacy.sweep()

    assert purged == 0
    assert (await snapshot(bot.store))["users"][scope_of(BOB)] == 1


async def test_use_before_the_removal_does_not_cancel_it(bot: Process, clock: FixedClock) -> None:
    await populate(bot)
    await bot.tutor.stats(ALICE)
    clock.advance(timedelta(seconds=1))
    await bot.daily.stop_workspace("slack", "T1")

    clock.advance(GRACE)
    purged = await bot.privacy.sweep()

    assert purged == 1
    assert (await snapshot(bot.store))["users"][scope_of(ALICE)] == 0


async def test_a_second_removal_signal_keeps_the_first_time(
    bot: Process, clock: FixedClock
) -> None:
    await practise(bot.tutor, ALICE)
    await bot.daily.stop_workspace("slack", "T1")  # app_uninstalled
    clock.advance(timedelta(days=1))
    await bot.daily.stop_workspace("slack", "T1")  # tokens_revoked, later

    clock.advance(GRACE - timedelta(days=1))

    assert await bot.privacy.sweep() == 1


async def test_a_grace_period_of_zero_purges_at_once(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    bot = process(catalog, store, clock, timedelta(0))
    await populate(bot)
    before = await snapshot(store)

    stopped = await bot.daily.stop_workspace("slack", "T1")

    assert stopped == 1  # its daily question, turned off before the purge deleted it
    assert await snapshot(store) == without(before, workspace="T1")


async def test_a_large_workspace_is_purged_a_batch_at_a_time(
    bot: Process, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_privacy, "PURGE_BATCH", 2)
    members = [UserRef("slack", "T1", f"U{n}", f"Member {n}") for n in range(5)]
    for member in members:
        await practise(bot.tutor, member)
    await practise(bot.tutor, ALICE_ELSEWHERE)
    before = await snapshot(bot.store)

    await bot.daily.stop_workspace("slack", "T1")
    clock.advance(GRACE)
    await bot.privacy.sweep()

    assert await snapshot(bot.store) == without(before, workspace="T1")


async def test_the_daily_scheduler_sweep_purges_and_drops_stale_forget_requests(
    bot: Process, clock: FixedClock
) -> None:
    await populate(bot)
    await bot.tutor.forget(BOB)
    await bot.daily.stop_workspace("slack", "T2")
    before = await snapshot(bot.store)
    scheduler = DailyScheduler(bot.daily, privacy=bot.privacy)
    clock.advance(GRACE + timedelta(hours=6))  # no daily question is due then

    await scheduler.sweep()

    after = await snapshot(bot.store)
    assert after["forget_requests"] == Counter()  # never confirmed, long expired
    assert after == without(before, workspace="T2") | {"forget_requests": Counter()}


# -- the terminal ----------------------------------------------------------------------------


def awsquiz(*args: str, stdin: str, db: Path, login: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` as the terminal user `login`, on its own SQLite file."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWSQUIZ_", "DATABASE_URL", "LOG_LEVEL"))
    }
    environment.update({"DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200", "LOGNAME": login})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def terminal_members(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT user_id FROM users ORDER BY user_id").fetchall()
    return [row[0] for row in rows]


def test_the_terminal_asks_yes_or_no_and_forgets_only_its_user(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    for login in ("ada", "bo"):
        practised = awsquiz(
            "practice", "--topic", "ecs", stdin="Tasks run on Fargate\nquit\n", db=db, login=login
        )
        assert practised.returncode == 0, practised.stderr

    declined = awsquiz("forget", stdin="n\n", db=db, login="ada")
    kept = terminal_members(db)
    confirmed = awsquiz("forget", stdin="y\n", db=db, login="ada")
    again = awsquiz("forget", stdin="", db=db, login="ada")

    assert declined.returncode == 0, declined.stderr
    assert "1 graded answer" in declined.stdout
    assert "Delete all of this for good? [y/N]" in declined.stdout
    assert "Nothing was deleted." in declined.stdout
    assert kept == ["ada", "bo"]
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Forgotten" in confirmed.stdout
    assert terminal_members(db) == ["bo"]
    assert "Nothing to forget" in again.stdout
