"""DM answers with a file or in a thread, display names that stay as typed in a ranking, and
the page a cancelled install shows.

Through the real Bolt app in HTTP mode, against the Slack double.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from cryptography.fernet import Fernet
from doubles.slack import (
    BOT_ID,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    SlackDouble,
    message_im_event,
    post_event,
    post_interaction,
    post_slash_command,
    serve_bolt_http,
    view_submission,
)
from helpers import FixedClock
from slack_app_rig import served_app, workspace_settings
from sqlalchemy import text

from bot.adapters.discord import render as discord_render
from bot.adapters.slack import render as slack_render
from bot.adapters.slack.app import web_client
from bot.adapters.slack.ids import ANSWER_BLOCK, ANSWER_INPUT, ANSWER_MODAL_CALLBACK
from bot.adapters.slack.install_pages import CANCELLED_TITLE
from bot.adapters.slack.pacing import SlackPacer
from bot.app import Services, open_services
from bot.engine.catalog import Catalog
from bot.engine.daily import daily_replies
from bot.engine.daily.model import ChannelRef, DailyResult
from bot.engine.model import Source, UserRef
from bot.platforms import slack_app, slack_mode
from bot.settings import load_settings

ALICE = UserRef("slack", TEAM_ID, USER_ID)
ROOM = ChannelRef("slack", TEAM_ID, CHANNEL_ID)
THREAD = "1741000000.000100"
"""The message a member replies under, in their DM with the bot."""
BOLD_NAME = "*bold*"


@dataclass
class Rig:
    """A Bolt app in HTTP mode, its engine services and the Slack double it talks to."""

    double: SlackDouble
    services: Services
    url: str
    clock: FixedClock

    async def command(self, text: str) -> None:
        """Run `/awsquiz text`; it answers through the response_url."""
        before = len(self.double.responses)
        delivery = await post_slash_command(
            self.url, SIGNING_SECRET, text=text, response_url=self.double.response_url
        )
        assert delivery.status == 200
        await self.double.wait_for_responses(count=before + 1)

    async def dm(self, event: dict[str, Any], event_id: str) -> None:
        """Deliver a `message` event in Alice's DM with the bot."""
        delivery = await post_event(self.url, SIGNING_SECRET, event, event_id=event_id)
        assert delivery.status == 200


@pytest.fixture
async def rig(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    async with SlackDouble() as double:
        settings = workspace_settings(double, f"sqlite:///{tmp_path / 'slack.db'}")

        async def no_wait(_: float) -> None:
            return None

        # A reveal goes a second after its post in the same channel: not waited for here.
        pacer = SlackPacer(sleep=no_wait)
        async with served_app(double, settings, clock, pacer=pacer) as served:
            yield Rig(double, served.services, served.url, clock)


def blocks_of(params: dict[str, Any]) -> str:
    return json.dumps(params.get("blocks"), ensure_ascii=False)


# -- DM answers --------------------------------------------------------------------------------


async def test_an_answer_sent_with_a_file_is_graded(rig: Rig) -> None:
    await rig.command("interview s3 1")
    typed = "Objects in buckets, versioning and lifecycle rules"
    shared = message_im_event(text=typed) | {
        "subtype": "file_share",
        "files": [{"id": "F0DIAGRAM", "name": "diagram.png", "mimetype": "image/png"}],
        "upload": False,
    }

    await rig.dm(shared, "EvFile")

    *_, grade, summary = await rig.double.wait_for("chat.postMessage", count=4)
    assert "Score" in blocks_of(grade.params)
    assert "Interview summary" in blocks_of(summary.params)
    [attempt] = await rig.services.store.attempts(ALICE)
    assert (attempt.answer, attempt.source) == (typed, Source.INTERVIEW)
    await rig.double.wait_for("views.publish", count=2)  # the App Home, at the start and end


async def test_a_reply_in_a_thread_is_answered_in_that_thread(rig: Rig) -> None:
    await rig.command("interview s3 2")
    intro, question = await rig.double.wait_for("chat.postMessage", count=2)
    reply = message_im_event(text="Buckets hold objects") | {
        "thread_ts": THREAD,
        "parent_user_id": "U0AWSQUIZ",
    }

    await rig.dm(reply, "EvThread")

    *_, grade, second = await rig.double.wait_for("chat.postMessage", count=4)
    assert "Score" in blocks_of(grade.params)
    assert "Question 2 of 2" in blocks_of(second.params)
    assert (grade.params["thread_ts"], second.params["thread_ts"]) == (THREAD, THREAD)
    # What was posted before the member wrote in the thread stays where it was.
    assert "thread_ts" not in intro.params
    assert "thread_ts" not in question.params


async def test_a_thread_reply_also_sent_to_the_conversation_is_graded_in_the_thread(
    rig: Rig,
) -> None:
    await rig.command("interview s3 1")
    broadcast = message_im_event(text="Buckets hold objects with versioning") | {
        "subtype": "thread_broadcast",
        "thread_ts": THREAD,
        "root": {"ts": THREAD, "user": "U0AWSQUIZ", "text": "Question 1 of 1"},
    }

    await rig.dm(broadcast, "EvBroadcast")

    *_, grade, summary = await rig.double.wait_for("chat.postMessage", count=4)
    assert "Score" in blocks_of(grade.params)
    assert (grade.params["thread_ts"], summary.params["thread_ts"]) == (THREAD, THREAD)
    assert len(await rig.services.store.attempts(ALICE)) == 1
    await rig.double.wait_for("views.publish", count=2)


async def test_edits_deletions_and_the_bots_own_messages_are_not_answers(rig: Rig) -> None:
    await rig.command("interview s3 2")
    await rig.double.wait_for("chat.postMessage", count=2)  # intro, question 1
    edited = message_im_event(text="An edited answer") | {
        "subtype": "message_changed",
        "message": {"type": "message", "user": USER_ID, "text": "An edited answer"},
    }
    deleted = message_im_event(text="") | {"subtype": "message_deleted", "deleted_ts": THREAD}
    own = message_im_event(text="Question 1 of 2") | {"bot_id": BOT_ID, "subtype": "bot_message"}
    for number, ignored in enumerate((edited, deleted, own)):
        await rig.dm(ignored, f"EvIgnored{number}")

    await rig.dm(message_im_event(text="Buckets hold objects"), "EvAnswer")

    *_, grade, _second = await rig.double.wait_for("chat.postMessage", count=4)
    assert "Score" in blocks_of(grade.params)
    [attempt] = await rig.services.store.attempts(ALICE)
    assert attempt.answer == "Buckets hold objects"


# -- display names in the reveal's ranking --------------------------------------------------


async def test_a_display_name_in_the_reveals_ranking_stays_as_typed(rig: Rig) -> None:
    rig.double.add_user(USER_ID, "alice", is_admin=True)
    rig.clock.set(datetime(2025, 3, 3, 7, 0, tzinfo=UTC))
    await rig.command("daily on 09:00 Europe/Paris")
    rig.clock.set(datetime(2025, 3, 3, 8, 0, tzinfo=UTC))
    await rig.services.daily.post_due()
    post = await rig.services.store.latest_post(ROOM)
    assert post is not None
    submission = view_submission(
        callback_id=ANSWER_MODAL_CALLBACK,
        values={ANSWER_BLOCK: {ANSWER_INPUT: "Buckets hold objects"}},
        private_metadata=json.dumps({"value": f"daily:{post.id}", "channel": CHANNEL_ID}),
        user_name=BOLD_NAME,
    )
    await post_interaction(rig.url, SIGNING_SECRET, submission)
    await rig.double.wait_for("chat.postEphemeral")

    rig.clock.set(post.closes_at + timedelta(minutes=1))
    assert await rig.services.daily.reveal_due() == 1

    reveal = rig.double.calls_to("chat.postMessage")[-1]
    assert reveal.params["thread_ts"] == post.message_id
    [ranking] = [
        block["text"]["text"]
        for block in reveal.params["blocks"]
        if "Ranking" in block.get("text", {}).get("text", "")
    ]
    assert BOLD_NAME not in ranking  # Slack would show it in bold
    # Each marker is fenced by invisible word joiners: what shows is the name as typed.
    assert BOLD_NAME in ranking.replace(slack_render.WORD_JOINER, "")


def test_discord_shows_a_display_name_as_typed_in_the_ranking_too(catalog: Catalog) -> None:
    result = DailyResult(
        user_id=USER_ID, display_name=BOLD_NAME, score=80, covered=(), answered_at=datetime.now(UTC)
    )
    reply = daily_replies.reveal(catalog.questions[0], (), [result])

    embed = discord_render.embed(reply).to_dict()

    [ranking] = [field["value"] for field in embed["fields"] if "Ranking" in field["name"]]
    assert "\\*bold\\*" in ranking  # escaped: Discord shows the asterisks, not bold


# -- a cancelled install ----------------------------------------------------------------------


@dataclass
class Browser:
    """An installer's browser on awsquiz's OAuth pages (the app installs over OAuth)."""

    root: str
    double: SlackDouble
    services: Services

    async def get(self, path: str, cookie: str | None = None) -> tuple[int, str, str]:
        """GET without following redirects: status, body and the Set-Cookie header."""
        headers = {"Cookie": f"slack-app-oauth-state={cookie}"} if cookie else {}
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.root + path, headers=headers, allow_redirects=False) as response,
        ):
            body = await response.text()
            return response.status, body, response.headers.get("Set-Cookie", "")

    async def start_install(self) -> tuple[str, str]:
        """/slack/install: the state in Slack's authorize URL, and the state cookie."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.root + "/slack/install", allow_redirects=False) as response,
        ):
            assert response.status == 302
            state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
            return state, response.cookies["slack-app-oauth-state"].value


@pytest.fixture
async def browser(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Browser]:
    async with SlackDouble() as double:
        settings = load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'oauth.db'}",
                "SLACK_CLIENT_ID": "1234567890.0987654321",
                "SLACK_CLIENT_SECRET": "oauth-client-secret-value",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": double.api_url,
                "AWSQUIZ_TOKEN_KEYS": Fernet.generate_key().decode(),
            }
        )
        mode = slack_mode(settings)
        client = web_client(None, settings.slack_api_url)
        async with open_services(settings, clock=clock) as services:
            app = slack_app(services, client, mode, settings)
            async with serve_bolt_http(app) as events_url:
                root = events_url.removesuffix(urlsplit(events_url).path)
                yield Browser(root, double, services)


async def test_a_cancelled_install_shows_a_page_saying_nothing_was_installed(
    browser: Browser,
) -> None:
    state, cookie = await browser.start_install()

    # The installer pressed Cancel on Slack's consent page; Slack sends them back with this.
    status, page, set_cookie = await browser.get(
        f"/slack/oauth_redirect?error=access_denied&state={state}", cookie
    )

    assert status == 200
    assert CANCELLED_TITLE in page
    assert "nothing about it was stored" in page
    assert 'href="/slack/install"' in page  # a way to start again
    assert "Oops" not in page
    assert "access_denied" not in page  # no error code for the installer to look up
    assert "slack-app-oauth-state=deleted" in set_cookie
    assert browser.double.calls_to("oauth.v2.access") == []
    async with browser.services.store.engine.connect() as connection:
        installed = await connection.execute(text("SELECT COUNT(*) FROM slack_installations"))
        assert installed.scalar_one() == 0


async def test_a_reused_install_link_says_so_in_words(browser: Browser) -> None:
    state, cookie = await browser.start_install()
    first, _, _ = await browser.get(f"/slack/oauth_redirect?code=one&state={state}", cookie)
    assert first == 200

    status, page, _ = await browser.get(f"/slack/oauth_redirect?code=two&state={state}", cookie)

    assert status == 401
    assert "expired or was already used" in page
    assert "Nothing was installed" in page
    assert "Oops" not in page
    assert len(browser.double.calls_to("oauth.v2.access")) == 1
