"""Buttons and forms whose values no handler can use (an older bot's, or made up) are answered
privately, "This button is no longer valid.", on Slack and on Discord: never silence, never a
traceback. The real slack-bolt and discord.py over loopback, against the platform doubles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from doubles.discord import (
    APPLICATION_ID,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_MODAL,
    EPHEMERAL_FLAG,
    DiscordDouble,
    JsonObject,
    button_interaction,
    modal_submit_interaction,
    running_client,
)
from doubles.discord import BOT_TOKEN as DISCORD_TOKEN
from doubles.slack import (
    CHANNEL_ID,
    SIGNING_SECRET,
    USER_ID,
    SlackDouble,
    block_actions,
    home_block_actions,
    post_interaction,
    view_submission,
)
from helpers import FixedClock, eventually
from slack_app_rig import served_app, workspace_settings

from bot.adapters.discord import ids
from bot.adapters.discord.chat import DiscordChatAdapter
from bot.adapters.discord.client import AwsquizClient
from bot.adapters.discord.handlers import DiscordHandlers
from bot.adapters.slack.ids import ACTION_IDS, ANSWER_BLOCK, ANSWER_INPUT, ANSWER_MODAL_CALLBACK
from bot.app import Services, open_services
from bot.engine.reply import ActionKind
from bot.settings import load_settings

STALE: Final = "This button is no longer valid."
MADE_UP_ANSWER_VALUES: Final = (
    "daily:notanumber",
    "daily:²",  # a digit to str.isdigit(), not to int()
    "daily:" + "9" * 40,  # digits, but no database column holds that id
    "no-such/question",
    "",
)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


# -- Slack ---------------------------------------------------------------------------------


@dataclass
class SlackRig:
    double: SlackDouble
    services: Services
    url: str

    async def press(self, action_id: str, value: str) -> str:
        """Press a button in the channel; return the text of the private reply it got."""
        before = len(self.double.calls_to("chat.postEphemeral"))
        click = block_actions(
            action_id=action_id, value=value, response_url=self.double.response_url
        )
        delivery = await post_interaction(self.url, SIGNING_SECRET, click)
        assert delivery.status == 200
        posted = await self.double.wait_for("chat.postEphemeral", count=before + 1)
        assert posted[-1].params["user"] == USER_ID
        assert posted[-1].params["channel"] == CHANNEL_ID
        return str(posted[-1].params["text"])


@pytest.fixture
async def slack(tmp_path: Path, clock: FixedClock) -> AsyncIterator[SlackRig]:
    async with SlackDouble() as double:
        settings = workspace_settings(double, f"sqlite:///{tmp_path / 'slack.db'}")
        async with served_app(double, settings, clock) as served:
            yield SlackRig(double, served.services, served.url)


@pytest.mark.parametrize("value", MADE_UP_ANSWER_VALUES)
async def test_slack_an_answer_button_naming_no_question_says_so_privately(
    slack: SlackRig, logged: pytest.LogCaptureFixture, value: str
) -> None:
    said = await slack.press(ACTION_IDS[ActionKind.ANSWER], value)

    assert STALE in said
    assert slack.double.calls_to("views.open") == []  # no answer box for nothing
    assert errors(logged) == []


@pytest.mark.parametrize("action_id", ["awsquiz_no_such_kind", ACTION_IDS[ActionKind.NEXT]])
async def test_slack_a_button_of_ours_no_listener_handles_says_so_privately(
    slack: SlackRig, logged: pytest.LogCaptureFixture, action_id: str
) -> None:
    said = await slack.press(action_id, "x")

    assert STALE in said
    assert errors(logged) == []


async def test_slack_a_stale_button_in_the_app_home_is_answered_in_the_dm(
    slack: SlackRig, logged: pytest.LogCaptureFixture
) -> None:
    click = home_block_actions(action_id="awsquiz_no_such_kind")  # no channel, no response_url
    delivery = await post_interaction(slack.url, SIGNING_SECRET, click)
    [posted] = await slack.double.wait_for("chat.postMessage")

    assert delivery.status == 200
    assert posted.params["channel"] == f"D{USER_ID[1:]}"
    assert STALE in str(posted.params["text"])
    assert errors(logged) == []


@pytest.mark.parametrize(
    "metadata",
    [
        "not JSON",
        "",
        "[1]",
        json.dumps({"value": 5, "channel": CHANNEL_ID}),
        json.dumps({"value": "ecs/1", "channel": 7}),
        json.dumps({"value": "daily:notanumber", "channel": CHANNEL_ID}),
    ],
)
async def test_slack_an_answer_modal_we_did_not_fill_in_is_refused_in_the_modal(
    slack: SlackRig, logged: pytest.LogCaptureFixture, metadata: str
) -> None:
    submission = view_submission(
        callback_id=ANSWER_MODAL_CALLBACK,
        values={ANSWER_BLOCK: {ANSWER_INPUT: "Tasks run on a cluster"}},
        private_metadata=metadata,
    )
    delivery = await post_interaction(slack.url, SIGNING_SECRET, submission)

    assert delivery.status == 200
    assert json.loads(delivery.body) == {
        "response_action": "errors",
        "errors": {ANSWER_BLOCK: STALE},
    }
    assert errors(logged) == []


# -- Discord -------------------------------------------------------------------------------


@dataclass
class DiscordRig:
    double: DiscordDouble
    services: Services

    async def private_reply(self, interaction: JsonObject) -> JsonObject:
        """Dispatch an interaction; return the one private message it was answered with (the
        interaction response, or the follow-up after a defer)."""
        await self.double.dispatch("INTERACTION_CREATE", interaction)
        token = interaction["token"]

        async def answered() -> bool:
            return any(c.token == token for c in self.double.callbacks)

        await eventually(answered, "the interaction response")
        (callback,) = [c for c in self.double.callbacks if c.token == token]
        if callback.type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            path = f"/webhooks/{APPLICATION_ID}/{token}"
            (follow_up,) = await self.double.wait_for("POST", path)
            body: JsonObject = follow_up.body
        else:
            assert callback.type == CALLBACK_CHANNEL_MESSAGE, callback
            body = callback.data
        assert body["flags"] == EPHEMERAL_FLAG
        return body


def description(body: JsonObject) -> Any:
    (embed,) = body["embeds"]
    return embed.get("description")


@asynccontextmanager
async def discord_bot(
    double: DiscordDouble, database: Path, clock: FixedClock
) -> AsyncIterator[DiscordRig]:
    client = AwsquizClient(None, guild_ready_timeout=0)
    settings = load_settings({"DATABASE_URL": f"sqlite+aiosqlite:///{database}"})
    adapters = {"discord": DiscordChatAdapter(client)}
    async with open_services(settings, adapters=adapters, clock=clock) as services:
        client.handlers = DiscordHandlers(services.tutor, client)
        async with running_client(client, DISCORD_TOKEN, double):
            yield DiscordRig(double, services)


@pytest.fixture
async def discord_rig(tmp_path: Path, clock: FixedClock) -> AsyncIterator[DiscordRig]:
    async with DiscordDouble() as double:
        double.add_guild()
        async with discord_bot(double, tmp_path / "discord.db", clock) as rig:
            yield rig


@pytest.mark.parametrize(
    "custom_id",
    [
        *(f"awsquiz:answer:{value}" for value in MADE_UP_ANSWER_VALUES if len(value) < 80),
        "awsquiz:no_such_kind:x",
        "awsquiz:answer_modal:ecs/1",  # a modal's custom_id on a button
        "awsquiz:hint:two\nlines",
        "awsquiz:",
    ],
)
async def test_discord_a_button_that_routes_nowhere_says_so_privately(
    discord_rig: DiscordRig, logged: pytest.LogCaptureFixture, custom_id: str
) -> None:
    reply = await discord_rig.private_reply(button_interaction(custom_id))

    assert description(reply) == STALE
    assert reply["allowed_mentions"] == {"parse": []}
    assert not [c for c in discord_rig.double.callbacks if c.type == CALLBACK_MODAL]
    assert errors(logged) == []


@pytest.mark.parametrize(
    "custom_id",
    [ids.modal_id("daily:notanumber"), ids.modal_id("daily:²"), "awsquiz:no_such_form:1"],
)
async def test_discord_a_form_we_cannot_read_says_so_privately(
    discord_rig: DiscordRig, logged: pytest.LogCaptureFixture, custom_id: str
) -> None:
    submit = modal_submit_interaction(custom_id, {ids.ANSWER_INPUT: "An answer."})
    reply = await discord_rig.private_reply(submit)

    assert description(reply) == STALE
    assert errors(logged) == []


async def test_discord_a_button_of_ours_still_works_beside_the_stale_ones(
    discord_rig: DiscordRig, logged: pytest.LogCaptureFixture
) -> None:
    reply = await discord_rig.private_reply(button_interaction(ids.button_id(ActionKind.NEXT, "")))

    assert description(reply) != STALE
    assert "Answer" in json.dumps(reply["components"])  # a question, with its buttons
    assert errors(logged) == []
