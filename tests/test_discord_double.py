"""The Discord double against the real discord.py: login, gateway, interactions, REST, errors.

Each test runs a real `discord.Client` with a real `CommandTree`, persistent view and modal,
over real HTTP and a real websocket on loopback; nothing in discord.py is replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final, TypeVar

import discord
import pytest
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route
from doubles.discord import (
    APPLICATION_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_MODAL,
    CHANNEL_ID,
    DEFAULT_TIMEOUT,
    EPHEMERAL_FLAG,
    GUILD_ID,
    MANAGE_GUILD,
    USER_ID,
    DiscordDouble,
    autocomplete_interaction,
    button_interaction,
    dm_channel_id,
    dm_message_create,
    error_body,
    modal_submit_interaction,
    running_client,
    slash_command_interaction,
)

ANSWER_BUTTON_ID: Final = "awsquiz:answer"
ANSWER_MODAL_ID: Final = "awsquiz:answer-modal"
ANSWER_INPUT_ID: Final = "awsquiz:answer-text"
TOPICS: Final = ("ec2", "ecs", "eks", "iam", "s3")


class AnswerModal(discord.ui.Modal, title="Your answer"):
    """The modal the Answer button opens; records what was submitted."""

    answer: discord.ui.TextInput[AnswerModal] = discord.ui.TextInput(
        label="Answer", style=discord.TextStyle.paragraph, custom_id=ANSWER_INPUT_ID
    )

    def __init__(self, submitted: asyncio.Queue[str]) -> None:
        super().__init__(custom_id=ANSWER_MODAL_ID, timeout=None)
        self.submitted = submitted

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Record the answer, then tell the user it was graded."""
        self.submitted.put_nowait(self.answer.value)
        await interaction.response.send_message("graded", ephemeral=True)


class AnswerView(discord.ui.View):
    """A persistent view: its button works on messages posted before a restart."""

    def __init__(self, submitted: asyncio.Queue[str]) -> None:
        super().__init__(timeout=None)
        self.submitted = submitted

    @discord.ui.button(label="Answer", custom_id=ANSWER_BUTTON_ID)
    async def answer(
        self, interaction: discord.Interaction, _button: discord.ui.Button[AnswerView]
    ) -> None:
        """Open the answer modal."""
        await interaction.response.send_modal(AnswerModal(self.submitted))


class QuizBot(discord.Client):
    """A minimal bot shaped like ours: `/awsquiz` group, persistent view, DM handler."""

    def __init__(self) -> None:
        # Default intents here: the double does not care which a client asks for.
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0)
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(self._awsquiz_group())
        self.tree.on_error = self._record_tree_error  # type: ignore[method-assign]
        self.errors: list[BaseException] = []
        self.submitted: asyncio.Queue[str] = asyncio.Queue()
        self.direct_messages: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.resumed = asyncio.Event()

    def _awsquiz_group(self) -> app_commands.Group:
        group = app_commands.Group(name="awsquiz", description="AWS interview practice")

        @group.command(name="ping", description="Check the bot answers")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                "pong", ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )

        @group.command(name="slow", description="Think, then answer")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content="done")
            await interaction.followup.send("and one more thing", ephemeral=True)

        @group.command(name="topic", description="Practise one topic")
        async def topic(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"topic {name}")

        @topic.autocomplete("name")
        async def topic_names(
            _interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=t, value=t) for t in TOPICS if t.startswith(current)]

        return group

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """IDENTIFY at once: discord.py's default sleeps 5 s before every re-IDENTIFY."""

    async def setup_hook(self) -> None:
        """Register the persistent view, as the real bot does at start-up."""
        self.add_view(AnswerView(self.submitted))

    async def on_message(self, message: discord.Message) -> None:
        """Queue DMs from people (not the bot's own messages)."""
        if not message.author.bot:
            self.direct_messages.put_nowait(message)

    async def on_resumed(self) -> None:
        """Note the session was resumed."""
        self.resumed.set()

    async def _record_tree_error(
        self, _interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        self.errors.append(error)


@pytest.fixture
async def double() -> AsyncIterator[DiscordDouble]:
    """A started double with the bot in one guild with one text channel."""
    async with DiscordDouble() as started:
        started.add_guild()
        yield started


@pytest.fixture
async def bot(double: DiscordDouble) -> AsyncIterator[QuizBot]:
    """A QuizBot connected to the double and READY; closed afterwards."""
    client = QuizBot()
    async with running_client(client, BOT_TOKEN, double):
        yield client
    assert client.errors == []


T = TypeVar("T")


async def next_item(queue: asyncio.Queue[T]) -> T:
    """The next item of `queue`, or TimeoutError after DEFAULT_TIMEOUT."""
    async with asyncio.timeout(DEFAULT_TIMEOUT):
        return await queue.get()


# -- login and gateway ---------------------------------------------------------------------


async def test_login_and_ready(bot: QuizBot, double: DiscordDouble) -> None:
    assert bot.user is not None
    assert bot.user.id == BOT_USER_ID
    assert bot.application_id == APPLICATION_ID
    (login,) = double.calls_to("GET", "/users/@me")
    assert login.authorization == f"Bot {BOT_TOKEN}"
    (identify,) = double.identify_payloads()
    assert identify["token"] == BOT_TOKEN
    assert identify["intents"] == discord.Intents.default().value
    assert double.identifies == 1
    assert double.heartbeats >= 1  # discord.py beats once on HELLO
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None
    channel = guild.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    assert channel.permissions_for(guild.me).send_messages


async def test_wrong_token_fails_login(double: DiscordDouble) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running_client(QuizBot(), "not-the-token", double):
            pass
    assert double.gateway_connections == 0


async def test_running_client_restores_the_patched_urls(double: DiscordDouble) -> None:
    rest_base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    async with running_client(QuizBot(), BOT_TOKEN, double):
        patched = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        assert patched == (double.rest_url, double.gateway_url)
    restored = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    assert restored == (rest_base, gateway)


async def test_closed_gateway_resumes_and_still_handles_interactions(
    bot: QuizBot, double: DiscordDouble
) -> None:
    session_before = double.session_id
    await double.close_gateway()
    await double.wait_for_gateway(2)
    assert (double.identifies, double.resumes) == (1, 1)
    resume = next(frame["d"] for frame in double.gateway_frames if frame["op"] == 6)
    assert resume["session_id"] == session_before
    async with asyncio.timeout(DEFAULT_TIMEOUT):
        await bot.resumed.wait()

    await double.dispatch("INTERACTION_CREATE", slash_command_interaction(subcommand="ping"))
    (callback,) = await double.wait_for_callbacks(1)
    assert callback.data["content"] == "pong"


async def test_invalidated_session_identifies_again(bot: QuizBot, double: DiscordDouble) -> None:
    double.invalidate_session()
    await double.close_gateway()
    await double.wait_for_gateway(2)
    assert (double.identifies, double.resumes) == (2, 0)
    await double.dispatch("INTERACTION_CREATE", slash_command_interaction(subcommand="ping"))
    await double.wait_for_callbacks(1)


# -- application commands ------------------------------------------------------------------


async def test_tree_sync_puts_commands(bot: QuizBot, double: DiscordDouble) -> None:
    synced = await bot.tree.sync()
    (call,) = double.calls_to("PUT", f"/applications/{APPLICATION_ID}/commands")
    (command,) = call.body
    assert command["name"] == "awsquiz"
    assert {option["name"] for option in command["options"]} == {"ping", "slow", "topic"}
    assert all(option["type"] == 1 for option in command["options"])
    assert [app_command.name for app_command in synced] == ["awsquiz"]
    assert synced[0].id == int(double.commands[None][0]["id"])


async def test_guild_sync_puts_guild_commands(bot: QuizBot, double: DiscordDouble) -> None:
    guild = discord.Object(GUILD_ID)
    bot.tree.copy_global_to(guild=guild)
    synced = await bot.tree.sync(guild=guild)
    await double.wait_for("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    assert synced[0].guild_id == GUILD_ID


async def test_slash_command_answers_ephemerally_without_mentions(
    bot: QuizBot, double: DiscordDouble
) -> None:
    interaction = slash_command_interaction(subcommand="ping", permissions=MANAGE_GUILD)
    await double.dispatch("INTERACTION_CREATE", interaction)
    (callback,) = await double.wait_for_callbacks(1)
    assert callback.interaction_id == int(interaction["id"])
    assert callback.token == interaction["token"]
    assert callback.type == CALLBACK_CHANNEL_MESSAGE
    assert callback.data["content"] == "pong"
    assert callback.data["flags"] == EPHEMERAL_FLAG
    assert callback.data["allowed_mentions"] == {"parse": []}


async def test_deferred_command_edits_original_and_follows_up(
    bot: QuizBot, double: DiscordDouble
) -> None:
    interaction = slash_command_interaction(subcommand="slow")
    await double.dispatch("INTERACTION_CREATE", interaction)
    token = interaction["token"]
    (follow_up,) = await double.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{token}")
    (callback,) = double.callbacks
    assert callback.type == CALLBACK_DEFERRED_CHANNEL_MESSAGE
    assert callback.data["flags"] == EPHEMERAL_FLAG
    (edit,) = double.calls_to("PATCH", f"/webhooks/{APPLICATION_ID}/{token}/messages/@original")
    assert edit.body["content"] == "done"
    assert follow_up.body["content"] == "and one more thing"
    assert follow_up.body["flags"] == EPHEMERAL_FLAG


async def test_autocomplete_offers_matching_choices(bot: QuizBot, double: DiscordDouble) -> None:
    request = autocomplete_interaction(subcommand="topic", focused="name", value="ec")
    await double.dispatch("INTERACTION_CREATE", request)
    (callback,) = await double.wait_for_callbacks(1)
    assert callback.type == CALLBACK_AUTOCOMPLETE_RESULT
    assert callback.data["choices"] == [
        {"name": "ec2", "value": "ec2"},
        {"name": "ecs", "value": "ecs"},
    ]


async def test_command_options_reach_the_command(bot: QuizBot, double: DiscordDouble) -> None:
    await double.dispatch(
        "INTERACTION_CREATE", slash_command_interaction(subcommand="topic", options={"name": "iam"})
    )
    (callback,) = await double.wait_for_callbacks(1)
    assert callback.data["content"] == "topic iam"


# -- components ----------------------------------------------------------------------------


async def test_button_reaches_persistent_view(bot: QuizBot, double: DiscordDouble) -> None:
    await double.dispatch("INTERACTION_CREATE", button_interaction(ANSWER_BUTTON_ID))
    (callback,) = await double.wait_for_callbacks(1)
    assert callback.type == CALLBACK_MODAL
    assert callback.data["custom_id"] == ANSWER_MODAL_ID
    assert callback.data["title"] == "Your answer"


async def test_modal_submit_reaches_on_submit(bot: QuizBot, double: DiscordDouble) -> None:
    await double.dispatch("INTERACTION_CREATE", button_interaction(ANSWER_BUTTON_ID))
    await double.wait_for_callbacks(1)  # the modal is open: discord.py now knows its custom_id
    answer = "Use an Auto Scaling group across two AZs behind an ALB."
    submit = modal_submit_interaction(ANSWER_MODAL_ID, {ANSWER_INPUT_ID: answer})
    await double.dispatch("INTERACTION_CREATE", submit)
    assert await next_item(bot.submitted) == answer
    callbacks = await double.wait_for_callbacks(2)
    assert callbacks[1].type == CALLBACK_CHANNEL_MESSAGE
    assert callbacks[1].data["content"] == "graded"


# -- messages ------------------------------------------------------------------------------


async def test_dm_reaches_on_message_and_reply_posts(bot: QuizBot, double: DiscordDouble) -> None:
    await double.dispatch("MESSAGE_CREATE", dm_message_create("next question please"))
    message = await next_item(bot.direct_messages)
    assert message.content == "next question please"
    assert isinstance(message.channel, discord.DMChannel)
    assert message.author.id == USER_ID

    await message.channel.send("Question 1 of 5")
    (reply,) = await double.wait_for("POST", f"/channels/{dm_channel_id(USER_ID)}/messages")
    assert reply.body["content"] == "Question 1 of 5"


async def test_channel_send_posts_message_with_components(
    bot: QuizBot, double: DiscordDouble
) -> None:
    channel = bot.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(
        "Question of the day",
        view=AnswerView(bot.submitted),
        allowed_mentions=discord.AllowedMentions.none(),
    )
    (call,) = double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")
    assert call.authorization == f"Bot {BOT_TOKEN}"
    assert call.body["allowed_mentions"] == {"parse": []}
    (row,) = call.body["components"]
    assert row["components"][0]["custom_id"] == ANSWER_BUTTON_ID
    assert sent.id == int(next(iter(double.messages)))
    assert sent.content == "Question of the day"
    assert sent.guild is not None
    assert sent.guild.id == GUILD_ID

    again = await channel.send("and another")
    assert again.id > sent.id


async def test_thread_from_message(bot: QuizBot, double: DiscordDouble) -> None:
    channel = bot.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("Reveal")
    thread = await message.create_thread(name="Answers")
    assert thread.id == message.id
    assert thread.parent_id == CHANNEL_ID
    (call,) = double.calls_to("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    assert call.body["name"] == "Answers"


async def test_open_dm_has_predictable_channel(bot: QuizBot, double: DiscordDouble) -> None:
    dm = await bot.create_dm(discord.Object(USER_ID))
    assert dm.id == dm_channel_id(USER_ID)
    (call,) = double.calls_to("POST", "/users/@me/channels")
    assert call.body == {"recipient_id": USER_ID}


async def test_fetch_channel(bot: QuizBot, double: DiscordDouble) -> None:
    channel = await bot.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    assert channel.guild.id == GUILD_ID


# -- errors --------------------------------------------------------------------------------


async def test_forbidden_surfaces_as_discord_forbidden(bot: QuizBot, double: DiscordDouble) -> None:
    double.respond(
        "POST", "/channels/{channel_id}/messages", 403, error_body(50013, "Missing Permissions")
    )
    channel = bot.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as raised:
        await channel.send("hello")
    assert raised.value.code == 50013
    assert raised.value.text == "Missing Permissions"


async def test_not_found_surfaces_as_discord_not_found(bot: QuizBot, double: DiscordDouble) -> None:
    double.respond("GET", "/channels/{channel_id}", 404, error_body(10003, "Unknown Channel"))
    with pytest.raises(discord.NotFound):
        await bot.fetch_channel(CHANNEL_ID)


async def test_one_shot_rate_limit_is_retried(bot: QuizBot, double: DiscordDouble) -> None:
    double.rate_limit_once("POST", "/channels/{channel_id}/messages", retry_after=0.05)
    channel = bot.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("after the wait")
    calls = double.calls_to("POST", f"/channels/{CHANNEL_ID}/messages")
    assert len(calls) == 2
    assert [call.body["content"] for call in calls] == ["after the wait"] * 2
    assert sent.content == "after the wait"


async def test_unknown_route_is_a_loud_404(bot: QuizBot, double: DiscordDouble) -> None:
    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(GUILD_ID)
    assert double.calls_to("GET", "/guilds/{guild_id}")
