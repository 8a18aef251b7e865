"""compute_stats and streak: pure functions of attempts, today and a timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.engine.model import Attempt, Difficulty, Source, UserRef, Verdict
from bot.engine.stats import TopicScore, UserStats, compute_stats, streak

ALICE = UserRef("slack", "T1", "U1", "Alice")
TODAY = date(2025, 3, 5)


def attempt(topic_id: str, score: int, at: datetime) -> Attempt:
    """A stored attempt with the fields stats read."""
    return Attempt(
        id=0,
        user=ALICE,
        question_id=f"{topic_id}/q",
        topic_id=topic_id,
        difficulty=Difficulty.BASIC,
        answer="...",
        score=score,
        verdict=Verdict.PARTIAL,
        covered=(),
        missed=(),
        source=Source.PRACTICE,
        created_at=at,
    )


def noon(day: date) -> datetime:
    """Midday UTC on `day`."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_no_attempts_give_zeroes() -> None:
    assert compute_stats([], TODAY, UTC) == UserStats(0, 0, 0.0, 0, 0, (), ())


def test_totals_average_and_best_score() -> None:
    attempts = [attempt("ecs", s, noon(TODAY)) for s in (40, 75, 90)]

    stats = compute_stats(attempts, TODAY, UTC)

    assert (stats.attempts, stats.points, stats.best_score) == (3, 205, 90)
    assert stats.average == pytest.approx(205 / 3)


def test_best_and_weakest_topics_are_ranked_and_do_not_overlap() -> None:
    scores = {"a": [100], "b": [90, 70], "c": [60], "d": [30, 50], "e": [10]}
    attempts = [attempt(t, s, noon(TODAY)) for t, ss in scores.items() for s in ss]

    stats = compute_stats(attempts, TODAY, UTC)

    assert stats.best_topics == (
        TopicScore("a", 1, 100.0),
        TopicScore("b", 2, 80.0),
        TopicScore("c", 1, 60.0),
    )
    assert stats.weakest_topics == (TopicScore("e", 1, 10.0), TopicScore("d", 2, 40.0))


def test_equal_averages_rank_by_topic_id() -> None:
    attempts = [attempt(t, 50, noon(TODAY)) for t in ("s3", "ecs", "lambda")]

    stats = compute_stats(attempts, TODAY, UTC)

    assert [t.topic_id for t in stats.best_topics] == ["ecs", "lambda"]
    assert [t.topic_id for t in stats.weakest_topics] == ["s3"]


@pytest.mark.parametrize(
    ("scores", "best", "weakest"),
    [
        ({"ecs": 40}, ["ecs"], []),
        ({"ecs": 95, "s3": 5}, ["ecs"], ["s3"]),
        ({"ecs": 95, "s3": 5, "iam": 50}, ["ecs", "iam"], ["s3"]),
    ],
)
def test_a_user_with_few_topics_still_sees_their_weakest(
    scores: dict[str, int], best: list[str], weakest: list[str]
) -> None:
    attempts = [attempt(topic, score, noon(TODAY)) for topic, score in scores.items()]

    stats = compute_stats(attempts, TODAY, UTC)

    assert [t.topic_id for t in stats.best_topics] == best
    assert [t.topic_id for t in stats.weakest_topics] == weakest


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [
        ((0, 1, 2), 3),
        ((1, 2, 3), 3),  # nothing yet today: yesterday's run still counts
        ((2, 3), 0),
        ((0, 2, 3), 1),
        ((0,), 1),
        ((), 0),
        ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), 10),
    ],
)
def test_streak_counts_consecutive_days_ending_today_or_yesterday(
    days_ago: tuple[int, ...], expected: int
) -> None:
    days = {TODAY - timedelta(days=n) for n in days_ago}

    assert streak(days, TODAY) == expected


def test_days_are_counted_in_the_given_timezone() -> None:
    # 23:30 UTC on 3 and 4 March is already the next day in Tokyo (UTC+9).
    late = [
        attempt("ecs", 50, datetime(2025, 3, 3, 23, 30, tzinfo=UTC)),
        attempt("ecs", 50, datetime(2025, 3, 4, 23, 30, tzinfo=UTC)),
    ]

    in_utc = compute_stats(late, date(2025, 3, 5), UTC)
    in_tokyo = compute_stats(late, date(2025, 3, 5), ZoneInfo("Asia/Tokyo"))
    in_tokyo_next_day = compute_stats(late, date(2025, 3, 6), ZoneInfo("Asia/Tokyo"))

    assert in_utc.streak_days == 2  # 3 and 4 March, counting from yesterday
    assert in_tokyo.streak_days == 2  # 4 and 5 March, counting from today
    assert in_tokyo_next_day.streak_days == 2
    assert compute_stats(late, date(2025, 3, 6), UTC).streak_days == 0


def test_several_answers_on_one_day_count_once() -> None:
    attempts = [attempt("ecs", 50, noon(TODAY) + timedelta(minutes=n)) for n in range(5)]

    assert compute_stats(attempts, TODAY, UTC).streak_days == 1
