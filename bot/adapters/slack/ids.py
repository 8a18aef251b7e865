"""Identifiers shared by the Slack renderer and handlers: action ids, callback ids, block ids."""

from __future__ import annotations

from typing import Final

from bot.engine.reply import ActionKind

PLATFORM: Final = "slack"
"""The platform name in every id the engine scopes: UserRef, ChannelRef, event ids."""

ACTION_IDS: Final = {
    ActionKind.ANSWER: "awsquiz_answer",
    ActionKind.HINT: "awsquiz_hint",
    ActionKind.SKIP: "awsquiz_skip",
    ActionKind.NEXT: "awsquiz_next",
    ActionKind.START_INTERVIEW: "awsquiz_start_interview",
    ActionKind.STOP: "awsquiz_stop",
}
"""Button action ids by engine action; the button's value carries the Action's value."""

ANSWER_MODAL_CALLBACK: Final = "awsquiz_answer_modal"
"""callback_id of the answer modal; its private_metadata carries the Answer button's value."""
ANSWER_BLOCK: Final = "awsquiz_answer_block"
ANSWER_INPUT: Final = "awsquiz_answer_input"
"""block_id and action_id of the modal's multi-line answer input."""

DAILY_VALUE_PREFIX: Final = "daily:"
"""An Answer button whose value starts with this answers a daily post: 'daily:<post id>'."""

OAUTH_REDIRECT_PATH: Final = "/slack/oauth_redirect"
"""Where Slack sends a workspace back after it installs the app (HTTP mode)."""
