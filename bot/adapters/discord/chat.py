"""The daily question's way out to Discord: channel messages, and reveals in threads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, Final

import aiohttp
import discord

from bot.adapters.discord import render
from bot.adapters.discord.components import view_for
from bot.adapters.discord.ids import parse_button_id
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

HISTORY_LIMIT: Final = 200
"""How many messages since the claim a look for a post reads (two pages of history)."""
REPLY_NEEDS_HISTORY: Final = 160002
"""Discord's code when a reply is refused: replying needs Read Message History."""
THREAD_PERMISSIONS: Final = (
    ("create_public_threads", "Create Public Threads"),
    ("send_messages_in_threads", "Send Messages in Threads"),
)
"""Both, or the thread is created and left empty when the reveal cannot be sent into it."""
REPLY_PERMISSIONS: Final = (("read_message_history", "Read Message History"),)
NO_THREAD: Final = "posted as a reply, not in a thread"
NO_LINK: Final = "posted as a plain message, not linked to the question"

FallbackListener = Callable[[ChannelRef, str, str], Awaitable[None]]
"""Told (channel, how the reveal fell back, the permission problem) when a reveal falls back."""

log = logging.getLogger(__name__)


class DiscordChatAdapter:
    """Posts daily questions in guild channels and their reveals in a thread on the question."""

    platform: str = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self.fallback_listeners: list[FallbackListener] = []
        """Told when a reveal falls back for lack of a permission, e.g. to tell the admin."""
        self._told: set[tuple[ChannelRef, str]] = set()
        self._sending = 0

    def is_sending(self) -> bool:
        """Whether a post or reveal is on its way: a round is still going (see notices)."""
        return self._sending > 0

    @contextmanager
    def _sending_one(self) -> Iterator[None]:
        self._sending += 1
        try:
            yield
        finally:
            self._sending -= 1

    async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
        """Post an embed (with its buttons) in a channel and return the message id.

        `key` is sent as the message's nonce, which Discord enforces: a send retried within
        minutes of one that landed gets that message back instead of a second one.
        """
        await self._until_ready(channel)
        try:
            with self._sending_one():
                target = await self._messageable(channel)
                sent = await _send(target, reply, nonce=key)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            raise _post_error(channel, "send", error) from error
        return str(sent.id)

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime, under: str | None = None
    ) -> str | None:
        """The id of the bot's message with `key` since `since`, or of its reveal under `under`.

        Discord does not return a message's nonce when history is read, so a post is known by
        its Answer button (whose value is the key) and a reveal by where it went: the bot's
        message in the thread on the question, or its reply to the question.
        """
        await self._until_ready(channel)
        me = self._client.user
        try:
            target = await self._messageable(channel)
            if under is None:
                async for message in target.history(limit=HISTORY_LIMIT, after=since):
                    if message.author == me and key in _button_values(message):
                        return str(message.id)
                return None
            with suppress(discord.NotFound):  # no thread: the reveal went as a reply, or nowhere
                thread = self._client.get_partial_messageable(int(under))
                async for message in thread.history(limit=HISTORY_LIMIT, after=since):
                    if message.author == me:
                        return str(message.id)
            async for message in target.history(limit=HISTORY_LIMIT, after=since):
                reference = message.reference
                if message.author == me and reference and str(reference.message_id) == under:
                    return str(message.id)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            raise _post_error(channel, "read the history", error) from error
        return None

    async def post_reply(
        self, channel: ChannelRef, message_id: str, reply: Reply, *, key: str | None = None
    ) -> str:
        """Post in a thread started on `message_id`; where the bot may not, as a reply to it.

        Without Read Message History a reply is refused too (160002), so that falls back to a
        plain message; a question deleted since is no reason to lose the reveal either.
        """
        await self._until_ready(channel)
        problems: list[str] = []
        try:
            with self._sending_one():
                target = await self._messageable(channel)
                question = discord.PartialMessage(channel=target, id=int(message_id))  # type: ignore[arg-type]
                revealed = await self._try_thread(channel, target, question, reply, problems, key)
                linked = True
                if revealed is None:
                    revealed, linked = await self._reveal_as_reply(
                        target, question, reply, problems, key
                    )
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            raise _post_error(channel, "reveal", error) from error
        if problems:
            await self._fell_back(channel, NO_THREAD if linked else NO_LINK, " ".join(problems))
        return revealed

    async def _try_thread(
        self,
        channel: ChannelRef,
        target: discord.abc.Messageable,
        question: discord.PartialMessage,
        reply: Reply,
        problems: list[str],
        key: str | None,
    ) -> str | None:
        """The reveal's id in a thread on the question, or None where no thread can be used."""
        if not isinstance(target, discord.TextChannel):
            return None  # no threads here at all: a reply is the plan, not a fallback
        missing = _missing(target, THREAD_PERMISSIONS)
        if missing:
            problems.append(_needs(missing))
            return None
        try:
            return await self._reveal_in_thread(question, reply, key)
        except discord.Forbidden as error:  # the cache said yes, Discord said no
            problems.append(f"Discord refused to open a thread: {error.text or 'Forbidden'}.")
        except discord.NotFound:  # deleted since it was posted: no thread can start from it
            log.warning("discord reveal in %s: question %s is gone", channel, question.id)
        return None

    async def _reveal_in_thread(
        self, question: discord.PartialMessage, reply: Reply, key: str | None
    ) -> str:
        try:
            thread = await question.create_thread(
                name=render.cut(reply.title, MAX_THREAD_NAME),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as error:
            if error.code != THREAD_ALREADY_EXISTS:
                raise
            # A retried reveal: the thread started from the message has the message's id.
            existing = self._client.get_partial_messageable(question.id)
            return str((await _send(existing, reply, nonce=key)).id)
        return str((await _send(thread, reply, nonce=key)).id)

    async def _reveal_as_reply(
        self,
        target: discord.abc.Messageable,
        question: discord.PartialMessage,
        reply: Reply,
        problems: list[str],
        key: str | None,
    ) -> tuple[str, bool]:
        """The reveal's id as a reply to the question, else as a plain message; and which."""
        embed = render.embed(reply)
        missing = _missing(target, REPLY_PERMISSIONS)
        if not missing:
            try:
                sent = await target.send(
                    embed=embed,
                    allowed_mentions=render.ALLOWED_MENTIONS,
                    # A deleted question: Discord then posts the reveal without the link.
                    reference=question.to_reference(fail_if_not_exists=False),
                    mention_author=False,
                    **_nonce(key),
                )
                return str(sent.id), True
            except discord.HTTPException as error:
                if error.code != REPLY_NEEDS_HISTORY:
                    raise
                missing = [name for _, name in REPLY_PERMISSIONS]
        problems.append(_needs(missing))
        mentions = render.ALLOWED_MENTIONS
        sent = await target.send(embed=embed, allowed_mentions=mentions, **_nonce(key))
        return str(sent.id), False

    async def _fell_back(self, channel: ChannelRef, fallback: str, problem: str) -> None:
        """Log a reveal posted in a lesser way, and tell the listeners (once per channel)."""
        log.warning("discord reveal in %s %s: %s", channel, fallback, problem)
        if (channel, fallback) in self._told:
            return
        self._told.add((channel, fallback))
        for listener in self.fallback_listeners:
            try:
                await listener(channel, fallback, problem)
            except Exception:  # telling someone must never cost the reveal itself
                log.exception("discord reveal in %s: telling a listener failed", channel)

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


async def _send(
    target: discord.abc.Messageable, reply: Reply, *, nonce: str | None = None
) -> discord.Message:
    view = view_for(reply)
    embed = render.embed(reply)
    mentions = render.ALLOWED_MENTIONS
    if view is None:
        return await target.send(embed=embed, allowed_mentions=mentions, **_nonce(nonce))
    try:
        return await target.send(embed=embed, view=view, allowed_mentions=mentions, **_nonce(nonce))
    finally:
        forget(view)


def _nonce(key: str | None) -> dict[str, Any]:
    """The send arguments for a message key: discord.py then has Discord enforce the nonce."""
    return {} if key is None else {"nonce": key}


def _button_values(message: discord.Message) -> set[str]:
    """The values of the awsquiz buttons on a message."""
    values = set()
    for row in message.components:
        for child in getattr(row, "children", ()):
            with suppress(ValueError):
                values.add(parse_button_id(str(getattr(child, "custom_id", "")))[1])
    return values


def forget(view: discord.ui.View | None) -> None:
    """Drop a sent view from discord.py's memory (and its 15-minute ephemeral timeout task).

    Its buttons are ActionButton dynamic items, routed by custom_id whether or not the view is
    kept, so keeping one per message sent would only grow memory.
    """
    if view is not None:
        view.stop()


def _missing(target: discord.abc.Messageable, needed: Sequence[tuple[str, str]]) -> list[str]:
    """The names of the `needed` permissions the bot lacks in target (none when unknown)."""
    if not isinstance(target, discord.abc.GuildChannel) or target.guild.me is None:
        return []  # a DM, or a guild this process does not cache: Discord will say
    granted = target.permissions_for(target.guild.me)
    return [name for flag, name in needed if not getattr(granted, flag)]


def _needs(missing: Sequence[str]) -> str:
    return f"I need {', '.join(missing)} there."


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
