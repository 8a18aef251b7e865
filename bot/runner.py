"""`awsquiz run`: the chat platforms and the daily scheduler, in one process and event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import SlackMode, build_app, serve, web_client
from bot.adapters.slack.chat import SlackChatAdapter
from bot.app import open_services
from bot.engine.errors import SettingsError
from bot.scheduler import DailyScheduler
from bot.settings import Settings

log = logging.getLogger(__name__)


def configured_platforms(settings: Settings) -> list[str]:
    """The platforms whose tokens are set."""
    return ["slack"] if settings.slack_bot_token is not None else []


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run every configured platform and the scheduler until SIGINT/SIGTERM (or `stop`)."""
    if not configured_platforms(settings):
        raise SettingsError(
            "SLACK_BOT_TOKEN",
            "no chat platform is configured: set SLACK_BOT_TOKEN (Slack); "
            "to practise without chat tokens, run `awsquiz practice`",
        )
    mode = SlackMode.from_settings(settings)
    client = web_client(mode.bot_token, settings.slack_api_url)

    async def client_for(_: str) -> AsyncWebClient:
        return client  # one workspace per bot token

    stop = stop or _stop_on_signals()
    async with open_services(
        settings, adapters={"slack": SlackChatAdapter(client_for)}
    ) as services:
        app = build_app(services, client, mode, settings)
        scheduler = DailyScheduler(services.daily)
        await scheduler.start()
        log.info("awsquiz running: slack (%s mode)", "socket" if mode.app_token else "http")
        try:
            await serve(app, mode, settings.port, stop)
        finally:
            scheduler.shutdown()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    return stop
