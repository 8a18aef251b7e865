"""SqlStore and migrations, against SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.engine.errors import SettingsError
from bot.engine.model import (
    Difficulty,
    Grade,
    NewAttempt,
    OpenQuestion,
    Source,
    StoredInterview,
    UserRef,
    Verdict,
)
from storage import SqlStore, default_database_url, open_store, upgrade
from storage.database import (
    alembic_config,
    create_engine,
    described_by_base,
    parse_database_url,
)
from storage.dialect import upsert_insert
from storage.tables import SLACK_SDK_TABLES, Base, DailyPostRow, InterviewSessionRow, UserRow

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALICE = UserRef("slack", "T1", "U1", "Alice")
BOB = UserRef("slack", "T1", "U2", "Bob")


def new_attempt(
    user: UserRef,
    *,
    score: int = 80,
    question_id: str = "ecs-1",
    created_at: datetime = NOW,
    channel: str | None = None,
    answer: str = "Tasks run on a cluster of EC2 instances or Fargate.",
    covered: tuple[str, ...] = ("cluster", "fargate"),
) -> NewAttempt:
    """An attempt with sensible defaults; tests override what they check."""
    return NewAttempt(
        user=user,
        question_id=question_id,
        topic_id="ecs",
        difficulty=Difficulty.BASIC,
        answer=answer,
        grade=Grade(score=score, verdict=Verdict.PARTIAL, covered=covered, missed=("task",)),
        source=Source.PRACTICE,
        created_at=created_at,
        hints_used=1,
        channel=channel,
    )


def open_q(question_id: str = "ecs-1", *, asked_at: datetime = NOW) -> OpenQuestion:
    """An open question with a channel and a hint, so every field is exercised."""
    return OpenQuestion(question_id, asked_at, Source.SLASH, hints_used=2, channel="C1")


async def fetch_all(store: SqlStore, sql: str) -> Sequence[Any]:
    """Run raw SQL on the store's engine and return the rows."""
    async with store.engine.connect() as connection:
        return (await connection.execute(text(sql))).all()


# -- migrations -------------------------------------------------------------------------------


def _schema_facts(connection: Connection) -> tuple[set[str], list[Any]]:
    tables = set(inspect(connection).get_table_names())
    # slack_sdk's OAuth tables are not in Base.metadata: test_slack_oauth compares them against
    # the library's own definition instead.
    context = MigrationContext.configure(connection, opts={"include_name": described_by_base})
    differences = compare_metadata(context, Base.metadata)
    return tables, differences


async def test_upgrade_from_empty_creates_every_table_and_is_idempotent(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables, differences = await connection.run_sync(_schema_facts)
            versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
            version_rows: list[str] = list(versions.scalars())
    finally:
        await engine.dispose()

    assert tables == {*Base.metadata.tables, *SLACK_SDK_TABLES, "alembic_version"}
    assert version_rows == [ScriptDirectory.from_config(alembic_config()).get_current_head()]
    # The hand-written migration and the models describe the same schema.
    assert differences == []


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_downgrade_to_base_drops_every_table(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()

    assert tables == ["alembic_version"]


async def test_open_store_without_migrate_leaves_the_database_empty(database_url: str) -> None:
    async with (
        await open_store(database_url, migrate=False) as store,
        store.engine.connect() as connection,
    ):
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert tables == []


async def test_data_survives_reopening_the_store(database_url: str) -> None:
    async with await open_store(database_url) as store:
        await store.record_attempt(new_attempt(ALICE))
        await store.save_interview(StoredInterview("i-1", ALICE, True, '{"step": 3}', NOW))
    async with await open_store(database_url) as reopened:
        assert len(await reopened.attempts(ALICE)) == 1
        interview = await reopened.active_interview(ALICE)
    assert interview is not None
    assert interview.state == '{"step": 3}'


# -- attempts ---------------------------------------------------------------------------------


async def test_record_attempt_round_trips(store: SqlStore) -> None:
    stored = await store.record_attempt(new_attempt(ALICE, channel="C9"))

    (loaded,) = await store.attempts(ALICE)

    assert loaded == stored
    assert loaded.id > 0
    assert loaded.user == ALICE
    assert (loaded.score, loaded.verdict, loaded.difficulty) == (
        80,
        Verdict.PARTIAL,
        Difficulty.BASIC,
    )
    assert (loaded.covered, loaded.missed) == (("cluster", "fargate"), ("task",))
    assert (loaded.source, loaded.hints_used, loaded.channel) == (Source.PRACTICE, 1, "C9")


async def test_attempts_are_oldest_first_and_filtered_by_since(store: SqlStore) -> None:
    for hours in (3, 1, 2):
        await store.record_attempt(
            new_attempt(ALICE, question_id=f"q{hours}", created_at=NOW + timedelta(hours=hours))
        )

    every = await store.attempts(ALICE)
    recent = await store.attempts(ALICE, since=NOW + timedelta(hours=2))

    assert [attempt.question_id for attempt in every] == ["q1", "q2", "q3"]
    assert [attempt.question_id for attempt in recent] == ["q2", "q3"]
    assert await store.attempts(BOB) == []


async def test_display_name_follows_the_platform_but_not_blanks(store: SqlStore) -> None:
    await store.record_attempt(new_attempt(ALICE))
    await store.record_attempt(new_attempt(UserRef("slack", "T1", "U1", "Alice L.")))
    await store.record_attempt(new_attempt(UserRef("slack", "T1", "U1", "")))

    (row,) = await store.leaderboard("slack", "T1")

    assert row.user.display_name == "Alice L."
    assert len(await fetch_all(store, "SELECT id FROM users")) == 1


async def test_odd_unicode_and_very_long_answers_round_trip(store: SqlStore) -> None:
    answer = (
        "Ünïcödé — \U0001d518\U0001d52b\U0001d526 👩🏽‍💻🚀 עברית العربية 中文 한국어 "
        "e\u0301 \u200b\u2028 "
        "'single' \"double\" `back` \\slash %s %% {x} $1 ;DROP TABLE attempts;--\r\n\t"
    ) + "long answer " * 50_000
    covered = ("clé", "🔑", "\uff21\uff4d\uff41\uff5a\uff4f\uff4e")

    await store.record_attempt(new_attempt(ALICE, answer=answer, covered=covered))
    (loaded,) = await store.attempts(ALICE)

    assert loaded.answer == answer
    assert loaded.covered == covered


async def test_concurrent_attempts_from_a_hundred_users_lose_nothing(store: SqlStore) -> None:
    users = [UserRef("slack", "T1", f"U{index:03d}", f"User {index}") for index in range(100)]

    stored = await asyncio.gather(
        *(store.record_attempt(new_attempt(user, score=index)) for index, user in enumerate(users))
    )
    board = await store.leaderboard("slack", "T1", limit=1_000)

    assert len({attempt.id for attempt in stored}) == 100
    assert len(board) == 100
    assert sum(row.points for row in board) == sum(range(100))
    assert {row.user.user: row.points for row in board} == {
        user.user: index for index, user in enumerate(users)
    }
    assert all(row.attempts == 1 for row in board)


async def test_concurrent_first_attempts_of_one_new_user_create_one_user(store: SqlStore) -> None:
    await asyncio.gather(*(store.record_attempt(new_attempt(ALICE, score=5)) for _ in range(30)))

    (row,) = await store.leaderboard("slack", "T1")

    assert (row.points, row.attempts) == (150, 30)
    assert len(await fetch_all(store, "SELECT id FROM users")) == 1


# -- questions shown --------------------------------------------------------------------------


async def test_recently_asked_is_distinct_newest_first_and_limited(store: SqlStore) -> None:
    shown = ["a", "b", "a", "c", "d", "c"]
    for minute, question_id in enumerate(shown):
        await store.mark_asked(ALICE, question_id, NOW + timedelta(minutes=minute))

    assert await store.recently_asked(ALICE, 10) == ["c", "d", "a", "b"]
    assert await store.recently_asked(ALICE, 2) == ["c", "d"]
    assert await store.recently_asked(ALICE, 0) == []
    assert await store.recently_asked(BOB, 10) == []


async def test_recently_asked_keeps_insertion_order_for_equal_times(store: SqlStore) -> None:
    for question_id in ("a", "b", "c"):
        await store.mark_asked(ALICE, question_id, NOW)

    assert await store.recently_asked(ALICE, 3) == ["c", "b", "a"]


# -- the open question ------------------------------------------------------------------------


async def test_open_question_set_replace_and_take(store: SqlStore) -> None:
    assert await store.open_question(ALICE) is None
    assert await store.take_open_question(ALICE) is None

    await store.set_open_question(ALICE, open_q("q1"))
    await store.set_open_question(ALICE, open_q("q2", asked_at=NOW + timedelta(minutes=1)))

    assert await store.open_question(ALICE) == open_q("q2", asked_at=NOW + timedelta(minutes=1))
    assert await store.take_open_question(ALICE) == open_q(
        "q2", asked_at=NOW + timedelta(minutes=1)
    )
    assert await store.open_question(ALICE) is None
    assert await store.take_open_question(ALICE) is None


async def test_exactly_one_of_fifty_concurrent_takers_gets_the_question(store: SqlStore) -> None:
    await store.set_open_question(ALICE, open_q())

    taken = await asyncio.gather(*(store.take_open_question(ALICE) for _ in range(50)))

    winners = [question for question in taken if question is not None]
    assert winners == [open_q()]
    assert await store.open_question(ALICE) is None


# -- leaderboard ------------------------------------------------------------------------------


async def test_leaderboard_sums_ranks_and_breaks_ties(store: SqlStore) -> None:
    scores = {"UA": [90, 70], "UB": [60, 50, 50], "UC": [100], "UD": [80, 80]}
    for user_id, user_scores in scores.items():
        for score in user_scores:
            await store.record_attempt(
                new_attempt(UserRef("slack", "T1", user_id, user_id), score=score)
            )

    board = await store.leaderboard("slack", "T1")

    # Equal points: fewer attempts first, then the user id.
    assert [(row.user.user, row.points, row.attempts) for row in board] == [
        ("UA", 160, 2),
        ("UD", 160, 2),
        ("UB", 160, 3),
        ("UC", 100, 1),
    ]
    assert board[0].average == pytest.approx(80.0)
    assert (type(board[0].points), type(board[0].average)) == (int, float)
    assert board[2].average == pytest.approx(160 / 3)
    assert board[0].user == UserRef("slack", "T1", "UA", "UA")
    assert [row.user.user for row in await store.leaderboard("slack", "T1", limit=2)] == [
        "UA",
        "UD",
    ]
    assert await store.leaderboard("slack", "T1", limit=0) == []


async def test_leaderboard_filters_by_period_and_channel(store: SqlStore) -> None:
    await store.record_attempt(new_attempt(ALICE, score=50, created_at=NOW - timedelta(days=8)))
    await store.record_attempt(new_attempt(ALICE, score=40, channel="C1"))
    await store.record_attempt(new_attempt(BOB, score=30, channel="C2"))

    week = await store.leaderboard("slack", "T1", since=NOW - timedelta(days=7))
    channel = await store.leaderboard("slack", "T1", channel="C1")
    all_time = await store.leaderboard("slack", "T1")

    assert [(row.user.user, row.points) for row in week] == [("U1", 40), ("U2", 30)]
    assert [(row.user.user, row.points) for row in channel] == [("U1", 40)]
    assert [(row.user.user, row.points) for row in all_time] == [("U1", 90), ("U2", 30)]


# -- scoping ----------------------------------------------------------------------------------


async def test_same_user_id_in_other_workspaces_and_platforms_sees_nothing(
    store: SqlStore,
) -> None:
    here = UserRef("slack", "T1", "U1")
    other_workspace = UserRef("slack", "T2", "U1")
    other_platform = UserRef("discord", "T1", "U1")
    await store.record_attempt(new_attempt(here, score=70))
    await store.mark_asked(here, "q1", NOW)
    await store.set_open_question(here, open_q())
    await store.save_interview(StoredInterview("i-1", here, True, "{}", NOW))
    await store.record_attempt(new_attempt(other_workspace, score=20))

    for elsewhere in (other_workspace, other_platform):
        assert all(attempt.user == elsewhere for attempt in await store.attempts(elsewhere))
        assert await store.recently_asked(elsewhere, 10) == []
        assert await store.open_question(elsewhere) is None
        assert await store.take_open_question(elsewhere) is None
        assert await store.active_interview(elsewhere) is None
    assert [attempt.score for attempt in await store.attempts(other_workspace)] == [20]
    assert await store.attempts(other_platform) == []
    assert [row.points for row in await store.leaderboard("slack", "T1")] == [70]
    assert [row.points for row in await store.leaderboard("slack", "T2")] == [20]
    assert await store.leaderboard("discord", "T1") == []
    assert await store.open_question(here) == open_q()


# -- interviews -------------------------------------------------------------------------------


async def test_interview_insert_update_and_finish(store: SqlStore) -> None:
    assert await store.active_interview(ALICE) is None
    started = StoredInterview("i-1", ALICE, True, '{"asked": 0}', NOW)
    await store.save_interview(started)
    assert await store.active_interview(ALICE) == started

    later = NOW + timedelta(minutes=5)
    progressed = StoredInterview("i-1", ALICE, True, '{"asked": 1}', later)
    await store.save_interview(progressed)
    assert await store.active_interview(ALICE) == replace(progressed, version=1)

    await store.save_interview(StoredInterview("i-1", ALICE, False, '{"asked": 5}', later))
    assert await store.active_interview(ALICE) is None
    assert len(await fetch_all(store, "SELECT id FROM interview_sessions")) == 1


async def test_an_interview_changes_only_from_the_version_it_was_read_at(
    store: SqlStore,
) -> None:
    await store.save_interview(StoredInterview("i-1", ALICE, True, '{"asked": 0}', NOW))
    read = await store.active_interview(ALICE)
    assert read is not None
    later = NOW + timedelta(minutes=1)
    answered = replace(read, state='{"asked": 1}', updated_at=later)

    assert await store.change_interview(answered, new_attempt(ALICE, created_at=later))
    # The same change again, from the version now stale: nothing is written, attempt included.
    assert not await store.change_interview(answered, new_attempt(ALICE, created_at=later))

    assert await store.active_interview(ALICE) == replace(answered, version=read.version + 1)
    assert len(await store.attempts(ALICE)) == 1


async def test_of_racing_interview_answers_exactly_one_is_recorded(store: SqlStore) -> None:
    await store.save_interview(StoredInterview("i-1", ALICE, True, "{}", NOW))
    read = await store.active_interview(ALICE)
    assert read is not None

    outcomes = await asyncio.gather(
        *(
            store.change_interview(
                replace(read, state=f'{{"answer": {n}}}'), new_attempt(ALICE, score=n)
            )
            for n in range(20)
        )
    )

    assert outcomes.count(True) == 1
    winner = outcomes.index(True)
    assert [a.score for a in await store.attempts(ALICE)] == [winner]
    current = await store.active_interview(ALICE)
    assert current is not None
    assert current.state == f'{{"answer": {winner}}}'


async def test_an_ended_interview_takes_no_more_changes(store: SqlStore) -> None:
    await store.save_interview(StoredInterview("i-1", ALICE, True, "{}", NOW))
    read = await store.active_interview(ALICE)
    assert read is not None
    assert await store.change_interview(replace(read, active=False))

    assert not await store.change_interview(replace(read, version=read.version + 1))
    assert await store.active_interview(ALICE) is None


async def test_starting_an_interview_ends_the_running_one(store: SqlStore) -> None:
    await store.save_interview(StoredInterview("i-1", ALICE, True, "{}", NOW))
    second = StoredInterview("i-2", ALICE, True, "{}", NOW + timedelta(hours=1))

    await store.save_interview(second)

    assert await store.active_interview(ALICE) == second
    active = await fetch_all(store, "SELECT id FROM interview_sessions WHERE active")
    assert [row.id for row in active] == ["i-2"]


async def test_the_schema_allows_one_active_interview_per_user(store: SqlStore) -> None:
    await store.save_interview(StoredInterview("i-1", ALICE, True, "{}", NOW))
    async with store.engine.connect() as connection:
        (user_pk,) = (await connection.execute(select(UserRow.id))).one()
        second = {"id": "i-2", "user_id": user_pk, "active": True, "state": "{}"}
        with pytest.raises(IntegrityError):
            await connection.execute(
                insert(InterviewSessionRow).values(**second, created_at=NOW, updated_at=NOW)
            )


async def test_an_interview_id_cannot_move_to_another_user(store: SqlStore) -> None:
    await store.save_interview(StoredInterview("i-1", ALICE, True, "{}", NOW))

    with pytest.raises(ValueError, match="another user"):
        await store.save_interview(StoredInterview("i-1", BOB, True, "{}", NOW))

    assert await store.active_interview(BOB) is None
    assert await store.active_interview(ALICE) is not None


async def test_an_active_interview_is_found_in_any_workspace_of_the_platform(
    store: SqlStore,
) -> None:
    in_t1 = UserRef("discord", "T1", "U1", "Alice")
    in_t2 = UserRef("discord", "T2", "U1", "Alice")
    assert await store.active_interview_anywhere("discord", "U1") is None
    await store.save_interview(StoredInterview("i-1", in_t1, True, "{}", NOW))
    newer = StoredInterview("i-2", in_t2, True, "{}", NOW + timedelta(minutes=1))
    await store.save_interview(newer)
    # Same user id on another platform, and another user: neither is this user's.
    await store.save_interview(
        StoredInterview("i-3", UserRef("slack", "T1", "U1"), True, "{}", NOW + timedelta(hours=1))
    )
    await store.save_interview(
        StoredInterview("i-4", UserRef("discord", "T1", "U2"), True, "{}", NOW + timedelta(hours=1))
    )

    found = await store.active_interview_anywhere("discord", "U1")
    assert found == newer
    assert found is not None
    assert found.user.workspace == "T2"

    await store.save_interview(StoredInterview("i-2", in_t2, False, "{}", NOW))
    older = await store.active_interview_anywhere("discord", "U1")
    assert older is not None
    assert (older.id, older.user) == ("i-1", in_t1)
    await store.save_interview(StoredInterview("i-1", in_t1, False, "{}", NOW))
    assert await store.active_interview_anywhere("discord", "U1") is None


# -- time -------------------------------------------------------------------------------------


async def test_datetimes_come_back_aware_and_equal(store: SqlStore) -> None:
    india = datetime(2025, 3, 1, 17, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    new_york = datetime(2025, 7, 1, 8, 0, 0, 123456, tzinfo=ZoneInfo("America/New_York"))

    await store.record_attempt(new_attempt(ALICE, created_at=india))
    await store.set_open_question(ALICE, open_q(asked_at=new_york))
    await store.mark_asked(ALICE, "q1", new_york)
    await store.save_interview(StoredInterview("i-1", ALICE, True, "{}", india))

    (attempt,) = await store.attempts(ALICE)
    question = await store.open_question(ALICE)
    interview = await store.active_interview(ALICE)

    assert question is not None
    assert interview is not None
    for loaded, original in (
        (attempt.created_at, india),
        (question.asked_at, new_york),
        (interview.updated_at, india),
    ):
        assert loaded.tzinfo is not None
        assert loaded == original
    # `since` in another offset compares by instant, not by wall-clock text.
    assert await store.attempts(ALICE, since=datetime(2025, 3, 1, 12, 0, 1, tzinfo=UTC)) == []
    assert len(await store.attempts(ALICE, since=india.astimezone(ZoneInfo("Asia/Tokyo")))) == 1


async def test_naive_datetimes_are_rejected(store: SqlStore) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await store.record_attempt(new_attempt(ALICE, created_at=datetime(2025, 3, 1, 12, 0)))


# -- daily posts ------------------------------------------------------------------------------


async def _claim_daily_post(store: SqlStore, *, channel: str, question_id: str) -> int:
    statement = (
        upsert_insert(store.engine, DailyPostRow)
        .values(
            platform="slack",
            workspace="T1",
            channel=channel,
            local_date=date(2025, 3, 1),
            question_id=question_id,
            state="claimed",
            lease_until=NOW + timedelta(minutes=5),
            claimed_at=NOW,
        )
        .on_conflict_do_nothing(
            index_elements=[
                DailyPostRow.platform,
                DailyPostRow.workspace,
                DailyPostRow.channel,
                DailyPostRow.local_date,
            ]
        )
    )
    async with store.engine.begin() as connection:
        result = await connection.execute(statement)
    rowcount: int = result.rowcount
    return rowcount


async def test_a_daily_post_is_claimed_once_per_channel_and_date(store: SqlStore) -> None:
    assert await _claim_daily_post(store, channel="C1", question_id="q1") == 1
    assert await _claim_daily_post(store, channel="C1", question_id="q2") == 0
    assert await _claim_daily_post(store, channel="C2", question_id="q3") == 1

    rows = await fetch_all(store, "SELECT channel, question_id FROM daily_posts ORDER BY channel")
    assert [tuple(row) for row in rows] == [("C1", "q1"), ("C2", "q3")]


async def test_concurrent_daily_claims_have_one_winner(store: SqlStore) -> None:
    claims = await asyncio.gather(
        *(_claim_daily_post(store, channel="C1", question_id=f"q{index}") for index in range(20))
    )

    assert sorted(claims) == [0] * 19 + [1]


async def test_a_plain_duplicate_daily_post_violates_the_unique_key(store: SqlStore) -> None:
    await _claim_daily_post(store, channel="C1", question_id="q1")
    duplicate = {
        "platform": "slack",
        "workspace": "T1",
        "channel": "C1",
        "local_date": date(2025, 3, 1),
        "question_id": "q2",
        "state": "claimed",
        "claimed_at": NOW,
    }
    async with store.engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(insert(DailyPostRow).values(**duplicate))


# -- URLs and settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "",
        "mysql://user@localhost/awsquiz",
        "postgresql+psycopg2://user@localhost/awsquiz",
        "postgresql://user:s3cret@localhost:notaport/awsquiz",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_a_malformed_database_url_names_the_setting(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        create_engine(url)

    assert caught.value.name == "DATABASE_URL"
    assert "DATABASE_URL" in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_a_malformed_database_url_fails_open_store_and_upgrade() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        await open_store("oracle://scott:tiger@localhost/xe")
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        await upgrade("nonsense")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/awsquiz.db", "sqlite+aiosqlite:///data/awsquiz.db"),
        ("sqlite+aiosqlite:////abs/awsquiz.db", "sqlite+aiosqlite:////abs/awsquiz.db"),
        ("postgres://bot:pw@db:5432/awsquiz", "postgresql+asyncpg://bot:pw@db:5432/awsquiz"),
        ("postgresql://bot@db/awsquiz", "postgresql+asyncpg://bot@db/awsquiz"),
        ("postgresql+asyncpg://bot@db/awsquiz", "postgresql+asyncpg://bot@db/awsquiz"),
    ],
)
def test_database_urls_are_upgraded_to_the_async_driver(url: str, expected: str) -> None:
    assert parse_database_url(url).render_as_string(hide_password=False) == expected


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_DATA_HOME is how Linux picks the dir")
def test_default_database_url_is_a_file_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    url = default_database_url()

    assert url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'awsquiz' / 'awsquiz.db'}"
    assert (tmp_path / "data" / "awsquiz").is_dir()


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    async with await open_store(f"sqlite:///{tmp_path / 'awsquiz.db'}") as store:
        (journal,) = (await fetch_all(store, "PRAGMA journal_mode"))[0]
        (timeout,) = (await fetch_all(store, "PRAGMA busy_timeout"))[0]
        (foreign_keys,) = (await fetch_all(store, "PRAGMA foreign_keys"))[0]

    assert (journal, foreign_keys) == ("wal", 1)
    assert timeout > 0


async def test_only_the_first_delivery_of_an_event_counts_even_concurrently(
    store: SqlStore,
) -> None:
    at = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    firsts = await asyncio.gather(*(store.first_delivery("slack", "Ev1", at) for _ in range(20)))
    assert firsts.count(True) == 1
    assert await store.first_delivery("slack", "Ev1", at) is False
    assert await store.first_delivery("discord", "Ev1", at) is True  # scoped by platform
    assert await store.first_delivery("slack", "Ev2", at) is True


async def test_answering_closes_the_open_question_and_stores_the_attempt(store: SqlStore) -> None:
    await store.set_open_question(ALICE, open_q("ecs-1"))
    stored = await store.answer_open_question(ALICE, open_q("ecs-1"), new_attempt(ALICE))
    assert stored is not None
    assert await store.open_question(ALICE) is None
    assert [a.id for a in await store.attempts(ALICE)] == [stored.id]


@pytest.mark.parametrize(
    "changed",
    [
        open_q("s3-2"),  # another question asked since the answer was graded
        open_q("ecs-1", asked_at=NOW + timedelta(minutes=1)),  # the same one asked again
        replace(open_q("ecs-1"), hints_used=3),  # a hint taken since: the grade's penalty is old
    ],
)
async def test_an_answer_graded_for_a_question_no_longer_open_changes_nothing(
    store: SqlStore, changed: OpenQuestion
) -> None:
    await store.set_open_question(ALICE, changed)

    assert await store.answer_open_question(ALICE, open_q("ecs-1"), new_attempt(ALICE)) is None
    assert await store.open_question(ALICE) == changed  # the newer question is kept
    assert await store.attempts(ALICE) == []
    assert await store.answer_open_question(BOB, open_q(), new_attempt(BOB)) is None  # none open


async def test_concurrent_answers_to_one_open_question_record_exactly_one(
    store: SqlStore,
) -> None:
    await store.set_open_question(ALICE, open_q("ecs-1"))
    results = await asyncio.gather(
        *(store.answer_open_question(ALICE, open_q("ecs-1"), new_attempt(ALICE)) for _ in range(30))
    )
    assert sum(result is not None for result in results) == 1
    assert len(await store.attempts(ALICE)) == 1


async def test_answers_sharing_a_batch_each_get_their_own_stored_attempt(store: SqlStore) -> None:
    users = [UserRef("slack", "T1", f"UC{i}", f"c{i}") for i in range(25)]
    for user in users:
        await store.set_open_question(user, open_q("ecs-1"))

    results = await asyncio.gather(
        *(
            store.answer_open_question(u, open_q("ecs-1"), new_attempt(u, score=i))
            for i, u in enumerate(users)
        )
    )
    for index, (user, result) in enumerate(zip(users, results, strict=True)):
        assert result is not None
        assert (result.user, result.score) == (user, index)
        assert [(a.id, a.score) for a in await store.attempts(user)] == [(result.id, index)]


async def test_a_shared_batch_checks_each_answer_on_its_own(store: SqlStore) -> None:
    current, stale = (UserRef("slack", "T1", f"UD{i}", f"d{i}") for i in range(2))
    for user in (current, stale):
        await store.set_open_question(user, open_q("s3-2"))

    answered_current, answered_stale = await asyncio.gather(
        store.answer_open_question(current, open_q("s3-2"), new_attempt(current)),
        store.answer_open_question(stale, open_q("ecs-1"), new_attempt(stale)),
    )

    assert answered_current is not None
    assert answered_current.user == current
    assert answered_stale is None
    assert await store.open_question(stale) == open_q("s3-2")  # its newer question is kept
    assert await store.open_question(current) is None
