"""Where discord.py hands an interaction to awsquiz: an unexpected failure still gets an answer.

Refusals the engine means (AwsquizError) are replies already; anything else would leave the
member with "The application did not respond", or "thinking…" for ever after a defer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import discord

from bot.adapters.discord import render
from bot.engine import quiz_replies

UNEXPECTED: Final = (
    "Something went wrong on my side, and it has been logged. Please try again in a moment."
)

log = logging.getLogger(__name__)


async def answer_unexpected(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Log an unexpected failure with its traceback and tell the member privately.

    The interaction response when it is still unused, else a follow-up (which also ends a
    defer's "thinking…"). An autocomplete can only be answered with choices, so it is logged.
    """
    log.error(
        "discord %s by user %s in channel %s failed",
        describe(interaction),
        interaction.user.id,
        interaction.channel_id,
        exc_info=error,
    )
    if interaction.type is discord.InteractionType.autocomplete:
        return
    embed = render.embed(quiz_replies.error(UNEXPECTED))
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
        log.warning("discord: could not tell user %s: %s", interaction.user.id, failure)


def describe(interaction: discord.Interaction[Any]) -> str:
    """'/awsquiz stats', 'button awsquiz:hint:…' or 'modal …': what failed, for the log."""
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    data: Mapping[str, Any] = interaction.data or {}
    kind = "modal" if interaction.type is discord.InteractionType.modal_submit else "component"
    return f"{kind} {data.get('custom_id', '?')}"
