"""The daily question's way out to Slack: chat.postMessage through slack_sdk's AsyncWebClient."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import render
from bot.engine.daily.model import ChannelRef
from bot.engine.errors import ChatPostError
from bot.engine.reply import Reply

PLATFORM: Final = "slack"
TRANSIENT_ERRORS: Final = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
     "request_timeout", "team_added_to_org"}
)  # fmt: skip
"""Slack error codes worth retrying; anything else (channel_not_found, ...) is final."""
NOT_IN_CHANNEL: Final = "not_in_channel"

log = logging.getLogger(__name__)

ClientFor = Callable[[str], Awaitable[AsyncWebClient]]
"""Returns the Web API client authorised for a workspace (team id)."""


class SlackChatAdapter:
    """Posts daily questions and reveals; joins public channels it is asked to post in."""

    platform: str = PLATFORM

    def __init__(self, client_for: ClientFor) -> None:
        self._client_for = client_for

    async def post(self, channel: ChannelRef, reply: Reply) -> str:
        """Post in a channel and return the message ts."""
        return await self._post(channel, reply, thread_ts=None)

    async def post_reply(self, channel: ChannelRef, message_id: str, reply: Reply) -> str:
        """Post in the thread of `message_id` (a message ts)."""
        return await self._post(channel, reply, thread_ts=message_id)

    async def _post(self, channel: ChannelRef, reply: Reply, *, thread_ts: str | None) -> str:
        client = await self._client_for(channel.workspace)
        try:
            return await self._send(client, channel, reply, thread_ts)
        except SlackApiError as error:
            if _code(error) != NOT_IN_CHANNEL:
                raise _post_error(channel, error) from error
        # A public channel the bot has not joined: join it (channels:join) and try once more.
        try:
            await client.conversations_join(channel=channel.channel)
            return await self._send(client, channel, reply, thread_ts)
        except SlackApiError as error:
            raise _post_error(channel, error) from error

    @staticmethod
    async def _send(
        client: AsyncWebClient, channel: ChannelRef, reply: Reply, thread_ts: str | None
    ) -> str:
        response = await client.chat_postMessage(
            channel=channel.channel,
            text=render.fallback_text(reply),
            blocks=render.blocks_payload(reply),
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error", "unknown_error"))


def _post_error(channel: ChannelRef, error: SlackApiError) -> ChatPostError:
    """Translate a Web API failure, logging its method and error code (never the token)."""
    code = _code(error)
    retry_after = error.response.headers.get("Retry-After") if error.response.headers else None
    transient = code in TRANSIENT_ERRORS or error.response.status_code >= 500
    log.warning("slack chat.postMessage to %s failed: %s", channel, code)
    return ChatPostError(
        f"chat.postMessage in {channel.channel}: {code}",
        transient=transient or retry_after is not None,
        retry_after=float(retry_after) if retry_after else None,
    )
