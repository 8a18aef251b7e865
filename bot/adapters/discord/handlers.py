"""Discord interactions and DMs, each turned into one Tutor call and answered privately
(how members are scoped, in guilds and in DMs: see `scopes`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import discord

from bot.adapters.discord.channels import DiscordChannels, ManageServer, refused_outside_a_server
from bot.adapters.discord.chat import PLATFORM, DiscordChatAdapter
from bot.adapters.discord.components import answer_placeholder, open_answer_modal, post_id_of
from bot.adapters.discord.delivery import defer, post, post_or_raise, send_private, send_public
from bot.adapters.discord.scopes import daily_channel, user_ref, where_of
from bot.adapters.discord.texts import (
    DMS_CLOSED,
    FORGET_CONFIRM,
    HELP_TEXT,
    LEADERBOARD_GUILD_ONLY,
    OTHERS_STATS_GUILD_ONLY,
    STALE_BUTTON,
)
from bot.engine import quiz_replies
from bot.engine.daily.daily_replies import DAILY_ACTION_PREFIX
from bot.engine.model import UserRef
from bot.engine.outbox import Receipt
from bot.engine.quiz import MAX_ANSWER_CHARS
from bot.engine.reply import ActionKind, Reply, Tone
from bot.engine.tutor import InterviewChange, Turn, Tutor

TOPIC_SEPARATOR: Final = re.compile(r"[,;]")
"""How the interview command's topics option separates topics (autocomplete agrees)."""

_Run = Callable[[], Awaitable[Turn]]
"""A Tutor call whose Turn answers an interaction."""

FAST_REPLY_SECONDS: Final = 1.0
"""Engine work done within this answers the interaction directly; slower work is deferred
first. It leaves ample margin under Discord's 3-second deadline for the first response."""


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DiscordOptions:
    """What the Discord handlers need besides the engine."""

    max_answer_chars: int = MAX_ANSWER_CHARS


class DiscordHandlers:
    """Slash commands, buttons, the answer modal and DMs, bound to the engine's Tutor."""

    def __init__(
        self, tutor: Tutor, client: discord.Client, options: DiscordOptions | None = None
    ) -> None:
        self.tutor = tutor
        self.client = client
        self.options = options or DiscordOptions()
        self.channels = DiscordChannels(tutor, client)
        self.command_mentions: dict[str, str] = {}  # '/awsquiz ask' -> '</awsquiz ask:ID>'
        # The engine marks a refused daily post failed; telling the admin is Discord's part.
        tutor.daily.failure_listeners.append(self.channels.on_daily_post_failed)
        adapter = tutor.daily.adapters.get(PLATFORM)
        if isinstance(adapter, DiscordChatAdapter):
            adapter.fallback_listeners.append(self.channels.on_reveal_fell_back)

    # -- slash commands -----------------------------------------------------------------------

    async def ask(
        self, interaction: discord.Interaction[Any], topic: str | None, difficulty: str | None
    ) -> None:
        """`ask`: a question for the member, privately."""
        user, where = user_ref(interaction), where_of(interaction)
        await self._answer(
            interaction,
            lambda: self.tutor.ask(user, topic=topic, difficulty=difficulty, where=where),
        )

    async def answer(self, interaction: discord.Interaction[Any], text: str) -> None:
        """`answer text`: grade the open question (or the interview's, in its DM)."""
        user, where = user_ref(interaction), where_of(interaction)
        await self._answer(interaction, lambda: self.tutor.answer(user, text, where=where))

    async def hint(self, interaction: discord.Interaction[Any]) -> None:
        """`hint`: a key concept of the open question (or of the interview's)."""
        user, where = user_ref(interaction), where_of(interaction)
        await self._answer(interaction, lambda: self.tutor.hint(user, where=where))

    async def skip(self, interaction: discord.Interaction[Any]) -> None:
        """`skip`: drop the question and show its reference answer."""
        user, where = user_ref(interaction), where_of(interaction)
        await self._answer(interaction, lambda: self.tutor.skip(user, where=where))

    async def topics(self, interaction: discord.Interaction[Any]) -> None:
        """`topics`: in memory, so answered at once."""
        await send_private(interaction, self.tutor.topics().replies)

    async def stats(
        self, interaction: discord.Interaction[Any], member: discord.abc.User | None
    ) -> None:
        """`stats [member]`: statistics in this server (in DMs, one's own only)."""
        user = user_ref(interaction)
        if member is not None and member.id != interaction.user.id:
            if interaction.guild_id is None:
                await send_private(interaction, [quiz_replies.error(OTHERS_STATS_GUILD_ONLY)])
                return
            user = UserRef(PLATFORM, user.workspace, str(member.id), member.display_name)
        await self._answer(interaction, lambda: self.tutor.stats(user))

    async def leaderboard(
        self,
        interaction: discord.Interaction[Any],
        period: str,
        *,
        here: bool = False,
        public: bool = False,
    ) -> None:
        """`leaderboard [period] [scope] [public]`: this server's ranking, or this channel's,
        to the member or (public) the channel; none in DMs, which rank nobody else.
        """
        if interaction.guild_id is None:
            await send_private(interaction, [quiz_replies.error(LEADERBOARD_GUILD_ONLY)])
            return
        user = user_ref(interaction)
        channel = str(interaction.channel_id) if here and interaction.channel_id else None
        await self._answer(
            interaction,
            lambda: self.tutor.leaderboard(user, period=period, channel=channel),
            public=public,
        )

    async def interview(
        self, interaction: discord.Interaction[Any], topics: str | None, questions: int | None
    ) -> None:
        """`interview`: start (or resume) a mock interview in the member's DMs."""
        names = [name.strip() for name in TOPIC_SEPARATOR.split(topics or "") if name.strip()]
        await self._answer(
            interaction, lambda: self._start_interview(interaction, names, questions)
        )

    async def daily_set(
        self,
        interaction: discord.Interaction[Any],
        channel: discord.abc.Snowflake | None,
        time: str,
        timezone: str,
    ) -> None:
        """`daily set`: Manage Server only; checks the bot can post there first."""
        if await refused_outside_a_server(interaction):
            return
        target = daily_channel(interaction, channel)

        async def run() -> Turn:
            turn = await self.tutor.daily_on(
                target,
                actor=user_ref(interaction),
                post_time=time,
                timezone=timezone,
                permissions=ManageServer(interaction),
                access=self.channels.seen_from(interaction),
            )
            subscribed = any(reply.tone is not Tone.ERROR for reply in turn.replies)
            warning = self.channels.thread_warning(target) if subscribed else ()
            return Turn((*turn.replies, *warning))

        await self._answer(interaction, run)

    async def daily_off(
        self, interaction: discord.Interaction[Any], channel: discord.abc.Snowflake | None
    ) -> None:
        """`daily off`: Manage Server only."""
        if await refused_outside_a_server(interaction):
            return
        target, user = daily_channel(interaction, channel), user_ref(interaction)
        await self._answer(
            interaction,
            lambda: self.tutor.daily_off(target, actor=user, permissions=ManageServer(interaction)),
        )

    async def daily_status(
        self, interaction: discord.Interaction[Any], channel: discord.abc.Snowflake | None
    ) -> None:
        """`daily status`: anyone may look."""
        if await refused_outside_a_server(interaction):
            return
        target = daily_channel(interaction, channel)
        await self._answer(interaction, lambda: self.tutor.daily_status(target))

    async def forget(self, interaction: discord.Interaction[Any], *, confirm: bool) -> None:
        """`forget [confirm]`: delete what awsquiz keeps about the member here, once confirmed."""
        user, how = user_ref(interaction), FORGET_CONFIRM
        await self._answer(
            interaction, lambda: self.tutor.forget(user, confirm=confirm, confirm_command=how)
        )

    async def help(self, interaction: discord.Interaction[Any]) -> None:
        """`help`: the commands, clickable once synced."""
        help_reply = Reply(title="awsquiz help", text=HELP_TEXT, tone=Tone.INFO)
        await send_private(interaction, [help_reply], mentions=self.command_mentions)

    # -- buttons and the answer modal (components.ButtonHandler, ModalHandler) ----------------

    async def on_button(
        self, interaction: discord.Interaction[Any], action: ActionKind, value: str
    ) -> None:
        """A pressed button; Answer opens the modal at once (a modal cannot follow a defer)."""
        if action is ActionKind.ANSWER:
            prompt = answer_placeholder(interaction, value, self.tutor.prompt)
            if prompt is None:  # a question gone from the packs, or a made-up value
                await send_private(interaction, [quiz_replies.error(STALE_BUTTON)])
                return
            await open_answer_modal(interaction, value, prompt, self.options.max_answer_chars)
        elif action is ActionKind.HINT:
            await self.hint(interaction)
        elif action is ActionKind.SKIP:
            await self.skip(interaction)
        elif action is ActionKind.STOP:
            user, where = user_ref(interaction), where_of(interaction)
            await self._answer(
                interaction,
                lambda: self.tutor.stop(user, interview_id=value or None, where=where),
            )
        elif action is ActionKind.START_INTERVIEW:
            await self._answer(interaction, lambda: self._start_interview(interaction, (), None))
        else:  # NEXT: another question
            await self.ask(interaction, None, None)

    async def on_answer(self, interaction: discord.Interaction[Any], value: str, text: str) -> None:
        """An answer typed into the modal: a daily post's, or the open question's."""
        user, where = user_ref(interaction), where_of(interaction)

        async def run() -> Turn:
            post_id = post_id_of(value)
            if post_id is not None:
                return await self.tutor.daily_answer(user, post_id, text)
            if value.startswith(DAILY_ACTION_PREFIX):  # made up: no post id
                return Turn((quiz_replies.error(STALE_BUTTON),))
            return await self.tutor.answer(user, text, where=where, question_id=value or None)

        await self._answer(interaction, run)

    # -- direct messages ------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """A DM to the bot: the next answer (or hint, skip, stop) of the user's interview."""
        if message.author.bot or message.guild is not None:
            return
        if not await self.tutor.first_delivery(PLATFORM, str(message.id)):
            return  # the gateway delivered it again: never grade twice
        # A DM carries no server: the Tutor finds where the member's interview counts. Its
        # replies are stored with the answer, so a restart sends what a crash held back.
        member = UserRef(PLATFORM, "", str(message.author.id))
        receipt = Receipt(str(message.id), str(message.channel.id))
        turn = await self.tutor.message(member, message.content, receipt)
        for reply in turn.direct:
            await post(message.channel, reply)
        await self.tutor.sent(PLATFORM, receipt)

    # -- helpers ----------------------------------------------------------------------------------

    async def _start_interview(
        self, interaction: discord.Interaction[Any], topics: Sequence[str], questions: int | None
    ) -> Turn:
        """Start (or resume) the interview in the invoking scope; its questions go to the DM,
        and one that cannot reach the DM is not left running."""
        user = user_ref(interaction)
        turn = await self.tutor.start_interview(user, topics, questions)
        try:
            dm = await interaction.user.create_dm()
            for reply in turn.direct:
                await post_or_raise(dm, reply)
        except discord.Forbidden as error:
            log.info("discord: cannot DM user %s (code %s)", user.user, error.code)
            if turn.interview is InterviewChange.STARTED:
                await self.tutor.cancel_interview(user)
            return Turn((quiz_replies.error(DMS_CLOSED),))
        return Turn(turn.replies)

    async def _answer(
        self, interaction: discord.Interaction[Any], run: _Run, *, public: bool = False
    ) -> None:
        """Answer in the interaction response when the engine is quick (one REST call, the
        usual case); past FAST_REPLY_SECONDS, defer (the 3 s deadline) and follow up.
        Privately, unless `public`."""
        work = asyncio.ensure_future(run())
        done, _ = await asyncio.wait({work}, timeout=FAST_REPLY_SECONDS)
        if not done:
            await defer(interaction, ephemeral=not public)
        turn = await work
        # An interview's replies to a press in its DM answer the press there.
        await (send_public if public else send_private)(interaction, (*turn.replies, *turn.direct))
