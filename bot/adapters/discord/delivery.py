"""Getting a Reply to a Discord member: as the interaction's private answer, or as a message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import discord

from bot.adapters.discord import render
from bot.adapters.discord.chat import forget
from bot.adapters.discord.components import view_for
from bot.engine.reply import Reply

log = logging.getLogger(__name__)


async def send_private(interaction: discord.Interaction[Any], answers: Sequence[Reply]) -> None:
    """Show replies to the member only: the interaction response, or follow-ups after a defer."""
    for reply in answers:
        embed = render.embed(replace(reply, ephemeral=True))
        view = view_for(reply)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    embed=embed,
                    view=view or discord.utils.MISSING,
                    ephemeral=True,
                    allowed_mentions=render.ALLOWED_MENTIONS,
                )
            else:
                await interaction.response.send_message(
                    embed=embed,
                    view=view or discord.utils.MISSING,
                    ephemeral=True,
                    allowed_mentions=render.ALLOWED_MENTIONS,
                )
        except (discord.Forbidden, discord.NotFound) as error:
            log.warning(
                "discord reply in channel %s refused: %s", interaction.channel_id, error.text
            )
            return
        finally:
            forget(view)


async def post_or_raise(channel: discord.abc.Messageable, reply: Reply) -> None:
    """Post a message; a refusal is raised for the caller to handle."""
    view = view_for(reply)
    embed = render.embed(reply)
    if view is None:
        await channel.send(embed=embed, allowed_mentions=render.ALLOWED_MENTIONS)
        return
    try:
        await channel.send(embed=embed, view=view, allowed_mentions=render.ALLOWED_MENTIONS)
    finally:
        forget(view)


async def post(channel: discord.abc.Messageable, reply: Reply) -> None:
    """Post a message; a refused one is logged, not raised (the member left, or blocked)."""
    try:
        await post_or_raise(channel, reply)
    except (discord.Forbidden, discord.NotFound) as error:
        log.warning("discord post in channel %s refused: %s", _id_of(channel), error.text)


def _id_of(channel: discord.abc.Messageable) -> str:
    return str(getattr(channel, "id", "?"))
