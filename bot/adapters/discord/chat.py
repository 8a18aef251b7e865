"""The daily question's way out to Discord: channel messages, and reveals in threads."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import aiohttp
import discord

from bot.adapters.discord import render
from bot.adapters.discord.components import view_for
from bot.engine.daily.model import ChannelRef
from bot.engine.errors import ChatPostError
from bot.engine.reply import Reply

PLATFORM: Final = "discord"
MAX_THREAD_NAME: Final = 100
THREAD_ARCHIVE_MINUTES: Final = 1440
THREAD_ALREADY_EXISTS: Final = 160004
"""Discord's code when a message already has a thread: a retried reveal goes into it."""
READY_TIMEOUT: Final = 30.0
"""Seconds a post waits for the client to log in and connect: a catch-up sweep at start-up
can come before READY. Past it the post fails as transient and the engine retries it."""

log = logging.getLogger(__name__)


class DiscordChatAdapter:
    """Posts daily questions in guild channels and their reveals in a thread on the question."""

    platform: str = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def post(self, channel: ChannelRef, reply: Reply) -> str:
        """Post an embed (with its buttons) in a channel and return the message id."""
        await self._until_ready(channel)
        try:
            target = await self._messageable(channel)
            sent = await _send(target, reply)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            raise _post_error(channel, "send", error) from error
        return str(sent.id)

    async def post_reply(self, channel: ChannelRef, message_id: str, reply: Reply) -> str:
        """Post in a thread started on `message_id`, or as a reply where threads are not allowed."""
        await self._until_ready(channel)
        try:
            target = await self._messageable(channel)
            question = discord.PartialMessage(channel=target, id=int(message_id))  # type: ignore[arg-type]
            if _can_create_threads(target):
                try:
                    thread = await question.create_thread(
                        name=render.cut(reply.title, MAX_THREAD_NAME),
                        auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                    )
                    return str((await _send(thread, reply)).id)
                except discord.Forbidden as error:
                    log.warning("discord %s: cannot create a thread (%s); replying", channel, error)
                except discord.HTTPException as error:
                    if error.code != THREAD_ALREADY_EXISTS:
                        raise
                    # A thread started from a message has the message's id.
                    existing = self._client.get_partial_messageable(int(message_id))
                    return str((await _send(existing, reply)).id)
            sent = await target.send(
                embed=render.embed(reply),
                allowed_mentions=render.ALLOWED_MENTIONS,
                reference=question,
                mention_author=False,
            )
            return str(sent.id)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            raise _post_error(channel, "reveal", error) from error

    async def _until_ready(self, channel: ChannelRef) -> None:
        """Return once the client is READY (REST logged in, guilds cached), within READY_TIMEOUT.

        Before login discord.py's HTTP client has no session and every call fails with an
        AttributeError; a transient ChatPostError instead lets the engine retry the post.
        """
        client = self._client
        if client.is_ready():
            return
        problem = "is closed"
        if not client.is_closed():
            try:
                async with asyncio.timeout(READY_TIMEOUT):
                    await client.wait_until_ready()
                return
            except RuntimeError:  # discord.py's "not properly initialised": login not begun
                problem = "has not logged in yet"
            except TimeoutError:
                problem = f"was not connected within {READY_TIMEOUT:.0f} s"
        log.warning("discord post in %s deferred: the client %s", channel, problem)
        raise ChatPostError(f"The Discord client {problem}.", transient=True)

    async def _messageable(self, channel: ChannelRef) -> discord.abc.Messageable:
        """The channel from the cache, else fetched (a channel the cache missed is still real)."""
        found = self._client.get_channel(int(channel.channel))
        if found is None:
            found = await self._client.fetch_channel(int(channel.channel))
        if not isinstance(found, discord.abc.Messageable):
            raise ChatPostError(f"{channel} is not a text channel", transient=False)
        return found


async def _send(target: discord.abc.Messageable, reply: Reply) -> discord.Message:
    view = view_for(reply)
    if view is None:
        return await target.send(
            embed=render.embed(reply), allowed_mentions=render.ALLOWED_MENTIONS
        )
    try:
        return await target.send(
            embed=render.embed(reply), view=view, allowed_mentions=render.ALLOWED_MENTIONS
        )
    finally:
        forget(view)


def forget(view: discord.ui.View | None) -> None:
    """Drop a sent view from discord.py's memory (and its 15-minute ephemeral timeout task).

    Its buttons are ActionButton dynamic items, routed by custom_id whether or not the view is
    kept, so keeping one per message sent would only grow memory.
    """
    if view is not None:
        view.stop()


def _can_create_threads(target: discord.abc.Messageable) -> bool:
    """True where the bot may start a public thread: a text channel with the permission."""
    if not isinstance(target, discord.TextChannel):
        return False
    return target.permissions_for(target.guild.me).create_public_threads


def _post_error(channel: ChannelRef, what: str, error: Exception) -> ChatPostError:
    """Translate a failure, logging the channel and Discord's code (never the token)."""
    if isinstance(error, discord.Forbidden | discord.NotFound):
        log.error(
            "discord %s in %s refused: %s (code %s): check the bot's permissions there",
            what,
            channel,
            error.text,
            error.code,
        )
        return ChatPostError(
            f"Discord refused to {what} in channel {channel.channel}: {error.text}",
            transient=False,
        )
    log.warning("discord %s in %s failed, will retry: %r", what, channel, error)
    retry_after = getattr(error, "retry_after", None)
    return ChatPostError(
        f"Discord {what} in channel {channel.channel} failed: {error}",
        transient=True,
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
    )
