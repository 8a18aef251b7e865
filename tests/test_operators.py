"""Operators' endpoints: /healthz, /readyz and /metrics, as `awsquiz run` serves them.

In Slack's HTTP mode beside /slack/events on PORT; in Socket Mode on AWSQUIZ_METRICS_PORT.
Real Bolt against the Slack double, a real database (SQLite; PostgreSQL behind a proxy the
test cuts), Prometheus's text format read back with prometheus_client's own parser.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from conftest import TEST_DATABASE_URL_ENV, _scratch_postgres_database
from doubles.discord import BOT_TOKEN as DISCORD_BOT_TOKEN
from doubles.discord import DiscordDouble, pointed_at
from doubles.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    SlackDouble,
    post_slash_command,
)
from doubles.tcp_proxy import TcpProxy
from helpers import FixedClock, eventually, free_port
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.web.async_client import AsyncWebClient

from bot import operators
from bot.adapters.slack.app import web_client
from bot.adapters.slack.chat import SlackChatAdapter
from bot.app import open_services
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import Outcome
from bot.engine.model import UserRef
from bot.runner import run
from bot.settings import Settings, load_settings
from storage.database import parse_database_url

ROOM = ChannelRef("slack", TEAM_ID, CHANNEL_ID)
STARTUP_SECONDS: Final = 15.0
"""Start-up migrates the database and loads the packs: ample, and a hang still fails."""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def settings_for(double: SlackDouble, database: Path, **environment: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": double.api_url,
            **environment,
        }
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[None]:
    """`awsquiz run` with these settings, stopped (and awaited) when the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def get(url: str) -> tuple[int, str]:
    """GET `url` once it answers at all (the process may still be starting): status, body."""
    async with asyncio.timeout(STARTUP_SECONDS), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)


async def get_json(url: str) -> tuple[int, dict[str, Any]]:
    async with asyncio.timeout(STARTUP_SECONDS), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    return response.status, await response.json()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)


async def scrape(url: str) -> Samples:
    """Every sample /metrics exposes, by name and labels."""
    status, text = await get(url)
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much one sample grew between two scrapes."""
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def answers_ready(url: str) -> bool:
    status, _ = await get_json(url)
    return status == 200


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as started:
        yield started


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


# -- HTTP mode: beside Slack's requests on PORT ------------------------------------------------


async def test_http_mode_serves_health_readiness_and_metrics_on_its_port(
    double: SlackDouble, tmp_path: Path
) -> None:
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    settings = settings_for(
        double, tmp_path / "bot.db", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(port)
    )
    async with running(settings):
        assert await get_json(f"{root}/healthz") == (200, {"alive": True})
        status, ready = await get_json(f"{root}/readyz")
        assert (status, ready) == (200, {"ready": True, "database": "ok", "slack": "ok"})
        before = await scrape(f"{root}/metrics")

        for text in ("ask s3", "answer Buckets hold objects"):
            delivery = await post_slash_command(
                f"{root}/slack/events", SIGNING_SECRET, text=text, response_url=double.response_url
            )
            assert delivery.status == 200
        await double.wait_for_responses(count=2)
        after = await scrape(f"{root}/metrics")

    assert (
        grew(before, after, "awsquiz_answers_graded_total", platform="slack", source="slash") == 1
    )
    assert grew(before, after, "awsquiz_replies_delivered_total", platform="slack") == 2
    assert grew(before, after, "awsquiz_database_seconds_count", statement="select") > 0
    assert grew(before, after, "awsquiz_database_seconds_count", statement="insert") > 0


# -- Socket Mode: on AWSQUIZ_METRICS_PORT ------------------------------------------------------


@pytest.mark.usefixtures("no_proxy")
async def test_readyz_says_slack_is_not_connected_until_its_socket_is(
    double: SlackDouble, tmp_path: Path
) -> None:
    port = free_port()
    settings = settings_for(
        double, tmp_path / "bot.db", SLACK_APP_TOKEN=APP_TOKEN, AWSQUIZ_METRICS_PORT=str(port)
    )
    connecting = double.hold("apps.connections.open")  # Slack keeps the socket waiting
    async with running(settings):
        assert await get_json(f"http://127.0.0.1:{port}/healthz") == (200, {"alive": True})
        await double.wait_for("apps.connections.open")
        status, ready = await get_json(f"http://127.0.0.1:{port}/readyz")
        assert (status, ready) == (
            503,
            {"ready": False, "database": "ok", "slack": operators.NOT_CONNECTED},
        )

        connecting.set()
        await double.wait_for_socket()

        readyz = f"http://127.0.0.1:{port}/readyz"
        await eventually(functools.partial(answers_ready, readyz), "slack connected in /readyz")
        status, text = await get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert "awsquiz_database_seconds_bucket" in text


async def test_without_a_metrics_port_socket_mode_listens_on_no_port(
    double: SlackDouble, tmp_path: Path
) -> None:
    port = free_port()
    settings = settings_for(double, tmp_path / "bot.db", SLACK_APP_TOKEN=APP_TOKEN, PORT=str(port))
    async with running(settings):
        await double.wait_for("apps.connections.open")
        with pytest.raises(aiohttp.ClientConnectionError):
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/healthz"),
            ):
                pass


# -- the database part of /readyz ----------------------------------------------------------


async def test_a_database_that_does_not_answer_within_the_timeout_is_not_ready() -> None:
    never = asyncio.Event()
    pings = 0

    async def hangs() -> None:
        nonlocal pings
        pings += 1
        await never.wait()

    readiness = operators.Readiness(("slack",), timeout=0.01)
    readiness.use_database(hangs)

    first = await readiness.check()
    second = await readiness.check()

    assert first == {"database": "no answer within 0.01 s", "slack": operators.NOT_CONNECTED}
    assert second == first
    assert pings == 1  # the slow ping is waited for again, not piled up
    never.set()


@pytest.mark.postgres
async def test_readyz_is_503_while_postgresql_is_unreachable_and_200_once_it_is_back(
    clock: FixedClock,
) -> None:
    server_url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server_url:
        pytest.skip(f"{TEST_DATABASE_URL_ENV} is not set")
    async for direct_url in _scratch_postgres_database(server_url):
        target = parse_database_url(direct_url)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        async with proxy.running():
            proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
            settings = load_settings({"DATABASE_URL": proxied})
            async with open_services(settings, clock=clock) as services:
                readiness = operators.Readiness()
                operators.observe(services.store.engine, services.daily, readiness)
                port = free_port()
                stop = asyncio.Event()
                serving = asyncio.create_task(operators.serve(port, readiness, stop))
                url = f"http://127.0.0.1:{port}/readyz"
                try:
                    assert await get_json(url) == (200, {"ready": True, "database": "ok"})
                    await proxy.cut()
                    status, body = await get_json(url)
                    assert status == 503
                    assert body["ready"] is False
                    assert body["database"] != "ok"
                    assert proxied.split("@")[0] not in str(body)  # no credentials said
                    await proxy.restore()
                    await eventually(
                        functools.partial(answers_ready, url), "the database back", seconds=10
                    )
                finally:
                    stop.set()
                    await serving


# -- daily posts by outcome ------------------------------------------------------------------


async def test_daily_posts_are_counted_by_outcome(
    double: SlackDouble, tmp_path: Path, clock: FixedClock
) -> None:
    settings = settings_for(double, tmp_path / "bot.db", SLACK_SIGNING_SECRET=SIGNING_SECRET)
    client = web_client(BOT_TOKEN, double.api_url)

    async def client_for(_: str) -> AsyncWebClient:
        return client

    adapters = {"slack": SlackChatAdapter(client_for)}
    async with open_services(settings, adapters=adapters, clock=clock) as services:
        operators.observe(services.store.engine, services.daily, operators.Readiness())
        admin = UserRef("slack", TEAM_ID, "UADMIN", "Ada")
        rooms = [ROOM, ChannelRef("slack", TEAM_ID, "C0GONE")]
        for channel in rooms:
            await services.daily.subscribe(
                channel, actor=admin, is_admin=True, post_time="09:00", timezone="UTC"
            )
        double.respond("chat.postMessage", {"ok": False, "error": "channel_not_found"}, once=True)
        before = _counts()

        report = await services.daily.post_due()

        after = _counts()
    assert sorted(report.outcomes.values()) == sorted([Outcome.POSTED, Outcome.FAILED])
    assert _delta(before, after) == {"posted": 1, "failed": 1, "deferred": 0}


def _counts() -> Mapping[str, float]:
    return {
        outcome: REGISTRY.get_sample_value(
            "awsquiz_daily_posts_total", {"platform": "slack", "outcome": outcome}
        )
        or 0.0
        for outcome in ("posted", "failed", "deferred")
    }


def _delta(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in before}


async def test_readyz_says_discord_is_connected_once_its_client_is_ready(tmp_path: Path) -> None:
    port = free_port()
    async with DiscordDouble() as double:
        settings = load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                "DISCORD_TOKEN": DISCORD_BOT_TOKEN,
                "DISCORD_API_URL": double.rest_url,
                "DISCORD_GATEWAY_URL": str(double.gateway_url),
                "AWSQUIZ_METRICS_PORT": str(port),
            }
        )
        readyz = f"http://127.0.0.1:{port}/readyz"
        with pointed_at(double):
            async with running(settings):
                await eventually(functools.partial(answers_ready, readyz), "discord in /readyz")
                status, ready = await get_json(readyz)
    assert (status, ready) == (200, {"ready": True, "database": "ok", "discord": "ok"})
