"""`awsquiz run`: the chat platforms and the daily scheduler, in one process and event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Final

from bot import operators
from bot.app import Services, open_services
from bot.engine.errors import AwsquizError, SettingsError, StorageUnavailableError
from bot.engine.ports import ChatAdapter
from bot.platforms import (
    Platform,
    StoreUser,
    configured_platforms,
    discord_platform,
    slack_platform,
    slack_serves_http,
)
from bot.scheduler import DailyScheduler
from bot.settings import Settings
from storage import SqlStore

RESEND_EVERY: Final = timedelta(minutes=1)
"""How often stored replies that never went out are sent again."""

log = logging.getLogger(__name__)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run every configured platform and the scheduler until SIGINT/SIGTERM (or `stop`)."""
    platforms = configured_platforms(settings)
    if not platforms:
        raise SettingsError(
            "SLACK_BOT_TOKEN",
            "no chat platform is configured: set SLACK_BOT_TOKEN (one Slack workspace), "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (Slack over OAuth, many workspaces) or "
            "DISCORD_TOKEN; to practise without chat tokens, run `awsquiz practice`",
        )
    adapters: dict[str, ChatAdapter] = {}
    runners: list[Platform] = []
    store_users: list[StoreUser] = []
    readiness = operators.Readiness(platforms)
    if "slack" in platforms:
        runners.append(slack_platform(settings, adapters, store_users, readiness))
    if "discord" in platforms:
        runners.append(discord_platform(settings, adapters, readiness))

    def build_adapters(store: SqlStore) -> dict[str, ChatAdapter]:
        for use in store_users:
            use(store)
        return adapters

    stop = stop or _stop_on_signals()
    async with open_services(settings, adapters=build_adapters) as services:
        # What start-up built (libraries, the catalog, analysed references) lives as long as
        # the process: out of the collector's way, a full collection no longer stalls the
        # event loop for tens of milliseconds in the middle of a burst of answers.
        gc.collect()
        gc.freeze()
        scheduler = DailyScheduler(services.daily, privacy=services.privacy)
        operators.observe(services.store.engine, services.daily, readiness)
        metrics_port = settings.awsquiz_metrics_port
        if slack_serves_http(settings) and metrics_port == settings.port:
            metrics_port = None  # already served there, beside Slack's requests
        started = services.tutor.clock.now()
        try:
            async with asyncio.TaskGroup() as platforms_running:
                for platform in runners:
                    platforms_running.create_task(platform(services, stop))
                if metrics_port is not None:
                    platforms_running.create_task(operators.serve(metrics_port, readiness, stop))
                # After the platforms start connecting: the first sweep (the catch-up of posts
                # missed while down) posts through their clients, which wait until ready.
                await scheduler.start()
                platforms_running.create_task(_send_unsent_replies(services, started, stop))
                log.info("awsquiz running: %s", ", ".join(platforms))
        except ExceptionGroup as failed:
            # A platform stopping on a refusal (a setting to fix) says so plainly, as a
            # refusal at start-up does, not as a traceback of the task group.
            refusal = _first_refusal(failed)
            if refusal is None:
                raise
            raise refusal from None
        finally:
            await scheduler.shutdown()


async def _send_unsent_replies(services: Services, started: datetime, stop: asyncio.Event) -> None:
    """Send stored replies that never went out: at start, what a killed run left (stored
    before this process started, so none being sent now); then each RESEND_EVERY, what a
    platform refused past its retries (a 429 storm). A database outage skips a round."""
    stored_before: datetime | None = started
    while not stop.is_set():
        try:
            resent = await services.tutor.send_unsent(
                services.daily.adapters, stored_before=stored_before
            )
        except StorageUnavailableError:
            resent = 0  # the outage is logged by the store; the next round tries again
        except Exception:  # a background round must never stop the bot
            log.exception("sending stored replies failed; trying again in a minute")
            resent = 0
        if resent:
            log.info("sent %d stored replies that had not reached their members", resent)
        stored_before = None
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESEND_EVERY.total_seconds())


def _first_refusal(group: BaseExceptionGroup[BaseException]) -> AwsquizError | None:
    """The first AwsquizError in a (nested) exception group, if any."""
    for error in group.exceptions:
        if isinstance(error, AwsquizError):
            return error
        if isinstance(error, BaseExceptionGroup):
            nested = _first_refusal(error)
            if nested is not None:
                return nested
    return None


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    return stop
