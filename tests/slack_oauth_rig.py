"""awsquiz's Slack app in OAuth mode on our database, served over loopback to the Slack double.

What the Grid and token tests share: the app as `awsquiz run` builds it (`bot.platforms`), the
install walked as a browser walks it, slash commands from any workspace or org, and the
installation rows as plain SQL reads them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from doubles.slack import (
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    ResponseUrlPost,
    SlackDouble,
    post_to_bolt,
    serve_bolt_http,
    signed_headers,
    slash_command,
)
from helpers import FixedClock
from sqlalchemy import text

from bot.adapters.slack.app import SlackMode, web_client, workspace_clients
from bot.adapters.slack.chat import SlackChatAdapter
from bot.adapters.slack.installation_store import SealedInstallationStore
from bot.app import Services, open_services
from bot.engine.ports import ChatAdapter
from bot.platforms import slack_app, slack_installations, slack_mode
from bot.settings import load_settings
from storage import SqlStore

CLIENT_ID: Final = "1234567890.0987654321"
CLIENT_SECRET: Final = "oauth-client-secret-value"
REDIRECT_URI: Final = "https://bot.example/slack/oauth_redirect"
STATE_COOKIE: Final = "slack-app-oauth-state"
FORM: Final = "application/x-www-form-urlencoded"
TOKEN_TABLES: Final = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
}


def oauth_environment(double: SlackDouble, database_url: str, keys: str) -> dict[str, str]:
    """HTTP mode with OAuth credentials, no bot token, and the token keys `keys`."""
    return {
        "DATABASE_URL": database_url,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_REDIRECT_URI": REDIRECT_URI,
        "SLACK_API_URL": double.api_url,
        "AWSQUIZ_TOKEN_KEYS": keys,
    }


@dataclass
class OAuthRig:
    """The app, its services and the double, as one test drives them."""

    double: SlackDouble
    services: Services
    root: str
    events_url: str
    mode: SlackMode
    clock: FixedClock

    async def install(self, code: str = "install-code") -> int:
        """Walk the install as a browser does; return the redirect's HTTP status."""
        async with aiohttp.ClientSession() as session:
            async with session.get(self.root + "/slack/install", allow_redirects=False) as start:
                assert start.status == 302
                location = urlsplit(start.headers["Location"])
                state = parse_qs(location.query)["state"][0]
                cookie = start.cookies[STATE_COOKIE].value
            redirect = f"{self.root}/slack/oauth_redirect?code={code}&state={state}"
            headers = {"Cookie": f"{STATE_COOKIE}={cookie}"}
            async with session.get(redirect, headers=headers, allow_redirects=False) as done:
                await done.read()
                return done.status

    async def command(
        self,
        typed: str,
        *,
        team_id: str = TEAM_ID,
        enterprise_id: str | None = None,
        org_wide: bool = False,
        channel_id: str = CHANNEL_ID,
    ) -> list[ResponseUrlPost]:
        """`/awsquiz TYPED` from a workspace (of a Grid org, for an org-wide install); return
        what it answered through its response URL."""
        answered = len(self.double.responses)
        fields: dict[str, Any] = slash_command(
            team_id=team_id,
            channel_id=channel_id,
            text=typed,
            response_url=self.double.response_url,
        )
        if enterprise_id is not None:
            fields |= {"enterprise_id": enterprise_id, "enterprise_name": "AWS Quiz Org"}
        fields["is_enterprise_install"] = "true" if org_wide else "false"
        body = urlencode(fields)
        delivery = await post_to_bolt(
            self.events_url, body, signed_headers(SIGNING_SECRET, body, FORM)
        )
        assert delivery.status == 200, delivery
        return (await self.double.wait_for_responses(count=answered + 1))[answered:]

    def installations(self) -> SealedInstallationStore:
        """The app's installation store (tokens decrypted on the way out)."""
        stores = slack_installations(self.mode, self.services.store)
        assert stores is not None
        return stores.installations

    async def stored_tokens(self) -> list[str]:
        """Every token value in the installation tables, as the database holds it."""
        return await stored_tokens(self.services.store)

    async def twelve_hours_pass(self, token: str) -> None:
        """A rotating token expires: Slack refuses it, and the stored expiry has passed."""
        self.double.expire_token(token)
        past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)  # naive UTC
        async with self.services.store.engine.begin() as connection:
            for table in TOKEN_TABLES:
                await connection.execute(
                    text(f"UPDATE {table} SET bot_token_expires_at = :past"), {"past": past}
                )


async def stored_tokens(store: SqlStore) -> list[str]:
    """Every non-null token column of slack_bots and slack_installations, read with plain SQL."""
    found: list[str] = []
    async with store.engine.connect() as connection:
        for table, columns in TOKEN_TABLES.items():
            rows = await connection.execute(text(f"SELECT {', '.join(columns)} FROM {table}"))
            found += [value for row in rows for value in row if value is not None]
    return found


@asynccontextmanager
async def oauth_rig(
    double: SlackDouble,
    database_url: str,
    clock: FixedClock,
    *,
    keys: str,
    extra: Mapping[str, str] | None = None,
) -> AsyncIterator[OAuthRig]:
    """Serve the OAuth app on loopback with the token keys `keys`, as `awsquiz run` builds it."""
    settings = load_settings(oauth_environment(double, database_url, keys) | dict(extra or {}))
    mode = slack_mode(settings)
    client = web_client(None, settings.slack_api_url)

    def adapters(store: SqlStore) -> dict[str, ChatAdapter]:
        stores = slack_installations(mode, store)
        return {
            "slack": SlackChatAdapter(workspace_clients(client, stores, settings.slack_api_url))
        }

    async with open_services(settings, adapters=adapters, clock=clock) as services:
        app = slack_app(services, client, mode, settings)
        async with serve_bolt_http(app) as events_url:
            root = events_url.removesuffix(urlsplit(events_url).path)
            yield OAuthRig(double, services, root, events_url, mode, clock)
