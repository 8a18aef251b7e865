"""Custom ids of the Discord adapter's buttons, answer modal and answer input."""

from __future__ import annotations

import re
from typing import Final

from bot.engine.reply import ActionKind

MAX_CUSTOM_ID: Final = 100
"""Discord refuses a component or modal custom_id longer than this."""

NAMESPACE: Final = "awsquiz"
SEPARATOR: Final = ":"
ANSWER_MODAL: Final = "answer_modal"
"""The modal's middle segment; it cannot clash with a button, no ActionKind has this value."""

ANSWER_INPUT: Final = f"{NAMESPACE}{SEPARATOR}answer_text"
"""custom_id of the modal's multi-line answer input."""

_ACTION_ALTERNATIVES: Final = "|".join(re.escape(kind.value) for kind in ActionKind)
BUTTON_TEMPLATE: Final = (
    f"{NAMESPACE}{SEPARATOR}(?P<action>{_ACTION_ALTERNATIVES}){SEPARATOR}(?P<value>.*)"
)
"""Regex (fullmatched by discord.py) of every awsquiz button: 'awsquiz:<action>:<value>'.

Only real ActionKind values match, so a stale or foreign custom_id never reaches a handler;
the value may be empty (an Action without one) but never holds a line break.
"""
BUTTON_PATTERN: Final = re.compile(BUTTON_TEMPLATE)
MODAL_PATTERN: Final = re.compile(f"{NAMESPACE}{SEPARATOR}{ANSWER_MODAL}{SEPARATOR}(?P<value>.*)")
"""Regex of the answer modal's custom_id: 'awsquiz:answer_modal:<value>'."""

_LONGEST_PREFIX: Final = max(
    len(f"{NAMESPACE}{SEPARATOR}{segment}{SEPARATOR}")
    for segment in (*(kind.value for kind in ActionKind), ANSWER_MODAL)
)
MAX_VALUE_LENGTH: Final = MAX_CUSTOM_ID - _LONGEST_PREFIX
"""Longest value a button or the answer modal can carry (76 characters).

One limit for every action, so a question id that fits one button fits them all, and the
Answer button's value always fits the modal it opens. A custom_id cannot be shortened and
looked up later (nothing stores the mapping), so a longer value is refused, not cut.
"""


def check_value(value: str) -> str:
    """Return value if it can ride in a custom_id, else raise ValueError saying why."""
    if len(value) > MAX_VALUE_LENGTH:
        raise ValueError(
            f"value too long for a Discord custom_id: {len(value)} > {MAX_VALUE_LENGTH} chars"
        )
    if any(not char.isprintable() for char in value):
        raise ValueError(f"value has unprintable characters: {value!r}")
    return value


def button_id(action: ActionKind, value: str) -> str:
    """The custom_id of a button doing action with value: 'awsquiz:<action>:<value>'."""
    return f"{NAMESPACE}{SEPARATOR}{action.value}{SEPARATOR}{check_value(value)}"


def parse_button_id(custom_id: str) -> tuple[ActionKind, str]:
    """The action and value of an awsquiz button's custom_id; ValueError for any other id."""
    match = BUTTON_PATTERN.fullmatch(custom_id)
    if match is None:
        raise ValueError(f"not an awsquiz button: {custom_id!r}")
    return ActionKind(match["action"]), match["value"]


def modal_id(value: str) -> str:
    """The custom_id of the answer modal opened by a button with value."""
    return f"{NAMESPACE}{SEPARATOR}{ANSWER_MODAL}{SEPARATOR}{check_value(value)}"


def parse_modal_id(custom_id: str) -> str | None:
    """The value an answer modal's custom_id carries, or None for any other custom_id."""
    match = MODAL_PATTERN.fullmatch(custom_id)
    return match["value"] if match is not None else None
