"""Discord UI components: persistent action buttons and the answer modal, both delegating.

Both are routed by custom_id alone, never by an object held in memory, so a button pressed or
a modal submitted after a restart (or on another process) reaches the handler all the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Protocol, Self

import discord

from bot.adapters.discord import ids
from bot.adapters.discord.boundary import answer_unexpected
from bot.adapters.discord.render import cut
from bot.engine.reply import ActionKind, Reply

MAX_BUTTONS: Final = 25
"""Five rows of five buttons: the most one message can hold."""
MAX_BUTTON_LABEL: Final = 80
MAX_MODAL_TITLE: Final = 45
MAX_INPUT_LABEL: Final = 45
MAX_PLACEHOLDER: Final = 100
MAX_TEXT_INPUT: Final = 4000
"""Discord's ceiling for a text input's max_length."""

MODAL_TITLE: Final = "Your answer"
ANSWER_LABEL: Final = "Your answer"
NOT_READY: Final = "The bot is still starting up. Please try again in a moment."

BUTTON_STYLE: Final = {
    ActionKind.ANSWER: discord.ButtonStyle.primary,
    ActionKind.STOP: discord.ButtonStyle.danger,
}
"""Styles that stand out; every other action is secondary."""

_WHITESPACE = re.compile(r"\s+")


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


def install(client: discord.Client, handler: ButtonHandler) -> None:
    """Route presses of every awsquiz button, also on messages sent before a restart, to handler."""
    ActionButton.handler = handler
    client.add_dynamic_items(ActionButton)


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
    value = ids.parse_modal_id(str(data.get("custom_id", "")))
    if value is None:
        return False
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
