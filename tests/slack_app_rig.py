"""awsquiz's Slack app for one workspace, served over loopback HTTP against the Slack double as
`awsquiz run` serves it in HTTP mode: the rig the Slack test modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from doubles.slack import BOT_TOKEN, SIGNING_SECRET, SlackDouble, serve_bolt_http
from helpers import FixedClock
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import web_client
from bot.adapters.slack.chat import SlackChatAdapter
from bot.adapters.slack.pacing import SlackPacer
from bot.app import Services, open_services
from bot.platforms import slack_app, slack_mode
from bot.settings import Settings, load_settings


@dataclass(frozen=True, slots=True)
class ServedApp:
    """The open services, the Bolt app, and the URL Slack's requests go to."""

    services: Services
    app: AsyncApp
    url: str


def workspace_settings(double: SlackDouble, database_url: str, **environment: str) -> Settings:
    """What an operator sets for one workspace in HTTP mode, pointed at the double."""
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": double.api_url,
            **environment,
        }
    )


@asynccontextmanager
async def served_app(
    double: SlackDouble,
    settings: Settings,
    clock: FixedClock,
    *,
    pacer: SlackPacer | None = None,
) -> AsyncIterator[ServedApp]:
    """The app on `settings` until the block ends (leaving it is a bot restart)."""
    client = web_client(BOT_TOKEN, double.api_url)

    async def client_for(_: str) -> AsyncWebClient:
        return client

    adapters = {"slack": SlackChatAdapter(client_for, pacer)}
    async with open_services(settings, adapters=adapters, clock=clock) as services:
        app = slack_app(services, client, slack_mode(settings), settings)
        async with serve_bolt_http(app) as url:
            yield ServedApp(services, app, url)
