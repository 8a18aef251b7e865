"""The Slack adapter through real slack-bolt over loopback, against the Slack API double."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from doubles.slack import (
    BOT_TOKEN,
    CHANNEL_ID,
    DEFAULT_TIMEOUT,
    SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    SlackDouble,
    app_home_opened_event,
    block_actions,
    connect_socket_mode,
    event_callback,
    home_block_actions,
    message_im_event,
    post_event,
    post_interaction,
    post_slash_command,
    slash_command,
    view_submission,
)
from helpers import FixedClock
from slack_app_rig import served_app, workspace_settings

from bot.adapters.slack.app import SlackMode, web_client
from bot.adapters.slack.ids import ACTION_IDS, ANSWER_BLOCK, ANSWER_INPUT, ANSWER_MODAL_CALLBACK
from bot.app import Services
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import Outcome
from bot.engine.model import Source, UserRef
from bot.engine.reply import ActionKind, Reply
from bot.platforms import slack_app
from bot.settings import Settings
from content.loader import load_catalog

ALICE = UserRef("slack", TEAM_ID, USER_ID)
ROOM = ChannelRef("slack", TEAM_ID, CHANNEL_ID)
DM = f"D{USER_ID[1:]}"
"""Alice's DM with the bot, as the double's conversations.open names it."""


@dataclass
class Rig:
    """A Bolt app in HTTP mode, its engine services and the Slack double it talks to."""

    double: SlackDouble
    services: Services
    url: str
    clock: FixedClock

    async def command(self, text: str, **fields: str) -> list[dict[str, object]]:
        """Run `/awsquiz text` and return what it said through the response_url."""
        before = len(self.double.responses)
        status, _, _ = await post_slash_command(
            self.url, SIGNING_SECRET, text=text, response_url=self.double.response_url, **fields
        )
        assert status == 200
        posts = await self.double.wait_for_responses(count=before + 1)
        return [p.body for p in posts[before:]]


def settings_for(double: SlackDouble, database: Path, **environment: str) -> Settings:
    return workspace_settings(double, f"sqlite:///{database}", **environment)


async def running_app(
    double: SlackDouble, database: Path, clock: FixedClock, **environment: str
) -> AsyncIterator[Rig]:
    """Start awsquiz's Slack app on `database`; leaving the context is a bot restart."""
    settings = settings_for(double, database, **environment)
    async with served_app(double, settings, clock) as served:
        yield Rig(double, served.services, served.url, clock)


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
async def rig(double: SlackDouble, tmp_path: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    async for started in running_app(double, tmp_path / "slack.db", clock):
        yield started


def text_of(body: object) -> str:
    return json.dumps(body, ensure_ascii=False)


async def test_slash_command_asks_a_question_privately_with_buttons(rig: Rig) -> None:
    [body] = await rig.command("ecs")
    assert body["response_type"] == "ephemeral"
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [
        ACTION_IDS[ActionKind.ANSWER],
        ACTION_IDS[ActionKind.HINT],
        ACTION_IDS[ActionKind.SKIP],
    ]
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    assert opened.question_id.startswith("ecs/")
    assert opened.source is Source.SLASH
    assert buttons[0]["value"] == opened.question_id


async def answer_with_the_reference(rig: Rig, **fields: str) -> dict[str, object]:
    """Ask an S3 question and answer it with its own reference; return the graded reply."""
    await rig.command("ask s3", **fields)
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    reference = rig.services.catalog.question(opened.question_id).reference
    [graded] = await rig.command(f"answer {reference}", **fields)
    return graded


async def test_slash_answer_grades_and_stores_the_attempt(rig: Rig) -> None:
    graded = await answer_with_the_reference(rig)
    assert "Score 100/100" in text_of(graded) or "Score 9" in text_of(graded)
    [attempt] = await rig.services.store.attempts(ALICE)
    assert attempt.score >= 90
    assert attempt.channel == CHANNEL_ID


async def test_an_answer_that_says_payload_is_graded_not_dropped(rig: Rig) -> None:
    # Bolt reads any form body mentioning "payload" as an interaction and finds no fields.
    await rig.command("ask lambda")
    [graded] = await rig.command("answer the request payload limit is 6 MB, payload=none")

    assert "Score" in text_of(graded)
    [attempt] = await rig.services.store.attempts(ALICE)
    assert "payload limit" in attempt.answer


async def test_answer_button_opens_a_modal_and_the_grade_is_shown_only_to_the_answerer(
    rig: Rig,
) -> None:
    await rig.command("ask lambda")
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    click = block_actions(
        action_id=ACTION_IDS[ActionKind.ANSWER],
        value=opened.question_id,
        response_url=rig.double.response_url,
    )
    status, _, _ = await post_interaction(rig.url, SIGNING_SECRET, click)
    assert status == 200
    [view_call] = await rig.double.wait_for("views.open")
    view = view_call.params["view"]
    assert view["callback_id"] == ANSWER_MODAL_CALLBACK
    metadata = view["private_metadata"]

    submission = view_submission(
        callback_id=ANSWER_MODAL_CALLBACK,
        values={ANSWER_BLOCK: {ANSWER_INPUT: "Stateless code triggered by events"}},
        private_metadata=metadata,
    )
    status, _, _ = await post_interaction(rig.url, SIGNING_SECRET, submission)
    assert status == 200
    [ephemeral] = await rig.double.wait_for("chat.postEphemeral")
    assert ephemeral.params["user"] == USER_ID
    assert ephemeral.params["channel"] == CHANNEL_ID
    assert "Score" in str(ephemeral.params["blocks"])
    assert len(await rig.services.store.attempts(ALICE)) == 1


async def test_an_empty_modal_answer_is_refused_in_the_modal_and_nothing_is_lost(
    rig: Rig,
) -> None:
    await rig.command("ask ec2")
    submission = view_submission(
        callback_id=ANSWER_MODAL_CALLBACK,
        values={ANSWER_BLOCK: {ANSWER_INPUT: "   "}},
        private_metadata=json.dumps({"value": "x", "channel": CHANNEL_ID}),
    )
    status, body, _ = await post_interaction(rig.url, SIGNING_SECRET, submission)
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert "empty" in answer["errors"][ANSWER_BLOCK]
    assert await rig.services.store.open_question(ALICE) is not None


async def test_mentions_in_echoed_text_never_ping(rig: Rig) -> None:
    [body] = await rig.command("<!channel> @everyone <@U999> & more")
    raw = text_of(body)
    assert "<!channel>" not in raw
    assert "<@U999>" not in raw
    assert "&lt;!channel&gt;" in raw


async def test_daily_on_needs_a_workspace_admin(rig: Rig) -> None:
    rig.double.add_user(USER_ID, "alice", is_admin=False)
    [refused] = await rig.command("daily on 09:30 Europe/Paris")
    assert "Only workspace admins" in text_of(refused)
    assert await rig.services.store.subscription(ROOM) is None

    rig.double.add_user(USER_ID, "alice", is_admin=True)
    [accepted] = await rig.command("daily on 09:30 Europe/Paris")
    assert "Daily question is on" in text_of(accepted)
    subscription = await rig.services.store.subscription(ROOM)
    assert subscription is not None
    assert subscription.timezone == "Europe/Paris"
    [status] = await rig.command("daily status")
    assert "09:30 Europe/Paris" in text_of(status)


async def test_daily_post_answer_and_reveal_in_the_thread(rig: Rig) -> None:
    rig.double.add_user(USER_ID, "alice", is_admin=True)
    rig.clock.set(datetime(2025, 3, 3, 7, 0, tzinfo=UTC))
    await rig.command("daily on 09:00 Europe/Paris")
    rig.clock.set(datetime(2025, 3, 3, 8, 0, tzinfo=UTC))
    report = await rig.services.daily.post_due()
    assert len(report.outcomes) == 1
    [posted] = rig.double.calls_to("chat.postMessage")
    assert posted.params["channel"] == CHANNEL_ID
    post = await rig.services.store.latest_post(ROOM)
    assert post is not None
    reference = rig.services.catalog.question(post.question_id).reference

    submission = view_submission(
        callback_id=ANSWER_MODAL_CALLBACK,
        values={ANSWER_BLOCK: {ANSWER_INPUT: reference}},
        private_metadata=json.dumps({"value": f"daily:{post.id}", "channel": CHANNEL_ID}),
    )
    await post_interaction(rig.url, SIGNING_SECRET, submission)
    [private] = await rig.double.wait_for("chat.postEphemeral")
    assert "Reveal" in str(private.params["blocks"])

    rig.clock.set(post.closes_at + timedelta(minutes=1))
    assert await rig.services.daily.reveal_due() == 1
    reveal = rig.double.calls_to("chat.postMessage")[-1]
    assert reveal.params["thread_ts"] == post.message_id
    assert "Ranking (1 person answered)" in str(reveal.params["blocks"])


async def test_a_daily_post_joins_a_public_channel_it_is_not_in(rig: Rig) -> None:
    rig.double.respond("chat.postMessage", {"ok": False, "error": "not_in_channel"}, once=True)
    adapter = rig.services.daily.adapters["slack"]
    message_id = await adapter.post(ROOM, Reply(title="hello"))
    assert message_id
    assert [c.params["channel"] for c in rig.double.calls_to("conversations.join")] == [CHANNEL_ID]


async def test_dm_interview_runs_to_its_summary_across_a_restart_and_ignores_retries(
    double: SlackDouble, tmp_path: Path, clock: FixedClock
) -> None:
    database = tmp_path / "slack.db"
    async for rig in running_app(double, database, clock):
        await rig.command("interview lambda 2")
        [dm_open] = await double.wait_for("conversations.open")
        assert dm_open.params["users"] == USER_ID
        first = message_im_event(text="Use provisioned concurrency and smaller packages")
        dm = first["channel"]
        await post_event(rig.url, SIGNING_SECRET, first, event_id="Ev1")
        await double.wait_for("chat.postMessage", count=4)  # intro, q1, grade, q2
        # Slack retries the same delivery: it must not be graded again.
        await post_event(rig.url, SIGNING_SECRET, first, event_id="Ev1", retry_num=1)
        assert len(await rig.services.store.attempts(ALICE)) == 1

    async for rig in running_app(double, database, clock):  # the bot restarted
        second = message_im_event(text="Least privilege IAM roles and VPC")
        await post_event(rig.url, SIGNING_SECRET, second, event_id="Ev2")
        posts = await double.wait_for("chat.postMessage", count=6)
        assert all(p.params["channel"] == dm for p in posts[1:])
        assert "Interview summary" in str(posts[-1].params["blocks"])
        await double.wait_for("views.publish", count=2)  # the App Home, at the start and end
        attempts = await rig.services.store.attempts(ALICE)
        assert [a.source for a in attempts] == [Source.INTERVIEW, Source.INTERVIEW]


async def test_a_bad_signature_is_rejected(rig: Rig) -> None:
    status, _, _ = await post_slash_command(
        rig.url, "not-the-secret", text="ecs", response_url=rig.double.response_url
    )
    assert status == 401
    assert await rig.services.store.open_question(ALICE) is None


@pytest.mark.usefixtures("no_proxy")
async def test_socket_mode_runs_commands_buttons_the_modal_and_dm_events(rig: Rig) -> None:
    settings = settings_for(rig.double, Path("unused"))
    client = web_client(BOT_TOKEN, rig.double.api_url)
    mode = SlackMode(bot_token=BOT_TOKEN, app_token="xapp-test", signing_secret=None)
    app = slack_app(rig.services, client, mode, settings)
    double = rig.double
    async with connect_socket_mode(app, double):
        for text, expected in (
            ("topics", f"{len(load_catalog().topics)} topics"),
            ("ask ecs", "Amazon ECS"),
            ("help", "/awsquiz"),
        ):
            before = len(double.responses)
            envelope = await double.socket_send(
                "slash_commands", slash_command(text=text, response_url=double.response_url)
            )
            await double.socket_ack(envelope)
            posts = await double.wait_for_responses(count=before + 1)
            assert expected in text_of(posts[-1].body)

        opened = await rig.services.store.open_question(ALICE)
        assert opened is not None
        click = block_actions(
            action_id=ACTION_IDS[ActionKind.ANSWER],
            value=opened.question_id,
            response_url=double.response_url,
        )
        await double.socket_ack(await double.socket_send("interactive", click))
        [view_call] = await double.wait_for("views.open")
        submission = view_submission(
            callback_id=ANSWER_MODAL_CALLBACK,
            values={ANSWER_BLOCK: {ANSWER_INPUT: "Logical grouping of tasks or services"}},
            private_metadata=view_call.params["view"]["private_metadata"],
        )
        await double.socket_ack(await double.socket_send("interactive", submission))
        [graded] = await double.wait_for("chat.postEphemeral")
        assert "Score" in str(graded.params["blocks"])

        await rig.command("interview s3 1")
        event = event_callback(message_im_event(text="Buckets hold objects"), event_id="EvS1")
        await double.socket_ack(await double.socket_send("events_api", event))
        messages = await double.wait_for("chat.postMessage", count=4)  # intro, q, grade, summary
        assert "Interview summary" in str(messages[-1].params["blocks"])
        await double.wait_for("views.publish", count=2)  # the App Home, at the start and end


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Answer"),
        ("ask s3 basic", "Amazon S3 · basic"),
        ("step functions", "AWS Step Functions"),
        ("topics", f"{len(load_catalog().topics)} topics"),
        ("stats", "No answers yet"),
        ("stats <@U0BOB|bob>", "Stats for user-u0bob"),  # the display name, not the id
        ("leaderboard", "Leaderboard · last 7 days"),
        ("leaderboard month", "Leaderboard · last 30 days"),
        ("leaderboard all", "Leaderboard · all time"),
        ("leaderboard fortnight", "Unknown period"),
        ("hint", "no open question"),
        ("skip", "no open question"),
        ("answer too early", "no open question"),
        ("ask quantum", "Unknown topic"),
        ("interview 99", "1 to 20 questions"),
        ("interview lambda 0", "1 to 20 questions"),  # a count of 0 is refused, not defaulted
        ("daily status", "No daily question here"),
        ("daily off", "No daily question here"),
        ("daily on 25:00", "HH:MM"),
        ("help", "/awsquiz"),
        ("frobnicate", "frobnicate"),
    ],
)
async def test_every_subcommand_answers_privately(rig: Rig, text: str, expected: str) -> None:
    rig.double.add_user(USER_ID, "alice", is_admin=True)
    [body] = await rig.command(text)
    assert body["response_type"] == "ephemeral"
    assert expected.lower() in text_of(body).lower()


async def test_hint_and_skip_buttons_act_on_the_open_question(rig: Rig) -> None:
    await rig.command("ask ecs interview")
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    for kind, expected in ((ActionKind.HINT, "Hint 1 of"), (ActionKind.SKIP, "Skipped")):
        before = len(rig.double.responses)
        click = block_actions(
            action_id=ACTION_IDS[kind],
            value=opened.question_id,
            response_url=rig.double.response_url,
        )
        status, _, _ = await post_interaction(rig.url, SIGNING_SECRET, click)
        assert status == 200
        posts = await rig.double.wait_for_responses(count=before + 1)
        assert expected in text_of(posts[-1].body)
    assert await rig.services.store.open_question(ALICE) is None
    assert await rig.services.store.attempts(ALICE) == []


async def test_leaderboard_shows_people_as_mentions_in_a_private_reply(rig: Rig) -> None:
    await answer_with_the_reference(rig)
    [board] = await rig.command("leaderboard all")
    assert board["response_type"] == "ephemeral"
    assert f"<@{USER_ID}>" in text_of(board)


async def test_app_home_shows_stats_and_a_start_interview_button(rig: Rig) -> None:
    status, _, _ = await post_event(
        rig.url, SIGNING_SECRET, app_home_opened_event(), event_id="EvHome"
    )
    assert status == 200
    [published] = await rig.double.wait_for("views.publish")
    assert published.params["user_id"] == USER_ID
    view = published.params["view"]
    assert view["type"] == "home"
    assert ACTION_IDS[ActionKind.START_INTERVIEW] in json.dumps(view)


async def test_daily_on_joins_a_public_channel_and_explains_a_private_one(rig: Rig) -> None:
    rig.double.add_user(USER_ID, "alice", is_admin=True)
    [on] = await rig.command("daily on 08:00 UTC")
    assert "Daily question is on" in text_of(on)
    assert [c.params["channel"] for c in rig.double.calls_to("conversations.join")] == [CHANNEL_ID]

    private = {"id": "G0SECRET", "is_private": True, "is_member": False}
    rig.double.respond("conversations.info", {"ok": True, "channel": private})
    [refused] = await rig.command("daily on 08:00 UTC", channel_id="G0SECRET")
    assert "invite me" in text_of(refused)
    assert await rig.services.store.subscription(ChannelRef("slack", TEAM_ID, "G0SECRET")) is None


async def test_an_answer_over_the_cap_is_refused_with_the_cap(rig: Rig) -> None:
    await rig.command("ask ecs")
    [refused] = await rig.command("answer " + "word " * 800)
    assert "the limit is 3,000" in text_of(refused)
    assert await rig.services.store.open_question(ALICE) is not None  # nothing lost


async def test_tokens_and_secrets_never_reach_the_logs(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig.double.respond("views.open", {"ok": False, "error": "expired_trigger_id"})
    await rig.command("ask ecs")
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    click = block_actions(
        action_id=ACTION_IDS[ActionKind.ANSWER],
        value=opened.question_id,
        response_url=rig.double.response_url,
    )
    await post_interaction(rig.url, SIGNING_SECRET, click)
    await rig.double.wait_for("views.open")
    await asyncio.sleep(0.1)  # let the listener's error reach the error handler
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "views.open failed: expired_trigger_id" in logged
    assert BOT_TOKEN not in logged
    assert SIGNING_SECRET not in logged


async def test_text_escaped_by_slack_is_decoded_once_before_the_engine_sees_it(rig: Rig) -> None:
    [unknown] = await rig.command("a&b")
    assert "a&amp;b" in text_of(unknown)  # escaped once, by us, for display
    assert "&amp;amp;" not in text_of(unknown)

    await rig.command("ask s3")
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    # 1,000 '&' arrive as 5,000 characters of '&amp;': the cap counts what the member typed.
    typed = "&" * 1000 + " <buckets> & objects, not &lt;folders&gt; " + "x" * 100
    [graded] = await rig.command(f"answer {typed}")
    assert "Score" in text_of(graded)
    [attempt] = await rig.services.store.attempts(ALICE)
    assert attempt.answer == typed.strip()


async def test_a_dm_answer_is_decoded_before_it_is_graded(rig: Rig) -> None:
    await rig.command("interview s3 1")
    typed = "Objects in buckets & versioning <on> for s3 &amp; lifecycle"
    await post_event(rig.url, SIGNING_SECRET, message_im_event(text=typed), event_id="EvAmp")
    await rig.double.wait_for("chat.postMessage", count=4)  # intro, question, grade, summary
    [attempt] = await rig.services.store.attempts(ALICE)
    assert attempt.answer == typed
    await rig.double.wait_for("views.publish", count=2)  # the App Home, at the start and end


async def test_an_interview_with_no_count_has_the_default_length(rig: Rig) -> None:
    await rig.command("interview lambda")
    [intro, *_] = await rig.double.wait_for("chat.postMessage", count=2)
    assert "5 questions" in str(intro.params["blocks"])


async def test_an_interview_of_zero_questions_starts_nothing(rig: Rig) -> None:
    [refused] = await rig.command("interview 0")
    assert "you asked for 0" in text_of(refused)
    assert not await rig.services.interviews.is_active(ALICE)


@pytest.mark.parametrize(
    ("is_admin", "text", "expected"),
    [
        (False, "daily on 09:30 Europe/Paris", "Only workspace admins"),
        (True, "daily on 25:00", "HH:MM"),
        (True, "daily on 09:30 Mars/Olympus_Mons", "Unknown timezone"),
    ],
)
async def test_daily_on_refuses_before_it_joins_the_channel(
    rig: Rig, is_admin: bool, text: str, expected: str
) -> None:
    rig.double.add_user(USER_ID, "alice", is_admin=is_admin)
    [refused] = await rig.command(text)
    assert expected in text_of(refused)
    assert rig.double.calls_to("conversations.join") == []
    assert rig.double.calls_to("conversations.info") == []
    assert await rig.services.store.subscription(ROOM) is None


async def test_a_slack_error_after_the_ack_gets_a_plain_private_reply(rig: Rig) -> None:
    rig.double.respond("users.info", {"ok": False, "error": "user_not_found"})
    [reply] = await rig.command("stats <@U0NOBODY>")
    assert reply["response_type"] == "ephemeral"
    assert "cannot find that member" in text_of(reply)


async def test_an_interview_whose_dm_cannot_be_opened_does_not_start(rig: Rig) -> None:
    rig.double.respond("conversations.open", {"ok": False, "error": "user_disabled"})
    [reply] = await rig.command("interview lambda 2")
    assert reply["response_type"] == "ephemeral"
    assert "could not open a direct message" in text_of(reply)
    assert not await rig.services.interviews.is_active(ALICE)
    assert rig.double.calls_to("chat.postMessage") == []


async def test_an_answer_box_slack_would_not_open_is_explained(rig: Rig) -> None:
    await rig.command("ask ecs")
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    rig.double.respond("views.open", {"ok": False, "error": "expired_trigger_id"})
    click = block_actions(
        action_id=ACTION_IDS[ActionKind.ANSWER],
        value=opened.question_id,
        response_url=rig.double.response_url_for("click"),
    )
    await post_interaction(rig.url, SIGNING_SECRET, click)
    [explained] = await rig.double.wait_for_responses(token="click")
    assert "press Answer again" in text_of(explained.body)


async def answer_in_the_modal(rig: Rig, text: str, *, response_url: str) -> None:
    """Ask a question, press its Answer button (carrying `response_url`) and submit `text`."""
    await rig.command("ask s3")
    opened = await rig.services.store.open_question(ALICE)
    assert opened is not None
    click = block_actions(
        action_id=ACTION_IDS[ActionKind.ANSWER], value=opened.question_id, response_url=response_url
    )
    await post_interaction(rig.url, SIGNING_SECRET, click)
    [view_call] = await rig.double.wait_for("views.open")
    submission = view_submission(
        callback_id=ANSWER_MODAL_CALLBACK,
        values={ANSWER_BLOCK: {ANSWER_INPUT: text}},
        private_metadata=view_call.params["view"]["private_metadata"],
    )
    status, _, _ = await post_interaction(rig.url, SIGNING_SECRET, submission)
    assert status == 200


async def test_a_modal_grade_goes_through_the_response_url_where_the_bot_is_no_member(
    rig: Rig,
) -> None:
    # /awsquiz works in a private channel the bot was never invited to; chat.postEphemeral not.
    rig.double.respond("chat.postEphemeral", {"ok": False, "error": "channel_not_found"})
    await answer_in_the_modal(
        rig, "Buckets hold objects", response_url=rig.double.response_url_for("click")
    )
    [graded] = await rig.double.wait_for_responses(token="click")
    assert graded.body["response_type"] == "ephemeral"
    assert graded.body["replace_original"] is False
    assert "Score" in text_of(graded.body)
    assert rig.double.calls_to("chat.postMessage") == []


async def test_a_modal_grade_goes_to_a_dm_when_nothing_else_reaches_the_member(rig: Rig) -> None:
    rig.double.respond("chat.postEphemeral", {"ok": False, "error": "channel_not_found"})
    rig.double.expired_response_urls.add("click")  # the answer took over 30 minutes to write
    await answer_in_the_modal(
        rig, "Buckets hold objects", response_url=rig.double.response_url_for("click")
    )
    [dm] = await rig.double.wait_for("chat.postMessage")
    assert dm.params["channel"] == DM
    assert "Score" in str(dm.params["blocks"])
    assert len(await rig.services.store.attempts(ALICE)) == 1


async def subscribed_and_due(rig: Rig) -> None:
    """Alice, an admin, turns the daily question on at 09:00 Paris; the clock is then at 09:00."""
    rig.double.add_user(USER_ID, "alice", is_admin=True)
    rig.clock.set(datetime(2025, 3, 3, 7, 0, tzinfo=UTC))
    await rig.command("daily on 09:00 Europe/Paris")
    rig.clock.set(datetime(2025, 3, 3, 8, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("channel_not_found", "can no longer see"),
        ("is_archived", "archived"),
        ("restricted_action", "restricted_action"),
    ],
)
async def test_a_refused_daily_post_is_told_to_the_admin_who_set_it_up(
    rig: Rig, code: str, expected: str
) -> None:
    await subscribed_and_due(rig)
    rig.double.respond("chat.postMessage", {"ok": False, "error": code}, once=True)

    report = await rig.services.daily.post_due()

    assert report.outcomes[ROOM] is Outcome.FAILED
    [dm_open] = rig.double.calls_to("conversations.open")
    assert dm_open.params["users"] == USER_ID
    [_refused, notice] = rig.double.calls_to("chat.postMessage")
    assert notice.params["channel"] == DM
    assert "Slack refused a daily question post" in str(notice.params["blocks"])
    assert expected in str(notice.params["blocks"])


async def test_a_refused_reveal_is_told_to_the_admin_too(rig: Rig) -> None:
    await subscribed_and_due(rig)
    await rig.services.daily.post_due()
    post = await rig.services.store.latest_post(ROOM)
    assert post is not None
    rig.double.respond("chat.postMessage", {"ok": False, "error": "is_archived"}, once=True)

    rig.clock.set(post.closes_at + timedelta(minutes=1))
    await rig.services.daily.reveal_due()

    notice = rig.double.calls_to("chat.postMessage")[-1]
    assert notice.params["channel"] == DM
    assert "archived" in str(notice.params["blocks"])


async def test_a_failed_join_is_logged_as_the_join_and_told_to_the_admin(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await subscribed_and_due(rig)
    rig.double.respond("chat.postMessage", {"ok": False, "error": "not_in_channel"}, once=True)
    rig.double.respond("conversations.join", {"ok": False, "error": "is_archived"})

    await rig.services.daily.post_due()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"slack conversations.join in {ROOM} failed: is_archived" in logged
    assert "chat.postMessage in" not in logged
    notice = rig.double.calls_to("chat.postMessage")[-1]
    assert notice.params["channel"] == DM
    assert "archived" in str(notice.params["blocks"])


def dm_click(rig: Rig, kind: ActionKind, value: str, token: str) -> dict[str, object]:
    """A button pressed on a message in Alice's DM; its response_url records under `token`."""
    return block_actions(
        action_id=ACTION_IDS[kind],
        value=value,
        response_url=rig.double.response_url_for(token),
        channel_id=DM,
    )


async def test_hint_and_skip_buttons_in_an_interview_dm_post_messages_that_stay(rig: Rig) -> None:
    await rig.command("interview lambda 2")
    await rig.double.wait_for("chat.postMessage", count=2)  # intro, question 1

    await post_interaction(rig.url, SIGNING_SECRET, dm_click(rig, ActionKind.HINT, "q", "hint"))
    *_, hint = await rig.double.wait_for("chat.postMessage", count=3)
    await post_interaction(rig.url, SIGNING_SECRET, dm_click(rig, ActionKind.SKIP, "q", "skip"))
    *_, skipped, question = await rig.double.wait_for("chat.postMessage", count=5)

    assert "Hint 1 of" in str(hint.params["blocks"])
    assert "Skipped" in str(skipped.params["blocks"])
    assert "Question 2 of 2" in str(question.params["blocks"])
    assert {post.params["channel"] for post in rig.double.calls_to("chat.postMessage")} == {DM}
    # Ephemeral replies vanish on reload: none went through the buttons' response_urls.
    assert [post.token for post in rig.double.responses] == ["default"]


async def test_a_stale_stop_button_leaves_the_running_interview_alone(rig: Rig) -> None:
    await rig.command("interview lambda 2")
    first = await rig.services.store.active_interview(ALICE)
    assert first is not None
    await rig.services.interviews.stop(ALICE)
    await rig.command("interview s3 2")
    second = await rig.services.store.active_interview(ALICE)
    assert second is not None

    await post_interaction(rig.url, SIGNING_SECRET, dm_click(rig, ActionKind.STOP, first.id, "old"))
    [told] = await rig.double.wait_for_responses(token="old")
    assert "already ended" in text_of(told.body)
    assert await rig.services.interviews.is_active(ALICE)

    stop = dm_click(rig, ActionKind.STOP, second.id, "current")
    await post_interaction(rig.url, SIGNING_SECRET, stop)
    await rig.double.wait_for("views.publish", count=3)  # started, started again, stopped
    assert not await rig.services.interviews.is_active(ALICE)
    summary = rig.double.calls_to("chat.postMessage")[-1]
    assert summary.params["channel"] == DM
    assert "Interview ended" in str(summary.params["blocks"])


async def test_app_home_is_titled_with_the_display_name_and_follows_the_interview(
    rig: Rig,
) -> None:
    rig.double.add_user(USER_ID, "Alice Doe")
    await post_event(rig.url, SIGNING_SECRET, app_home_opened_event(), event_id="EvHome2")
    [opened] = await rig.double.wait_for("views.publish")
    assert "Stats for Alice Doe" in json.dumps(opened.params["view"])
    assert USER_ID not in json.dumps(opened.params["view"])

    await rig.command("interview s3 1")
    [_, started] = await rig.double.wait_for("views.publish", count=2)
    assert "Resume interview" in json.dumps(started.params["view"])
    answer = message_im_event(text="Buckets hold objects")
    await post_event(rig.url, SIGNING_SECRET, answer, event_id="EvHomeEnd")
    [*_, ended] = await rig.double.wait_for("views.publish", count=3)
    assert "Start interview" in json.dumps(ended.params["view"])
    assert "Answers" in json.dumps(ended.params["view"])  # the stats now count that answer


# -- what the audit found untested ---------------------------------------------------------


async def test_the_ack_does_not_wait_for_a_slow_users_info(rig: Rig) -> None:
    slow = rig.double.hold("users.info")
    async with asyncio.timeout(DEFAULT_TIMEOUT):  # an ack held behind users.info never comes
        delivery = await post_slash_command(
            rig.url, SIGNING_SECRET, text="stats <@U0BOB|bob>", response_url=rig.double.response_url
        )
    assert delivery.status == 200
    await rig.double.wait_for("users.info")  # the lookup is under way after the ack...
    assert rig.double.responses == []  # ...and the reply waits for it

    slow.set()
    [stats] = await rig.double.wait_for_responses()
    assert "Stats for user-u0bob" in text_of(stats.body)


async def test_a_429_from_slack_is_retried_after_its_retry_after(rig: Rig) -> None:
    rig.double.rate_limit_once("conversations.open", retry_after=0)
    [started] = await rig.command("interview lambda 2")
    assert "Interview started" in text_of(started)
    assert len(rig.double.calls_to("conversations.open")) == 2
    posts = await rig.double.wait_for("chat.postMessage", count=2)
    assert {post.params["channel"] for post in posts} == {DM}


async def test_a_stale_timestamp_is_rejected(rig: Rig) -> None:
    # A replay: correctly signed, ten minutes ago (Bolt checks against the wall clock).
    ten_minutes_ago = str(int(datetime.now(UTC).timestamp()) - 600)
    delivery = await post_slash_command(
        rig.url,
        SIGNING_SECRET,
        text="ecs",
        response_url=rig.double.response_url,
        timestamp=ten_minutes_ago,
    )
    assert delivery.status == 401
    assert await rig.services.store.open_question(ALICE) is None
    assert rig.double.responses == []


async def test_admin_roles_can_be_narrowed_to_the_primary_owner(
    double: SlackDouble, tmp_path: Path, clock: FixedClock
) -> None:
    async for rig in running_app(
        double, tmp_path / "slack.db", clock, SLACK_ADMIN_ROLES="primary_owner"
    ):
        double.add_user(USER_ID, "alice", is_admin=True, is_owner=True)
        [refused] = await rig.command("daily on 09:30 UTC")
        assert "Only workspace admins" in text_of(refused)
        assert await rig.services.store.subscription(ROOM) is None

        double.add_user(USER_ID, "alice", is_owner=True, is_primary_owner=True)
        [accepted] = await rig.command("daily on 09:30 UTC")
        assert "Daily question is on" in text_of(accepted)


async def test_the_daily_posts_answer_button_opens_the_answer_modal(rig: Rig) -> None:
    await subscribed_and_due(rig)
    await rig.services.daily.post_due()
    [posted] = rig.double.calls_to("chat.postMessage")
    buttons = [e for b in posted.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [answer] = [b for b in buttons if b["action_id"] == ACTION_IDS[ActionKind.ANSWER]]
    post = await rig.services.store.latest_post(ROOM)
    assert post is not None
    assert answer["value"] == f"daily:{post.id}"

    click = block_actions(
        action_id=answer["action_id"],
        value=answer["value"],
        response_url=rig.double.response_url_for("daily"),
        message_ts=post.message_id or "",
    )
    status, _, _ = await post_interaction(rig.url, SIGNING_SECRET, click)

    assert status == 200
    [opened] = await rig.double.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == ANSWER_MODAL_CALLBACK
    assert json.loads(view["private_metadata"])["value"] == f"daily:{post.id}"
    prompt = rig.services.catalog.question(post.question_id).prompt
    assert prompt.split()[0] in text_of(view)


async def test_the_app_home_start_interview_button_starts_one_in_the_dm(rig: Rig) -> None:
    click = home_block_actions(action_id=ACTION_IDS[ActionKind.START_INTERVIEW])
    status, _, _ = await post_interaction(rig.url, SIGNING_SECRET, click)

    assert status == 200
    intro, question = await rig.double.wait_for("chat.postMessage", count=2)
    assert (intro.params["channel"], question.params["channel"]) == (DM, DM)
    assert "5 questions" in str(intro.params["blocks"])
    [home] = await rig.double.wait_for("views.publish")
    assert "Resume interview" in text_of(home.params["view"])
    assert await rig.services.interviews.is_active(ALICE)


async def test_an_over_long_dm_answer_is_refused_with_the_cap(rig: Rig) -> None:
    await rig.command("interview lambda 2")
    await rig.double.wait_for("chat.postMessage", count=2)
    too_long = message_im_event(text="word " * 800)

    await post_event(rig.url, SIGNING_SECRET, too_long, event_id="EvLong")

    *_, refused = await rig.double.wait_for("chat.postMessage", count=3)
    assert refused.params["channel"] == DM
    assert "the limit is 3,000" in str(refused.params["blocks"])
    assert await rig.services.store.attempts(ALICE) == []
    assert await rig.services.interviews.is_active(ALICE)  # still on question 1


async def test_a_leaderboard_shows_only_its_own_workspace(rig: Rig) -> None:
    await answer_with_the_reference(rig)
    [home_board] = await rig.command("leaderboard all")
    assert USER_ID in text_of(home_board)

    [other_board] = await rig.command("leaderboard all", team_id="T0OTHER", user_id="U0BOB")

    assert USER_ID not in text_of(other_board)
    assert "alice" not in text_of(other_board).lower()


async def test_leaderboard_here_ranks_only_answers_given_in_this_channel(rig: Rig) -> None:
    for channel_id in ("C0OTHER", "C0OTHER", "C0HERE"):
        await answer_with_the_reference(rig, channel_id=channel_id)

    [workspace] = await rig.command("leaderboard all")
    [here] = await rig.command("leaderboard all here", channel_id="C0HERE")

    assert "3 answers" in text_of(workspace)
    assert "Leaderboard · all time · this channel" in text_of(here)
    assert "1 answer " in text_of(here)


async def test_a_button_on_an_interview_left_idle_shows_that_it_expired(rig: Rig) -> None:
    await rig.command("interview lambda 2")
    await rig.double.wait_for("chat.postMessage", count=2)
    rig.clock.advance(timedelta(hours=25))

    await post_interaction(rig.url, SIGNING_SECRET, dm_click(rig, ActionKind.SKIP, "q", "late"))

    *_, expired = await rig.double.wait_for("chat.postMessage", count=3)
    assert expired.params["channel"] == DM
    assert "expired" in str(expired.params["blocks"])
    assert not await rig.services.interviews.is_active(ALICE)
    await rig.double.wait_for("views.publish", count=2)  # started, then ended
