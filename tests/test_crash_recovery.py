"""`awsquiz run` killed with SIGKILL mid fan-out: its restart finishes every daily post at once,
and a post the platform already took is recorded, never sent a second time.

Real processes: the bot runs as `python -m bot run` against the Slack double served here, and is
killed while Slack has taken its posts but not yet answered (the moment a crash loses the
message ids). The restart has the same instance id, so it takes its dead run's claims over
without waiting out the 5-minute lease.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from doubles.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    SlackDouble,
    message_im_event,
    post_event,
)
from helpers import eventually, free_port
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import web_client
from bot.adapters.slack.chat import SlackChatAdapter
from bot.app import open_services
from bot.engine.daily.model import ChannelRef, PostState
from bot.engine.model import UserRef
from bot.engine.reply import Reply
from bot.settings import load_settings
from storage import open_store

CHANNELS = tuple(f"C0CRASH{number}" for number in range(6))
ROOMS = tuple(ChannelRef("slack", TEAM_ID, channel) for channel in CHANNELS)
ADMIN = UserRef("slack", TEAM_ID, "U0ADMIN")
INSTANCE = "bot-1"
RECOVERY_SECONDS = 30.0
"""Far below the 5-minute lease: a restart that waited for the lease would fail here."""


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


def bot_environment(double: SlackDouble, database_url: str, port: int) -> dict[str, str]:
    """What an operator sets for `awsquiz run` in HTTP mode, pointed at the double."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "DISCORD_", "AWSQUIZ_"))
        and name.lower() not in {"http_proxy", "https_proxy", "all_proxy"}
    }
    return inherited | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": double.api_url,
        "PORT": str(port),
        "AWSQUIZ_INSTANCE_ID": INSTANCE,
        "LOG_LEVEL": "INFO",
        "NO_PROXY": "127.0.0.1,localhost",
    }


@contextmanager
def bot_process(environment: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot run` in its own process; stopped (SIGTERM, then SIGKILL) on the way out."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=environment, stdout=output, stderr=output
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def subscribe_all(database_url: str) -> None:
    """Every room's daily question, due ten minutes ago: the bot's first sweep posts them."""
    due = datetime.now(UTC) - timedelta(minutes=10)
    async with open_services(load_settings({"DATABASE_URL": database_url})) as services:
        for room in ROOMS:
            await services.daily.subscribe(
                room, actor=ADMIN, is_admin=True, post_time=f"{due:%H:%M}", timezone="UTC"
            )


async def post_states(database_url: str) -> dict[str, PostState | None]:
    """Each room's latest daily post state, read by a store of its own."""
    store = await open_store(database_url)
    try:
        states: dict[str, PostState | None] = {}
        for room in ROOMS:
            post = await store.latest_post(room)
            states[room.channel] = post.state if post is not None else None
        return states
    finally:
        await store.close()


async def until_all_posted(database_url: str) -> None:
    """Wait until every room's post is recorded posted, well inside the 5-minute lease."""

    async def all_posted() -> bool:
        return set((await post_states(database_url)).values()) == {PostState.POSTED}

    await eventually(all_posted, "the restart finishing the posts", seconds=RECOVERY_SECONDS)


async def test_a_bot_killed_after_slack_took_its_posts_never_posts_them_twice(
    double: SlackDouble, database_url: str, tmp_path: Path
) -> None:
    await subscribe_all(database_url)
    environment = bot_environment(double, database_url, free_port())
    log = tmp_path / "bot.log"
    answers = double.hold_reply("chat.postMessage")  # Slack posts, then goes quiet

    with bot_process(environment, log) as first:
        await double.wait_for("chat.postMessage", count=len(ROOMS), timeout=RECOVERY_SECONDS)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
    assert set(double.posted) == set(CHANNELS)  # Slack has every post; the bot heard nothing
    assert set((await post_states(database_url)).values()) == {PostState.CLAIMED}
    answers.set()

    with bot_process(environment, log):
        await until_all_posted(database_url)

    assert {channel: len(double.posted[channel]) for channel in CHANNELS} == dict.fromkeys(
        CHANNELS, 1
    ), log.read_text()
    assert len(double.calls_to("chat.postMessage")) == len(ROOMS)  # none sent again
    assert len(double.calls_to("conversations.history")) >= len(ROOMS)  # it looked first
    store = await open_store(database_url)
    try:
        for room in ROOMS:
            post = await store.latest_post(room)
            assert post is not None
            assert post.message_id == double.posted[room.channel][0]["ts"]
    finally:
        await store.close()


async def test_a_bot_killed_before_slack_took_its_posts_posts_each_once_on_restart(
    double: SlackDouble, database_url: str, tmp_path: Path
) -> None:
    await subscribe_all(database_url)
    environment = bot_environment(double, database_url, free_port())
    log = tmp_path / "bot.log"
    double.respond("chat.postMessage", {"ok": False, "error": "service_unavailable"}, status=503)

    with bot_process(environment, log) as first:
        await double.wait_for("chat.postMessage", count=len(ROOMS), timeout=RECOVERY_SECONDS)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
    assert double.posted == {}
    double.restore("chat.postMessage")

    with bot_process(environment, log):
        await until_all_posted(database_url)

    assert {channel: len(double.posted[channel]) for channel in CHANNELS} == dict.fromkeys(
        CHANNELS, 1
    ), log.read_text()


async def test_the_slack_adapter_finds_a_post_and_its_reveal_by_their_keys(
    double: SlackDouble,
) -> None:
    client = web_client(BOT_TOKEN, double.api_url)

    async def the_workspace(_: str) -> AsyncWebClient:
        return client

    adapter = SlackChatAdapter(the_workspace)
    room = ROOMS[0]
    since = datetime.now(UTC) - timedelta(seconds=5)
    question = await adapter.post(room, Reply(title="Today's question", text="Why?"), key="daily:7")
    await adapter.post(room, Reply(title="Small talk", text="Hi"))  # no key: not a match

    assert await adapter.find_post(room, "daily:7", since=since) == question
    assert await adapter.find_post(room, "daily:8", since=since) is None
    assert await adapter.find_post(room, "daily:7", since=datetime.now(UTC)) is None
    assert await adapter.find_post(room, "reveal:7", since=since, under=question) is None

    reveal = Reply(title="Yesterday's question: the answer", text="Because.")
    revealed = await adapter.post_reply(room, question, reveal, key="reveal:7")

    assert await adapter.find_post(room, "reveal:7", since=since, under=question) == revealed
    (posted, *_) = double.calls_to("chat.postMessage")
    metadata = posted.params["metadata"]
    assert (json.loads(metadata) if isinstance(metadata, str) else metadata) == {
        "event_type": "awsquiz_post",
        "event_payload": {"key": "daily:7"},
    }


# -- killed right after a DM answer ------------------------------------------------------------

ALICE = UserRef("slack", TEAM_ID, USER_ID)
DM = f"D{USER_ID[1:]}"


async def test_a_bot_killed_after_grading_a_dm_answer_sends_the_grade_once_on_restart(
    double: SlackDouble, database_url: str, tmp_path: Path
) -> None:
    async with open_services(load_settings({"DATABASE_URL": database_url})) as services:
        await services.tutor.start_interview(ALICE, ["ecs"], 2)
    port = free_port()
    environment = bot_environment(double, database_url, port)
    log = tmp_path / "bot.log"
    events_url = f"http://127.0.0.1:{port}/slack/events"
    answer = message_im_event(text="Binpack, spread and random placement.")
    # Slack is down for posts: the grade cannot go out, and the bot dies trying.
    double.respond("chat.postMessage", {"ok": False, "error": "fatal_error"}, status=500)

    with bot_process(environment, log) as first:
        await _until_serving(events_url)
        delivered = await post_event(events_url, SIGNING_SECRET, answer, event_id="Ev0ANSWER")
        assert delivered.status == 200
        await double.wait_for("chat.postMessage", timeout=RECOVERY_SECONDS)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
    assert double.posted == {}  # the member saw nothing
    double.restore("chat.postMessage")

    with bot_process(environment, log):

        async def both_replies_sent() -> bool:
            return len(double.posted.get(DM, [])) >= 2

        await eventually(both_replies_sent, "the stored replies", seconds=RECOVERY_SECONDS)
        # Slack's own retry of the answer, once the bot is back: nothing twice.
        await _until_serving(events_url)
        retried = await post_event(
            events_url, SIGNING_SECRET, answer, event_id="Ev0ANSWER", retry_num=1
        )
        assert retried.status == 200
        await asyncio.sleep(0.5)  # give a wrong second grade the time to show up

    texts = [json.dumps(message["blocks"]) for message in double.posted[DM]]
    assert len(texts) == 2, log.read_text()
    assert "Score" in texts[0]
    assert "Question 2 of 2" in texts[1]
    store = await open_store(database_url)
    try:
        assert len(await store.attempts(ALICE)) == 1  # graded once
    finally:
        await store.close()


async def _until_serving(url: str) -> None:
    """Wait until the bot's HTTP server accepts connections (it is still starting)."""

    async def accepting() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", urlsplit(url).port)
        except OSError:
            return False
        writer.close()
        return True

    await eventually(accepting, "the bot's HTTP server", seconds=RECOVERY_SECONDS)
