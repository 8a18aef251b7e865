"""Enterprise Grid: a workspace of an org installs the app, or the org installs it org-wide.

Real Bolt and slack_sdk over loopback to the Slack double, on a SQLite file and PostgreSQL:
requests and daily posts of each kind of install, through `awsquiz run`'s composition.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Final

import pytest
from cryptography.fernet import Fernet
from doubles.slack import (
    CHANNEL_ID,
    SIGNING_SECRET,
    USER_ID,
    SlackDouble,
    event_callback,
    post_to_bolt,
    signed_headers,
)
from helpers import FixedClock, eventually
from slack_oauth_rig import OAuthRig, oauth_rig

from bot.adapters.slack.app import web_client
from bot.adapters.slack.grid import UNLISTED_RECHECK_SECONDS, OrgWorkspaces
from bot.adapters.slack.manifest import manifest
from bot.adapters.slack.oauth import InstalledWorkspaceClients
from bot.engine.daily.model import ChannelRef
from bot.engine.errors import ChatPostError
from bot.engine.reply import Reply

ENTERPRISE: Final = "E0AWSORG"
GRID_TEAM: Final = "T0GRIDONE"
OTHER_TEAM: Final = "T0GRIDTWO"
UNGRANTED_TEAM: Final = "T0UNGRANTED"
GRID_ROOM: Final = ChannelRef("slack", GRID_TEAM, CHANNEL_ID)
OTHER_ROOM: Final = ChannelRef("slack", OTHER_TEAM, "C0OTHER")
KEY: Final = Fernet.generate_key().decode()
SUBSCRIBED_AT: Final = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
POST_DUE_AT: Final = datetime(2025, 3, 3, 9, 1, tzinfo=UTC)


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
async def rig(double: SlackDouble, database_url: str, clock: FixedClock) -> AsyncIterator[OAuthRig]:
    async with oauth_rig(double, database_url, clock, keys=KEY) as running:
        yield running


async def daily_on(rig: OAuthRig, room: ChannelRef, *, org_wide: bool) -> None:
    """An admin of the room's workspace turns the daily question on there, for 09:00 UTC."""
    rig.double.add_user(USER_ID, "alice", is_admin=True)
    rig.clock.set(SUBSCRIBED_AT)
    [accepted] = await rig.command(
        "daily on 09:00 UTC",
        team_id=room.workspace,
        enterprise_id=ENTERPRISE,
        org_wide=org_wide,
        channel_id=room.channel,
    )
    assert "Daily question is on" in str(accepted.body)


def posts_in(double: SlackDouble, room: ChannelRef) -> list[str | None]:
    """The Authorization of each chat.postMessage made in `room`'s channel."""
    return [
        call.authorization
        for call in double.calls_to("chat.postMessage")
        if call.params["channel"] == room.channel
    ]


# -- a workspace of an org installs the app for itself ------------------------------------------


async def test_a_grid_workspace_install_serves_commands_and_posts_the_daily_question(
    rig: OAuthRig,
) -> None:
    rig.double.install_into(team_id=GRID_TEAM, enterprise_id=ENTERPRISE)
    assert await rig.install() == 200
    [grid_token] = rig.double.issued
    installation = await rig.installations().async_find_team_installation(GRID_TEAM)
    assert installation is not None
    assert (installation.enterprise_id, installation.team_id) == (ENTERPRISE, GRID_TEAM)

    await daily_on(rig, GRID_ROOM, org_wide=False)
    rig.clock.set(POST_DUE_AT)
    report = await rig.services.daily.post_due()

    assert [outcome.value for outcome in report.outcomes.values()] == ["posted"]
    assert posts_in(rig.double, GRID_ROOM) == [f"Bearer {grid_token}"]


async def test_uninstalling_from_a_grid_workspace_forgets_it_and_stops_its_daily_question(
    rig: OAuthRig,
) -> None:
    rig.double.install_into(team_id=GRID_TEAM, enterprise_id=ENTERPRISE)
    assert await rig.install() == 200
    await daily_on(rig, GRID_ROOM, org_wide=False)
    payload = event_callback({"type": "app_uninstalled"}, event_id="Ev0GRIDGONE", team_id=GRID_TEAM)
    payload["enterprise_id"] = ENTERPRISE
    payload["authorizations"][0]["enterprise_id"] = ENTERPRISE
    body = json.dumps(payload)

    delivery = await post_to_bolt(
        rig.events_url, body, signed_headers(SIGNING_SECRET, body, "application/json")
    )

    assert delivery.status == 200

    async def stopped() -> bool:
        subscription = await rig.services.store.subscription(GRID_ROOM)
        return subscription is not None and not subscription.enabled

    await eventually(stopped, "turning the Grid workspace's daily question off")
    assert await rig.installations().async_find_team_installation(GRID_TEAM) is None


# -- an org installs the app org-wide --------------------------------------------------------


async def org_wide_install(rig: OAuthRig, *granted: str) -> str:
    """The org installs the app org-wide and grants it `granted`; return the org's token."""
    rig.double.install_into(team_id=None, enterprise_id=ENTERPRISE)
    rig.double.grant_org(ENTERPRISE, *granted)
    assert await rig.install() == 200
    [org_token] = rig.double.issued
    return org_token


async def test_an_org_wide_install_serves_and_posts_in_each_granted_workspace(
    rig: OAuthRig,
) -> None:
    org_token = await org_wide_install(rig, GRID_TEAM, OTHER_TEAM)
    # slack_sdk stores an org-wide install with the enterprise and no team.
    assert await rig.installations().async_find_team_installation(GRID_TEAM) is None
    assert await rig.installations().async_org_wide_enterprises() == [ENTERPRISE]

    await daily_on(rig, GRID_ROOM, org_wide=True)
    await daily_on(rig, OTHER_ROOM, org_wide=True)
    rig.clock.set(POST_DUE_AT)
    report = await rig.services.daily.post_due()

    assert [outcome.value for outcome in report.outcomes.values()] == ["posted", "posted"]
    assert posts_in(rig.double, GRID_ROOM) == [f"Bearer {org_token}"]
    assert posts_in(rig.double, OTHER_ROOM) == [f"Bearer {org_token}"]
    # The org was asked which workspaces it granted once, for every post of the round.
    [listing] = rig.double.calls_to("auth.teams.list")
    assert listing.authorization == f"Bearer {org_token}"


async def test_a_workspace_the_org_did_not_grant_is_not_posted_in(rig: OAuthRig) -> None:
    await org_wide_install(rig, GRID_TEAM)
    adapter = rig.services.daily.adapters["slack"]

    with pytest.raises(ChatPostError, match=UNGRANTED_TEAM) as refused:
        await adapter.post(ChannelRef("slack", UNGRANTED_TEAM, "C0NOPE"), Reply(title="Today"))

    assert refused.value.transient is False
    assert rig.double.calls_to("chat.postMessage") == []


async def test_a_workspace_granted_later_is_found_once_its_absence_is_worth_rechecking(
    rig: OAuthRig,
) -> None:
    await org_wide_install(rig, GRID_TEAM)
    now = [0.0]
    clients = InstalledWorkspaceClients(
        rig.installations(),
        lambda token: web_client(token, rig.double.api_url),
        orgs=OrgWorkspaces(clock=lambda: now[0]),
    )
    assert (await clients(GRID_TEAM)).token is not None
    with pytest.raises(ChatPostError):
        await clients(OTHER_TEAM)

    rig.double.grant_org(ENTERPRISE, GRID_TEAM, OTHER_TEAM)  # the org's admin grants it
    with pytest.raises(ChatPostError):
        await clients(OTHER_TEAM)  # the list just read stands for a while...
    assert len(rig.double.calls_to("auth.teams.list")) == 1
    now[0] += UNLISTED_RECHECK_SECONDS
    served = await clients(OTHER_TEAM)  # ...then the org is asked again

    assert served is await clients(GRID_TEAM)  # one org, one token, one client
    assert len(rig.double.calls_to("auth.teams.list")) == 2


async def test_an_org_wides_expired_rotating_token_is_refreshed_before_it_is_used(
    rig: OAuthRig,
) -> None:
    rig.double.rotate_tokens()
    org_token = await org_wide_install(rig, GRID_TEAM)
    await rig.twelve_hours_pass(org_token)

    await rig.services.daily.adapters["slack"].post(GRID_ROOM, Reply(title="Today"))

    assert len(rig.double.refreshes()) == 1
    [fresh] = [token for token in rig.double.issued if token != org_token]
    [listing] = rig.double.calls_to("auth.teams.list")
    assert listing.authorization == f"Bearer {fresh}"
    assert posts_in(rig.double, GRID_ROOM) == [f"Bearer {fresh}"]


# -- the manifest ----------------------------------------------------------------------------


def test_the_manifest_lets_an_org_install_the_app_org_wide_when_asked() -> None:
    assert manifest()["settings"]["org_deploy_enabled"] is False
    assert manifest(org_deploy=True)["settings"]["org_deploy_enabled"] is True


async def test_awsquiz_slack_manifest_takes_org_deploy_and_token_rotation() -> None:
    def awsquiz(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "slack", "manifest", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    both = await asyncio.to_thread(
        awsquiz,
        "--request-url",
        "https://bot.example/slack/events",
        "--org-deploy",
        "--token-rotation",
    )
    socket_mode = await asyncio.to_thread(awsquiz, "--token-rotation")

    assert both.returncode == 0, both.stderr
    settings = json.loads(both.stdout)["settings"]
    assert (settings["org_deploy_enabled"], settings["token_rotation_enabled"]) == (True, True)
    assert socket_mode.returncode == 2
    assert "request URL" in socket_mode.stderr
