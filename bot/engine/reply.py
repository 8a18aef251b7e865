"""Platform-neutral replies: what the engine says, for each adapter to render its own way."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.engine.model import UserRef


class Tone(StrEnum):
    """How a reply should look: adapters map it to colours or emoji."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


class ActionKind(StrEnum):
    """Buttons a reply offers."""

    ANSWER = "answer"
    HINT = "hint"
    SKIP = "skip"
    NEXT = "next"
    START_INTERVIEW = "start_interview"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Action:
    """A button: what it does and the value it carries (usually a question id)."""

    kind: ActionKind
    label: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class Field:
    """A labelled piece of a reply, e.g. Score: 80/100.

    A field about one person carries `user`: adapters show a mention where it cannot notify
    anyone, and the person's name elsewhere.
    """

    name: str
    value: str
    inline: bool = False
    user: UserRef | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the engine.

    Text may contain user input verbatim: every adapter escapes it for its platform.
    """

    title: str
    text: str = ""
    fields: tuple[Field, ...] = ()
    actions: tuple[Action, ...] = ()
    tone: Tone = Tone.INFO
    ephemeral: bool = True
    question_id: str | None = None
    score: int | None = None
