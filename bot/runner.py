"""`awsquiz run`: the chat platforms and the daily scheduler, in one process and event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

from bot.app import Services, open_services
from bot.engine.errors import SettingsError
from bot.engine.ports import ChatAdapter
from bot.scheduler import DailyScheduler
from bot.settings import Settings
from storage import SqlStore

log = logging.getLogger(__name__)

Platform = Callable[[Services, asyncio.Event], Coroutine[Any, Any, None]]
"""Runs one chat platform on the open services until the event is set."""


def configured_platforms(settings: Settings) -> list[str]:
    """The platforms whose tokens (or, for Slack, OAuth credentials) are set."""
    slack = settings.slack_bot_token is not None or settings.slack_client_id is not None
    discord = settings.discord_token is not None
    return [name for name, configured in (("slack", slack), ("discord", discord)) if configured]


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
    store_users: list[Callable[[SqlStore], None]] = []
    if "slack" in platforms:
        runners.append(_slack(settings, adapters, store_users))
    if "discord" in platforms:
        runners.append(_discord(settings, adapters))

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
        scheduler = DailyScheduler(services.daily)
        try:
            async with asyncio.TaskGroup() as platforms_running:
                for platform in runners:
                    platforms_running.create_task(platform(services, stop))
                # After the platforms start connecting: the first sweep (the catch-up of posts
                # missed while down) posts through their clients, which wait until ready.
                await scheduler.start()
                log.info("awsquiz running: %s", ", ".join(platforms))
        finally:
            await scheduler.shutdown()


def _slack(
    settings: Settings,
    adapters: dict[str, ChatAdapter],
    store_users: list[Callable[[SqlStore], None]],
) -> Platform:
    from bot.adapters.slack.app import SlackMode, build_app, serve, web_client, workspace_clients
    from bot.adapters.slack.chat import SlackChatAdapter

    mode = SlackMode.from_settings(settings)
    client = web_client(mode.bot_token, settings.slack_api_url)  # no token under OAuth

    def with_store(store: SqlStore) -> None:
        clients = workspace_clients(mode, client, store.engine, settings.slack_api_url)
        adapters["slack"] = SlackChatAdapter(clients)

    store_users.append(with_store)

    async def run_slack(services: Services, stop: asyncio.Event) -> None:
        kind = "socket" if mode.app_token else ("http, OAuth install" if mode.oauth else "http")
        log.info("slack: %s mode", kind)
        await serve(build_app(services, client, mode, settings), mode, settings.port, stop)

    return run_slack


def _discord(settings: Settings, adapters: dict[str, ChatAdapter]) -> Platform:
    from bot.adapters.discord.chat import DiscordChatAdapter
    from bot.adapters.discord.client import build_client, point_at, serve, token_of
    from bot.adapters.discord.handlers import DiscordHandlers, DiscordOptions

    token = token_of(settings.discord_token)
    point_at(settings.discord_api_url, settings.discord_gateway_url)
    client = build_client(settings.discord_guild_id, settings.discord_shard_count)
    adapters["discord"] = DiscordChatAdapter(client)

    async def run_discord(services: Services, stop: asyncio.Event) -> None:
        options = DiscordOptions(max_answer_chars=settings.awsquiz_max_answer_chars)
        client.handlers = DiscordHandlers(services.tutor, client, options)
        await serve(client, token, stop)

    return run_discord


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    return stop
