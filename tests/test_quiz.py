"""QuizService through the real grader and a real SqlStore (SQLite file, PostgreSQL if set)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from helpers import FixedClock

from bot.engine.catalog import Catalog
from bot.engine.errors import (
    AnswerTooLongError,
    EmptyAnswerError,
    InvalidOptionError,
    NoOpenQuestionError,
    NoQuestionsError,
    StaleQuestionError,
    UnknownDifficultyError,
    UnknownQuestionError,
    UnknownTopicError,
)
from bot.engine.grading import Grader
from bot.engine.model import Difficulty, OpenQuestion, Question, Source, Topic, UserRef, Verdict
from bot.engine.quiz import HINT_PENALTY, MAX_ANSWER_CHARS, Period, QuizService, parse_period
from bot.engine.reply import ActionKind, Reply
from storage import SqlStore

ALICE = UserRef("slack", "T1", "U1", "Alice")
BOB = UserRef("slack", "T1", "U2", "Bob")
CAROL = UserRef("slack", "T1", "U3", "Carol")
PLACEMENT = "ecs/task-placement-strategies"
OFF_TOPIC = "My grandmother bakes banana bread every Sunday afternoon."


def make_quiz(
    catalog: Catalog, store: SqlStore, clock: FixedClock, *, seed: int = 7, **options: int
) -> QuizService:
    """A quiz service with a seeded random generator."""
    return QuizService(catalog, Grader(), store, clock, random.Random(seed), **options)


@pytest.fixture
def quiz(catalog: Catalog, store: SqlStore, clock: FixedClock) -> QuizService:
    """The quiz service over the default pack."""
    return make_quiz(catalog, store, clock)


@pytest.fixture
def placement_quiz(catalog: Catalog, store: SqlStore, clock: FixedClock) -> QuizService:
    """A quiz whose only question is the ECS task placement one (three concepts)."""
    only = Catalog([catalog.topic("ecs")], [catalog.question(PLACEMENT)])
    return make_quiz(only, store, clock)


def fields(reply: Reply) -> dict[str, str]:
    """A reply's fields by name."""
    return {field.name: field.value for field in reply.fields}


async def answer_perfectly(quiz: QuizService, user: UserRef, reply: Reply) -> Reply:
    """Answer the asked question with its own reference answer."""
    assert reply.question_id is not None
    return await quiz.answer(user, quiz.catalog.question(reply.question_id).reference)


# -- ask --------------------------------------------------------------------------------------


async def test_ask_opens_the_question_it_shows(
    quiz: QuizService, store: SqlStore, clock: FixedClock
) -> None:
    reply = await quiz.ask(ALICE, source=Source.SLASH, channel="C1")

    assert reply.question_id is not None
    item = quiz.catalog.question(reply.question_id)
    assert reply.text == item.prompt
    assert reply.title == f"{quiz.catalog.topic(item.topic_id).name} · {item.difficulty.value}"
    assert [a.kind for a in reply.actions] == [ActionKind.ANSWER, ActionKind.HINT, ActionKind.SKIP]
    opened = await store.open_question(ALICE)
    assert opened is not None
    assert (opened.question_id, opened.source, opened.channel, opened.hints_used) == (
        item.id,
        Source.SLASH,
        "C1",
        0,
    )
    assert opened.asked_at == clock.now()
    assert await store.recently_asked(ALICE, 5) == [item.id]
    assert await store.open_question(BOB) is None


async def test_ask_respects_topic_and_difficulty_filters(
    quiz: QuizService, clock: FixedClock
) -> None:
    asked = []
    for _ in range(12):
        clock.advance(timedelta(minutes=1))
        asked.append(await quiz.ask(ALICE, topic="Lambda", difficulty="Basic"))

    items = [quiz.catalog.question(str(reply.question_id)) for reply in asked]
    assert {item.topic_id for item in items} == {"lambda"}
    assert {item.difficulty for item in items} == {Difficulty.BASIC}
    assert {item.id for item in items} == {
        q.id for q in quiz.catalog.select(topic_ids={"lambda"}, difficulty=Difficulty.BASIC)
    }


async def test_ask_with_a_bad_topic_or_level_opens_nothing(
    quiz: QuizService, store: SqlStore
) -> None:
    with pytest.raises(UnknownTopicError):
        await quiz.ask(ALICE, topic="EKS")
    with pytest.raises(UnknownDifficultyError):
        await quiz.ask(ALICE, difficulty="hard")

    assert await store.open_question(ALICE) is None
    assert await store.recently_asked(ALICE, 5) == []


async def test_ask_with_no_matching_question_says_so(store: SqlStore, clock: FixedClock) -> None:
    topic = Topic("vpc", "Amazon VPC")
    only = Catalog([topic], [Question("vpc/q", "vpc", "Q?", "A.", Difficulty.BASIC)])
    quiz = make_quiz(only, store, clock)

    with pytest.raises(NoQuestionsError, match="No questions match"):
        await quiz.ask(ALICE, topic="vpc", difficulty="advanced")
    assert await store.open_question(ALICE) is None


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_no_repeat_until_the_pool_is_exhausted_then_least_recent_first(
    catalog: Catalog, store: SqlStore, clock: FixedClock, seed: int
) -> None:
    quiz = make_quiz(catalog, store, clock, seed=seed)
    pool = {q.id for q in catalog.select(topic_ids={"ecs"})}

    asked, notices = [], []
    for _ in range(len(pool) + 2):
        clock.advance(timedelta(minutes=1))
        reply = await quiz.ask(ALICE, topic="ecs")
        asked.append(reply.question_id)
        notices.append(fields(reply).get("Starting over"))

    first_round = asked[: len(pool)]
    assert set(first_round) == pool
    assert len(first_round) == len(set(first_round)) == 11
    assert notices[: len(pool)] == [None] * len(pool)
    # Then, none answered, the least recently seen comes back first, then the next, and the
    # member is told why they see a question again.
    assert asked[len(pool) :] == first_round[:2]
    assert notices[len(pool)] == (
        "You have seen all 11 questions of Amazon ECS: here come the ones you scored lowest."
    )


async def test_once_all_are_seen_the_lowest_scored_come_back_first(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    quiz = make_quiz(catalog, store, clock, seed=7)
    pool = catalog.select(topic_ids={"ecs"}, difficulty=Difficulty.INTERVIEW)
    scores: dict[str, int] = {}
    for answer in ("nothing useful here", "the full reference answer"):
        clock.advance(timedelta(minutes=1))
        asked = await quiz.ask(ALICE, topic="ecs", difficulty="interview")
        item = catalog.question(str(asked.question_id))
        text = item.reference if answer.startswith("the full") else answer
        graded = await quiz.answer(ALICE, text)
        assert graded.score is not None
        scores[item.id] = graded.score

    clock.advance(timedelta(minutes=1))
    again = await quiz.ask(ALICE, topic="ecs", difficulty="interview")

    assert len(pool) == 2
    assert len(set(scores.values())) == 2
    assert again.question_id == min(scores, key=scores.__getitem__)
    assert "all 2 interview questions of Amazon ECS" in fields(again)["Starting over"]


async def test_other_users_history_does_not_affect_my_questions(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    quiz = make_quiz(catalog, store, clock)
    for _ in range(4):
        clock.advance(timedelta(minutes=1))
        await quiz.ask(BOB, topic="ecs", difficulty="advanced")

    clock.advance(timedelta(minutes=1))
    mine = [(await quiz.ask(ALICE, topic="ecs", difficulty="advanced")).question_id]

    assert await store.recently_asked(ALICE, 10) == mine
    assert len(await store.recently_asked(BOB, 10)) == 4


# -- answer -----------------------------------------------------------------------------------


async def test_an_open_question_that_left_the_packs_is_dropped_not_kept_forever(
    quiz: QuizService, store: SqlStore, clock: FixedClock
) -> None:
    gone = OpenQuestion("ecs/removed-from-the-pack", clock.now(), Source.SLASH, 0, None)
    await store.set_open_question(ALICE, gone)

    with pytest.raises(UnknownQuestionError):
        await quiz.answer(ALICE, "Binpack, spread and random.")

    assert await store.open_question(ALICE) is None
    assert await store.attempts(ALICE) == []


async def test_answer_grades_stores_and_consumes_the_open_question(
    placement_quiz: QuizService, store: SqlStore, clock: FixedClock
) -> None:
    await placement_quiz.ask(ALICE, source=Source.DAILY, channel="C42")
    clock.advance(timedelta(minutes=3))

    reply = await placement_quiz.answer(ALICE, "  Binpack, random and spread.  ")

    assert reply.score == 100
    assert reply.title == "Score 100/100 · correct"
    assert fields(reply)["Covered"] == "Binpack, random, spread"
    assert fields(reply)["Missed"] == "none"
    assert fields(reply)["Reference answer"] == "Binpack, random, spread."
    (attempt,) = await store.attempts(ALICE)
    assert (attempt.question_id, attempt.topic_id, attempt.difficulty) == (
        PLACEMENT,
        "ecs",
        Difficulty.ADVANCED,
    )
    assert (attempt.score, attempt.verdict, attempt.source, attempt.channel) == (
        100,
        Verdict.CORRECT,
        Source.DAILY,
        "C42",
    )
    assert attempt.answer == "Binpack, random and spread."
    assert attempt.created_at == clock.now()
    assert await store.open_question(ALICE) is None
    with pytest.raises(NoOpenQuestionError):
        await placement_quiz.answer(ALICE, "Binpack again")
    assert len(await store.attempts(ALICE)) == 1


async def test_a_partial_answer_lists_what_it_missed(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    await placement_quiz.ask(ALICE)

    reply = await placement_quiz.answer(ALICE, "I would use binpack.")

    assert reply.score is not None
    assert 0 < reply.score < 100
    assert fields(reply)["Covered"] == "Binpack"
    assert fields(reply)["Missed"] == "random, spread"
    assert (await store.attempts(ALICE))[0].score == reply.score


async def test_answer_without_a_question_stores_nothing(quiz: QuizService, store: SqlStore) -> None:
    with pytest.raises(NoOpenQuestionError, match="no open question"):
        await quiz.answer(ALICE, "Binpack, random, spread.")

    assert await store.attempts(ALICE) == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "?!", "... --- ???", "\x00\x00", "🙂"])
async def test_an_empty_answer_is_refused_and_the_question_stays_open(
    placement_quiz: QuizService, store: SqlStore, text: str
) -> None:
    await placement_quiz.ask(ALICE)

    with pytest.raises(EmptyAnswerError):
        await placement_quiz.answer(ALICE, text)

    opened = await store.open_question(ALICE)
    assert opened is not None
    assert opened.question_id == PLACEMENT
    assert await store.attempts(ALICE) == []
    assert (await placement_quiz.answer(ALICE, "binpack, random, spread")).score == 100


async def test_an_over_long_answer_is_refused_naming_the_cap_and_keeps_the_question(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    only = Catalog([catalog.topic("ecs")], [catalog.question(PLACEMENT)])
    quiz = make_quiz(only, store, clock, max_answer_chars=200)
    await quiz.ask(ALICE)

    with pytest.raises(AnswerTooLongError) as caught:
        await quiz.answer(ALICE, "binpack " * 30)

    assert (caught.value.length, caught.value.limit) == (len("binpack " * 30) - 1, 200)
    assert "the limit is 200" in str(caught.value)
    assert await store.open_question(ALICE) is not None
    exactly_the_cap = ("binpack random spread " * 10)[:200]
    assert (await quiz.answer(ALICE, exactly_the_cap)).score is not None
    assert len((await store.attempts(ALICE))[0].answer) == 200


async def test_the_default_cap_is_slacks_modal_limit(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    await placement_quiz.ask(ALICE)

    with pytest.raises(AnswerTooLongError, match="the limit is 3,000"):
        await placement_quiz.answer(ALICE, "x" * (MAX_ANSWER_CHARS + 1))
    assert await store.open_question(ALICE) is not None


async def test_nul_characters_are_stripped_before_storing(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    await placement_quiz.ask(ALICE)

    reply = await placement_quiz.answer(ALICE, "Bin\x00pack, random,\x00 spread")

    assert reply.score == 100
    assert (await store.attempts(ALICE))[0].answer == "Binpack, random, spread"


async def test_undecodable_bytes_in_an_answer_are_stored_as_replacement_characters(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    # Bytes that are not UTF-8, as a terminal reads them with surrogateescape.
    typed = b"Binpack \xff\xfe random, spread".decode("utf-8", "surrogateescape")
    await placement_quiz.ask(ALICE)

    reply = await placement_quiz.answer(ALICE, typed)

    assert reply.score == 100
    assert (await store.attempts(ALICE))[0].answer == "Binpack \ufffd\ufffd random, spread"


@pytest.mark.parametrize(
    "text",
    [
        "@everyone binpack <!channel> random <@U999> spread",
        "<script>alert('x')</script> binpack *bold* _it_ `code` ||spoiler|| random spread",
        "binpack — random · spread ✅ 中文 \u202eRTL",
    ],
)
async def test_mentions_and_markup_in_answers_are_stored_verbatim(
    placement_quiz: QuizService, store: SqlStore, text: str
) -> None:
    await placement_quiz.ask(ALICE)

    await placement_quiz.answer(ALICE, text)

    assert (await store.attempts(ALICE))[0].answer == text


async def test_asking_again_replaces_the_open_question(
    quiz: QuizService, store: SqlStore, clock: FixedClock
) -> None:
    first = await quiz.ask(ALICE, topic="ecs")
    clock.advance(timedelta(minutes=1))
    second = await quiz.ask(ALICE, topic="ecs")

    assert first.question_id != second.question_id
    await quiz.answer(ALICE, "Some words about containers")
    (attempt,) = await store.attempts(ALICE)
    assert attempt.question_id == second.question_id


# -- hint and skip ----------------------------------------------------------------------------


async def test_hints_reveal_concepts_in_order_then_run_out(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    await placement_quiz.ask(ALICE)

    hints = [await placement_quiz.hint(ALICE) for _ in range(4)]

    assert [(h.title, h.text) for h in hints[:3]] == [
        ("Hint 1 of 3", "Mention: Binpack"),
        ("Hint 2 of 3", "Mention: random"),
        ("Hint 3 of 3", "Mention: spread"),
    ]
    assert fields(hints[0])["Cost"] == f"-{HINT_PENALTY} points on this question"
    assert hints[3].title == "No more hints"
    assert "All 3 key concepts" in hints[3].text
    opened = await store.open_question(ALICE)
    assert opened is not None
    assert opened.hints_used == 3


@pytest.mark.parametrize("hints", [1, 2, 3])
async def test_each_hint_costs_the_penalty_on_the_stored_score(
    placement_quiz: QuizService, store: SqlStore, hints: int
) -> None:
    await placement_quiz.ask(ALICE)
    for _ in range(hints):
        await placement_quiz.hint(ALICE)

    reply = await placement_quiz.answer(ALICE, "Binpack, random, spread.")

    expected = 100 - hints * HINT_PENALTY
    assert reply.score == expected
    assert fields(reply)["Hints"] == f"{hints} used, -{hints * HINT_PENALTY} points"
    (attempt,) = await store.attempts(ALICE)
    assert (attempt.score, attempt.hints_used) == (expected, hints)


async def test_the_hint_penalty_never_makes_a_score_negative(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    await placement_quiz.ask(ALICE)
    await placement_quiz.hint(ALICE)

    reply = await placement_quiz.answer(ALICE, OFF_TOPIC)

    assert reply.score == 0
    assert (await store.attempts(ALICE))[0].score == 0


async def test_hint_and_skip_need_an_open_question(quiz: QuizService) -> None:
    with pytest.raises(NoOpenQuestionError):
        await quiz.hint(ALICE)
    with pytest.raises(NoOpenQuestionError):
        await quiz.skip(ALICE)


async def test_skip_shows_the_reference_and_records_nothing(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    await placement_quiz.ask(ALICE)
    await placement_quiz.hint(ALICE)

    reply = await placement_quiz.skip(ALICE)

    assert reply.title == "Skipped"
    assert fields(reply) == {"Reference answer": "Binpack, random, spread."}
    assert reply.question_id == PLACEMENT
    assert await store.attempts(ALICE) == []
    assert await store.open_question(ALICE) is None
    with pytest.raises(NoOpenQuestionError):
        await placement_quiz.answer(ALICE, "Binpack, random, spread.")


# -- stats ------------------------------------------------------------------------------------


async def test_stats_with_no_answers(quiz: QuizService) -> None:
    reply = await quiz.stats(ALICE)

    assert reply.title == "Stats for Alice"
    assert reply.text == "No answers yet. Ask for a question to start."
    assert reply.fields == ()


async def test_stats_sum_up_attempts_average_and_topics(
    quiz: QuizService, store: SqlStore, clock: FixedClock
) -> None:
    for topic, good in [
        ("ecs", True),
        ("ecs", True),
        ("s3", True),
        ("docker", True),
        ("lambda", False),
        ("terraform", False),
    ]:
        clock.advance(timedelta(minutes=1))
        asked = await quiz.ask(ALICE, topic=topic)
        if good:
            await answer_perfectly(quiz, ALICE, asked)
        else:
            await quiz.answer(ALICE, OFF_TOPIC)
    assert [a.score for a in await store.attempts(ALICE)] == [100, 100, 100, 100, 0, 0]

    stats = fields(await quiz.stats(ALICE))

    assert stats["Answers"] == "6"
    assert stats["Points"] == "400"
    assert stats["Average"] == "67/100"
    assert stats["Best score"] == "100/100"
    assert stats["Streak"] == "1 day"
    assert stats["Best topics"] == "Docker (100), Amazon ECS (100), Amazon S3 (100)"
    assert stats["Weakest topics"] == "Terraform (0), AWS Lambda (0)"


async def test_stats_ignore_attempts_on_topics_no_longer_loaded(
    catalog: Catalog, store: SqlStore, clock: FixedClock
) -> None:
    quiz = make_quiz(catalog, store, clock)
    await answer_perfectly(quiz, ALICE, await quiz.ask(ALICE, topic="lambda"))
    await answer_perfectly(quiz, ALICE, await quiz.ask(ALICE, topic="ecs"))
    without_lambda = Catalog(
        [t for t in catalog.topics if t.id != "lambda"],
        [q for q in catalog.questions if q.topic_id != "lambda"],
    )

    stats = fields(await make_quiz(without_lambda, store, clock).stats(ALICE))

    assert stats["Answers"] == "1"
    assert stats["Best topics"] == "Amazon ECS (100)"


async def test_the_streak_counts_consecutive_days_on_the_fixed_clock(
    placement_quiz: QuizService, clock: FixedClock
) -> None:
    for day in range(3):  # Monday, Tuesday, Wednesday
        clock.set(datetime(2025, 3, 3, 9, tzinfo=UTC) + timedelta(days=day))
        await placement_quiz.ask(ALICE)
        await placement_quiz.answer(ALICE, "binpack")

    streaks = {}
    for label, moment in [
        ("wednesday", datetime(2025, 3, 5, 23, 59, tzinfo=UTC)),
        ("thursday", datetime(2025, 3, 6, 12, tzinfo=UTC)),
        ("friday", datetime(2025, 3, 7, 0, 1, tzinfo=UTC)),
    ]:
        clock.set(moment)
        streaks[label] = fields(await placement_quiz.stats(ALICE))["Streak"]

    # Thursday still counts yesterday's run; by Friday it is broken.
    assert streaks == {"wednesday": "3 days", "thursday": "3 days", "friday": "0 days"}


async def test_a_gap_day_restarts_the_streak(
    placement_quiz: QuizService, clock: FixedClock
) -> None:
    for day in (0, 2, 3):
        clock.set(datetime(2025, 3, 3, 9, tzinfo=UTC) + timedelta(days=day))
        await placement_quiz.ask(ALICE)
        await placement_quiz.answer(ALICE, "binpack")

    assert fields(await placement_quiz.stats(ALICE))["Streak"] == "2 days"


# -- leaderboard ------------------------------------------------------------------------------


def rows(board: Reply) -> list[str]:
    """A leaderboard as lines: rank, person (by display name) and value."""
    return [f"{f.name} {f.user.display_name if f.user else '?'}: {f.value}" for f in board.fields]


@pytest.mark.parametrize(
    ("name", "period"),
    [("week", Period.WEEK), (" Month ", Period.MONTH), ("ALL", Period.ALL)],
)
def test_parse_period(name: str, period: Period) -> None:
    assert parse_period(name) is period


def test_an_unknown_period_lists_the_accepted_ones() -> None:
    with pytest.raises(InvalidOptionError, match=r"Choose one of: week, month, all\."):
        parse_period("year")


async def test_leaderboard_periods_roll_back_from_now(
    placement_quiz: QuizService, clock: FixedClock
) -> None:
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    schedule = [(ALICE, 0), (ALICE, 0), (BOB, 25), (CAROL, 35)]
    for user, day in schedule:
        clock.set(start + timedelta(days=day))
        await placement_quiz.ask(user)
        await placement_quiz.answer(user, "Binpack, random, spread.")
    clock.set(start + timedelta(days=35, hours=1))

    boards = {period: await placement_quiz.leaderboard("slack", "T1", period) for period in Period}

    assert boards[Period.WEEK].title == "Leaderboard · last 7 days"
    assert rows(boards[Period.WEEK]) == ["1. Carol: 100 points · 1 answer · average 100"]
    assert boards[Period.MONTH].title == "Leaderboard · last 30 days"
    assert rows(boards[Period.MONTH]) == [
        "1. Bob: 100 points · 1 answer · average 100",
        "2. Carol: 100 points · 1 answer · average 100",
    ]
    assert boards[Period.ALL].title == "Leaderboard · all time"
    assert rows(boards[Period.ALL]) == [
        "1. Alice: 200 points · 2 answers · average 100",
        "2. Bob: 100 points · 1 answer · average 100",
        "3. Carol: 100 points · 1 answer · average 100",
    ]
    assert [f.user.user for f in boards[Period.ALL].fields if f.user] == ["U1", "U2", "U3"]
    assert boards[Period.ALL].ephemeral is False


async def test_leaderboards_are_scoped_to_one_workspace_and_platform(
    placement_quiz: QuizService,
) -> None:
    same_id_elsewhere = UserRef("slack", "T2", "U1", "Alice in T2")
    same_workspace_id_on_discord = UserRef("discord", "T1", "U7", "Dora")
    for user in (ALICE, same_id_elsewhere, same_workspace_id_on_discord):
        await placement_quiz.ask(user)
        await placement_quiz.answer(user, "Binpack, random, spread.")
    await placement_quiz.ask(same_id_elsewhere)
    await placement_quiz.answer(same_id_elsewhere, "binpack")

    t1 = await placement_quiz.leaderboard("slack", "T1", Period.ALL)
    t2 = await placement_quiz.leaderboard("slack", "T2", Period.ALL)
    discord = await placement_quiz.leaderboard("discord", "T1", Period.ALL)
    nobody = await placement_quiz.leaderboard("slack", "T3", Period.ALL)

    assert rows(t1) == ["1. Alice: 100 points · 1 answer · average 100"]
    [t2_row] = rows(t2)
    assert t2_row.startswith("1. Alice in T2: ")
    assert "· 2 answers ·" in t2_row
    assert rows(discord) == ["1. Dora: 100 points · 1 answer · average 100"]
    assert nobody.text == "Nobody has answered yet."


async def test_leaderboard_can_be_limited_to_a_channel(placement_quiz: QuizService) -> None:
    await placement_quiz.ask(ALICE, channel="C1")
    await placement_quiz.answer(ALICE, "Binpack, random, spread.")
    await placement_quiz.ask(BOB, channel="C2")
    await placement_quiz.answer(BOB, "Binpack, random, spread.")

    board = await placement_quiz.leaderboard("slack", "T1", Period.ALL, channel="C2")

    assert rows(board) == ["1. Bob: 100 points · 1 answer · average 100"]


def test_topics_lists_counts_per_level(quiz: QuizService) -> None:
    reply = quiz.topics()

    assert reply.title == "10 topics, 106 questions"
    assert fields(reply)["Amazon ECS"] == "5 basic, 4 advanced, 2 interview"
    assert fields(reply)["AWS Step Functions"] == "4 basic, 3 advanced, 2 interview"


# -- concurrency ------------------------------------------------------------------------------


async def test_a_hundred_users_answering_at_once_lose_nothing(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    users = [UserRef("slack", "T1", f"U{n:03}", f"User {n}") for n in range(100)]
    await asyncio.gather(*(placement_quiz.ask(user) for user in users))

    replies = await asyncio.gather(
        *(
            placement_quiz.answer(user, f"binpack random spread #{n}")
            for n, user in enumerate(users)
        )
    )

    item = placement_quiz.catalog.question(PLACEMENT)
    expected = [placement_quiz.grade(item, f"binpack random spread #{n}").score for n in range(100)]
    assert [reply.score for reply in replies] == expected
    assert min(expected) > 80
    stored = await asyncio.gather(*(store.attempts(user) for user in users))
    assert [[a.answer for a in attempts] for attempts in stored] == [
        [f"binpack random spread #{n}"] for n in range(100)
    ]
    still_open = await asyncio.gather(*(store.open_question(user) for user in users))
    assert still_open == [None] * 100


async def test_one_question_answered_twenty_times_at_once_is_graded_once(
    placement_quiz: QuizService, store: SqlStore
) -> None:
    await placement_quiz.ask(ALICE)

    results = await asyncio.gather(
        *(placement_quiz.answer(ALICE, f"binpack {n}") for n in range(20)),
        return_exceptions=True,
    )

    graded = [r for r in results if isinstance(r, Reply)]
    refused = [r for r in results if isinstance(r, NoOpenQuestionError)]
    assert (len(graded), len(refused)) == (1, 19)
    assert len(await store.attempts(ALICE)) == 1


async def test_an_answer_for_a_replaced_question_is_refused_and_keeps_the_newer_one(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(5))
    user = UserRef("slack", "T1", "UQ", "q")
    first = await quiz.ask(user, topic="ecs")
    second = await quiz.ask(user, topic="s3")
    with pytest.raises(StaleQuestionError):
        await quiz.answer(user, "binpack spread random", question_id=first.question_id)
    graded = await quiz.answer(user, "buckets and objects", question_id=second.question_id)
    assert graded.question_id == second.question_id


async def test_after_warm_up_no_answer_needs_a_new_reference_analysis(
    store: SqlStore, clock: FixedClock, catalog: Catalog
) -> None:
    from bot.engine.grading.reference import analyse_reference

    quiz = QuizService(catalog, Grader(), store, clock, random.Random(1))
    quiz.warm_up()
    misses = analyse_reference.cache_info().misses
    for item in catalog.questions:
        quiz.grade(item, "an answer about clusters, buckets and functions")
    assert analyse_reference.cache_info().misses == misses
