"""Tutor: the chat surface's intents, routed the same way for every platform, on a real store."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from helpers import CLOCK_START, FixedClock

from bot.adapters.recording import RecordingAdapter
from bot.engine.catalog import Catalog
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import DailyService
from bot.engine.grading import Grader
from bot.engine.interview import InterviewService
from bot.engine.model import UserRef
from bot.engine.outbox import Receipt
from bot.engine.quiz import QuizService
from bot.engine.reply import Tone
from bot.engine.tutor import IN_FLIGHT, NO_INTERVIEW, InterviewChange, Tutor, Where
from storage import SqlStore

IN_GUILD = UserRef("discord", "G1", "42", "Alice")
IN_OTHER_GUILD = UserRef("discord", "G2", "42", "Alice")
IN_DM = UserRef("discord", "dm:42", "42", "Alice")
CHANNEL = Where("C1")
DM = Where("D1", direct=True)
HOME = ChannelRef("discord", "G1", "C1")


@pytest.fixture
def tutor(catalog: Catalog, store: SqlStore, clock: FixedClock) -> Tutor:
    quiz = QuizService(catalog, Grader(), store, clock, random.Random(5))
    daily = DailyService(quiz, store, {"discord": RecordingAdapter("discord")})
    return Tutor(catalog, quiz, InterviewService(quiz), daily, store)


@dataclass
class Admins:
    """A Permissions port that says yes to the listed users, and remembers who was asked."""

    allowed: set[str]
    refusal: str = "Only admins, sorry."
    asked: list[str] = field(default_factory=list)

    async def is_admin(self, user: UserRef) -> bool:
        self.asked.append(user.user)
        return user.user in self.allowed


@dataclass
class Channels:
    """A ChannelAccess port with a fixed answer, which remembers whether it was asked."""

    answer: str | None = None
    asked: list[ChannelRef] = field(default_factory=list)

    async def problem(self, channel: ChannelRef) -> str | None:
        self.asked.append(channel)
        return self.answer


async def test_an_answer_in_the_dm_goes_to_the_interview_started_in_a_guild(tutor: Tutor) -> None:
    started = await tutor.start_interview(IN_GUILD, ["ecs"], 2)
    first = started.direct[-1].question_id

    answered = await tutor.answer(IN_DM, "Binpack, spread and random.", where=DM)

    assert started.interview is InterviewChange.STARTED
    assert answered.replies == ()
    assert answered.direct[0].title.startswith("Score")
    attempts = await tutor.quiz.store.attempts(IN_GUILD)
    assert [attempt.question_id for attempt in attempts] == [first]  # counted in the guild


async def test_the_same_answer_in_a_channel_goes_to_the_open_question(tutor: Tutor) -> None:
    await tutor.start_interview(IN_GUILD, ["ecs"], 2)
    asked = await tutor.ask(IN_GUILD, topic="s3", difficulty=None, where=CHANNEL)

    answered = await tutor.answer(IN_GUILD, "Objects in buckets.", where=CHANNEL)

    assert answered.direct == ()
    assert answered.replies[0].question_id == asked.replies[0].question_id


async def test_refusals_come_back_as_error_replies(tutor: Tutor) -> None:
    for turn in (
        await tutor.ask(IN_GUILD, topic="cobol", difficulty=None, where=CHANNEL),
        await tutor.answer(IN_GUILD, "no open question", where=CHANNEL),
        await tutor.hint(IN_GUILD, where=CHANNEL),
        await tutor.start_interview(IN_GUILD, (), 0),
    ):
        assert [reply.tone for reply in turn.replies] == [Tone.ERROR]
    assert "1 to" in (await tutor.start_interview(IN_GUILD, (), 0)).replies[0].text


async def test_a_second_interview_elsewhere_resumes_the_running_one(tutor: Tutor) -> None:
    await tutor.start_interview(IN_GUILD, ["ecs"], 2)

    again = await tutor.start_interview(IN_OTHER_GUILD, ["s3"], 3)

    assert again.interview is InterviewChange.RESUMED
    assert again.replies[0].title == "Interview resumed"
    assert "another server" in again.replies[0].text
    assert "not used" in again.replies[0].text
    assert not await tutor.interview_running(IN_OTHER_GUILD)


async def test_a_dm_without_an_interview_says_how_to_start_one(tutor: Tutor) -> None:
    turn = await tutor.message(UserRef("discord", "", "42"), "hello?")

    assert turn.direct == (NO_INTERVIEW,)
    assert turn.interview is InterviewChange.NONE


async def test_stop_in_the_dm_ends_the_interview_with_its_summary(tutor: Tutor) -> None:
    await tutor.start_interview(IN_GUILD, ["ecs"], 2)

    turn = await tutor.message(UserRef("discord", "", "42"), "stop")

    assert turn.interview is InterviewChange.ENDED
    assert turn.direct[-1].title == "Interview ended"
    assert not await tutor.interview_running(IN_GUILD)


async def test_daily_on_asks_who_before_anything_and_checks_input_before_the_channel(
    tutor: Tutor,
) -> None:
    admins, channels = Admins({"7"}), Channels()
    member = UserRef("discord", "G1", "42")
    admin = UserRef("discord", "G1", "7")

    refused = await tutor.daily_on(
        HOME,
        actor=member,
        post_time="25:00",
        timezone="Mars/Base",
        permissions=admins,
        access=channels,
    )
    bad_time = await tutor.daily_on(
        HOME, actor=admin, post_time="25:00", timezone=None, permissions=admins, access=channels
    )
    on = await tutor.daily_on(
        HOME,
        actor=admin,
        post_time="09:00",
        timezone="Europe/Berlin",
        permissions=admins,
        access=channels,
    )

    assert refused.replies[0].text == "Only admins, sorry."
    assert bad_time.replies[0].tone is Tone.ERROR
    assert channels.asked == [HOME]  # only the valid request got as far as the channel
    assert on.replies[0].tone is not Tone.ERROR
    assert (await tutor.daily_subscription(HOME)) is not None


async def test_daily_on_says_why_the_bot_cannot_post_and_saves_nothing(tutor: Tutor) -> None:
    admin = UserRef("discord", "G1", "7")

    turn = await tutor.daily_on(
        HOME,
        actor=admin,
        post_time="09:00",
        timezone="UTC",
        permissions=Admins({"7"}),
        access=Channels("I need Send Messages there."),
    )

    assert turn.replies[0].text == "I need Send Messages there."
    assert await tutor.daily_subscription(HOME) is None


async def test_a_platform_retry_of_an_event_is_not_a_first_delivery(tutor: Tutor) -> None:
    assert await tutor.first_delivery("slack", "Ev1")
    assert not await tutor.first_delivery("slack", "Ev1")
    assert await tutor.first_delivery("discord", "Ev1")  # ids are scoped by platform


# -- stored replies: a DM answer is answered exactly once ---------------------------------------

TYPED = UserRef("discord", "", "42")
RECEIPT = Receipt(event_id="m-1001", channel="D1")


async def test_a_dm_answer_stores_its_replies_and_a_second_delivery_grades_nothing(
    tutor: Tutor, clock: FixedClock
) -> None:
    await tutor.start_interview(IN_GUILD, ["ecs"], 2)

    first = await tutor.message(TYPED, "Binpack, spread and random.", RECEIPT)
    while_sending = await tutor.message(TYPED, "Binpack, spread and random.", RECEIPT)
    clock.advance(IN_FLIGHT + timedelta(seconds=1))
    again = await tutor.message(TYPED, "Binpack, spread and random.", RECEIPT)

    assert while_sending.direct == ()  # the first delivery is still sending them
    assert [r.title for r in again.direct] == [r.title for r in first.direct]
    assert first.direct[0].title.startswith("Score")
    assert len(await tutor.quiz.store.attempts(IN_GUILD)) == 1  # graded once
    stored = await tutor.events.stored_replies("discord", RECEIPT.event_id)
    assert stored is not None
    assert stored.replies == first.direct
    # Where the answer counts, though the DM names no server.
    assert (stored.user.workspace, stored.user.user) == (IN_GUILD.workspace, IN_GUILD.user)
    assert not stored.sent

    await tutor.sent("discord", RECEIPT)
    after_sending = await tutor.message(TYPED, "Binpack, spread and random.", RECEIPT)

    assert after_sending.direct == ()  # sent already: a retry shows nothing twice
    assert len(await tutor.quiz.store.attempts(IN_GUILD)) == 1


async def test_a_message_without_a_receipt_stores_nothing(tutor: Tutor) -> None:
    await tutor.start_interview(IN_GUILD, ["ecs"], 2)

    await tutor.message(TYPED, "skip")

    assert await tutor.events.unsent_replies("discord", CLOCK_START) == []


async def test_replies_a_killed_run_stored_are_sent_at_start_up_once(
    tutor: Tutor, clock: FixedClock
) -> None:
    await tutor.start_interview(IN_GUILD, ["ecs"], 3)
    answered = await tutor.message(TYPED, "Spread across AZs.", RECEIPT)  # never sent: killed
    skipped = await tutor.message(TYPED, "skip", Receipt("m-1002", "D1"))
    await tutor.sent("discord", Receipt("m-1002", "D1"))  # this one did reach the member
    restarted = RecordingAdapter("discord")
    clock.advance(timedelta(seconds=1))
    started = clock.now()
    in_flight = await tutor.message(TYPED, "skip", Receipt("m-1004", "D1"))  # being sent now

    assert await tutor.send_unsent({"discord": restarted}, stored_before=started) == len(
        answered.direct
    )
    assert in_flight.direct
    assert [post.reply for post in restarted.posts] == list(answered.direct)
    assert {post.channel for post in restarted.posts} == {ChannelRef("discord", "G1", "D1")}
    assert skipped.direct  # the other message had replies, already sent
    assert await tutor.send_unsent({"discord": restarted}) == 0

    clock.advance(IN_FLIGHT + timedelta(seconds=1))
    assert await tutor.send_unsent({"discord": restarted}) == len(in_flight.direct)  # a round

    clock.advance(timedelta(minutes=20))
    late = await tutor.message(TYPED, "Another answer.", Receipt("m-1003", "D1"))
    clock.advance(timedelta(minutes=16))
    assert late.direct
    assert await tutor.send_unsent({"discord": restarted}) == 0  # too old: the member moved on
