"""`awsquiz run` and `serve()` with Discord, end to end against the Discord double.

No test helper builds the client here: `bot.runner.run` reads the settings, points discord.py
at the double's URLs, builds the client and the handlers, and stops on its stop event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from doubles.discord import (
    APPLICATION_ID,
    BOT_TOKEN,
    CALLBACK_CHANNEL_MESSAGE,
    CHANNEL_ID,
    DEFAULT_TIMEOUT,
    GUILD_ID,
    USER_ID,
    DiscordDouble,
    pointed_at,
    slash_command_interaction,
)
from helpers import FixedClock, eventually

from bot.adapters.discord.client import AwsquizClient, serve
from bot.adapters.discord.handlers import DiscordHandlers
from bot.app import open_services
from bot.engine.daily.model import ChannelRef, PostState
from bot.engine.errors import SettingsError
from bot.engine.model import UserRef
from bot.runner import run
from bot.settings import Settings, load_settings
from storage import open_store

ROOM = ChannelRef("discord", str(GUILD_ID), str(CHANNEL_ID))
ALICE = UserRef("discord", str(GUILD_ID), str(USER_ID))


def discord_only(database: Path, double: DiscordDouble) -> Settings:
    """What an operator sets for `awsquiz run` with Discord alone (and a proxy: the double)."""
    return load_settings(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "DISCORD_TOKEN": BOT_TOKEN,
            "DISCORD_API_URL": double.rest_url,
            "DISCORD_GATEWAY_URL": str(double.gateway_url),
        }
    )


@pytest.fixture
async def double() -> AsyncIterator[DiscordDouble]:
    async with DiscordDouble() as started:
        yield started


async def test_awsquiz_run_with_only_a_discord_token_answers_and_stops(
    double: DiscordDouble, tmp_path: Path
) -> None:
    stop = asyncio.Event()
    with pointed_at(double):  # run() points discord.py at the settings' URLs; restore after
        running = asyncio.create_task(run(discord_only(tmp_path / "d.db", double), stop))
        await double.wait_for_gateway(1)
        await double.dispatch("INTERACTION_CREATE", slash_command_interaction(subcommand="topics"))
        (callback,) = await double.wait_for_callbacks(1)
        stop.set()
        async with asyncio.timeout(DEFAULT_TIMEOUT):
            await running  # returns: the client closed, the scheduler and the store shut down
    assert callback.type == CALLBACK_CHANNEL_MESSAGE
    assert "EC2" in json.dumps(callback.data["embeds"])
    (identify,) = double.identify_payloads()
    assert identify["token"] == BOT_TOKEN
    assert identify["intents"] == 4097  # guilds and direct messages: nothing privileged
    assert double.calls_to("PUT", f"/applications/{APPLICATION_ID}/commands")  # synced at start


async def test_awsquiz_run_posts_a_missed_daily_question_at_start_up(
    double: DiscordDouble, tmp_path: Path
) -> None:
    double.add_guild()
    database = tmp_path / "d.db"
    settings = discord_only(database, double)
    due = datetime.now(UTC) - timedelta(minutes=10)  # missed while the bot was down
    async with open_services(settings) as services:
        await services.daily.subscribe(
            ROOM, actor=ALICE, is_admin=True, post_time=f"{due:%H:%M}", timezone="UTC"
        )
    stop = asyncio.Event()
    with pointed_at(double):
        running = asyncio.create_task(run(settings, stop))
        try:
            await double.wait_for_gateway(1)
            state = await settled_post_state(settings)
        finally:
            stop.set()
            async with asyncio.timeout(DEFAULT_TIMEOUT):
                await running
    assert state is PostState.POSTED


async def settled_post_state(settings: Settings) -> PostState | None:
    """Today's post state in ROOM once it is no longer in flight (claimed), read apart."""
    assert settings.database_url is not None
    store = await open_store(settings.database_url)
    settled = (PostState.POSTED, PostState.FAILED)

    async def done() -> bool:
        post = await store.latest_post(ROOM)
        return post is not None and post.state in settled

    try:
        await eventually(done, "the daily post settling", seconds=DEFAULT_TIMEOUT)
        post = await store.latest_post(ROOM)
        return post.state if post is not None else None
    finally:
        await store.close()


async def test_serve_resumes_after_the_gateway_closes_and_still_answers(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    settings = load_settings({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"})
    client = AwsquizClient(None, guild_ready_timeout=0)
    stop = asyncio.Event()
    async with open_services(settings, clock=clock) as services:
        client.handlers = DiscordHandlers(services.tutor, client)
        with pointed_at(double):
            serving = asyncio.create_task(serve(client, BOT_TOKEN, stop))
            await double.wait_for_gateway(1)
            await double.close_gateway()  # Discord drops the connection
            await double.wait_for_gateway(2)
            await double.dispatch(
                "INTERACTION_CREATE", slash_command_interaction(subcommand="help")
            )
            (callback,) = await double.wait_for_callbacks(1)
            stop.set()
            async with asyncio.timeout(DEFAULT_TIMEOUT):
                await serving
    assert (double.identifies, double.resumes) == (1, 1)
    assert callback.type == CALLBACK_CHANNEL_MESSAGE
    assert client.is_closed()


async def test_a_bot_in_too_many_servers_for_one_shard_is_told_which_setting_to_set(
    double: DiscordDouble, tmp_path: Path
) -> None:
    with pointed_at(double):
        running = asyncio.create_task(run(discord_only(tmp_path / "d.db", double), asyncio.Event()))
        await double.wait_for_gateway(1)
        await double.close_gateway(4011)  # Discord: sharding required
        async with asyncio.timeout(DEFAULT_TIMEOUT):
            with pytest.raises(SettingsError) as caught:
                await running
    assert caught.value.name == "DISCORD_SHARD_COUNT"
    assert "4011" in caught.value.problem
