"""The `/awsquiz` application command group, its options and autocomplete."""

from __future__ import annotations

from typing import Any, Final, Literal
from zoneinfo import available_timezones

import discord
from discord import app_commands

from bot.adapters.discord.channel_option import TextChannelOption
from bot.adapters.discord.handlers import TOPIC_SEPARATOR, DiscordHandlers
from bot.adapters.discord.render import cut
from bot.engine.catalog import Catalog
from bot.engine.errors import AwsquizError
from bot.engine.interview import DEFAULT_QUESTIONS, MAX_QUESTIONS
from bot.engine.model import Topic

MAX_CHOICES: Final = 25
"""Discord shows at most this many autocomplete choices."""
MAX_CHOICE_TEXT: Final = 100
MAX_STRING_OPTION: Final = 6000
"""Discord's ceiling for a string option's max_length."""
THIS_CHANNEL: Final = "The channel (default: this one)"

Choices = list[app_commands.Choice[str]]
TIMEZONES: Final = tuple(sorted(available_timezones()))
DifficultyName = Literal["basic", "advanced", "interview"]
"""The values of engine.model.Difficulty, as Discord choices."""
PeriodName = Literal["week", "month", "all"]
ScopeName = Literal["server", "channel"]
INSTALLS: Final = app_commands.AppInstallationType(guild=True, user=True)
"""Added to a server (the bot joins), or by a member as their own app, usable anywhere."""
CONTEXTS: Final = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
"""Servers, the bot's DM, and group DMs (where a member uses awsquiz as their own app)."""


def build_group(handlers: DiscordHandlers) -> app_commands.Group:
    """`/awsquiz` and its subcommands, each a thin call into `handlers`."""
    group = app_commands.Group(
        name="awsquiz",
        description="AWS and DevOps interview practice",
        allowed_installs=INSTALLS,
        allowed_contexts=CONTEXTS,
    )
    catalog = handlers.tutor.catalog

    async def topic_choices(_: discord.Interaction[Any], current: str) -> Choices:
        return topic_matches(catalog, current)

    async def topic_list_choices(_: discord.Interaction[Any], current: str) -> Choices:
        return topic_list_matches(catalog, current)

    @group.command(name="ask", description="A question to answer privately")
    @app_commands.describe(topic="Topic (default: any)", difficulty="Difficulty (default: any)")
    @app_commands.autocomplete(topic=topic_choices)
    async def ask(
        interaction: discord.Interaction[Any],
        topic: str | None = None,
        difficulty: DifficultyName | None = None,
    ) -> None:
        await handlers.ask(interaction, topic, difficulty)

    async def answer(interaction: discord.Interaction[Any], text: str) -> None:
        await handlers.answer(interaction, text)

    # Discord refuses an over-long answer before it is sent. The cap is a setting, so the
    # annotation discord.py reads is set here rather than written in the signature.
    cap = min(handlers.options.max_answer_chars, MAX_STRING_OPTION)
    answer.__annotations__["text"] = app_commands.Range[str, 1, cap]
    group.command(name="answer", description="Answer your open question")(
        app_commands.describe(text="Your answer, in your own words")(answer)
    )

    @group.command(name="hint", description="Reveal a key concept (costs points)")
    async def hint(interaction: discord.Interaction[Any]) -> None:
        await handlers.hint(interaction)

    @group.command(name="skip", description="Skip the question and see the reference answer")
    async def skip(interaction: discord.Interaction[Any]) -> None:
        await handlers.skip(interaction)

    @group.command(name="topics", description="List the topics")
    async def topics(interaction: discord.Interaction[Any]) -> None:
        await handlers.topics(interaction)

    @group.command(name="stats", description="Your statistics, or a member's")
    @app_commands.describe(member="Whose statistics in this server (default: yours)")
    async def stats(
        interaction: discord.Interaction[Any], member: discord.User | None = None
    ) -> None:
        await handlers.stats(interaction, member)

    @group.command(name="leaderboard", description="This server's ranking, or this channel's")
    @app_commands.describe(
        period="Over the last week, month, or all time (default: week)",
        scope="The whole server, or answers given in this channel (default: server)",
        public="Post it for everyone in the channel (default: only you see it)",
    )
    async def leaderboard(
        interaction: discord.Interaction[Any],
        period: PeriodName = "week",
        scope: ScopeName = "server",
        public: bool = False,
    ) -> None:
        await handlers.leaderboard(interaction, period, here=scope == "channel", public=public)

    @group.command(name="interview", description="A mock interview in direct messages")
    @app_commands.describe(
        topics="Topics, separated by commas (default: all)",
        questions=f"How many questions, 1 to {MAX_QUESTIONS} (default: {DEFAULT_QUESTIONS})",
    )
    @app_commands.autocomplete(topics=topic_list_choices)
    async def interview(
        interaction: discord.Interaction[Any],
        topics: str | None = None,
        questions: app_commands.Range[int, 1, MAX_QUESTIONS] | None = None,
    ) -> None:
        await handlers.interview(interaction, topics, questions)

    group.add_command(_daily_group(handlers))

    @group.command(name="forget", description="Delete everything awsquiz keeps about you here")
    @app_commands.describe(
        confirm="Delete it now: within 5 minutes of running forget without it (default: no)"
    )
    async def forget(interaction: discord.Interaction[Any], confirm: bool = False) -> None:
        await handlers.forget(interaction, confirm=confirm)

    @group.command(name="help", description="How to use awsquiz")
    async def help_(interaction: discord.Interaction[Any]) -> None:
        await handlers.help(interaction)

    return group


def _daily_group(handlers: DiscordHandlers) -> app_commands.Group:
    # Discord honours default_member_permissions on top-level commands only, so Manage Server
    # is enforced by the handlers' check here, not hidden from members' command lists.
    daily = app_commands.Group(name="daily", description="The daily question of a channel")

    async def timezone_choices(_: discord.Interaction[Any], current: str) -> Choices:
        return timezone_matches(current)

    @daily.command(name="set", description="Post a daily question (Manage Server)")
    @app_commands.describe(
        time="Local time, HH:MM",
        timezone="IANA timezone, e.g. Europe/London",
        channel=THIS_CHANNEL,
    )
    @app_commands.autocomplete(timezone=timezone_choices)
    async def daily_set(
        interaction: discord.Interaction[Any],
        time: str,
        timezone: str,
        channel: TextChannelOption | None = None,
    ) -> None:
        await handlers.daily_set(interaction, channel, time, timezone)

    @daily.command(name="off", description="Stop the daily question (Manage Server)")
    @app_commands.describe(channel=THIS_CHANNEL)
    async def daily_off(
        interaction: discord.Interaction[Any], channel: TextChannelOption | None = None
    ) -> None:
        await handlers.daily_off(interaction, channel)

    @daily.command(name="status", description="The daily question of a channel (anyone)")
    @app_commands.describe(channel=THIS_CHANNEL)
    async def daily_status(
        interaction: discord.Interaction[Any], channel: TextChannelOption | None = None
    ) -> None:
        await handlers.daily_status(interaction, channel)

    return daily


def topic_matches(catalog: Catalog, current: str) -> Choices:
    """Topics whose id or name contains what was typed, ids first."""
    return [
        app_commands.Choice(name=cut(topic.name, MAX_CHOICE_TEXT), value=topic.id)
        for topic in _matching_topics(catalog, current)[:MAX_CHOICES]
        if len(topic.id) <= MAX_CHOICE_TEXT
    ]


def topic_list_matches(catalog: Catalog, current: str) -> Choices:
    """Complete the topic after the last comma; each choice keeps the topics typed before it.

    Discord puts a choice's value in place of everything typed, so "ec2, lam" must offer
    "ec2, lambda". Topics already listed are not offered again; a choice longer than Discord
    allows is left out rather than cut (a cut value would name a topic that does not exist).
    """
    # Commas or semicolons, as the interview command itself splits them.
    *typed, fragment = TOPIC_SEPARATOR.split(current)
    listed = [name.strip() for name in typed if name.strip()]
    prefix = "".join(f"{name}, " for name in listed)
    taken = {_topic_id(catalog, name) for name in listed}
    choices: Choices = []
    for topic in _matching_topics(catalog, fragment):
        value = prefix + topic.id
        if topic.id in taken or len(value) > MAX_CHOICE_TEXT:
            continue
        choices.append(
            app_commands.Choice(name=cut(prefix + topic.name, MAX_CHOICE_TEXT), value=value)
        )
        if len(choices) == MAX_CHOICES:
            break
    return choices


def _matching_topics(catalog: Catalog, current: str) -> list[Topic]:
    typed = current.strip().lower()
    found = [
        topic
        for topic in catalog.topics
        if typed in topic.id.lower() or typed in topic.name.lower()
    ]
    found.sort(key=lambda topic: (not topic.id.lower().startswith(typed), topic.id))
    return found


def _topic_id(catalog: Catalog, name: str) -> str | None:
    try:
        return catalog.find_topic(name).id
    except AwsquizError:
        return None  # not a topic (yet): the interview will say so when it starts


def timezone_matches(current: str) -> Choices:
    """IANA timezones containing what was typed, those starting with it first."""
    typed = current.strip().lower().replace(" ", "_")
    found = [zone for zone in TIMEZONES if typed in zone.lower()]
    found.sort(key=lambda zone: (not zone.lower().startswith(typed), zone))
    return [app_commands.Choice(name=zone, value=zone) for zone in found[:MAX_CHOICES]]
