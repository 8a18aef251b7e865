"""Who may change a server's daily question, whether the bot can post in a channel, and
telling whoever set it up when Discord later refuses a post or a thread."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.adapters.discord.chat import PLATFORM
from bot.adapters.discord.delivery import post_or_raise
from bot.adapters.discord.texts import NEEDS_MANAGE_SERVER
from bot.engine.daily.model import ChannelRef, Subscription
from bot.engine.errors import ChatPostError
from bot.engine.model import UserRef
from bot.engine.reply import Reply, Tone
from bot.engine.tutor import Tutor

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ManageServer:
    """The engine's Permissions port on Discord: Manage Server, as the interaction carries it."""

    interaction: discord.Interaction[Any]
    refusal: str = NEEDS_MANAGE_SERVER

    async def is_admin(self, user: UserRef) -> bool:
        """True when the member may manage the server."""
        return bool(self.interaction.permissions.manage_guild)


class DiscordChannels:
    """The engine's ChannelAccess port on Discord, and the daily question's notices."""

    def __init__(self, tutor: Tutor, client: discord.Client) -> None:
        self.tutor = tutor
        self.client = client

    async def problem(self, channel: ChannelRef) -> str | None:
        """Why the daily question could not be posted in `channel`, or None when it can."""
        return self.cannot_post_in(channel)

    async def on_daily_post_failed(self, subscription: Subscription, error: ChatPostError) -> None:
        """DM whoever set up the daily question when Discord refused a post (permissions).

        The set-up check only covers the day it ran; a permission taken away later would
        otherwise fail silently every day. Best effort: a DM refused too is only logged.
        """
        channel = subscription.channel
        refusal = error.__cause__
        if channel.platform != PLATFORM or not subscription.created_by:
            return
        if not isinstance(refusal, discord.Forbidden):
            return  # only a refusal is the admin's to fix; outages are retried and logged
        problem = self.cannot_post_in(channel) or (
            f"Discord refused my post in {self._channel_name(channel)}: "
            f"{refusal.text or 'Forbidden'}."
        )
        notice = Reply(
            title="The daily question was not posted",
            text=f"{problem} Fix the channel's permissions and the next one will be posted "
            "as scheduled (/awsquiz daily status shows when).",
            tone=Tone.WARNING,
        )
        await self._dm_whoever_set_it_up(subscription.created_by, channel, notice)

    async def on_reveal_fell_back(self, channel: ChannelRef, fallback: str, problem: str) -> None:
        """DM whoever set up the daily question when its reveal fell back for lack of a permission.

        The set-up checked the permissions, so this one was taken away since; told once per
        channel and process (see DiscordChatAdapter), not at every reveal.
        """
        subscription = await self.tutor.daily_subscription(channel)
        if subscription is None or not subscription.created_by:
            return
        notice = Reply(
            title="The daily answer was revealed differently",
            text=f"The answer of the daily question in {self._channel_name(channel)} was "
            f"{fallback}. {problem}",
            tone=Tone.WARNING,
        )
        await self._dm_whoever_set_it_up(subscription.created_by, channel, notice)

    async def _dm_whoever_set_it_up(self, user_id: str, channel: ChannelRef, notice: Reply) -> None:
        """Best effort DM about a channel's daily question; a DM refused too is only logged."""
        try:
            dm = await self.client.create_dm(discord.Object(int(user_id)))
            await post_or_raise(dm, notice)
        except (discord.HTTPException, ValueError) as dm_error:
            log.warning(
                "discord daily %s: could not tell user %s that %s: %s",
                channel,
                user_id,
                notice.title.lower(),
                dm_error,
            )

    def _channel_name(self, channel: ChannelRef) -> str:
        """'#name' from the cache, else the channel id (a mention would be neutralised)."""
        found = self.client.get_channel(int(channel.channel))
        name = getattr(found, "name", None)
        return f"#{name}" if name else f"channel {channel.channel}"

    def cannot_post_in(self, channel: ChannelRef) -> str | None:
        """Why the daily question could not be posted in channel, or None when it can."""
        found = self.client.get_channel(int(channel.channel))
        if not isinstance(found, discord.TextChannel):
            return "Pick a text channel for the daily question."
        allowed = found.permissions_for(found.guild.me)
        missing = [
            name
            for name, granted in (
                ("View Channel", allowed.view_channel),
                ("Send Messages", allowed.send_messages),
                ("Embed Links", allowed.embed_links),
            )
            if not granted
        ]
        if not missing:
            return None
        log.warning("discord daily in %s: missing %s", channel, ", ".join(missing))
        return f"I cannot post in #{found.name}: I need {', '.join(missing)} there."

    def thread_warning(self, channel: ChannelRef) -> Sequence[Reply]:
        found = self.client.get_channel(int(channel.channel))
        if not isinstance(found, discord.TextChannel):
            return []
        allowed = found.permissions_for(found.guild.me)
        if allowed.create_public_threads and allowed.send_messages_in_threads:
            return []
        log.warning("discord daily in %s: cannot create threads; reveals will be replies", channel)
        return [
            Reply(
                title="No threads",
                text=f"I cannot create threads in #{found.name}, so the answer will be revealed "
                "as a reply. Give me Create Public Threads and Send Messages in Threads to use "
                "a thread.",
                tone=Tone.WARNING,
            )
        ]
