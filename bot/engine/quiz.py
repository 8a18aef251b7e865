"""On-demand questions: ask, answer, hint, skip, stats and leaderboards."""

from __future__ import annotations

import random
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, timedelta, tzinfo
from enum import StrEnum
from typing import Final

from bot.engine import quiz_replies
from bot.engine.catalog import Catalog, parse_difficulty
from bot.engine.errors import (
    AnswerTooLongError,
    EmptyAnswerError,
    InvalidOptionError,
    NoOpenQuestionError,
    NoQuestionsError,
    StaleQuestionError,
    UnknownQuestionError,
)
from bot.engine.grading import Grader, verdict_for
from bot.engine.model import (
    Difficulty,
    Grade,
    NewAttempt,
    OpenQuestion,
    Question,
    Source,
    UserRef,
)
from bot.engine.ports import Clock, Store, SystemClock
from bot.engine.reply import Reply
from bot.engine.selection import freshest, weakest
from bot.engine.stats import compute_stats

MAX_ANSWER_CHARS: Final = 3000
# A lone surrogate (undecodable bytes read with surrogateescape, or a broken UTF-16 pair from
# a client) cannot be encoded for any database: it becomes the replacement character.
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
"""Answers longer than this are refused (Slack's modal text input allows at most 3,000)."""
HINT_PENALTY: Final = 10
RECENT_HISTORY: Final = 2000
"""How many recently asked questions to look back on when avoiding repeats."""
LEADERBOARD_SIZE: Final = 10


@dataclass(frozen=True, slots=True)
class Picked:
    """Questions chosen for a user; `starting_over` when the filter had too few unseen ones."""

    questions: tuple[Question, ...]
    pool_size: int
    """How many questions the filter holds."""
    starting_over: bool = False


class Period(StrEnum):
    """Leaderboard periods, rolling back from now."""

    WEEK = "week"
    MONTH = "month"
    ALL = "all"


PERIOD_DAYS: Final = {Period.WEEK: 7, Period.MONTH: 30}
PERIOD_LABELS: Final = {
    Period.WEEK: "last 7 days",
    Period.MONTH: "last 30 days",
    Period.ALL: "all time",
}


def parse_period(name: str) -> Period:
    """Read a period typed by a user, or fail listing the accepted ones."""
    try:
        return Period(name.strip().lower())
    except ValueError:
        accepted = ", ".join(p.value for p in Period)
        raise InvalidOptionError(f"Unknown period {name!r}. Choose one of: {accepted}.") from None


def clean_answer(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """Return the answer stripped, or raise if it is empty or over the cap."""
    # NUL cannot be stored in PostgreSQL text and never means anything in an answer.
    cleaned = _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", "")).strip()
    if not any(ch.isalnum() for ch in cleaned):
        raise EmptyAnswerError()
    if len(cleaned) > limit:
        raise AnswerTooLongError(len(cleaned), limit)
    return cleaned


class QuizService:
    """The question-and-answer loop shared by every adapter."""

    def __init__(
        self,
        catalog: Catalog,
        grader: Grader,
        store: Store,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        *,
        max_answer_chars: int = MAX_ANSWER_CHARS,
    ) -> None:
        self.catalog = catalog
        self.grader = grader
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.max_answer_chars = max_answer_chars

    async def ask(
        self,
        user: UserRef,
        *,
        topic: str | None = None,
        difficulty: str | None = None,
        source: Source = Source.PRACTICE,
        channel: str | None = None,
    ) -> Reply:
        """Pick a question the user has not seen lately and make it their open question."""
        chosen_topic = self.catalog.find_topic(topic) if topic else None
        topic_ids = {chosen_topic.id} if chosen_topic else None
        level = parse_difficulty(difficulty) if difficulty else None
        picked = await self.pick(user, topic_ids, level, count=1)
        chosen = picked.questions[0]
        now = self.clock.now()
        await self.store.set_open_question(user, OpenQuestion(chosen.id, now, source, 0, channel))
        await self.store.mark_asked(user, chosen.id, now)
        reply = quiz_replies.question(self.catalog, chosen)
        if picked.starting_over:
            notice = quiz_replies.starting_over(picked.pool_size, chosen_topic, level)
            reply = replace(reply, fields=(*reply.fields, notice))
        return reply

    async def pick(
        self,
        user: UserRef,
        topic_ids: Collection[str] | None,
        difficulty: Difficulty | None,
        *,
        count: int,
    ) -> Picked:
        """Choose `count` distinct questions, unseen ones first; once every question of the
        filter has been seen, the ones the user scored lowest (and `starting_over` is set).
        """
        pool = list(self.catalog.select(topic_ids=topic_ids, difficulty=difficulty))
        if not pool:
            raise NoQuestionsError("No questions match that topic and difficulty.")
        recent = await self.store.recently_asked(user, RECENT_HISTORY)
        seen = set(recent)
        unseen = sum(1 for question in pool if question.id not in seen)
        if unseen >= count:
            return Picked(tuple(freshest(pool, recent, self.rng, count)), len(pool))
        best: dict[str, int] = {}
        for attempt in await self.store.attempts(user):
            best[attempt.question_id] = max(attempt.score, best.get(attempt.question_id, -1))
        fresh = [question for question in pool if question.id not in seen]
        self.rng.shuffle(fresh)
        again = weakest([q for q in pool if q.id in seen], recent, best, count - len(fresh))
        return Picked((*fresh, *again), len(pool), starting_over=True)

    async def answer(self, user: UserRef, text: str, *, question_id: str | None = None) -> Reply:
        """Grade the answer to the user's open question, store it and explain the grade.

        With `question_id` (a modal opened from that question's button), an answer to a question
        the user has since replaced is refused and the newer open question kept.
        """
        cleaned = clean_answer(text, self.max_answer_chars)
        # Grade first, outside any transaction, then close the question by compare-and-set:
        # a concurrent answer that got there first, or a newer question, leaves this one
        # unrecorded. The database's write lock is held for the write only.
        opened = await self.store.open_question(user)
        if opened is None:
            raise NoOpenQuestionError()
        if question_id is not None and opened.question_id != question_id:
            raise StaleQuestionError()
        try:
            item = self.catalog.question(opened.question_id)
        except UnknownQuestionError:
            await self.store.take_open_question(user)  # it left the packs: nothing to answer
            raise
        grade, attempt = self.graded_attempt(
            user, item, cleaned, opened.source, hints_used=opened.hints_used, channel=opened.channel
        )
        if await self.store.answer_open_question(user, opened, attempt) is None:
            if question_id is not None and await self.store.open_question(user) is not None:
                raise StaleQuestionError()
            raise NoOpenQuestionError()
        return quiz_replies.graded(
            item, grade, hints_used=opened.hints_used, penalty=opened.hints_used * HINT_PENALTY
        )

    def graded_attempt(
        self,
        user: UserRef,
        item: Question,
        answer: str,
        source: Source,
        *,
        hints_used: int,
        channel: str | None,
    ) -> tuple[Grade, NewAttempt]:
        """Grade a cleaned answer and make the attempt that would store it, now."""
        grade = self.grade(item, answer, hints_used)
        attempt = NewAttempt.of(
            user,
            item,
            answer,
            grade,
            source,
            self.clock.now(),
            hints_used=hints_used,
            channel=channel,
        )
        return grade, attempt

    def grade(self, item: Question, answer: str, hints_used: int = 0) -> Grade:
        """Grade an answer to a question, less the hint penalty."""
        grade = self.grader.grade_question(answer, item)
        if not hints_used:
            return grade
        # The verdict follows the score the user keeps, so hints can turn correct into partial.
        score = max(0, grade.score - hints_used * HINT_PENALTY)
        return replace(grade, score=score, verdict=verdict_for(score))

    def warm_up(self) -> None:
        """Analyse every loaded reference now, at start, instead of on its first answer."""
        for item in self.catalog.questions:
            self.grader.prepare(
                item.reference,
                question=item.prompt,
                concepts=item.concepts,
                aliases=item.aliases,
                rubric=item.rubric,
            )

    def concepts(self, item: Question) -> tuple[str, ...]:
        """Return the key concepts of a question's answer key, in hint order."""
        return self.grader.concepts(
            item.reference, question=item.prompt, concepts=item.concepts, rubric=item.rubric
        )

    def hints(self, item: Question) -> tuple[str, ...]:
        """The hints of a question, one key term or concept each, most useful first."""
        return self.grader.hints(
            item.reference, question=item.prompt, concepts=item.concepts, rubric=item.rubric
        )

    async def hint(self, user: UserRef) -> Reply:
        """Reveal the next key concept of the open question, at a cost."""
        opened = await self.store.open_question(user)
        if opened is None:
            raise NoOpenQuestionError()
        item = self.catalog.question(opened.question_id)
        concepts = self.hints(item)
        if opened.hints_used >= len(concepts):
            return quiz_replies.no_more_hints(item, len(concepts))
        await self.store.set_open_question(user, replace(opened, hints_used=opened.hints_used + 1))
        return quiz_replies.hint(
            item, concepts[opened.hints_used], opened.hints_used + 1, len(concepts), HINT_PENALTY
        )

    async def skip(self, user: UserRef) -> Reply:
        """Drop the open question without a score and show its reference answer."""
        opened = await self.store.take_open_question(user)
        if opened is None:
            raise NoOpenQuestionError()
        return quiz_replies.skipped(self.catalog.question(opened.question_id))

    async def stats(self, user: UserRef, *, zone: tzinfo = UTC) -> Reply:
        """Summarise the user's answers: volume, average, best and weakest topics, streak."""
        attempts = [a for a in await self.store.attempts(user) if a.topic_id in self._known_topics]
        today = self.clock.now().astimezone(zone).date()
        summary = compute_stats(attempts, today, zone)
        return quiz_replies.stats(self.catalog, user.display_name or user.user, summary)

    async def leaderboard(
        self,
        platform: str,
        workspace: str,
        period: Period = Period.WEEK,
        *,
        channel: str | None = None,
    ) -> Reply:
        """Rank the workspace's users by points over a rolling period."""
        days = PERIOD_DAYS.get(period)
        since = self.clock.now() - timedelta(days=days) if days else None
        rows = await self.store.leaderboard(
            platform, workspace, since=since, channel=channel, limit=LEADERBOARD_SIZE
        )
        label = PERIOD_LABELS[period] + (" · this channel" if channel is not None else "")
        return quiz_replies.leaderboard(rows, label)

    def topics(self) -> Reply:
        """List the loaded topics."""
        return quiz_replies.topics(self.catalog)

    @property
    def _known_topics(self) -> set[str]:
        """Topics still loaded: stats skip attempts whose pack was removed."""
        return {topic.id for topic in self.catalog.topics}
