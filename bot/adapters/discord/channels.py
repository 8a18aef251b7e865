"""Who may change a server's daily question, whether the bot can post in a channel, and
telling whoever set it up when Discord later refuses a post or a thread."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import discord

from bot.adapters.discord.chat import PLATFORM, DiscordChatAdapter
from bot.adapters.discord.delivery import post_or_raise, send_private
from bot.adapters.discord.notices import AdminNotices, Notice, NoticeKind
from bot.adapters.discord.texts import GUILD_ONLY, NEEDS_MANAGE_SERVER, NOT_ADDED_HERE
from bot.engine import quiz_replies
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


async def refused_outside_a_server(interaction: discord.Interaction[Any]) -> bool:
    """Refuse a daily command, plainly, where the bot cannot post: in DMs, and in servers that
    use awsquiz as a member's own (user-installed) app only; whether it was refused."""
    if interaction.is_guild_integration():
        return False
    refusal = GUILD_ONLY if interaction.guild_id is None else NOT_ADDED_HERE
    await send_private(interaction, [quiz_replies.error(refusal)])
    return True


class DiscordChannels:
    """The engine's ChannelAccess port on Discord, and the daily question's notices.

    Notices to admins are gathered (see `notices`): one admin whose 150 channels refused
    their posts gets one DM listing them.
    """

    def __init__(self, tutor: Tutor, client: discord.Client) -> None:
        self.tutor = tutor
        self.client = client
        adapter = tutor.daily.adapters.get(PLATFORM)
        busy = adapter.is_sending if isinstance(adapter, DiscordChatAdapter) else (lambda: False)
        self.notices = AdminNotices(self._dm, busy=busy)

    async def problem(self, channel: ChannelRef) -> str | None:
        """Why the daily question could not be posted in `channel`, or None when it can."""
        return self.cannot_post_in(channel)

    def seen_from(self, interaction: discord.Interaction[Any]) -> ChannelCheck:
        """The ChannelAccess port for a command: the cache, else what the interaction says."""
        return ChannelCheck(self, interaction)

    async def close(self) -> None:
        """Send the notices still gathered (at shutdown)."""
        await self.notices.close()

    async def on_daily_post_failed(self, subscription: Subscription, error: ChatPostError) -> None:
        """Tell whoever set up the daily question when Discord refused a post (permissions).

        The set-up check only covers the day it ran; a permission taken away later would
        otherwise fail silently every day. Best effort: a DM refused too is only logged.
        """
        channel = subscription.channel
        refusal = error.__cause__
        if channel.platform != PLATFORM or not subscription.created_by:
            return
        if not isinstance(refusal, discord.Forbidden):
            return  # only a refusal is the admin's to fix; outages are retried and logged
        missing = self._missing_permissions(channel)
        problem = (
            _needs(missing) if missing else f"Discord refused it ({refusal.text or 'Forbidden'})."
        )
        notice = Notice(NoticeKind.NOT_POSTED, self._channel_name(channel), problem)
        self.notices.add(subscription.created_by, notice)

    async def on_reveal_fell_back(self, channel: ChannelRef, fallback: str, problem: str) -> None:
        """Tell whoever set up the daily question when its reveal fell back for lack of a
        permission.

        The set-up checked the permissions, so this one was taken away since; told once per
        channel and process (see DiscordChatAdapter), not at every reveal.
        """
        subscription = await self.tutor.daily_subscription(channel)
        if subscription is None or not subscription.created_by:
            return
        told = f"{fallback}. {problem}"
        notice = Notice(NoticeKind.REVEALED_DIFFERENTLY, self._channel_name(channel), told)
        self.notices.add(subscription.created_by, notice)

    async def _dm(self, user_id: str, notice: Reply, channels: int) -> None:
        """Best effort DM about daily questions; a DM refused too is only logged."""
        try:
            dm = await self.client.create_dm(discord.Object(int(user_id)))
            await post_or_raise(dm, notice)
        except (discord.HTTPException, ValueError) as dm_error:
            log.warning(
                "discord daily: could not tell user %s that %s (%d channels): %s",
                user_id,
                notice.title.lower(),
                channels,
                dm_error,
            )

    def _channel_name(self, channel: ChannelRef) -> str:
        """'#name' from the cache, else the channel id (a mention would be neutralised)."""
        found = self.client.get_channel(int(channel.channel))
        name = getattr(found, "name", None)
        return f"#{name}" if name else f"channel {channel.channel}"

    def cannot_post_in(
        self, channel: ChannelRef, *, here: discord.Permissions | None = None
    ) -> str | None:
        """Why the daily question could not be posted in channel, or None when it can.

        `here` is the bot's permissions in the channel a command was typed in, as the
        interaction carries them: what tells, in a server not cached yet.
        """
        if self._uncached(channel):
            # Just after start-up (or a server on another process's shards): only the
            # channel the command came from can be checked. Another is checked by Discord at
            # the first post, and a refusal is told to the admin then.
            if here is None:
                log.info("discord daily in %s: server not cached; not checked", channel)
                return None
            missing = _lacking(here)
            return f"I cannot post in this channel: {_needs(missing)}" if missing else None
        found = self.client.get_channel(int(channel.channel))
        if not isinstance(found, discord.TextChannel):
            return "Pick a text channel for the daily question."
        missing = _lacking(found.permissions_for(found.guild.me))
        if not missing:
            return None
        log.warning("discord daily in %s: missing %s", channel, ", ".join(missing))
        return f"I cannot post in #{found.name}: {_needs(missing)}"

    def _missing_permissions(self, channel: ChannelRef) -> list[str]:
        """The posting permissions the cache says the bot lacks in channel (none if unknown)."""
        found = self.client.get_channel(int(channel.channel))
        if not isinstance(found, discord.TextChannel):
            return []
        return _lacking(found.permissions_for(found.guild.me))

    def _uncached(self, channel: ChannelRef) -> bool:
        return channel.workspace.isdigit() and self.client.get_guild(int(channel.workspace)) is None

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


@dataclass(frozen=True, slots=True)
class ChannelCheck:
    """The engine's ChannelAccess port for one command: the cache, or in a server not cached
    yet, the bot's permissions the interaction carries for the channel it was typed in."""

    channels: DiscordChannels
    interaction: discord.Interaction[Any]

    async def problem(self, channel: ChannelRef) -> str | None:
        """Why the daily question could not be posted in `channel`, or None when it can."""
        typed_here = channel.channel == str(self.interaction.channel_id)
        here = self.interaction.app_permissions if typed_here else None
        return self.channels.cannot_post_in(channel, here=here)


POSTING_PERMISSIONS: Final = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)


def _lacking(granted: discord.Permissions) -> list[str]:
    """The names of the posting permissions `granted` lacks."""
    return [name for flag, name in POSTING_PERMISSIONS if not getattr(granted, flag)]


def _needs(missing: Sequence[str]) -> str:
    return f"I need {', '.join(missing)} there."
