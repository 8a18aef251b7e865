"""The daily question flow: subscribe, post exactly once, answer privately, reveal, streaks."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from bot.engine import quiz_replies
from bot.engine.catalog import parse_difficulty
from bot.engine.daily import daily_replies
from bot.engine.daily.delivery import RetryPolicy, send_with_retry
from bot.engine.daily.model import ChannelRef, DailyPost, PostState, Subscription
from bot.engine.daily.schedule import (
    DEFAULT_CATCH_UP_GRACE,
    closes_at,
    due_post,
    local_date,
    next_post_at,
    parse_answer_window,
    parse_post_time,
    parse_timezone,
)
from bot.engine.errors import (
    ChatPostError,
    InvalidOptionError,
    NoQuestionsError,
    NotAllowedError,
    StorageUnavailableError,
    UnknownQuestionError,
)
from bot.engine.model import Difficulty, NewAttempt, Question, Source, UserRef
from bot.engine.ports import ChatAdapter, DailyStore, QuestionChoice
from bot.engine.quiz import QuizService, clean_answer
from bot.engine.reply import Reply
from bot.engine.selection import freshest

DEFAULT_LEASE: Final = timedelta(minutes=5)
"""How long a claim protects a post being sent; a claimer silent past this is presumed dead."""
LEASE_RENEWALS: Final = 3
"""A sender renews its lease this many times per lease length, well before it runs out."""
DEFAULT_CONCURRENCY: Final = 50
DEFAULT_INSTANCE: Final = "awsquiz"
MARK_POSTED_RETRY_DELAYS: Final = (1.0, 2.0, 4.0, 8.0)
"""Seconds between tries to record a sent post while the database is away."""
PASSING_SCORE: Final = 50
STREAK_LOOKBACK: Final = 400

log = logging.getLogger(__name__)

SubscriptionListener = Callable[[Subscription], Awaitable[None]]
PostListener = Callable[[DailyPost], Awaitable[None]]
FailureListener = Callable[[Subscription, ChatPostError], Awaitable[None]]
"""Told that a channel's daily post failed for good, with the platform's refusal."""
RemovalListener = Callable[[str, str], Awaitable[None]]
"""Told (platform, workspace) when a workspace removed the bot (see `stop_workspace`)."""
OutcomeListener = Callable[[ChannelRef, "Outcome"], None]
"""Told what became of each claimed post this process sent or tried to (e.g. for metrics)."""


class Outcome(StrEnum):
    """What happened to one channel in a posting round."""

    POSTED = "posted"
    ALREADY_CLAIMED = "already_claimed"
    FAILED = "failed"
    DEFERRED = "deferred"
    """Something passing (the database, a platform down past the retries) stopped this channel
    this round; a later sweep retries while its answers are still open."""


@dataclass(frozen=True, slots=True)
class DailyConfig:
    """Tunables of the daily flow, from settings."""

    shared_question: bool = False
    catch_up_grace: timedelta = DEFAULT_CATCH_UP_GRACE
    lease: timedelta = DEFAULT_LEASE
    concurrency: int = DEFAULT_CONCURRENCY
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    instance: str = DEFAULT_INSTANCE
    """This process's stable name (its host, by default): what a restart left claimed under
    it was its own, and is taken over at once rather than when the lease runs out."""


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What a posting round did, per outcome."""

    outcomes: dict[ChannelRef, Outcome]

    def count(self, outcome: Outcome) -> int:
        """How many channels ended with `outcome`."""
        return sum(1 for o in self.outcomes.values() if o is outcome)


class DailyService:
    """Runs the daily question for every subscribed channel, through the platforms' adapters."""

    def __init__(
        self,
        quiz: QuizService,
        store: DailyStore,
        adapters: Mapping[str, ChatAdapter],
        config: DailyConfig | None = None,
    ) -> None:
        self.quiz = quiz
        self.catalog = quiz.catalog
        self.clock = quiz.clock
        self.store = store
        self.adapters = dict(adapters)
        self.config = config or DailyConfig()
        self.subscription_listeners: list[SubscriptionListener] = []
        self.post_listeners: list[PostListener] = []
        self.failure_listeners: list[FailureListener] = []
        """How an adapter learns a post failed for good, e.g. to tell who set it up."""
        self.removal_listeners: list[RemovalListener] = []
        """Told of each workspace that removed the bot: its members' data is purged later."""
        self.outcome_listeners: list[OutcomeListener] = []
        self.claimer = f"{self.config.instance}/{secrets.token_hex(6)}"
        """Who claims for this run: the instance's name and an id of its own."""
        self._limit = asyncio.Semaphore(self.config.concurrency)
        self._pools: dict[tuple[tuple[str, ...], Difficulty | None], tuple[Question, ...]] = {}

    # -- subscriptions -------------------------------------------------------------------

    async def subscribe(
        self,
        channel: ChannelRef,
        *,
        actor: UserRef,
        is_admin: bool,
        post_time: str,
        timezone: str,
        topics: Sequence[str] | None = None,
        difficulty_mix: Sequence[tuple[str, int]] = (),
        answer_window: str | None = None,
    ) -> Reply:
        """Turn the daily question on (or change it); everything is validated before saving."""
        self._require_admin(actor, channel, is_admin)
        at = parse_post_time(post_time)
        zone = parse_timezone(timezone)
        if topics is not None and not [t for t in topics if t.strip()]:
            raise InvalidOptionError("Give at least one topic, or none for all topics.")
        topic_ids = tuple(dict.fromkeys(self.catalog.find_topic(t).id for t in topics or ()))
        mix = tuple((parse_difficulty(name), _weight(weight)) for name, weight in difficulty_mix)
        window = parse_answer_window(answer_window) if answer_window else None
        if not self.catalog.select(topic_ids=topic_ids or None):
            raise NoQuestionsError("Those topics have no questions.")
        subscription = Subscription(
            channel=channel,
            post_time=at,
            timezone=zone.key,
            topics=topic_ids,
            difficulty_mix=mix,
            answer_window=window,
            enabled=True,
            created_by=actor.user,
            updated_at=self.clock.now(),
        )
        await self.store.save_subscription(subscription)
        await self._changed(subscription)
        return self.describe(subscription)

    async def unsubscribe(self, channel: ChannelRef, *, actor: UserRef, is_admin: bool) -> Reply:
        """Turn the daily question off, keeping its settings for a later `on`."""
        self._require_admin(actor, channel, is_admin)
        current = await self.store.subscription(channel)
        if current is None or not current.enabled:
            return daily_replies.not_subscribed()
        stopped = replace(current, enabled=False, updated_at=self.clock.now())
        await self.store.save_subscription(stopped)
        await self._changed(stopped)
        return daily_replies.turned_off()

    async def stop_workspace(self, platform: str, workspace: str) -> int:
        """Turn off every daily question of a workspace that removed the bot (settings kept,
        for a reinstall) and tell the removal listeners; return how many were on. The
        platform said so: no admin check.
        """
        stopped = 0
        for subscription in await self.store.subscriptions(
            platform=platform, workspace=workspace, enabled_only=True
        ):
            off = replace(subscription, enabled=False, updated_at=self.clock.now())
            await self.store.save_subscription(off)
            await self._changed(off)
            stopped += 1
        for listener in self.removal_listeners:
            try:
                await listener(platform, workspace)
            except Exception:  # the others are still told; the platform event is handled
                log.exception("%s %s: a removal listener failed", platform, workspace)
        return stopped

    async def status(self, channel: ChannelRef) -> Reply:
        """Describe the channel's subscription."""
        current = await self.store.subscription(channel)
        if current is None:
            return daily_replies.not_subscribed()
        return self.describe(current)

    def describe(self, subscription: Subscription) -> Reply:
        """Describe a subscription with its next post time."""
        zone = parse_timezone(subscription.timezone)
        upcoming = next_post_at(self.clock.now(), subscription.post_time, zone)
        return daily_replies.describe(self.catalog, subscription, upcoming)

    # -- posting ------------------------------------------------------------------------

    async def post_due(self, now: datetime | None = None) -> RoundReport:
        """Post every enabled channel whose post time passed within the grace period.

        Called at each channel's cron time, at start (catch-up) and by the periodic sweep;
        the claim makes repeated calls harmless.
        """
        moment = now or self.clock.now()
        subscriptions = await self.store.subscriptions(enabled_only=True)
        due = []
        for subscription in subscriptions:
            if subscription.channel.platform not in self.adapters:
                continue
            zone = parse_timezone(subscription.timezone)
            slot = due_post(moment, subscription.post_time, zone, self.config.catch_up_grace)
            if slot is not None:
                due.append((subscription, slot))
        # One query finds the slots already taken, so most sweeps touch nothing else.
        taken = await self.store.taken_slots({day for _, (day, _) in due})
        due = [(sub, slot) for sub, slot in due if (sub.channel, slot[0]) not in taken]
        # Each process walks the channels in its own order, so several share the work.
        random.shuffle(due)
        results = await asyncio.gather(
            *(self._post_slot(sub, day, at, moment) for sub, (day, at) in due),
            return_exceptions=True,
        )
        outcomes: dict[ChannelRef, Outcome] = {}
        for (subscription, _), result in zip(due, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancellation and the like are not ours to swallow
                log.error("daily %s: not posted this round: %r", subscription.channel, result)
                result = Outcome.DEFERRED
            outcomes[subscription.channel] = result
        return RoundReport(outcomes)

    async def post_if_due(self, channel: ChannelRef) -> Outcome | None:
        """Post in one channel if its post time passed within the grace period (a cron firing)."""
        subscription = await self.store.subscription(channel)
        if subscription is None or not subscription.enabled:
            return None
        now = self.clock.now()
        zone = parse_timezone(subscription.timezone)
        slot = due_post(now, subscription.post_time, zone, self.config.catch_up_grace)
        if slot is None:
            return None
        return await self._post_slot(subscription, slot[0], slot[1], now)

    async def post_now(self, channel: ChannelRef) -> Outcome:
        """Post today's question in one channel now, whatever the time (for operators)."""
        subscription = await self.store.subscription(channel)
        if subscription is None:
            raise InvalidOptionError(f"Channel {channel} has no daily question subscription.")
        if not subscription.enabled:
            raise InvalidOptionError(
                f"Channel {channel} has its daily question turned off; turn it on first."
            )
        zone = parse_timezone(subscription.timezone)
        now = self.clock.now()
        return await self._post_slot(subscription, local_date(now, zone), now, now)

    async def recover_stale_claims(self) -> int:
        """Finish posts whose claimer died between claiming and posting; return how many."""
        recovered = 0
        for stale in await self.store.stale_claims(self.clock.now()):
            recovered += await self._recover(stale, take_from=None)
        return recovered

    async def recover_own_claims(self) -> int:
        """At start-up, take over at once what an earlier run of this instance left claimed or
        revealing (it was killed); return how many posts and reveals were finished.
        """
        recovered = 0
        for held in await self.store.claims_of(self.config.instance):
            if held.claimer == self.claimer or held.channel.platform not in self.adapters:
                continue
            if held.state is PostState.CLAIMED:
                recovered += await self._recover(held, take_from=held.claimer)
                continue
            now = self.clock.now()
            lease = self.config.lease
            taken = await self.store.claim_reveal(
                held.id, now, lease, claimer=self.claimer, take_from=held.claimer
            )
            recovered += taken and await self._reveal(held)
        return recovered

    async def _recover(self, stale: DailyPost, *, take_from: str | None) -> bool:
        """Take a dead claimer's claim over and finish its post; whether it is posted now."""
        subscription = await self.store.subscription(stale.channel)
        if subscription is None or stale.channel.platform not in self.adapters:
            return False
        now = self.clock.now()
        post = await self.store.claim_post(
            stale.channel,
            stale.local_date,
            stale.question_id,
            stale.closes_at,
            now,
            self.config.lease,
            claimer=self.claimer,
            take_from=take_from,
        )
        if post is None:
            return False
        if post.closes_at <= now:  # nobody could answer it any more: do not post it late
            await self.store.mark_failed(post.id, "answers closed before it was posted", now)
            log.error("daily %s: gave up on %s, its answers closed", post.channel, post.id)
            return False
        return await self._deliver(post, subscription) is Outcome.POSTED

    async def _post_slot(
        self, subscription: Subscription, day: date, scheduled: datetime, now: datetime
    ) -> Outcome:
        async with self._limit:
            try:
                choose = self._chooser(subscription, day)
            except NoQuestionsError:
                log.error("daily %s: no questions match its topics", subscription.channel)
                return Outcome.FAILED
            zone = parse_timezone(subscription.timezone)
            closing = closes_at(scheduled, subscription.post_time, zone, subscription.answer_window)
            post = await self.store.claim_next_post(
                subscription.channel,
                day,
                choose,
                closing,
                now,
                self.config.lease,
                shared=self.config.shared_question,
                claimer=self.claimer,
            )
            if post is None:
                return Outcome.ALREADY_CLAIMED
            return await self._deliver(post, subscription)

    async def _deliver(self, post: DailyPost, subscription: Subscription) -> Outcome:
        """Send a claimed post and tell the outcome listeners what became of it (an error
        raised on the way, such as the database going away, defers it)."""
        try:
            outcome = await self._send_claimed(post, subscription)
        except Exception:
            self._tell_outcome(post.channel, Outcome.DEFERRED)
            raise
        self._tell_outcome(post.channel, outcome)
        return outcome

    def _tell_outcome(self, channel: ChannelRef, outcome: Outcome) -> None:
        for listener in self.outcome_listeners:
            try:
                listener(channel, outcome)
            except Exception:  # counting must never stop a post
                log.exception("daily %s: an outcome listener failed", channel)

    async def _send_claimed(self, post: DailyPost, subscription: Subscription) -> Outcome:
        adapter = self.adapters[post.channel.platform]
        try:
            item = self.catalog.question(post.question_id)
        except UnknownQuestionError:
            await self.store.mark_failed(post.id, "question no longer loaded", self.clock.now())
            log.error("daily %s: question %s is no longer loaded", post.channel, post.question_id)
            return Outcome.FAILED
        reply = daily_replies.question(self.catalog, item, post, subscription.timezone)
        key = daily_replies.post_key(post.id)
        try:
            async with self._holding(post):
                message_id = await self._already_sent(post, key, under=None)
                if message_id is None:
                    message_id = await send_with_retry(
                        lambda: adapter.post(post.channel, reply, key=key), self.config.retry
                    )
        except ChatPostError as error:
            if error.transient:
                # The platform is down or busy past our retries: the claim's lease runs out and
                # a later sweep tries again, while the question can still be answered.
                log.error("daily %s: not posted yet, trying again later: %s", post.channel, error)
                return Outcome.DEFERRED
            await self.store.mark_failed(post.id, str(error), self.clock.now())
            log.error("daily %s: posting failed for good: %s", post.channel, error)
            await self._report_failure(subscription, error)
            return Outcome.FAILED
        await self._record_posted(post, message_id)
        posted = replace(post, state=PostState.POSTED, message_id=message_id)
        for listener in self.post_listeners:
            await listener(posted)
        return Outcome.POSTED

    async def _record_posted(self, post: DailyPost, message_id: str) -> None:
        """Record the message id, riding out a short database outage: until it is recorded
        the post looks unposted (answers to it are refused, its reveal waits)."""
        for delay in (*MARK_POSTED_RETRY_DELAYS, None):
            try:
                await self.store.mark_posted(post.id, message_id, self.clock.now())
                return
            except StorageUnavailableError:
                if delay is None:
                    raise  # the claim's recovery finds the message on the platform later
                await asyncio.sleep(delay)

    async def _already_sent(self, post: DailyPost, key: str, *, under: str | None) -> str | None:
        """After a takeover, the message the dead claimer sent with `key`, if it got that far.

        The earlier claimer may have been killed after the platform took its message and
        before the store heard of it: posting again would post twice. Where the platform
        cannot be asked (a scope or permission missing), posting again is the lesser harm.
        """
        taken_over = post.taken_over if under is None else post.state is PostState.REVEALING
        if not taken_over:
            return None
        since = post.first_claimed_at or post.claimed_at
        if under is not None and post.posted_at is not None:
            since = post.posted_at
        adapter = self.adapters[post.channel.platform]
        try:
            found = await adapter.find_post(post.channel, key, since=since, under=under)
        except ChatPostError as error:
            if error.transient:
                raise
            log.warning("daily %s: cannot tell whether %s was sent: %s", post.channel, key, error)
            return None
        if found is not None:
            log.info("daily %s: %s was sent before its claimer stopped", post.channel, key)
        return found

    @asynccontextmanager
    async def _holding(self, post: DailyPost) -> AsyncIterator[None]:
        """Keep the claim's lease alive while the post is being sent.

        A platform that is slow, or rate limits with long waits, must not let the lease run
        out: another process would then take the claim over and post a second time.
        """

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.config.lease.total_seconds() / LEASE_RENEWALS)
                until = self.clock.now() + self.config.lease
                try:
                    renewed = await self.store.renew_claim(post.id, post.claimed_at, until)
                except Exception:  # the post itself goes on; the next renewal may work
                    log.exception("daily %s: renewing the claim failed", post.channel)
                    continue
                if not renewed:
                    log.warning("daily %s: the claim was taken over while posting", post.channel)
                    return

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            with suppress(asyncio.CancelledError):
                await renewing

    async def _report_failure(self, subscription: Subscription, error: ChatPostError) -> None:
        """Tell the failure listeners; their own failure must not stop the posting round."""
        for listener in self.failure_listeners:
            try:
                await listener(subscription, error)
            except Exception:
                log.exception("daily %s: reporting the failure failed", subscription.channel)

    def _chooser(self, subscription: Subscription, day: date) -> QuestionChoice:
        """Build the day's question choice, run by the store inside the claim transaction.

        A channel never gets a question twice until its pool runs out; with the shared
        question setting, a question another channel of the workspace has today comes first.
        """
        rng = random.Random(f"{subscription.channel}/{day.isoformat()}")
        pool = self._pool(subscription.topics, _pick_level(subscription.difficulty_mix, rng))
        in_pool = {q.id for q in pool}

        def choose(posted: Sequence[str], workspace_today: Sequence[str]) -> str:
            already = set(posted)
            for question_id in workspace_today:
                if question_id in in_pool and question_id not in already:
                    return question_id
            return freshest(pool, posted, rng, 1)[0].id

        return choose

    def _pool(self, topics: tuple[str, ...], level: Difficulty | None) -> tuple[Question, ...]:
        """The questions a subscription draws from (any level if the mix's level has none)."""
        key = (topics, level)
        if key not in self._pools:
            topic_ids = topics or None
            pool = self.catalog.select(topic_ids=topic_ids, difficulty=level)
            self._pools[key] = pool or self.catalog.select(topic_ids=topic_ids)
        if not self._pools[key]:
            raise NoQuestionsError(f"No questions for topics {', '.join(topics) or 'all'}.")
        return self._pools[key]

    # -- answering ----------------------------------------------------------------------

    async def answer(self, user: UserRef, post_id: int, text: str) -> Reply:
        """Grade a member's private answer to a daily post; one scored answer per member."""
        cleaned = clean_answer(text, self.quiz.max_answer_chars)
        post = await self.store.daily_post(post_id)
        if post is None or (post.channel.platform, post.channel.workspace) != (
            user.platform,
            user.workspace,
        ):
            raise InvalidOptionError("That daily question does not exist here.")
        subscription = await self.store.subscription(post.channel)
        zone = subscription.timezone if subscription else "UTC"
        if post.state is not PostState.POSTED or self.clock.now() >= post.closes_at:
            return daily_replies.closed(post, zone)
        earlier = await self.store.daily_answer(post.id, user)
        if earlier is not None:
            return daily_replies.already_answered(earlier.score, post, zone)
        item = self.catalog.question(post.question_id)
        grade = self.quiz.grade(item, cleaned)
        stored = await self.store.record_daily_attempt(
            NewAttempt.of(
                user,
                item,
                cleaned,
                grade,
                Source.DAILY,
                self.clock.now(),
                channel=post.channel.channel,
            ),
            post.id,
        )
        if stored is None:  # a concurrent second answer won the race
            again = await self.store.daily_answer(post.id, user)
            return daily_replies.already_answered(again.score if again else 0, post, zone)
        streak_days = await self.streak(user, post.channel)
        return daily_replies.graded(item, quiz_replies.graded(item, grade), post, zone, streak_days)

    async def streak(self, user: UserRef, channel: ChannelRef) -> int:
        """Consecutive posted days in the channel on which the user passed."""
        history = await self.store.daily_history(channel, user, STREAK_LOOKBACK)
        latest = await self.store.latest_post(channel)
        still_open = (
            latest.local_date
            if latest and latest.state is PostState.POSTED and self.clock.now() < latest.closes_at
            else None
        )
        return daily_streak(history, still_open)

    # -- reveal -------------------------------------------------------------------------

    async def reveal_due(self) -> int:
        """Reveal every post whose answers closed; exactly one process reveals each."""
        now = self.clock.now()
        revealed = 0
        for post in await self.store.due_reveals(now):
            # A process without this platform leaves the post to one that has it.
            if post.channel.platform not in self.adapters:
                continue
            lease = self.config.lease
            if not await self.store.claim_reveal(post.id, now, lease, claimer=self.claimer):
                continue
            revealed += await self._reveal(post)
        return revealed

    async def _reveal(self, post: DailyPost) -> bool:
        adapter = self.adapters[post.channel.platform]
        if post.message_id is None:
            return False
        item = self.catalog.question(post.question_id)
        results = await self.store.daily_results(post.id)
        reply = daily_replies.reveal(item, self.quiz.concepts(item), results)
        message_id = post.message_id
        key = daily_replies.reveal_key(post.id)
        try:
            if await self._already_sent(post, key, under=message_id) is None:
                await send_with_retry(
                    lambda: adapter.post_reply(post.channel, message_id, reply, key=key),
                    self.config.retry,
                )
        except ChatPostError as error:
            if error.transient:
                # Left `revealing`: once its lease runs out the next sweep tries again.
                log.error("daily %s: reveal failed, will retry: %s", post.channel, error)
                return False
            # Refused for good (no access any more): retrying every lease would never end.
            log.error("daily %s: reveal refused for good: %s", post.channel, error)
            await self.store.mark_revealed(post.id, self.clock.now(), error=str(error))
            subscription = await self.store.subscription(post.channel)
            if subscription is not None:
                await self._report_failure(subscription, error)
            return False
        await self.store.mark_revealed(post.id, self.clock.now())
        return True

    async def _changed(self, subscription: Subscription) -> None:
        for listener in self.subscription_listeners:
            await listener(subscription)

    @staticmethod
    def _require_admin(actor: UserRef, channel: ChannelRef, is_admin: bool) -> None:
        if (actor.platform, actor.workspace) != (channel.platform, channel.workspace):
            raise NotAllowedError("You can only change the daily question of your own workspace.")
        if not is_admin:
            raise NotAllowedError(
                "Only workspace admins can change the daily question. "
                "Ask an admin, or use `daily status` to see the schedule."
            )


def daily_streak(history: Sequence[tuple[date, int | None]], still_open: date | None) -> int:
    """Count the newest consecutive posted days with a passing score.

    `history` is newest first; a day still open for answers does not break the streak.
    """
    count = 0
    for day, score in history:
        if score is None and day == still_open:
            continue
        if score is None or score < PASSING_SCORE:
            break
        count += 1
    return count


def _pick_level(mix: Sequence[tuple[Difficulty, int]], rng: random.Random) -> Difficulty | None:
    if not mix:
        return None
    levels = [level for level, _ in mix]
    weights = [weight for _, weight in mix]
    return rng.choices(levels, weights=weights)[0]


def _weight(weight: int) -> int:
    if weight < 1:
        raise InvalidOptionError("Difficulty weights must be whole numbers of at least 1.")
    return weight
