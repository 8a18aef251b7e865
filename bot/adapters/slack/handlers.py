"""Slack listeners: each acks at once, then turns one Slack payload into one engine call.

Every reply goes through `render`, which escapes user text, so nothing echoed can ping.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack import commands, render
from bot.adapters.slack.entities import decode
from bot.adapters.slack.ids import (
    ACTION_IDS,
    ANSWER_BLOCK,
    ANSWER_INPUT,
    ANSWER_MODAL_CALLBACK,
    DAILY_VALUE_PREFIX,
)
from bot.adapters.slack.refusals import code_of, explained, method_of
from bot.app import Services
from bot.engine import replies
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.schedule import parse_post_time, parse_timezone
from bot.engine.errors import (
    AwsquizError,
    InterviewExpiredError,
    InvalidOptionError,
    NotAllowedError,
    UnknownTopicError,
)
from bot.engine.interview import DEFAULT_QUESTIONS
from bot.engine.model import Source, UserRef
from bot.engine.quiz import clean_answer, parse_period
from bot.engine.reply import ActionKind, Reply, Tone

PLATFORM: Final = "slack"
DEFAULT_ADMIN_ROLES: Final = frozenset({"admin", "owner"})
DM_PREFIX: Final = "D"
"""Slack ids of direct-message channels start with D."""
ADMIN_ONLY: Final = (
    "Only workspace admins can change the daily question. "
    "Ask an admin, or use `/awsquiz daily status` to see the schedule."
)

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
Ack = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class SlackOptions:
    """What the Slack listeners need besides the engine."""

    admin_roles: frozenset[str] = DEFAULT_ADMIN_ROLES
    max_answer_chars: int = 3000


class SlackHandlers:
    """The listeners of the Slack app, bound to one set of engine services."""

    def __init__(self, services: Services, options: SlackOptions | None = None) -> None:
        self.services = services
        self.options = options or SlackOptions()

    def register(self, app: AsyncApp) -> None:
        """Attach every listener to `app`."""
        app.command("/awsquiz")(self.on_command)
        app.action(ACTION_IDS[ActionKind.ANSWER])(self.on_answer_button)
        app.action(ACTION_IDS[ActionKind.HINT])(self.on_hint_button)
        app.action(ACTION_IDS[ActionKind.SKIP])(self.on_skip_button)
        app.action(ACTION_IDS[ActionKind.STOP])(self.on_stop_button)
        app.action(ACTION_IDS[ActionKind.START_INTERVIEW])(self.on_start_interview_button)
        app.view(ANSWER_MODAL_CALLBACK)(self.on_answer_submitted)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.error(self.on_error)

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """Log what failed: a Web API method and its Slack error code, never a token."""
        if isinstance(error, SlackApiError):
            log.error("slack %s failed: %s", method_of(error), code_of(error))
            return
        log.error("slack %s handler failed: %r", body.get("type", "request"), error)

    # -- /awsquiz ------------------------------------------------------------------------

    async def on_command(
        self, ack: Ack, command: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        """`/awsquiz ...`: ack, then run the subcommand and answer privately."""
        await ack()
        user = UserRef(
            PLATFORM, command["team_id"], command["user_id"], command.get("user_name", "")
        )
        channel = ChannelRef(PLATFORM, command["team_id"], command["channel_id"])
        parsed = commands.parse(command.get("text", ""), self._is_topic)
        try:
            answers = await self._run(parsed, user, channel, client)
        except AwsquizError as error:
            answers = [replies.error(str(error))]
        except SlackApiError as error:
            answers = [explained(error)]
        # Practice is personal and private; it also means mentions in a leaderboard never ping.
        for reply in answers:
            await respond(
                blocks=render.blocks(_private(reply)),
                text=render.fallback_text(reply),
                response_type="ephemeral",
            )

    async def _run(
        self,
        parsed: commands.Command,
        user: UserRef,
        channel: ChannelRef,
        client: AsyncWebClient,
    ) -> Sequence[Reply]:
        quiz, daily = self.services.quiz, self.services.daily
        match parsed:
            case commands.Ask(topic=topic, difficulty=difficulty):
                return [
                    await quiz.ask(
                        user,
                        topic=topic,
                        difficulty=difficulty,
                        source=Source.SLASH,
                        channel=channel.channel,
                    )
                ]
            case commands.Answer(text=text):
                return [await quiz.answer(user, text)]
            case commands.Hint():
                return [await quiz.hint(user)]
            case commands.Skip():
                return [await quiz.skip(user)]
            case commands.Topics():
                return [quiz.topics()]
            case commands.Stats(user_id=other):
                if not other:
                    return [await quiz.stats(user)]
                # A readable title: the member's Slack display name, not their id.
                profile = await self._profile(client, UserRef(PLATFORM, user.workspace, other))
                return [await quiz.stats(UserRef(PLATFORM, user.workspace, other, _name(profile)))]
            case commands.Leaderboard(period=period, here=here):
                scope = channel.channel if here else None
                board = quiz.leaderboard(
                    PLATFORM, user.workspace, parse_period(period), channel=scope
                )
                return [await board]
            case commands.Interview(topics=topics, questions=questions):
                return await self._start_interview(client, user, topics, questions)
            case commands.DailyOn(time=at, timezone=zone):
                return [await self._daily_on(client, user, channel, at, zone)]
            case commands.DailyOff():
                profile = await self._profile(client, user)
                return [
                    await daily.unsubscribe(channel, actor=user, is_admin=self._is_admin(profile))
                ]
            case commands.DailyStatus():
                return [await daily.status(channel)]
            case commands.Help(unknown=unknown):
                return [_help(unknown)]
        return [_help(None)]

    # -- buttons and the answer modal ------------------------------------------------------

    async def on_answer_button(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Answer: open a modal with a multi-line box (the trigger id lives 3 s: open it first)."""
        await ack()
        value = str(body["actions"][0]["value"])
        channel = _channel_of(body)
        response_url = body.get("response_url")
        try:
            prompt = await self._prompt_for(value)
        except AwsquizError as error:
            reply = replies.error(str(error))
            await self._tell(client, _user(body), channel, reply, response_url=response_url)
            return
        # The click's response_url rides along: it reaches channels the bot is not a member of.
        metadata = json.dumps({"value": value, "channel": channel, "response_url": response_url})
        try:
            await client.views_open(
                trigger_id=body["trigger_id"],
                view=render.payload(
                    render.answer_modal(prompt, metadata, self.options.max_answer_chars)
                ),
            )
        except SlackApiError as error:
            await _respond(respond, explained(error))

    async def on_answer_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The modal's answer: refuse empty or over-long text in the modal, else grade privately."""
        text = view["state"]["values"][ANSWER_BLOCK][ANSWER_INPUT].get("value") or ""
        try:
            clean_answer(text, self.options.max_answer_chars)
        except AwsquizError as error:
            await ack(response_action="errors", errors={ANSWER_BLOCK: str(error)})
            return
        await ack()
        metadata = json.loads(view.get("private_metadata") or "{}")
        value, channel = str(metadata.get("value", "")), metadata.get("channel")
        response_url = metadata.get("response_url")
        user = _user(body)
        try:
            if value.startswith(DAILY_VALUE_PREFIX):
                post_id = int(value.removeprefix(DAILY_VALUE_PREFIX))
                reply = await self.services.daily.answer(user, post_id, text)
            else:
                reply = await self.services.quiz.answer(user, text, question_id=value or None)
        except AwsquizError as error:
            reply = replies.error(str(error))
        await self._tell(client, user, channel, reply, response_url=response_url)

    async def on_hint_button(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        """Hint: in an interview DM it helps the interview; elsewhere the open question."""
        await ack()

        async def in_interview(user: UserRef) -> list[Reply]:
            return [await self.services.interviews.hint(user)]

        async def on_question(user: UserRef) -> list[Reply]:
            return [await self.services.quiz.hint(user)]

        await self._interview_or_question_button(client, respond, body, in_interview, on_question)

    async def on_skip_button(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        """Skip: drop the question and show its reference answer."""
        await ack()

        async def on_question(user: UserRef) -> list[Reply]:
            return [await self.services.quiz.skip(user)]

        await self._interview_or_question_button(
            client, respond, body, self.services.interviews.skip, on_question
        )

    async def _interview_or_question_button(
        self,
        client: AsyncWebClient,
        respond: Respond,
        body: dict[str, Any],
        in_interview: Callable[[UserRef], Awaitable[list[Reply]]],
        on_question: Callable[[UserRef], Awaitable[list[Reply]]],
    ) -> None:
        """A Hint or Skip press: the interview's in its DM, the open question's elsewhere."""
        user = _user(body)
        interviews = self.services.interviews
        interviewing = await self._in_interview_dm(body, user)
        try:
            answers = await (in_interview if interviewing else on_question)(user)
        except InterviewExpiredError as error:
            answers = [error.summary]
        except AwsquizError as error:
            answers = [replies.error(str(error))]
        ended = interviewing and not await interviews.is_active(user)
        await self._answer_button(client, respond, body, answers, in_interview=interviewing)
        if ended:
            await self._refresh_home(client, user)

    async def on_stop_button(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        """Stop: end the interview the button belongs to (its value), with its summary."""
        await ack()
        user = _user(body)
        interviews = self.services.interviews
        carried = str(body["actions"][0].get("value") or "") or None
        ended = False
        try:
            reply = await interviews.stop(user, interview_id=carried)
            # Still running: the button was an older interview's, and the engine said so.
            ended = not await interviews.is_active(user)
        except InterviewExpiredError as error:
            reply, ended = error.summary, True
        except AwsquizError as error:
            reply = replies.error(str(error))
        if not ended:
            await _respond(respond, reply)
            return
        await self._answer_button(client, respond, body, [reply], in_interview=_in_dm(body))
        await self._refresh_home(client, user)

    async def on_start_interview_button(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The App Home's Start interview button."""
        await ack()
        user = _user(body)
        try:
            await self._start_interview(client, user, (), None)
        except AwsquizError as error:
            await self._tell(client, user, None, replies.error(str(error)))

    # -- events ----------------------------------------------------------------------------

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A DM to the bot: the next answer (or hint, skip, stop) of the user's interview."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not await self._first_delivery(body):
            return  # Slack retried an event we already handled: never score twice
        user = UserRef(PLATFORM, body.get("team_id") or event.get("team", ""), event["user"])
        interviews = self.services.interviews
        expired = await interviews.expire_if_idle(user)
        if expired is not None:
            await self._post(client, event["channel"], expired)
            await self._refresh_home(client, user)
            return
        if not await interviews.is_active(user):
            await self._post(client, event["channel"], _no_interview())
            return
        try:
            answers = await interviews.handle(user, decode(event.get("text") or ""))
        except InterviewExpiredError as error:
            answers = [error.summary]
        except AwsquizError as error:
            answers = [replies.error(str(error))]
        ended = not await interviews.is_active(user)
        for reply in answers:
            await self._post(client, event["channel"], reply)
        if ended:
            await self._refresh_home(client, user)

    async def on_home_opened(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The App Home tab: the member's stats and a Start interview button."""
        if event.get("tab", "home") != "home":
            return
        await self._publish_home(client, UserRef(PLATFORM, body.get("team_id", ""), event["user"]))

    # -- helpers ---------------------------------------------------------------------------

    async def _publish_home(self, client: AsyncWebClient, user: UserRef) -> None:
        """Publish the member's App Home: stats titled with their Slack name, interview button."""
        try:
            named = replace(user, display_name=_name(await self._profile(client, user)))
        except SlackApiError as error:
            log.info("slack users.info for the App Home failed: %s", code_of(error))
            named = user
        stats = await self.services.quiz.stats(named)
        running = await self.services.interviews.is_active(user)
        await client.views_publish(
            user_id=user.user, view=render.payload(render.home_view(stats, running))
        )

    async def _refresh_home(self, client: AsyncWebClient, user: UserRef) -> None:
        """Republish the App Home after an interview starts or ends; cosmetic, so never fatal."""
        try:
            await self._publish_home(client, user)
        except SlackApiError as error:
            log.info("slack views.publish after an interview change failed: %s", code_of(error))

    async def _in_interview_dm(self, body: dict[str, Any], user: UserRef) -> bool:
        """True for a button pressed in the bot's DM while the member's interview runs."""
        return _in_dm(body) and await self.services.interviews.is_active(user)

    async def _answer_button(
        self,
        client: AsyncWebClient,
        respond: Respond,
        body: dict[str, Any],
        answers: Sequence[Reply],
        *,
        in_interview: bool,
    ) -> None:
        """Interview replies become DM messages, as typed words' do; others stay ephemeral."""
        channel = _channel_of(body)
        for reply in answers:
            if in_interview and channel:
                await self._post(client, channel, reply)
            else:
                await _respond(respond, reply)

    async def _daily_on(
        self,
        client: AsyncWebClient,
        user: UserRef,
        channel: ChannelRef,
        at: str,
        zone: str | None,
    ) -> Reply:
        """Subscribe the channel; who asks and what they typed are checked before any join."""
        profile = await self._profile(client, user)
        if not self._is_admin(profile):
            raise NotAllowedError(ADMIN_ONLY)
        timezone = zone or str(profile.get("tz") or "UTC")
        # The engine checks these again when subscribing; here they keep a typo from joining.
        parse_post_time(at)
        parse_timezone(timezone)
        problem = await _cannot_post_in(client, channel.channel)
        if problem:
            return replies.error(problem)
        return await self.services.daily.subscribe(
            channel, actor=user, is_admin=True, post_time=at, timezone=timezone
        )

    async def _start_interview(
        self,
        client: AsyncWebClient,
        user: UserRef,
        topics: Sequence[str],
        questions: int | None,
    ) -> list[Reply]:
        """Open a DM with the user and run the interview there."""
        # The DM first: an interview that cannot be asked must not be left running.
        opened = await client.conversations_open(users=user.user)
        dm = str(opened["channel"]["id"])
        # Only a missing count gets the default: 0 goes to the engine, which refuses it.
        count = DEFAULT_QUESTIONS if questions is None else questions
        started = await self.services.interviews.start(user, topics, count, channel=None)
        for reply in started:
            await self._post(client, dm, reply)
        await self._refresh_home(client, user)
        return [Reply(title="Interview started", text="Check your direct messages with me.")]

    async def _prompt_for(self, value: str) -> str:
        if not value.startswith(DAILY_VALUE_PREFIX):
            return self.services.catalog.question(value).prompt
        post = await self.services.store.daily_post(int(value.removeprefix(DAILY_VALUE_PREFIX)))
        if post is None:
            raise InvalidOptionError("That daily question no longer exists.")
        return self.services.catalog.question(post.question_id).prompt

    async def _tell(
        self,
        client: AsyncWebClient,
        user: UserRef,
        channel: str | None,
        reply: Reply,
        *,
        response_url: str | None = None,
    ) -> None:
        """Show a reply to one user only, wherever it reaches them.

        In a channel: an ephemeral message; where the bot is no member (a private channel or
        group DM it was not invited to) that fails, and the clicked message's response_url
        still shows it there, privately. A response_url lasts 30 minutes, so the last resort
        is the user's DM with the bot, which always works.
        """
        if channel and not channel.startswith(DM_PREFIX):
            try:
                await client.chat_postEphemeral(
                    channel=channel,
                    user=user.user,
                    blocks=render.blocks_payload(reply),
                    text=render.fallback_text(reply),
                )
                return
            except SlackApiError as error:
                log.info("slack chat.postEphemeral in %s failed: %s", channel, code_of(error))
            if response_url and await _post_to_response_url(client, response_url, reply):
                return
        opened = await client.conversations_open(users=user.user)
        await self._post(client, str(opened["channel"]["id"]), reply)

    @staticmethod
    async def _post(client: AsyncWebClient, channel: str, reply: Reply) -> None:
        await client.chat_postMessage(
            channel=channel,
            blocks=render.blocks_payload(reply),
            text=render.fallback_text(reply),
            unfurl_links=False,
        )

    async def _profile(self, client: AsyncWebClient, user: UserRef) -> dict[str, Any]:
        response = await client.users_info(user=user.user)
        profile: dict[str, Any] = response["user"]
        return profile

    def _is_admin(self, profile: dict[str, Any]) -> bool:
        roles = {
            role
            for role, flag in (
                ("admin", "is_admin"),
                ("owner", "is_owner"),
                ("primary_owner", "is_primary_owner"),
            )
            if profile.get(flag)
        }
        return bool(roles & self.options.admin_roles)

    def _is_topic(self, text: str) -> bool:
        try:
            self.services.catalog.find_topic(text)
        except UnknownTopicError:
            return False
        return True

    async def _first_delivery(self, body: dict[str, Any]) -> bool:
        event_id = body.get("event_id")
        if not event_id:
            return True
        now = self.services.quiz.clock.now()
        return await self.services.store.first_delivery(PLATFORM, str(event_id), now)


def _user(body: dict[str, Any]) -> UserRef:
    """The Slack user of an interaction payload, scoped by their team."""
    person = body["user"]
    team = (body.get("team") or {}).get("id") or person.get("team_id", "")
    return UserRef(PLATFORM, team, person["id"], person.get("username") or person.get("name", ""))


def _name(profile: dict[str, Any]) -> str:
    """What Slack shows for a member: display name, else real name, else handle."""
    details = profile.get("profile") or {}
    return str(details.get("display_name") or details.get("real_name") or profile.get("name") or "")


def _channel_of(body: dict[str, Any]) -> str | None:
    """The channel an interaction happened in (messages carry it; modals do not)."""
    found = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
    return str(found) if found else None


def _in_dm(body: dict[str, Any]) -> bool:
    return (_channel_of(body) or "").startswith(DM_PREFIX)


async def _respond(respond: Respond, reply: Reply) -> None:
    await respond(
        blocks=render.blocks(reply),
        text=render.fallback_text(reply),
        response_type="ephemeral",
        replace_original=False,
    )


async def _post_to_response_url(client: AsyncWebClient, url: str, reply: Reply) -> bool:
    """Post an ephemeral reply to a response_url; False when it is expired or unreachable."""
    webhook = AsyncWebhookClient(url, proxy=client.proxy, ssl=client.ssl)
    try:
        answer = await webhook.send(
            blocks=render.blocks_payload(reply),
            text=render.fallback_text(reply),
            response_type="ephemeral",
            replace_original=False,
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        # The URL itself is a bearer of posting rights: name the failure, not the address.
        log.info("slack response_url post failed: %s", type(error).__name__)
        return False
    if answer.status_code != HTTPStatus.OK:
        log.info("slack response_url post failed: HTTP %s %s", answer.status_code, answer.body)
        return False
    return True


async def _cannot_post_in(client: AsyncWebClient, channel: str) -> str | None:
    """Why the bot could not post the daily question in `channel`, or None if it can.

    A public channel is joined (channels:join); a private one needs an invitation.
    """
    if channel.startswith(DM_PREFIX):
        return "The daily question is for channels, not direct messages."
    try:
        info = await client.conversations_info(channel=channel)
        details = info["channel"]
        if details.get("is_member"):
            return None
        if details.get("is_private"):
            return "I am not in this private channel: invite me with `/invite @awsquiz` first."
        await client.conversations_join(channel=channel)
    except SlackApiError as error:
        code = code_of(error)
        log.warning("slack daily set-up in %s: %s", channel, code)
        if code in {"channel_not_found", "not_in_channel"}:
            return "I cannot see this channel: invite me with `/invite @awsquiz` first."
        return f"I cannot post in this channel (Slack said: {code})."
    return None


def _private(reply: Reply) -> Reply:
    """The same reply, shown to one person only."""
    return replace(reply, ephemeral=True)


def _help(unknown: str | None) -> Reply:
    prefix = f"I don't know `{unknown}`. " if unknown else ""
    return Reply(title="awsquiz help", text=prefix + commands.HELP_TEXT, tone=Tone.INFO)


def _no_interview() -> Reply:
    return Reply(
        title="No interview running",
        text="Start a mock interview with `/awsquiz interview [topics] [questions]`.",
    )
