"""The daily question's way out to Slack: chat.postMessage through slack_sdk's AsyncWebClient.

Posts are paced per workspace (`pacing`), and a 429 is this adapter's to handle, not
slack_sdk's: it stops the workspace's posts for the Retry-After and the engine retries with
jitter. slack_sdk's rate-limit retry would send each refused post again after the same
Retry-After, all of them together. When Slack refuses a post for good, whoever set the daily
question up is told in a DM.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Final

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.adapters.slack import render
from bot.adapters.slack.ids import PLATFORM
from bot.adapters.slack.pacing import SlackPacer
from bot.adapters.slack.refusals import code_of
from bot.engine.daily.model import ChannelRef, Subscription
from bot.engine.errors import ChatPostError
from bot.engine.reply import Reply, Tone

TRANSIENT_ERRORS: Final = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
     "request_timeout", "team_added_to_org"}
)  # fmt: skip
"""Slack error codes worth retrying; anything else (channel_not_found, ...) is final."""
NOT_IN_CHANNEL: Final = "not_in_channel"
POST_METHOD: Final = "chat.postMessage"
JOIN_METHOD: Final = "conversations.join"
HISTORY_METHOD: Final = "conversations.history"
REPLIES_METHOD: Final = "conversations.replies"
POST_EVENT_TYPE: Final = "awsquiz_post"
"""The message metadata type each daily post and reveal carries, with its key."""
HISTORY_PAGE: Final = 200
HISTORY_PAGES: Final = 5
"""How far back a look for a post goes: a busy channel's thousand messages since the claim."""
DEAD_TOKEN_ERRORS: Final = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
"""Refusals of the bot's own token: no DM could be sent with it either."""
REFUSAL_ADVICE: Final = {
    "channel_not_found": "I can no longer see channel `{channel}`: it was deleted, or it is "
    "private and I am not in it. Invite me with `/invite @awsquiz` there.",
    NOT_IN_CHANNEL: "I am not in channel `{channel}` and could not join it. "
    "Invite me with `/invite @awsquiz` there.",
    "is_archived": "Channel `{channel}` is archived. Unarchive it, or turn the daily question "
    "on in another channel.",
}
"""What the admin can do about a refused daily post, by Slack error code."""
OTHER_REFUSAL: Final = "Slack refused my post in channel `{channel}` (it said: {code})."
RATE_LIMITED_STATUS: Final = 429
DEFAULT_RETRY_AFTER_SECONDS: Final = 1.0
"""How long a 429 without a (readable) Retry-After stops a workspace's posts."""
NEXT_POST_AS_SCHEDULED: Final = (
    "Once that is fixed, the next one is posted as scheduled "
    "(`/awsquiz daily status` in the channel shows when)."
)

log = logging.getLogger(__name__)

ClientFor = Callable[[str], Awaitable[AsyncWebClient]]
"""Returns the Web API client authorised for a workspace (team id)."""


class SlackChatAdapter:
    """Posts daily questions and reveals; joins public channels it is asked to post in."""

    platform: str = PLATFORM

    def __init__(self, client_for: ClientFor, pacer: SlackPacer | None = None) -> None:
        self._client_for = client_for
        self.pacer = pacer or SlackPacer()

    async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
        """Post in a channel and return the message ts; `key` goes in the message metadata."""
        return await self._post(channel, reply, thread_ts=None, key=key)

    async def post_reply(
        self, channel: ChannelRef, message_id: str, reply: Reply, *, key: str | None = None
    ) -> str:
        """Post in the thread of `message_id` (a message ts)."""
        return await self._post(channel, reply, thread_ts=message_id, key=key)

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime, under: str | None = None
    ) -> str | None:
        """The ts of the message posted with `key` since `since`, from the channel's history
        (or the thread of `under`), read with its metadata.
        """
        client = await self._client_for(channel.workspace)
        method = HISTORY_METHOD if under is None else REPLIES_METHOD
        oldest = f"{since.timestamp():.6f}"
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                if under is None:
                    page = await client.conversations_history(
                        channel=channel.channel,
                        oldest=oldest,
                        limit=HISTORY_PAGE,
                        include_all_metadata=True,
                        cursor=cursor,
                    )
                else:
                    page = await client.conversations_replies(
                        channel=channel.channel,
                        ts=under,
                        oldest=oldest,
                        limit=HISTORY_PAGE,
                        include_all_metadata=True,
                        cursor=cursor,
                    )
                for message in page.get("messages") or ():
                    if _key_of(message) == key:
                        return str(message["ts"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as error:
            raise _post_error(channel, error, method) from error
        looked = HISTORY_PAGES * HISTORY_PAGE
        log.warning("slack %s: %s not among the last %d messages", channel, key, looked)
        return None

    async def on_daily_post_failed(self, subscription: Subscription, error: ChatPostError) -> None:
        """DM whoever set up the daily question when Slack refused a post or reveal for good.

        `daily on` checked the channel on the day it ran; one archived, deleted or made private
        since would otherwise fail silently every day. Outages are retried and logged by the
        engine, not told. Best effort: a DM refused too is only logged.
        """
        channel = subscription.channel
        refusal = error.__cause__
        if channel.platform != PLATFORM or not subscription.created_by or error.transient:
            return
        if not isinstance(refusal, SlackApiError):
            return
        code = code_of(refusal)
        if code in DEAD_TOKEN_ERRORS:
            return
        advice = REFUSAL_ADVICE.get(code, OTHER_REFUSAL).format(channel=channel.channel, code=code)
        notice = Reply(
            # Neutral on purpose: the engine reports refused reveals here too.
            title="Slack refused a daily question post",
            text=f"{advice} {NEXT_POST_AS_SCHEDULED}",
            tone=Tone.WARNING,
        )
        try:
            client = await self._client_for(channel.workspace)
            opened = await client.conversations_open(users=subscription.created_by)
            dm = ChannelRef(PLATFORM, channel.workspace, str(opened["channel"]["id"]))
            await self._send(client, dm, notice, None)
            metrics.reply_delivered(PLATFORM)
        except (SlackApiError, ChatPostError) as dm_error:
            log.warning(
                "slack daily %s: could not tell user %s that posting failed: %s",
                channel,
                subscription.created_by,
                code_of(dm_error) if isinstance(dm_error, SlackApiError) else dm_error,
            )

    async def _post(
        self, channel: ChannelRef, reply: Reply, *, thread_ts: str | None, key: str | None = None
    ) -> str:
        client = await self._client_for(channel.workspace)
        try:
            return await self._send(client, channel, reply, thread_ts, key)
        except SlackApiError as error:
            if code_of(error) != NOT_IN_CHANNEL:
                raise _post_error(channel, error, POST_METHOD) from error
        # A public channel the bot has not joined: join it (channels:join) and try once more.
        try:
            await client.conversations_join(channel=channel.channel)
        except SlackApiError as error:
            raise _post_error(channel, error, JOIN_METHOD) from error
        try:
            return await self._send(client, channel, reply, thread_ts, key)
        except SlackApiError as error:
            raise _post_error(channel, error, POST_METHOD) from error

    async def _send(
        self,
        client: AsyncWebClient,
        channel: ChannelRef,
        reply: Reply,
        thread_ts: str | None,
        key: str | None = None,
    ) -> str:
        """chat.postMessage in its turn; a 429 stops the workspace's posts for its Retry-After."""
        metadata = None
        if key is not None:
            metadata = {"event_type": POST_EVENT_TYPE, "event_payload": {"key": key}}
        await self.pacer.wait_turn(channel.workspace, channel.channel)
        try:
            response = await without_rate_limit_retries(client).chat_postMessage(
                channel=channel.channel,
                text=render.fallback_text(reply),
                blocks=render.blocks_payload(reply),
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
            )
        except SlackApiError as error:
            if error.response.status_code == RATE_LIMITED_STATUS:
                told = retry_after_of(error)
                wait = DEFAULT_RETRY_AFTER_SECONDS if told is None else told
                self.pacer.slow_down(channel.workspace, wait)
            raise
        return str(response["ts"])


def without_rate_limit_retries(client: AsyncWebClient) -> AsyncWebClient:
    """`client` (same token, URL, session and team) without slack_sdk's 429 retry handler.

    A shallow copy made per call, so a token the workspace's client has since been given is
    the one used; its other retry handlers (connection errors) stay.
    """
    paced = copy.copy(client)
    paced.retry_handlers = [
        handler
        for handler in client.retry_handlers
        if not isinstance(handler, AsyncRateLimitErrorRetryHandler)
    ]
    return paced


def retry_after_of(error: SlackApiError) -> float | None:
    """The seconds a refusal's Retry-After header asks for; None without a readable one."""
    headers = error.response.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(raw, list):  # slack_sdk keeps some headers as lists of values
        raw = raw[0] if raw else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _key_of(message: Mapping[str, Any]) -> object:
    """The key in a message's awsquiz metadata, if it has any."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != POST_EVENT_TYPE:
        return None
    return (metadata.get("event_payload") or {}).get("key")


def _post_error(channel: ChannelRef, error: SlackApiError, method: str) -> ChatPostError:
    """Translate a Web API failure, logging its method and error code (never the token)."""
    code = code_of(error)
    status = error.response.status_code
    retry_after = retry_after_of(error)
    if status == RATE_LIMITED_STATUS:
        metrics.rate_limited(PLATFORM)
        retry_after = DEFAULT_RETRY_AFTER_SECONDS if retry_after is None else retry_after
    else:
        metrics.platform_error(PLATFORM, code)
    transient = code in TRANSIENT_ERRORS or status >= 500 or status == RATE_LIMITED_STATUS
    log.warning("slack %s in %s failed: %s", method, channel, code)
    return ChatPostError(
        f"{method} in {channel.channel}: {code}",
        transient=transient or retry_after is not None,
        retry_after=retry_after,
    )
