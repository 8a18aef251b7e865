"""The Discord client: two intents, paced REST calls, persistent buttons, the `/awsquiz`
tree and its sync, shards.

discord.py reads its REST and gateway addresses from two class attributes,
`discord.http.Route.BASE` and `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`; setting them
before login (`point_at`) is the only supported way to use DISCORD_API_URL and
DISCORD_GATEWAY_URL, and it applies to every client in the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final, Literal

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
from bot.adapters.discord.pacing import (
    REQUESTS_PER_SECOND,
    RequestPacer,
    pacing_trace,
    share_of_the_limit,
)
from bot.adapters.discord.sync import command_mentions, sync_tree
from bot.engine.errors import SettingsError

NEEDED_INTENTS: Final = discord.Intents(guilds=True, dm_messages=True)
"""Gateway intents awsquiz asks for (4097): guild state and direct messages."""
SHARDING_REQUIRED: Final = 4011
"""Gateway close code: the bot is in too many servers for one connection."""
AUTO: Final = "auto"
"""DISCORD_SHARD_COUNT=auto: as many shards as Discord recommends (GET /gateway/bot)."""

log = logging.getLogger(__name__)


class AwsquizClient(discord.Client):
    """One Discord connection; `handlers` is set once the engine services are open."""

    def __init__(
        self,
        guild_id: int | None = None,
        *,
        requests_per_second: float | None = REQUESTS_PER_SECOND,
        **options: Any,
    ) -> None:
        """`requests_per_second` paces REST calls under Discord's global limit (None: not at
        all, for comparisons); see `pacing`."""
        if requests_per_second is not None:
            options["http_trace"] = pacing_trace(RequestPacer(requests_per_second))
        # Servers (their channels and roles, for permission checks) and DMs, nothing else: DM
        # text reaches a bot without the privileged message_content. No message cache: the
        # bot never looks a message up, so keeping the last thousand is only memory.
        super().__init__(intents=NEEDED_INTENTS, max_messages=None, **options)
        self.tree: app_commands.CommandTree[AwsquizClient] = app_commands.CommandTree(self)
        self.tree.error(self.on_command_error)
        self.guild_id = guild_id
        self.handlers: DiscordHandlers | None = None
        self.sync_on_start = True
        self.force_sync = False
        """Upload the commands at start even when Discord has them (`awsquiz discord sync`)."""
        self.synced: list[app_commands.AppCommand] = []

    async def setup_hook(self) -> None:
        """Route buttons (also on messages from before a restart), add the commands, sync."""
        if self.handlers is None:
            raise RuntimeError("AwsquizClient.handlers must be set before login")
        components.install(self, self.handlers)
        self.tree.add_command(build_group(self.handlers))
        if self.sync_on_start:
            await self.sync_commands()

    async def sync_commands(self, *, force: bool = False) -> list[app_commands.AppCommand]:
        """Sync to DISCORD_GUILD_ID (instant) when set, else globally (up to an hour to show);
        only when the tree differs from what Discord has, unless `force` (or `force_sync`)."""
        guild = discord.Object(self.guild_id) if self.guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        try:
            self.synced, uploaded = await sync_tree(
                self, self.tree, guild, force=force or self.force_sync
            )
        except discord.HTTPException as error:
            # Commands already registered keep working; say why these were not updated.
            log.error("discord command sync failed: %s (code %s)", error.text, error.code)
            return []
        if self.handlers is not None:
            self.handlers.command_mentions = command_mentions(self.synced)
        where = f"guild {self.guild_id}" if guild else "all guilds"
        done = "synced" if uploaded else "unchanged, not uploaded:"
        log.info("discord: %s %d command(s) of %s", done, len(self.synced), where)
        return self.synced

    async def on_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """A command failed unexpectedly: log it and still answer the member."""
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await answer_unexpected(interaction, original)

    async def close(self) -> None:
        """Send the notices still gathered for admins (one DM each), then close."""
        if self.handlers is not None and not self.is_closed():
            await self.handlers.channels.close()
        await super().close()

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

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added to a server (again): if it removed the bot before, its members' data stays
        rather than being deleted when the grace period ends."""
        if self.handlers is not None:
            await self.handlers.tutor.workspace_back(PLATFORM, str(guild.id))


class ShardedAwsquizClient(AwsquizClient, discord.AutoShardedClient):
    """The same client over several gateway shards (DISCORD_SHARD_COUNT), all of them or
    those of `shard_ids` (DISCORD_SHARD_IDS: the other processes run the rest)."""

    def __init__(self, guild_id: int | None = None, **options: Any) -> None:
        super().__init__(guild_id, **options)
        self._login_started = False

    async def launch_shards(self) -> None:
        """Launch the shards; without a count (DISCORD_SHARD_COUNT=auto), as many as Discord
        recommends.

        discord.py would also take the gateway address from GET /gateway/bot; asking it for
        the count alone keeps the connection on DISCORD_GATEWAY_URL (a proxy, a double).
        """
        if self.shard_count is None and not self.is_closed():
            self.shard_count, _, _ = await self.http.get_bot_gateway()
            log.info("discord: running the %d shard(s) Discord recommends", self.shard_count)
        await super().launch_shards()

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


def build_client(
    guild_id: int | None,
    shard_count: int | Literal["auto"] | None,
    shard_ids: Sequence[int] | None = None,
) -> AwsquizClient:
    """A client for one guild's commands (or global ones), sharded when `shard_count` is set
    (a number, or "auto"), over `shard_ids` alone when given (checked by the settings).

    A process running some of the shards paces its REST calls to the same part of the
    global limit, which is the bot's in all its processes.
    """
    if not shard_count:
        return AwsquizClient(guild_id)
    count = None if shard_count == AUTO else int(shard_count)
    ids = list(shard_ids) if shard_ids else None
    return ShardedAwsquizClient(
        guild_id,
        shard_count=count,
        shard_ids=ids,
        requests_per_second=share_of_the_limit(len(ids) if ids else None, count),
    )


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
            "many servers for one connection. Set DISCORD_SHARD_COUNT to a number (Discord "
            "recommends one shard per 1,000 servers) or to auto",
        ) from failure
    if failure is not None:
        raise failure  # e.g. a revoked token: discord.py does not retry that


async def sync_once(client: AwsquizClient, token: str) -> list[app_commands.AppCommand]:
    """`awsquiz discord sync`: log in (setup_hook uploads the commands, changed or not), then
    close; pass an unsharded client."""
    client.force_sync = True
    try:
        await client.login(token)
    finally:
        await client.close()
    return client.synced
