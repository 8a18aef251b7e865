"""Personal data through real discord.py over loopback: `/awsquiz forget [confirm]`, and a
server that removes the bot (purged after the grace period, unless the bot is added back)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from doubles.discord import (
    APPLICATION_ID,
    BOT_TOKEN,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    DEFAULT_TIMEOUT,
    EPHEMERAL_FLAG,
    GUILD_ID,
    USER_ID,
    DiscordDouble,
    JsonObject,
    OptionValue,
    running_client,
    slash_command_interaction,
)
from helpers import FixedClock, eventually
from sqlalchemy import text

from bot.adapters.discord.chat import DiscordChatAdapter
from bot.adapters.discord.client import AwsquizClient
from bot.adapters.discord.handlers import DiscordHandlers
from bot.adapters.discord.texts import FORGET_CONFIRM
from bot.app import Services, open_services
from bot.settings import load_settings

OTHER_GUILD_ID = GUILD_ID + 1000
OTHER_CHANNEL_ID = 7777
BOB_ID = USER_ID + 1
AS_BOB: dict[str, Any] = {"user_id": BOB_ID, "user_name": "bob"}
IN_OTHER_GUILD: dict[str, Any] = {"guild_id": OTHER_GUILD_ID, "channel_id": OTHER_CHANNEL_ID}
GRACE_DAYS = 30


@dataclass
class Rig:
    """awsquiz's Discord client, READY against the double in two servers, and its services."""

    double: DiscordDouble
    services: Services
    clock: FixedClock
    home: JsonObject
    """The GUILD_CREATE of the bot's first server, to add it back after a removal."""

    async def command(
        self, subcommand: str, options: dict[str, OptionValue] | None = None, **fields: Any
    ) -> str:
        """Run `/awsquiz subcommand` and return its one private reply, as JSON text."""
        interaction = slash_command_interaction(subcommand=subcommand, options=options, **fields)
        await self.double.dispatch("INTERACTION_CREATE", interaction)
        token = interaction["token"]

        async def answered() -> bool:
            return any(c.token == token for c in self.double.callbacks)

        await eventually(answered, "the interaction response", seconds=DEFAULT_TIMEOUT)
        (callback,) = [c for c in self.double.callbacks if c.token == token]
        if callback.type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            path = f"/webhooks/{APPLICATION_ID}/{token}"
            (follow_up,) = await self.double.wait_for("POST", path, 1)
            body = follow_up.body
        else:
            assert callback.type == CALLBACK_CHANNEL_MESSAGE
            body = callback.data
        assert body["flags"] == EPHEMERAL_FLAG
        return json.dumps(body, ensure_ascii=False)

    async def practise(self, **fields: Any) -> None:
        """Ask a question and answer it, as the interaction `fields` say."""
        await self.command("ask", {"topic": "ec2"}, **fields)
        graded = await self.command("answer", {"text": "EC2 in an Auto Scaling group."}, **fields)
        assert "Score" in graded

    async def members(self) -> dict[tuple[str, str], int]:
        """Each (server, member id) with how many answers it has, read with plain SQL."""
        query = text(
            "SELECT u.workspace, u.user_id, COUNT(a.id) FROM users u "
            "LEFT JOIN attempts a ON a.user_id = u.id GROUP BY u.workspace, u.user_id"
        )
        async with self.services.store.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {(row[0], row[1]): row[2] for row in rows}

    async def removals(self) -> list[str]:
        """The servers recorded as having removed the bot."""
        async with self.services.store.engine.connect() as connection:
            found = await connection.execute(text("SELECT workspace FROM workspace_removals"))
            return list(found.scalars())

    async def wait_for_removals(self, expected: list[str], what: str) -> None:
        async def recorded() -> bool:
            return await self.removals() == expected

        await eventually(recorded, what)


@asynccontextmanager
async def running_bot(database_url: str, clock: FixedClock) -> AsyncIterator[Rig]:
    async with DiscordDouble() as double:
        home = double.add_guild()
        double.add_guild(OTHER_GUILD_ID, name="Other", channels={OTHER_CHANNEL_ID: "other"})
        client = AwsquizClient(None, guild_ready_timeout=0)
        settings = load_settings(
            {
                "DATABASE_URL": database_url,
                "AWSQUIZ_REMOVED_WORKSPACE_GRACE_DAYS": str(GRACE_DAYS),
            }
        )
        adapters = {"discord": DiscordChatAdapter(client)}
        async with open_services(settings, adapters=adapters, clock=clock) as services:
            client.handlers = DiscordHandlers(services.tutor, client)
            async with running_client(client, BOT_TOKEN, double):
                yield Rig(double, services, clock, home)


@pytest.fixture
async def rig(database_url: str, clock: FixedClock) -> AsyncIterator[Rig]:
    """The bot on SQLite and on PostgreSQL."""
    async with running_bot(database_url, clock) as started:
        yield started


async def with_three_members(rig: Rig) -> None:
    """Alice and Bob in the first server, Alice in the other one too."""
    await rig.practise()
    await rig.practise(**AS_BOB)
    await rig.practise(**IN_OTHER_GUILD)
    assert await rig.members() == {
        (str(GUILD_ID), str(USER_ID)): 1,
        (str(GUILD_ID), str(BOB_ID)): 1,
        (str(OTHER_GUILD_ID), str(USER_ID)): 1,
    }


# -- /awsquiz forget ---------------------------------------------------------------------------


async def test_forget_asks_first_then_deletes_one_member_of_one_server(rig: Rig) -> None:
    await with_three_members(rig)

    asked = await rig.command("forget")
    kept_meanwhile = len(await rig.members())
    done = await rig.command("forget", {"confirm": True})

    assert "Forget me: please confirm" in asked
    assert FORGET_CONFIRM in asked  # how to confirm, in Discord's terms
    assert kept_meanwhile == 3
    assert "Forgotten" in done
    assert await rig.members() == {
        (str(GUILD_ID), str(BOB_ID)): 1,
        (str(OTHER_GUILD_ID), str(USER_ID)): 1,
    }


async def test_forget_confirm_without_a_request_is_refused_plainly(rig: Rig) -> None:
    await with_three_members(rig)

    refused = await rig.command("forget", {"confirm": True})

    assert "There is no request to forget you waiting for a confirmation" in refused
    assert len(await rig.members()) == 3


async def test_a_confirmation_after_five_minutes_is_refused(rig: Rig) -> None:
    await with_three_members(rig)
    await rig.command("forget")
    rig.clock.advance(timedelta(minutes=6))

    late = await rig.command("forget", {"confirm": True})

    assert "has expired" in late
    assert len(await rig.members()) == 3


# -- a server that removes the bot ----------------------------------------------------------------


async def test_a_server_that_removed_the_bot_is_purged_when_its_grace_period_ends(
    rig: Rig,
) -> None:
    await with_three_members(rig)

    await rig.double.dispatch("GUILD_DELETE", {"id": str(GUILD_ID)})  # removed, not unavailable
    await rig.wait_for_removals([str(GUILD_ID)], "recording the removal")
    rig.clock.advance(timedelta(days=GRACE_DAYS, seconds=-1))
    await rig.services.privacy.sweep()
    kept = len(await rig.members())
    rig.clock.advance(timedelta(seconds=1))
    await rig.services.privacy.sweep()

    assert kept == 3
    assert await rig.members() == {(str(OTHER_GUILD_ID), str(USER_ID)): 1}
    assert await rig.removals() == []


async def test_a_server_that_adds_the_bot_back_keeps_its_data(rig: Rig) -> None:
    await with_three_members(rig)
    await rig.double.dispatch("GUILD_DELETE", {"id": str(GUILD_ID)})
    await rig.wait_for_removals([str(GUILD_ID)], "recording the removal")
    rig.clock.advance(timedelta(days=3))

    # Added back: a GUILD_CREATE without "unavailable" (a join, not an outage's end).
    joined = {key: value for key, value in rig.home.items() if key != "unavailable"}
    await rig.double.dispatch("GUILD_CREATE", joined)
    await rig.wait_for_removals([], "cancelling the removal")
    rig.clock.advance(timedelta(days=GRACE_DAYS))
    await rig.services.privacy.sweep()

    assert len(await rig.members()) == 3
