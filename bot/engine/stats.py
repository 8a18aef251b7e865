"""Per-user statistics computed from stored attempts (pure: no I/O)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Final

from bot.engine.model import Attempt

TOPICS_SHOWN: Final = 3
MIN_ATTEMPTS_FOR_TOPIC_RANK: Final = 1


@dataclass(frozen=True, slots=True)
class TopicScore:
    """A user's average score in one topic."""

    topic_id: str
    attempts: int
    average: float


@dataclass(frozen=True, slots=True)
class UserStats:
    """What `stats` shows: volume, quality, strengths, weaknesses and the streak."""

    attempts: int
    points: int
    average: float
    best_score: int
    streak_days: int
    best_topics: tuple[TopicScore, ...]
    weakest_topics: tuple[TopicScore, ...]


def compute_stats(attempts: Sequence[Attempt], today: date, zone: tzinfo) -> UserStats:
    """Summarise attempts; days (for the streak) are counted in `zone`."""
    if not attempts:
        return UserStats(0, 0, 0.0, 0, 0, (), ())
    by_topic: dict[str, list[int]] = defaultdict(list)
    for attempt in attempts:
        by_topic[attempt.topic_id].append(attempt.score)
    ranked = sorted(
        (
            TopicScore(topic_id, len(scores), sum(scores) / len(scores))
            for topic_id, scores in by_topic.items()
            if len(scores) >= MIN_ATTEMPTS_FOR_TOPIC_RANK
        ),
        key=lambda t: (-t.average, t.topic_id),
    )
    # The upper half (rounded up) can be best, the rest weakest: two topics give one of each,
    # so a user with few topics still learns which one to work on.
    best = tuple(ranked[: min(TOPICS_SHOWN, (len(ranked) + 1) // 2)])
    weakest = tuple(reversed(ranked[len(best) :]))[:TOPICS_SHOWN]
    scores = [a.score for a in attempts]
    days = {a.created_at.astimezone(zone).date() for a in attempts}
    return UserStats(
        attempts=len(attempts),
        points=sum(scores),
        average=sum(scores) / len(scores),
        best_score=max(scores),
        streak_days=streak(days, today),
        best_topics=best,
        weakest_topics=weakest,
    )


def streak(days: set[date], today: date) -> int:
    """Count consecutive active days ending today, or yesterday if today has none yet."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count
