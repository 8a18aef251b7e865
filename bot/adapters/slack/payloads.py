"""Reading Slack interaction payloads: who pressed, where, and what a button carries.

A button's value and a modal's private_metadata come back as we sent them, unless the message
is from an older version of the bot or the payload was made up: what cannot be read is None
here, and the member is told `STALE_BUTTON`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from bot.adapters.slack.entities import decode
from bot.adapters.slack.ids import DAILY_VALUE_PREFIX, PLATFORM
from bot.adapters.slack.members import DM_PREFIX
from bot.engine.model import UserRef
from bot.engine.tutor import Where

STALE_BUTTON: Final = "This button is no longer valid."
ANY_AWSQUIZ_ACTION: Final = re.compile(r"^awsquiz_")
"""Every action id of ours (`ids.ACTION_IDS`), also of buttons no listener handles any more."""
MAX_POST_ID_DIGITS: Final = 18
"""A daily post id fits a 64-bit integer column; a longer one is made up."""
TYPED_SUBTYPES: Final = frozenset({"file_share", "thread_broadcast"})
"""Message subtypes a member types an answer in: with a file attached, or a thread reply also
sent to the conversation. Every other subtype (an edit, a deletion, a bot's, a join) is not a
message typed to the bot."""


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """A message a member typed in their DM with the bot."""

    user: UserRef
    channel: str
    text: str
    """As typed: Slack's HTML entities decoded."""
    event_id: str
    thread_ts: str | None
    """The thread it was written in, where the answer to it goes; None outside threads."""


def direct_message(body: dict[str, Any], event: dict[str, Any]) -> DirectMessage | None:
    """The member's message a `message` event carries, if it is one typed in the bot's DM."""
    if event.get("channel_type") != "im" or event.get("bot_id") or not event.get("user"):
        return None
    subtype = event.get("subtype")
    if subtype is not None and subtype not in TYPED_SUBTYPES:
        return None
    thread = event.get("thread_ts")
    return DirectMessage(
        user=UserRef(PLATFORM, body.get("team_id") or event.get("team", ""), event["user"]),
        channel=str(event["channel"]),
        text=decode(event.get("text") or ""),
        event_id=str(body.get("event_id") or event["ts"]),
        thread_ts=str(thread) if thread else None,
    )


@dataclass(frozen=True, slots=True)
class AnswerOrigin:
    """What the answer modal carries from the Answer button that opened it."""

    value: str
    """The button's value: a question id, or `daily:<post id>`."""
    channel: str | None
    response_url: str | None

    @property
    def post_id(self) -> int | None:
        """The daily post answered, or None when the value is a question id."""
        return post_id_of(self.value)

    @property
    def where(self) -> Where:
        """Where the button was pressed, for the Tutor's routing."""
        return Where(self.channel, (self.channel or "").startswith(DM_PREFIX))

    def metadata(self) -> str:
        """The modal's private_metadata."""
        return json.dumps(
            {"value": self.value, "channel": self.channel, "response_url": self.response_url}
        )


def answer_origin(metadata: str) -> AnswerOrigin | None:
    """The origin a modal's private_metadata carries; None unless `AnswerOrigin.metadata`
    wrote it (for a daily post, with a post id)."""
    try:
        fields = json.loads(metadata)
    except (ValueError, RecursionError):
        return None
    if not isinstance(fields, dict):
        return None
    value, channel, url = (fields.get(key) for key in ("value", "channel", "response_url"))
    if not isinstance(value, str) or not all(isinstance(v, str | None) for v in (channel, url)):
        return None
    origin = AnswerOrigin(value, channel, url)
    if value.startswith(DAILY_VALUE_PREFIX) and origin.post_id is None:
        return None
    return origin


def button_value(body: dict[str, Any]) -> str:
    """The value of the pressed button ("" when it has none)."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    value = action.get("value") if isinstance(action, dict) else None
    return value if isinstance(value, str) else ""


def typed_answer(view: dict[str, Any], block: str, element: str) -> str:
    """What was typed into a modal's input `element` of `block` ("" when it is missing)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    inputs = values.get(block) if isinstance(values, dict) else None
    typed = inputs.get(element) if isinstance(inputs, dict) else None
    text = typed.get("value") if isinstance(typed, dict) else None
    return text if isinstance(text, str) else ""


def user_of(body: dict[str, Any]) -> UserRef:
    """The Slack user of an interaction payload, scoped by their team."""
    person = body["user"]
    team = (body.get("team") or {}).get("id") or person.get("team_id", "")
    return UserRef(PLATFORM, team, person["id"], person.get("username") or person.get("name", ""))


def channel_of(body: dict[str, Any]) -> str | None:
    """The channel an interaction happened in (messages carry it; modals do not)."""
    found = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
    return str(found) if found else None


def where_of(body: dict[str, Any]) -> Where:
    channel = channel_of(body)
    return Where(channel, (channel or "").startswith(DM_PREFIX))


def post_id_of(value: str) -> int | None:
    """The daily post id a button value carries; None for any other value."""
    if not value.startswith(DAILY_VALUE_PREFIX):
        return None
    digits = value.removeprefix(DAILY_VALUE_PREFIX)
    # isdigit() alone accepts '²' and other digits int() refuses.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_POST_ID_DIGITS:
        return None
    return int(digits)


def deduplicated_event_id(body: dict[str, Any]) -> str | None:
    """The event id by which a retry of this Events API body is told apart, if it has one.

    None for a DM message too: it counts once by the replies stored with its effect, so a
    retry after a crash mid-answer (effect not stored) is still answered.
    """
    if body.get("type") != "event_callback" or not body.get("event_id"):
        return None
    event = body.get("event")
    dm = isinstance(event, dict) and (event.get("type"), event.get("channel_type")) == (
        "message",
        "im",
    )
    return None if dm else str(body["event_id"])
