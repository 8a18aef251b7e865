"""Multi-workspace install over OAuth: real Bolt over loopback, the Slack double, our database."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from doubles.slack import (
    BOT_USER_ID,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    SlackDouble,
    block_actions,
    post_event,
    post_interaction,
    post_slash_command,
    serve_bolt_http,
)
from helpers import FixedClock, eventually, free_port
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import Connection, MetaData, Text, func, inspect, select, table, text

from bot.adapters.slack.app import SlackMode, web_client, workspace_clients
from bot.adapters.slack.chat import SlackChatAdapter
from bot.adapters.slack.ids import ACTION_IDS
from bot.adapters.slack.installation_store import (
    BOT_TOKEN_COLUMNS,
    INSTALLATION_TOKEN_COLUMNS,
    SealedInstallationStore,
)
from bot.adapters.slack.manifest import BOT_SCOPES
from bot.adapters.slack.oauth import InstalledWorkspaceClients, SlackOAuth
from bot.app import Services, open_services
from bot.engine.daily.model import ChannelRef
from bot.engine.errors import ChatPostError, SettingsError
from bot.engine.model import UserRef
from bot.engine.ports import ChatAdapter
from bot.engine.reply import ActionKind, Reply
from bot.platforms import slack_app, slack_installations, slack_mode
from bot.runner import run
from bot.settings import Settings, load_settings
from storage import SqlStore, upgrade
from storage.database import alembic_config, create_engine
from storage.tables import SLACK_SDK_TABLES

CLIENT_ID: Final = "1234567890.0987654321"
CLIENT_SECRET: Final = "oauth-client-secret-value"
# What the double's oauth.v2.access hands out.
INSTALLED_BOT_TOKEN: Final = "xoxb-installed-bot-token"
REDIRECT_URI: Final = "https://bot.example/slack/oauth_redirect"
STATE_COOKIE: Final = "slack-app-oauth-state"
STRANGER_TEAM: Final = "T0STRANGER"
TOKEN_KEY: Final = Fernet.generate_key().decode()
"""OAuth mode encrypts the installations' tokens: it does not start without a key."""
ROOM = ChannelRef("slack", TEAM_ID, CHANNEL_ID)


def oauth_environment(double: SlackDouble, database_url: str) -> dict[str, str]:
    """HTTP mode with OAuth credentials and no bot token: the multi-workspace set-up."""
    return {
        "DATABASE_URL": database_url,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_REDIRECT_URI": REDIRECT_URI,
        "SLACK_API_URL": double.api_url,
        "AWSQUIZ_TOKEN_KEYS": TOKEN_KEY,
    }


@dataclass
class Rig:
    """awsquiz's Slack app under OAuth, served over loopback, with its services and the double."""

    double: SlackDouble
    services: Services
    root: str
    events_url: str
    mode: SlackMode

    async def install(self, code: str = "install-code") -> aiohttp.ClientResponse:
        """Walk the install as a browser does: /slack/install, Slack's consent, the redirect."""
        state, cookie = await self.start_install()
        return await self.redirect(code=code, state=state, cookie=cookie)

    async def start_install(self) -> tuple[str, str]:
        """GET /slack/install; return the state in Slack's authorize URL and the state cookie."""
        response = await self.get("/slack/install")
        assert response.status == 302
        state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
        return state, response.cookies[STATE_COOKIE].value

    async def redirect(
        self, *, code: str, state: str, cookie: str | None
    ) -> aiohttp.ClientResponse:
        """Slack sending the installer's browser back to the redirect URL."""
        headers = {"Cookie": f"{STATE_COOKIE}={cookie}"} if cookie is not None else {}
        return await self.get(f"/slack/oauth_redirect?code={code}&state={state}", headers)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        """A browser GET that does not follow redirects (the body is read before returning)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.root + path, headers=headers, allow_redirects=False) as response,
        ):
            await response.read()
            return response

    def installations(self) -> SealedInstallationStore:
        """slack_sdk's store on the rig's database, as the app uses it."""
        stores = slack_installations(self.mode, self.services.store)
        assert stores is not None
        return stores.installations


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
async def rig(double: SlackDouble, database_url: str, clock: FixedClock) -> AsyncIterator[Rig]:
    settings = load_settings(oauth_environment(double, database_url))
    mode = slack_mode(settings)
    client = web_client(None, settings.slack_api_url)

    def adapters(store: SqlStore) -> dict[str, ChatAdapter]:
        stores = slack_installations(mode, store)
        clients = workspace_clients(client, stores, settings.slack_api_url)
        return {"slack": SlackChatAdapter(clients)}

    async with open_services(settings, adapters=adapters, clock=clock) as services:
        app = slack_app(services, client, mode, settings)
        async with serve_bolt_http(app) as events_url:
            root = events_url.removesuffix(urlsplit(events_url).path)
            yield Rig(double, services, root, events_url, mode)


async def count_rows(rig: Rig, table_name: str) -> int:
    async with rig.services.store.engine.connect() as connection:
        counted = await connection.execute(select(func.count()).select_from(table(table_name)))
        return int(counted.scalar_one())


# -- the install flow --------------------------------------------------------------------------


async def test_install_redirects_to_slacks_authorize_url_with_client_id_scopes_and_state(
    rig: Rig,
) -> None:
    response = await rig.get("/slack/install")

    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "slack.com",
        "/oauth/v2/authorize",
    )
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == [",".join(BOT_SCOPES)]
    assert query["redirect_uri"] == [REDIRECT_URI]
    [state] = query["state"]
    # The state is kept in our database and tied to this browser by a cookie.
    assert response.cookies[STATE_COOKIE].value == state
    assert await count_rows(rig, "slack_oauth_states") == 1
    assert CLIENT_SECRET not in response.headers["Location"]


async def test_the_redirect_exchanges_the_code_on_the_api_url_and_stores_the_installation(
    rig: Rig,
) -> None:
    response = await rig.install(code="code-from-slack")

    assert response.status == 200
    # oauth.v2.access went to SLACK_API_URL (the double), with our credentials and the code.
    [exchange] = rig.double.calls_to("oauth.v2.access")
    assert exchange.params["code"] == "code-from-slack"
    assert exchange.params["redirect_uri"] == REDIRECT_URI
    credentials = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert exchange.authorization == f"Basic {credentials}"
    bot = await rig.installations().async_find_bot(enterprise_id=None, team_id=TEAM_ID)
    assert bot is not None
    assert (bot.bot_token, bot.bot_user_id) == (INSTALLED_BOT_TOKEN, BOT_USER_ID)
    installation = await rig.installations().async_find_installation(
        enterprise_id=None, team_id=TEAM_ID
    )
    assert installation is not None
    assert installation.user_id == USER_ID
    assert await count_rows(rig, "slack_installations") == 1
    assert await count_rows(rig, "slack_oauth_states") == 0  # consumed


async def test_a_forged_state_is_refused_and_nothing_is_installed(rig: Rig) -> None:
    real_state, _ = await rig.start_install()

    # A state we never issued (the attacker sets the matching cookie too): unknown to the store.
    forged = await rig.redirect(code="stolen-code", state="forged", cookie="forged")
    # A real state from another browser, which lacks the installer's cookie.
    other_browser = await rig.redirect(code="stolen-code", state=real_state, cookie=None)

    assert (forged.status, other_browser.status) == (401, 400)
    assert rig.double.calls_to("oauth.v2.access") == []
    assert await count_rows(rig, "slack_installations") == 0


async def test_a_state_works_once(rig: Rig) -> None:
    state, cookie = await rig.start_install()
    first = await rig.redirect(code="code", state=state, cookie=cookie)
    replay = await rig.redirect(code="code", state=state, cookie=cookie)

    assert (first.status, replay.status) == (200, 401)
    assert len(rig.double.calls_to("oauth.v2.access")) == 1


# -- requests, authorised by their workspace ----------------------------------------------------


async def test_an_installed_workspace_is_served_with_its_own_bot_token(rig: Rig) -> None:
    await rig.install()

    delivery = await post_slash_command(
        rig.events_url, SIGNING_SECRET, text="ecs", response_url=rig.double.response_url
    )

    assert delivery.status == 200
    [question] = await rig.double.wait_for_responses()
    assert "blocks" in question.body
    opened = await rig.services.store.open_question(UserRef("slack", TEAM_ID, USER_ID))
    assert opened is not None
    # Bolt authorised the request with the stored token...
    assert rig.double.calls_to("auth.test")[-1].authorization == f"Bearer {INSTALLED_BOT_TOKEN}"
    # ...and the listener's own Web API calls carry it.
    click = block_actions(
        action_id=ACTION_IDS[ActionKind.ANSWER],
        value=opened.question_id,
        response_url=rig.double.response_url,
    )
    assert (await post_interaction(rig.events_url, SIGNING_SECRET, click)).status == 200
    [view_call] = await rig.double.wait_for("views.open")
    assert view_call.authorization == f"Bearer {INSTALLED_BOT_TOKEN}"


async def test_requests_of_one_installation_share_one_auth_test(rig: Rig) -> None:
    await rig.install()
    before = len(rig.double.calls_to("auth.test"))

    for subcommand in ("topics", "help", "topics"):
        delivery = await post_slash_command(
            rig.events_url, SIGNING_SECRET, text=subcommand, response_url=rig.double.response_url
        )
        assert delivery.status == 200
    await rig.double.wait_for_responses(count=3)

    # Authorising each request asks the store for the token, but auth.test only the first time:
    # it would otherwise run before every ack.
    assert len(rig.double.calls_to("auth.test")) == before + 1


async def test_a_workspace_that_never_installed_the_app_is_refused(rig: Rig) -> None:
    await rig.install()
    calls_before = len(rig.double.calls)

    delivery = await post_slash_command(
        rig.events_url,
        SIGNING_SECRET,
        team_id=STRANGER_TEAM,
        text="ecs",
        response_url=rig.double.response_url,
    )

    assert delivery.status == 200  # Bolt answers the user rather than fail the request
    [refusal] = await rig.double.wait_for_responses()
    assert "install" in str(refusal.body).lower()
    assert await rig.services.store.open_question(UserRef("slack", STRANGER_TEAM, USER_ID)) is None
    assert rig.double.calls[calls_before:] == []  # no token was found, so none was used


async def test_a_bad_signature_is_still_rejected_under_oauth(rig: Rig) -> None:
    await rig.install()
    delivery = await post_slash_command(
        rig.events_url, "not-the-secret", text="ecs", response_url=rig.double.response_url
    )
    assert delivery.status == 401


# -- the daily poster's clients ----------------------------------------------------------------


async def test_the_daily_adapter_posts_with_the_installed_workspaces_token(rig: Rig) -> None:
    await rig.install()
    adapter = rig.services.daily.adapters["slack"]

    await adapter.post(ROOM, Reply(title="Today's question"))

    [posted] = await rig.double.wait_for("chat.postMessage")
    assert posted.authorization == f"Bearer {INSTALLED_BOT_TOKEN}"
    assert posted.params["channel"] == CHANNEL_ID


async def test_client_for_reuses_a_client_per_team_and_refuses_uninstalled_teams(
    rig: Rig,
) -> None:
    await rig.install()
    clients = InstalledWorkspaceClients(
        rig.installations(), lambda token: web_client(token, rig.double.api_url)
    )

    first = await clients(TEAM_ID)
    again = await clients(TEAM_ID)

    assert first is again
    assert first.token == INSTALLED_BOT_TOKEN
    assert first.base_url == rig.double.api_url
    assert first.retry_handlers  # 429s and connection errors are retried
    with pytest.raises(ChatPostError, match=STRANGER_TEAM) as refused:
        await clients(STRANGER_TEAM)
    assert refused.value.transient is False


async def _subscribe_and_install(rig: Rig) -> None:
    await rig.install()
    admin = UserRef("slack", TEAM_ID, USER_ID, "Ada")
    await rig.services.daily.subscribe(
        ROOM, actor=admin, is_admin=True, post_time="09:00", timezone="UTC"
    )


async def test_an_uninstalled_workspace_is_forgotten_and_its_daily_question_stops(
    rig: Rig,
) -> None:
    await _subscribe_and_install(rig)
    elsewhere = ChannelRef("slack", STRANGER_TEAM, "C0OTHER")
    await rig.services.daily.subscribe(
        elsewhere,
        actor=UserRef("slack", STRANGER_TEAM, "U0B", "Bo"),
        is_admin=True,
        post_time="09:00",
        timezone="UTC",
    )

    delivery = await post_event(
        rig.events_url, SIGNING_SECRET, {"type": "app_uninstalled"}, event_id="Ev0UNINSTALL"
    )

    assert delivery.status == 200
    await _eventually_off(rig, ROOM)
    assert await rig.installations().async_find_bot(enterprise_id=None, team_id=TEAM_ID) is None
    kept = await rig.services.store.subscription(ROOM)
    assert kept is not None
    assert kept.post_time.hour == 9  # kept for a reinstall
    other = await rig.services.store.subscription(elsewhere)
    assert other is not None
    assert other.enabled  # another workspace is not touched


async def test_a_revoked_bot_token_stops_the_daily_question(rig: Rig) -> None:
    await _subscribe_and_install(rig)
    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER_ID]}}

    delivery = await post_event(rig.events_url, SIGNING_SECRET, event, event_id="Ev0REVOKED")

    assert delivery.status == 200
    await _eventually_off(rig, ROOM)
    assert await rig.installations().async_find_bot(enterprise_id=None, team_id=TEAM_ID) is None


async def _eventually_off(rig: Rig, channel: ChannelRef) -> None:
    """Events are handled after the ack: wait (briefly) for the subscription to turn off."""

    async def off() -> bool:
        subscription = await rig.services.store.subscription(channel)
        return subscription is not None and not subscription.enabled

    await eventually(off, "turning the daily question off")


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"),
    [("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"), ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")],
)
def test_oauth_credentials_come_in_pairs(given: str, missing: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({given: CLIENT_SECRET})
    assert caught.value.name == missing
    assert CLIENT_SECRET not in str(caught.value)


def oauth_settings_with(**extra: str) -> Settings:
    environment = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "AWSQUIZ_TOKEN_KEYS": TOKEN_KEY,
    }
    return load_settings(environment | {name.upper(): value for name, value in extra.items()})


def test_oauth_with_socket_mode_is_refused_naming_the_app_token() -> None:
    settings = oauth_settings_with(slack_app_token="xapp-1", slack_signing_secret=SIGNING_SECRET)
    with pytest.raises(SettingsError) as caught:
        slack_mode(settings)
    assert caught.value.name == "SLACK_APP_TOKEN"
    assert "Socket Mode" in caught.value.problem


def test_oauth_needs_the_signing_secret_of_http_mode() -> None:
    with pytest.raises(SettingsError) as caught:
        slack_mode(oauth_settings_with())
    assert caught.value.name == "SLACK_SIGNING_SECRET"


def test_a_bot_token_makes_it_a_single_workspace_app() -> None:
    settings = oauth_settings_with(slack_bot_token="xoxb-one", slack_signing_secret=SIGNING_SECRET)
    mode = slack_mode(settings)
    assert (mode.bot_token, mode.oauth) == ("xoxb-one", None)


def test_oauth_mode_and_its_repr_keep_the_secret_out() -> None:
    mode = slack_mode(oauth_settings_with(slack_signing_secret=SIGNING_SECRET))
    assert mode.oauth == SlackOAuth(CLIENT_ID, CLIENT_SECRET, None)
    assert mode.bot_token is None
    assert CLIENT_SECRET not in repr(mode)
    assert SIGNING_SECRET not in repr(mode)


def test_a_redirect_uri_must_be_a_url() -> None:
    with pytest.raises(SettingsError) as caught:
        oauth_settings_with(slack_redirect_uri="bot.example/slack/oauth_redirect")
    assert caught.value.name == "SLACK_REDIRECT_URI"


# -- awsquiz run -------------------------------------------------------------------------------


async def test_awsquiz_run_serves_the_install_with_oauth_and_no_bot_token(
    double: SlackDouble, database_url: str
) -> None:
    port = free_port()
    settings = load_settings(oauth_environment(double, database_url) | {"PORT": str(port)})
    stop = asyncio.Event()
    running = asyncio.create_task(run(settings, stop))
    try:
        response = await _wait_for_install_page(f"http://127.0.0.1:{port}/slack/install")
        assert response.status == 302
        assert "slack.com/oauth/v2/authorize" in response.headers["Location"]
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)


async def _wait_for_install_page(url: str) -> aiohttp.ClientResponse:
    async with asyncio.timeout(10), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url, allow_redirects=False) as response:
                    return response
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)  # still starting: migrating, loading content


# -- migration 0004 ----------------------------------------------------------------------------


def _library_metadata() -> MetaData:
    """The tables as slack_sdk defines them, for comparison with what 0004 created, with the
    token columns widened to TEXT (0008) for their ciphertext."""
    metadata = MetaData()
    installations = AsyncSQLAlchemyInstallationStore.build_installations_table(
        metadata, "slack_installations"
    )
    bots = AsyncSQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    for library_table, columns in (
        (installations, INSTALLATION_TOKEN_COLUMNS),
        (bots, BOT_TOKEN_COLUMNS),
    ):
        for column in columns:
            library_table.c[column].type = Text()
    return metadata


def _slack_tables_only(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or name in SLACK_SDK_TABLES


def _differences_from_the_library(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"include_name": _slack_tables_only, "compare_type": True}
    )
    return list(compare_metadata(context, _library_metadata()))


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migration_0004_creates_the_library_tables_and_downgrades(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences_from_the_library)
            created = await connection.run_sync(_table_names)
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "downgrade", "0003")
        async with engine.connect() as connection:
            after_downgrade = await connection.run_sync(_table_names)
            version = await connection.execute(text("SELECT version_num FROM alembic_version"))
            version_after_downgrade: str = version.scalar_one()
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "head")
        async with engine.connect() as connection:
            after_upgrade_again = await connection.run_sync(_table_names)
    finally:
        await engine.dispose()

    # Columns, types, nullability and indexes exactly as slack_sdk's stores define them: a
    # slack_sdk upgrade that changes them fails here and needs a new revision.
    assert differences == []
    assert created >= SLACK_SDK_TABLES
    assert not after_downgrade & SLACK_SDK_TABLES
    assert version_after_downgrade == "0003"
    assert "users" in after_downgrade
    assert after_upgrade_again == created
