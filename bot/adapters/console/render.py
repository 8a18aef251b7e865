"""Render engine Replies for the terminal with rich; user text is never parsed as markup."""

from __future__ import annotations

from typing import Final

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from bot.engine.reply import Reply, Tone

TONE_STYLE: Final = {
    Tone.INFO: "cyan",
    Tone.SUCCESS: "green",
    Tone.WARNING: "yellow",
    Tone.ERROR: "red",
}


def renderable(reply: Reply) -> RenderableType:
    """Turn a Reply into a titled panel: text first, then one line per field."""
    parts: list[RenderableType] = []
    if reply.text:
        parts.append(Text(reply.text))
    for field in reply.fields:
        line = Text()
        who = f" {field.user.display_name or field.user.user}" if field.user else ""
        line.append(f"{field.name}{who}: ", style="bold")
        line.append(field.value)
        parts.append(line)
    style = TONE_STYLE[reply.tone]
    return Panel(
        Group(*parts) if parts else Text(""),
        title=Text(reply.title, style=f"bold {style}"),
        title_align="left",
        border_style=style,
    )


def show(console: Console, *replies: Reply) -> None:
    """Print replies in order."""
    for reply in replies:
        console.print(renderable(reply))
