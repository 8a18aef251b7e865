"""The chat surface's application service: one method per thing a member asks for.

Adapters parse their platform's input into one of these calls and render the `Turn` it
returns; everything between (whether an answer belongs to the running interview or to the
open question, idle interviews, defaults, validation, who may change a channel's schedule)
is decided here, the same way for every platform. Refusals come back as error replies, so an
adapter needs no `except` of its own for them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Concatenate, Final, ParamSpec, Protocol, TypeVar

from bot.engine import quiz_replies
from bot.engine.catalog import Catalog
from bot.engine.daily.model import ChannelRef, Subscription
from bot.engine.daily.schedule import parse_post_time, parse_timezone
from bot.engine.daily.service import DailyService
from bot.engine.errors import (
    AwsquizError,
    ChatPostError,
    InterviewExpiredError,
    InvalidOptionError,
    NotAllowedError,
    StorageUnavailableError,
    UnknownTopicError,
)
from bot.engine.interview import DEFAULT_QUESTIONS, InterviewService
from bot.engine.model import Source, UserRef
from bot.engine.outbox import Receipt
from bot.engine.ports import ChatAdapter, Clock, Deliveries
from bot.engine.privacy import CONFIRM_COMMAND, PrivacyService, forgotten
from bot.engine.quiz import Period, QuizService, parse_period
from bot.engine.reply import Reply

IN_FLIGHT: Final = timedelta(seconds=30)
"""Stored replies younger than this are taken to be still on their way (rate limits)."""
REDELIVERY_WINDOW: Final = timedelta(minutes=15)
"""How old stored replies a restart still sends: later, the member has moved on."""
NO_INTERVIEW: Final = Reply(
    title="No interview running",
    text="Start a mock interview with `/awsquiz interview [topics] [questions]`.",
)
INTERVIEW_STARTED: Final = Reply(
    title="Interview started", text="Check your direct messages with me."
)

log = logging.getLogger(__name__)


class InterviewChange(Enum):
    """What a turn did to the member's mock interview (the Slack App Home shows it)."""

    NONE = "none"
    STARTED = "started"
    RESUMED = "resumed"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Turn:
    """What the member sees after one intent.

    `replies` answer the request where it was made (privately in a channel); `direct` go to
    the member's direct messages with the bot, as the interview's messages do.
    """

    replies: tuple[Reply, ...] = ()
    direct: tuple[Reply, ...] = ()
    interview: InterviewChange = InterviewChange.NONE


@dataclass(frozen=True, slots=True)
class Where:
    """Where an intent was made: a channel, or the member's DM with the bot (`direct`)."""

    channel: str | None = None
    direct: bool = False


class Permissions(Protocol):
    """Tells whether a member may manage a workspace's or server's daily questions."""

    @property
    def refusal(self) -> str:
        """What a member who may not is told, in the platform's own terms."""
        ...

    async def is_admin(self, user: UserRef) -> bool:
        """True for an admin of the user's workspace or server."""
        ...


class ChannelAccess(Protocol):
    """Gets the bot ready to post in a channel (joining it where it can)."""

    async def problem(self, channel: ChannelRef) -> str | None:
        """Why the bot cannot post there, in words for the member, or None when it can."""
        ...


_Intent = Callable[[], Awaitable[Turn]]


class _InWorkspace(Protocol):
    """Where a request comes from: a member (UserRef) or a channel (ChannelRef)."""

    @property
    def platform(self) -> str: ...

    @property
    def workspace(self) -> str: ...


_Scope = TypeVar("_Scope", bound=_InWorkspace)
_Options = ParamSpec("_Options")


def _workspace_in_use(
    intent: Callable[Concatenate[Tutor, _Scope, _Options], Awaitable[Turn]],
) -> Callable[Concatenate[Tutor, _Scope, _Options], Awaitable[Turn]]:
    """Mark an intent whose request shows its workspace has the bot: one that removed it and
    came back before its data was purged keeps it (see PrivacyService.workspace_in_use)."""

    @functools.wraps(intent)
    async def noted(
        tutor: Tutor, scope: _Scope, /, *args: _Options.args, **kwargs: _Options.kwargs
    ) -> Turn:
        if tutor.privacy is not None:
            await tutor.privacy.workspace_in_use(scope.platform, scope.workspace)
        return await intent(tutor, scope, *args, **kwargs)

    return noted


class Tutor:
    """Routes each chat intent to the quiz, interview, daily or privacy service."""

    def __init__(
        self,
        catalog: Catalog,
        quiz: QuizService,
        interviews: InterviewService,
        daily: DailyService,
        events: Deliveries,
        *,
        privacy: PrivacyService | None = None,
    ) -> None:
        self.catalog = catalog
        self.quiz = quiz
        self.interviews = interviews
        self.daily = daily
        self.events = events
        self.privacy = privacy
        """Forget me and removed workspaces; without it, forget me is refused."""

    @property
    def clock(self) -> Clock:
        """The engine's clock."""
        return self.quiz.clock

    # -- questions on demand -------------------------------------------------------------

    @_workspace_in_use
    async def ask(
        self, user: UserRef, *, topic: str | None, difficulty: str | None, where: Where
    ) -> Turn:
        """A question for the member, by topic and difficulty, as their open question."""
        return await _refusing(
            lambda: _one(
                self.quiz.ask(
                    user,
                    topic=topic,
                    difficulty=difficulty,
                    source=Source.SLASH,
                    channel=where.channel,
                )
            )
        )

    @_workspace_in_use
    async def answer(
        self, user: UserRef, text: str, *, where: Where, question_id: str | None = None
    ) -> Turn:
        """Grade an answer: the running interview's in its DM, else the open question's."""

        async def run() -> Turn:
            interviewing = await self._interviewing(user, where)
            if interviewing is not None:
                return await self._in_interview(
                    interviewing, lambda: self.interviews.answer(interviewing, text)
                )
            return await _one(self.quiz.answer(user, text, question_id=question_id))

        return await _refusing(run)

    @_workspace_in_use
    async def hint(self, user: UserRef, *, where: Where) -> Turn:
        """A key concept of the current question (it costs points)."""

        async def run() -> Turn:
            interviewing = await self._interviewing(user, where)
            if interviewing is not None:
                return await self._in_interview(
                    interviewing, lambda: _listed(self.interviews.hint(interviewing))
                )
            return await _one(self.quiz.hint(user))

        return await _refusing(run)

    @_workspace_in_use
    async def skip(self, user: UserRef, *, where: Where) -> Turn:
        """Drop the current question and show its reference answer."""

        async def run() -> Turn:
            interviewing = await self._interviewing(user, where)
            if interviewing is not None:
                return await self._in_interview(
                    interviewing, lambda: self.interviews.skip(interviewing)
                )
            return await _one(self.quiz.skip(user))

        return await _refusing(run)

    def topics(self) -> Turn:
        """The topics and their question counts."""
        return Turn((self.quiz.topics(),))

    @_workspace_in_use
    async def stats(self, user: UserRef) -> Turn:
        """A member's statistics in their workspace or server."""
        return await _refusing(lambda: _one(self.quiz.stats(user)))

    @_workspace_in_use
    async def leaderboard(
        self, user: UserRef, *, period: str | None, channel: str | None = None
    ) -> Turn:
        """The workspace's (or one channel's) ranking over a period."""

        async def run() -> Turn:
            chosen = parse_period(period) if period else Period.WEEK
            board = self.quiz.leaderboard(user.platform, user.workspace, chosen, channel=channel)
            return await _one(board)

        return await _refusing(run)

    async def first_delivery(self, platform: str, event_id: str) -> bool:
        """True the first time a platform delivers this event: its retries must not count.

        With the database unreachable it cannot tell, and says True: the event then gets the
        member a "try again" reply rather than silence (nothing of it can be stored anyway).
        """
        try:
            return await self.events.first_delivery(platform, event_id, self.clock.now())
        except StorageUnavailableError:
            return True

    def is_topic(self, text: str) -> bool:
        """Whether `text` names a topic (commands read `/awsquiz lambda` as a topic)."""
        try:
            self.catalog.find_topic(text)
        except UnknownTopicError:
            return False
        return True

    def prompt(self, question_id: str) -> str:
        """The wording of a question, for an answer box."""
        return self.catalog.question(question_id).prompt

    # -- the mock interview --------------------------------------------------------------

    @_workspace_in_use
    async def start_interview(
        self, user: UserRef, topics: Sequence[str] = (), questions: int | None = None
    ) -> Turn:
        """Start (or resume) a mock interview; its questions go to the member's DM.

        Only a missing count gets the default: 0 is refused, on every platform alike.
        """

        async def run() -> Turn:
            count = DEFAULT_QUESTIONS if questions is None else questions
            # One interview at a time per member of a platform, wherever it was started: a
            # running one is resumed where its answers count; an idle one ends first.
            running = await self.interviews.running_for(user.platform, user.user)
            ended: tuple[Reply, ...] = ()
            if running is not None:
                expired = await self.interviews.expire_if_idle(running)
                if expired is not None:
                    ended, running = (expired,), None
            started = await self.interviews.start(running or user, topics, count, channel=None)
            if running is None:
                return Turn((INTERVIEW_STARTED,), (*ended, *started), InterviewChange.STARTED)
            told = _resumed(running, user, asked_for_new=bool(topics) or questions is not None)
            return Turn((told,), tuple(started), InterviewChange.RESUMED)

        return await _refusing(run)

    async def cancel_interview(self, user: UserRef) -> None:
        """End an interview just started whose questions could not reach the member's DMs,
        so it is not left running where it cannot be answered."""
        await self.interviews.stop(user)

    @_workspace_in_use
    async def message(self, user: UserRef, text: str, receipt: Receipt | None = None) -> Turn:
        """A message typed in the bot's DM: the interview's answer, hint, skip or stop.

        The running interview says which workspace the member's answers count in (a Discord
        DM carries no server). With a `receipt`, the replies are stored with the change the
        message makes, and a second delivery of the same message changes nothing: it gets the
        stored replies if they were never sent (the adapter then calls `sent`), else nothing.
        """

        async def run() -> Turn:
            if receipt is not None:
                stored = await self.events.stored_replies(user.platform, receipt.event_id)
                if stored is not None:
                    # Unsent and recent, its first delivery is still sending them (slowed by
                    # rate limits): showing them here too would show them twice.
                    in_flight = self.clock.now() - stored.created_at < IN_FLIGHT
                    resend = not stored.sent and not in_flight
                    return Turn(direct=stored.replies if resend else ())
            member = await self.interviews.running_for(user.platform, user.user)
            if member is None:
                return Turn(direct=(NO_INTERVIEW,))
            expired = await self.interviews.expire_if_idle(member)
            if expired is not None:
                return Turn(direct=(expired,), interview=InterviewChange.ENDED)
            return await self._in_interview(
                member, lambda: self.interviews.handle(member, text, receipt)
            )

        return await _refusing(run, direct=True)

    async def sent(self, platform: str, receipt: Receipt) -> None:
        """The replies to a received message reached the member: a restart leaves them be."""
        await self.events.mark_sent(platform, receipt.event_id, self.clock.now())

    async def send_unsent(
        self, adapters: Mapping[str, ChatAdapter], *, stored_before: datetime | None = None
    ) -> int:
        """Send the replies stored before `stored_before` and never sent (a killed run's, or
        ones a platform refused past its retries); return how many messages went out.

        `stored_before` keeps out the replies being sent right now: at start-up, the moment
        the process started; later, IN_FLIGHT ago (the default). Those older than
        REDELIVERY_WINDOW are left: the member moved on.
        """
        now = self.clock.now()
        since = now - REDELIVERY_WINDOW
        cutoff = stored_before or now - IN_FLIGHT
        sent = 0
        for platform, adapter in adapters.items():
            unsent = await self.events.unsent_replies(platform, since)
            for stored in (s for s in unsent if s.created_at < cutoff):
                dm = ChannelRef(platform, stored.user.workspace, stored.receipt.channel)
                try:
                    for reply in stored.replies:
                        await adapter.post(dm, reply)
                        sent += 1
                except ChatPostError as error:
                    log.warning("%s: stored replies to %s not sent: %s", platform, dm, error)
                    continue
                await self.sent(platform, stored.receipt)
        return sent

    @_workspace_in_use
    async def stop(self, user: UserRef, *, interview_id: str | None, where: Where) -> Turn:
        """End the interview a Stop button was posted with (never a newer one)."""

        async def run() -> Turn:
            member = await self._scoped(user)
            try:
                reply = await self.interviews.stop(member, interview_id=interview_id)
            except InterviewExpiredError as error:
                reply = error.summary
            if await self.interviews.is_active(member):
                return Turn((reply,))  # an older interview's button, and the engine said so
            if where.direct:
                return Turn(direct=(reply,), interview=InterviewChange.ENDED)
            return Turn((reply,), interview=InterviewChange.ENDED)

        return await _refusing(run)

    async def interview_running(self, user: UserRef) -> bool:
        """Whether the member has a mock interview running."""
        return await self.interviews.is_active(user)

    # -- the daily question --------------------------------------------------------------

    @_workspace_in_use
    async def daily_on(
        self,
        channel: ChannelRef,
        *,
        actor: UserRef,
        post_time: str,
        timezone: str | None,
        permissions: Permissions,
        access: ChannelAccess,
        default_timezone: str = "UTC",
    ) -> Turn:
        """Subscribe a channel; who asks and what they typed are checked before any join."""

        async def run() -> Turn:
            await self._require_admin(actor, permissions)
            zone = timezone or default_timezone
            parse_post_time(post_time)  # before the bot joins the channel for nothing
            parse_timezone(zone)
            problem = await access.problem(channel)
            if problem:
                return Turn((quiz_replies.error(problem),))
            subscribed = await self.daily.subscribe(
                channel, actor=actor, is_admin=True, post_time=post_time, timezone=zone
            )
            return Turn((subscribed,))

        return await _refusing(run)

    @_workspace_in_use
    async def daily_off(
        self, channel: ChannelRef, *, actor: UserRef, permissions: Permissions
    ) -> Turn:
        """Turn a channel's daily question off (its settings stay for a later `on`)."""

        async def run() -> Turn:
            await self._require_admin(actor, permissions)
            return await _one(self.daily.unsubscribe(channel, actor=actor, is_admin=True))

        return await _refusing(run)

    @_workspace_in_use
    async def daily_status(self, channel: ChannelRef) -> Turn:
        """A channel's daily schedule."""
        return await _refusing(lambda: _one(self.daily.status(channel)))

    @_workspace_in_use
    async def daily_answer(self, user: UserRef, post_id: int, text: str) -> Turn:
        """Grade an answer to a channel's daily question, privately."""
        return await _refusing(lambda: _one(self.daily.answer(user, post_id, text)))

    async def daily_subscription(self, channel: ChannelRef) -> Subscription | None:
        """A channel's daily subscription, for telling whoever set it up about a problem."""
        return await self.daily.store.subscription(channel)

    async def daily_prompt(self, post_id: int) -> str:
        """The wording of a daily post's question, for an answer box."""
        post = await self.daily.store.daily_post(post_id)
        if post is None:
            raise InvalidOptionError("That daily question no longer exists.")
        return self.prompt(post.question_id)

    # -- personal data -------------------------------------------------------------------

    @_workspace_in_use
    async def forget(
        self, user: UserRef, *, confirm: bool = False, confirm_command: str = CONFIRM_COMMAND
    ) -> Turn:
        """Forget me: say what is kept about the member here and how to confirm (with
        `confirm_command`, their platform's way); confirmed within five minutes, delete it.
        """

        async def run() -> Turn:
            if self.privacy is None:
                raise InvalidOptionError("Forgetting members is not available here.")
            if not confirm:
                asked = await self.privacy.request_forget(user, confirm_command=confirm_command)
                return Turn((asked,))
            deleted = await self.privacy.confirm_forget(user)
            # The Slack App Home is republished then, without their stats.
            ended = InterviewChange.ENDED if deleted.interview_running else InterviewChange.NONE
            return Turn((forgotten(deleted),), interview=ended)

        return await _refusing(run)

    async def workspace_back(self, platform: str, workspace: str) -> None:
        """The platform says the bot was added to a workspace (again): if it had removed the
        bot before, its members' data is no longer purged."""
        if self.privacy is not None:
            await self.privacy.workspace_back(platform, workspace)

    # -- helpers -------------------------------------------------------------------------

    async def _require_admin(self, actor: UserRef, permissions: Permissions) -> None:
        if not await permissions.is_admin(actor):
            raise NotAllowedError(permissions.refusal)

    async def _scoped(self, user: UserRef) -> UserRef:
        """The member in the scope of their running interview (a DM may carry another scope,
        or none), else as they came."""
        running = await self.interviews.running_for(user.platform, user.user)
        return running or user

    async def _interviewing(self, user: UserRef, where: Where) -> UserRef | None:
        """In the bot's DM while an interview runs: the member, scoped to that interview."""
        if not where.direct:
            return None
        # Only a running interview is found, so no second look is needed.
        return await self.interviews.running_for(user.platform, user.user)

    async def _in_interview(
        self, member: UserRef, step: Callable[[], Awaitable[Sequence[Reply]]]
    ) -> Turn:
        """Run one interview step; its replies are the DM conversation's."""
        try:
            answers = tuple(await step())
        except InterviewExpiredError as error:
            return Turn(direct=(error.summary,), interview=InterviewChange.ENDED)
        try:
            ended = not await self.interviews.is_active(member)
        except StorageUnavailableError:
            # The step is stored already: its replies must reach the member all the same.
            ended = False
        return Turn(
            direct=answers, interview=InterviewChange.ENDED if ended else InterviewChange.NONE
        )


def _resumed(running: UserRef, here: UserRef, *, asked_for_new: bool) -> Reply:
    """Say an interview already running was resumed, where it came from, and how to stop it."""
    origin = (
        ""
        if running.workspace == here.workspace
        else " (started in another server or workspace, or in our direct messages, where its "
        "answers count)"
    )
    unused = " The topics and length you gave now are not used." if asked_for_new else ""
    return Reply(
        title="Interview resumed",
        text=f"You already have a mock interview running{origin}, so I resumed it in our "
        f"direct messages.{unused} Type stop there to end it, then run /awsquiz interview "
        "again to start a new one.",
    )


async def _one(reply: Awaitable[Reply]) -> Turn:
    return Turn((await reply,))


async def _listed(reply: Awaitable[Reply]) -> list[Reply]:
    return [await reply]


async def _refusing(intent: _Intent, *, direct: bool = False) -> Turn:
    """Run an intent; a refusal (an AwsquizError) becomes the error reply the member sees."""
    try:
        return await intent()
    except InterviewExpiredError as error:
        return Turn(direct=(error.summary,), interview=InterviewChange.ENDED)
    except AwsquizError as error:
        refusal = (quiz_replies.error(str(error)),)
        return Turn(direct=refusal) if direct else Turn(refusal)
