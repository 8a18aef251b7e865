"""Builders for the engine's Reply values: one place decides what each message says."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.engine.catalog import Catalog
from bot.engine.model import Difficulty, Grade, LeaderboardRow, Question, Topic, Verdict
from bot.engine.reply import Action, ActionKind, Field, Reply, Tone
from bot.engine.stats import TopicScore, UserStats

NONE_LISTED: Final = "none"
REFERENCE_FIELD: Final = "Reference answer"
EXPLANATION_FIELD: Final = "Why"
DOCS_FIELD: Final = "Learn more"
ANSWER_KEY_FIELDS: Final = frozenset({REFERENCE_FIELD, EXPLANATION_FIELD, DOCS_FIELD})
"""The fields that give the answer away: a daily grade keeps them for the reveal."""
VERDICT_TONE: Final = {
    Verdict.CORRECT: Tone.SUCCESS,
    Verdict.PARTIAL: Tone.WARNING,
    Verdict.INCORRECT: Tone.ERROR,
}


def question(catalog: Catalog, item: Question, *, heading: str = "") -> Reply:
    """Ask a question, with Answer, Hint and Skip buttons."""
    topic = catalog.topic(item.topic_id)
    return Reply(
        title=heading or f"{topic.name} · {item.difficulty.value}",
        text=item.prompt,
        actions=(
            Action(ActionKind.ANSWER, "Answer", item.id),
            Action(ActionKind.HINT, "Hint", item.id),
            Action(ActionKind.SKIP, "Skip", item.id),
        ),
        ephemeral=False,
        question_id=item.id,
    )


def starting_over(pool_size: int, topic: Topic | None, level: Difficulty | None) -> Field:
    """Said when every question of a filter has been seen: the next ones are the weakest."""
    kind = " ".join(part for part in (level.value if level else "", "question") if part)
    which = f"{pool_size} {kind}{'' if pool_size == 1 else 's'}"
    if topic is not None:
        which += f" of {topic.name}"
    return Field(
        "Starting over",
        f"You have seen all {which}: here come the ones you scored lowest.",
    )


def graded(item: Question, grade: Grade, *, hints_used: int = 0, penalty: int = 0) -> Reply:
    """Explain a grade: score, verdict, what was covered and missed, the reference answer."""
    fields = [
        Field("Covered", ", ".join(grade.covered) or NONE_LISTED),
        Field("Missed", ", ".join(grade.missed) or NONE_LISTED),
    ]
    if grade.contradictions:
        fields.append(Field("Wrong", "; ".join(grade.contradictions)))
    elif grade.negation_conflicts:
        fields.append(Field("Contradicts the reference on", ", ".join(grade.negation_conflicts)))
    if hints_used:
        fields.append(Field("Hints", f"{hints_used} used, -{penalty} points"))
    fields.extend(answer_key(item))
    return Reply(
        title=f"Score {grade.score}/100 · {grade.verdict.value}",
        fields=tuple(fields),
        tone=VERDICT_TONE[grade.verdict],
        question_id=item.id,
        score=grade.score,
    )


def answer_key(item: Question) -> tuple[Field, ...]:
    """The reference answer, then the explanation and docs link where the pack has them."""
    fields = [Field(REFERENCE_FIELD, item.reference)]
    if item.explanation:
        fields.append(Field(EXPLANATION_FIELD, item.explanation))
    if item.docs:
        fields.append(Field(DOCS_FIELD, item.docs))
    return tuple(fields)


def hint(item: Question, concept: str, number: int, total: int, penalty: int) -> Reply:
    """Reveal one key concept of the reference answer."""
    return Reply(
        title=f"Hint {number} of {total}",
        text=f"Mention: {concept}",
        fields=(Field("Cost", f"-{penalty} points on this question"),),
        question_id=item.id,
    )


def no_more_hints(item: Question, total: int) -> Reply:
    """Say every key concept has been revealed already."""
    return Reply(
        title="No more hints",
        text=f"All {total} key concepts of this question have been revealed.",
        tone=Tone.WARNING,
        question_id=item.id,
    )


def skipped(item: Question) -> Reply:
    """Show the reference answer of a skipped question."""
    return Reply(
        title="Skipped",
        text="No score recorded for this one.",
        fields=answer_key(item),
        question_id=item.id,
    )


def topics(catalog: Catalog) -> Reply:
    """List the topics with question counts per difficulty."""
    counts = catalog.counts()
    fields = tuple(
        Field(
            topic.name,
            ", ".join(
                f"{counts[topic.id][d]} {d.value}" for d in Difficulty if counts[topic.id][d]
            ),
            inline=True,
        )
        for topic in catalog.topics
    )
    return Reply(
        title=f"{len(catalog.topics)} topics, {len(catalog.questions)} questions",
        fields=fields,
    )


def stats(catalog: Catalog, name: str, summary: UserStats) -> Reply:
    """Show a user's statistics."""
    if not summary.attempts:
        return Reply(title=f"Stats for {name}", text="No answers yet. Ask for a question to start.")

    def topic_list(scores: Sequence[TopicScore]) -> str:
        named = (f"{catalog.topic(s.topic_id).name} ({s.average:.0f})" for s in scores)
        return ", ".join(named) or NONE_LISTED

    return Reply(
        title=f"Stats for {name}",
        fields=(
            Field("Answers", f"{summary.attempts:,}", inline=True),
            Field("Average", f"{summary.average:.0f}/100", inline=True),
            Field("Best score", f"{summary.best_score}/100", inline=True),
            Field("Points", f"{summary.points:,}", inline=True),
            Field("Streak", _days(summary.streak_days), inline=True),
            Field("Best topics", topic_list(summary.best_topics)),
            Field("Weakest topics", topic_list(summary.weakest_topics)),
        ),
    )


def leaderboard(rows: Sequence[LeaderboardRow], period_label: str) -> Reply:
    """Rank users by points."""
    if not rows:
        return Reply(title=f"Leaderboard · {period_label}", text="Nobody has answered yet.")
    fields = tuple(
        Field(
            f"{rank}.",
            f"{row.points:,} points · {_count(row.attempts, 'answer')} · average {row.average:.0f}",
            user=row.user,
        )
        for rank, row in enumerate(rows, start=1)
    )
    return Reply(title=f"Leaderboard · {period_label}", fields=fields, ephemeral=False)


def error(message: str) -> Reply:
    """Say what went wrong, kindly."""
    return Reply(title="Sorry", text=message, tone=Tone.ERROR)


def _days(count: int) -> str:
    return _count(count, "day")


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
