"""Build the Slack AsyncApp and run it in Socket Mode or HTTP mode."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import http
from bot.adapters.slack.chat import ClientFor, SlackChatAdapter
from bot.adapters.slack.handlers import SlackHandlers, SlackOptions
from bot.adapters.slack.ids import PLATFORM
from bot.adapters.slack.oauth import (
    InstallationStores,
    InstalledWorkspaceClients,
    SlackOAuth,
    oauth_settings,
    token_rotator,
)
from bot.engine.daily.service import DailyService
from bot.engine.tutor import Tutor

EVENTS_PATH: Final = "/slack/events"
API_RETRIES: Final = 2

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlackMode:
    """How the app reaches Slack: Socket Mode (app token) or HTTP (signing secret).

    With a bot token the app serves that one workspace; without one, `oauth` is set and the app
    installs into any workspace over OAuth (HTTP mode), each request authorised by its own, and
    the installations' tokens are encrypted at rest with `token_keys` (Fernet keys, the first
    encrypts, all decrypt).
    """

    # Kept out of the repr, so a log line or traceback that shows the mode shows no secret.
    bot_token: str | None = field(repr=False)
    app_token: str | None = field(repr=False)
    signing_secret: str | None = field(repr=False)
    oauth: SlackOAuth | None = None
    token_keys: tuple[str, ...] = field(default=(), repr=False)


def web_client(token: str | None, api_url: str) -> AsyncWebClient:
    """A Web API client that retries on 429 (after Retry-After) and on connection errors.

    Without a token (OAuth), Bolt sets each request's token from its workspace's installation.
    """
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=API_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=API_RETRIES),
        ],
    )


def workspace_clients(
    client: AsyncWebClient, stores: InstallationStores | None, api_url: str
) -> ClientFor:
    """The daily poster's client per workspace: the bot token's, or each installation's (OAuth).

    Under OAuth, `client` (tokenless, on SLACK_API_URL) refreshes rotating tokens.
    """
    if stores is None:

        async def the_one_workspace(_: str) -> AsyncWebClient:
            return client

        return the_one_workspace
    return InstalledWorkspaceClients(
        stores.installations,
        lambda token: web_client(token, api_url),
        rotator=token_rotator(stores, client),
    )


def build_app(
    tutor: Tutor,
    daily: DailyService,
    client: AsyncWebClient,
    mode: SlackMode,
    options: SlackOptions,
    stores: InstallationStores | None = None,
) -> AsyncApp:
    """The Bolt app with every awsquiz listener registered.

    Under OAuth, `client` (tokenless, on SLACK_API_URL) also makes the flow's oauth.v2.access
    calls (installs and token refreshes), and installations are kept in `stores`.
    """
    if mode.oauth is None:
        app = AsyncApp(client=client, signing_secret=mode.signing_secret or "")
    else:
        if stores is None:
            raise ValueError("OAuth mode needs the installation stores")
        app = AsyncApp(
            client=client,
            signing_secret=mode.signing_secret or "",
            oauth_settings=oauth_settings(mode.oauth, stores, token_rotator(stores, client)),
        )
    SlackHandlers(tutor, options).register(app)
    _forget_removed_workspaces(app, daily, mode)
    _tell_admins_of_refused_posts(daily)
    return app


def _forget_removed_workspaces(app: AsyncApp, daily: DailyService, mode: SlackMode) -> None:
    """When a workspace uninstalls the app or revokes its bot token, its daily questions stop
    (each post would only fail) and, under OAuth, its installation is deleted.
    """
    # Under OAuth, Bolt's own installation store (the one its OAuth flow writes to).
    installations = app.installation_store if mode.oauth is not None else None
    revocations = AsyncTokenRevocationListeners(installations) if installations else None

    async def stop_daily(team_id: str, why: str) -> None:
        stopped = await daily.stop_workspace(PLATFORM, team_id)
        log.info("slack %s: %s; %d daily questions turned off", team_id, why, stopped)

    async def on_uninstalled(context: AsyncBoltContext) -> None:
        if revocations is not None:
            await revocations.handle_app_uninstalled_events(context)
        if context.team_id:
            await stop_daily(context.team_id, "the app was uninstalled")

    async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if revocations is not None:
            await revocations.handle_tokens_revoked_events(event, context)
        if event.get("tokens", {}).get("bot") and context.team_id:
            await stop_daily(context.team_id, "its bot token was revoked")

    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


def _tell_admins_of_refused_posts(daily: DailyService) -> None:
    """Have the daily poster DM the admin when Slack refuses a post (once, however many apps)."""
    poster = daily.adapters.get(PLATFORM)
    listeners = daily.failure_listeners
    if isinstance(poster, SlackChatAdapter) and poster.on_daily_post_failed not in listeners:
        listeners.append(poster.on_daily_post_failed)


async def serve(app: AsyncApp, mode: SlackMode, port: int, stop: asyncio.Event) -> None:
    """Run until `stop` is set: Socket Mode when there is an app token, else HTTP on `port`."""
    if mode.app_token:
        handler = AsyncSocketModeHandler(app, app_token=mode.app_token)
        await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated in Bolt
        try:
            await stop.wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            # close_async() cancels the client's tasks without awaiting them; let them finish.
            client = handler.client
            tasks = (
                client.message_processor,
                client.current_session_monitor,
                client.message_receiver,
            )
            await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
        return
    runner = web.AppRunner(http.web_app(app, EVENTS_PATH))
    await runner.setup()
    await web.TCPSite(runner, port=port).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
