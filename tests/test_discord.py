"""The Discord adapter through real discord.py over loopback, against the Discord double."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from doubles.discord import (
    APPLICATION_ID,
    BOT_PERMISSIONS,
    BOT_TOKEN,
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_MODAL,
    CHANNEL_ID,
    CHANNEL_NAME,
    CREATE_PUBLIC_THREADS,
    DEFAULT_TIMEOUT,
    EPHEMERAL_FLAG,
    GUILD_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    USER_ID,
    DiscordDouble,
    InteractionCallback,
    JsonObject,
    OptionValue,
    RestCall,
    UserOption,
    autocomplete_interaction,
    button_interaction,
    dm_channel_id,
    dm_message_create,
    error_body,
    modal_submit_interaction,
    pointed_at,
    running_client,
    slash_command_interaction,
)
from helpers import FixedClock, eventually
from sqlalchemy import text

from bot.adapters.discord import boundary as discord_boundary
from bot.adapters.discord import chat as discord_chat
from bot.adapters.discord import handlers as discord_handlers
from bot.adapters.discord import ids
from bot.adapters.discord.boundary import UNEXPECTED
from bot.adapters.discord.chat import DiscordChatAdapter
from bot.adapters.discord.client import (
    AwsquizClient,
    ShardedAwsquizClient,
    build_client,
    serve,
    sync_once,
)
from bot.adapters.discord.commands import topic_list_matches
from bot.adapters.discord.handlers import DiscordHandlers, DiscordOptions
from bot.adapters.discord.texts import (
    DMS_CLOSED,
    LEADERBOARD_GUILD_ONLY,
    NEEDS_MANAGE_SERVER,
    OTHERS_STATS_GUILD_ONLY,
)
from bot.app import Services, open_services
from bot.engine.catalog import Catalog
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import Outcome
from bot.engine.errors import ChatPostError
from bot.engine.model import Topic, UserRef
from bot.engine.reply import Action, ActionKind, Reply
from bot.platforms import configured_platforms
from bot.settings import Settings, load_settings

ROOM = ChannelRef("discord", str(GUILD_ID), str(CHANNEL_ID))
ALICE = UserRef("discord", str(GUILD_ID), str(USER_ID))
DM_CHANNEL = dm_channel_id(USER_ID)
OTHER_GUILD_ID = GUILD_ID + 1000
OTHER_CHANNEL_ID = CHANNEL_ID + 1000
IN_OTHER_GUILD: dict[str, Any] = {"guild_id": OTHER_GUILD_ID, "channel_id": OTHER_CHANNEL_ID}
OTHER_ROOM = ChannelRef("discord", str(OTHER_GUILD_ID), str(OTHER_CHANNEL_ID))


@dataclass
class Rig:
    """awsquiz's Discord client, READY against the double, and its engine services."""

    double: DiscordDouble
    services: Services
    client: AwsquizClient
    clock: FixedClock

    async def command(
        self,
        subcommand: str,
        options: dict[str, OptionValue] | None = None,
        **fields: Any,
    ) -> list[JsonObject]:
        """Run `/awsquiz subcommand` (deferred) and return the follow-up bodies it sent."""
        interaction = slash_command_interaction(subcommand=subcommand, options=options, **fields)
        return await self.deferred(interaction)

    async def deferred(self, interaction: JsonObject, count: int = 1) -> list[JsonObject]:
        """Dispatch an interaction and return the `count` private replies it got: the
        interaction response itself when the engine was quick, else follow-ups after a defer.
        """
        await self.double.dispatch("INTERACTION_CREATE", interaction)
        callback = await self.callback_for(interaction["token"])
        assert callback.data["flags"] == EPHEMERAL_FLAG
        path = f"/webhooks/{APPLICATION_ID}/{interaction['token']}"
        if callback.type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            bodies = [call.body for call in await self.double.wait_for("POST", path, count)]
        else:
            assert callback.type == CALLBACK_CHANNEL_MESSAGE
            later = await self.double.wait_for("POST", path, count - 1) if count > 1 else []
            bodies = [callback.data, *(call.body for call in later)]
        for body in bodies:
            assert body["flags"] == EPHEMERAL_FLAG
            assert body["allowed_mentions"] == {"parse": []}
        return bodies

    async def callback_for(self, token: str) -> InteractionCallback:
        """Wait for the interaction response to the interaction with this token."""

        async def answered() -> bool:
            return any(c.token == token for c in self.double.callbacks)

        await eventually(answered, "the interaction response", seconds=DEFAULT_TIMEOUT)
        (callback,) = [c for c in self.double.callbacks if c.token == token]
        return callback


def settings_for(database: Path, **extra: str) -> Settings:
    return load_settings({"DATABASE_URL": f"sqlite+aiosqlite:///{database}", **extra})


@asynccontextmanager
async def running_bot(
    double: DiscordDouble,
    database: Path,
    clock: FixedClock,
    guild_id: int | None = None,
    *,
    client: AwsquizClient | None = None,
    options: DiscordOptions | None = None,
) -> AsyncIterator[Rig]:
    """Start awsquiz's Discord client on `database`; leaving the context is a bot restart."""
    client = client or AwsquizClient(guild_id, guild_ready_timeout=0)
    adapters = {"discord": DiscordChatAdapter(client)}
    async with open_services(settings_for(database), adapters=adapters, clock=clock) as services:
        client.handlers = DiscordHandlers(services.tutor, client, options)
        async with running_client(client, BOT_TOKEN, double):
            yield Rig(double, services, client, clock)


class UnthrottledClient(AwsquizClient):
    """Identifies again at once: discord.py waits 5 s before every IDENTIFY but the first
    (Discord's rate limit, which the double does not have)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No wait."""


@pytest.fixture
async def double() -> AsyncIterator[DiscordDouble]:
    async with DiscordDouble() as started:
        started.add_guild()
        yield started


@pytest.fixture
async def two_guilds(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    """The bot in two servers, each with one channel; Alice is a member of both."""
    async with DiscordDouble() as double:
        double.add_guild()
        double.add_guild(OTHER_GUILD_ID, name="Other", channels={OTHER_CHANNEL_ID: "other"})
        async with running_bot(double, tmp_path / "discord.db", clock) as started:
            yield started


@pytest.fixture
async def rig(double: DiscordDouble, tmp_path: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    async with running_bot(double, tmp_path / "discord.db", clock) as started:
        yield started


def embed_of(body: JsonObject) -> JsonObject:
    (embed,) = body["embeds"]
    assert isinstance(embed, dict)
    return embed


def button_ids(body: JsonObject) -> list[str]:
    return [
        button["custom_id"] for row in body.get("components", []) for button in row["components"]
    ]


async def open_question(rig: Rig) -> str:
    """Ask an EC2 question; return its id."""
    (body,) = await rig.command("ask", {"topic": "ec2"})
    question_id = button_ids(body)[0].split(":", 2)[2]
    assert button_ids(body) == [
        ids.button_id(ActionKind.ANSWER, question_id),
        ids.button_id(ActionKind.HINT, question_id),
        ids.button_id(ActionKind.SKIP, question_id),
    ]
    return question_id


# -- slash commands ------------------------------------------------------------------------


async def test_quick_work_answers_in_the_response_and_slow_work_defers_then_follows_up(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = slash_command_interaction(subcommand="stats")
    await rig.deferred(quick)
    assert (await rig.callback_for(quick["token"])).type == CALLBACK_CHANNEL_MESSAGE

    # Work that takes longer than the fast-reply budget must defer before Discord's deadline.
    monkeypatch.setattr(discord_handlers, "FAST_REPLY_SECONDS", 0.0)
    slow = slash_command_interaction(subcommand="stats")
    (body,) = await rig.deferred(slow)
    assert (await rig.callback_for(slow["token"])).type == CALLBACK_DEFERRED_CHANNEL_MESSAGE
    assert "Stats for" in str(body["embeds"])


async def test_ask_posts_a_private_question_embed_with_answer_hint_and_skip(rig: Rig) -> None:
    question_id = await open_question(rig)
    assert rig.services.catalog.question(question_id).topic_id == "ec2"
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    assert opened.question_id == question_id


@pytest.mark.parametrize(
    ("subcommand", "options", "title"),
    [
        ("stats", {}, "Alice"),
        ("leaderboard", {"period": "month"}, "Leaderboard"),
        ("hint", {}, "no open question"),
        ("skip", {}, "no open question"),
        ("answer", {"text": "an answer"}, "no open question"),
        ("ask", {"topic": "lambda", "difficulty": "basic"}, "Lambda"),
    ],
)
async def test_every_engine_subcommand_defers_then_follows_up_privately(
    rig: Rig, subcommand: str, options: dict[str, OptionValue], title: str
) -> None:
    (body,) = await rig.command(subcommand, options)
    assert title.lower() in json.dumps(embed_of(body)).lower()


@pytest.mark.parametrize(("subcommand", "expected"), [("topics", "EC2"), ("help", "daily set")])
async def test_in_memory_subcommands_answer_on_the_callback(
    rig: Rig, subcommand: str, expected: str
) -> None:
    await rig.double.dispatch(
        "INTERACTION_CREATE", slash_command_interaction(subcommand=subcommand)
    )
    (callback,) = await rig.double.wait_for_callbacks(1)
    assert callback.type == CALLBACK_CHANNEL_MESSAGE
    assert callback.data["flags"] == EPHEMERAL_FLAG
    assert callback.data["allowed_mentions"] == {"parse": []}
    assert expected in json.dumps(callback.data["embeds"])


async def test_answer_command_grades_the_open_question(rig: Rig) -> None:
    await open_question(rig)
    (body,) = await rig.command("answer", {"text": "Use an Auto Scaling group across AZs."})
    assert embed_of(body)["title"].split(" ", 1)[1].startswith("Score ")
    assert len(await rig.services.store.attempts(ALICE)) == 1


async def test_an_answer_over_the_cap_is_refused_with_the_cap(rig: Rig) -> None:
    await open_question(rig)
    (body,) = await rig.command("answer", {"text": "x" * 3001})
    assert "3,000" in embed_of(body)["description"]
    assert await rig.services.store.open_question(ALICE) is not None


async def test_everyone_in_user_text_never_pings(rig: Rig) -> None:
    (body,) = await rig.command("ask", {"topic": "@everyone <@&123>"})
    description = embed_of(body)["description"]
    assert "@\u200beveryone" in description
    assert "@everyone" not in description
    assert "<@&" not in description


async def test_autocomplete_offers_topics_and_timezones(rig: Rig) -> None:
    await rig.double.dispatch(
        "INTERACTION_CREATE",
        autocomplete_interaction(subcommand="ask", focused="topic", value="ec"),
    )
    await rig.double.dispatch(
        "INTERACTION_CREATE",
        autocomplete_interaction(
            subcommand="set", subcommand_group="daily", focused="timezone", value="europe/lon",
            options={"time": "09:30"},
        ),
    )  # fmt: skip
    topics, zones = await rig.double.wait_for_callbacks(2)
    assert topics.type == zones.type == CALLBACK_AUTOCOMPLETE_RESULT
    assert [c["value"] for c in topics.data["choices"]][:2] == ["ec2", "ecs"]
    assert zones.data["choices"] == [{"name": "Europe/London", "value": "Europe/London"}]


BOB_ID = USER_ID + 1
AS_BOB: dict[str, Any] = {"user_id": BOB_ID, "user_name": "bob"}
IN_DM: dict[str, Any] = {"guild_id": None}


async def answer_a_question(rig: Rig, **fields: Any) -> JsonObject:
    """Ask an EC2 question and answer it as the interaction `fields` say; return the grade."""
    await rig.command("ask", {"topic": "ec2"}, **fields)
    (graded,) = await rig.command("answer", {"text": "EC2 in an Auto Scaling group."}, **fields)
    assert "Score" in embed_of(graded)["title"]
    return graded


async def test_stats_member_shows_that_members_stats_in_this_server(rig: Rig) -> None:
    await answer_a_question(rig, **AS_BOB)
    (body,) = await rig.command("stats", {"member": UserOption(BOB_ID, "bob")})
    embed = embed_of(body)
    assert embed["title"].endswith("Stats for Bob")
    assert {"name": "Answers", "value": "1", "inline": True} in embed["fields"]


async def test_dm_practice_is_each_users_own(rig: Rig) -> None:
    """Alice and Bob share nothing in their DMs with the bot: neither sees the other there."""
    await answer_a_question(rig, **IN_DM)
    alice_in_dm = UserRef("discord", f"dm:{USER_ID}", str(USER_ID))
    assert len(await rig.services.store.attempts(alice_in_dm)) == 1
    (own,) = await rig.command("stats", **IN_DM)
    assert {"name": "Answers", "value": "1", "inline": True} in embed_of(own)["fields"]

    (board,) = await rig.command("leaderboard", {"period": "all"}, **IN_DM, **AS_BOB)
    assert embed_of(board)["description"] == LEADERBOARD_GUILD_ONLY
    (alices,) = await rig.command(
        "stats", {"member": UserOption(USER_ID, "alice")}, **IN_DM, **AS_BOB
    )
    assert embed_of(alices)["description"] == OTHERS_STATS_GUILD_ONLY
    (bobs,) = await rig.command("stats", **IN_DM, **AS_BOB)
    assert "No answers yet" in embed_of(bobs)["description"]
    # Nor does a DM answer land in any server's ranking.
    (guild_board,) = await rig.command("leaderboard", {"period": "all"})
    assert str(USER_ID) not in json.dumps(embed_of(guild_board))


async def drop_table(rig: Rig, table: str) -> None:
    """Break the database under the bot: every use of `table` now fails unexpectedly."""
    async with rig.services.store.engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE {table}"))


def unexpected_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == discord_boundary.log.name and r.exc_info]


async def test_an_unexpected_failure_still_answers_quick_and_deferred_interactions(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    question_id = await open_question(rig)
    await drop_table(rig, "attempts")

    quick = slash_command_interaction(subcommand="stats")
    (body,) = await rig.deferred(quick)
    assert (await rig.callback_for(quick["token"])).type == CALLBACK_CHANNEL_MESSAGE
    assert embed_of(body)["description"] == UNEXPECTED

    monkeypatch.setattr(discord_handlers, "FAST_REPLY_SECONDS", 0.0)
    slow = slash_command_interaction(subcommand="stats")
    (body,) = await rig.deferred(slow)  # the defer's "thinking…" ends with the error
    assert (await rig.callback_for(slow["token"])).type == CALLBACK_DEFERRED_CHANNEL_MESSAGE
    assert embed_of(body)["description"] == UNEXPECTED

    submit = modal_submit_interaction(ids.modal_id(question_id), {ids.ANSWER_INPUT: "An answer."})
    (body,) = await rig.deferred(submit)
    assert embed_of(body)["description"] == UNEXPECTED
    failures = unexpected_failures(caplog)
    assert len(failures) == 3
    assert "/awsquiz stats" in failures[0].getMessage()
    assert "OperationalError" in caplog.text  # with the traceback


async def test_an_unexpected_failure_of_a_button_still_answers(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    question_id = await open_question(rig)
    await drop_table(rig, "open_questions")
    press = button_interaction(ids.button_id(ActionKind.HINT, question_id))
    (body,) = await rig.deferred(press)
    assert embed_of(body)["description"] == UNEXPECTED
    (failure,) = unexpected_failures(caplog)
    assert ids.button_id(ActionKind.HINT, question_id) in failure.getMessage()


async def test_interview_topics_autocomplete_completes_after_the_last_comma(rig: Rig) -> None:
    for typed in ("ec2, lam", "ec2,ecs, "):
        request = autocomplete_interaction(subcommand="interview", focused="topics", value=typed)
        await rig.double.dispatch("INTERACTION_CREATE", request)
    first, second = await rig.double.wait_for_callbacks(2)
    assert first.data["choices"] == [{"name": "ec2, AWS Lambda", "value": "ec2, lambda"}]
    values = [choice["value"] for choice in second.data["choices"]]
    assert values == sorted(values)
    assert all(value.startswith("ec2, ecs, ") for value in values)
    assert not {"ec2, ecs, ec2", "ec2, ecs, ecs"} & set(values)  # listed once is enough
    # Discord shows at most 25 choices.
    assert len(values) == min(25, len(rig.services.catalog.topics) - 2)


def test_topic_list_choices_stay_within_discords_limits(catalog: Catalog) -> None:
    listed = "x" * 95 + ", "  # 97 characters already: only ids of 3 or fewer still fit
    fitting = [f"{listed}{topic_id}" for topic_id in ("ec2", "ecs", "s3")]
    assert [choice.value for choice in topic_list_matches(catalog, listed)] == fitting
    forty = Catalog([Topic(id=f"t{n}", name=f"Topic {n}") for n in range(40)], [])
    assert len(topic_list_matches(forty, "t1, ")) == 25


def test_topic_list_autocomplete_splits_on_semicolons_as_the_command_does(
    catalog: Catalog,
) -> None:
    assert [choice.value for choice in topic_list_matches(catalog, "ec2; lam")] == ["ec2, lambda"]


async def test_two_servers_are_kept_apart(two_guilds: Rig) -> None:
    rig = two_guilds
    await answer_a_question(rig)  # Alice, in the first server
    await answer_a_question(rig, **AS_BOB, **IN_OTHER_GUILD)

    (board,) = await rig.command("leaderboard", {"period": "all"})
    shown = json.dumps(embed_of(board))
    assert f"<@{USER_ID}>" in shown
    assert f"<@{BOB_ID}>" not in shown
    (other_board,) = await rig.command("leaderboard", {"period": "all"}, **IN_OTHER_GUILD)
    assert f"<@{USER_ID}>" not in json.dumps(embed_of(other_board))
    (alice_there,) = await rig.command("stats", **IN_OTHER_GUILD)
    assert "No answers yet" in embed_of(alice_there)["description"]
    (bob_here,) = await rig.command("stats", {"member": UserOption(BOB_ID, "bob")})
    assert "No answers yet" in embed_of(bob_here)["description"]

    message_id = await post_today(rig)  # the first server's daily question
    (status,) = await rig.command("status", subcommand_group="daily", **IN_OTHER_GUILD)
    assert "No daily question here" in embed_of(status)["title"]
    (answer_id,) = button_ids(rig.double.messages[message_id])
    value = answer_id.removeprefix("awsquiz:answer:")
    from_elsewhere = modal_submit_interaction(
        ids.modal_id(value), {ids.ANSWER_INPUT: "An answer."}, **IN_OTHER_GUILD
    )
    (refused,) = await rig.deferred(from_elsewhere)
    assert "does not exist here" in embed_of(refused)["description"]
    assert not await rig.services.store.attempts(
        UserRef("discord", str(OTHER_GUILD_ID), str(USER_ID))
    )


# -- buttons and the modal -----------------------------------------------------------------


async def test_answer_button_opens_a_modal_and_the_grade_is_private(rig: Rig) -> None:
    question_id = await open_question(rig)
    await rig.double.dispatch(
        "INTERACTION_CREATE", button_interaction(ids.button_id(ActionKind.ANSWER, question_id))
    )
    modal = (await rig.double.wait_for_callbacks(2))[1]
    assert modal.type == CALLBACK_MODAL
    assert modal.data["custom_id"] == ids.modal_id(question_id)
    (row,) = modal.data["components"]
    assert row["components"][0]["style"] == 2  # paragraph
    submit = modal_submit_interaction(
        ids.modal_id(question_id), {ids.ANSWER_INPUT: "Instances in an Auto Scaling group."}
    )
    (body,) = await rig.deferred(submit)
    assert "Score" in embed_of(body)["title"]
    assert len(await rig.services.store.attempts(ALICE)) == 1


async def test_an_answer_modal_opened_before_a_restart_is_graded_after_it(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    database = tmp_path / "discord.db"
    async with running_bot(double, database, clock) as rig:
        question_id = await open_question(rig)
        press = button_interaction(ids.button_id(ActionKind.ANSWER, question_id))
        await double.dispatch("INTERACTION_CREATE", press)
        assert (await double.wait_for_callbacks(2))[1].type == CALLBACK_MODAL

    async with running_bot(double, database, clock) as rig:  # a restart: new client, same db
        submit = modal_submit_interaction(
            ids.modal_id(question_id), {ids.ANSWER_INPUT: "Instances in an Auto Scaling group."}
        )
        (body,) = await rig.deferred(submit)  # one callback: handled once
        assert "Score" in embed_of(body)["title"]
        assert len(await rig.services.store.attempts(ALICE)) == 1


async def test_the_answer_button_of_a_daily_post_from_before_a_restart_still_works(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    database = tmp_path / "discord.db"
    async with running_bot(double, database, clock) as rig:
        message_id = await post_today(rig)
    (answer_id,) = button_ids(double.messages[message_id])

    async with running_bot(double, database, clock) as rig:  # a new client: nothing in memory
        press = button_interaction(answer_id, double.messages[message_id])
        await double.dispatch("INTERACTION_CREATE", press)
        (modal,) = await double.wait_for_callbacks(1)
        assert modal.type == CALLBACK_MODAL
        value = answer_id.removeprefix("awsquiz:answer:")
        assert modal.data["custom_id"] == ids.modal_id(value)
        submit = modal_submit_interaction(ids.modal_id(value), {ids.ANSWER_INPUT: "An answer."})
        (graded,) = await rig.deferred(submit)
        assert "Streak" in json.dumps(embed_of(graded))
        assert len(await rig.services.store.attempts(ALICE)) == 1


async def test_members_answering_one_daily_post_are_each_graded_once(rig: Rig) -> None:
    """One custom_id for everyone's modal: the first submission must not drop the others."""
    await subscribe(rig)
    await rig.services.daily.post_now(ROOM)
    (post,) = rig.double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")
    (answer_id,) = button_ids(post.body)
    message = rig.double.messages[next(iter(rig.double.messages))]
    members = [(USER_ID, "alice"), (USER_ID + 1, "bob")]
    for user_id, name in members:  # both open the modal before either submits
        press = button_interaction(answer_id, message, user_id=user_id, user_name=name)
        await rig.double.dispatch("INTERACTION_CREATE", press)
    await rig.double.wait_for_callbacks(2)
    value = answer_id.removeprefix("awsquiz:answer:")
    for user_id, name in members:
        submit = modal_submit_interaction(
            ids.modal_id(value), {ids.ANSWER_INPUT: "An answer."}, user_id=user_id, user_name=name
        )
        (graded,) = await rig.deferred(submit)
        assert "Streak" in json.dumps(embed_of(graded))
    for user_id, _ in members:
        member = UserRef("discord", str(GUILD_ID), str(user_id))
        assert len(await rig.services.store.attempts(member)) == 1


async def test_hint_and_skip_buttons_act_on_the_open_question(rig: Rig) -> None:
    question_id = await open_question(rig)
    (hint,) = await rig.deferred(button_interaction(ids.button_id(ActionKind.HINT, question_id)))
    assert "Hint 1" in embed_of(hint)["title"]
    (skip,) = await rig.deferred(button_interaction(ids.button_id(ActionKind.SKIP, question_id)))
    assert "Reference" in json.dumps(embed_of(skip))
    assert await rig.services.store.open_question(ALICE) is None


# -- the daily question --------------------------------------------------------------------


async def test_daily_set_needs_manage_server(rig: Rig) -> None:
    options: dict[str, OptionValue] = {"time": "09:30", "timezone": "Europe/London"}
    await rig.double.dispatch(
        "INTERACTION_CREATE",
        slash_command_interaction(subcommand="set", subcommand_group="daily", options=options),
    )
    (refusal,) = await rig.double.wait_for_callbacks(1)
    assert refusal.type == CALLBACK_CHANNEL_MESSAGE
    assert refusal.data["flags"] == EPHEMERAL_FLAG
    assert NEEDS_MANAGE_SERVER in refusal.data["embeds"][0]["description"]
    assert await rig.services.store.subscription(ROOM) is None

    admin = slash_command_interaction(
        subcommand="set",
        subcommand_group="daily",
        options=options,
        permissions=MEMBER_PERMISSIONS | MANAGE_GUILD,
    )
    (accepted,) = await rig.deferred(admin)
    assert "Daily question is on" in embed_of(accepted)["title"]
    subscription = await rig.services.store.subscription(ROOM)
    assert subscription is not None
    assert subscription.timezone == "Europe/London"

    (status,) = await rig.command("status", subcommand_group="daily")
    assert "is on" in embed_of(status)["title"]
    (off,) = await rig.command(
        "off", subcommand_group="daily", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD
    )
    assert "off" in embed_of(off)["title"]


async def test_daily_off_needs_manage_server_and_status_is_open_to_everyone(rig: Rig) -> None:
    await subscribe(rig)
    await rig.double.dispatch(
        "INTERACTION_CREATE", slash_command_interaction(subcommand="off", subcommand_group="daily")
    )
    (refusal,) = await rig.double.wait_for_callbacks(1)
    assert NEEDS_MANAGE_SERVER in refusal.data["embeds"][0]["description"]
    subscription = await rig.services.store.subscription(ROOM)
    assert subscription is not None
    assert subscription.enabled
    (status,) = await rig.command("status", subcommand_group="daily")  # a plain member
    assert "is on" in embed_of(status)["title"]


async def subscribe(rig: Rig) -> None:
    await rig.services.daily.subscribe(
        ROOM, actor=ALICE, is_admin=True, post_time="09:30", timezone="UTC"
    )


async def test_daily_post_answer_and_reveal_in_a_thread(rig: Rig) -> None:
    await subscribe(rig)
    assert await rig.services.daily.post_now(ROOM) is Outcome.POSTED
    (post,) = rig.double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")
    assert post.body["allowed_mentions"] == {"parse": []}
    (answer_id,) = button_ids(post.body)
    assert answer_id.startswith("awsquiz:answer:daily:")
    message_id = next(iter(rig.double.messages))

    press = button_interaction(answer_id, rig.double.messages[message_id])
    await rig.double.dispatch("INTERACTION_CREATE", press)
    (modal,) = await rig.double.wait_for_callbacks(1)
    assert modal.type == CALLBACK_MODAL
    value = answer_id.removeprefix("awsquiz:answer:")
    submit = modal_submit_interaction(ids.modal_id(value), {ids.ANSWER_INPUT: "An answer."})
    (graded,) = await rig.deferred(submit)
    assert "Streak" in json.dumps(embed_of(graded))

    rig.clock.advance(timedelta(days=1))
    assert await rig.services.daily.reveal_due() == 1
    (thread,) = rig.double.calls_to("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    assert thread.path == f"/channels/{CHANNEL_ID}/messages/{message_id}/threads"
    assert thread.body["name"].endswith("the answer")
    (reveal,) = rig.double.calls_to("POST", f"/channels/{message_id}/messages")
    assert "the answer" in embed_of(reveal.body)["title"]
    assert reveal.body["allowed_mentions"] == {"parse": []}
    assert not dm_posts(rig.double)  # nothing fell back: nobody is told anything


THREADS = "/channels/{channel_id}/messages/{message_id}/threads"


@asynccontextmanager
async def bot_lacking(permissions: int, tmp_path: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    """The bot in a guild where it lacks `permissions` (from its role and @everyone alike)."""
    async with DiscordDouble() as double:
        double.add_guild(
            bot_permissions=BOT_PERMISSIONS & ~permissions,
            everyone_permissions=MEMBER_PERMISSIONS & ~permissions,
        )
        async with running_bot(double, tmp_path / "d.db", clock) as rig:
            yield rig


async def post_today(rig: Rig) -> int:
    """Post today's daily question (subscribing the channel first); return its message id."""
    if await rig.services.store.subscription(ROOM) is None:
        await subscribe(rig)
    assert await rig.services.daily.post_now(ROOM) is Outcome.POSTED
    return max(rig.double.messages)


async def reveal_tomorrow(rig: Rig) -> RestCall:
    """Close today's question and reveal it; return the last message posted in the channel."""
    rig.clock.advance(timedelta(days=1))
    assert await rig.services.daily.reveal_due() == 1
    return rig.double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")[-1]


def assert_replies_to(reveal: RestCall, question_id: int) -> None:
    assert int(reveal.body["message_reference"]["message_id"]) == question_id
    assert reveal.body["message_reference"]["fail_if_not_exists"] is False
    assert reveal.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert "the answer" in embed_of(reveal.body)["title"]


@pytest.mark.parametrize(
    ("lacking", "name"),
    [(CREATE_PUBLIC_THREADS, "Create Public Threads"),
     (SEND_MESSAGES_IN_THREADS, "Send Messages in Threads")],
)  # fmt: skip
async def test_reveal_is_a_reply_where_threads_are_not_allowed_and_the_admin_is_told_once(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture, lacking: int, name: str
) -> None:
    async with bot_lacking(lacking, tmp_path, clock) as rig:
        question_id = await post_today(rig)
        assert_replies_to(await reveal_tomorrow(rig), question_id)
        assert not rig.double.calls_to("POST", THREADS)  # no empty thread left behind
        (dm,) = await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
        notice = embed_of(dm.body)["description"]
        assert f"#{CHANNEL_NAME}" in notice
        assert "as a reply" in notice
        assert name in notice

        tomorrow = await post_today(rig)
        assert_replies_to(await reveal_tomorrow(rig), tomorrow)
        assert len(dm_posts(rig.double)) == 1  # told once, not at every reveal
    assert name in caplog.text


async def test_reveal_without_read_message_history_is_a_plain_message(
    tmp_path: Path, clock: FixedClock
) -> None:
    async with bot_lacking(CREATE_PUBLIC_THREADS | READ_MESSAGE_HISTORY, tmp_path, clock) as rig:
        await post_today(rig)
        reveal = await reveal_tomorrow(rig)
        assert "message_reference" not in reveal.body
        assert "the answer" in embed_of(reveal.body)["title"]
        (dm,) = await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
        notice = embed_of(dm.body)["description"]
        assert "not linked to the question" in notice
        assert "Read Message History" in notice


async def test_a_reply_refused_for_history_is_sent_again_without_the_link(
    tmp_path: Path, clock: FixedClock
) -> None:
    """The cache said Read Message History; Discord said 160002: the reveal still lands."""
    async with bot_lacking(CREATE_PUBLIC_THREADS, tmp_path, clock) as rig:
        question_id = await post_today(rig)
        needs_history = error_body(160002, "Cannot reply without permission to read history")
        rig.double.respond("POST", "/channels/{channel_id}/messages", 400, needs_history, once=True)
        reveal = await reveal_tomorrow(rig)
        refused, sent = rig.double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")[1:]
        assert_replies_to(refused, question_id)
        assert sent is reveal
        assert "message_reference" not in sent.body


async def test_a_reveal_of_a_deleted_question_still_lands(rig: Rig) -> None:
    await post_today(rig)
    unknown = error_body(10008, "Unknown Message")
    rig.double.respond("POST", THREADS, 404, unknown, once=True)
    reveal = await reveal_tomorrow(rig)  # reveal_due() == 1: not lost, not retried for ever
    assert reveal.body["message_reference"]["fail_if_not_exists"] is False
    assert not dm_posts(rig.double)  # nothing for the admin to fix


async def test_a_thread_refused_despite_the_permissions_falls_back_and_tells_the_admin(
    rig: Rig,
) -> None:
    question_id = await post_today(rig)
    refused = error_body(50013, "Missing Permissions")
    rig.double.respond("POST", THREADS, 403, refused, once=True)
    assert_replies_to(await reveal_tomorrow(rig), question_id)
    (dm,) = await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
    assert "Discord refused to open a thread: Missing Permissions" in json.dumps(dm.body)


async def test_a_reveal_refused_for_good_is_a_permanent_chat_post_error(
    tmp_path: Path, clock: FixedClock
) -> None:
    async with bot_lacking(CREATE_PUBLIC_THREADS, tmp_path, clock) as rig:
        question_id = await post_today(rig)
        refused = error_body(50013, "Missing Permissions")
        rig.double.respond("POST", "/channels/{channel_id}/messages", 403, refused)
        with pytest.raises(ChatPostError) as raised:
            await DiscordChatAdapter(rig.client).post_reply(ROOM, str(question_id), Reply("x"))
        assert not raised.value.transient


async def test_the_admin_is_told_by_dm_when_a_later_daily_post_is_refused(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with DiscordDouble() as double:
        double.add_guild(  # Send Messages taken away after the set-up
            bot_permissions=BOT_PERMISSIONS & ~SEND_MESSAGES,
            everyone_permissions=MEMBER_PERMISSIONS & ~SEND_MESSAGES,
        )
        missing = error_body(50013, "Missing Permissions")
        double.respond("POST", f"/channels/{CHANNEL_ID}/messages", 403, missing)
        async with running_bot(double, tmp_path / "d.db", clock) as rig:
            await subscribe(rig)  # set up by Alice
            assert await rig.services.daily.post_now(ROOM) is Outcome.FAILED
            (dm,) = await double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
            (opened,) = double.calls_to("POST", "/users/@me/channels")
            assert int(opened.body["recipient_id"]) == USER_ID
            notice = embed_of(dm.body)
            assert "not posted" in notice["title"]
            assert f"#{CHANNEL_NAME}" in notice["description"]
            assert "Send Messages" in notice["description"]

            # Her DMs closed too: the failure is still logged, and the round carries on.
            closed = error_body(50007, "Cannot send messages to this user")
            double.respond("POST", f"/channels/{DM_CHANNEL}/messages", 403, closed)
            rig.clock.advance(timedelta(days=1))
            assert await rig.services.daily.post_now(ROOM) is Outcome.FAILED
    assert "could not tell user" in caplog.text
    assert "Cannot send messages to this user" in caplog.text


async def test_forbidden_and_server_errors_become_chat_post_errors(rig: Rig) -> None:
    adapter = DiscordChatAdapter(rig.client)
    reply = Reply(title="Daily")
    messages = "/channels/{channel_id}/messages"
    rig.double.respond("POST", messages, 403, error_body(50013, "Missing Permissions"), once=True)
    with pytest.raises(ChatPostError) as refused:
        await adapter.post(ROOM, reply)
    assert not refused.value.transient
    # 503: discord.py raises DiscordServerError at once (a 500 it retries itself, with sleeps).
    rig.double.respond("POST", messages, 503, error_body(0, "unavailable"), once=True)
    with pytest.raises(ChatPostError) as failed:
        await adapter.post(ROOM, reply)
    assert failed.value.transient
    assert isinstance(failed.value.__cause__, discord.DiscordServerError)


async def test_a_500_is_retried_by_discord_py_itself(rig: Rig) -> None:
    """Rate limits and retries are discord.py's: the adapter goes through its HTTP client."""
    messages = f"/channels/{CHANNEL_ID}/messages"
    rig.double.respond("POST", messages, 500, error_body(0, "boom"), once=True)
    message_id = await DiscordChatAdapter(rig.client).post(ROOM, Reply(title="Daily"))
    first, second = rig.double.calls_to("POST", messages)
    assert first.body == second.body
    assert int(message_id) in rig.double.messages


async def test_a_post_before_login_is_a_transient_error(double: DiscordDouble) -> None:
    """Before login discord.py's HTTP client has no session: no AttributeError escapes."""
    client = AwsquizClient(None, guild_ready_timeout=0)
    with pointed_at(double), pytest.raises(ChatPostError) as early:
        await DiscordChatAdapter(client).post(ROOM, Reply(title="Daily"))
    assert early.value.transient
    assert not double.calls
    await client.close()


async def test_a_post_waits_for_ready_within_a_bound(
    double: DiscordDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord_chat, "READY_TIMEOUT", 0.05)
    client = discord.Client(intents=discord.Intents.default())
    with pointed_at(double):
        await client.login(BOT_TOKEN)  # logged in, but never connected to the gateway
        try:
            with pytest.raises(ChatPostError) as waited:
                await DiscordChatAdapter(client).post(ROOM, Reply(title="Daily"))
        finally:
            await client.close()
    assert waited.value.transient
    assert not double.calls_to("POST", "/channels/{channel_id}/messages")


async def test_the_start_up_catch_up_is_posted_once_the_client_is_ready(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    """The scheduler's first sweep may run while the client is still logging in."""
    client = AwsquizClient(None, guild_ready_timeout=0)
    adapters = {"discord": DiscordChatAdapter(client)}
    settings = settings_for(tmp_path / "d.db")
    async with open_services(settings, adapters=adapters, clock=clock) as services:
        client.handlers = DiscordHandlers(services.tutor, client)
        due = clock.now() - timedelta(minutes=30)
        await services.daily.subscribe(
            ROOM, actor=ALICE, is_admin=True, post_time=f"{due:%H:%M}", timezone="UTC"
        )
        sweep = asyncio.create_task(services.daily.post_due())  # before login, as at start-up
        async with running_client(client, BOT_TOKEN, double):
            report = await sweep
        assert report.outcomes == {ROOM: Outcome.POSTED}
        (post,) = double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")
        (answer_id,) = button_ids(post.body)
        assert answer_id.startswith("awsquiz:answer:daily:")


# -- the DM interview ----------------------------------------------------------------------


def dm_posts(double: DiscordDouble) -> list[RestCall]:
    return double.calls_to("POST", f"/channels/{DM_CHANNEL}/messages")


async def test_dm_interview_runs_to_its_summary_across_a_restart(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    database = tmp_path / "discord.db"
    async with running_bot(double, database, clock) as rig:
        (started,) = await rig.command("interview", {"topics": "ec2", "questions": 2})
        assert "direct messages" in embed_of(started)["description"]
        intro, first = await double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 2)
        assert "Mock interview" in embed_of(intro.body)["title"]
        assert "Question 1 of 2" in embed_of(first.body)["title"]
        assert len(button_ids(first.body)) == 3  # Hint, Skip, Stop

    async with running_bot(double, database, clock) as rig:  # a restart: new client, same db
        answer = dm_message_create("EC2 instances in an Auto Scaling group across AZs.")
        await double.dispatch("MESSAGE_CREATE", answer)
        await double.dispatch("MESSAGE_CREATE", answer)  # delivered twice: graded once
        posts = await double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 4)
        assert "Score" in embed_of(posts[2].body)["title"]
        assert "Question 2 of 2" in embed_of(posts[3].body)["title"]
        await double.dispatch("MESSAGE_CREATE", dm_message_create("skip"))
        posts = await double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 6)
        assert "Interview summary" in embed_of(posts[5].body)["title"]
        assert len(dm_posts(double)) == 6
        assert all(post.body["allowed_mentions"] == {"parse": []} for post in dm_posts(double))
        assert len(await rig.services.store.attempts(ALICE)) == 1  # in the guild's scope
        assert not await rig.services.interviews.is_active(ALICE)


async def test_a_dm_answer_finds_its_guild_interview_when_that_guild_is_not_seen(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    """After a restart the guild may be on another shard or process: the database decides."""
    database = tmp_path / "discord.db"
    async with running_bot(double, database, clock) as rig:
        await rig.command("interview", {"topics": "ec2", "questions": 2})
        await double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 2)

    del double.guilds[GUILD_ID]  # the restarted client is not told of the guild
    async with running_bot(double, database, clock) as rig:
        assert rig.client.get_guild(GUILD_ID) is None
        await double.dispatch("MESSAGE_CREATE", dm_message_create("EC2 in an Auto Scaling group."))
        posts = await double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 4)
        assert "Score" in embed_of(posts[2].body)["title"]
        assert len(await rig.services.store.attempts(ALICE)) == 1  # the guild's scope


async def test_an_interview_started_in_a_dm_is_the_users_own(rig: Rig) -> None:
    (started,) = await rig.command("interview", {"topics": "ec2", "questions": 1}, **IN_DM)
    assert "direct messages" in embed_of(started)["description"]
    await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 2)
    await rig.double.dispatch("MESSAGE_CREATE", dm_message_create("EC2 in an Auto Scaling group."))
    posts = await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 4)
    assert "Score" in embed_of(posts[2].body)["title"]
    assert "Interview summary" in embed_of(posts[3].body)["title"]
    alice_in_dm = UserRef("discord", f"dm:{USER_ID}", str(USER_ID))
    assert len(await rig.services.store.attempts(alice_in_dm)) == 1

    await rig.double.dispatch("MESSAGE_CREATE", dm_message_create("an answer", author_id=BOB_ID))
    (bobs,) = await rig.double.wait_for("POST", f"/channels/{dm_channel_id(BOB_ID)}/messages")
    assert "No interview running" in embed_of(bobs.body)["title"]


async def test_an_interview_from_another_server_says_it_resumed_the_running_one(
    two_guilds: Rig,
) -> None:
    rig = two_guilds
    await rig.command("interview", {"topics": "ec2", "questions": 2})
    await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 2)
    (body,) = await rig.command("interview", {"topics": "lambda", "questions": 3}, **IN_OTHER_GUILD)
    embed = embed_of(body)
    assert "Interview resumed" in embed["title"]
    assert "another server" in embed["description"]
    assert "are not used" in embed["description"]
    assert "Type stop" in embed["description"]
    notice, question = dm_posts(rig.double)[2:]
    assert "Interview in progress" in embed_of(notice.body)["title"]
    assert "Question 1 of 2" in embed_of(question.body)["title"]
    elsewhere = UserRef("discord", str(OTHER_GUILD_ID), str(USER_ID))
    assert not await rig.services.interviews.is_active(elsewhere)


async def test_an_over_long_dm_answer_in_an_interview_is_refused_with_the_cap(rig: Rig) -> None:
    await rig.command("interview", {"topics": "ec2", "questions": 2})
    await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 2)
    await rig.double.dispatch("MESSAGE_CREATE", dm_message_create("x" * 3001))
    refusal = (await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 3))[2]
    assert "3,000" in embed_of(refusal.body)["description"]
    assert not await rig.services.store.attempts(ALICE)
    await rig.double.dispatch("MESSAGE_CREATE", dm_message_create("EC2 in an Auto Scaling group."))
    graded, second = (await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 5))[3:]
    assert "Score" in embed_of(graded.body)["title"]
    assert "Question 2 of 2" in embed_of(second.body)["title"]  # the same question was answered


async def test_an_idle_interview_ends_and_a_new_one_starts_where_it_is_asked(
    two_guilds: Rig,
) -> None:
    rig = two_guilds
    await rig.command("interview", {"topics": "ec2", "questions": 2})
    await rig.double.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 2)
    rig.clock.advance(timedelta(days=2))  # past the idle limit
    (body,) = await rig.command("interview", {"topics": "lambda", "questions": 1}, **IN_OTHER_GUILD)
    assert "Interview started" in embed_of(body)["title"]
    titles = [embed_of(post.body)["title"] for post in dm_posts(rig.double)[2:]]
    assert "expired" in titles[0]
    assert "Mock interview" in titles[1]
    assert not await rig.services.interviews.is_active(ALICE)
    there = UserRef("discord", str(OTHER_GUILD_ID), str(USER_ID))
    assert await rig.services.interviews.is_active(there)


async def test_closed_dms_get_a_private_message_with_the_fix(rig: Rig) -> None:
    rig.double.respond(
        "POST", "/channels/{channel_id}/messages", 403,
        error_body(50007, "Cannot send messages to this user"),
    )  # fmt: skip
    (body,) = await rig.command("interview")
    assert "Direct Messages" in embed_of(body)["description"]
    assert "/awsquiz interview" in DMS_CLOSED
    assert not await rig.services.interviews.is_active(ALICE)


# -- gateway and sync ----------------------------------------------------------------------


async def test_the_bot_still_answers_after_a_gateway_disconnect(rig: Rig) -> None:
    await rig.double.close_gateway()
    await rig.double.wait_for_gateway(2)
    await rig.double.dispatch("INTERACTION_CREATE", slash_command_interaction(subcommand="help"))
    (callback,) = await rig.double.wait_for_callbacks(1)
    assert callback.type == CALLBACK_CHANNEL_MESSAGE


async def test_the_token_never_reaches_the_log_even_at_debug(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # discord.py logs requests and gateway frames at DEBUG
    client = UnthrottledClient(None, guild_ready_timeout=0)
    async with running_bot(double, tmp_path / "d.db", clock, client=client) as rig:  # login
        await rig.command("stats")
        refused = error_body(50013, "Missing Permissions")
        double.respond("POST", "/channels/{channel_id}/messages", 403, refused, once=True)
        with pytest.raises(ChatPostError):
            await DiscordChatAdapter(rig.client).post(ROOM, Reply(title="Daily"))
        double.invalidate_session()  # the RESUME fails: a fresh IDENTIFY, token and all
        await double.close_gateway()
        await double.wait_for_gateway(2)
        await rig.command("stats")
    assert double.resumes == 0
    assert double.identifies == 2
    assert any(r.name.startswith("discord.") and r.levelno == logging.DEBUG for r in caplog.records)
    assert "Missing Permissions" in caplog.text
    assert BOT_TOKEN not in caplog.text


async def test_commands_sync_to_the_guild_when_one_is_set(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    async with running_bot(double, tmp_path / "d.db", clock, guild_id=GUILD_ID):
        pass
    (sync,) = double.calls_to("PUT", f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands")
    (command,) = sync.body
    assert command["name"] == "awsquiz"
    names = {option["name"] for option in command["options"]}
    assert names >= {"ask", "answer", "hint", "skip", "topics", "stats", "leaderboard"}
    assert names >= {"interview", "daily", "help"}
    assert not double.calls_to("PUT", f"/applications/{APPLICATION_ID}/commands")


def options_of(command: JsonObject) -> list[JsonObject]:
    """Every option of a synced command, subcommands and groups included, depth first."""
    found = []
    for option in command.get("options", []):
        found += [option, *options_of(option)]
    return found


def synced_option(double: DiscordDouble, *path: str) -> JsonObject:
    (awsquiz,) = double.commands[None]
    node: JsonObject = awsquiz
    for name in path:
        (node,) = [option for option in node["options"] if option["name"] == name]
    return node


async def test_every_synced_option_is_described_and_the_answer_has_the_cap(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    options = DiscordOptions(max_answer_chars=500)
    async with running_bot(double, tmp_path / "d.db", clock, options=options):
        (awsquiz,) = double.commands[None]
        undescribed = [o["name"] for o in options_of(awsquiz) if o["description"] in ("", "…")]
        assert undescribed == []
        text = synced_option(double, "answer", "text")
        assert (text["min_length"], text["max_length"]) == (1, 500)


async def test_commands_sync_globally_without_a_guild(rig: Rig) -> None:
    assert rig.double.calls_to("PUT", f"/applications/{APPLICATION_ID}/commands")


class UnthrottledShardedClient(UnthrottledClient, ShardedAwsquizClient):
    """A sharded client whose shards identify at once."""


async def test_a_sharded_client_connects_every_shard_and_answers_on_each(
    tmp_path: Path, clock: FixedClock
) -> None:
    settings = settings_for(tmp_path / "d.db", DISCORD_TOKEN=BOT_TOKEN, DISCORD_SHARD_COUNT="2")
    assert isinstance(
        build_client(settings.discord_guild_id, settings.discord_shard_count),
        ShardedAwsquizClient,
    )
    client = UnthrottledShardedClient(None, shard_count=2, guild_ready_timeout=0)
    async with DiscordDouble() as double:
        double.add_guild()
        async with running_bot(double, tmp_path / "d.db", clock, client=client):
            identified = sorted(payload["shard"] for payload in double.identify_payloads())
            assert identified == [[0, 2], [1, 2]]
            assert client.get_guild(GUILD_ID) is not None
            for shard in (0, 1):
                topics = slash_command_interaction(subcommand="topics")
                await double.dispatch("INTERACTION_CREATE", topics, shard=shard)
                callback = (await double.wait_for_callbacks(shard + 1))[shard]
                assert callback.type == CALLBACK_CHANNEL_MESSAGE
                assert "EC2" in json.dumps(callback.data["embeds"])
    assert client.is_closed()


async def test_a_sharded_client_closes_before_login_and_after_a_refused_one(
    double: DiscordDouble,
) -> None:
    never_started = ShardedAwsquizClient(None, shard_count=2)
    await never_started.close()  # discord.py alone raises AttributeError here
    assert never_started.is_closed()

    refused = ShardedAwsquizClient(None, shard_count=2, guild_ready_timeout=0)
    with pointed_at(double), pytest.raises(discord.LoginFailure):
        await serve(refused, "not-the-token", asyncio.Event())
    assert refused.is_closed()
    assert double.gateway_connections == 0


# -- settings ------------------------------------------------------------------------------


def test_discord_settings_and_platforms(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "d.db", DISCORD_TOKEN="secret-token", DISCORD_GUILD_ID="42")
    assert configured_platforms(settings) == ["discord"]
    assert settings.discord_guild_id == 42
    assert "secret-token" not in repr(settings)
    assert settings.discord_api_url == "https://discord.com/api/v10"


@pytest.mark.parametrize(
    ("name", "value"),
    [("DISCORD_API_URL", "discord.com"), ("DISCORD_GATEWAY_URL", "https://x"),
     ("DISCORD_SHARD_COUNT", "0")],
)  # fmt: skip
def test_bad_discord_settings_name_the_setting(tmp_path: Path, name: str, value: str) -> None:
    from bot.engine.errors import SettingsError

    with pytest.raises(SettingsError) as raised:
        settings_for(tmp_path / "d.db", **{name: value})
    assert raised.value.name == name


async def test_discord_sync_logs_in_syncs_and_closes(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    client = AwsquizClient(GUILD_ID, guild_ready_timeout=0)
    async with open_services(settings_for(tmp_path / "d.db"), clock=clock) as services:
        client.handlers = DiscordHandlers(services.tutor, client)
        with pointed_at(double):
            synced = await sync_once(client, BOT_TOKEN)
    assert [command.name for command in synced] == ["awsquiz"]
    assert client.is_closed()
    assert double.gateway_connections == 0


async def test_leaderboard_of_this_channel_ranks_only_the_answers_given_in_it(rig: Rig) -> None:
    await answer_a_question(rig, channel_id=OTHER_CHANNEL_ID)
    await answer_a_question(rig)  # in CHANNEL_ID

    (server,) = await rig.command("leaderboard", {"period": "all"})
    (here,) = await rig.command("leaderboard", {"period": "all", "scope": "channel"})

    assert "2 answers" in json.dumps(embed_of(server))
    assert "this channel" in embed_of(here)["title"]
    assert "1 answer " in json.dumps(embed_of(here))


async def test_a_server_that_removes_the_bot_stops_its_daily_question(rig: Rig) -> None:
    await subscribe(rig)

    await rig.double.dispatch("GUILD_DELETE", {"id": str(GUILD_ID)})  # no "unavailable": removed

    async def off() -> bool:
        kept = await rig.services.store.subscription(ROOM)
        return kept is not None and not kept.enabled

    await eventually(off, "turning the daily question off")
    kept = await rig.services.store.subscription(ROOM)
    assert kept is not None
    assert kept.post_time.hour == 9  # the settings stay for when the bot is added back


async def test_a_stop_button_of_an_earlier_interview_leaves_the_running_one(rig: Rig) -> None:
    interviews = rig.services.interviews
    await interviews.start(ALICE, ["ec2"], 2)
    earlier = await rig.services.store.active_interview(ALICE)
    assert earlier is not None
    await interviews.stop(ALICE)
    await interviews.start(ALICE, ["s3"], 2)

    press = button_interaction(ids.button_id(ActionKind.STOP, earlier.id), guild_id=None)
    (body,) = await rig.deferred(press)

    assert embed_of(body)["title"].endswith("That interview has already ended")
    assert await interviews.is_active(ALICE)


async def test_a_daily_post_and_its_reveal_are_found_again_by_their_keys(rig: Rig) -> None:
    adapter = DiscordChatAdapter(rig.client)
    since = datetime.now(UTC) - timedelta(seconds=5)
    answer = Action(ActionKind.ANSWER, "Answer", "daily:41")
    question = Reply(title="Today's question", text="Why?", actions=(answer,))

    first = await adapter.post(ROOM, question, key="daily:41")
    again = await adapter.post(ROOM, question, key="daily:41")  # a send retried after a crash

    assert again == first  # Discord enforced the nonce: one message
    sent = rig.double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")
    assert [call.body["nonce"] for call in sent] == ["daily:41", "daily:41"]
    assert all(call.body["enforce_nonce"] for call in sent)
    assert await adapter.find_post(ROOM, "daily:41", since=since) == first
    assert await adapter.find_post(ROOM, "daily:42", since=since) is None
    assert await adapter.find_post(ROOM, "daily:41", since=datetime.now(UTC)) is None
    assert await adapter.find_post(ROOM, "reveal:41", since=since, under=first) is None

    revealed = await adapter.post_reply(
        ROOM,
        first,
        Reply(title="Yesterday's question: the answer", text="Because."),
        key="reveal:41",
    )

    assert await adapter.find_post(ROOM, "reveal:41", since=since, under=first) == revealed
