"""Discord UI components: persistent action buttons and the answer modal, both delegating.

Both are routed by custom_id alone, never by an object held in memory, so a button pressed or
a modal submitted after a restart (or on another process) reaches the handler all the same.
A custom_id of ours that routes nowhere, or a value that names nothing (an older bot's
buttons, or made-up ones), is answered with `STALE_BUTTON`, never left to fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, Protocol, Self

import discord

from bot.adapters.discord import ids
from bot.adapters.discord.boundary import answer_unexpected, refuse_stale
from bot.adapters.discord.render import cut
from bot.engine.daily.daily_replies import DAILY_ACTION_PREFIX
from bot.engine.errors import AwsquizError
from bot.engine.reply import ActionKind, Reply

MAX_BUTTONS: Final = 25
"""Five rows of five buttons: the most one message can hold."""
MAX_BUTTON_LABEL: Final = 80
MAX_MODAL_TITLE: Final = 45
MAX_INPUT_LABEL: Final = 45
MAX_PLACEHOLDER: Final = 100
MAX_TEXT_INPUT: Final = 4000
"""Discord's ceiling for a text input's max_length."""

MAX_POST_ID_DIGITS: Final = 18
"""A daily post id fits a 64-bit integer column; a longer one is made up."""

MODAL_TITLE: Final = "Your answer"
ANSWER_LABEL: Final = "Your answer"
DEFAULT_PLACEHOLDER: Final = "Type your answer"
NOT_READY: Final = "The bot is still starting up. Please try again in a moment."

OUR_PREFIX: Final = f"{ids.NAMESPACE}{ids.SEPARATOR}"
STALE_PATTERN: Final = re.compile(rf"(?!{ids.BUTTON_TEMPLATE}\Z){re.escape(OUR_PREFIX)}(?s:.*)")
"""Every custom_id of ours that no ActionButton claims (discord.py full-matches it)."""

BUTTON_STYLE: Final = {
    ActionKind.ANSWER: discord.ButtonStyle.primary,
    ActionKind.STOP: discord.ButtonStyle.danger,
}
"""Styles that stand out; every other action is secondary."""

_WHITESPACE = re.compile(r"\s+")
_ESCAPE = re.compile(r"\\(.)")
"""A markdown escape in a posted embed, undone for the modal's plain-text placeholder."""


class ButtonHandler(Protocol):
    """Decides what a pressed awsquiz button does."""

    async def on_button(
        self, interaction: discord.Interaction[Any], action: ActionKind, value: str
    ) -> None:
        """Handle a press of the button doing action with value."""


class ModalHandler(Protocol):
    """Decides what a submitted answer does."""

    async def on_answer(self, interaction: discord.Interaction[Any], value: str, text: str) -> None:
        """Handle an answer typed into the modal opened by a button carrying value."""


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=ids.BUTTON_PATTERN
):
    """A button carrying an action and its value in its custom_id, so it survives restarts."""

    handler: ClassVar[ButtonHandler | None] = None
    """Set by install(); buttons are rebuilt by discord.py from custom_ids, not constructed."""

    def __init__(
        self,
        action: ActionKind,
        value: str,
        *,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                custom_id=ids.button_id(action, value),
                label=cut(label or action.value, MAX_BUTTON_LABEL),
                style=style,
            )
        )
        self.action: Final = action
        self.value: Final = value

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Rebuild the pressed button from its custom_id, keeping its label and style."""
        label = item.label if isinstance(item, discord.ui.Button) else None
        style = item.style if isinstance(item, discord.ui.Button) else discord.ButtonStyle.secondary
        return cls(ActionKind(match["action"]), match["value"], label=label, style=style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the installed handler."""
        handler = type(self).handler
        if handler is None:
            await interaction.response.send_message(NOT_READY, ephemeral=True)
            return
        try:
            await handler.on_button(interaction, self.action, self.value)
        except Exception as error:  # the interaction must still be answered
            await answer_unexpected(interaction, error)


class StaleComponent(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=STALE_PATTERN
):
    """A component of ours that no handler reads (an action kind that is gone, a value that
    cannot be one): pressing it says so, privately."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Stand in for the pressed component, whatever it was."""
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Tell the member the button no longer works."""
        await refuse_stale(interaction)


def install(client: discord.Client, handler: ButtonHandler) -> None:
    """Route presses of every awsquiz button, also on messages sent before a restart, to handler;
    a press of a component of ours that routes nowhere is answered as stale."""
    ActionButton.handler = handler
    client.add_dynamic_items(ActionButton, StaleComponent)


def view_for(reply: Reply) -> discord.ui.View | None:
    """One persistent button per action of reply, or None when it offers no action."""
    if not reply.actions:
        return None
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    for action in reply.actions:
        button = ActionButton(
            action.kind,
            action.value,
            label=action.label.strip() or None,
            style=BUTTON_STYLE.get(action.kind, discord.ButtonStyle.secondary),
        )
        # Discord refuses two components with one custom_id in a message.
        if button.custom_id in seen or len(seen) == MAX_BUTTONS:
            continue
        seen.add(button.custom_id)
        view.add_item(button)
    return view


class AnswerModal(discord.ui.Modal):
    """Asks for a multi-line answer; its custom_id carries the Answer button's value.

    Only a form: its submission is routed by `submit_answer`, not by this object.
    """

    def __init__(self, value: str, prompt: str, max_chars: int) -> None:
        super().__init__(
            title=cut(MODAL_TITLE, MAX_MODAL_TITLE), custom_id=ids.modal_id(value), timeout=None
        )
        self.value: Final = value
        # A placeholder is plain one-line text: whitespace folded, nothing to escape.
        self.answer: Final = discord.ui.TextInput[Self](
            label=cut(ANSWER_LABEL, MAX_INPUT_LABEL),
            style=discord.TextStyle.paragraph,
            custom_id=ids.ANSWER_INPUT,
            placeholder=cut(_WHITESPACE.sub(" ", prompt).strip(), MAX_PLACEHOLDER) or None,
            required=True,
            min_length=1,
            max_length=min(max(max_chars, 1), MAX_TEXT_INPUT),
        )
        self.add_item(self.answer)


async def open_answer_modal(
    interaction: discord.Interaction[Any], value: str, prompt: str, max_chars: int
) -> None:
    """Show the answer modal for the Answer button carrying value."""
    modal = AnswerModal(value, prompt, max_chars)
    # Kept out of discord.py's modal store, which dispatches by custom_id to one live object:
    # submitted after a restart it would find none, and members answering the same daily post
    # share a custom_id, so the first submission would unregister everyone else's. A stopped
    # modal is not stored; `submit_answer` routes every submission instead.
    modal.stop()
    await interaction.response.send_modal(modal)


async def submit_answer(
    interaction: discord.Interaction[Any], handler: ModalHandler | None
) -> bool:
    """Route a submitted answer modal to handler by its custom_id; False if it is not ours."""
    if interaction.type is not discord.InteractionType.modal_submit or interaction.data is None:
        return False
    data: Mapping[str, Any] = interaction.data
    custom_id = str(data.get("custom_id", ""))
    value = ids.parse_modal_id(custom_id)
    if value is None:
        if not custom_id.startswith(OUR_PREFIX):
            return False
        await refuse_stale(interaction)  # a form of ours, but not one this bot still reads
        return True
    if handler is None:
        await interaction.response.send_message(NOT_READY, ephemeral=True)
        return True
    try:
        await handler.on_answer(interaction, value, answer_text(data))
    except Exception as error:  # the interaction must still be answered
        await answer_unexpected(interaction, error)
    return True


def answer_text(data: Mapping[str, Any]) -> str:
    """What was typed into the answer input of a modal submission ("" when it is missing).

    Inputs come in action rows (`components`) or, in newer modals, labels (`component`).
    """
    pending: list[Mapping[str, Any]] = list(data.get("components", []))
    while pending:
        component = pending.pop(0)
        if component.get("custom_id") == ids.ANSWER_INPUT:
            return str(component.get("value") or "")
        pending += component.get("components", [])
        if "component" in component:
            pending.append(component["component"])
    return ""


def answer_placeholder(
    interaction: discord.Interaction[Any], value: str, prompt_of: Callable[[str], str]
) -> str | None:
    """The answer modal's placeholder for an Answer button's value, without a database call:
    the question's wording (`prompt_of`, the catalog), or the daily post's embed. None when the
    value names no question: gone from the packs, or made up."""
    if value.startswith(DAILY_ACTION_PREFIX):
        if post_id_of(value) is None:
            return None
        embeds = interaction.message.embeds if interaction.message else []
        if embeds and embeds[0].description:
            return _ESCAPE.sub(r"\1", embeds[0].description)
        return DEFAULT_PLACEHOLDER
    try:
        return prompt_of(value)
    except AwsquizError:
        return None


def post_id_of(value: str) -> int | None:
    """The daily post id an Answer button's value carries; None for any other value."""
    if not value.startswith(DAILY_ACTION_PREFIX):
        return None
    digits = value.removeprefix(DAILY_ACTION_PREFIX)
    # isdigit() alone accepts '²' and other digits int() refuses.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_POST_ID_DIGITS:
        return None
    return int(digits)
