"""Getting a Reply to a Slack member: in reply to a request, in a channel, or in their DM.

Each reply that reaches the member is counted (`bot.metrics`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from http import HTTPStatus
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import metrics
from bot.adapters.slack import render
from bot.adapters.slack.ids import PLATFORM
from bot.adapters.slack.members import DM_PREFIX
from bot.adapters.slack.refusals import code_of
from bot.engine.model import UserRef
from bot.engine.reply import Reply

Respond = Callable[..., Awaitable[Any]]

log = logging.getLogger(__name__)


async def respond_privately(respond: Respond, reply: Reply) -> None:
    """Answer a slash command privately: practice is personal, and a leaderboard's names
    shown to one person never ping anyone."""
    await respond(
        blocks=render.blocks(replace(reply, ephemeral=True)),
        text=render.fallback_text(reply),
        response_type="ephemeral",
    )
    metrics.reply_delivered(PLATFORM)


async def respond_to_press(respond: Respond, reply: Reply) -> None:
    """Answer a button press with a message only the member sees, below the pressed one."""
    await respond(
        blocks=render.blocks(reply),
        text=render.fallback_text(reply),
        response_type="ephemeral",
        replace_original=False,
    )
    metrics.reply_delivered(PLATFORM)


async def post(
    client: AsyncWebClient, channel: str, reply: Reply, *, thread_ts: str | None = None
) -> None:
    """Post a message in a channel or DM (in the thread of `thread_ts`, if given)."""
    await client.chat_postMessage(
        channel=channel,
        blocks=render.blocks_payload(reply),
        text=render.fallback_text(reply),
        thread_ts=thread_ts,
        unfurl_links=False,
    )
    metrics.reply_delivered(PLATFORM)


async def post_in_dm(
    client: AsyncWebClient,
    user: UserRef,
    channel: str | None,
    replies: Sequence[Reply],
    *,
    thread_ts: str | None = None,
) -> None:
    """Post replies in the member's DM with the bot: in `channel` when that is the DM (in the
    thread of `thread_ts`, when the member wrote in one), else in the DM opened for them."""
    if not replies:
        return
    here = bool(channel and channel.startswith(DM_PREFIX))
    dm = channel if channel and here else await open_dm(client, user)
    for reply in replies:
        await post(client, dm, reply, thread_ts=thread_ts if here else None)


async def open_dm(client: AsyncWebClient, user: UserRef) -> str:
    """The member's DM channel with the bot."""
    opened = await client.conversations_open(users=user.user)
    return str(opened["channel"]["id"])


async def tell(
    client: AsyncWebClient,
    user: UserRef,
    channel: str | None,
    reply: Reply,
    *,
    response_url: str | None = None,
) -> None:
    """Show a reply to one member only, wherever it reaches them.

    In a channel: an ephemeral message; where the bot is no member (a private channel or
    group DM it was not invited to) that fails, and the clicked message's response_url
    still shows it there, privately. A response_url lasts 30 minutes, so the last resort
    is the member's DM with the bot, which always works.
    """
    if channel and not channel.startswith(DM_PREFIX):
        try:
            await client.chat_postEphemeral(
                channel=channel,
                user=user.user,
                blocks=render.blocks_payload(reply),
                text=render.fallback_text(reply),
            )
            metrics.reply_delivered(PLATFORM)
            return
        except SlackApiError as error:
            log.info("slack chat.postEphemeral in %s failed: %s", channel, code_of(error))
            metrics.platform_error(PLATFORM, code_of(error))
        if response_url and await _post_to_response_url(client, response_url, reply):
            metrics.reply_delivered(PLATFORM)
            return
    await post(client, await open_dm(client, user), reply)


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
