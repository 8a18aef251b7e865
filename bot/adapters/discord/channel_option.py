"""A channel option read from the interaction itself, whether or not the server is cached.

discord.py turns a `discord.TextChannel` option into the cached channel, and fails when the
server's GUILD_CREATE has not arrived yet (right after start-up, or a server on another
process's shards): "Something went wrong" and a traceback. The interaction carries the chosen
channel in its resolved data all the same, and the id is all the daily commands need.
"""

from __future__ import annotations

from typing import Any, Final

import discord
from discord import app_commands

TEXT_CHANNEL_TYPES: Final = [discord.ChannelType.text, discord.ChannelType.news]
"""What a member may pick: the channels a `discord.TextChannel` option offers."""


class ResolvedTextChannel(app_commands.Transformer[Any]):
    """A text channel option whose value is the channel as the interaction resolved it."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        """A channel option."""
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        """Text and announcement channels, as a `discord.TextChannel` option offers."""
        return list(TEXT_CHANNEL_TYPES)

    async def transform(
        self, interaction: discord.Interaction[Any], value: Any, /
    ) -> app_commands.AppCommandChannel:
        """The resolved channel; anything else (no resolved data) is Discord's error to show."""
        if not isinstance(value, app_commands.AppCommandChannel):
            raise app_commands.TransformerError(value, self.type, self)
        return value


TextChannelOption = app_commands.Transform[app_commands.AppCommandChannel, ResolvedTextChannel]
"""The annotation of a daily command's `channel` option."""
