"""A ChatAdapter that prints posts to the terminal: `awsquiz daily run-once --adapter console`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from rich.console import Console

from bot.adapters.console.render import renderable
from bot.engine.daily.model import ChannelRef
from bot.engine.reply import Reply


@dataclass
class ConsoleChatAdapter:
    """Shows what would be posted, channel by channel."""

    console: Console
    platform: str
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post(self, channel: ChannelRef, reply: Reply, *, key: str | None = None) -> str:
        """Print a channel message."""
        self.console.print(f"[bold]#{channel.channel}[/bold] ({channel})", highlight=False)
        self.console.print(renderable(reply))
        return f"console-{next(self._ids)}"

    async def post_reply(
        self, channel: ChannelRef, message_id: str, reply: Reply, *, key: str | None = None
    ) -> str:
        """Print a threaded reply."""
        self.console.print(f"[bold]#{channel.channel}[/bold] thread of {message_id}")
        self.console.print(renderable(reply))
        return f"console-{next(self._ids)}"

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime, under: str | None = None
    ) -> str | None:
        """None: what was printed is gone, and printing again loses nothing."""
        return None
