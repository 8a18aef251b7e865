"""Replies stored with what they answer: a DM answer's grade and next question survive a crash.

A member's message in the bot's DM changes the interview and is answered by two messages. The
change, the replies and the message's event id are written in one transaction; the replies
are sent after it, and marked sent. A process killed in between leaves them stored: its
restart sends them, and a platform's retry of the same event gets the stored replies instead
of being graded a second time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from bot.engine.model import UserRef
from bot.engine.reply import Action, ActionKind, Field, Reply, Tone

FORMAT_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Receipt:
    """A member's message the bot answers exactly once: the platform's id for its delivery
    (Slack's event id, Discord's message id) and the DM channel the answer goes to."""

    event_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class StoredReplies:
    """Replies stored for one received message, and whether they were sent."""

    user: UserRef
    receipt: Receipt
    replies: tuple[Reply, ...]
    created_at: datetime
    sent: bool = False


def encode_replies(replies: Sequence[Reply]) -> str:
    """The replies as JSON text, for the outbox."""
    return json.dumps({"version": FORMAT_VERSION, "replies": [asdict(r) for r in replies]})


def decode_replies(text: str) -> tuple[Reply, ...]:
    """The replies `encode_replies` wrote; ValueError for anything else."""
    try:
        document = json.loads(text)
        if document.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown outbox format {document.get('version')!r}")
        return tuple(_reply(raw) for raw in document["replies"])
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise ValueError(f"not stored replies: {error}") from error


def _reply(raw: dict[str, Any]) -> Reply:
    return Reply(
        title=raw["title"],
        text=raw["text"],
        fields=tuple(_field(f) for f in raw["fields"]),
        actions=tuple(_action(a) for a in raw["actions"]),
        tone=Tone(raw["tone"]),
        ephemeral=raw["ephemeral"],
        question_id=raw["question_id"],
        score=raw["score"],
    )


def _action(raw: dict[str, Any]) -> Action:
    return Action(ActionKind(raw["kind"]), raw["label"], raw["value"])


def _field(raw: dict[str, Any]) -> Field:
    user = raw["user"]
    return Field(
        name=raw["name"],
        value=raw["value"],
        inline=raw["inline"],
        user=UserRef(**user) if user is not None else None,
    )
