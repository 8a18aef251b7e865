"""The small interfaces the engine needs from the outside world."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from bot.engine.daily.model import ChannelRef, DailyPost, DailyResult, Subscription
from bot.engine.model import (
    Attempt,
    LeaderboardRow,
    NewAttempt,
    OpenQuestion,
    StoredInterview,
    UserRef,
)
from bot.engine.outbox import StoredReplies
from bot.engine.personal_data import MemberData, WorkspaceRemoval
from bot.engine.reply import Reply

QuestionChoice = Callable[[Sequence[str], Sequence[str]], str]
"""Picks a daily question id from (the channel's claimed ids newest first, the ids the
workspace's channels have for the day)."""


class Clock(Protocol):
    """Tells the time; tests pass their own."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class AttemptLog(Protocol):
    """Graded answers, and the leaderboards ranked from them."""

    async def record_attempt(self, attempt: NewAttempt) -> Attempt:
        """Store a graded answer and return it with its id."""
        ...

    async def attempts(self, user: UserRef, *, since: datetime | None = None) -> Sequence[Attempt]:
        """Return the user's attempts, oldest first, optionally only those at or after `since`."""
        ...

    async def leaderboard(
        self,
        platform: str,
        workspace: str,
        *,
        since: datetime | None = None,
        channel: str | None = None,
        limit: int = 10,
    ) -> Sequence[LeaderboardRow]:
        """Rank users of one workspace by points (sum of scores), best first."""
        ...


class QuestionViews(Protocol):
    """Which questions each user was shown, so questions do not repeat."""

    async def mark_asked(self, user: UserRef, question_id: str, at: datetime) -> None:
        """Remember that the user was shown this question."""
        ...

    async def recently_asked(self, user: UserRef, limit: int) -> Sequence[str]:
        """Return the ids of the last `limit` distinct questions shown to the user, newest first."""
        ...


class OpenQuestions(Protocol):
    """Each user's one open question, closed by exactly one answer."""

    async def open_question(self, user: UserRef) -> OpenQuestion | None:
        """Return the user's open question, if any."""
        ...

    async def set_open_question(self, user: UserRef, question: OpenQuestion) -> None:
        """Make `question` the user's open question, replacing any other."""
        ...

    async def answer_open_question(
        self, user: UserRef, opened: OpenQuestion, attempt: NewAttempt
    ) -> Attempt | None:
        """Close the user's open question if it is still `opened` and store `attempt` (graded
        before, outside any transaction), in one short transaction.

        None, with nothing changed, when the open question is no longer `opened`: of
        concurrent answers to one question exactly one is recorded.
        """
        ...

    async def take_open_question(self, user: UserRef) -> OpenQuestion | None:
        """Remove and return the user's open question, atomically: one caller wins."""
        ...


class InterviewStore(Protocol):
    """Mock interview sessions, one running per user."""

    async def save_interview(self, interview: StoredInterview) -> None:
        """Insert or update an interview session."""
        ...

    async def change_interview(
        self,
        interview: StoredInterview,
        attempt: NewAttempt | None = None,
        replies: StoredReplies | None = None,
    ) -> bool:
        """Save a change made from `interview.version` of a running session, with its attempt
        and the replies to the message that made it, in one transaction; False, with nothing
        written, if the session changed since or those replies' message was handled already.

        Of two answers racing for one question, exactly one is recorded.
        """
        ...

    async def active_interview(self, user: UserRef) -> StoredInterview | None:
        """Return the user's active interview session, if any."""
        ...

    async def active_interview_anywhere(
        self, platform: str, user_id: str
    ) -> StoredInterview | None:
        """Return the user's active interview in any workspace of `platform`, newest first.

        Its `user` names the workspace it runs in: how a DM, which carries no workspace,
        finds the interview it answers.
        """
        ...


class Store(AttemptLog, QuestionViews, OpenQuestions, InterviewStore, Protocol):
    """Persistence the quiz and interview services need; storage/ implements it on SQLAlchemy."""


class ChatAdapter(Protocol):
    """Posts to the channels of one platform: the daily question's only way out."""

    platform: str

    async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
        """Post a message in a channel and return its platform message id.

        `key`, unique to the message, lets `find_post` find it again (and a platform that
        de-duplicates sends by a nonce refuse a second one). Raises ChatPostError;
        `transient` ones are retried by the caller.
        """
        ...

    async def post_reply(
        self, channel: ChannelRef, message_id: str, reply: Reply, *, key: str | None = None
    ) -> str:
        """Post under a message: in its thread where threads exist, else right below it."""
        ...

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime, under: str | None = None
    ) -> str | None:
        """The id of the message this app posted with `key` since `since` (under the message
        `under`, for a reply), or None: a claim taken over after a crash asks before posting.

        Raises ChatPostError when the platform cannot be asked (transient: try later).
        """
        ...


class Subscriptions(Protocol):
    """Channels' daily question settings."""

    async def save_subscription(self, subscription: Subscription) -> None:
        """Insert or replace the subscription of its channel."""
        ...

    async def subscription(self, channel: ChannelRef) -> Subscription | None:
        """Return the channel's subscription, enabled or not."""
        ...

    async def subscriptions(
        self,
        *,
        platform: str | None = None,
        workspace: str | None = None,
        enabled_only: bool = True,
    ) -> Sequence[Subscription]:
        """Return subscriptions, optionally of one platform or workspace, ordered by channel."""
        ...


class PostClaims(Protocol):
    """Claimed daily posts: one per channel and local day, across processes."""

    async def claim_post(
        self,
        channel: ChannelRef,
        local_date: date,
        question_id: str,
        closes_at: datetime,
        now: datetime,
        lease: timedelta,
        *,
        claimer: str = "",
        take_from: str | None = None,
    ) -> DailyPost | None:
        """Claim the (channel, local date) slot for `claimer`, exactly once across processes.

        Inserts a `claimed` row with INSERT ... ON CONFLICT DO NOTHING; when the row exists and
        is still `claimed` with its lease run out (its claimer crashed), or held by
        `take_from` (a claimer known to be dead), takes it over with a compare-and-set.
        Returns the claimed post, or None when another claimer holds it or it was posted
        already. A takeover keeps the row's original question and first claim time.
        """
        ...

    async def claim_next_post(
        self,
        channel: ChannelRef,
        local_date: date,
        choose: QuestionChoice,
        closes_at: datetime,
        now: datetime,
        lease: timedelta,
        *,
        shared: bool = False,
        claimer: str = "",
    ) -> DailyPost | None:
        """Like claim_post, with the question chosen by `choose` in the same transaction as the
        claim: from the ids already claimed in the channel (newest first) and, when `shared`,
        the questions the workspace's channels have for that date (claims made in the same
        batch included; otherwise `choose` gets none).
        """
        ...

    async def taken_slots(self, local_dates: Collection[date]) -> set[tuple[ChannelRef, date]]:
        """Return every (channel, local date) already claimed for any of these dates."""
        ...

    async def mark_posted(self, post_id: int, message_id: str, at: datetime) -> None:
        """Record the platform message id of a claimed post."""
        ...

    async def renew_claim(self, post_id: int, claimed_at: datetime, lease_until: datetime) -> bool:
        """Extend the lease of a claim still held by the claimer of `claimed_at`; False if it
        was taken over, posted or given up meanwhile.
        """
        ...

    async def mark_failed(self, post_id: int, error: str, at: datetime) -> None:
        """Record that posting gave up, with the reason."""
        ...

    async def daily_post(self, post_id: int) -> DailyPost | None:
        """Return a post by id."""
        ...

    async def post_for(self, channel: ChannelRef, local_date: date) -> DailyPost | None:
        """Return the channel's post of that local date, if any."""
        ...

    async def latest_post(self, channel: ChannelRef) -> DailyPost | None:
        """Return the channel's most recent post (by local date), if any."""
        ...

    async def posted_question_ids(self, channel: ChannelRef) -> Sequence[str]:
        """Return the ids of every question ever claimed in the channel, newest first."""
        ...

    async def stale_claims(self, now: datetime) -> Sequence[DailyPost]:
        """Return `claimed` posts whose lease ran out before `now` (their claimer died)."""
        ...

    async def claims_of(self, instance: str) -> Sequence[DailyPost]:
        """Return the posts `claimed` or `revealing` under a claimer of `instance`, any run."""
        ...


class Reveals(Protocol):
    """Revealing a posted question at close time, once."""

    async def due_reveals(self, now: datetime) -> Sequence[DailyPost]:
        """Return posts to reveal: `posted` with closes_at <= now, or `revealing` past lease."""
        ...

    async def claim_reveal(
        self,
        post_id: int,
        now: datetime,
        lease: timedelta,
        *,
        claimer: str = "",
        take_from: str | None = None,
    ) -> bool:
        """Move a post to `revealing` for `claimer` (one caller wins); a `revealing` one whose
        lease ran out, or held by `take_from` (a claimer known to be dead), may be retaken.
        """
        ...

    async def mark_revealed(self, post_id: int, at: datetime, *, error: str | None = None) -> None:
        """Record that the reveal was posted, or with `error` that it was refused for good."""
        ...


class DailyAnswers(Protocol):
    """Members' answers to daily posts, their ranking and streaks."""

    async def record_daily_attempt(self, attempt: NewAttempt, post_id: int) -> Attempt | None:
        """Store a member's answer to a daily post; None if they already have one for it."""
        ...

    async def daily_answer(self, post_id: int, user: UserRef) -> Attempt | None:
        """Return the user's stored answer to a daily post, if any."""
        ...

    async def daily_results(self, post_id: int) -> Sequence[DailyResult]:
        """Return every scored answer to a post, best first (earlier answer wins a tie)."""
        ...

    async def daily_history(
        self, channel: ChannelRef, user: UserRef, limit: int
    ) -> Sequence[tuple[date, int | None]]:
        """Return the channel's last `limit` posted days, newest first, with the user's score."""
        ...


class DailyStore(Subscriptions, PostClaims, Reveals, DailyAnswers, Protocol):
    """Persistence of the daily question; the database is the source of truth for schedules."""


class EventLog(Protocol):
    """Remembers platform event ids: platforms retry deliveries, and a retry must not count."""

    async def first_delivery(self, platform: str, event_id: str, at: datetime) -> bool:
        """Record the event; True for its first delivery only, across processes."""
        ...


class ReplyOutbox(Protocol):
    """Replies stored with the change they answer (see `bot.engine.outbox`)."""

    async def stored_replies(self, platform: str, event_id: str) -> StoredReplies | None:
        """The replies stored for a received message, sent or not, if it was handled."""
        ...

    async def unsent_replies(self, platform: str, since: datetime) -> Sequence[StoredReplies]:
        """Replies stored since `since` and never marked sent, oldest first."""
        ...

    async def mark_sent(self, platform: str, event_id: str, at: datetime) -> None:
        """Record that a received message's stored replies were sent."""
        ...


class Deliveries(EventLog, ReplyOutbox, Protocol):
    """What the chat surface keeps of platform deliveries: event ids and stored replies."""


class PersonalData(Protocol):
    """What awsquiz keeps about each member of a workspace, and deleting it ("forget me")."""

    async def member_data(self, user: UserRef) -> MemberData:
        """Count what is kept about the member in their workspace."""
        ...

    async def forget_member(self, user: UserRef) -> MemberData:
        """Delete the member's users row, everything kept under it (attempts, questions
        shown, the open question, interviews) and their stored replies, in one transaction;
        return what was deleted.
        """
        ...


class ForgetRequests(Protocol):
    """Members' requests to be forgotten, waiting for their confirmation."""

    async def request_forget(self, user: UserRef, at: datetime) -> None:
        """Record the member's request (a new one replaces the time of an older one)."""
        ...

    async def take_forget_request(self, user: UserRef) -> datetime | None:
        """Remove the member's request and return when it was made, atomically: of two
        confirmations at once, one gets it."""
        ...

    async def drop_forget_requests(self, before: datetime) -> int:
        """Delete the requests made before `before`, never confirmed; return how many."""
        ...


class WorkspaceRemovals(Protocol):
    """Workspaces and servers that removed the bot: their data goes after a grace period."""

    async def record_removal(self, platform: str, workspace: str, at: datetime) -> WorkspaceRemoval:
        """Record that the workspace removed the bot at `at` and return the removal in force:
        one recorded already keeps its earlier time."""
        ...

    async def removals(self) -> Sequence[WorkspaceRemoval]:
        """Every recorded removal, oldest first."""
        ...

    async def cancel_removal(
        self, platform: str, workspace: str, *, removed_at: datetime | None = None
    ) -> bool:
        """Drop the workspace's removal (it is back); with `removed_at`, only if that is still
        the one recorded. True if one was dropped."""
        ...

    async def purge_workspace(self, removal: WorkspaceRemoval) -> int | None:
        """Delete every member of the workspace with all their data, its stored replies and
        forget requests, its daily subscriptions and posts, then the removal; return how many
        members were deleted. None, with nothing deleted, when `removal` is no longer the one
        recorded (the workspace came back meanwhile).
        """
        ...


class PrivacyStore(PersonalData, ForgetRequests, WorkspaceRemovals, Protocol):
    """Persistence the privacy service needs; storage/ implements it on SQLAlchemy."""
