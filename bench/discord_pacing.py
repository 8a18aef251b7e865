"""Discord's global rate limit: a daily fan-out to N channels, paced and unpaced.

awsquiz's real Discord client (discord.py, the engine, a SQLite file) posts the daily
question in N channels of one server and then reveals each one, against the Discord double
of the tests with Discord's global limit enforced (a 429 past 50 requests in any second).
The same round runs with the pacer (awsquiz's default) and without it, in one process. Prints
per phase the requests sent, the global 429s drawn and the time taken, and the ratio of the
paced time to the unpaced one.

    python bench/discord_pacing.py [--channels 150]

A benchmark, not a test: it prints the figures and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from bot.adapters.discord.chat import DiscordChatAdapter
from bot.adapters.discord.client import AwsquizClient
from bot.adapters.discord.handlers import DiscordHandlers
from bot.adapters.discord.pacing import REQUESTS_PER_SECOND
from bot.app import open_services
from bot.engine.daily.model import ChannelRef
from bot.engine.model import UserRef
from bot.settings import load_settings

# The double is test infrastructure: the benchmark drives the same loopback Discord as the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from doubles.discord import BOT_TOKEN, CHANNEL_ID, GUILD_ID, USER_ID, DiscordDouble, running_client
from helpers import FixedClock

FIRST_CHANNEL: Final = CHANNEL_ID + 10_000


@dataclass(frozen=True)
class Phase:
    """One phase of a round: how many requests, how many global 429s, how long."""

    requests: int
    limited: int
    seconds: float


async def one_round(channels: int, *, paced: bool) -> tuple[Phase, Phase]:
    """Post and reveal the daily question in `channels` channels; the two phases' figures."""
    names = {FIRST_CHANNEL + index: f"daily-{index:03d}" for index in range(channels)}
    admin = UserRef("discord", str(GUILD_ID), str(USER_ID))
    clock = FixedClock()
    rate = REQUESTS_PER_SECOND if paced else None
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({"DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db"})
        async with DiscordDouble() as double:
            double.add_guild(channels=names)
            double.enforce_global_limit()
            client = AwsquizClient(None, requests_per_second=rate, guild_ready_timeout=0)
            adapters = {"discord": DiscordChatAdapter(client)}
            async with open_services(settings, adapters=adapters, clock=clock) as services:
                client.handlers = DiscordHandlers(services.tutor, client)
                async with running_client(client, BOT_TOKEN, double):
                    for channel_id in names:
                        room = ChannelRef("discord", str(GUILD_ID), str(channel_id))
                        await services.daily.subscribe(
                            room, actor=admin, is_admin=True, post_time="09:00", timezone="UTC"
                        )
                    posting = await measured(double, services.daily.post_due)
                    clock.advance(timedelta(days=1))
                    revealing = await measured(double, services.daily.reveal_due)
    return posting, revealing


async def measured(double: DiscordDouble, phase: Callable[[], Awaitable[object]]) -> Phase:
    """Run `phase` and count what the double saw meanwhile."""
    calls, limited = len(double.calls), double.global_rate_limited
    started = time.perf_counter()
    await phase()
    seconds = time.perf_counter() - started
    return Phase(len(double.calls) - calls, double.global_rate_limited - limited, seconds)


def report(name: str, phase: Phase) -> None:
    rate = phase.requests / phase.seconds if phase.seconds else 0.0
    print(
        f"  {name:<8} {phase.requests:>5} requests  {phase.limited:>4} global 429s  "
        f"{phase.seconds:6.2f} s  ({rate:5.1f} requests/s)"
    )


async def main(channels: int) -> None:
    logging.basicConfig(level=logging.ERROR)  # discord.py warns at every 429 of the baseline
    unpaced = await one_round(channels, paced=False)
    paced = await one_round(channels, paced=True)
    for name, (posting, revealing) in (("unpaced", unpaced), ("paced", paced)):
        print(f"{name} ({channels} channels, the double allows 50 requests in any second):")
        report("posts", posting)
        report("reveals", revealing)
    total_paced = paced[0].seconds + paced[1].seconds
    total_unpaced = unpaced[0].seconds + unpaced[1].seconds
    print(f"paced time / unpaced time: {total_paced / total_unpaced:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=150)
    asyncio.run(main(parser.parse_args().channels))
