"""What the daily question says: subscriptions, the post, private grades and the reveal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from bot.engine import quiz_replies
from bot.engine.catalog import Catalog
from bot.engine.daily.model import DailyPost, DailyResult, Subscription
from bot.engine.model import Question
from bot.engine.reply import Action, ActionKind, Field, Reply, Tone

RANKING_SIZE: Final = 10
DAILY_ACTION_PREFIX: Final = "daily:"
REVEAL_KEY_PREFIX: Final = "reveal:"


def post_key(post_id: int) -> str:
    """The key a daily post is sent with, also its Answer button's value: a platform that
    keeps no key with a message finds the post again by its button."""
    return f"{DAILY_ACTION_PREFIX}{post_id}"


def reveal_key(post_id: int) -> str:
    """The key a daily post's reveal is sent with."""
    return f"{REVEAL_KEY_PREFIX}{post_id}"


def when(instant: datetime, zone: str) -> str:
    """An instant as the channel reads it: 'Fri 27 Nov 09:30 Europe/London (09:30 UTC)'."""
    local = instant.astimezone(ZoneInfo(zone))
    utc = instant.astimezone(ZoneInfo("UTC"))
    return f"{local:%a %d %b %H:%M} {zone} ({utc:%H:%M} UTC)"


def describe(catalog: Catalog, subscription: Subscription, next_post: datetime) -> Reply:
    """Say what a channel's subscription does and when the next question comes."""
    topics = (
        ", ".join(catalog.topic(t).name for t in subscription.topics)
        if subscription.topics
        else "all topics"
    )
    mix = (
        ", ".join(f"{level.value} x{weight}" for level, weight in subscription.difficulty_mix)
        if subscription.difficulty_mix
        else "every difficulty"
    )
    window = (
        f"{subscription.answer_window.total_seconds() / 3600:g} hours after posting"
        if subscription.answer_window
        else "30 minutes before the next question"
    )
    state = "on" if subscription.enabled else "off"
    fields = [
        Field("Posts at", f"{subscription.post_time:%H:%M} {subscription.timezone}", inline=True),
        Field("Topics", topics, inline=True),
        Field("Difficulty", mix, inline=True),
        Field("Answers close", window),
    ]
    if subscription.enabled:
        fields.append(Field("Next question", when(next_post, subscription.timezone)))
    return Reply(title=f"Daily question is {state}", fields=tuple(fields), tone=Tone.SUCCESS)


def not_subscribed() -> Reply:
    """Say the channel has no daily question."""
    return Reply(
        title="No daily question here",
        text="An admin can turn it on with a post time (HH:MM) and a timezone (Area/City); "
        "`help` shows how.",
    )


def turned_off() -> Reply:
    """Confirm the daily question is off."""
    return Reply(title="Daily question is off", text="No more daily questions in this channel.")


def question(catalog: Catalog, item: Question, post: DailyPost, zone: str) -> Reply:
    """The daily post: the question and an Answer button carrying the post id."""
    topic = catalog.topic(item.topic_id)
    return Reply(
        title=f"Daily question · {topic.name} · {item.difficulty.value}",
        text=item.prompt,
        fields=(
            Field("Answer privately", "Press Answer; only you see your grade."),
            Field("Answers close", when(post.closes_at, zone)),
        ),
        actions=(Action(ActionKind.ANSWER, "Answer", post_key(post.id)),),
        ephemeral=False,
        question_id=item.id,
    )


def graded(
    item: Question, graded_reply: Reply, post: DailyPost, zone: str, streak_days: int
) -> Reply:
    """The member's private grade, without the reference (that waits for the reveal)."""
    kept = tuple(f for f in graded_reply.fields if f.name not in quiz_replies.ANSWER_KEY_FIELDS)
    extra = (
        Field("Reveal", f"The reference answer and ranking come at {when(post.closes_at, zone)}."),
        Field("Streak", f"{streak_days} day" if streak_days == 1 else f"{streak_days} days"),
    )
    return Reply(
        title=graded_reply.title,
        fields=kept + extra,
        tone=graded_reply.tone,
        question_id=item.id,
        score=graded_reply.score,
    )


def already_answered(score: int, post: DailyPost, zone: str) -> Reply:
    """Refuse a second answer: one scored answer per member per daily question."""
    return Reply(
        title="Already answered",
        text=f"You scored {score}/100 on today's question. One answer per day keeps it fair; "
        f"the reveal comes at {when(post.closes_at, zone)}.",
        tone=Tone.WARNING,
    )


def closed(post: DailyPost, zone: str) -> Reply:
    """Refuse an answer after close time."""
    return Reply(
        title="This question is closed",
        text=f"Answers closed at {when(post.closes_at, zone)}. "
        "The reference answer and ranking are in the question's thread.",
        tone=Tone.WARNING,
    )


def reveal(item: Question, concepts: Sequence[str], results: Sequence[DailyResult]) -> Reply:
    """Reveal the reference answer, how many covered each concept, and the day's ranking."""
    coverage: Counter[str] = Counter(c for result in results for c in set(result.covered))
    concept_lines = "\n".join(
        f"{concept}: {coverage[concept]} of {len(results)}" for concept in concepts
    )
    ranking = "\n".join(
        f"{rank}. {result.display_name or result.user_id}: {result.score}"
        for rank, result in enumerate(results[:RANKING_SIZE], start=1)
    )
    people = "1 person" if len(results) == 1 else f"{len(results)} people"
    return Reply(
        title="Daily question: the answer",
        text=item.prompt,
        fields=(
            *quiz_replies.answer_key(item),
            Field("Key concepts covered", concept_lines or quiz_replies.NONE_LISTED),
            Field(f"Ranking ({people} answered)", ranking or "Nobody answered this time."),
        ),
        ephemeral=False,
        question_id=item.id,
    )
