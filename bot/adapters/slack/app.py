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
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack import http
from bot.adapters.slack.chat import ClientFor, SlackChatAdapter
from bot.adapters.slack.handlers import SlackHandlers, SlackOptions
from bot.adapters.slack.ids import PLATFORM
from bot.adapters.slack.oauth import (
    InstalledWorkspaceClients,
    SlackOAuth,
    installation_store,
    oauth_settings,
)
from bot.app import Services
from bot.engine.errors import SettingsError
from bot.settings import Settings

EVENTS_PATH: Final = "/slack/events"
API_RETRIES: Final = 2

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlackMode:
    """How the app reaches Slack: Socket Mode (app token) or HTTP (signing secret).

    With a bot token the app serves that one workspace; without one, `oauth` is set and the app
    installs into any workspace over OAuth (HTTP mode), each request authorised by its own.
    """

    # Kept out of the repr, so a log line or traceback that shows the mode shows no secret.
    bot_token: str | None = field(repr=False)
    app_token: str | None = field(repr=False)
    signing_secret: str | None = field(repr=False)
    oauth: SlackOAuth | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackMode:
        """Read the tokens, failing at start naming what is missing."""
        oauth = SlackOAuth.from_settings(settings)
        if settings.slack_bot_token is None:
            if oauth is None:
                raise SettingsError(
                    "SLACK_BOT_TOKEN",
                    "is not set (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install "
                    "into many workspaces over OAuth, in HTTP mode)",
                )
            return cls._oauth(settings, oauth)
        if oauth is not None:
            log.warning("SLACK_BOT_TOKEN is set: one workspace, OAuth settings are not used")
        app_token = settings.slack_app_token
        secret = settings.slack_signing_secret
        if app_token is None and secret is None:
            raise SettingsError(
                "SLACK_APP_TOKEN",
                "set it for Socket Mode (the default), or set SLACK_SIGNING_SECRET for HTTP mode",
            )
        return cls(
            bot_token=settings.slack_bot_token.get_secret_value(),
            app_token=app_token.get_secret_value() if app_token else None,
            signing_secret=secret.get_secret_value() if secret else None,
        )

    @classmethod
    def _oauth(cls, settings: Settings, oauth: SlackOAuth) -> SlackMode:
        if settings.slack_app_token is not None:
            # Slack installs and redirects over HTTP, and apps distributed to other workspaces
            # cannot use Socket Mode: refuse rather than silently pick one of the two.
            raise SettingsError(
                "SLACK_APP_TOKEN",
                "Socket Mode cannot be used with OAuth (SLACK_CLIENT_ID): unset SLACK_APP_TOKEN "
                "and use HTTP mode, or set SLACK_BOT_TOKEN for a single workspace",
            )
        if settings.slack_signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET", "is needed for OAuth (SLACK_CLIENT_ID), in HTTP mode"
            )
        return cls(
            bot_token=None,
            app_token=None,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            oauth=oauth,
        )


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
    mode: SlackMode, client: AsyncWebClient, engine: AsyncEngine, api_url: str
) -> ClientFor:
    """The daily poster's client per workspace: the bot token's, or each installation's (OAuth)."""
    if mode.oauth is None:

        async def the_one_workspace(_: str) -> AsyncWebClient:
            return client

        return the_one_workspace
    return InstalledWorkspaceClients(
        installation_store(mode.oauth, engine), lambda token: web_client(token, api_url)
    )


def build_app(
    services: Services, client: AsyncWebClient, mode: SlackMode, settings: Settings
) -> AsyncApp:
    """The Bolt app with every awsquiz listener registered.

    Under OAuth, `client` (tokenless, on SLACK_API_URL) also makes the flow's oauth.v2.access
    call, and installations are kept on the store's engine.
    """
    if mode.oauth is None:
        app = AsyncApp(client=client, signing_secret=mode.signing_secret or "")
    else:
        app = AsyncApp(
            client=client,
            signing_secret=mode.signing_secret or "",
            oauth_settings=oauth_settings(mode.oauth, services.store.engine),
        )
    options = SlackOptions(
        admin_roles=frozenset(settings.slack_admin_roles.split(",")),
        max_answer_chars=settings.awsquiz_max_answer_chars,
    )
    SlackHandlers(services.tutor, options).register(app)
    _forget_removed_workspaces(app, services, mode)
    _tell_admins_of_refused_posts(services)
    return app


def _forget_removed_workspaces(app: AsyncApp, services: Services, mode: SlackMode) -> None:
    """When a workspace uninstalls the app or revokes its bot token, its daily questions stop
    (each post would only fail) and, under OAuth, its installation is deleted.
    """
    # Under OAuth, Bolt's own installation store (the one its OAuth flow writes to).
    installations = app.installation_store if mode.oauth is not None else None
    revocations = AsyncTokenRevocationListeners(installations) if installations else None

    async def stop_daily(team_id: str, why: str) -> None:
        stopped = await services.daily.stop_workspace(PLATFORM, team_id)
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


def _tell_admins_of_refused_posts(services: Services) -> None:
    """Have the daily poster DM the admin when Slack refuses a post (once, however many apps)."""
    poster = services.daily.adapters.get(PLATFORM)
    listeners = services.daily.failure_listeners
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
