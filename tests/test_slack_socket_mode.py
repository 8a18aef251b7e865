"""The Slack app in Socket Mode, through real slack-bolt and slack_sdk over loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from doubles.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    CHANNEL_ID,
    TEAM_ID,
    USER_ID,
    JsonObject,
    SlackDouble,
    block_actions,
    connect_socket_mode,
    event_callback,
    message_im_event,
    slash_command,
    view_submission,
)
from helpers import FixedClock
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import web_client
from bot.adapters.slack.chat import SlackChatAdapter
from bot.adapters.slack.ids import ACTION_IDS, ANSWER_BLOCK, ANSWER_INPUT, ANSWER_MODAL_CALLBACK
from bot.app import Services, open_services
from bot.engine.daily.model import ChannelRef
from bot.engine.model import Source, UserRef
from bot.engine.reply import ActionKind
from bot.platforms import slack_app, slack_mode
from bot.settings import load_settings

pytestmark = pytest.mark.usefixtures("no_proxy")

ALICE = UserRef("slack", TEAM_ID, USER_ID)
ROOM = ChannelRef("slack", TEAM_ID, CHANNEL_ID)
DM = f"D{USER_ID[1:]}"


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep loopback traffic direct: slack_sdk's Socket Mode client obeys *_PROXY variables."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@asynccontextmanager
async def socket_app(
    double: SlackDouble, database: Path, clock: FixedClock
) -> AsyncIterator[Services]:
    """awsquiz's Slack app connected over Socket Mode; leaving the context is a bot restart."""
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": double.api_url,
        }
    )
    client = web_client(BOT_TOKEN, double.api_url)

    async def client_for(_: str) -> AsyncWebClient:
        return client

    adapters = {"slack": SlackChatAdapter(client_for)}
    async with open_services(settings, adapters=adapters, clock=clock) as services:
        app = slack_app(services, client, slack_mode(settings), settings)
        async with connect_socket_mode(app, double):
            yield services


@pytest.fixture
async def services(
    double: SlackDouble, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Services]:
    async with socket_app(double, tmp_path / "slack.db", clock) as running:
        yield running


async def command(double: SlackDouble, text: str) -> JsonObject:
    """Run `/awsquiz text` over the socket; return what it said through the response_url."""
    before = len(double.responses)
    payload = slash_command(text=text, response_url=double.response_url)
    await double.socket_ack(await double.socket_send("slash_commands", payload))
    posts = await double.wait_for_responses(count=before + 1)
    return posts[before].body


async def direct_message(
    double: SlackDouble, text: str, *, event_id: str, retry_attempt: int = 0
) -> None:
    """Alice writes `text` in her DM with the bot; the envelope is acked."""
    event = event_callback(message_im_event(text=text), event_id=event_id)
    sent = await double.socket_send("events_api", event, retry_attempt=retry_attempt)
    await double.socket_ack(sent)


async def test_an_interview_goes_on_after_a_restart_of_the_socket_mode_app(
    double: SlackDouble, tmp_path: Path, clock: FixedClock
) -> None:
    database = tmp_path / "slack.db"
    async with socket_app(double, database, clock):
        await command(double, "interview lambda 2")
        await direct_message(double, "Provisioned concurrency and small packages", event_id="Ev1")
        await double.wait_for("chat.postMessage", count=4)  # intro, q1, grade, q2

    async with socket_app(double, database, clock) as restarted:  # a new process, a new socket
        assert double.socket_connections == 2
        await direct_message(double, "Least privilege IAM roles", event_id="Ev2")
        posts = await double.wait_for("chat.postMessage", count=6)
        assert "Interview summary" in str(posts[-1].params["blocks"])
        assert {post.params["channel"] for post in posts} == {DM}
        attempts = await restarted.store.attempts(ALICE)
        assert [a.source for a in attempts] == [Source.INTERVIEW, Source.INTERVIEW]
        await double.wait_for("views.publish", count=2)  # the App Home, at the start and end


async def test_a_retried_envelope_is_not_scored_twice(
    double: SlackDouble, services: Services
) -> None:
    await command(double, "interview s3 2")
    await direct_message(double, "Buckets hold objects", event_id="EvOnce")
    await double.wait_for("chat.postMessage", count=4)  # intro, q1, grade, q2

    # Slack redelivers the envelope it thinks timed out; scored again, it would answer q2.
    await direct_message(double, "Buckets hold objects", event_id="EvOnce", retry_attempt=1)
    await direct_message(double, "hint", event_id="EvHint")
    *_, hint = await double.wait_for("chat.postMessage", count=5)

    assert "Hint 1 of" in str(hint.params["blocks"])
    [attempt] = await services.store.attempts(ALICE)
    assert attempt.answer == "Buckets hold objects"
    assert await services.interviews.is_active(ALICE)


async def test_a_non_admin_daily_on_is_refused_without_joining(
    double: SlackDouble, services: Services
) -> None:
    double.add_user(USER_ID, "alice", is_admin=False)
    refused = await command(double, "daily on 09:30 Europe/Paris")
    assert "Only workspace admins" in json.dumps(refused)
    assert double.calls_to("conversations.join") == []
    assert await services.store.subscription(ROOM) is None


async def test_the_daily_post_is_answered_in_its_modal_and_revealed_in_its_thread(
    double: SlackDouble, services: Services, clock: FixedClock
) -> None:
    double.add_user(USER_ID, "alice", is_admin=True)
    clock.set(datetime(2025, 3, 3, 7, 0, tzinfo=UTC))
    await command(double, "daily on 09:00 Europe/Paris")
    clock.set(datetime(2025, 3, 3, 8, 0, tzinfo=UTC))
    await services.daily.post_due()
    [posted] = double.calls_to("chat.postMessage")
    buttons = [e for b in posted.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [answer_button] = [b for b in buttons if b["action_id"] == ACTION_IDS[ActionKind.ANSWER]]
    post = await services.store.latest_post(ROOM)
    assert post is not None
    question = services.catalog.question(post.question_id)

    click = block_actions(
        action_id=answer_button["action_id"],
        value=answer_button["value"],
        response_url=double.response_url_for("daily"),
        message_ts=post.message_id or "",
    )
    await double.socket_ack(await double.socket_send("interactive", click))
    [opened] = await double.wait_for("views.open")
    assert opened.params["view"]["callback_id"] == ANSWER_MODAL_CALLBACK
    assert question.prompt[:40] in json.dumps(opened.params["view"], ensure_ascii=False)
    submission = view_submission(
        callback_id=ANSWER_MODAL_CALLBACK,
        values={ANSWER_BLOCK: {ANSWER_INPUT: question.reference}},
        private_metadata=opened.params["view"]["private_metadata"],
    )
    await double.socket_ack(await double.socket_send("interactive", submission))
    [graded] = await double.wait_for("chat.postEphemeral")
    assert graded.params["user"] == USER_ID
    assert "Score" in str(graded.params["blocks"])

    clock.set(post.closes_at + timedelta(minutes=1))
    assert await services.daily.reveal_due() == 1
    reveal = double.calls_to("chat.postMessage")[-1]
    assert reveal.params["thread_ts"] == post.message_id
    assert "Ranking (1 person answered)" in str(reveal.params["blocks"])


async def test_the_ack_does_not_wait_for_a_slow_conversations_open(
    double: SlackDouble, services: Services
) -> None:
    slow = double.hold("conversations.open")
    payload = slash_command(text="interview lambda 2", response_url=double.response_url)
    envelope = await double.socket_send("slash_commands", payload)

    await double.socket_ack(envelope)  # Slack has its ack...
    await double.wait_for("conversations.open")  # ...while the DM is still being opened,
    assert double.responses == []  # and nothing was answered yet
    assert double.calls_to("chat.postMessage") == []

    slow.set()
    [started] = await double.wait_for_responses()
    assert "Interview started" in json.dumps(started.body)
    posts = await double.wait_for("chat.postMessage", count=2)
    assert {post.params["channel"] for post in posts} == {DM}
    assert await services.interviews.is_active(ALICE)
    await double.wait_for("views.publish")
