"""`awsquiz run`: the chat platforms and the daily scheduler, in one process and event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

from bot.adapters.slack.app import SlackMode, build_app, serve, web_client, workspace_clients
from bot.adapters.slack.chat import SlackChatAdapter
from bot.app import open_services
from bot.engine.errors import SettingsError
from bot.engine.ports import ChatAdapter
from bot.scheduler import DailyScheduler
from bot.settings import Settings
from storage import SqlStore

log = logging.getLogger(__name__)


def configured_platforms(settings: Settings) -> list[str]:
    """The platforms whose tokens (or, for Slack, OAuth credentials) are set."""
    slack = settings.slack_bot_token is not None or settings.slack_client_id is not None
    return ["slack"] if slack else []


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run every configured platform and the scheduler until SIGINT/SIGTERM (or `stop`)."""
    if not configured_platforms(settings):
        raise SettingsError(
            "SLACK_BOT_TOKEN",
            "no chat platform is configured: set SLACK_BOT_TOKEN (one Slack workspace) or "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (Slack over OAuth, many workspaces); "
            "to practise without chat tokens, run `awsquiz practice`",
        )
    mode = SlackMode.from_settings(settings)
    client = web_client(mode.bot_token, settings.slack_api_url)  # no token under OAuth

    def adapters(store: SqlStore) -> dict[str, ChatAdapter]:
        clients = workspace_clients(mode, client, store.engine, settings.slack_api_url)
        return {"slack": SlackChatAdapter(clients)}

    stop = stop or _stop_on_signals()
    async with open_services(settings, adapters=adapters) as services:
        app = build_app(services, client, mode, settings)
        scheduler = DailyScheduler(services.daily)
        await scheduler.start()
        log.info("awsquiz running: slack (%s mode)", _describe(mode))
        try:
            await serve(app, mode, settings.port, stop)
        finally:
            scheduler.shutdown()


def _describe(mode: SlackMode) -> str:
    if mode.app_token:
        return "socket"
    return "http, OAuth install" if mode.oauth else "http"


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    return stop
