"""What the daily question's admins are told by DM, gathered so that one burst of trouble is
one DM: 150 refused posts of one admin's channels are one message listing them, not 150.

A posting round is many cron jobs and sweeps firing together, each only seeing its own
channels, so a batch is "while posts are still being sent, and until none has gone wrong
for a moment": the notices of one admin wait for that, then leave together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from bot.adapters.discord.render import units
from bot.engine.reply import Reply, Tone

QUIET_SECONDS: Final = 1.0
"""A batch leaves once nothing has been added for this long and no post is being sent."""
LONGEST_WAIT_SECONDS: Final = 60.0
"""However busy the platform stays, what was gathered leaves this long after its first notice."""
MAX_LISTED: Final = 3000
"""Characters of channel lists in one DM; the rest is counted ("and 12 more")."""

log = logging.getLogger(__name__)


class NoticeKind(StrEnum):
    """What went wrong; each kind is a DM of its own, with its own title and advice."""

    NOT_POSTED = "not_posted"
    REVEALED_DIFFERENTLY = "revealed_differently"


@dataclass(frozen=True, slots=True)
class Notice:
    """One channel's trouble, in words for its admin: where, and what (without the where)."""

    kind: NoticeKind
    channel: str
    """'#name', or 'channel <id>' when the channel is not cached."""
    problem: str


Send = Callable[[str, Reply, int], Awaitable[None]]
"""Sends one DM to a user: (user id, the message, how many channels it is about)."""


class AdminNotices:
    """Gathers notices per admin and kind, and sends each group as one DM when things settle."""

    def __init__(
        self,
        send: Send,
        *,
        busy: Callable[[], bool] = lambda: False,
        quiet: float | None = None,
        longest: float | None = None,
    ) -> None:
        """`busy` says whether posts are still being sent; `quiet` and `longest` default to
        QUIET_SECONDS and LONGEST_WAIT_SECONDS."""
        self._send = send
        self._busy = busy
        self._quiet = QUIET_SECONDS if quiet is None else quiet
        self._longest = LONGEST_WAIT_SECONDS if longest is None else longest
        self._pending: dict[tuple[str, NoticeKind], list[Notice]] = {}
        self._added = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    def add(self, user_id: str, notice: Notice) -> None:
        """Tell `user_id` about `notice`, with whatever else goes wrong meanwhile."""
        group = self._pending.setdefault((user_id, notice.kind), [])
        if notice not in group:
            group.append(notice)
        self._added.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_when_settled(), name="discord-notices")

    async def close(self) -> None:
        """Send what is gathered now (at shutdown), and stop waiting."""
        if self._sender is not None:
            self._sender.cancel()
            with suppress(asyncio.CancelledError):
                await self._sender
        await self._send_pending()

    async def _send_when_settled(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._longest
        while loop.time() < deadline:
            self._added.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(min(self._quiet, max(deadline - loop.time(), 0))):
                    await self._added.wait()
            if not self._added.is_set() and not self._busy():
                break
        await self._send_pending()

    async def _send_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for (user_id, kind), notices in pending.items():
            try:
                await self._send(user_id, message(kind, notices), len(notices))
            except Exception:  # one admin's DM must not cost the others theirs
                log.exception(
                    "discord: telling user %s about %d channels failed", user_id, len(notices)
                )


TITLES: Final = {
    NoticeKind.NOT_POSTED: "The daily question was not posted",
    NoticeKind.REVEALED_DIFFERENTLY: "The daily answer was revealed differently",
}
NOT_POSTED_ADVICE: Final = (
    "Fix the channel's permissions and the next one will be posted as scheduled "
    "(/awsquiz daily status shows when)."
)
NOT_POSTED_ADVICE_MANY: Final = (
    "Fix the channels' permissions and the next ones will be posted as scheduled "
    "(/awsquiz daily status shows when)."
)


def message(kind: NoticeKind, notices: Sequence[Notice]) -> Reply:
    """The DM about `notices`: one channel's in a sentence, several as lists by problem."""
    if len(notices) == 1:
        (notice,) = notices
        if kind is NoticeKind.NOT_POSTED:
            text = f"I cannot post in {notice.channel}: {notice.problem} {NOT_POSTED_ADVICE}"
        else:
            text = f"The answer of the daily question in {notice.channel} was {notice.problem}"
        return Reply(title=TITLES[kind], text=text, tone=Tone.WARNING)
    if kind is NoticeKind.NOT_POSTED:
        intro, outro = f"I could not post in {len(notices)} channels.", NOT_POSTED_ADVICE_MANY
    else:
        intro, outro = f"In {len(notices)} channels the answer was revealed differently.", ""
    lines = [intro, *_listed_by_problem(notices), outro]
    return Reply(
        title=f"{TITLES[kind]} in {len(notices)} channels",
        text="\n".join(line for line in lines if line),
        tone=Tone.WARNING,
    )


def _listed_by_problem(notices: Sequence[Notice]) -> list[str]:
    """'#a, #b and 3 more: the problem' lines, one per problem, within MAX_LISTED."""
    by_problem: dict[str, list[str]] = {}
    for notice in notices:
        by_problem.setdefault(notice.problem, []).append(notice.channel)
    room = MAX_LISTED
    lines = []
    for problem, channels in by_problem.items():
        room -= units(problem) + 2
        shown: list[str] = []
        for channel in channels:
            if units(channel) + 2 > room:
                break
            shown.append(channel)
            room -= units(channel) + 2
        more = len(channels) - len(shown)
        listed = ", ".join(shown)
        if more:
            listed = f"{listed} and {more} more" if shown else f"{more} channels"
        lines.append(f"{listed}: {problem}")
    return lines
