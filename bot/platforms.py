"""Composition of the chat platforms: settings and the store turned into the adapters' plain values.

The adapters know neither `bot.settings` nor `storage`: this module reads the settings, names
the storage tables, and hands each adapter what it asks for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.app import Services
from bot.engine.errors import SettingsError
from bot.engine.ports import ChatAdapter
from bot.settings import Settings
from storage import SqlStore
from storage.database import for_writes
from storage.tables import SLACK_BOTS_TABLE, SLACK_INSTALLATIONS_TABLE, SLACK_OAUTH_STATES_TABLE

if TYPE_CHECKING:  # the platforms' libraries load only when the platform is configured
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.adapters.slack.app import SlackMode
    from bot.adapters.slack.handlers import SlackOptions
    from bot.adapters.slack.installation_store import ResealReport
    from bot.adapters.slack.oauth import InstallationStores, InstallationTables, SlackOAuth
    from bot.operators import Readiness

log = logging.getLogger(__name__)

Platform = Callable[[Services, asyncio.Event], Coroutine[Any, Any, None]]
"""Runs one chat platform on the open services until the event is set."""

StoreUser = Callable[[SqlStore], None]
"""Finishes a platform's adapter once the store is open (Slack under OAuth reads it)."""


def configured_platforms(settings: Settings) -> list[str]:
    """The platforms whose tokens (or, for Slack, OAuth credentials) are set."""
    slack = settings.slack_bot_token is not None or settings.slack_client_id is not None
    discord = settings.discord_token is not None
    return [name for name, configured in (("slack", slack), ("discord", discord)) if configured]


# -- Slack ---------------------------------------------------------------------------------------


def slack_oauth(settings: Settings) -> SlackOAuth | None:
    """The OAuth credentials, or None when SLACK_CLIENT_ID is not set (settings check the pair)."""
    from bot.adapters.slack.oauth import SlackOAuth

    if settings.slack_client_id is None or settings.slack_client_secret is None:
        return None
    return SlackOAuth(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        redirect_uri=settings.slack_redirect_uri,
    )


def slack_mode(settings: Settings) -> SlackMode:
    """How the app reaches Slack, failing at start naming the setting that is missing."""
    from bot.adapters.slack.app import SlackMode

    oauth = slack_oauth(settings)
    if settings.slack_bot_token is None:
        if oauth is None:
            raise SettingsError(
                "SLACK_BOT_TOKEN",
                "is not set (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install "
                "into many workspaces over OAuth, in HTTP mode)",
            )
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
        return SlackMode(
            bot_token=None,
            app_token=None,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            oauth=oauth,
            token_keys=slack_token_keys(settings),
        )
    if oauth is not None:
        log.warning("SLACK_BOT_TOKEN is set: one workspace, OAuth settings are not used")
    app_token = settings.slack_app_token
    secret = settings.slack_signing_secret
    if app_token is None and secret is None:
        raise SettingsError(
            "SLACK_APP_TOKEN",
            "set it for Socket Mode (the default), or set SLACK_SIGNING_SECRET for HTTP mode",
        )
    return SlackMode(
        bot_token=settings.slack_bot_token.get_secret_value(),
        app_token=app_token.get_secret_value() if app_token else None,
        signing_secret=secret.get_secret_value() if secret else None,
    )


def slack_token_keys(settings: Settings) -> tuple[str, ...]:
    """The keys that encrypt the OAuth installations' tokens, or a SettingsError naming them."""
    from bot.adapters.slack.token_vault import NEW_KEY_COMMAND

    if not settings.token_keys:
        raise SettingsError(
            "AWSQUIZ_TOKEN_KEYS",
            "is needed for OAuth (SLACK_CLIENT_ID): the installations' tokens are encrypted "
            f"at rest with it. Make a key with {NEW_KEY_COMMAND}",
        )
    return settings.token_keys


async def seal_slack_tokens(settings: Settings, store: SqlStore) -> ResealReport:
    """Encrypt every stored Slack token still in plaintext, and re-encrypt those of an older
    key with the first one (`awsquiz slack encrypt-tokens`, and each OAuth start)."""
    from bot.adapters.slack.installation_store import reseal_tokens
    from bot.adapters.slack.token_vault import TokenVault

    vault = TokenVault(slack_token_keys(settings))
    return await reseal_tokens(for_writes(store.engine), _slack_tables().token_columns, vault)


def slack_options(settings: Settings) -> SlackOptions:
    """What the Slack listeners take from the settings."""
    from bot.adapters.slack.handlers import SlackOptions

    return SlackOptions(
        admin_roles=frozenset(settings.slack_admin_roles.split(",")),
        max_answer_chars=settings.awsquiz_max_answer_chars,
    )


def slack_installations(mode: SlackMode, store: SqlStore) -> InstallationStores | None:
    """Under OAuth, slack_sdk's installation stores on the store's database; else None."""
    from bot.adapters.slack.oauth import InstallationStores
    from bot.adapters.slack.token_vault import TokenVault

    if mode.oauth is None:
        return None
    # Installation look-ups (one per request) stay on the plain engine: reads must not queue
    # behind writers. Saves (an install, a token refresh) and OAuth states take the write lock.
    return InstallationStores.on(
        store.engine,
        mode.oauth,
        _slack_tables(),
        TokenVault(mode.token_keys),
        writes=for_writes(store.engine),
    )


def _slack_tables() -> InstallationTables:
    from bot.adapters.slack.oauth import InstallationTables

    return InstallationTables(
        installations=SLACK_INSTALLATIONS_TABLE,
        bots=SLACK_BOTS_TABLE,
        states=SLACK_OAUTH_STATES_TABLE,
    )


def slack_app(
    services: Services, client: AsyncWebClient, mode: SlackMode, settings: Settings
) -> AsyncApp:
    """The Bolt app on the open services."""
    from bot.adapters.slack.app import build_app

    stores = slack_installations(mode, services.store)
    options = slack_options(settings)
    return build_app(services.tutor, services.daily, client, mode, options, stores)


def slack_serves_http(settings: Settings) -> bool:
    """Whether Slack is configured in HTTP mode: it then listens on PORT (operators too)."""
    return "slack" in configured_platforms(settings) and settings.slack_app_token is None


def slack_platform(
    settings: Settings,
    adapters: dict[str, ChatAdapter],
    store_users: list[StoreUser],
    readiness: Readiness | None = None,
) -> Platform:
    """Slack's chat adapter (registered once the store is open) and its runner; `readiness`
    learns whether it is connected, and HTTP mode serves the operators' routes."""
    from bot import operators
    from bot.adapters.slack.app import web_client, workspace_clients
    from bot.adapters.slack.chat import SlackChatAdapter
    from bot.adapters.slack.pacing import Pace, SlackPacer
    from bot.adapters.slack.serving import Probe, serve

    mode = slack_mode(settings)
    client = web_client(mode.bot_token, settings.slack_api_url)  # no token under OAuth

    def with_store(store: SqlStore) -> None:
        stores = slack_installations(mode, store)
        adapters["slack"] = SlackChatAdapter(
            workspace_clients(client, stores, settings.slack_api_url),
            SlackPacer(Pace(per_minute=settings.slack_posts_per_minute)),
        )

    def watch(probe: Probe) -> None:
        if readiness is not None:
            readiness.watch("slack", probe)

    store_users.append(with_store)

    async def run_slack(services: Services, stop: asyncio.Event) -> None:
        kind = "socket" if mode.app_token else ("http, OAuth install" if mode.oauth else "http")
        log.info("slack: %s mode", kind)
        if mode.oauth is not None:
            # Before any request: no token stays in plaintext, or under a key that is retiring.
            sealed = await seal_slack_tokens(settings, services.store)
            if sealed.encrypted or sealed.reencrypted:
                log.info(
                    "slack: %d stored tokens encrypted, %d re-encrypted with the first key",
                    sealed.encrypted,
                    sealed.reencrypted,
                )
        await serve(
            slack_app(services, client, mode, settings),
            mode,
            settings.port,
            stop,
            routes=operators.routes(readiness),
            watch=watch,
        )

    return run_slack


# -- Discord -------------------------------------------------------------------------------------


def discord_platform(
    settings: Settings, adapters: dict[str, ChatAdapter], readiness: Readiness | None = None
) -> Platform:
    """Discord's chat adapter and its runner; `readiness` learns whether it is connected."""
    from bot.adapters.discord.chat import DiscordChatAdapter
    from bot.adapters.discord.client import build_client, point_at, serve, token_of
    from bot.adapters.discord.handlers import DiscordHandlers, DiscordOptions

    token = token_of(settings.discord_token)
    point_at(settings.discord_api_url, settings.discord_gateway_url)
    client = build_client(
        settings.discord_guild_id, settings.discord_shard_count, settings.discord_shards
    )
    adapters["discord"] = DiscordChatAdapter(client)

    async def run_discord(services: Services, stop: asyncio.Event) -> None:
        options = DiscordOptions(max_answer_chars=settings.awsquiz_max_answer_chars)
        client.handlers = DiscordHandlers(services.tutor, client, options)

        async def connected() -> bool:
            return client.is_ready() and not client.is_closed()

        if readiness is not None:
            readiness.watch("discord", connected)
        await serve(client, token, stop)

    return run_discord
