"""InterviewService: the mock interview state machine, kept in a real SqlStore."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pytest
from helpers import FixedClock

from bot.engine.catalog import Catalog
from bot.engine.errors import (
    EmptyAnswerError,
    InterviewExpiredError,
    InvalidOptionError,
    NoActiveInterviewError,
    UnknownTopicError,
)
from bot.engine.grading import Grader
from bot.engine.interview import MAX_QUESTIONS, InterviewService, InterviewState, Step
from bot.engine.model import Difficulty, NewAttempt, Source, StoredInterview, UserRef
from bot.engine.outbox import StoredReplies
from bot.engine.ports import Store
from bot.engine.quiz import HINT_PENALTY, QuizService
from bot.engine.reply import ActionKind, Reply, Tone
from storage import SqlStore, open_store

ALICE = UserRef("slack", "T1", "U1", "Alice")
BOB = UserRef("slack", "T1", "U2", "Bob")
OFF_TOPIC = "My grandmother bakes banana bread every Sunday afternoon."


def make_interviews(
    catalog: Catalog, store: SqlStore, clock: FixedClock, **options: timedelta
) -> InterviewService:
    """An interview service over a seeded quiz service."""
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(11))
    return InterviewService(quiz, **options)


@pytest.fixture
def interviews(catalog: Catalog, store: SqlStore, clock: FixedClock) -> InterviewService:
    """The interview service over the default pack."""
    return make_interviews(catalog, store, clock)


async def state_of(store: Store, user: UserRef) -> InterviewState | None:
    """The user's active interview state, read from the store."""
    stored = await store.active_interview(user)
    return InterviewState.from_json(stored.state) if stored else None


async def current_reference(interviews: InterviewService, user: UserRef) -> str:
    """The reference answer of the question the user is on."""
    state = await state_of(interviews.store, user)
    assert state is not None
    return interviews.catalog.question(state.current_question_id).reference


def fields(reply: Reply) -> dict[str, str]:
    """A reply's fields by name."""
    return {field.name: field.value for field in reply.fields}


# -- start ------------------------------------------------------------------------------------


async def test_start_asks_the_first_of_n_questions_on_the_chosen_topics(
    interviews: InterviewService, store: SqlStore, clock: FixedClock
) -> None:
    intro, first = await interviews.start(ALICE, ["ecs", "lambda"], 4, channel="D1")

    state = await state_of(store, ALICE)
    assert state is not None
    assert len(state.question_ids) == 4
    assert (state.steps, state.hints_used, state.channel) == ((), 0, "D1")
    assert state.started_at == clock.now()
    assert intro.title == "Mock interview"
    assert intro.text.startswith("4 questions on ")
    assert {"Amazon ECS", "AWS Lambda"} <= set(intro.text.split(". ")[0][15:].split(", "))
    assert first.question_id == state.current_question_id
    assert first.title.startswith("Question 1 of 4 · ")
    assert first.text == interviews.catalog.question(state.current_question_id).prompt
    assert [a.kind for a in first.actions] == [ActionKind.HINT, ActionKind.SKIP, ActionKind.STOP]
    assert first.actions[2].value == state.id
    assert await store.recently_asked(ALICE, 10) == [state.current_question_id]


async def test_questions_spread_evenly_over_the_topics_interview_style_first(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs", "s3", "Terraform"], 6)

    state = await state_of(store, ALICE)
    assert state is not None
    items = [interviews.catalog.question(qid) for qid in state.question_ids]
    assert Counter(item.topic_id for item in items) == {"ecs": 2, "s3": 2, "terraform": 2}
    assert {item.difficulty for item in items} == {Difficulty.INTERVIEW}
    assert len(set(state.question_ids)) == 6


async def test_a_long_interview_falls_back_to_other_levels_without_repeats(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs"], 8)

    state = await state_of(store, ALICE)
    assert state is not None
    levels = [interviews.catalog.question(qid).difficulty for qid in state.question_ids]
    assert levels[:2] == [Difficulty.INTERVIEW] * 2
    assert levels[2:6] == [Difficulty.ADVANCED] * 4
    assert levels[6:] == [Difficulty.BASIC] * 2
    assert len(set(state.question_ids)) == 8


async def test_without_topics_every_topic_is_eligible(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, (), 10)

    state = await state_of(store, ALICE)
    assert state is not None
    topics = {interviews.catalog.question(qid).topic_id for qid in state.question_ids}
    assert topics == {topic.id for topic in interviews.catalog.topics}


async def test_naming_a_topic_twice_does_not_repeat_questions(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["lambda", "Lambda"], 8)

    state = await state_of(store, ALICE)
    assert state is not None
    assert len(state.question_ids) == 8
    assert len(set(state.question_ids)) == 8, state.question_ids


@pytest.mark.parametrize("count", [0, -1, MAX_QUESTIONS + 1])
async def test_interview_length_out_of_bounds_is_refused(
    interviews: InterviewService, store: SqlStore, count: int
) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        await interviews.start(ALICE, ["ecs"], count)

    assert str(caught.value) == (
        f"An interview has 1 to {MAX_QUESTIONS} questions; you asked for {count}."
    )
    assert await store.active_interview(ALICE) is None


@pytest.mark.parametrize("count", [1, MAX_QUESTIONS])
async def test_interview_length_bounds_are_inclusive(
    interviews: InterviewService, store: SqlStore, count: int
) -> None:
    await interviews.start(ALICE, (), count)

    state = await state_of(store, ALICE)
    assert state is not None
    assert len(state.question_ids) == count


async def test_an_unknown_topic_starts_nothing(
    interviews: InterviewService, store: SqlStore
) -> None:
    with pytest.raises(UnknownTopicError):
        await interviews.start(ALICE, ["ecs", "kubernetes"], 3)
    assert await store.active_interview(ALICE) is None


async def test_starting_again_resumes_the_running_interview(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs"], 3)
    await interviews.handle(ALICE, "Containers on a cluster")
    before = await state_of(store, ALICE)

    notice, question = await interviews.start(ALICE, ["lambda"], 5)

    assert before is not None
    assert await state_of(store, ALICE) == before
    assert notice.title == "Interview in progress"
    assert notice.text.startswith("Resuming at question 2 of 3.")
    assert question.question_id == before.current_question_id
    assert question.title.startswith("Question 2 of 3 · Amazon ECS")


# -- answer, hint, skip, stop -----------------------------------------------------------------


async def test_an_answer_is_graded_stored_as_interview_and_the_next_question_follows(
    interviews: InterviewService, store: SqlStore, clock: FixedClock
) -> None:
    await interviews.start(ALICE, ["ecs"], 2, channel="D1")
    first = await state_of(store, ALICE)
    assert first is not None
    clock.advance(timedelta(minutes=2))

    graded, following = await interviews.handle(ALICE, await current_reference(interviews, ALICE))

    assert graded.score == 100
    assert graded.question_id == first.question_ids[0]
    assert following.question_id == first.question_ids[1]
    assert following.title.startswith("Question 2 of 2 · ")
    (attempt,) = await store.attempts(ALICE)
    assert (attempt.question_id, attempt.source, attempt.channel, attempt.score) == (
        first.question_ids[0],
        Source.INTERVIEW,
        "D1",
        100,
    )
    assert attempt.created_at == clock.now()
    assert await store.recently_asked(ALICE, 10) == list(reversed(first.question_ids))
    assert await store.open_question(ALICE) is None


async def test_hints_then_an_answer_cost_the_penalty(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs"], 2)
    state = await state_of(store, ALICE)
    assert state is not None
    item = interviews.catalog.question(state.current_question_id)
    concepts = interviews.quiz.concepts(item)

    first_hint = await interviews.handle(ALICE, "hint")
    second_hint = await interviews.handle(ALICE, " H ")
    graded, _ = await interviews.handle(ALICE, item.reference)

    assert [r.text for r in first_hint + second_hint] == [
        f"Mention: {concepts[0]}",
        f"Mention: {concepts[1]}",
    ]
    assert first_hint[0].title == f"Hint 1 of {len(concepts)}"
    assert graded.score == 100 - 2 * HINT_PENALTY
    (attempt,) = await store.attempts(ALICE)
    assert (attempt.hints_used, attempt.score) == (2, 100 - 2 * HINT_PENALTY)
    after = await state_of(store, ALICE)
    assert after is not None
    assert after.hints_used == 0  # hints are per question
    assert after.steps[0].hints_used == 2


async def test_hints_run_out(interviews: InterviewService, store: SqlStore) -> None:
    await interviews.start(ALICE, ["ecs"], 1)
    state = await state_of(store, ALICE)
    assert state is not None
    total = len(interviews.quiz.concepts(interviews.catalog.question(state.current_question_id)))

    replies = [(await interviews.handle(ALICE, "hint"))[0] for _ in range(total + 1)]

    assert replies[-1].title == "No more hints"
    assert replies[-2].title == f"Hint {total} of {total}"
    after = await state_of(store, ALICE)
    assert after is not None
    assert after.hints_used == total


async def test_skip_moves_on_with_a_zero_and_stores_no_attempt(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs"], 2)
    state = await state_of(store, ALICE)
    assert state is not None

    skipped, following = await interviews.handle(ALICE, "skip")

    item = interviews.catalog.question(state.question_ids[0])
    assert skipped.title == "Skipped"
    assert fields(skipped) == {"Reference answer": item.reference}
    assert following.question_id == state.question_ids[1]
    after = await state_of(store, ALICE)
    assert after is not None
    (step,) = after.steps
    assert (step.question_id, step.score, step.skipped) == (item.id, 0, True)
    assert step.missed == interviews.quiz.concepts(item)
    assert await store.attempts(ALICE) == []


async def test_an_empty_answer_is_refused_and_keeps_the_interview_where_it_was(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs"], 2)
    before = await state_of(store, ALICE)

    with pytest.raises(EmptyAnswerError):
        await interviews.handle(ALICE, "  ?! ")

    assert await state_of(store, ALICE) == before
    assert await store.attempts(ALICE) == []


async def test_the_last_answer_ends_with_a_summary(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs", "lambda"], 2)

    _, summary = await interviews.handle(ALICE, await current_reference(interviews, ALICE))
    assert summary.title.startswith("Question 2 of 2")
    _, summary = await interviews.handle(ALICE, await current_reference(interviews, ALICE))

    assert summary.title == "Interview summary"
    assert summary.text == "2 of 2 questions, average 100/100."
    assert summary.tone is Tone.SUCCESS
    assert fields(summary)["Weakest topics"] == "none"
    assert fields(summary)["Study next"] == "nothing missed: well done"
    assert await store.active_interview(ALICE) is None
    with pytest.raises(NoActiveInterviewError):
        await interviews.handle(ALICE, "hint")


async def test_summary_scores_per_topic_weakest_topics_and_study_suggestions(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs", "s3"], 4)
    state = await state_of(store, ALICE)
    assert state is not None
    items = [interviews.catalog.question(qid) for qid in state.question_ids]
    last: list[Reply] = []
    for item in items:
        last = await interviews.handle(
            ALICE, item.reference if item.topic_id == "ecs" else OFF_TOPIC
        )
    attempts = await store.attempts(ALICE)
    assert [a.score for a in attempts] == [100 if i.topic_id == "ecs" else 0 for i in items]
    missed = [concept for a in attempts if a.topic_id == "s3" for concept in a.missed]

    summary = last[1]

    assert summary.title == "Interview summary"
    assert summary.text == "4 of 4 questions, average 50/100."
    assert summary.tone is Tone.WARNING
    assert fields(summary)["Score per topic"] == "Amazon S3 0, Amazon ECS 100"
    assert fields(summary)["Weakest topics"] == "Amazon S3"
    assert len(missed) >= 5
    assert fields(summary)["Study next"] == "; ".join(list(dict.fromkeys(missed))[:5])


async def test_stop_ends_early_and_sums_up_what_was_answered(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs", "s3"], 4)
    await interviews.handle(ALICE, await current_reference(interviews, ALICE))
    await interviews.handle(ALICE, "skip")

    (summary,) = await interviews.handle(ALICE, "STOP")

    assert summary.title == "Interview summary (stopped early)"
    assert summary.text == "2 of 4 questions, average 50/100."
    assert await store.active_interview(ALICE) is None
    assert len(await store.attempts(ALICE)) == 1
    with pytest.raises(NoActiveInterviewError):
        await interviews.handle(ALICE, "stop")


async def test_running_for_finds_the_interview_in_the_workspace_it_started_in(
    interviews: InterviewService,
) -> None:
    in_t2 = UserRef("slack", "T2", "U1", "Alice")
    assert await interviews.running_for("slack", "U1") is None
    await interviews.start(in_t2, ["ecs"], 1)

    assert await interviews.running_for("slack", "U1") == in_t2
    assert await interviews.running_for("discord", "U1") is None
    await interviews.stop(in_t2)
    assert await interviews.running_for("slack", "U1") is None


async def test_stop_before_any_answer(interviews: InterviewService, store: SqlStore) -> None:
    await interviews.start(ALICE, ["ecs"], 3)

    (summary,) = await interviews.handle(ALICE, "quit")

    assert (summary.title, summary.text) == ("Interview ended", "No questions were answered.")
    assert await store.active_interview(ALICE) is None


async def test_commands_without_an_interview_say_so(interviews: InterviewService) -> None:
    for text in ("hint", "skip", "stop", "an answer about containers"):
        with pytest.raises(NoActiveInterviewError, match="no mock interview running"):
            await interviews.handle(ALICE, text)
    with pytest.raises(NoActiveInterviewError):
        await interviews.current(ALICE)


async def test_interviews_of_two_users_do_not_mix(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs"], 2)
    await interviews.start(BOB, ["s3"], 3)

    await interviews.handle(BOB, "skip")

    alice, bob = await state_of(store, ALICE), await state_of(store, BOB)
    assert alice is not None
    assert bob is not None
    assert (len(alice.steps), len(bob.steps)) == (0, 1)
    assert alice.id != bob.id
    assert (await interviews.current(ALICE)).title.startswith("Question 1 of 2 · Amazon ECS")


# -- restart and idle expiry ------------------------------------------------------------------


async def test_an_interview_survives_a_restart_on_a_new_store(
    catalog: Catalog, database_url: str, clock: FixedClock
) -> None:
    first_store = await open_store(database_url)
    try:
        before = make_interviews(catalog, first_store, clock)
        await before.start(ALICE, ["ecs", "lambda"], 3, channel="D9")
        await before.handle(ALICE, "hint")
        await before.handle(ALICE, await current_reference(before, ALICE))
        await before.handle(ALICE, "hint")
        state = await state_of(first_store, ALICE)
    finally:
        await first_store.close()
    assert state is not None

    second_store = await open_store(database_url)
    try:
        after = make_interviews(catalog, second_store, clock)
        current = await after.current(ALICE)
        resumed = await after.start(ALICE, (), 5)
        graded, following = await after.handle(ALICE, await current_reference(after, ALICE))
        final = await after.handle(ALICE, "skip")
        attempts = await second_store.attempts(ALICE)
    finally:
        await second_store.close()

    assert current.question_id == state.question_ids[1]
    assert current.title.startswith("Question 2 of 3")
    assert resumed[0].text.startswith("Resuming at question 2 of 3.")
    assert graded.score == 100 - HINT_PENALTY  # the hint taken before the restart counts
    assert following.question_id == state.question_ids[2]
    assert final[1].title == "Interview summary"
    assert final[1].text == "3 of 3 questions, average 60/100."
    assert [(a.question_id, a.source, a.channel, a.hints_used) for a in attempts] == [
        (state.question_ids[0], Source.INTERVIEW, "D9", 1),
        (state.question_ids[1], Source.INTERVIEW, "D9", 1),
    ]


async def test_an_idle_interview_expires_after_the_timeout(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    interviews = make_interviews(catalog, store, clock, idle_timeout=timedelta(hours=2))
    await interviews.start(ALICE, ["ecs"], 3)
    clock.advance(timedelta(minutes=30))
    await interviews.handle(ALICE, await current_reference(interviews, ALICE))

    clock.advance(timedelta(hours=1, minutes=59))
    assert await interviews.expire_if_idle(ALICE) is None
    assert await store.active_interview(ALICE) is not None

    clock.advance(timedelta(minutes=1))
    notice = await interviews.expire_if_idle(ALICE)

    assert notice is not None
    assert notice.title == "Your interview expired after 2 hours without an answer"
    assert notice.text == "1 of 3 questions, average 100/100."
    assert await store.active_interview(ALICE) is None
    assert await interviews.expire_if_idle(ALICE) is None
    # A new interview can start afterwards.
    intro, _ = await interviews.start(ALICE, ["s3"], 1)
    assert intro.title == "Mock interview"


async def test_a_hint_counts_as_activity_for_idle_expiry(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    interviews = make_interviews(catalog, store, clock, idle_timeout=timedelta(hours=1))
    await interviews.start(ALICE, ["ecs"], 2)
    clock.advance(timedelta(minutes=50))
    await interviews.handle(ALICE, "hint")

    clock.advance(timedelta(minutes=50))

    assert await interviews.expire_if_idle(ALICE) is None
    assert await store.active_interview(ALICE) is not None


@pytest.mark.parametrize("word", ["hint", "skip", "stop", "an answer"])
async def test_an_idle_interview_ends_on_any_next_move_with_its_summary(
    catalog: Catalog, store: SqlStore, clock: FixedClock, word: str
) -> None:
    # Buttons reach hint/skip/stop directly, without the DM path's expire_if_idle first.
    interviews = make_interviews(catalog, store, clock, idle_timeout=timedelta(hours=1))
    await interviews.start(ALICE, ["ecs"], 3)
    await interviews.handle(ALICE, await current_reference(interviews, ALICE))
    clock.advance(timedelta(hours=1))

    with pytest.raises(InterviewExpiredError) as expired:
        await interviews.handle(ALICE, word)

    assert "ended after 1 hours without an answer" in str(expired.value)
    assert expired.value.summary.text == "1 of 3 questions, average 100/100."
    assert await store.active_interview(ALICE) is None
    assert len(await store.attempts(ALICE)) == 1


async def test_starting_after_an_idle_interview_sums_it_up_then_starts_afresh(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    interviews = make_interviews(catalog, store, clock, idle_timeout=timedelta(hours=1))
    await interviews.start(ALICE, ["ecs"], 3)
    first = await state_of(store, ALICE)
    clock.advance(timedelta(hours=2))

    expired, intro, question = await interviews.start(ALICE, ["s3"], 2)

    assert expired.title == "Your interview expired after 1 hours without an answer"
    assert intro.title == "Mock interview"
    again = await state_of(store, ALICE)
    assert again is not None
    assert first is not None
    assert again.id != first.id
    assert question.question_id == again.current_question_id


class ChangesTogether:
    """The real store, except that interview changes wait until `count` of them are pending:
    how two messages sent at once both read the interview before either changes it.
    """

    def __init__(self, store: SqlStore, count: int) -> None:
        self.store = store
        self.arrived = 0
        self.count = count
        self.everyone_here = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def change_interview(
        self,
        interview: StoredInterview,
        attempt: NewAttempt | None = None,
        replies: StoredReplies | None = None,
    ) -> bool:
        self.arrived += 1
        if self.arrived >= self.count:
            self.everyone_here.set()
        await self.everyone_here.wait()
        return await self.store.change_interview(interview, attempt, replies)


async def test_two_answers_racing_for_one_question_count_once(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    racing = ChangesTogether(store, count=2)
    quiz = QuizService(catalog, Grader(), cast(Store, racing), clock, random.Random(11))
    interviews = InterviewService(quiz)
    await interviews.start(ALICE, ["ecs"], 3)
    reference = await current_reference(interviews, ALICE)

    first, second = await asyncio.gather(
        interviews.answer(ALICE, reference), interviews.answer(ALICE, OFF_TOPIC)
    )

    titles = {first[0].title, second[0].title}
    assert "Already taken care of" in titles
    assert len(await store.attempts(ALICE)) == 1
    state = await state_of(store, ALICE)
    assert state is not None
    assert len(state.steps) == 1
    (attempt,) = await store.attempts(ALICE)
    assert state.steps[0].score == attempt.score


async def test_a_stop_button_of_an_earlier_interview_leaves_the_running_one(
    interviews: InterviewService, store: SqlStore
) -> None:
    await interviews.start(ALICE, ["ecs"], 2)
    old = await state_of(store, ALICE)
    assert old is not None
    await interviews.stop(ALICE)
    await interviews.start(ALICE, ["s3"], 2)

    reply = await interviews.stop(ALICE, interview_id=old.id)

    assert reply.title == "That interview has already ended"
    assert await store.active_interview(ALICE) is not None
    running = await state_of(store, ALICE)
    assert running is not None
    assert (await interviews.stop(ALICE, interview_id=running.id)).title == "Interview ended"
    assert await store.active_interview(ALICE) is None


def test_interview_state_round_trips_through_json(clock: FixedClock) -> None:
    state = InterviewState(
        id="abc",
        question_ids=("ecs/clusters", "s3/versioning"),
        steps=(Step("ecs/clusters", "ecs", 40, False, 1, ("tasks", "services")),),
        hints_used=2,
        started_at=clock.now(),
        channel=None,
    )

    again = InterviewState.from_json(state.to_json())

    assert again == state
    assert again.started_at.tzinfo is not None
    assert again.current_question_id == "s3/versioning"
    assert not again.finished
