"""Slack input as Tutor calls: `/awsquiz` subcommands (parsed by `commands`), and the
question an Answer button carries."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import commands
from bot.adapters.slack.ids import DAILY_VALUE_PREFIX, PLATFORM
from bot.adapters.slack.members import DM_PREFIX, SlackChannels, SlackMembers
from bot.adapters.slack.payloads import STALE_BUTTON, post_id_of
from bot.engine.daily.model import ChannelRef
from bot.engine.errors import InvalidOptionError, UnknownQuestionError
from bot.engine.model import UserRef
from bot.engine.reply import Reply, Tone
from bot.engine.tutor import Turn, Tutor, Where


async def run_command(
    tutor: Tutor,
    parsed: commands.Command,
    user: UserRef,
    channel: ChannelRef,
    members: SlackMembers,
    client: AsyncWebClient,
) -> Turn:
    here = Where(channel.channel, channel.channel.startswith(DM_PREFIX))
    match parsed:
        case commands.Ask(topic=topic, difficulty=difficulty):
            return await tutor.ask(user, topic=topic, difficulty=difficulty, where=here)
        case commands.Answer(text=text):
            return await tutor.answer(user, text, where=here)
        case commands.Hint():
            return await tutor.hint(user, where=here)
        case commands.Skip():
            return await tutor.skip(user, where=here)
        case commands.Topics():
            return tutor.topics()
        case commands.Stats(user_id=other):
            # A readable title: the member's Slack display name, not their id.
            shown = UserRef(PLATFORM, user.workspace, other) if other else user
            return await tutor.stats(await members.named(shown) if other else shown)
        case commands.Leaderboard(period=period, here=in_channel):
            scope = channel.channel if in_channel else None
            return await tutor.leaderboard(user, period=period, channel=scope)
        case commands.Interview(topics=topics, questions=questions):
            return await tutor.start_interview(user, topics, questions)
        case commands.DailyOn(time=at, timezone=zone):
            return await tutor.daily_on(
                channel,
                actor=user,
                post_time=at,
                timezone=zone,
                permissions=members,
                access=SlackChannels(client),
                default_timezone=await members.timezone(user),
            )
        case commands.DailyOff():
            return await tutor.daily_off(channel, actor=user, permissions=members)
        case commands.DailyStatus():
            return await tutor.daily_status(channel)
        case commands.Forget(confirm=confirm):
            return await tutor.forget(user, confirm=confirm)
        case commands.Help(unknown=unknown):
            return Turn((help_reply(unknown),))
    return Turn((help_reply(None),))


def help_reply(unknown: str | None) -> Reply:
    prefix = f"I don't know `{unknown}`. " if unknown else ""
    return Reply(title="awsquiz help", text=prefix + commands.HELP_TEXT, tone=Tone.INFO)


async def answer_prompt(tutor: Tutor, value: str) -> str:
    """The wording of the question an Answer button's value names, for the answer box.

    A daily post that was deleted is refused by the Tutor; a value naming no question (one
    gone from the packs, or made up) is refused as `STALE_BUTTON`.
    """
    try:
        if value.startswith(DAILY_VALUE_PREFIX):
            post_id = post_id_of(value)
            if post_id is None:  # made up
                raise InvalidOptionError(STALE_BUTTON)
            return await tutor.daily_prompt(post_id)
        return tutor.prompt(value)
    except UnknownQuestionError:  # gone from the packs, or never one of ours
        raise InvalidOptionError(STALE_BUTTON) from None
