"""The mock interview: N questions in a row, hints, skip, stop, and a summary; kept in the Store."""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from bot.engine import quiz_replies
from bot.engine.errors import (
    InterviewExpiredError,
    InvalidOptionError,
    NoActiveInterviewError,
    NoQuestionsError,
    StorageUnavailableError,
)
from bot.engine.model import Difficulty, NewAttempt, Question, Source, StoredInterview, UserRef
from bot.engine.outbox import Receipt, StoredReplies
from bot.engine.quiz import HINT_PENALTY, QuizService, clean_answer
from bot.engine.reply import Action, ActionKind, Field, Reply, Tone

log = logging.getLogger(__name__)

DEFAULT_QUESTIONS: Final = 5
MAX_QUESTIONS: Final = 20
DEFAULT_IDLE_TIMEOUT: Final = timedelta(hours=24)
STUDY_SUGGESTIONS: Final = 5
WEAK_TOPIC_SCORE: Final = 60
HINT_WORDS: Final = frozenset({"hint", "h"})
SKIP_WORDS: Final = frozenset({"skip", "pass", "s"})
STOP_WORDS: Final = frozenset({"stop", "quit", "end", "exit"})
# Interview questions first: they read like what a real interviewer asks.
DIFFICULTY_PREFERENCE: Final = (Difficulty.INTERVIEW, Difficulty.ADVANCED, Difficulty.BASIC)
STOP_TRIES: Final = 5
"""A stop racing other changes reloads and tries again this many times."""


@dataclass(frozen=True, slots=True)
class Step:
    """One question of the interview, answered or skipped."""

    question_id: str
    topic_id: str
    score: int
    skipped: bool
    hints_used: int
    missed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InterviewState:
    """Everything needed to resume an interview after a restart."""

    id: str
    question_ids: tuple[str, ...]
    steps: tuple[Step, ...]
    hints_used: int
    started_at: datetime
    channel: str | None = None

    @property
    def finished(self) -> bool:
        """True once every question has an answer or a skip."""
        return len(self.steps) >= len(self.question_ids)

    @property
    def current_question_id(self) -> str:
        """The question waiting for an answer."""
        return self.question_ids[len(self.steps)]

    def to_json(self) -> str:
        """Serialise for the Store."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> InterviewState:
        """Read back what `to_json` wrote."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            id=data["id"],
            question_ids=tuple(data["question_ids"]),
            steps=tuple(
                Step(**{**step, "missed": tuple(step["missed"])}) for step in data["steps"]
            ),
            hints_used=data["hints_used"],
            started_at=datetime.fromisoformat(data["started_at"]),
            channel=data.get("channel"),
        )


@dataclass(frozen=True, slots=True)
class _Running:
    """A running interview as read from the store: a change must name the version it read."""

    state: InterviewState
    version: int
    updated_at: datetime


class InterviewService:
    """Runs mock interviews on top of the quiz service's picking and grading."""

    def __init__(
        self, quiz: QuizService, *, idle_timeout: timedelta = DEFAULT_IDLE_TIMEOUT
    ) -> None:
        self.quiz = quiz
        self.catalog = quiz.catalog
        self.store = quiz.store
        self.clock = quiz.clock
        self.idle_timeout = idle_timeout

    async def start(
        self,
        user: UserRef,
        topics: Sequence[str] = (),
        questions: int = DEFAULT_QUESTIONS,
        *,
        channel: str | None = None,
    ) -> list[Reply]:
        """Start an interview, or resume the one already running (one left idle ends first)."""
        expired = await self.expire_if_idle(user)
        running = await self._load(user)
        if running is not None:
            state = running.state
            notice = Reply(
                title="Interview in progress",
                text=f"Resuming at question {len(state.steps) + 1} of {len(state.question_ids)}. "
                "Type stop to end it and start another.",
            )
            return [notice, self._question(state)]
        if not 1 <= questions <= MAX_QUESTIONS:
            raise InvalidOptionError(
                f"An interview has 1 to {MAX_QUESTIONS} questions; you asked for {questions}."
            )
        # 'lambda' and 'Lambda' name one topic: de-duplicate so no question is asked twice.
        named = dict.fromkeys(self.catalog.find_topic(name).id for name in topics)
        topic_ids = list(named) or [t.id for t in self.catalog.topics]
        chosen = await self._choose(user, topic_ids, questions)
        now = self.clock.now()
        state = InterviewState(
            id=str(uuid.uuid4()),
            question_ids=tuple(q.id for q in chosen),
            steps=(),
            hints_used=0,
            started_at=now,
            channel=channel,
        )
        await self._save(user, state, active=True)
        await self.store.mark_asked(user, state.current_question_id, now)
        names = ", ".join(dict.fromkeys(self.catalog.topic(q.topic_id).name for q in chosen))
        intro = Reply(
            title="Mock interview",
            text=f"{len(chosen)} questions on {names}. Answer in your own words; "
            "type hint for a clue, skip to pass, stop to finish early.",
        )
        return [*([expired] if expired else []), intro, self._question(state)]

    async def handle(self, user: UserRef, text: str, receipt: Receipt | None = None) -> list[Reply]:
        """Route a message typed during an interview: hint, skip, stop, or an answer.

        With a `receipt`, the replies are stored with the change the message makes (see
        `bot.engine.outbox`).
        """
        word = text.strip().lower()
        if word in HINT_WORDS:
            return [await self.hint(user, receipt)]
        if word in SKIP_WORDS:
            return await self.skip(user, receipt)
        if word in STOP_WORDS:
            return [await self.stop(user, receipt=receipt)]
        return await self.answer(user, text, receipt)

    async def is_active(self, user: UserRef) -> bool:
        """True while the user has an interview running."""
        return await self.store.active_interview(user) is not None

    async def running_for(self, platform: str, user_id: str) -> UserRef | None:
        """The user, scoped to the workspace their running interview belongs to, or None.

        For messages that carry no workspace (a Discord DM): the interview decides where the
        answers count.
        """
        stored = await self.store.active_interview_anywhere(platform, user_id)
        return stored.user if stored is not None else None

    async def current(self, user: UserRef) -> Reply:
        """Show the question the user is on."""
        running = await self._require(user)
        return self._question(running.state)

    async def answer(self, user: UserRef, text: str, receipt: Receipt | None = None) -> list[Reply]:
        """Grade the answer to the current question, then ask the next one or sum up.

        Of two answers racing for one question (two quick messages), only the first counts.
        """
        cleaned = clean_answer(text, self.quiz.max_answer_chars)
        running = await self._require(user)
        state = running.state
        item = self.catalog.question(state.current_question_id)
        grade, attempt = self.quiz.graded_attempt(
            user,
            item,
            cleaned,
            Source.INTERVIEW,
            hints_used=state.hints_used,
            channel=state.channel,
        )
        step = Step(item.id, item.topic_id, grade.score, False, state.hints_used, grade.missed)
        graded = quiz_replies.graded(
            item, grade, hints_used=state.hints_used, penalty=state.hints_used * HINT_PENALTY
        )
        advanced = await self._advance(user, running, step, graded, attempt, receipt)
        if advanced is None:
            return await self._overtaken(user)
        return advanced

    async def hint(self, user: UserRef, receipt: Receipt | None = None) -> Reply:
        """Reveal the next key concept of the current question, at a cost."""
        running = await self._require(user)
        state = running.state
        item = self.catalog.question(state.current_question_id)
        concepts = self.quiz.hints(item)
        if state.hints_used >= len(concepts):
            return quiz_replies.no_more_hints(item, len(concepts))
        hinted = replace(state, hints_used=state.hints_used + 1)
        reply = quiz_replies.hint(
            item, concepts[state.hints_used], state.hints_used + 1, len(concepts), HINT_PENALTY
        )
        stored = self._replies_to(user, receipt, [reply])
        if not await self._change(user, running, hinted, active=True, replies=stored):
            return (await self._overtaken(user))[0]
        return reply

    async def skip(self, user: UserRef, receipt: Receipt | None = None) -> list[Reply]:
        """Pass on the current question (score 0) and move on."""
        running = await self._require(user)
        item = self.catalog.question(running.state.current_question_id)
        hints = running.state.hints_used
        step = Step(item.id, item.topic_id, 0, True, hints, self.quiz.concepts(item))
        skipped = quiz_replies.skipped(item)
        advanced = await self._advance(user, running, step, skipped, receipt=receipt)
        if advanced is None:
            return await self._overtaken(user)
        return advanced

    async def stop(
        self, user: UserRef, interview_id: str | None = None, *, receipt: Receipt | None = None
    ) -> Reply:
        """End the interview now and sum up what was answered.

        With `interview_id` (a Stop button), only that interview: a button left on an old
        interview's message does not end the one running now.
        """
        for _ in range(STOP_TRIES):
            running = await self._require(user)
            state = running.state
            if interview_id is not None and state.id != interview_id:
                return Reply(
                    title="That interview has already ended",
                    text="The Stop button belongs to an earlier interview; "
                    "type stop to end the one running now.",
                    tone=Tone.WARNING,
                )
            summary = self.summary(state, stopped_early=not state.finished)
            stored = self._replies_to(user, receipt, [summary])
            if await self._change(user, running, state, active=False, replies=stored):
                return summary
        raise NoActiveInterviewError("The interview kept changing while stopping it; try again.")

    async def expire_if_idle(self, user: UserRef) -> Reply | None:
        """End an interview left idle past the timeout; return the notice, or None."""
        running = await self._load(user)
        if running is None or not self._is_idle(running):
            return None
        if not await self._change(user, running, running.state, active=False):
            return None  # it was just answered or stopped, so it is not idle after all
        hours = self.idle_timeout.total_seconds() / 3600
        return replace(
            self.summary(running.state, stopped_early=True),
            title=f"Your interview expired after {hours:g} hours without an answer",
        )

    def summary(self, state: InterviewState, *, stopped_early: bool = False) -> Reply:
        """Overall and per-topic scores, the weakest topics, and what to study next."""
        answered = state.steps
        if not answered:
            return Reply(title="Interview ended", text="No questions were answered.")
        by_topic: dict[str, list[int]] = defaultdict(list)
        for step in answered:
            by_topic[step.topic_id].append(step.score)
        averages = {t: sum(v) / len(v) for t, v in by_topic.items()}
        overall = sum(s.score for s in answered) / len(answered)
        per_topic = ", ".join(
            f"{self.catalog.topic(t).name} {avg:.0f}"
            for t, avg in sorted(averages.items(), key=lambda kv: kv[1])
        )
        weak = [
            t for t, avg in sorted(averages.items(), key=lambda kv: kv[1]) if avg < WEAK_TOPIC_SCORE
        ]
        study = list(
            dict.fromkeys(
                concept
                for step in sorted(answered, key=lambda s: s.score)
                for concept in step.missed
            )
        )[:STUDY_SUGGESTIONS]
        done = f"{len(answered)} of {len(state.question_ids)} questions"
        return Reply(
            title="Interview summary" + (" (stopped early)" if stopped_early else ""),
            text=f"{done}, average {overall:.0f}/100.",
            fields=(
                Field("Score per topic", per_topic),
                Field(
                    "Weakest topics",
                    ", ".join(self.catalog.topic(t).name for t in weak) or quiz_replies.NONE_LISTED,
                ),
                Field("Study next", "; ".join(study) or "nothing missed: well done"),
            ),
            tone=Tone.SUCCESS if overall >= WEAK_TOPIC_SCORE else Tone.WARNING,
        )

    async def _advance(
        self,
        user: UserRef,
        running: _Running,
        step: Step,
        lead: Reply,
        attempt: NewAttempt | None = None,
        receipt: Receipt | None = None,
    ) -> list[Reply] | None:
        """Record the step (and its attempt); `lead` (the grade) and the next question or the
        summary, or None when another change got there first and nothing was recorded.
        """
        state = replace(running.state, steps=(*running.state.steps, step), hints_used=0)
        following = self.summary(state) if state.finished else self._question(state)
        replies = [lead, following]
        stored = self._replies_to(user, receipt, replies)
        active = not state.finished
        if not await self._change(
            user, running, state, active=active, attempt=attempt, replies=stored
        ):
            return None
        if not state.finished:
            try:
                await self.store.mark_asked(user, state.current_question_id, self.clock.now())
            except StorageUnavailableError:
                # The step is stored: its grade must reach the member; only the record that
                # the next question was seen is lost (it steers later picks, nothing more).
                log.warning("interview of %s: the asked question was not recorded", user.user)
        return replies

    def _replies_to(
        self, user: UserRef, receipt: Receipt | None, replies: Sequence[Reply]
    ) -> StoredReplies | None:
        """The replies to store with a change, when the message that made it has a receipt."""
        if receipt is None:
            return None
        return StoredReplies(user, receipt, tuple(replies), self.clock.now())

    async def _overtaken(self, user: UserRef) -> list[Reply]:
        """What to say when another message changed the interview first: where it is now."""
        notice = Reply(
            title="Already taken care of",
            text="Another of your messages got to this question first, so this one did not count.",
            tone=Tone.WARNING,
        )
        running = await self._load(user)
        return [notice] if running is None else [notice, self._question(running.state)]

    def _question(self, state: InterviewState) -> Reply:
        item = self.catalog.question(state.current_question_id)
        heading = (
            f"Question {len(state.steps) + 1} of {len(state.question_ids)} · "
            f"{self.catalog.topic(item.topic_id).name}"
        )
        return replace(
            quiz_replies.question(self.catalog, item, heading=heading),
            actions=(
                Action(ActionKind.HINT, "Hint", item.id),
                Action(ActionKind.SKIP, "Skip", item.id),
                Action(ActionKind.STOP, "Stop", state.id),
            ),
        )

    async def _choose(self, user: UserRef, topic_ids: Sequence[str], count: int) -> list[Question]:
        """Spread questions across topics round-robin, interview-style questions first."""
        per_topic: list[list[Question]] = []
        for topic_id in topic_ids:
            ranked: list[Question] = []
            for level in DIFFICULTY_PREFERENCE:
                try:
                    ranked += (await self.quiz.pick(user, [topic_id], level, count=count)).questions
                except NoQuestionsError:
                    continue  # a topic may lack a level; the other levels fill in
            per_topic.append(ranked)
        self.quiz.rng.shuffle(per_topic)
        chosen: list[Question] = []
        while len(chosen) < count and any(per_topic):
            for queue in per_topic:
                if queue and len(chosen) < count:
                    chosen.append(queue.pop(0))
        return chosen

    async def _load(self, user: UserRef) -> _Running | None:
        stored = await self.store.active_interview(user)
        if stored is None:
            return None
        return _Running(InterviewState.from_json(stored.state), stored.version, stored.updated_at)

    async def _require(self, user: UserRef) -> _Running:
        """The running interview; one left idle past the timeout ends here, whatever the path."""
        running = await self._load(user)
        if running is None:
            raise NoActiveInterviewError()
        if self._is_idle(running):
            summary = await self.expire_if_idle(user)
            if summary is not None:
                raise InterviewExpiredError(self.idle_timeout.total_seconds() / 3600, summary)
            return await self._require(user)  # it changed meanwhile: look again
        return running

    def _is_idle(self, running: _Running) -> bool:
        return self.clock.now() - running.updated_at >= self.idle_timeout

    async def _change(
        self,
        user: UserRef,
        running: _Running,
        state: InterviewState,
        *,
        active: bool,
        attempt: NewAttempt | None = None,
        replies: StoredReplies | None = None,
    ) -> bool:
        """Save `state` over the version `running` was read at; False if it changed since."""
        return await self.store.change_interview(
            self._stored(user, state, active=active, version=running.version), attempt, replies
        )

    async def _save(self, user: UserRef, state: InterviewState, *, active: bool) -> None:
        await self.store.save_interview(self._stored(user, state, active=active, version=0))

    def _stored(
        self, user: UserRef, state: InterviewState, *, active: bool, version: int
    ) -> StoredInterview:
        return StoredInterview(
            id=state.id,
            user=user,
            active=active,
            state=state.to_json(),
            updated_at=self.clock.now(),
            version=version,
        )
