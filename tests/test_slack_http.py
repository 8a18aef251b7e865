"""Slack's HTTP mode under hostile traffic: the real Bolt app over loopback, behind its gate.

Junk from the internet is refused before anything parses it, a signed body Bolt could not read
is a 400, none of it is a 500 or a traceback, the warnings about it are few, and a signed
request sent twice runs once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from doubles.slack import (
    BOLT_EVENTS_PATH,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackDouble,
    app_home_opened_event,
    post_event,
    slash_command,
)
from helpers import FixedClock
from slack_app_rig import served_app, workspace_settings
from slack_bolt.app.async_app import AsyncApp

from bot.adapters.slack import http
from bot.adapters.slack.app import web_client
from bot.app import Services

FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
GATE_LOGGER: Final = http.log.name


@dataclass(frozen=True)
class Answer:
    """What the app answered to one raw request."""

    status: int
    body: str


@dataclass
class Rig:
    """awsquiz's Slack app in HTTP mode, its services and the Slack double it talks to."""

    double: SlackDouble
    services: Services
    app: AsyncApp
    url: str


@asynccontextmanager
async def running_app(double: SlackDouble, database: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    """awsquiz's Slack app on `database`, served as `awsquiz run` serves it."""
    settings = workspace_settings(double, f"sqlite:///{database}")
    async with served_app(double, settings, clock) as served:
        yield Rig(double, served.services, served.app, served.url)


@asynccontextmanager
async def served_behind(app: AsyncApp, gate: http.SlackRequestGate) -> AsyncIterator[str]:
    """Serve `app` behind a gate of the test's making; yield the events URL."""
    runner = web.AppRunner(http.web_app(app, BOLT_EVENTS_PATH, gate), shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{BOLT_EVENTS_PATH}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
async def rig(double: SlackDouble, tmp_path: Path, clock: FixedClock) -> AsyncIterator[Rig]:
    async with running_app(double, tmp_path / "slack.db", clock) as started:
        yield started


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record from INFO up (Bolt's and aiohttp's too)."""
    caplog.set_level(logging.INFO)
    return caplog


class SteppedTime:
    """Wall-clock time that moves only when the test says so (for the gate)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's signature over raw bytes, computed here rather than by the code under test."""
    signed = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed(body: bytes, content_type: str, *, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(secret, timestamp, body),
    }


async def post_raw(url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=dict(headers)) as response,
    ):
        return Answer(response.status, await response.text())


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def gate_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == GATE_LOGGER and r.levelno == logging.WARNING
    ]


JUNK_BODIES: Final = {
    "bad JSON": (b"{nope", JSON),
    "a JSON array": (b"[1]", JSON),
    "a payload that is not JSON": (b"payload=notjson", FORM),
    "not UTF-8": (b"\xff\xfe\x00payload=\xc3(", FORM),
    "a slash command": (urlencode(slash_command(response_url="http://x/")).encode(), FORM),
}


def unsigned_headers(content_type: str) -> dict[str, dict[str, str]]:
    now = str(int(time.time()))
    return {
        "no signature": {"Content-Type": content_type},
        "a timestamp of abc": {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": "abc",
            "X-Slack-Signature": "v0=00",
        },
        "a signature of junk": {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": now,
            "X-Slack-Signature": "v0=ünicode\u00a0junk",
        },
    }


@pytest.mark.parametrize("kind", list(JUNK_BODIES))
async def test_unsigned_and_badly_signed_junk_is_a_401_and_never_reaches_bolt(
    rig: Rig, logged: pytest.LogCaptureFixture, kind: str
) -> None:
    body, content_type = JUNK_BODIES[kind]
    stale = str(int(time.time()) - 600)
    attempts = [
        *unsigned_headers(content_type).values(),
        signed(body, content_type, secret="not-the-secret"),
        {**signed(body, content_type), "X-Slack-Request-Timestamp": stale},
    ]
    for headers in attempts:
        answer = await post_raw(rig.url, body, headers)
        assert answer.status == 401, headers
        assert json.loads(answer.body) == {"error": "invalid request"}
    # Two timestamp headers, one of them junk, are refused as well.
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            rig.url,
            data=body,
            headers=[
                ("X-Slack-Request-Timestamp", str(int(time.time()))),
                ("X-Slack-Request-Timestamp", "abc"),
                ("X-Slack-Signature", signed(body, content_type)["X-Slack-Signature"]),
            ],
        ) as response,
    ):
        assert response.status == 401

    assert rig.double.calls == []  # Bolt never ran: not even its auth.test
    assert errors(logged) == []
    assert "Traceback" not in logged.text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{nope", JSON),
        (b"[1]", JSON),
        (b'"just a string"', JSON),
        (b"[" * 100_000, JSON),
        (b"payload=notjson", FORM),
        (b"payload=%5B1%5D", FORM),  # payload=[1]
        (b"\xff\xfe not UTF-8", FORM),
        (b"", FORM),
        (b'{"type": "event_callback", "authorizations": [1]}', JSON),
    ],
)
async def test_a_signed_body_bolt_could_not_read_is_a_400(
    rig: Rig, logged: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    answer = await post_raw(rig.url, body, signed(body, content_type))

    assert answer.status == 400
    assert errors(logged) == []
    assert "Traceback" not in logged.text
    assert rig.double.calls == []


async def test_thousands_of_junk_requests_make_one_warning(
    rig: Rig, logged: pytest.LogCaptureFixture
) -> None:
    statuses: set[int] = set()
    for round_ in range(100):
        for body, content_type in JUNK_BODIES.values():
            for headers in unsigned_headers(content_type).values():
                statuses.add((await post_raw(rig.url, body, headers)).status)
        malformed = f"[{round_}]".encode()
        statuses.add((await post_raw(rig.url, malformed, signed(malformed, JSON))).status)

    assert statuses == {400, 401}
    (warning,) = gate_warnings(logged)
    assert "/slack/events" in warning
    assert [r.name for r in logged.records if r.levelno >= logging.WARNING] == [GATE_LOGGER]


async def test_the_next_warning_counts_the_refusals_it_left_unsaid(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SteppedTime()
    gate = http.SlackRequestGate(rig.app, SIGNING_SECRET, now=clock, warning_interval=60)
    caplog.set_level(logging.WARNING)
    async with served_behind(rig.app, gate) as url:
        for _ in range(3):
            assert (await post_raw(url, b"{}", {"Content-Type": JSON})).status == 401
        assert len(gate_warnings(caplog)) == 1
        clock.now += 61
        bad = signed(b"{}", JSON, secret="not-the-secret")
        assert (await post_raw(url, b"{}", bad)).status == 401

    first, second = gate_warnings(caplog)
    assert "refused with 401: no signature" in first
    assert "a bad signature; 2 more since the last warning (2 no signature" in second


async def test_a_replayed_signed_slash_command_runs_once(
    rig: Rig, logged: pytest.LogCaptureFixture
) -> None:
    body = urlencode(slash_command(text="topics", response_url=rig.double.response_url)).encode()
    headers = signed(body, FORM)

    first = await post_raw(rig.url, body, headers)
    await rig.double.wait_for_responses(count=1)
    replay = await post_raw(rig.url, body, headers)  # the same bytes, timestamp and signature
    (warning,) = gate_warnings(logged)
    help_body = urlencode(slash_command(text="help", response_url=rig.double.response_url))
    after = await post_raw(rig.url, help_body.encode(), signed(help_body.encode(), FORM))
    responses = await rig.double.wait_for_responses(count=2)

    assert (first.status, replay.status, after.status) == (200, 200, 200)
    assert "a replayed signature" in warning
    assert len(responses) == 2
    assert "help" in json.dumps(responses[1].body)
    assert errors(logged) == []


async def test_slack_retries_pass_the_gate_and_are_still_dropped_once_handled(
    rig: Rig, logged: pytest.LogCaptureFixture
) -> None:
    # Slack signs each retry anew: another timestamp, so another signature.
    opened = app_home_opened_event()
    first = await post_event(rig.url, SIGNING_SECRET, opened, event_id="Ev1")
    await rig.double.wait_for("views.publish")
    earlier = str(int(time.time()) - 1)
    retry = await post_event(
        rig.url, SIGNING_SECRET, opened, event_id="Ev1", retry_num=1, timestamp=earlier
    )
    other = await post_event(rig.url, SIGNING_SECRET, app_home_opened_event(), event_id="Ev2")
    await rig.double.wait_for("views.publish", count=2)

    assert (first.status, retry.status, other.status) == (200, 200, 200)
    assert len(rig.double.calls_to("views.publish")) == 2
    assert gate_warnings(logged) == []  # a retry is no replay


async def test_bolts_own_signature_check_still_runs_behind_the_gate(rig: Rig) -> None:
    # A gate holding another secret lets the request in; Bolt, holding the app's, does not.
    gate = http.SlackRequestGate(rig.app, "the-gates-own-secret")
    body = urlencode(slash_command(text="topics", response_url=rig.double.response_url)).encode()
    async with served_behind(rig.app, gate) as url:
        answer = await post_raw(url, body, signed(body, FORM, secret="the-gates-own-secret"))

    assert answer.status == 401
    assert rig.double.responses == []


def test_replay_memory_forgets_a_signature_once_its_window_closes_and_stays_bounded() -> None:
    clock = SteppedTime()
    memory = http.RecentSignatures(capacity=3, now=clock)
    sent = int(clock.now)

    assert memory.first_time("v0=a", sent)
    assert not memory.first_time("v0=a", sent)
    clock.now += http.MAX_AGE_SECONDS + 1  # Slack's window has closed on it: so has ours
    assert memory.first_time("v0=a", int(clock.now))
    for name in ("b", "c", "d", "e"):
        memory.first_time(f"v0={name}", int(clock.now))
    assert len(memory) == 3


def test_http_mode_without_a_signing_secret_is_refused_at_start(double: SlackDouble) -> None:
    app = AsyncApp(client=web_client(BOT_TOKEN, double.api_url), signing_secret="")
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        http.web_app(app, BOLT_EVENTS_PATH)
