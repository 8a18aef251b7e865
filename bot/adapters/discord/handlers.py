"""Discord interactions and DMs, each turned into one engine call and answered privately.

Scoping: a member is UserRef("discord", guild id, user id). In the bot's DMs nothing is
shared, so each user is a scope of their own, "dm:<user id>": practice there counts for them
alone, and what ranks or shows other people (leaderboard, stats of a member) is refused.
A mock interview belongs to the scope it was started from (a guild's interview counts on
that guild's leaderboard), so its DM answers are routed back to that scope. A DM carries no
guild, so the scope is read from the database (the user's active interview on Discord, in any
scope): nothing held in memory, so it holds across restarts, across processes, and for guilds
this process's shards do not see.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import discord

from bot.adapters.discord import render
from bot.adapters.discord.chat import DiscordChatAdapter, forget
from bot.adapters.discord.components import open_answer_modal, view_for
from bot.app import Services
from bot.engine import replies
from bot.engine.daily.model import ChannelRef, Subscription
from bot.engine.daily.replies import DAILY_ACTION_PREFIX
from bot.engine.errors import AwsquizError, ChatPostError
from bot.engine.interview import DEFAULT_QUESTIONS
from bot.engine.model import Source, UserRef
from bot.engine.quiz import MAX_ANSWER_CHARS, clean_answer, parse_period
from bot.engine.reply import ActionKind, Reply, Tone

PLATFORM: Final = "discord"
DM_SCOPE_PREFIX: Final = "dm:"
"""A user's own scope in the bot's DMs is this and their id: DMs share nothing between users."""
CANNOT_DM: Final = 50007
"""Discord's code for 'Cannot send messages to this user' (DMs closed or no shared server)."""
DEFAULT_PLACEHOLDER: Final = "Type your answer"

HELP_TEXT: Final = """\
/awsquiz ask [topic] [difficulty]: a question, with Answer, Hint and Skip buttons
/awsquiz answer text: answer your open question (or press Answer)
/awsquiz hint: reveal a key concept (costs points) · /awsquiz skip: see the reference answer
/awsquiz topics: the topics
/awsquiz stats [member]: your statistics, or someone else's
/awsquiz leaderboard [week|month|all]: this server's ranking
/awsquiz interview [topics] [questions]: a mock interview in direct messages \
(type hint, skip or stop there)
/awsquiz daily set channel time timezone · daily off · daily status: a daily question \
(Manage Server needed to change it)
/awsquiz help: this message"""
DMS_CLOSED: Final = (
    "I cannot send you direct messages. Allow them: right-click this server, "
    "Privacy Settings, turn on Direct Messages (or User Settings > Content & Social > "
    "allow DMs from server members). Then run /awsquiz interview again."
)
NEEDS_MANAGE_SERVER: Final = (
    "Only members with the Manage Server permission can change the daily question. "
    "Ask one of them, or use /awsquiz daily status to see the schedule."
)
GUILD_ONLY: Final = "The daily question is for server channels, not direct messages."
LEADERBOARD_GUILD_ONLY: Final = (
    "A leaderboard ranks the members of a server: run /awsquiz leaderboard in a server channel."
)
OTHERS_STATS_GUILD_ONLY: Final = (
    "In direct messages you can only see your own statistics. To see a member's, run "
    "/awsquiz stats member: in a server you share."
)

_ESCAPE = re.compile(r"\\(.)")
TOPIC_SEPARATOR: Final = re.compile(r"[,;]")
"""How the interview command's topics option separates topics (autocomplete agrees)."""
"""A markdown escape in a posted embed, undone for the modal's plain-text placeholder."""

_Run = Callable[[], Awaitable[Sequence[Reply]]]
"""Engine work whose replies answer an interaction."""

FAST_REPLY_SECONDS: Final = 1.0
"""Engine work done within this answers the interaction directly; slower work is deferred
first. It leaves ample margin under Discord's 3-second deadline for the first response."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DiscordOptions:
    """What the Discord handlers need besides the engine."""

    max_answer_chars: int = MAX_ANSWER_CHARS


class DiscordHandlers:
    """Slash commands, buttons, the answer modal and DMs, bound to one set of engine services."""

    def __init__(
        self, services: Services, client: discord.Client, options: DiscordOptions | None = None
    ) -> None:
        self.services = services
        self.client = client
        self.options = options or DiscordOptions()
        # The engine marks a refused daily post failed; telling the admin is Discord's part.
        services.daily.failure_listeners.append(self.on_daily_post_failed)
        adapter = services.daily.adapters.get(PLATFORM)
        if isinstance(adapter, DiscordChatAdapter):
            adapter.fallback_listeners.append(self.on_reveal_fell_back)

    # -- slash commands -----------------------------------------------------------------------

    async def ask(
        self, interaction: discord.Interaction[Any], topic: str | None, difficulty: str | None
    ) -> None:
        """`ask`: a question for the member, privately."""
        await self._answer_slowly(
            interaction,
            lambda: self._one(
                self.services.quiz.ask(
                    user_ref(interaction),
                    topic=topic,
                    difficulty=difficulty,
                    source=Source.SLASH,
                    channel=_channel_id(interaction),
                )
            ),
        )

    async def answer(self, interaction: discord.Interaction[Any], text: str) -> None:
        """`answer text`: grade the open question (or the interview's, in its DM)."""

        async def run() -> Sequence[Reply]:
            clean_answer(text, self.options.max_answer_chars)
            user = await self._interview_user(interaction)
            if user is not None:
                return await self.services.interviews.answer(user, text)
            return [await self.services.quiz.answer(user_ref(interaction), text)]

        await self._answer_slowly(interaction, run)

    async def hint(self, interaction: discord.Interaction[Any]) -> None:
        """`hint`: a key concept of the open question (or of the interview's)."""
        await self._answer_slowly(interaction, lambda: self._hint(interaction))

    async def skip(self, interaction: discord.Interaction[Any]) -> None:
        """`skip`: drop the question and show its reference answer."""
        await self._answer_slowly(interaction, lambda: self._skip(interaction))

    async def topics(self, interaction: discord.Interaction[Any]) -> None:
        """`topics`: in memory, so answered at once."""
        await _send(interaction, [self.services.quiz.topics()])

    async def stats(
        self, interaction: discord.Interaction[Any], member: discord.abc.User | None
    ) -> None:
        """`stats [member]`: statistics in this server (in DMs, one's own only)."""
        user = user_ref(interaction)
        if member is not None and member.id != interaction.user.id:
            if interaction.guild_id is None:
                await _send(interaction, [replies.error(OTHERS_STATS_GUILD_ONLY)])
                return
            user = UserRef(PLATFORM, user.workspace, str(member.id), member.display_name)
        await self._answer_slowly(interaction, lambda: self._one(self.services.quiz.stats(user)))

    async def leaderboard(
        self, interaction: discord.Interaction[Any], period: str, *, here: bool = False
    ) -> None:
        """`leaderboard [period] [scope]`: this server's ranking, or this channel's; none in
        DMs, which rank nobody else.
        """
        if interaction.guild_id is None:
            await _send(interaction, [replies.error(LEADERBOARD_GUILD_ONLY)])
            return
        workspace = user_ref(interaction).workspace
        channel = str(interaction.channel_id) if here and interaction.channel_id else None

        async def run() -> Sequence[Reply]:
            board = self.services.quiz.leaderboard(
                PLATFORM, workspace, parse_period(period), channel=channel
            )
            return [await board]

        await self._answer_slowly(interaction, run)

    async def interview(
        self, interaction: discord.Interaction[Any], topics: str | None, questions: int | None
    ) -> None:
        """`interview`: start (or resume) a mock interview in the member's DMs."""
        names = [name.strip() for name in TOPIC_SEPARATOR.split(topics or "") if name.strip()]
        await self._answer_slowly(
            interaction, lambda: self._start_interview(interaction, names, questions)
        )

    async def daily_set(
        self,
        interaction: discord.Interaction[Any],
        channel: discord.abc.GuildChannel | None,
        time: str,
        timezone: str,
    ) -> None:
        """`daily set`: Manage Server only; checks the bot can post there first."""

        async def run() -> Sequence[Reply]:
            target = _daily_channel(interaction, channel)
            problem = self._cannot_post_in(target)
            if problem:
                return [replies.error(problem)]
            subscribed = await self.services.daily.subscribe(
                target,
                actor=user_ref(interaction),
                is_admin=True,  # _answer_admin checked Manage Server already
                post_time=time,
                timezone=timezone,
            )
            return [subscribed, *self._thread_warning(target)]

        await self._answer_admin(interaction, run)

    async def daily_off(
        self, interaction: discord.Interaction[Any], channel: discord.abc.GuildChannel | None
    ) -> None:
        """`daily off`: Manage Server only."""

        async def run() -> Sequence[Reply]:
            target = _daily_channel(interaction, channel)
            user = user_ref(interaction)
            return [await self.services.daily.unsubscribe(target, actor=user, is_admin=True)]

        await self._answer_admin(interaction, run)

    async def daily_status(
        self, interaction: discord.Interaction[Any], channel: discord.abc.GuildChannel | None
    ) -> None:
        """`daily status`: anyone may look."""

        async def run() -> Sequence[Reply]:
            if interaction.guild_id is None:
                return [replies.error(GUILD_ONLY)]
            return [await self.services.daily.status(_daily_channel(interaction, channel))]

        await self._answer_slowly(interaction, run)

    async def help(self, interaction: discord.Interaction[Any]) -> None:
        """`help`: the commands."""
        await _send(interaction, [Reply(title="awsquiz help", text=HELP_TEXT, tone=Tone.INFO)])

    # -- buttons and the answer modal (components.ButtonHandler, ModalHandler) ----------------

    async def on_button(
        self, interaction: discord.Interaction[Any], action: ActionKind, value: str
    ) -> None:
        """A pressed button; Answer opens the modal at once (a modal cannot follow a defer)."""
        if action is ActionKind.ANSWER:
            prompt = self._placeholder(interaction, value)
            await open_answer_modal(interaction, value, prompt, self.options.max_answer_chars)
            return
        if action is ActionKind.HINT:
            await self._answer_slowly(interaction, lambda: self._hint(interaction))
        elif action is ActionKind.SKIP:
            await self._answer_slowly(interaction, lambda: self._skip(interaction))
        elif action is ActionKind.STOP:
            await self._answer_slowly(interaction, lambda: self._stop(interaction, value))
        elif action is ActionKind.START_INTERVIEW:
            await self._answer_slowly(
                interaction, lambda: self._start_interview(interaction, (), None)
            )
        else:  # NEXT: another question
            await self.ask(interaction, None, None)

    async def on_answer(self, interaction: discord.Interaction[Any], value: str, text: str) -> None:
        """An answer typed into the modal: a daily post's, or the open question's."""
        user = user_ref(interaction)

        async def run() -> Sequence[Reply]:
            if value.startswith(DAILY_ACTION_PREFIX):
                post_id = int(value.removeprefix(DAILY_ACTION_PREFIX))
                return [await self.services.daily.answer(user, post_id, text)]
            interview_user = await self._interview_user(interaction)
            if interview_user is not None:
                return await self.services.interviews.answer(interview_user, text)
            return [await self.services.quiz.answer(user, text, question_id=value or None)]

        await self._answer_slowly(interaction, run)

    # -- direct messages ------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """A DM to the bot: the next answer (or hint, skip, stop) of the user's interview."""
        if message.author.bot or message.guild is not None:
            return
        now = self.services.quiz.clock.now()
        if not await self.services.store.first_delivery(PLATFORM, str(message.id), now):
            return  # the gateway delivered it again: never grade twice
        author = str(message.author.id)
        user = await self._find_interview(author)
        interviews = self.services.interviews
        answers: Sequence[Reply]
        if user is None:
            answers = [_no_interview()]
        else:
            expired = await interviews.expire_if_idle(user)
            if expired is not None:
                answers = [expired]
            else:
                try:
                    answers = await interviews.handle(user, message.content)
                except AwsquizError as error:
                    answers = [replies.error(str(error))]
        for reply in answers:
            await self._post(message.channel, reply)

    # -- the daily question, failing later -------------------------------------------------

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
        problem = self._cannot_post_in(channel) or (
            f"Discord refused my post in {self._channel_name(channel)}: "
            f"{refusal.text or 'Forbidden'}."
        )
        notice = Reply(
            title="The daily question was not posted",
            text=f"{problem} Fix the channel's permissions and the next one will be posted "
            "as scheduled (/awsquiz daily status shows when).",
            tone=Tone.WARNING,
        )
        await self._tell(subscription.created_by, channel, notice)

    async def on_reveal_fell_back(self, channel: ChannelRef, fallback: str, problem: str) -> None:
        """DM whoever set up the daily question when its reveal fell back for lack of a permission.

        The set-up checked the permissions, so this one was taken away since; told once per
        channel and process (see DiscordChatAdapter), not at every reveal.
        """
        subscription = await self.services.store.subscription(channel)
        if subscription is None or not subscription.created_by:
            return
        notice = Reply(
            title="The daily answer was revealed differently",
            text=f"The answer of the daily question in {self._channel_name(channel)} was "
            f"{fallback}. {problem}",
            tone=Tone.WARNING,
        )
        await self._tell(subscription.created_by, channel, notice)

    async def _tell(self, user_id: str, channel: ChannelRef, notice: Reply) -> None:
        """Best effort DM about a channel's daily question; a DM refused too is only logged."""
        try:
            dm = await self.client.create_dm(discord.Object(int(user_id)))
            await _post_or_raise(dm, notice)
        except (discord.HTTPException, ValueError) as dm_error:
            log.warning(
                "discord daily %s: could not tell user %s that %s: %s",
                channel,
                user_id,
                notice.title.lower(),
                dm_error,
            )

    # -- helpers ----------------------------------------------------------------------------------

    async def _hint(self, interaction: discord.Interaction[Any]) -> Sequence[Reply]:
        user = await self._interview_user(interaction)
        if user is not None:
            return [await self.services.interviews.hint(user)]
        return [await self.services.quiz.hint(user_ref(interaction))]

    async def _skip(self, interaction: discord.Interaction[Any]) -> Sequence[Reply]:
        user = await self._interview_user(interaction)
        if user is not None:
            return await self.services.interviews.skip(user)
        return [await self.services.quiz.skip(user_ref(interaction))]

    async def _stop(
        self, interaction: discord.Interaction[Any], interview_id: str
    ) -> Sequence[Reply]:
        """The Stop button ends the interview it was posted with, never a newer one."""
        user = await self._interview_user(interaction) or user_ref(interaction)
        return [await self.services.interviews.stop(user, interview_id=interview_id or None)]

    async def _start_interview(
        self, interaction: discord.Interaction[Any], topics: Sequence[str], questions: int | None
    ) -> Sequence[Reply]:
        """Start the interview in the invoking scope and ask its first question in the DM.

        One interview at a time per Discord user, wherever it was started: a running one is
        resumed (the engine does that), and the member is told so rather than "started".
        """
        user = user_ref(interaction)
        interviews = self.services.interviews
        running = await self._find_interview(user.user)
        ended: list[Reply] = []
        if running is not None:
            expired = await interviews.expire_if_idle(running)
            if expired is not None:  # idle too long: it ends, and this one starts here
                ended, running = [expired], None
        count = questions or DEFAULT_QUESTIONS
        started = await interviews.start(running or user, topics, count, channel=None)
        try:
            dm = await interaction.user.create_dm()
            for reply in [*ended, *started]:
                await _post_or_raise(dm, reply)
        except discord.Forbidden as error:
            log.info("discord: cannot DM user %s (code %s)", user.user, error.code)
            if running is None:
                await interviews.stop(user)  # not left running where it cannot be answered
            return [replies.error(DMS_CLOSED)]
        if running is not None:
            return [_resumed(running, user, asked_for_new=bool(topics) or questions is not None)]
        return [Reply(title="Interview started", text="Check your direct messages with me.")]

    async def _interview_user(self, interaction: discord.Interaction[Any]) -> UserRef | None:
        """In the bot's DM, the user in the scope of their running interview; else None."""
        if interaction.guild_id is not None:
            return None
        return await self._find_interview(str(interaction.user.id))

    async def _find_interview(self, user_id: str) -> UserRef | None:
        """The user, scoped where their interview runs (one query), or None when none runs."""
        return await self.services.interviews.running_for(PLATFORM, user_id)

    def _placeholder(self, interaction: discord.Interaction[Any], value: str) -> str:
        """The modal's placeholder without a database call: the catalog, or the posted embed."""
        if not value.startswith(DAILY_ACTION_PREFIX):
            try:
                return self.services.catalog.question(value).prompt
            except AwsquizError:
                return DEFAULT_PLACEHOLDER
        embeds = interaction.message.embeds if interaction.message else []
        if embeds and embeds[0].description:
            return _ESCAPE.sub(r"\1", embeds[0].description)
        return DEFAULT_PLACEHOLDER

    def _channel_name(self, channel: ChannelRef) -> str:
        """'#name' from the cache, else the channel id (a mention would be neutralised)."""
        found = self.client.get_channel(int(channel.channel))
        name = getattr(found, "name", None)
        return f"#{name}" if name else f"channel {channel.channel}"

    def _cannot_post_in(self, channel: ChannelRef) -> str | None:
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

    def _thread_warning(self, channel: ChannelRef) -> Sequence[Reply]:
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

    async def _answer_admin(self, interaction: discord.Interaction[Any], run: _Run) -> None:
        """Run a daily change for members with Manage Server; refuse anyone else plainly."""
        if interaction.guild_id is None:
            await _send(interaction, [replies.error(GUILD_ONLY)])
            return
        if not interaction.permissions.manage_guild:
            await _send(interaction, [replies.error(NEEDS_MANAGE_SERVER)])
            return
        await self._answer_slowly(interaction, run)

    async def _answer_slowly(self, interaction: discord.Interaction[Any], run: _Run) -> None:
        """Answer in the interaction response when the engine is quick (one REST call, the
        usual case); past FAST_REPLY_SECONDS, defer (the 3 s deadline) and follow up."""
        work = asyncio.ensure_future(_replies_of(run))
        done, _ = await asyncio.wait({work}, timeout=FAST_REPLY_SECONDS)
        if not done:
            await interaction.response.defer(ephemeral=True, thinking=True)
        await _send(interaction, await work)

    @staticmethod
    async def _one(reply: Awaitable[Reply]) -> Sequence[Reply]:
        return [await reply]

    @staticmethod
    async def _post(channel: discord.abc.Messageable, reply: Reply) -> None:
        try:
            await _post_or_raise(channel, reply)
        except (discord.Forbidden, discord.NotFound) as error:
            log.warning("discord post in channel %s refused: %s", _id_of(channel), error.text)


async def _replies_of(run: _Run) -> Sequence[Reply]:
    """Run engine work; a refusal it raises becomes the reply."""
    try:
        return await run()
    except AwsquizError as error:
        return [replies.error(str(error))]


def user_ref(interaction: discord.Interaction[Any]) -> UserRef:
    """The member, scoped by guild; in the bot's DMs, by the user alone (see dm_scope)."""
    person = interaction.user
    scope = str(interaction.guild_id) if interaction.guild_id else dm_scope(person.id)
    return UserRef(PLATFORM, scope, str(person.id), person.display_name)


def dm_scope(user_id: int) -> str:
    """The scope of a user's practice in the bot's DMs: theirs alone, "dm:<user id>"."""
    return f"{DM_SCOPE_PREFIX}{user_id}"


async def _send(interaction: discord.Interaction[Any], answers: Sequence[Reply]) -> None:
    """Show replies to the member only: the interaction response, or follow-ups after a defer."""
    for reply in answers:
        embed = render.embed(replace(reply, ephemeral=True))
        view = view_for(reply)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    embed=embed,
                    view=view or discord.utils.MISSING,
                    ephemeral=True,
                    allowed_mentions=render.ALLOWED_MENTIONS,
                )
            else:
                await interaction.response.send_message(
                    embed=embed,
                    view=view or discord.utils.MISSING,
                    ephemeral=True,
                    allowed_mentions=render.ALLOWED_MENTIONS,
                )
        except (discord.Forbidden, discord.NotFound) as error:
            log.warning(
                "discord reply in channel %s refused: %s", interaction.channel_id, error.text
            )
            return
        finally:
            forget(view)


async def _post_or_raise(channel: discord.abc.Messageable, reply: Reply) -> None:
    view = view_for(reply)
    embed = render.embed(reply)
    if view is None:
        await channel.send(embed=embed, allowed_mentions=render.ALLOWED_MENTIONS)
        return
    try:
        await channel.send(embed=embed, view=view, allowed_mentions=render.ALLOWED_MENTIONS)
    finally:
        forget(view)


def _id_of(channel: discord.abc.Messageable) -> str:
    return str(getattr(channel, "id", "?"))


def _channel_id(interaction: discord.Interaction[Any]) -> str | None:
    return str(interaction.channel_id) if interaction.channel_id else None


def _daily_channel(
    interaction: discord.Interaction[Any], channel: discord.abc.GuildChannel | None
) -> ChannelRef:
    """The channel a daily command is about: the one named, else where it was typed."""
    channel_id = channel.id if channel is not None else interaction.channel_id
    return ChannelRef(PLATFORM, str(interaction.guild_id), str(channel_id))


def _resumed(running: UserRef, here: UserRef, *, asked_for_new: bool) -> Reply:
    """Say an interview already running was resumed, where it came from, and how to stop it."""
    if running.workspace == here.workspace:
        origin = ""
    elif running.workspace.startswith(DM_SCOPE_PREFIX):
        origin = " (started in our direct messages)"
    else:
        origin = " (started in another server, where its answers count)"
    unused = " The topics and length you gave now are not used." if asked_for_new else ""
    return Reply(
        title="Interview resumed",
        text=f"You already have a mock interview running{origin}, so I resumed it in our "
        f"direct messages.{unused} Type stop there to end it, then run /awsquiz interview "
        "again to start a new one.",
    )


def _no_interview() -> Reply:
    return Reply(
        title="No interview running",
        text="Start a mock interview with /awsquiz interview [topics] [questions].",
    )
