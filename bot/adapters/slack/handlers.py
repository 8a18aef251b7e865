"""Slack listeners: each acks at once, turns one Slack payload into one Tutor call, and
delivers the Turn it returns.

Every reply goes through `render`, which escapes user text, so nothing echoed can ping.
Refusals come back from the Tutor as replies; Slack's own refusals are explained by the
app's error handler or `explained`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import commands, render
from bot.adapters.slack.delivery import (
    Respond,
    open_dm,
    post,
    post_in_dm,
    respond_privately,
    respond_to_press,
    tell,
)
from bot.adapters.slack.dispatch import answer_prompt, run_command
from bot.adapters.slack.ids import (
    ACTION_IDS,
    ANSWER_BLOCK,
    ANSWER_INPUT,
    ANSWER_MODAL_CALLBACK,
    PLATFORM,
)
from bot.adapters.slack.members import DEFAULT_ADMIN_ROLES, SlackMembers
from bot.adapters.slack.payloads import (
    ANY_AWSQUIZ_ACTION,
    STALE_BUTTON,
    AnswerOrigin,
    answer_origin,
    button_value,
    channel_of,
    deduplicated_event_id,
    direct_message,
    typed_answer,
    user_of,
    where_of,
)
from bot.adapters.slack.refusals import code_of, explained, method_of
from bot.engine import quiz_replies
from bot.engine.daily.model import ChannelRef
from bot.engine.errors import AwsquizError, InvalidOptionError
from bot.engine.model import UserRef
from bot.engine.outbox import Receipt
from bot.engine.quiz import clean_answer
from bot.engine.reply import ActionKind, Tone
from bot.engine.tutor import InterviewChange, Turn, Tutor

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class SlackOptions:
    """What the Slack listeners need besides the engine."""

    admin_roles: frozenset[str] = DEFAULT_ADMIN_ROLES
    max_answer_chars: int = 3000


class SlackHandlers:
    """The listeners of the Slack app, bound to the engine's Tutor."""

    def __init__(self, tutor: Tutor, options: SlackOptions | None = None) -> None:
        self.tutor = tutor
        self.options = options or SlackOptions()

    def register(self, app: AsyncApp) -> None:
        """Attach every listener to `app`."""
        app.command("/awsquiz")(self.on_command)
        app.action(ACTION_IDS[ActionKind.ANSWER])(self.on_answer_button)
        app.action(ACTION_IDS[ActionKind.HINT])(self.on_hint_button)
        app.action(ACTION_IDS[ActionKind.SKIP])(self.on_skip_button)
        app.action(ACTION_IDS[ActionKind.STOP])(self.on_stop_button)
        app.action(ACTION_IDS[ActionKind.START_INTERVIEW])(self.on_start_interview_button)
        app.action(ANY_AWSQUIZ_ACTION)(self.on_stale_button)  # last: Bolt runs the first match
        app.view(ANSWER_MODAL_CALLBACK)(self.on_answer_submitted)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.middleware(self.drop_retried_events)
        app.error(self.on_error)

    async def drop_retried_events(
        self, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Every listener's event de-duplication: a retry Slack sends is acked and dropped."""
        event_id = deduplicated_event_id(body)
        if event_id and not await self.tutor.first_delivery(PLATFORM, event_id):
            return BoltResponse(status=200, body="")
        await next()
        return None

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
        team = command["team_id"]
        user = UserRef(PLATFORM, team, command["user_id"], command.get("user_name", ""))
        channel = ChannelRef(PLATFORM, team, command["channel_id"])
        parsed = commands.parse(command.get("text", ""), self.tutor.is_topic)
        members = SlackMembers(client, self.options.admin_roles)
        dm = None
        try:
            if isinstance(parsed, commands.Interview):
                # The DM first: an interview that cannot be asked must not be left running.
                dm = await open_dm(client, user)
            turn = await run_command(self.tutor, parsed, user, channel, members, client)
        except SlackApiError as error:
            turn = Turn((explained(error),))
        await self._deliver_direct(client, user, dm, turn)
        for reply in turn.replies:
            await respond_privately(respond, reply)

    # -- buttons and the answer modal ------------------------------------------------------

    async def on_answer_button(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Answer: open a modal with a multi-line box (the trigger id lives 3 s: open it first)."""
        await ack()
        # The click's response_url rides along: it reaches channels the bot is not a member of.
        origin = AnswerOrigin(button_value(body), channel_of(body), body.get("response_url"))
        try:
            prompt = await answer_prompt(self.tutor, origin.value)
        except AwsquizError as error:
            refusal = quiz_replies.error(str(error))
            await tell(
                client, user_of(body), origin.channel, refusal, response_url=origin.response_url
            )
            return
        modal = render.answer_modal(prompt, origin.metadata(), self.options.max_answer_chars)
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=render.payload(modal))
        except SlackApiError as error:
            await respond_to_press(respond, explained(error))

    async def on_answer_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The modal's answer: refuse empty or over-long text in the modal, else grade privately."""
        origin = answer_origin(view.get("private_metadata") or "")
        text = typed_answer(view, ANSWER_BLOCK, ANSWER_INPUT)
        try:
            if origin is None:  # private_metadata our Answer button did not write
                raise InvalidOptionError(STALE_BUTTON)
            clean_answer(text, self.options.max_answer_chars)
        except AwsquizError as error:  # said in the modal, under the answer
            await ack(response_action="errors", errors={ANSWER_BLOCK: str(error)})
            return
        await ack()
        user, post_id = user_of(body), origin.post_id
        if post_id is not None:
            turn = await self.tutor.daily_answer(user, post_id, text)
        else:
            question_id = origin.value or None
            turn = await self.tutor.answer(user, text, where=origin.where, question_id=question_id)
        for reply in turn.replies:
            await tell(client, user, origin.channel, reply, response_url=origin.response_url)
        await self._deliver_direct(client, user, origin.channel, turn)

    async def on_hint_button(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        """Hint: in an interview DM it helps the interview; elsewhere the open question."""
        await ack()
        turn = await self.tutor.hint(user_of(body), where=where_of(body))
        await self._answer_press(client, respond, body, turn)

    async def on_skip_button(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        """Skip: drop the question and show its reference answer."""
        await ack()
        turn = await self.tutor.skip(user_of(body), where=where_of(body))
        await self._answer_press(client, respond, body, turn)

    async def on_stop_button(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        """Stop: end the interview the button belongs to (its value), with its summary."""
        await ack()
        carried = button_value(body) or None
        turn = await self.tutor.stop(user_of(body), interview_id=carried, where=where_of(body))
        await self._answer_press(client, respond, body, turn)

    async def on_start_interview_button(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The App Home's Start interview button."""
        await ack()
        user = user_of(body)
        dm = await open_dm(client, user)
        turn = await self.tutor.start_interview(user)
        await self._deliver_direct(client, user, dm, turn)
        for reply in turn.replies:
            if reply.tone is Tone.ERROR:  # the Home tab has nowhere else to say it
                await post(client, dm, reply)

    async def on_stale_button(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A button of ours that nothing handles (an older bot's message): say so privately."""
        await ack()
        refusal = quiz_replies.error(STALE_BUTTON)
        await tell(
            client, user_of(body), channel_of(body), refusal, response_url=body.get("response_url")
        )

    # -- events ----------------------------------------------------------------------------

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A DM to the bot (a file's text, a thread reply too): the interview's next answer,
        hint, skip or stop, answered where it was written."""
        message = direct_message(body, event)
        if message is None:
            return
        receipt = Receipt(message.event_id, message.channel)
        turn = await self.tutor.message(message.user, message.text, receipt)
        await self._deliver_direct(client, message.user, message.channel, turn, message.thread_ts)
        await self.tutor.sent(PLATFORM, receipt)

    async def on_home_opened(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The App Home tab: the member's stats and a Start interview button."""
        if event.get("tab", "home") != "home":
            return
        await self._publish_home(client, UserRef(PLATFORM, body.get("team_id", ""), event["user"]))

    # -- delivery --------------------------------------------------------------------------

    async def _answer_press(
        self, client: AsyncWebClient, respond: Respond, body: dict[str, Any], turn: Turn
    ) -> None:
        """Replies to a press stay ephemeral; the interview's become messages in its DM."""
        for reply in turn.replies:
            await respond_to_press(respond, reply)
        await self._deliver_direct(client, user_of(body), channel_of(body), turn)

    async def _deliver_direct(
        self,
        client: AsyncWebClient,
        user: UserRef,
        channel: str | None,
        turn: Turn,
        thread_ts: str | None = None,
    ) -> None:
        """Post the turn's DM replies (in `channel` when it is the DM, in its thread if any),
        then refresh the App Home when the interview started or ended."""
        await post_in_dm(client, user, channel, turn.direct, thread_ts=thread_ts)
        if turn.interview is not InterviewChange.NONE:
            await self._refresh_home(client, user)

    async def _publish_home(self, client: AsyncWebClient, user: UserRef) -> None:
        """Publish the member's App Home: stats titled with their Slack name, interview button."""
        try:
            named = await SlackMembers(client).named(user)
        except SlackApiError as error:
            log.info("slack users.info for the App Home failed: %s", code_of(error))
            named = user
        stats = await self.tutor.stats(named)
        running = await self.tutor.interview_running(user)
        await client.views_publish(
            user_id=user.user, view=render.payload(render.home_view(stats.replies[0], running))
        )

    async def _refresh_home(self, client: AsyncWebClient, user: UserRef) -> None:
        """Republish the App Home after an interview starts or ends; cosmetic, so never fatal."""
        try:
            await self._publish_home(client, user)
        except SlackApiError as error:
            log.info("slack views.publish after an interview change failed: %s", code_of(error))
