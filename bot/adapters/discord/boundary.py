"""Where discord.py hands an interaction to awsquiz: an unexpected failure, or a button that
no longer works, still gets an answer; one answered elsewhere gets none from us.

Refusals the engine means (AwsquizError) are replies already; anything else would leave the
member with "The application did not respond", or "thinking…" for ever after a defer.

An interaction is answered once. When Discord says 40060, "already acknowledged", another
process (or this one, for a gateway event delivered twice) answered it first: nothing more is
sent for it, neither the rest of the replies nor an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import discord

from bot.adapters.discord import render
from bot.adapters.discord.texts import STALE_BUTTON
from bot.engine import quiz_replies
from bot.engine.reply import Reply

UNEXPECTED: Final = (
    "Something went wrong on my side, and it has been logged. Please try again in a moment."
)
ALREADY_ACKNOWLEDGED: Final = 40060
"""Discord's code for a response to an interaction that already has one."""
ANSWERED_ELSEWHERE: Final = "awsquiz.answered_elsewhere"
"""The key in `Interaction.extras` that marks an interaction another responder answered."""

log = logging.getLogger(__name__)


async def answer_unexpected(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Log an unexpected failure with its traceback and tell the member privately.

    An autocomplete can only be answered with choices, so it is only logged; a 40060 is no
    failure at all (see `answered_elsewhere`).
    """
    if isinstance(error, discord.HTTPException) and note_answered_elsewhere(interaction, error):
        return
    log.error(
        "discord %s by user %s in channel %s failed",
        describe(interaction),
        interaction.user.id,
        interaction.channel_id,
        exc_info=error,
    )
    if interaction.type is discord.InteractionType.autocomplete or answered_elsewhere(interaction):
        return
    await _tell_privately(interaction, quiz_replies.error(UNEXPECTED))


def answered_elsewhere(interaction: discord.Interaction[Any]) -> bool:
    """Whether Discord said (40060) that someone else answered this interaction."""
    return bool(interaction.extras.get(ANSWERED_ELSEWHERE))


def note_answered_elsewhere(
    interaction: discord.Interaction[Any], error: discord.HTTPException
) -> bool:
    """Remember, when `error` is Discord's 40060, that the interaction was answered elsewhere,
    so that nothing else is sent for it; whether it was."""
    if error.code != ALREADY_ACKNOWLEDGED:
        return False
    interaction.extras[ANSWERED_ELSEWHERE] = True
    log.debug(
        "discord: %s %s was already answered elsewhere; not answering it again",
        describe(interaction),
        interaction.id,
    )
    return True


async def refuse_stale(interaction: discord.Interaction[Any]) -> None:
    """Tell the member privately that the button they pressed (or the form they sent) no
    longer works: an older bot's, or one whose custom_id was made up."""
    log.info("discord: stale %s from user %s", describe(interaction), interaction.user.id)
    await _tell_privately(interaction, quiz_replies.error(STALE_BUTTON))


async def _tell_privately(interaction: discord.Interaction[Any], reply: Reply) -> None:
    """The interaction response when it is still unused, else a follow-up (which also ends a
    defer's "thinking…")."""
    if answered_elsewhere(interaction):
        return
    embed = render.embed(reply)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                embed=embed, ephemeral=True, allowed_mentions=render.ALLOWED_MENTIONS
            )
        else:
            await interaction.response.send_message(
                embed=embed, ephemeral=True, allowed_mentions=render.ALLOWED_MENTIONS
            )
    except discord.HTTPException as failure:  # expired, or Discord is down: nothing left to do
        if not note_answered_elsewhere(interaction, failure):
            log.warning("discord: could not tell user %s: %s", interaction.user.id, failure)


def describe(interaction: discord.Interaction[Any]) -> str:
    """'/awsquiz stats', 'button awsquiz:hint:…' or 'modal …': what failed, for the log."""
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    data: Mapping[str, Any] = interaction.data or {}
    kind = "modal" if interaction.type is discord.InteractionType.modal_submit else "component"
    return f"{kind} {data.get('custom_id', '?')}"
