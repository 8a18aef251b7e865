"""Getting a Reply to a Discord member: as the interaction's answer (private, or for the
channel), or as a message."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import discord

from bot.adapters.discord import render
from bot.adapters.discord.boundary import answered_elsewhere, note_answered_elsewhere
from bot.adapters.discord.chat import forget
from bot.adapters.discord.components import view_for
from bot.engine.reply import Reply

log = logging.getLogger(__name__)


async def send_private(
    interaction: discord.Interaction[Any],
    answers: Sequence[Reply],
    *,
    mentions: Mapping[str, str] | None = None,
) -> None:
    """Show replies to the member only: the interaction response, or follow-ups after a defer.

    `mentions` turns the commands our own text names into clickable ones (see
    `render.link_commands`).
    """
    await _respond(interaction, answers, ephemeral=True, mentions=mentions or {})


async def send_public(interaction: discord.Interaction[Any], answers: Sequence[Reply]) -> None:
    """Show replies to everyone in the channel; sent without mentions, they ping nobody."""
    await _respond(interaction, answers, ephemeral=False, mentions={})


async def defer(interaction: discord.Interaction[Any], *, ephemeral: bool = True) -> None:
    """Show "thinking…" (the 3 s deadline), to the member only unless `ephemeral` is False;
    an interaction someone else already answered is left alone (see `boundary`)."""
    try:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    except discord.HTTPException as error:
        if not note_answered_elsewhere(interaction, error):
            raise


async def _respond(
    interaction: discord.Interaction[Any],
    answers: Sequence[Reply],
    *,
    ephemeral: bool,
    mentions: Mapping[str, str],
) -> None:
    for reply in answers:
        if answered_elsewhere(interaction):
            return  # another process answered: one response per interaction, and it is theirs
        embed = render.embed(replace(reply, ephemeral=ephemeral))
        if mentions and embed.description:
            embed.description = render.link_commands(embed.description, mentions)
        view = view_for(reply)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    embed=embed,
                    view=view or discord.utils.MISSING,
                    ephemeral=ephemeral,
                    allowed_mentions=render.ALLOWED_MENTIONS,
                )
            else:
                await interaction.response.send_message(
                    embed=embed,
                    view=view or discord.utils.MISSING,
                    ephemeral=ephemeral,
                    allowed_mentions=render.ALLOWED_MENTIONS,
                )
        except (discord.Forbidden, discord.NotFound) as error:
            log.warning(
                "discord reply in channel %s refused: %s", interaction.channel_id, error.text
            )
            return
        except discord.HTTPException as error:
            if note_answered_elsewhere(interaction, error):
                return
            raise
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
