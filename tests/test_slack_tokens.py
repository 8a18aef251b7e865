"""Slack tokens: rotating tokens refreshed on SLACK_API_URL, tokens encrypted at rest.

Real Bolt and slack_sdk over loopback to the Slack double, on a SQLite file and PostgreSQL;
what the database holds is read with plain SQL.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import aiohttp
import pytest
from alembic import command
from cryptography.fernet import Fernet, InvalidToken
from doubles.slack import (
    BOT_USER_ID,
    CHANNEL_ID,
    INSTALLED_BOT_TOKEN,
    SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    SlackDouble,
    post_slash_command,
)
from helpers import FixedClock
from slack_oauth_rig import (
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthRig,
    oauth_environment,
    oauth_rig,
    stored_tokens,
)
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import Connection, inspect, text

from bot.adapters.slack.manifest import manifest
from bot.adapters.slack.token_vault import SEALED_PREFIX
from bot.engine.daily.model import ChannelRef
from bot.engine.errors import ChatPostError, SettingsError
from bot.engine.model import UserRef
from bot.engine.reply import Reply
from bot.platforms import slack_mode
from bot.runner import run
from bot.settings import load_settings
from storage import SqlStore, open_store, upgrade
from storage.database import alembic_config, create_engine

ROOM: Final = ChannelRef("slack", TEAM_ID, CHANNEL_ID)
SECOND_ROOM: Final = ChannelRef("slack", TEAM_ID, "C0SECOND")
ADMIN: Final = UserRef("slack", TEAM_ID, USER_ID, "Ada")
SUBSCRIBED_AT: Final = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
POST_DUE_AT: Final = datetime(2025, 3, 3, 9, 1, tzinfo=UTC)
OLD_KEY: Final = Fernet.generate_key().decode()
NEW_KEY: Final = Fernet.generate_key().decode()
LEGACY_TOKEN: Final = "xoxb-legacy-plaintext-token-0001"
LEGACY_TEAM: Final = "T0LEGACY"


def credentials() -> str:
    """The HTTP Basic credentials slack_sdk sends oauth.v2.access."""
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
async def rig(double: SlackDouble, database_url: str, clock: FixedClock) -> AsyncIterator[OAuthRig]:
    async with oauth_rig(double, database_url, clock, keys=NEW_KEY) as running:
        yield running


async def rotating_install(rig: OAuthRig) -> tuple[str, str]:
    """Install with token rotation on; return the bot token and refresh token handed out."""
    rig.double.rotate_tokens()
    assert await rig.install() == 200
    [(token, issued)] = rig.double.issued.items()
    assert issued.refresh_token is not None
    return token, issued.refresh_token


async def subscribe(rig: OAuthRig, *rooms: ChannelRef) -> None:
    """Daily questions at 09:00 UTC in `rooms`, then the clock just past it: they are due."""
    rig.clock.set(SUBSCRIBED_AT)
    for room in rooms:
        await rig.services.daily.subscribe(
            room, actor=ADMIN, is_admin=True, post_time="09:00", timezone="UTC"
        )
    rig.clock.set(POST_DUE_AT)


# -- tokens at rest --------------------------------------------------------------------------


async def test_tokens_are_stored_encrypted_and_requests_still_use_them(rig: OAuthRig) -> None:
    token, refresh = await rotating_install(rig)

    stored = await rig.stored_tokens()
    # Two tables, each with the bot token and its refresh token; none of them in plaintext.
    assert len(stored) == 4
    assert all(value.startswith(SEALED_PREFIX) for value in stored)
    assert not any(token in value or refresh in value for value in stored)
    opened = {Fernet(NEW_KEY.encode()).decrypt(value.encode()).decode() for value in stored}
    assert opened == {token, refresh}
    # The rotating token's ciphertext is longer than slack_sdk's VARCHAR(200): 0008 made room.
    assert max(len(value) for value in stored) > 200

    [answer] = await rig.command("topics")
    assert "blocks" in answer.body
    assert rig.double.calls_to("auth.test")[-1].authorization == f"Bearer {token}"
    bot = await rig.installations().async_find_bot(enterprise_id=None, team_id=TEAM_ID)
    assert bot is not None
    assert (bot.bot_token, bot.bot_refresh_token) == (token, refresh)


async def test_a_new_key_first_decrypts_with_the_old_and_saves_with_the_new(
    double: SlackDouble, database_url: str, clock: FixedClock
) -> None:
    async with oauth_rig(double, database_url, clock, keys=OLD_KEY) as before:
        assert await before.install(code="first") == 200

    # The operator puts a new key first and keeps the old one second.
    async with oauth_rig(double, database_url, clock, keys=f"{NEW_KEY},{OLD_KEY}") as after:
        [answer] = await after.command("topics")
        assert "blocks" in answer.body
        assert after.double.calls_to("auth.test")[-1].authorization == (
            f"Bearer {INSTALLED_BOT_TOKEN}"
        )
        old_rows = await after.stored_tokens()
        assert await after.install(code="reinstall") == 200
        new_rows = [value for value in await after.stored_tokens() if value not in old_rows]

    assert len(old_rows) == len(new_rows) == 2
    for value in old_rows:
        assert Fernet(OLD_KEY.encode()).decrypt(value.encode()).decode() == INSTALLED_BOT_TOKEN
    for value in new_rows:
        assert Fernet(NEW_KEY.encode()).decrypt(value.encode()).decode() == INSTALLED_BOT_TOKEN
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY.encode()).decrypt(value.encode())


async def test_a_token_of_a_removed_key_reads_as_not_installed(
    double: SlackDouble, database_url: str, clock: FixedClock
) -> None:
    async with oauth_rig(double, database_url, clock, keys=OLD_KEY) as before:
        assert await before.install() == 200
    calls_before = len(double.calls)

    # The old key was dropped before the tokens were re-encrypted with the new one.
    async with oauth_rig(double, database_url, clock, keys=NEW_KEY) as after:
        [refusal] = await after.command("topics")

    assert "install" in str(refusal.body).lower()
    assert double.calls[calls_before:] == []  # no token could be read, so none was sent


# -- rotating tokens -------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_on_the_api_url_before_a_request(
    rig: OAuthRig,
) -> None:
    token, refresh = await rotating_install(rig)
    await rig.twelve_hours_pass(token)

    [answer] = await rig.command("topics")

    assert "blocks" in answer.body
    # The refresh went to SLACK_API_URL (the double), with our credentials.
    [refreshed] = rig.double.refreshes()
    assert refreshed.params["refresh_token"] == refresh
    assert refreshed.authorization == credentials()
    new_token = next(issued for issued in rig.double.issued if issued != token)
    assert rig.double.calls_to("auth.test")[-1].authorization == f"Bearer {new_token}"
    # Saved, encrypted, for the next request and the daily poster.
    bot = await rig.installations().async_find_bot(enterprise_id=None, team_id=TEAM_ID)
    assert bot is not None
    assert bot.bot_token == new_token
    assert bot.bot_token_expires_at is not None
    assert bot.bot_token_expires_at > datetime.now(UTC).timestamp() + 11 * 3600
    assert not any(new_token in value for value in await rig.stored_tokens())


async def test_requests_arriving_together_share_one_refresh(rig: OAuthRig) -> None:
    token, _ = await rotating_install(rig)
    await rig.twelve_hours_pass(token)

    deliveries = await asyncio.gather(
        *(
            post_slash_command(
                rig.events_url, SIGNING_SECRET, text="topics", response_url=rig.double.response_url
            )
            for _ in range(3)
        )
    )

    assert [delivery.status for delivery in deliveries] == [200, 200, 200]
    answers = await rig.double.wait_for_responses(count=3)
    assert all("blocks" in answer.body for answer in answers)
    # The refresh token works once: the other requests waited for the first one's refresh.
    assert len(rig.double.refreshes()) == 1


async def test_an_expired_token_is_refreshed_before_a_scheduled_post(rig: OAuthRig) -> None:
    token, refresh = await rotating_install(rig)
    await subscribe(rig, ROOM)
    await rig.services.daily.post_due()
    [first_post] = rig.double.calls_to("chat.postMessage")
    assert first_post.authorization == f"Bearer {token}"
    assert rig.double.refreshes() == []  # a token far from expiry is used as it is

    await rig.twelve_hours_pass(token)
    rig.clock.advance(timedelta(days=1))
    report = await rig.services.daily.post_due()

    assert [outcome.value for outcome in report.outcomes.values()] == ["posted"]
    [refreshed] = rig.double.refreshes()
    assert refreshed.params["refresh_token"] == refresh
    new_token = next(issued for issued in rig.double.issued if issued != token)
    second_post = rig.double.calls_to("chat.postMessage")[-1]
    assert second_post.authorization == f"Bearer {new_token}"
    # Bolt reads the refreshed installation too: a request now needs no refresh of its own.
    [answer] = await rig.command("topics")
    assert "blocks" in answer.body
    assert len(rig.double.refreshes()) == 1
    assert rig.double.calls_to("auth.test")[-1].authorization == f"Bearer {new_token}"


async def test_posts_due_together_share_one_refresh_of_the_single_use_refresh_token(
    rig: OAuthRig,
) -> None:
    token, _ = await rotating_install(rig)
    await subscribe(rig, ROOM, SECOND_ROOM)
    await rig.twelve_hours_pass(token)

    report = await rig.services.daily.post_due()

    assert [outcome.value for outcome in report.outcomes.values()] == ["posted", "posted"]
    assert len(rig.double.refreshes()) == 1
    posts = rig.double.calls_to("chat.postMessage")
    assert len(posts) == 2
    assert all(post.authorization != f"Bearer {token}" for post in posts)


async def test_a_refused_refresh_is_retried_later_rather_than_given_up(rig: OAuthRig) -> None:
    token, _ = await rotating_install(rig)
    await rig.twelve_hours_pass(token)
    rig.double.respond(
        "oauth.v2.access", {"ok": False, "error": "internal_error"}, status=500, once=True
    )
    adapter = rig.services.daily.adapters["slack"]

    with pytest.raises(ChatPostError, match="could not refresh") as refused:
        await adapter.post(ROOM, Reply(title="Today's question"))
    posted_after_a_retry = await adapter.post(ROOM, Reply(title="Today's question"))

    assert refused.value.transient is True  # the engine retries it with backoff
    assert len(rig.double.refreshes()) == 2
    [posted] = rig.double.calls_to("chat.postMessage")  # the expired token was never used
    assert posted.authorization != f"Bearer {token}"
    assert posted_after_a_retry


# -- settings --------------------------------------------------------------------------------


def oauth_settings_without_keys(double: SlackDouble, database_url: str) -> dict[str, str]:
    environment = oauth_environment(double, database_url, keys="")
    del environment["AWSQUIZ_TOKEN_KEYS"]
    return environment


async def test_oauth_mode_without_the_key_refuses_to_start_naming_it(
    double: SlackDouble, tmp_path: Path
) -> None:
    unused = f"sqlite+aiosqlite:///{tmp_path / 'never-opened.db'}"
    settings = load_settings(oauth_settings_without_keys(double, unused))
    with pytest.raises(SettingsError) as refused:
        slack_mode(settings)
    assert refused.value.name == "AWSQUIZ_TOKEN_KEYS"
    assert "Fernet.generate_key()" in refused.value.problem  # how to make one

    # `awsquiz run` stops at start with it, before it serves anything.
    with pytest.raises(SettingsError) as at_start:
        await run(settings, asyncio.Event())
    assert at_start.value.name == "AWSQUIZ_TOKEN_KEYS"


@pytest.mark.parametrize("keys", ["not-a-fernet-key", f"{NEW_KEY},short", " , "])
def test_a_malformed_key_is_refused_naming_the_setting_and_never_quoting_it(keys: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"AWSQUIZ_TOKEN_KEYS": keys})
    assert refused.value.name == "AWSQUIZ_TOKEN_KEYS"
    assert NEW_KEY not in str(refused.value)
    assert "not-a-fernet-key" not in str(refused.value)


def test_the_keys_are_redacted_from_logs_and_kept_in_order() -> None:
    settings = load_settings({"AWSQUIZ_TOKEN_KEYS": f" {NEW_KEY} , {OLD_KEY} "})
    assert settings.token_keys == (NEW_KEY, OLD_KEY)
    assert {NEW_KEY, OLD_KEY} <= set(settings.secret_values)
    assert NEW_KEY not in repr(settings)


def test_the_manifest_turns_token_rotation_on_for_the_oauth_install() -> None:
    assert (
        manifest(request_url="https://bot.example/slack/events")["settings"][
            "token_rotation_enabled"
        ]
        is False
    )
    rotating = manifest(request_url="https://bot.example/slack/events", token_rotation=True)
    assert rotating["settings"]["token_rotation_enabled"] is True
    with pytest.raises(ValueError, match="request URL"):
        manifest(token_rotation=True)  # Socket Mode's single bot token cannot be refreshed


# -- encrypting what an older version stored -------------------------------------------------


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


async def store_at_0007_with_a_plaintext_installation(database_url: str) -> None:
    """A database as awsquiz before 0008 left it: an installation with plaintext tokens."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "0007")
        legacy = AsyncSQLAlchemyInstallationStore(
            client_id=CLIENT_ID,
            engine=engine,
            bots_table_name="slack_bots",
            installations_table_name="slack_installations",
        )
        await legacy.async_save(
            Installation(
                app_id="A0AWSQUIZ",
                team_id=LEGACY_TEAM,
                bot_token=LEGACY_TOKEN,
                bot_id="B0AWSQUIZ",
                bot_user_id=BOT_USER_ID,
                user_id=USER_ID,
            )
        )
    finally:
        await engine.dispose()


def awsquiz(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in a process of its own, with only `env`'s settings."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWSQUIZ_", "DATABASE_URL", "SLACK_", "LOG_LEVEL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment | env,
        timeout=120,
        check=False,
    )


async def test_the_command_encrypts_plaintext_tokens_an_older_version_stored(
    double: SlackDouble, database_url: str, clock: FixedClock
) -> None:
    await store_at_0007_with_a_plaintext_installation(database_url)
    environment = {"DATABASE_URL": database_url, "AWSQUIZ_TOKEN_KEYS": NEW_KEY}

    done = await asyncio.to_thread(awsquiz, "slack", "encrypt-tokens", env=environment)
    again = await asyncio.to_thread(awsquiz, "slack", "encrypt-tokens", env=environment)

    assert done.returncode == 0, done.stderr
    assert "2 encrypted, 0 re-encrypted with the first key, 0 already" in done.stdout
    assert "0 encrypted, 0 re-encrypted with the first key, 2 already" in again.stdout
    store = await open_store(database_url)
    try:
        stored = await stored_tokens(store)
    finally:
        await store.close()
    assert len(stored) == 2
    assert all(LEGACY_TOKEN not in value for value in stored)
    assert {Fernet(NEW_KEY.encode()).decrypt(value.encode()).decode() for value in stored} == {
        LEGACY_TOKEN
    }
    # ...and the app serves that workspace with it.
    async with oauth_rig(double, database_url, clock, keys=NEW_KEY) as rig:
        [answer] = await rig.command("topics", team_id=LEGACY_TEAM)
    assert "blocks" in answer.body
    assert double.calls_to("auth.test")[-1].authorization == f"Bearer {LEGACY_TOKEN}"


async def test_the_command_reencrypts_an_old_keys_tokens_so_the_old_key_can_go(
    double: SlackDouble, database_url: str, clock: FixedClock
) -> None:
    async with oauth_rig(double, database_url, clock, keys=OLD_KEY) as before:
        assert await before.install() == 200
    rotated = {"DATABASE_URL": database_url, "AWSQUIZ_TOKEN_KEYS": f"{NEW_KEY},{OLD_KEY}"}
    without_old = {"DATABASE_URL": database_url, "AWSQUIZ_TOKEN_KEYS": NEW_KEY}

    done = await asyncio.to_thread(awsquiz, "slack", "encrypt-tokens", env=rotated)
    after = await asyncio.to_thread(awsquiz, "slack", "encrypt-tokens", env=without_old)

    assert done.returncode == 0, done.stderr
    assert "0 encrypted, 2 re-encrypted with the first key" in done.stdout
    assert after.returncode == 0, after.stderr
    assert "2 already encrypted with it, 0 unreadable" in after.stdout
    async with oauth_rig(double, database_url, clock, keys=NEW_KEY) as rig:
        [answer] = await rig.command("topics")
    assert "blocks" in answer.body


async def test_the_command_says_which_tokens_no_key_opens_and_exits_1(
    double: SlackDouble, database_url: str, clock: FixedClock
) -> None:
    async with oauth_rig(double, database_url, clock, keys=OLD_KEY) as before:
        assert await before.install() == 200

    done = await asyncio.to_thread(
        awsquiz,
        "slack",
        "encrypt-tokens",
        env={"DATABASE_URL": database_url, "AWSQUIZ_TOKEN_KEYS": NEW_KEY},
    )
    missing = await asyncio.to_thread(
        awsquiz, "slack", "encrypt-tokens", env={"DATABASE_URL": database_url}
    )

    assert done.returncode == 1
    assert "2 unreadable" in done.stdout
    assert (missing.returncode, "AWSQUIZ_TOKEN_KEYS" in missing.stderr) == (2, True)


async def test_an_oauth_start_encrypts_plaintext_tokens_before_it_serves(
    double: SlackDouble, database_url: str, unused_tcp_port: int
) -> None:
    await store_at_0007_with_a_plaintext_installation(database_url)
    environment = oauth_environment(double, database_url, keys=NEW_KEY)
    settings = load_settings(environment | {"PORT": str(unused_tcp_port)})
    stop = asyncio.Event()
    running = asyncio.create_task(run(settings, stop))
    try:
        # The app serves once the start-up is done, the tokens' encryption included.
        await serving(f"http://127.0.0.1:{unused_tcp_port}/slack/install")
        store = await open_store(database_url, migrate=False)
        try:
            stored = await stored_tokens(store)
        finally:
            await store.close()
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)

    assert len(stored) == 2
    assert all(value.startswith(SEALED_PREFIX) for value in stored)
    assert {Fernet(NEW_KEY.encode()).decrypt(value.encode()).decode() for value in stored} == {
        LEGACY_TOKEN
    }


async def serving(url: str) -> None:
    """Wait until `url` answers (the process is still starting: migrating, loading content)."""
    async with asyncio.timeout(10), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url, allow_redirects=False) as response:
                    assert response.status == 302
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)


# -- migration 0008 --------------------------------------------------------------------------


def _token_column_types(connection: Connection) -> dict[str, str]:
    inspector = inspect(connection)
    return {
        f"{table}.{column['name']}": str(column["type"])
        for table in ("slack_bots", "slack_installations")
        for column in inspector.get_columns(table)
        if column["name"].endswith("token")
    }


async def test_migration_0008_widens_the_token_columns_and_downgrades_only_without_ciphertext(
    database_url: str, store: SqlStore, double: SlackDouble, clock: FixedClock
) -> None:
    async with store.engine.connect() as connection:
        widened = await connection.run_sync(_token_column_types)
    async with store.engine.begin() as connection:
        await connection.run_sync(_migrate, "downgrade", "0007")
    async with store.engine.connect() as connection:
        narrowed = await connection.run_sync(_token_column_types)
    await upgrade(database_url)
    async with oauth_rig(double, database_url, clock, keys=NEW_KEY) as rig:
        assert await rig.install() == 200

    assert set(widened.values()) == {"TEXT"}
    assert len(widened) == 6
    assert set(narrowed.values()) == {"VARCHAR(200)"}
    with pytest.raises(RuntimeError, match="encrypted or long tokens"):
        async with store.engine.begin() as connection:
            await connection.run_sync(_migrate, "downgrade", "0007")
    async with store.engine.connect() as connection:
        version = await connection.execute(text("SELECT version_num FROM alembic_version"))
        assert version.scalar_one() != "0007"  # refused as a whole: nothing was narrowed
