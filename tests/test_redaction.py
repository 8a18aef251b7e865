"""Secrets never reach a log record, whoever logs them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.redaction import REDACTED, LogRedaction
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
