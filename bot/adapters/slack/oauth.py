"""Multi-workspace install over OAuth: Bolt's OAuth settings and per-workspace Web API clients.

Installations and OAuth states live in our database, in slack_sdk's SQLAlchemy stores on the
store's engine (tables created by migration 0004), so several bot processes share them; their
tokens are encrypted at rest (`SealedInstallationStore`). The composition root names the
tables and hands over the keys: the adapter does not know the storage layer or the settings.

Installations may be a workspace's own (standalone or in an Enterprise Grid org) or a Grid
org's, org-wide; their tokens may rotate (they expire after 12 hours and are refreshed with a
single-use refresh token), for requests and for daily posts alike, always on SLACK_API_URL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Self

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack import install_pages
from bot.adapters.slack.grid import OrgWorkspaces
from bot.adapters.slack.ids import OAUTH_REDIRECT_PATH
from bot.adapters.slack.installation_store import (
    BOT_TOKEN_COLUMNS,
    INSTALLATION_TOKEN_COLUMNS,
    SealedInstallationStore,
)
from bot.adapters.slack.manifest import BOT_SCOPES
from bot.adapters.slack.refusals import code_of
from bot.adapters.slack.rotation import REFRESH_MARGIN_MINUTES, SavingTokenRotator, expires_soon
from bot.adapters.slack.token_vault import TokenVault
from bot.engine.errors import ChatPostError

INSTALL_PATH: Final = "/slack/install"
REDIRECT_PATH: Final = OAUTH_REDIRECT_PATH
STATE_EXPIRATION_SECONDS: Final = 600  # an installer has ten minutes to approve in Slack

ClientFactory = Callable[[str], AsyncWebClient]
"""Builds a Web API client for a bot token (base URL and retries as the app configures them)."""

log = logging.getLogger(__name__)


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

    @property
    def token_columns(self) -> dict[str, tuple[str, ...]]:
        """The tables holding tokens, with their token columns (what is encrypted at rest)."""
        return {self.bots: BOT_TOKEN_COLUMNS, self.installations: INSTALLATION_TOKEN_COLUMNS}


@dataclass(frozen=True, slots=True)
class InstallationStores:
    """slack_sdk's installation and OAuth state stores on our database, for one app."""

    installations: SealedInstallationStore
    states: AsyncSQLAlchemyOAuthStateStore
    oauth: SlackOAuth

    @classmethod
    def on(
        cls,
        engine: AsyncEngine,
        oauth: SlackOAuth,
        tables: InstallationTables,
        vault: TokenVault,
        *,
        writes: AsyncEngine | None = None,
    ) -> Self:
        """The stores on `engine`; installation rows are scoped by our client id and their
        tokens encrypted with `vault`.

        `writes`, if given, is the engine for the state store and for saving installations,
        whose transactions read then write (on SQLite they must take the write lock up front,
        beside other processes and concurrent refreshes).
        """
        return cls(
            installations=SealedInstallationStore(
                client_id=oauth.client_id,
                engine=engine,
                vault=vault,
                bots_table_name=tables.bots,
                installations_table_name=tables.installations,
                writes=writes,
            ),
            states=AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=STATE_EXPIRATION_SECONDS,
                engine=writes or engine,
                table_name=tables.states,
            ),
            oauth=oauth,
        )


def token_rotator(stores: InstallationStores, client: AsyncWebClient) -> SavingTokenRotator:
    """Refreshes the stores' rotating tokens with oauth.v2.access through `client`, which must
    be on SLACK_API_URL and carry no token (the app's credentials go as HTTP Basic auth).

    slack_sdk's default rotator would make a client of its own, on slack.com.
    """
    return SavingTokenRotator(
        client_id=stores.oauth.client_id,
        client_secret=stores.oauth.client_secret,
        client=client,
        installations=stores.installations,
    )


def oauth_settings(
    oauth: SlackOAuth, stores: InstallationStores, rotator: SavingTokenRotator
) -> AsyncOAuthSettings:
    """Bolt's OAuth flow: /slack/install redirects to Slack, the redirect stores the install.

    The flow calls oauth.v2.access through the AsyncApp's client, so SLACK_API_URL applies;
    Bolt refreshes a request's rotating token with `rotator`, which must be on it too.
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
        token_rotation_expiration_minutes=REFRESH_MARGIN_MINUTES,
        state_store=stores.states,
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
        # A cancelled or failed install gets a page in words (install_pages), not Bolt's "Oops".
        callback_options=install_pages.callback_options(),
    )
    if isinstance(settings.authorize, AsyncInstallationStoreAuthorize):
        # Bolt builds its rotator with a client of its own, on slack.com.
        settings.authorize.token_rotator = rotator
        # Bolt authorises each request from the installation store, then by default runs
        # auth.test before the listener can ack. Its answer (bot and user ids) holds for a token
        # and a reinstall or refresh stores a new token, so it is cached per token; the store is
        # still read each request, so a deleted installation is refused at once.
        settings.authorize.cache_enabled = True
    return settings


class InstalledWorkspaceClients:
    """Web API clients per workspace, authorised by the bot token its installation stored.

    The daily poster's `client_for`. A workspace's installation is its own (standalone or in an
    Enterprise Grid org), else its org's org-wide one. The token is read from the store on
    every call (a reinstall may replace it), refreshed first when it rotates and expires soon
    (then saved, for Bolt and the other processes), and a client is reused while the token
    stays the same.
    """

    def __init__(
        self,
        installations: SealedInstallationStore,
        make_client: ClientFactory,
        *,
        rotator: SavingTokenRotator | None = None,
        orgs: OrgWorkspaces | None = None,
    ) -> None:
        self._installations = installations
        self._make_client = make_client
        self._rotator = rotator
        self._orgs = orgs or OrgWorkspaces()
        self._clients: dict[tuple[str | None, str | None], AsyncWebClient] = {}

    async def __call__(self, team_id: str) -> AsyncWebClient:
        """The client for `team_id`; ChatPostError (final) when the app is not installed there."""
        installation = await self._installation_of(team_id)
        if installation is None or not installation.bot_token:
            raise ChatPostError(
                f"awsquiz is not installed in Slack workspace {team_id}", transient=False
            )
        return await self._client_of(installation)

    async def _installation_of(self, team_id: str) -> Installation | None:
        own = await self._installations.async_find_team_installation(team_id)
        if own is not None:
            return own
        refused = False
        for enterprise_id in await self._installations.async_org_wide_enterprises():
            org = await self._installations.async_find_installation(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
            if org is None or not org.bot_token:
                continue
            try:
                granted = await self._orgs.grants(
                    enterprise_id, team_id, functools.partial(self._client_of, org)
                )
            except SlackApiError as error:
                # One org's refusal (its token revoked) must not hide the others' grants.
                code = code_of(error)
                log.warning("slack org %s: auth.teams.list failed: %s", enterprise_id, code)
                refused = True
                continue
            if granted:
                return org
        if refused:
            raise ChatPostError(
                f"could not ask Slack which org serves workspace {team_id}", transient=True
            )
        return None

    async def _client_of(self, installation: Installation) -> AsyncWebClient:
        installation = await self._with_fresh_token(installation)
        token = installation.bot_token
        if token is None:  # a refresh that came back without one: not usable
            raise ChatPostError(f"no bot token for {_where(installation)}", transient=True)
        key = (installation.enterprise_id, installation.team_id)
        cached = self._clients.get(key)
        if cached is not None and cached.token == token:
            return cached
        client = self._make_client(token)
        self._clients[key] = client
        return client

    async def _with_fresh_token(self, installation: Installation) -> Installation:
        """`installation`, its rotating bot token refreshed and saved first if it expires soon."""
        if self._rotator is None or not expires_soon(installation):
            return installation
        try:
            refreshed = await self._rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=REFRESH_MARGIN_MINUTES
            )
        except SlackTokenRotationError as error:
            # Transient: the post is retried, and a refresh that another process won is read
            # then. Slack's code only, never the tokens of the request.
            code = code_of(error.api_error)
            log.warning("slack %s: refreshing the bot token failed: %s", _where(installation), code)
            raise ChatPostError(
                f"could not refresh the bot token of {_where(installation)}: {code}",
                transient=True,
            ) from error
        return installation if refreshed is None else refreshed


def _where(installation: Installation) -> str:
    """An installation as a log line names it: its team, else its org."""
    if installation.team_id:
        return f"workspace {installation.team_id}"
    return f"org {installation.enterprise_id}"
