"""Secrets never reach a log record, whoever logs them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import discord
import pytest
from aiohttp import web
from doubles.discord import APPLICATION_ID, DiscordDouble, running_client, slash_command_interaction
from doubles.discord import BOT_TOKEN as DISCORD_BOT_TOKEN
from doubles.loopback import LoopbackServer
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.redaction import REDACTED, LogRedaction, redact
from bot.settings import load_settings

SLACK_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
APP_TOKEN = "xapp-1-A0123-456789-abcdef0123456789"
DISCORD_TOKEN = "MTEyMzQ1Njc4OTAxMjM0NTY3OA.GaBcDe.abcdefghijklmnopqrstuvwxyz012345"

log = logging.getLogger("tests.redaction")


@pytest.fixture
def redaction() -> Iterator[LogRedaction]:
    """Redaction of one configured secret, installed for this test only."""
    installed = LogRedaction(["hunter2-database-password"])
    installed.install()
    yield installed
    installed.uninstall()


@pytest.mark.parametrize(
    "secret", [SLACK_TOKEN, APP_TOKEN, DISCORD_TOKEN, "hunter2-database-password"]
)
def test_secrets_and_token_shapes_are_redacted_from_messages_and_arguments(
    redaction: LogRedaction, caplog: pytest.LogCaptureFixture, secret: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        log.debug("sent %s", {"token": secret})
        log.warning(f"inline {secret} in the message")

    assert [r.getMessage() for r in caplog.records] == [
        f"sent {{'token': '{REDACTED}'}}",
        f"inline {REDACTED} in the message",
    ]
    assert secret not in caplog.text


def test_exception_text_is_redacted(
    redaction: LogRedaction, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        try:
            raise RuntimeError(f"the API refused {SLACK_TOKEN}")
        except RuntimeError:
            log.exception("call failed")

    assert "RuntimeError: the API refused [redacted]" in caplog.text
    assert SLACK_TOKEN not in caplog.text


def test_ordinary_messages_and_short_values_are_left_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redaction = LogRedaction(["abc", "long-enough-secret"])
    redaction.install()
    try:
        with caplog.at_level(logging.INFO):
            log.info("abc posted %d questions to C012AB3CD", 3)
    finally:
        redaction.uninstall()

    assert caplog.records[0].getMessage() == "abc posted 3 questions to C012AB3CD"
    assert redaction.secrets == ("long-enough-secret",)


def test_uninstall_restores_the_previous_record_factory() -> None:
    before = logging.getLogRecordFactory()
    redaction = LogRedaction(["long-enough-secret"])
    redaction.install()
    assert logging.getLogRecordFactory() is not before
    redaction.uninstall()
    assert logging.getLogRecordFactory() is before


def test_settings_name_every_secret_including_the_database_password() -> None:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DATABASE_URL": "postgresql://bot:pa55-w0rd@db.internal/awsquiz",
        }
    )

    assert set(settings.secret_values) == {SLACK_TOKEN, DISCORD_TOKEN, "pa55-w0rd"}


# -- bearer credentials in URLs: Discord interaction tokens, Slack response URLs ----------------

INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTM0NTAwMDAwMDAwMDAwMDAwMTpTZWNyZXRQYXJ0T2ZUaGVUb2tlbg"
RESPONSE_SECRET = "ZnJbx3X5ftsvxUq2uf6RGNu4"


@pytest.mark.parametrize(
    ("logger_name", "url", "shown"),
    [
        (
            "discord.http",
            f"https://discord.com/api/v10/interactions/1234/{INTERACTION_TOKEN}/callback",
            "/api/v10/interactions/1234/[redacted]/callback",
        ),
        (
            "discord.webhook.async_",
            f"https://discord.com/api/v10/webhooks/5678/{INTERACTION_TOKEN}/messages/@original",
            "/api/v10/webhooks/5678/[redacted]/messages/@original",
        ),
        (
            "slack_sdk.webhook.async_client",
            f"https://hooks.slack.com/commands/T0AWSQUIZ/1234567890123/{RESPONSE_SECRET}",
            "https://hooks.slack.com/commands/T0AWSQUIZ/1234567890123/[redacted]",
        ),
        (
            "aiohttp.client",
            f"https://hooks.slack.com/actions/T0AWSQUIZ/987654321/{RESPONSE_SECRET}?x=1",
            "https://hooks.slack.com/actions/T0AWSQUIZ/987654321/[redacted]?x=1",
        ),
    ],
)
@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.ERROR])
def test_url_credentials_are_redacted_keeping_the_url_readable(
    redaction: LogRedaction,
    caplog: pytest.LogCaptureFixture,
    logger_name: str,
    url: str,
    shown: str,
    level: int,
) -> None:
    logger = logging.getLogger(logger_name)
    with caplog.at_level(logging.DEBUG):
        logger.log(level, "POST %s with %s has returned %s", url, None, 204)
        logger.log(level, "url: %r", {"response_url": url, "token": INTERACTION_TOKEN})

    assert INTERACTION_TOKEN not in caplog.text
    assert RESPONSE_SECRET not in caplog.text
    plain, in_a_payload = (r.getMessage() for r in caplog.records)
    assert shown in plain
    assert plain.endswith(" with None has returned 204")
    assert f"'token': '{REDACTED}'" in in_a_payload


def test_a_redacted_url_is_left_as_it_is(redaction: LogRedaction) -> None:
    once = redact(f"/webhooks/1/{INTERACTION_TOKEN} and /interactions/2/{INTERACTION_TOKEN}/x")
    assert redact(once) == once == "/webhooks/1/[redacted] and /interactions/2/[redacted]/x"


class DeferringClient(discord.Client):
    """Answers every interaction as awsquiz answers slow ones: a defer, then a follow-up."""

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("done", ephemeral=True)


async def test_discord_interaction_tokens_never_reach_the_debug_log(
    redaction: LogRedaction, caplog: pytest.LogCaptureFixture
) -> None:
    interaction = slash_command_interaction(subcommand="topics")
    interaction["token"] = INTERACTION_TOKEN  # as long and opaque as Discord's
    client = DeferringClient(intents=discord.Intents.default(), guild_ready_timeout=0)
    caplog.set_level(logging.DEBUG)
    async with DiscordDouble() as double, running_client(client, DISCORD_BOT_TOKEN, double):
        await double.dispatch("INTERACTION_CREATE", interaction)
        await double.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}")

    assert INTERACTION_TOKEN not in caplog.text
    assert f"/interactions/{interaction['id']}/{REDACTED}/callback" in caplog.text
    assert f"/webhooks/{APPLICATION_ID}/{REDACTED}" in caplog.text
    assert f"'token': '{REDACTED}'" in caplog.text  # the gateway's INTERACTION_CREATE


class SlackHooks(LoopbackServer):
    """Slack's hooks.slack.com on loopback: response URLs that answer `ok`."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[str] = []

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/{kind}/{team}/{id}/{secret}", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        self.posts.append(request.path)
        return web.Response(text="ok")


@pytest.mark.parametrize("kind", ["commands", "actions"])
async def test_slack_response_urls_never_reach_the_debug_log(
    redaction: LogRedaction, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.DEBUG)
    async with SlackHooks() as hooks:
        url = f"{hooks.url}/{kind}/T0AWSQUIZ/1234567890123/{RESPONSE_SECRET}"
        answer = await AsyncWebhookClient(url).send(text="graded", response_type="ephemeral")

    assert answer.status_code == 200
    assert hooks.posts == [f"/{kind}/T0AWSQUIZ/1234567890123/{RESPONSE_SECRET}"]
    assert RESPONSE_SECRET not in caplog.text
    assert f"/{kind}/T0AWSQUIZ/1234567890123/{REDACTED}" in caplog.text
