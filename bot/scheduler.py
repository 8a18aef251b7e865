"""APScheduler jobs that drive the daily question; the database stays the source of truth.

One cron job per subscribed channel fires at its local post time. A periodic sweep catches up
what cron cannot see (posts missed while the bot was down, stale claims of a crashed process,
reveals that are due), and date jobs reveal each post at its close time. Every job only asks
the DailyService to act; the claims in the database make repeated or concurrent firings safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.engine.daily.model import ChannelRef, DailyPost, Subscription
from bot.engine.daily.service import DailyService
from bot.engine.errors import StorageUnavailableError
from bot.engine.privacy import PrivacyService

SWEEP_INTERVAL: Final = timedelta(seconds=60)
POST_JOB_PREFIX: Final = "daily:post:"
REVEAL_JOB_PREFIX: Final = "daily:reveal:"
SWEEP_JOB_ID: Final = "daily:sweep"
SHUTDOWN_GRACE: Final = timedelta(seconds=10)
"""How long shutdown waits for jobs in flight (a post being sent) before cancelling them."""

log = logging.getLogger(__name__)


def post_job_id(channel: ChannelRef) -> str:
    """The id of a channel's cron job."""
    return f"{POST_JOB_PREFIX}{channel}"


class DailyScheduler:
    """Owns the AsyncIOScheduler and keeps its jobs in step with the subscriptions."""

    def __init__(
        self,
        daily: DailyService,
        *,
        sweep_interval: timedelta = SWEEP_INTERVAL,
        scheduler: AsyncIOScheduler | None = None,
        privacy: PrivacyService | None = None,
    ) -> None:
        self.daily = daily
        self.privacy = privacy
        """Swept with the daily question: removed workspaces purged after their grace."""
        self.sweep_interval = sweep_interval
        self.scheduler = scheduler or AsyncIOScheduler()
        self._in_flight: set[asyncio.Task[object]] = set()
        self._schedules: dict[str, tuple[time, str]] = {}
        """What each cron job was built from, so a rebuild only touches changed ones."""

    async def start(self) -> None:
        """Start inside the running event loop: build the jobs, catch up, then sweep on."""
        self.daily.subscription_listeners.append(self.on_subscription_change)
        self.daily.post_listeners.append(self.on_posted)
        self.scheduler.start()
        try:
            await self.rebuild()
        except StorageUnavailableError:
            # The database is away at start-up: the sweeps rebuild the jobs once it is back.
            log.warning("daily: schedules not read at start; the next sweep reads them")
        await self._recover_own_claims()
        await self.sweep()
        self.scheduler.add_job(
            self.sweep,
            IntervalTrigger(seconds=self.sweep_interval.total_seconds()),
            id=SWEEP_JOB_ID,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    async def shutdown(self, grace: timedelta = SHUTDOWN_GRACE) -> None:
        """Stop firing jobs, let the ones in flight finish (up to `grace`), then stop.

        APScheduler's own shutdown cancels running jobs; a job cancelled in the middle of a
        database write can leave a half-closed connection behind, so they finish first.
        """
        if self.scheduler.running:
            self.scheduler.pause()
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=grace.total_seconds())
            if late:
                log.warning("daily: %d jobs still running at shutdown are cancelled", len(late))
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.on_subscription_change in self.daily.subscription_listeners:
            self.daily.subscription_listeners.remove(self.on_subscription_change)
        if self.on_posted in self.daily.post_listeners:
            self.daily.post_listeners.remove(self.on_posted)

    async def rebuild(self) -> None:
        """Make the cron jobs match the enabled subscriptions in the database."""
        subscriptions = await self.daily.store.subscriptions(enabled_only=True)
        wanted = {post_job_id(s.channel): s for s in subscriptions}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(POST_JOB_PREFIX) and job.id not in wanted:
                job.remove()
                self._schedules.pop(job.id, None)
        for subscription in wanted.values():
            self._schedule(subscription)

    async def on_subscription_change(self, subscription: Subscription) -> None:
        """Add, move or drop one channel's cron job."""
        job_id = post_job_id(subscription.channel)
        if subscription.enabled:
            self._schedule(subscription)
        elif self.scheduler.get_job(job_id) is not None:
            self.scheduler.remove_job(job_id)
            self._schedules.pop(job_id, None)

    async def on_posted(self, post: DailyPost) -> None:
        """Reveal the post when its answers close."""
        self.scheduler.add_job(
            self.reveal,
            DateTrigger(run_date=post.closes_at),
            id=f"{REVEAL_JOB_PREFIX}{post.id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def sweep(self) -> None:
        """Catch up posts, recover stale claims and reveal what is due, then purge removed
        workspaces whose grace period has passed; never raises."""
        with self._job():
            await self._sweep()
            await self._sweep_personal_data()

    async def _sweep_personal_data(self) -> None:
        if self.privacy is None:
            return
        try:
            await self.privacy.sweep()
        except Exception:  # as the daily sweep: the next one tries again
            log.exception("personal data sweep failed; trying again at the next sweep")

    async def _recover_own_claims(self) -> None:
        """Finish at once what this instance's previous run left half done when it was killed."""
        try:
            recovered = await self.daily.recover_own_claims()
        except Exception:  # the lease-based recovery in the sweeps still gets them
            log.exception("recovering the previous run's daily claims failed")
            return
        if recovered:
            log.info("daily: finished %d posts and reveals the previous run left", recovered)

    async def _sweep(self) -> None:
        try:
            # Another process (`awsquiz daily set`, a second bot) may have changed schedules.
            await self.rebuild()
            report = await self.daily.post_due()
            recovered = await self.daily.recover_stale_claims()
            revealed = await self.daily.reveal_due()
        except Exception:  # a database hiccup must not stop the scheduler
            log.exception("daily sweep failed; trying again at the next sweep")
            return
        if report.outcomes or recovered or revealed:
            log.info(
                "daily sweep: %d channels due, %d stale claims recovered, %d reveals",
                len(report.outcomes),
                recovered,
                revealed,
            )

    async def post_channel(self, channel: ChannelRef) -> None:
        """The cron job of one channel."""
        with self._job():
            try:
                await self.daily.post_if_due(channel)
            except Exception:
                log.exception("daily %s: posting failed; the sweep will try again", channel)

    async def reveal(self) -> None:
        """The date job of one post: reveal whatever is due."""
        with self._job():
            try:
                await self.daily.reveal_due()
            except Exception:
                log.exception("daily reveal failed; the sweep will try again")

    @contextmanager
    def _job(self) -> Iterator[None]:
        """Mark the running task as a job body: shutdown waits for it rather than cancel it."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._in_flight.discard(task)

    def _schedule(self, subscription: Subscription) -> None:
        """Add or move the channel's cron job; one already on this schedule is left alone,
        so a rebuild right at post time does not push today's firing to tomorrow.
        """
        job_id = post_job_id(subscription.channel)
        wanted = (subscription.post_time, subscription.timezone)
        if self._schedules.get(job_id) == wanted and self.scheduler.get_job(job_id) is not None:
            return
        self._schedules[job_id] = wanted
        trigger = CronTrigger(
            hour=subscription.post_time.hour,
            minute=subscription.post_time.minute,
            timezone=ZoneInfo(subscription.timezone),
        )
        self.scheduler.add_job(
            self.post_channel,
            trigger,
            args=[subscription.channel],
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(self.daily.config.catch_up_grace.total_seconds()),
        )
