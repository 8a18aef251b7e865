"""Render engine Replies as Discord embeds: escaped user text, within Discord's embed limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import discord

from bot.engine.model import UserRef
from bot.engine.reply import Field, Reply, Tone

# Embed limits (discord.com/developers/docs/resources/message#embed-object-embed-limits).
MAX_TITLE: Final = 256
MAX_DESCRIPTION: Final = 4096
MAX_FIELDS: Final = 25
MAX_FIELD_NAME: Final = 256
MAX_FIELD_VALUE: Final = 1024
MAX_FOOTER: Final = 2048
MAX_TOTAL: Final = 6000
"""Sum of title, description, field names and values, footer and author name."""

MAX_PERSON_NAME: Final = 80
"""A display name shown instead of a mention is cut here, leaving room for the field's value."""
MIN_FIELD_VALUE: Final = 40
"""A field that would get less room than this is dropped rather than shown as a stub."""

ELLIPSIS: Final = "…"
ZERO_WIDTH_SPACE: Final = "\u200b"
"""Invisible; after '@' or '<' it stops Discord from reading a mention, and it fills a blank
field name or value, which Discord refuses when empty."""
PERSON_SEPARATOR: Final = " · "
MORE_NOT_SHOWN: Final = "More not shown: Discord limits how much one message can hold."

ALLOWED_MENTIONS: Final = discord.AllowedMentions.none()
"""Send every message with this: no mention in anything the bot posts ever notifies anyone."""

TONE_EMOJI: Final = {
    Tone.SUCCESS: "✅",
    Tone.WARNING: "⚠️",
    Tone.ERROR: "❌",
    Tone.INFO: "💡",
}
"""Unicode, not ':shortcodes:', which embeds do not expand."""
TONE_COLOUR: Final = {
    Tone.SUCCESS: discord.Colour.green(),
    Tone.WARNING: discord.Colour.gold(),
    Tone.ERROR: discord.Colour.red(),
    Tone.INFO: discord.Colour.blurple(),
}

DISCORD_USER_ID: Final = re.compile(r"[0-9]{1,20}")
"""Only an all-digit id (a snowflake) is ever put inside <@...>; anything else stays text."""

_BROADCAST = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_ANGLE_TOKEN = re.compile(r"<(?=[@#/:]|[a-z]+:)", re.IGNORECASE)
"""'<' opening a user, role or channel mention, a command, emoji, timestamp or nav link."""
_ATOM = re.compile(r"\\.|[<@]\u200b|.", re.DOTALL)
"""One visible character of escaped text: an escape is never cut from what it escapes."""


def escape(text: str) -> str:
    """Make user text inert in Discord markdown: no formatting, links, mentions or broadcasts."""
    escaped = discord.utils.escape_markdown(text)
    escaped = _BROADCAST.sub("@" + ZERO_WIDTH_SPACE, escaped)
    # Defence in depth: ALLOWED_MENTIONS already stops pings; this stops the blue pill too.
    return _ANGLE_TOKEN.sub("<" + ZERO_WIDTH_SPACE, escaped)


def embed(reply: Reply) -> discord.Embed:
    """Turn a Reply into one embed: tone emoji and colour, title, text, then fields."""
    emoji = TONE_EMOJI[reply.tone]
    title = f"{emoji} {fit(reply.title, MAX_TITLE - units(emoji) - 1)}".rstrip()
    # Room for the note is kept back from the start so it always fits when needed.
    room = MAX_TOTAL - units(MORE_NOT_SHOWN) - units(title)
    description = fit(reply.text, min(MAX_DESCRIPTION, room)) if reply.text.strip() else None
    room -= units(description or "")
    result = discord.Embed(title=title, description=description, colour=TONE_COLOUR[reply.tone])
    shown = 0
    for field in reply.fields:
        name = fit(field.name, MAX_FIELD_NAME) or ZERO_WIDTH_SPACE
        value_room = min(MAX_FIELD_VALUE, room - units(name))
        if shown == MAX_FIELDS or value_room < MIN_FIELD_VALUE:
            break
        value = _field_value(field, value_room)
        result.add_field(name=name, value=value, inline=field.inline)
        room -= units(name) + units(value)
        shown += 1
    if shown < len(reply.fields):
        result.set_footer(text=MORE_NOT_SHOWN)
    return result


def link_commands(text: str, mentions: Mapping[str, str]) -> str:
    """Make each command `mentions` names ('/awsquiz ask') a clickable command mention
    ('</awsquiz ask:ID>') in rendered text of our own, such as the help.

    Run after `embed`, whose escaping would neutralise '</'; the longest names go first, so
    '/awsquiz daily set' is never taken for a shorter command.
    """
    if not mentions:
        return text
    names = sorted(mentions, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(name) for name in names) + r"(?![\w-])")
    return pattern.sub(lambda found: mentions[found.group()], text)


def fit(raw: str, limit: int) -> str:
    """Escape raw text, then shorten it to limit with an ellipsis, never splitting an escape."""
    escaped = escape(raw.strip())
    if units(escaped) <= limit:
        return escaped
    if limit < units(ELLIPSIS):
        return ""
    kept: list[str] = []
    used = units(ELLIPSIS)
    for match in _ATOM.finditer(escaped):
        atom = match.group()
        used += units(atom)
        if used > limit:
            break
        kept.append(atom)
    return "".join(kept).rstrip() + ELLIPSIS


def cut(text: str, limit: int) -> str:
    """Shorten plain text (labels, placeholders: never parsed as markdown) to limit."""
    if units(text) <= limit:
        return text
    kept: list[str] = []
    used = units(ELLIPSIS)
    for char in text:
        used += units(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def units(text: str) -> int:
    """Length in UTF-16 code units: never less than Discord's count, so limits always hold."""
    if text.isascii():  # the usual case, and a check done in C
        return len(text)
    # Two bytes per unit; surrogatepass counts a lone surrogate as the one unit it is.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _field_value(field: Field, limit: int) -> str:
    """The field's escaped value within limit, after the person it is about; never empty."""
    if field.user is None:
        return fit(field.value, limit) or ZERO_WIDTH_SPACE
    # Half the room at most, so a long display name never crowds out the value.
    person = _person(field.user, min(MAX_PERSON_NAME, limit // 2))
    if not field.value.strip():
        return person
    room = limit - units(person) - units(PERSON_SEPARATOR)
    return f"{person}{PERSON_SEPARATOR}{fit(field.value, room)}"


def _person(user: UserRef, max_name: int) -> str:
    """A mention (shown as the name; sent with ALLOWED_MENTIONS it pings nobody), else the name."""
    if DISCORD_USER_ID.fullmatch(user.user):
        return f"<@{user.user}>"
    return fit(user.display_name or user.user, max_name) or ZERO_WIDTH_SPACE
