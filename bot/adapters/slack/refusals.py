"""Slack Web API refusals: their method and code for the logs, and in words for the member."""

from __future__ import annotations

import logging
from typing import Final

from slack_sdk.errors import SlackApiError

from bot.engine import quiz_replies
from bot.engine.reply import Reply

IN_WORDS: Final = {
    "user_not_found": "I cannot find that member in this workspace.",
    "channel_not_found": "I cannot see this channel: invite me with `/invite @awsquiz` first.",
    "not_in_channel": "I cannot see this channel: invite me with `/invite @awsquiz` first.",
    "expired_trigger_id": "Slack took too long to open the answer box: press Answer again.",
    "ratelimited": "Slack asked me to slow down: try again in a minute.",
}
"""What a Slack error code means for the member."""
DM_REFUSED: Final = "I could not open a direct message with you (Slack said: {code})."
OTHER: Final = "Slack refused that (it said: {code}). Try again in a moment."

log = logging.getLogger(__name__)


def method_of(error: SlackApiError) -> str:
    """The Web API method that failed, from the URL it was called on."""
    return str(error.response.api_url).rsplit("/", 1)[-1]


def code_of(error: SlackApiError) -> str:
    """Slack's error code (`channel_not_found`, ...); never the token or the request."""
    return str(error.response.get("error", "unknown"))


def explained(error: SlackApiError) -> Reply:
    """A refusal after the ack, logged with its method and code and put plainly for the member."""
    method, code = method_of(error), code_of(error)
    log.warning("slack %s failed: %s", method, code)
    if code in IN_WORDS:
        return quiz_replies.error(IN_WORDS[code])
    if method == "conversations.open":
        return quiz_replies.error(DM_REFUSED.format(code=code))
    return quiz_replies.error(OTHER.format(code=code))
