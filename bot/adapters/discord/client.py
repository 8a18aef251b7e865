"""The Discord client: two intents, persistent buttons, the `/awsquiz` tree, command sync.

discord.py reads its REST and gateway addresses from two class attributes,
`discord.http.Route.BASE` and `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`; setting them
before login (`point_at`) is the only supported way to use DISCORD_API_URL and
DISCORD_GATEWAY_URL, and it applies to every client in the process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

from bot.adapters.discord import components
from bot.adapters.discord.boundary import answer_unexpected
from bot.adapters.discord.chat import PLATFORM
from bot.adapters.discord.commands import build_group
from bot.adapters.discord.handlers import DiscordHandlers
from bot.engine.errors import SettingsError

NEEDED_INTENTS: Final = discord.Intents(guilds=True, dm_messages=True)
"""Gateway intents awsquiz asks for (4097): guild state and direct messages."""
SHARDING_REQUIRED: Final = 4011
"""Gateway close code: the bot is in too many servers for one connection."""

log = logging.getLogger(__name__)


class AwsquizClient(discord.Client):
    """One Discord connection; `handlers` is set once the engine services are open."""

    def __init__(self, guild_id: int | None = None, **options: Any) -> None:
        # Servers (their channels and roles, for permission checks) and DMs, nothing else: DM
        # text reaches a bot without the privileged message_content. No message cache: the
        # bot never looks a message up, so keeping the last thousand is only memory.
        super().__init__(intents=NEEDED_INTENTS, max_messages=None, **options)
        self.tree: app_commands.CommandTree[AwsquizClient] = app_commands.CommandTree(self)
        self.tree.error(self.on_command_error)
        self.guild_id = guild_id
        self.handlers: DiscordHandlers | None = None
        self.sync_on_start = True
        self.synced: list[app_commands.AppCommand] = []

    async def setup_hook(self) -> None:
        """Route buttons (also on messages from before a restart), add the commands, sync."""
        if self.handlers is None:
            raise RuntimeError("AwsquizClient.handlers must be set before login")
        components.install(self, self.handlers)
        self.tree.add_command(build_group(self.handlers))
        if self.sync_on_start:
            await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Sync to DISCORD_GUILD_ID (instant) when set, else globally (up to an hour to show)."""
        guild = discord.Object(self.guild_id) if self.guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        try:
            self.synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as error:
            # Commands already registered keep working; say why these were not updated.
            log.error("discord command sync failed: %s (code %s)", error.text, error.code)
            return []
        where = f"guild {self.guild_id}" if guild else "all guilds"
        log.info("discord: synced %d command(s) to %s", len(self.synced), where)
        return self.synced

    async def on_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """A command failed unexpectedly: log it and still answer the member."""
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await answer_unexpected(interaction, original)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Answer modals, routed by custom_id (see components.open_answer_modal)."""
        await components.submit_answer(interaction, self.handlers)

    async def on_message(self, message: discord.Message) -> None:
        """DMs are interview answers."""
        if self.handlers is not None:
            await self.handlers.on_message(message)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a server (kicked, or the server deleted): its daily questions stop,
        as every post would fail; their settings stay for when the bot is added back.
        """
        if self.handlers is None:
            return
        stopped = await self.handlers.tutor.daily.stop_workspace(PLATFORM, str(guild.id))
        log.info("discord: removed from guild %s; %d daily questions turned off", guild.id, stopped)


class ShardedAwsquizClient(AwsquizClient, discord.AutoShardedClient):
    """The same client over several gateway shards (DISCORD_SHARD_COUNT)."""

    def __init__(self, guild_id: int | None = None, **options: Any) -> None:
        super().__init__(guild_id, **options)
        self._login_started = False

    async def login(self, token: str) -> None:
        """Log in (which also builds the event queue that closing a sharded client needs)."""
        self._login_started = True
        await super().login(token)

    async def close(self) -> None:
        """Close; also before login, which discord.py's sharded close cannot.

        AutoShardedClient.close() wakes its shard event queue, which only login creates, so
        closing earlier (a shutdown that comes before the connection) raised AttributeError.
        Without shards there is nothing but the plain client's state to close.
        """
        if not self._login_started:
            await discord.Client.close(self)
            return
        await super().close()


def point_at(api_url: str, gateway_url: str) -> None:
    """Send every discord.py client to this REST API and gateway (DISCORD_API_URL and
    DISCORD_GATEWAY_URL: the real ones, a proxy, or a test's double)."""
    Route.BASE = api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def build_client(guild_id: int | None, shard_count: int | None) -> AwsquizClient:
    """A client for one guild's commands (or global ones), sharded when `shard_count` is set."""
    if shard_count:
        return ShardedAwsquizClient(guild_id, shard_count=shard_count)
    return AwsquizClient(guild_id)


def token_of(token: SecretStr | None) -> str:
    """The bot token (DISCORD_TOKEN); only ever passed to discord.py, which never logs it."""
    if token is None:
        raise SettingsError("DISCORD_TOKEN", "is not set")
    return token.get_secret_value()


async def serve(client: AwsquizClient, token: str, stop: asyncio.Event) -> None:
    """Log in, stay connected (discord.py reconnects on its own) until `stop`, then close."""
    try:
        await client.login(token)
    except BaseException:
        await client.close()  # never connected: closes the HTTP session
        raise
    connection = asyncio.create_task(client.connect(), name="discord-connect")
    stopping = asyncio.create_task(stop.wait(), name="discord-stop")
    try:
        await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        await client.close()
        await asyncio.gather(connection, return_exceptions=True)
    failure = connection.exception() if not connection.cancelled() else None
    if isinstance(failure, discord.ConnectionClosed) and failure.code == SHARDING_REQUIRED:
        raise SettingsError(
            "DISCORD_SHARD_COUNT",
            "Discord closed the connection with 4011, sharding required: the bot is in too "
            "many servers for one connection. Set DISCORD_SHARD_COUNT (Discord recommends one "
            "shard per 1,000 servers)",
        ) from failure
    if failure is not None:
        raise failure  # e.g. a revoked token: discord.py does not retry that


async def sync_once(client: AwsquizClient, token: str) -> list[app_commands.AppCommand]:
    """`awsquiz discord sync`: log in (setup_hook syncs), then close; pass an unsharded client."""
    try:
        await client.login(token)
    finally:
        await client.close()
    return client.synced
