"""Multi-workspace install over OAuth: Bolt's OAuth settings and per-workspace Web API clients.

Installations and OAuth states live in our database, in slack_sdk's SQLAlchemy stores on the
store's engine (tables created by migration 0004), so several bot processes share them. The
composition root names the tables: the adapter does not know the storage layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Self

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack.ids import OAUTH_REDIRECT_PATH
from bot.adapters.slack.manifest import BOT_SCOPES
from bot.engine.errors import ChatPostError

INSTALL_PATH: Final = "/slack/install"
REDIRECT_PATH: Final = OAUTH_REDIRECT_PATH
STATE_EXPIRATION_SECONDS: Final = 600  # an installer has ten minutes to approve in Slack

ClientFactory = Callable[[str], AsyncWebClient]
"""Builds a Web API client for a bot token (base URL and retries as the app configures them)."""


@dataclass(frozen=True, slots=True)
class SlackOAuth:
    """The app's OAuth credentials: set, the app installs into any workspace (HTTP mode)."""

    client_id: str
    client_secret: str = field(repr=False)  # never in a log line or traceback
    redirect_uri: str | None = None


@dataclass(frozen=True, slots=True)
class InstallationTables:
    """The tables slack_sdk's stores use for installations, bots and OAuth states."""

    installations: str
    bots: str
    states: str


@dataclass(frozen=True, slots=True)
class InstallationStores:
    """slack_sdk's installation and OAuth state stores on our database."""

    installations: AsyncSQLAlchemyInstallationStore
    states: AsyncSQLAlchemyOAuthStateStore

    @classmethod
    def on(
        cls,
        engine: AsyncEngine,
        oauth: SlackOAuth,
        tables: InstallationTables,
        *,
        writes: AsyncEngine | None = None,
    ) -> Self:
        """The stores on `engine`; installation rows are scoped by our client id.

        `writes`, if given, is the engine for the state store, whose every transaction reads
        then writes (on SQLite it must take the write lock up front, beside other processes).
        """
        return cls(
            installations=AsyncSQLAlchemyInstallationStore(
                client_id=oauth.client_id,
                engine=engine,
                bots_table_name=tables.bots,
                installations_table_name=tables.installations,
            ),
            states=AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=STATE_EXPIRATION_SECONDS,
                engine=writes or engine,
                table_name=tables.states,
            ),
        )


def oauth_settings(oauth: SlackOAuth, stores: InstallationStores) -> AsyncOAuthSettings:
    """Bolt's OAuth flow: /slack/install redirects to Slack, the redirect stores the install.

    The flow calls oauth.v2.access through the AsyncApp's client, so SLACK_API_URL applies.
    """
    settings = AsyncOAuthSettings(
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        scopes=list(BOT_SCOPES),
        # No user scopes: the bot acts as itself. An explicit empty list keeps Bolt from reading
        # SLACK_USER_SCOPES out of the process environment behind our settings' back.
        user_scopes=[],
        redirect_uri=oauth.redirect_uri,
        install_path=INSTALL_PATH,
        # Straight to Slack's consent page rather than Bolt's "Add to Slack" page in between.
        install_page_rendering_enabled=False,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=stores.installations,
        state_store=stores.states,
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
    )
    # Bolt authorises each request from the installation store, then by default runs auth.test
    # before the listener can ack. Its answer (bot and user ids) holds for a token and a
    # reinstall stores a new token, so it is cached per token; the store is still read each
    # request, so a deleted installation is refused at once.
    if isinstance(settings.authorize, AsyncInstallationStoreAuthorize):
        settings.authorize.cache_enabled = True
    return settings


class InstalledWorkspaceClients:
    """Web API clients per workspace, authorised by the bot token its installation stored.

    The daily poster's `client_for`: the token is read from the installation store on every
    call (one indexed query; a reinstall may replace it), and the client is reused while the
    token stays the same.
    """

    def __init__(
        self,
        installations: AsyncSQLAlchemyInstallationStore,
        make_client: ClientFactory,
    ) -> None:
        self._installations = installations
        self._make_client = make_client
        self._clients: dict[str, AsyncWebClient] = {}

    async def __call__(self, team_id: str) -> AsyncWebClient:
        """The client for `team_id`; ChatPostError (final) when the app is not installed there."""
        bot = await self._installations.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            self._clients.pop(team_id, None)
            raise ChatPostError(
                f"awsquiz is not installed in Slack workspace {team_id}", transient=False
            )
        cached = self._clients.get(team_id)
        if cached is not None and cached.token == bot.bot_token:
            return cached
        client = self._make_client(bot.bot_token)
        self._clients[team_id] = client
        return client
