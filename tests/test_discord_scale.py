"""Discord at scale, through real discord.py over loopback against the Discord double: pacing
under the global limit, one DM for many refusals, shards split between processes, command
sync only on change, no second response after 40060, channel options of uncached servers, a
public leaderboard, user installs and command mentions."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from doubles.discord import (
    APPLICATION_ID,
    BOT_PERMISSIONS,
    BOT_TOKEN,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_MODAL,
    CHANNEL_ID,
    DEFAULT_TIMEOUT,
    EPHEMERAL_FLAG,
    GUILD_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    SEND_MESSAGES,
    USER_ID,
    ChannelOption,
    DiscordDouble,
    InteractionCallback,
    JsonObject,
    OptionValue,
    button_interaction,
    dm_channel_id,
    error_body,
    pointed_at,
    running_client,
    shard_for,
    slash_command_interaction,
)
from helpers import FixedClock, eventually

from bot.adapters.discord import handlers as discord_handlers
from bot.adapters.discord import ids
from bot.adapters.discord import notices as discord_notices
from bot.adapters.discord.chat import DiscordChatAdapter
from bot.adapters.discord.client import (
    AwsquizClient,
    ShardedAwsquizClient,
    build_client,
    sync_once,
)
from bot.adapters.discord.handlers import DiscordHandlers, DiscordOptions
from bot.adapters.discord.pacing import REQUESTS_PER_SECOND, share_of_the_limit
from bot.adapters.discord.texts import NOT_ADDED_HERE
from bot.app import Services, open_services
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import Outcome
from bot.engine.errors import SettingsError
from bot.engine.model import UserRef
from bot.engine.reply import ActionKind, Reply
from bot.settings import Settings, load_settings

FAN_OUT: Final = 150
"""The issue's fan-out: 150 channels due at one time."""
FIRST_CHANNEL: Final = CHANNEL_ID + 10_000
ALICE = UserRef("discord", str(GUILD_ID), str(USER_ID))
BOB_ID: Final = USER_ID + 1
BOB = UserRef("discord", str(GUILD_ID), str(BOB_ID))
UNCACHED_GUILD: Final = GUILD_ID + 5_000
UNCACHED_CHANNEL: Final = CHANNEL_ID + 5_000
COMMANDS: Final = f"/applications/{APPLICATION_ID}/commands"
GROUP_DM_ID: Final = CHANNEL_ID + 7_000


def settings_for(database: Path, **extra: str) -> Settings:
    return load_settings({"DATABASE_URL": f"sqlite+aiosqlite:///{database}", **extra})


def channel_names(count: int) -> dict[int, str]:
    return {FIRST_CHANNEL + index: f"daily-{index:03d}" for index in range(count)}


class Observed(DiscordHandlers):
    """The real handlers, saying when each command or press is fully handled: a test can then
    tell that nothing more will be sent for it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled = 0
        self._changed = asyncio.Condition()

    async def wait_handled(self, count: int) -> None:
        async with asyncio.timeout(DEFAULT_TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: self.handled >= count)

    async def _done(self) -> None:
        async with self._changed:
            self.handled += 1
            self._changed.notify_all()

    async def ask(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().ask(*args, **kwargs)
        finally:
            await self._done()

    async def topics(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().topics(*args, **kwargs)
        finally:
            await self._done()

    async def on_button(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().on_button(*args, **kwargs)
        finally:
            await self._done()


@dataclass
class Rig:
    double: DiscordDouble
    services: Services
    client: AwsquizClient
    handlers: Observed
    clock: FixedClock

    async def callback_for(self, token: str) -> InteractionCallback:
        async def answered() -> bool:
            return any(c.token == token for c in self.double.callbacks)

        await eventually(answered, "the interaction response", seconds=DEFAULT_TIMEOUT)
        (callback,) = [c for c in self.double.callbacks if c.token == token]
        return callback

    async def reply_to(self, interaction: JsonObject) -> JsonObject:
        """Dispatch an interaction; its one reply: the response, or the follow-up after a defer."""
        await self.double.dispatch("INTERACTION_CREATE", interaction)
        callback = await self.callback_for(interaction["token"])
        if callback.type == CALLBACK_CHANNEL_MESSAGE:
            return callback.data
        path = f"/webhooks/{APPLICATION_ID}/{interaction['token']}"
        (follow_up,) = await self.double.wait_for("POST", path)
        assert isinstance(follow_up.body, dict)
        return follow_up.body


@asynccontextmanager
async def running_bot(
    double: DiscordDouble,
    database: Path,
    clock: FixedClock,
    *,
    client: AwsquizClient | None = None,
    options: DiscordOptions | None = None,
) -> AsyncIterator[Rig]:
    """awsquiz's Discord client READY against `double`; leaving the context is a restart."""
    client = client or AwsquizClient(None, guild_ready_timeout=0)
    adapters = {"discord": DiscordChatAdapter(client)}
    async with open_services(settings_for(database), adapters=adapters, clock=clock) as services:
        handlers = Observed(services.tutor, client, options)
        client.handlers = handlers
        async with running_client(client, BOT_TOKEN, double):
            yield Rig(double, services, client, handlers, clock)


@pytest.fixture
async def double() -> AsyncIterator[DiscordDouble]:
    async with DiscordDouble() as started:
        started.add_guild()
        yield started


@pytest.fixture
async def rig(double: DiscordDouble, tmp_path: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    async with running_bot(double, tmp_path / "d.db", clock) as started:
        yield started


def embed_of(body: JsonObject) -> JsonObject:
    (embed,) = body["embeds"]
    assert isinstance(embed, dict)
    return embed


async def subscribe_all(rig: Rig, channels: dict[int, str], admin: UserRef = ALICE) -> None:
    """Daily questions at 09:00 UTC (the clock's time) in `channels`, set up by `admin`."""
    for channel_id in channels:
        room = ChannelRef("discord", str(GUILD_ID), str(channel_id))
        await rig.services.daily.subscribe(
            room, actor=admin, is_admin=True, post_time="09:00", timezone="UTC"
        )


# -- pacing ----------------------------------------------------------------------------------


async def test_a_150_channel_fan_out_and_its_reveals_stay_under_the_global_limit(
    tmp_path: Path, clock: FixedClock
) -> None:
    channels = channel_names(FAN_OUT)
    async with DiscordDouble() as double:
        double.add_guild(channels=channels)
        double.enforce_global_limit()  # 50 a second, as Discord
        async with running_bot(double, tmp_path / "d.db", clock) as rig:
            await subscribe_all(rig, channels)

            report = await rig.services.daily.post_due()
            assert report.count(Outcome.POSTED) == FAN_OUT
            rig.clock.advance(timedelta(days=1))
            assert await rig.services.daily.reveal_due() == FAN_OUT

        assert double.global_rate_limited == 0
        posted = {int(message["channel_id"]) for message in double.messages.values()}
        assert set(channels) <= posted  # every question, and every reveal in its thread
        assert len(double.threads) == FAN_OUT


async def test_an_unpaced_client_draws_global_429s_from_the_double(
    tmp_path: Path, clock: FixedClock
) -> None:
    """What the pacer prevents: the same burst without it is refused, as Discord refuses it."""
    channels = channel_names(80)
    async with DiscordDouble() as double:
        double.add_guild(channels=channels)
        double.enforce_global_limit()
        unpaced = AwsquizClient(None, requests_per_second=None, guild_ready_timeout=0)
        async with running_bot(double, tmp_path / "d.db", clock, client=unpaced) as rig:
            adapter = DiscordChatAdapter(rig.client)
            rooms = [ChannelRef("discord", str(GUILD_ID), str(c)) for c in channels]
            await asyncio.gather(*(adapter.post(room, Reply("Daily")) for room in rooms))
        assert double.global_rate_limited > 0  # discord.py waited them out and retried
        assert len(double.messages) == len(channels)


async def test_posts_into_one_channel_wait_for_its_bucket_instead_of_drawing_429s(
    rig: Rig,
) -> None:
    rig.double.limit_route("POST", "/channels/{channel_id}/messages", limit=2, per_seconds=0.3)
    adapter = DiscordChatAdapter(rig.client)
    room = ChannelRef("discord", str(GUILD_ID), str(CHANNEL_ID))
    sent = await asyncio.gather(*(adapter.post(room, Reply(f"Post {n}")) for n in range(6)))
    assert len(set(sent)) == 6
    assert rig.double.route_rate_limited == 0  # discord.py read the bucket headers and waited


def test_a_process_running_some_shards_takes_its_part_of_the_limit() -> None:
    assert share_of_the_limit(None, None) == REQUESTS_PER_SECOND
    assert share_of_the_limit(None, 8) == REQUESTS_PER_SECOND
    assert share_of_the_limit(4, 8) == REQUESTS_PER_SECOND / 2
    assert share_of_the_limit(1, 3) == pytest.approx(REQUESTS_PER_SECOND / 3)


# -- one DM for many refusals ---------------------------------------------------------------


async def test_refused_posts_of_one_admin_are_one_dm_listing_every_channel(
    tmp_path: Path, clock: FixedClock
) -> None:
    alices = channel_names(FAN_OUT)
    bobs = {FIRST_CHANNEL + 1_000: "bobs-room", FIRST_CHANNEL + 1_001: "bobs-other"}
    async with DiscordDouble() as double:
        double.add_guild(
            channels=alices | bobs,  # Send Messages taken away after the set-up
            bot_permissions=BOT_PERMISSIONS & ~SEND_MESSAGES,
            everyone_permissions=MEMBER_PERMISSIONS & ~SEND_MESSAGES,
        )
        missing = error_body(50013, "Missing Permissions")
        for channel_id in alices | bobs:
            double.respond("POST", f"/channels/{channel_id}/messages", 403, missing)
        async with running_bot(double, tmp_path / "d.db", clock) as rig:
            await subscribe_all(rig, alices)
            await subscribe_all(rig, bobs, admin=BOB)

            report = await rig.services.daily.post_due()
            assert report.count(Outcome.FAILED) == FAN_OUT + len(bobs)
            (to_alice,) = await double.wait_for(
                "POST", f"/channels/{dm_channel_id(USER_ID)}/messages"
            )
            (to_bob,) = await double.wait_for("POST", f"/channels/{dm_channel_id(BOB_ID)}/messages")

        # Nothing more came after, not even at shutdown (which sends what is still gathered).
        assert len(double.calls_to("POST", f"/channels/{dm_channel_id(USER_ID)}/messages")) == 1
        notice = embed_of(to_alice.body)
        assert f"in {FAN_OUT} channels" in notice["title"]
        assert all(f"#{name}" in notice["description"] for name in alices.values())
        assert "Send Messages" in notice["description"]
        assert "#bobs" not in notice["description"]
        assert "#bobs-room" in embed_of(to_bob.body)["description"]


async def test_a_refusal_gathered_at_shutdown_is_still_told(
    tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord_notices, "QUIET_SECONDS", DEFAULT_TIMEOUT * 10)  # never settles
    async with DiscordDouble() as double:
        double.add_guild()
        double.respond("POST", f"/channels/{CHANNEL_ID}/messages", 403, error_body(50001, "x"))
        async with running_bot(double, tmp_path / "d.db", clock) as rig:
            await subscribe_all(rig, {CHANNEL_ID: "aws-study"})
            assert (
                await rig.services.daily.post_now(
                    ChannelRef("discord", str(GUILD_ID), str(CHANNEL_ID))
                )
                is Outcome.FAILED
            )
            assert not double.calls_to("POST", f"/channels/{dm_channel_id(USER_ID)}/messages")
        (dm,) = double.calls_to("POST", f"/channels/{dm_channel_id(USER_ID)}/messages")
        assert "Discord refused it" in embed_of(dm.body)["description"]


# -- shards across processes ---------------------------------------------------------------


class UnthrottledShardedClient(ShardedAwsquizClient):
    """Identifies each shard at once: discord.py waits 5 s between IDENTIFYs (Discord's
    limit, which the double does not have)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No wait."""


async def test_two_processes_with_disjoint_shard_ids_each_identify_only_theirs(
    tmp_path: Path, clock: FixedClock
) -> None:
    first = settings_for(tmp_path / "d.db", DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="0-1")
    second = settings_for(tmp_path / "d.db", DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="2,3")
    for settings in (first, second):
        built = build_client(None, settings.discord_shard_count, settings.discord_shards)
        assert isinstance(built, ShardedAwsquizClient)
        assert (built.shard_count, built.shard_ids) == (4, list(settings.discord_shards or ()))

    one = UnthrottledShardedClient(None, shard_count=4, shard_ids=[0, 1], guild_ready_timeout=0)
    two = UnthrottledShardedClient(None, shard_count=4, shard_ids=[2, 3], guild_ready_timeout=0)
    async with (
        DiscordDouble() as double,
        running_bot(double, tmp_path / "d.db", clock, client=one),
        running_bot(double, tmp_path / "d.db", clock, client=two),
    ):
        shards = sorted(payload["shard"] for payload in double.identify_payloads())
        assert shards == [[0, 4], [1, 4], [2, 4], [3, 4]]  # each shard once, in all
        # A server's interactions reach the process holding its shard: here the second.
        topics = slash_command_interaction(subcommand="topics", guild_id=guild_on_shard(3, 4))
        await double.dispatch("INTERACTION_CREATE", topics)
        (callback,) = await double.wait_for_callbacks(1)
        assert "EC2" in json.dumps(callback.data["embeds"])
    assert (one.shard_ids, two.shard_ids) == ([0, 1], [2, 3])


def guild_on_shard(shard: int, shard_count: int) -> int:
    """A guild id whose events Discord sends to `shard`."""
    step = 1 << 22  # the shard is (guild_id >> 22) % shard_count
    return next(
        guild_id
        for guild_id in range(GUILD_ID, GUILD_ID + step * shard_count, step)
        if shard_for(guild_id, shard_count) == shard
    )


async def test_shard_count_auto_runs_as_many_shards_as_discord_recommends(
    tmp_path: Path, clock: FixedClock
) -> None:
    settings = settings_for(tmp_path / "d.db", DISCORD_SHARD_COUNT="auto")
    assert settings.discord_shard_count == "auto"
    built = build_client(None, settings.discord_shard_count)
    assert isinstance(built, ShardedAwsquizClient)
    assert built.shard_count is None  # asked of Discord at connection

    client = UnthrottledShardedClient(None, shard_count=None, guild_ready_timeout=0)
    async with DiscordDouble(shards=3) as double:
        async with running_bot(double, tmp_path / "d.db", clock, client=client):
            shards = sorted(payload["shard"] for payload in double.identify_payloads())
        assert double.calls_to("GET", "/gateway/bot")
    assert shards == [[0, 3], [1, 3], [2, 3]]
    assert client.shard_count == 3


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [("8", "0-3", (0, 1, 2, 3)), ("8", "0,2,4", (0, 2, 4)), ("8", " 0-1, 7 ", (0, 1, 7)),
     ("2", "", None), ("auto", None, None)],
)  # fmt: skip
def test_shard_ids_are_read_as_numbers_and_ranges(
    tmp_path: Path, count: str, ids: str | None, expected: tuple[int, ...] | None
) -> None:
    extra = {"DISCORD_SHARD_COUNT": count} | ({"DISCORD_SHARD_IDS": ids} if ids is not None else {})
    assert settings_for(tmp_path / "d.db", **extra).discord_shards == expected


@pytest.mark.parametrize(
    ("count", "ids", "name", "said"),
    [("8", "8", "DISCORD_SHARD_IDS", "0 to 7"), ("8", "0-9", "DISCORD_SHARD_IDS", "0 to 7"),
     ("8", "3-1", "DISCORD_SHARD_IDS", "backwards"), ("8", "one", "DISCORD_SHARD_IDS", "0-3"),
     ("8", "1,1", "DISCORD_SHARD_IDS", "twice"), ("auto", "0", "DISCORD_SHARD_IDS", "a number"),
     ("", "0", "DISCORD_SHARD_IDS", "DISCORD_SHARD_COUNT"),
     ("many", None, "DISCORD_SHARD_COUNT", "auto"), ("0", None, "DISCORD_SHARD_COUNT", "auto")],
)  # fmt: skip
def test_bad_shard_settings_name_the_setting_and_say_why(
    tmp_path: Path, count: str, ids: str | None, name: str, said: str
) -> None:
    extra = {"DISCORD_SHARD_COUNT": count} if count else {}
    if ids is not None:
        extra["DISCORD_SHARD_IDS"] = ids
    with pytest.raises(SettingsError) as refused:
        settings_for(tmp_path / "d.db", **extra)
    assert refused.value.name == name
    assert said in refused.value.problem


# -- command sync -----------------------------------------------------------------------------


async def test_a_second_start_uploads_no_commands_unless_they_changed(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    database = tmp_path / "d.db"
    async with running_bot(double, database, clock) as first:
        first_ids = dict(first.handlers.command_mentions)
    assert len(double.calls_to("PUT", COMMANDS)) == 1  # the first start registers them

    async with running_bot(double, database, clock) as again:
        assert again.handlers.command_mentions == first_ids  # known from what Discord has
    assert len(double.calls_to("GET", COMMANDS)) == 2
    assert len(double.calls_to("PUT", COMMANDS)) == 1  # unchanged: not uploaded again

    async with running_bot(double, database, clock, options=DiscordOptions(max_answer_chars=500)):
        pass  # the answer's length limit changed: the tree differs
    assert len(double.calls_to("PUT", COMMANDS)) == 2

    client = AwsquizClient(None, guild_ready_timeout=0)
    async with open_services(settings_for(database), clock=clock) as services:
        client.handlers = DiscordHandlers(services.tutor, client, DiscordOptions(500))
        with pointed_at(double):
            await sync_once(client, BOT_TOKEN)  # `awsquiz discord sync` uploads all the same
    assert len(double.calls_to("PUT", COMMANDS)) == 3


async def test_a_guild_sync_is_skipped_too_when_nothing_changed(
    double: DiscordDouble, tmp_path: Path, clock: FixedClock
) -> None:
    guild_commands = f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"
    for _ in range(2):
        client = AwsquizClient(GUILD_ID, guild_ready_timeout=0)
        async with running_bot(double, tmp_path / "d.db", clock, client=client):
            pass
    assert len(double.calls_to("PUT", guild_commands)) == 1


# -- never a second response ----------------------------------------------------------------


def follow_ups(double: DiscordDouble, interaction: JsonObject) -> list[Any]:
    return double.calls_to("POST", f"/webhooks/{APPLICATION_ID}/{interaction['token']}")


def warnings_of_ours(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("bot.") and record.levelno >= logging.WARNING
    ]


async def test_an_interaction_answered_elsewhere_gets_nothing_more_from_us(
    rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    quick = slash_command_interaction(subcommand="topics")  # answered in the response
    monkeypatch.setattr(discord_handlers, "FAST_REPLY_SECONDS", 0.0)
    slow = slash_command_interaction(subcommand="ask")  # deferred, then followed up
    question = rig.services.catalog.select()[0].id
    press = button_interaction(ids.button_id(ActionKind.ANSWER, question))  # opens a modal
    for interaction in (quick, slow, press):
        rig.double.answered_elsewhere(interaction)  # another process got there first
        await rig.double.dispatch("INTERACTION_CREATE", interaction)
    await rig.handlers.wait_handled(3)

    refused = {callback.token: callback.type for callback in rig.double.refused_callbacks}
    assert refused == {
        quick["token"]: CALLBACK_CHANNEL_MESSAGE,
        slow["token"]: CALLBACK_DEFERRED_CHANNEL_MESSAGE,
        press["token"]: CALLBACK_MODAL,
    }
    assert rig.double.callbacks == []  # no error reply in place of the answer
    assert not any(follow_ups(rig.double, i) for i in (quick, slow, press))  # nor after it
    assert warnings_of_ours(caplog) == []  # not a failure: the member was answered
    assert "already answered elsewhere" in caplog.text


async def test_a_gateway_event_delivered_twice_is_answered_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.double.acknowledge_once = True
    topics = slash_command_interaction(subcommand="topics")
    await rig.double.dispatch("INTERACTION_CREATE", topics)
    await rig.double.dispatch("INTERACTION_CREATE", topics)  # a retried delivery
    await rig.handlers.wait_handled(2)

    (answered,) = rig.double.callbacks
    (refused,) = rig.double.refused_callbacks
    assert answered.token == refused.token == topics["token"]
    assert "EC2" in json.dumps(answered.data["embeds"])
    assert follow_ups(rig.double, topics) == []
    assert warnings_of_ours(caplog) == []


# -- channel options of servers not cached yet ------------------------------------------------


def in_uncached_server(
    subcommand: str, options: dict[str, OptionValue], **fields: Any
) -> JsonObject:
    """A daily command from a server whose GUILD_CREATE has not arrived (right after start-up)."""
    return slash_command_interaction(
        subcommand=subcommand,
        subcommand_group="daily",
        options=options,
        guild_id=UNCACHED_GUILD,
        permissions=MEMBER_PERMISSIONS | MANAGE_GUILD,
        **fields,
    )


async def test_a_channel_option_in_a_server_not_cached_yet_works_from_the_resolved_data(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    assert rig.client.get_guild(UNCACHED_GUILD) is None
    chosen = ChannelOption(UNCACHED_CHANNEL, "uncached-room")
    options: dict[str, OptionValue] = {"time": "09:00", "timezone": "UTC", "channel": chosen}
    subscribed = await rig.reply_to(in_uncached_server("set", options))

    assert "wrong" not in json.dumps(subscribed).lower()
    room = ChannelRef("discord", str(UNCACHED_GUILD), str(UNCACHED_CHANNEL))
    kept = await rig.services.store.subscription(room)
    assert kept is not None
    assert kept.enabled
    status = await rig.reply_to(in_uncached_server("status", {"channel": chosen}))
    assert "09:00" in json.dumps(embed_of(status))
    assert "Traceback" not in caplog.text


async def test_in_a_server_not_cached_yet_the_interaction_tells_what_the_bot_may_do_here(
    rig: Rig,
) -> None:
    options: dict[str, OptionValue] = {"time": "09:00", "timezone": "UTC"}  # this channel
    refused = await rig.reply_to(
        in_uncached_server("set", options, app_permissions=BOT_PERMISSIONS & ~SEND_MESSAGES)
    )
    assert "I need Send Messages there" in embed_of(refused)["description"]
    room = ChannelRef("discord", str(UNCACHED_GUILD), str(CHANNEL_ID))
    assert await rig.services.store.subscription(room) is None


# -- public leaderboard, user installs, command mentions ----------------------------------------


async def test_a_public_leaderboard_is_posted_for_the_channel_and_pings_nobody(rig: Rig) -> None:
    question = await rig.reply_to(slash_command_interaction(subcommand="ask"))
    assert question["flags"] == EPHEMERAL_FLAG
    await rig.reply_to(
        slash_command_interaction(subcommand="answer", options={"text": "Virtual servers."})
    )

    private = await rig.reply_to(slash_command_interaction(subcommand="leaderboard"))
    public = await rig.reply_to(
        slash_command_interaction(subcommand="leaderboard", options={"public": True})
    )
    assert private["flags"] == EPHEMERAL_FLAG
    assert not public.get("flags", 0) & EPHEMERAL_FLAG  # for everyone in the channel
    assert public["allowed_mentions"] == {"parse": []}
    assert f"<@{USER_ID}>" in json.dumps(embed_of(public))  # shown as a name, pinging nobody


async def test_the_command_can_be_installed_by_servers_and_members_and_used_anywhere(
    rig: Rig,
) -> None:
    (awsquiz,) = rig.double.commands[None]
    assert sorted(awsquiz["integration_types"]) == [0, 1]  # guild install, user install
    assert sorted(awsquiz["contexts"]) == [0, 1, 2]  # servers, the bot's DM, group DMs
    leaderboard = next(o for o in awsquiz["options"] if o["name"] == "leaderboard")
    public = leaderboard["options"][-1]
    assert (public["name"], public["type"], public["required"]) == ("public", 5, False)


async def test_help_mentions_the_synced_commands(rig: Rig) -> None:
    (awsquiz,) = rig.double.commands[None]
    help_ = await rig.reply_to(slash_command_interaction(subcommand="help"))
    text = embed_of(help_)["description"]
    assert f"</awsquiz ask:{awsquiz['id']}>" in text
    assert f"</awsquiz daily set:{awsquiz['id']}>" in text
    assert f"</awsquiz leaderboard:{awsquiz['id']}>" in text


async def test_daily_commands_where_a_member_uses_awsquiz_as_their_own_app_say_so(
    rig: Rig,
) -> None:
    status = slash_command_interaction(subcommand="status", subcommand_group="daily")
    status["authorizing_integration_owners"] = {"1": str(USER_ID)}  # user install only
    refused = await rig.reply_to(status)
    assert embed_of(refused)["description"].startswith(NOT_ADDED_HERE.split(":")[0])
    stats = slash_command_interaction(subcommand="stats")
    stats["authorizing_integration_owners"] = {"1": str(USER_ID)}
    assert "Alice" in json.dumps(embed_of(await rig.reply_to(stats)))  # the rest works


async def test_a_group_dm_is_not_the_bots_dm_where_the_interview_runs(rig: Rig) -> None:
    """A member using awsquiz as their own app in a group DM: a skip there is no interview's."""
    await rig.services.interviews.start(ALICE, ["ec2"], 2)

    def skip(context: int, channel_id: int) -> JsonObject:
        interaction = slash_command_interaction(
            subcommand="skip", guild_id=None, channel_id=channel_id
        )
        interaction["context"] = context
        interaction["authorizing_integration_owners"] = {"1": str(USER_ID)}
        return interaction

    in_group_dm = await rig.reply_to(skip(2, GROUP_DM_ID))
    assert "no open question" in json.dumps(embed_of(in_group_dm)).lower()
    in_bot_dm = await rig.reply_to(skip(1, dm_channel_id(USER_ID)))
    assert "no open question" not in json.dumps(embed_of(in_bot_dm)).lower()  # the interview's
