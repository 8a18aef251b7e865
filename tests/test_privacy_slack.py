"""Personal data through the real Bolt app over loopback: `/awsquiz forget`, and a workspace
that uninstalls the app (purged after the grace period, unless it comes back)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from doubles.slack import (
    SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    SlackDouble,
    post_event,
    post_slash_command,
)
from helpers import FixedClock, eventually
from slack_app_rig import served_app, workspace_settings
from sqlalchemy import text

from bot.app import Services
from bot.engine.daily.model import ChannelRef
from bot.engine.model import UserRef

OTHER_TEAM = "T0ELSEWHERE"
BOB = "U0BOB"
GRACE_DAYS = 30


@dataclass
class Rig:
    """awsquiz's Slack app in HTTP mode, its engine services and the Slack double."""

    double: SlackDouble
    services: Services
    url: str
    clock: FixedClock

    async def command(self, typed: str, **fields: str) -> str:
        """Run `/awsquiz typed` and return what it said privately, as JSON text."""
        before = len(self.double.responses)
        delivery = await post_slash_command(
            self.url, SIGNING_SECRET, text=typed, response_url=self.double.response_url, **fields
        )
        assert delivery.status == 200
        posts = await self.double.wait_for_responses(count=before + 1)
        (said,) = posts[before:]
        assert said.body["response_type"] == "ephemeral"
        return json.dumps(said.body, ensure_ascii=False)

    async def practise(self, **fields: str) -> None:
        """Ask a question and answer it, as the member and workspace `fields` say."""
        await self.command("ask s3", **fields)
        assert "Score" in await self.command("answer Objects in buckets, 11 nines.", **fields)

    async def members(self) -> dict[tuple[str, str], int]:
        """Each (workspace, member id) with how many answers it has, read with plain SQL."""
        query = text(
            "SELECT u.workspace, u.user_id, COUNT(a.id) FROM users u "
            "LEFT JOIN attempts a ON a.user_id = u.id GROUP BY u.workspace, u.user_id"
        )
        async with self.services.store.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {(row[0], row[1]): row[2] for row in rows}

    async def removals(self) -> list[str]:
        """The workspaces recorded as having removed the app."""
        async with self.services.store.engine.connect() as connection:
            found = await connection.execute(text("SELECT workspace FROM workspace_removals"))
            return list(found.scalars())

    async def uninstall(self, team: str = TEAM_ID) -> None:
        """Slack's `app_uninstalled` event for `team`."""
        event = {"type": "app_uninstalled"}
        delivery = await post_event(
            self.url, SIGNING_SECRET, event, event_id=f"Ev0GONE{team}", team_id=team
        )
        assert delivery.status == 200


@asynccontextmanager
async def running_app(
    double: SlackDouble, database_url: str, clock: FixedClock, grace_days: int
) -> AsyncIterator[Rig]:
    settings = workspace_settings(
        double, database_url, AWSQUIZ_REMOVED_WORKSPACE_GRACE_DAYS=str(grace_days)
    )
    async with served_app(double, settings, clock) as served:
        yield Rig(double, served.services, served.url, clock)


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
async def rig(double: SlackDouble, database_url: str, clock: FixedClock) -> AsyncIterator[Rig]:
    """The app on SQLite and on PostgreSQL."""
    async with running_app(double, database_url, clock, GRACE_DAYS) as started:
        yield started


async def with_three_members(rig: Rig) -> None:
    """Alice and Bob in this workspace, and Alice's member id in another one."""
    await rig.practise()
    await rig.practise(user_id=BOB)
    await rig.practise(team_id=OTHER_TEAM)
    assert await rig.members() == {
        (TEAM_ID, USER_ID): 1,
        (TEAM_ID, BOB): 1,
        (OTHER_TEAM, USER_ID): 1,
    }


# -- /awsquiz forget -----------------------------------------------------------------------------


async def test_forget_asks_first_then_deletes_one_member_of_one_workspace(rig: Rig) -> None:
    await with_three_members(rig)

    asked = await rig.command("forget")
    kept_meanwhile = await rig.members()
    done = await rig.command("forget confirm")

    assert "Forget me: please confirm" in asked
    assert "1 graded answer" in asked
    assert "/awsquiz forget confirm" in asked
    assert kept_meanwhile == {(TEAM_ID, USER_ID): 1, (TEAM_ID, BOB): 1, (OTHER_TEAM, USER_ID): 1}
    assert "Forgotten" in done
    assert await rig.members() == {(TEAM_ID, BOB): 1, (OTHER_TEAM, USER_ID): 1}


async def test_forget_confirm_without_a_request_is_refused_plainly(rig: Rig) -> None:
    await with_three_members(rig)

    refused = await rig.command("forget confirm")

    assert "There is no request to forget you waiting for a confirmation" in refused
    assert len(await rig.members()) == 3


async def test_a_confirmation_after_five_minutes_is_refused(rig: Rig) -> None:
    await with_three_members(rig)
    await rig.command("forget")
    rig.clock.advance(timedelta(minutes=5, seconds=1))

    late = await rig.command("forget confirm")

    assert "has expired" in late
    assert len(await rig.members()) == 3


async def test_forget_with_other_words_shows_the_help(rig: Rig) -> None:
    await with_three_members(rig)

    confused = await rig.command("forget everything")

    assert "I don't know" in confused
    assert "forget everything" in confused
    assert "delete everything awsquiz keeps about you in this workspace" in confused  # help
    assert len(await rig.members()) == 3


# -- an uninstalled workspace ----------------------------------------------------------------


async def test_an_uninstalled_workspace_is_purged_when_its_grace_period_ends(rig: Rig) -> None:
    await with_three_members(rig)
    admin = UserRef("slack", TEAM_ID, USER_ID, "Alice")
    room = ChannelRef("slack", TEAM_ID, "C0STUDY")
    await rig.services.daily.subscribe(
        room, actor=admin, is_admin=True, post_time="09:00", timezone="UTC"
    )

    await rig.uninstall()

    async def recorded() -> bool:
        return await rig.removals() == [TEAM_ID]

    await eventually(recorded, "recording the removal")
    rig.clock.advance(timedelta(days=GRACE_DAYS, hours=-1))
    await rig.services.privacy.sweep()
    assert len(await rig.members()) == 3  # not yet
    rig.clock.advance(timedelta(hours=1))
    await rig.services.privacy.sweep()
    assert await rig.members() == {(OTHER_TEAM, USER_ID): 1}
    assert await rig.services.store.subscription(room) is None
    assert await rig.removals() == []


async def test_a_workspace_that_uses_the_app_again_keeps_its_data(rig: Rig) -> None:
    await with_three_members(rig)
    await rig.uninstall()

    async def recorded() -> bool:
        return await rig.removals() == [TEAM_ID]

    await eventually(recorded, "recording the removal")
    rig.clock.advance(timedelta(days=2))
    stats = await rig.command("stats", user_id=BOB)  # reinstalled: Bob looks at his stats
    rig.clock.advance(timedelta(days=GRACE_DAYS))
    await rig.services.privacy.sweep()

    assert "Answers" in stats
    assert await rig.removals() == []
    assert len(await rig.members()) == 3


async def test_with_no_grace_period_an_uninstall_deletes_at_once(
    double: SlackDouble, database_url: str, clock: FixedClock
) -> None:
    async with running_app(double, database_url, clock, grace_days=0) as rig:
        await with_three_members(rig)

        await rig.uninstall()

        async def purged() -> bool:  # the removal goes last, with the purge's final step
            gone = await rig.members() == {(OTHER_TEAM, USER_ID): 1}
            return gone and await rig.removals() == []

        await eventually(purged, "deleting the uninstalled workspace's data")
