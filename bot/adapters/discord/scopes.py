"""Who and where a Discord interaction is, in the engine's scoped ids.

A member is UserRef("discord", guild id, user id). In the bot's DMs nothing is shared, so
each user is a scope of their own, "dm:<user id>": practice there counts for them alone, and
what ranks or shows other people (leaderboard, stats of a member) is refused. A mock
interview belongs to the scope it was started from (a guild's interview counts on that
guild's leaderboard); a DM carries no guild, so the Tutor reads the scope of its answers from
the member's running interview, in the database: it holds across restarts, processes and
shards.
"""

from __future__ import annotations

from typing import Any, Final

import discord

from bot.adapters.discord.chat import PLATFORM
from bot.engine.daily.model import ChannelRef
from bot.engine.model import UserRef
from bot.engine.tutor import Where

DM_SCOPE_PREFIX: Final = "dm:"
"""A user's own scope in the bot's DMs is this and their id: DMs share nothing between users."""


def user_ref(interaction: discord.Interaction[Any]) -> UserRef:
    """The member, scoped by guild; in the bot's DMs, by the user alone (see dm_scope)."""
    person = interaction.user
    scope = str(interaction.guild_id) if interaction.guild_id else dm_scope(person.id)
    return UserRef(PLATFORM, scope, str(person.id), person.display_name)


def dm_scope(user_id: int) -> str:
    """The scope of a user's practice in the bot's DMs: theirs alone, "dm:<user id>"."""
    return f"{DM_SCOPE_PREFIX}{user_id}"


def where_of(interaction: discord.Interaction[Any]) -> Where:
    """Where an interaction happened: its channel, and whether it is the bot's DM (a group DM
    where a member uses awsquiz as their own app is not: no interview runs there)."""
    channel = str(interaction.channel_id) if interaction.channel_id else None
    in_bot_dm = interaction.guild_id is None and not interaction.context.private_channel
    return Where(channel, in_bot_dm)


def daily_channel(
    interaction: discord.Interaction[Any], channel: discord.abc.Snowflake | None
) -> ChannelRef:
    """The channel a daily command is about: the one named (as the interaction resolved it,
    cached or not), else where it was typed."""
    channel_id = channel.id if channel is not None else interaction.channel_id
    return ChannelRef(PLATFORM, str(interaction.guild_id), str(channel_id))
