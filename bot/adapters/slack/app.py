"""Build the Slack AsyncApp and run it in Socket Mode or HTTP mode."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.handlers import SlackHandlers, SlackOptions
from bot.app import Services
from bot.engine.errors import SettingsError
from bot.settings import Settings

EVENTS_PATH: Final = "/slack/events"
API_RETRIES: Final = 2


@dataclass(frozen=True, slots=True)
class SlackMode:
    """How the app reaches Slack: Socket Mode (app token) or HTTP (signing secret)."""

    bot_token: str
    app_token: str | None
    signing_secret: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackMode:
        """Read the tokens, failing at start naming what is missing."""
        if settings.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN", "is not set")
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


def web_client(token: str, api_url: str) -> AsyncWebClient:
    """A Web API client that retries on 429 (after Retry-After) and on connection errors."""
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=API_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=API_RETRIES),
        ],
    )


def build_app(
    services: Services, client: AsyncWebClient, mode: SlackMode, settings: Settings
) -> AsyncApp:
    """The Bolt app with every awsquiz listener registered."""
    app = AsyncApp(client=client, signing_secret=mode.signing_secret or "")
    options = SlackOptions(
        admin_roles=frozenset(settings.slack_admin_roles.split(",")),
        max_answer_chars=settings.awsquiz_max_answer_chars,
    )
    SlackHandlers(services, options).register(app)
    return app


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
    runner = web.AppRunner(app.web_app(path=EVENTS_PATH))
    await runner.setup()
    await web.TCPSite(runner, port=port).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
