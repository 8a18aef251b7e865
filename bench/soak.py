"""Soak: the real bot under load for N minutes, with faults on a seeded schedule, then a ledger.

The ledger says what every member sent, what was graded and what they saw.

One `python -m bot run` process serves Slack (HTTP mode, against the Slack double) and Discord
(against the Discord double) together. All the time, members answer: Slack members with
`/awsquiz ask` then `/awsquiz answer ...` (replies by response_url) and with mock-interview
answers in their DM (Events API `message.im`); Discord members with the same slash commands
and with DM messages. About fifty channels per platform get their daily question inside the
run, some posted at start-up and revealed during it (the shortest answer window the daily
question allows is 10 minutes), the rest posted during it.

Faults, one at a time, in a seeded random order: SIGKILL of the bot and its restart with the
same AWSQUIZ_INSTANCE_ID; the database cut and restored (PostgreSQL only, through a loopback
TCP proxy); bursts of 429s on Slack's chat.postMessage and on Discord's channel messages.
Slack is played as Slack behaves: an event not acknowledged within 3 s is retried (on a
compressed schedule: 1 s, 8 s and 25 s rather than at once, 1 minute and 5 minutes), and some
acknowledged events are delivered again as if the ack was lost; the gateway replays a few DM
messages, as after a resume.

The ledger, from the doubles' records and the database: answers sent, graded (attempt rows)
and seen; duplicates; every daily post and every due reveal exactly once; lost items; the
recovery time after each fault. Requests made while the bot was down or the database cut
count apart ("refused in fault"), as do requests the bot accepted just before a SIGKILL and
never answered or graded ("cut off by kill"). The last line is `ledger: ok` or
`ledger: N problems (...)`, and the exit status is 1 with problems.

    python bench/soak.py [--minutes 2] [--postgres-url URL] [--seed S]

A benchmark, not a test: pytest does not collect it. With --postgres-url and the server down,
it says so in one line and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
from loadcheck import plausible_answer
from soak_ledger import (
    DailyDue,
    Exchange,
    Fault,
    FaultKind,
    Intent,
    Observed,
    Route,
    Said,
    Seen,
    build_ledger,
    daily_pending,
    is_behind,
    read_daily_rows,
    read_message,
    read_records,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import open_services
from bot.engine.catalog import Catalog
from bot.engine.daily.model import ChannelRef
from bot.engine.model import UserRef
from bot.settings import load_settings
from storage.database import parse_database_url

# The doubles are test infrastructure, not part of the bot: import them from tests/ so the soak
# talks to exactly the same loopback Slack and Discord as the tests do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from doubles import discord as discord_double
from doubles import slack as slack_double
from doubles.discord import (
    CALLBACK_CHANNEL_MESSAGE,
    GUILD_ID,
    CannedResponse,
    DiscordDouble,
    RestCall,
    dm_channel_id,
    dm_message_create,
    slash_command_interaction,
)
from doubles.slack import (
    SIGNING_SECRET,
    TEAM_ID,
    SlackDouble,
    message_im_event,
    post_event,
    post_slash_command,
)
from doubles.tcp_proxy import TcpProxy

Json = dict[str, Any]

MEMBERS_PER_ROUTE: Final = 10
DAILY_CHANNELS: Final = 50
"""Per platform."""
INTERVIEW_QUESTIONS: Final = 20
THINK_SECONDS: Final = (0.2, 1.0)
"""A member's pause between requests."""
REPLY_TIMEOUT: Final = 35.0
"""How long a member waits for an answer before moving on: past a restart and Slack's retries."""
DEADLINE: Final = 3.0
"""Slack retries an event not acknowledged within this; slash commands time out."""
SLACK_RETRY_DELAYS: Final = (1.0, 8.0, 25.0)
SPURIOUS_RETRY_SHARE: Final = 0.05
"""Acknowledged DM events delivered again, as when Slack missed the ack."""
REPLAY_SHARE: Final = 0.05
"""Discord DM messages dispatched twice, as after a gateway resume."""
RELAY_TICK: Final = 0.02
"""How often response_url posts are handed to the journal."""
GATEWAY_WAIT: Final = 0.5
"""A dispatch with no live gateway session this long: the bot is down."""
WARM_UP: Final = 10.0
COOL_DOWN: Final = 25.0
"""No fault starts in the last seconds of the load, so its recovery shows."""
FAULT_GAP: Final = (6.0, 12.0)
OUTAGE_SECONDS: Final = (3.0, 8.0)
STORM_SIZE: Final = (10, 30)
STORM_LIMIT: Final = 15.0
"""A 429 burst nobody drains within this is called off."""
READY_TIMEOUT: Final = 90.0
SUPERVISE_TICK: Final = 0.2
RESTART_PAUSE: Final = 1.0
"""Between restarts of a bot that could not start (its database down)."""
DRAIN_LIMIT: Final = 150.0
"""After the load: how long to wait for due daily posts and reveals (sweeps run each minute)."""
INSTANCE: Final = "soak-bot"
SLACK_LOBBY: Final = "C0SOAKLOBBY"
DISCORD_LOBBY: Final = 1_345_000_000_000_020_000
DISCORD_DAILY_BASE: Final = 1_345_000_000_000_010_000
NO_INTERVIEW: Final = "No interview running"
"""The title of the bot's reply to a DM answer with no interview (bot.engine.tutor)."""
SETTLE_SECONDS: Final = 2.0
"""After the drain: time for a late duplicate to show before the records are read."""
DAILY_KEY: Final = "daily:"
REVEAL_KEY: Final = "reveal:"


class SoakClock:
    """Seconds since the load began, on the monotonic clock."""

    def __init__(self) -> None:
        self.origin = time.monotonic()

    def now(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.origin

    def restart(self) -> None:
        """Second 0 is now: the load begins."""
        self.origin = time.monotonic()


# -- what members see ---------------------------------------------------------------------------


class Journal:
    """Every exchange, and the routing of what the doubles receive to the exchange it answers:
    by token (response_url, interaction) or, for DM messages, to the member's latest exchange.
    """

    def __init__(self, clock: SoakClock) -> None:
        self.clock = clock
        self.exchanges: list[Exchange] = []
        self.dm_streams: dict[str, list[Seen]] = {}
        """Every message the bot posted in each member's DM, in order."""
        self._by_token: dict[str, Exchange] = {}
        self._dm_owner: dict[str, str] = {}
        self._latest: dict[str, Exchange] = {}
        self._questions: dict[str, str] = {}
        self._settled: dict[int, asyncio.Event] = {}
        self._keys = itertools.count(1)

    def next_key(self, prefix: str) -> str:
        """A fresh id for a request or an answer marker."""
        return f"{prefix}{next(self._keys):06d}"

    def own_dm(self, channel: str, member: str) -> None:
        """Messages in `channel` are `member`'s DM with the bot."""
        self._dm_owner[channel] = member
        self.dm_streams[member] = []

    def current_question(self, member: str) -> str | None:
        """The newest interview question the member was shown (its key), if any."""
        return self._questions.get(member)

    def open(
        self,
        route: Route,
        member: str,
        intent: Intent,
        key: str,
        *,
        tag: str | None = None,
        token: str | None = None,
        in_dm: bool = False,
    ) -> Exchange:
        """Start an exchange; replies by `token`, and DM messages when `in_dm`, come to it."""
        exchange = Exchange(route, member, intent, key, tag, self.clock.now())
        if in_dm:
            exchange.answering = self._questions.get(member)
            self._latest[member] = exchange
        self.exchanges.append(exchange)
        self._settled[id(exchange)] = asyncio.Event()
        if token is not None:
            self._by_token[token] = exchange
        return exchange

    async def settled(self, exchange: Exchange, seconds: float) -> None:
        """Wait until the exchange has its final reply, or `seconds`."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._settled[id(exchange)].wait()
        exchange.closed_at = self.clock.now()

    def on_token(self, token: str, body: object) -> None:
        """A response_url post or an interaction's message."""
        exchange = self._by_token.get(token)
        if exchange is not None:
            seen = read_message(self.clock.now(), body)
            exchange.seen.append(seen)
            self._settle(exchange, seen, repeat=False)

    def on_first_response(self, token: str) -> None:
        """Discord got the interaction's first response (a message or a defer)."""
        exchange = self._by_token.get(token)
        if exchange is None or exchange.first_response_seconds is not None:
            return
        started = exchange.accepted_at if exchange.accepted_at is not None else exchange.sent_at
        exchange.first_response_seconds = self.clock.now() - started

    def on_direct_message(self, channel: str, message: object) -> None:
        """A message the bot posted in a member's DM: to the member's latest exchange.

        A question from before the one the member is on does not end their wait.
        """
        member = self._dm_owner.get(channel)
        if member is None:
            return
        stream = self.dm_streams[member]
        after_notice = bool(stream) and stream[-1].said is Said.OVERTAKEN
        seen = read_message(self.clock.now(), message, after_notice=after_notice)
        behind = False
        key = seen.question_key
        if key is not None:
            # The member knows where their interview is: a question from before it (sent
            # again, or late) neither moves them back nor ends their wait.
            behind = is_behind(key, self._questions.get(member), stream)
            if behind and all(m.question_key != key for m in stream):
                seen = replace(seen, late=True)
            if not behind:
                self._questions[member] = key
        stream.append(seen)
        exchange = self._latest.get(member)
        if exchange is not None:
            exchange.seen.append(seen)
            self._settle(exchange, seen, repeat=behind)

    def _settle(self, exchange: Exchange, seen: Seen, *, repeat: bool) -> None:
        if exchange.outcome is None and not repeat and _settles(exchange, seen.said):
            exchange.outcome = seen
            self._settled[id(exchange)].set()


def _settles(exchange: Exchange, said: Said) -> bool:
    """Whether this reply is the last one the member waits for."""
    if said is Said.UNREACHABLE:
        return True
    if exchange.intent is Intent.INTERVIEW:
        return said is Said.QUESTION
    if exchange.route in (Route.SLACK_DM, Route.DISCORD_DM):
        return said in (Said.QUESTION, Said.SUMMARY, Said.OTHER)
    if exchange.intent is Intent.ASK:
        return said in (Said.QUESTION, Said.OTHER)
    return said in (Said.GRADED, Said.OTHER)


# -- the doubles, telling the journal -------------------------------------------------------------


class SoakSlack(SlackDouble):
    """The tests' Slack double; each DM post is told to the journal the moment Slack takes it."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def _chat_post_message(self, params: Json) -> Json:
        answer = super()._chat_post_message(params)
        self.journal.on_direct_message(str(params.get("channel")), answer["message"])
        return answer

    def pending_one_shots(self, method: str) -> int:
        """Canned one-shot answers (a 429 burst) not yet served."""
        return len(self._one_shot.get(method, ()))


class SoakDiscord(DiscordDouble):
    """The tests' Discord double; interaction responses and DM messages go to the journal, and
    daily sends Discord took are counted (a repeated nonce is folded into the first message)."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self.daily_sends: Counter[tuple[str, str]] = Counter()

    def _callback(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        body = call.body if isinstance(call.body, dict) else {}
        self.journal.on_first_response(args["token"])
        if int(body.get("type", 0)) == CALLBACK_CHANNEL_MESSAGE:
            self.journal.on_token(args["token"], body.get("data") or {})
        return super()._callback(call, args)

    def _follow_up(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        self.journal.on_token(args["token"], call.body if isinstance(call.body, dict) else {})
        return super()._follow_up(call, args)

    def _create_message(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        answer = super()._create_message(call, args)
        body = call.body if isinstance(call.body, dict) else {}
        nonce = str(body.get("nonce") or "")
        if nonce.startswith(DAILY_KEY):
            self.daily_sends[("discord", args["channel_id"])] += 1
        self.journal.on_direct_message(args["channel_id"], answer.body)
        return answer

    def pending_one_shots(self) -> int:
        """Canned one-shot answers (a 429 burst) not yet served."""
        return len(self._one_shot)

    def drop_one_shots(self) -> None:
        """Call a burst off."""
        self._one_shot.clear()


# -- the bot process ----------------------------------------------------------------------------


class BotProcess:
    """`python -m bot run`, started, killed and restarted under one instance id."""

    def __init__(self, environment: dict[str, str], log: Path, workdir: Path) -> None:
        self.environment = environment
        self.log = log
        self.workdir = workdir
        self.port = int(environment["PORT"])
        self.starts = 0
        self.lock = asyncio.Lock()
        """Held while the process is being killed, restarted or waited for."""
        self._process: asyncio.subprocess.Process | None = None
        self._meant_to_stop = False

    async def start(self) -> None:
        """Start it (output appended to the log)."""
        with self.log.open("ab") as output:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=self.environment,
                cwd=self.workdir,
                stdout=output,
                stderr=output,
            )
        self.starts += 1
        self._meant_to_stop = False

    def exited_by_itself(self) -> int | None:
        """The exit status of a process that ended without being killed or stopped."""
        if self._process is None or self._meant_to_stop:
            return None
        return self._process.returncode

    def last_words(self) -> str:
        """The last line the process logged (why it exited, when it did)."""
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return lines[-1][:160] if lines else ""

    async def kill(self) -> None:
        """SIGKILL, and reap it."""
        self._meant_to_stop = True
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()

    async def stop(self) -> None:
        """SIGTERM (then SIGKILL after 20 s), as an operator stops it."""
        self._meant_to_stop = True
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            async with asyncio.timeout(20):
                await self._process.wait()
        except TimeoutError:
            await self.kill()

    async def serving(self, discord: DiscordDouble, sessions_before: int) -> None:
        """Wait until the HTTP server accepts and a new gateway session is live."""
        async with asyncio.timeout(READY_TIMEOUT):
            while True:
                if self._process is not None and self._process.returncode is not None:
                    raise RuntimeError(f"the bot exited with {self._process.returncode}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break
            await discord.wait_for_gateway(sessions_before + 1, timeout=READY_TIMEOUT)


def bot_environment(
    slack: SlackDouble, discord: DiscordDouble, database_url: str, port: int
) -> dict[str, str]:
    """What an operator sets for `awsquiz run` with Slack (HTTP mode) and Discord."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "DISCORD_", "AWSQUIZ_", "DATABASE_"))
        and name.lower() not in {"http_proxy", "https_proxy", "all_proxy"}
    }
    return inherited | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack_double.BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DISCORD_TOKEN": discord_double.BOT_TOKEN,
        "DISCORD_API_URL": discord.rest_url,
        "DISCORD_GATEWAY_URL": str(discord.gateway_url),
        "DISCORD_GUILD_ID": str(GUILD_ID),
        "PORT": str(port),
        "AWSQUIZ_INSTANCE_ID": INSTANCE,
        "LOG_LEVEL": "INFO",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- members ------------------------------------------------------------------------------------


@dataclass
class Rig:
    """What the members and the faults act on."""

    clock: SoakClock
    journal: Journal
    slack: SoakSlack
    discord: SoakDiscord
    bot: BotProcess
    members: Members
    answers: Sequence[str]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    """Injected, and the bot's own exits."""

    @property
    def events_url(self) -> str:
        """Where Slack posts to the bot."""
        return f"http://127.0.0.1:{self.bot.port}/slack/events"

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background (Slack's retries, gateway replays)."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def relay_responses(self) -> None:
        """Hand each response_url post Slack receives to the journal, as it arrives."""
        read = 0
        while True:
            arrived = self.slack.responses[read:]
            read += len(arrived)
            for post in arrived:
                self.journal.on_token(post.token, post.body)
            await asyncio.sleep(RELAY_TICK)

    def answer_text(self, rng: random.Random) -> tuple[str, str]:
        """A plausible answer and its marker."""
        tag = self.journal.next_key("A")
        return f"{rng.choice(self.answers)} (soakref {tag})", tag


async def think(rng: random.Random) -> None:
    """A member's pause."""
    await asyncio.sleep(rng.uniform(*THINK_SECONDS))


async def slack_command(
    rig: Rig, member: str, intent: Intent, text: str, *, tag: str | None, route: Route
) -> Exchange:
    """One `/awsquiz ...`, answered privately through its own response_url."""
    token = rig.journal.next_key("R")
    exchange = rig.journal.open(
        route, member, intent, token, tag=tag, token=token, in_dm=route is Route.SLACK_DM
    )
    try:
        async with asyncio.timeout(DEADLINE * 3):
            delivery = await post_slash_command(
                rig.events_url,
                SIGNING_SECRET,
                user_id=member,
                channel_id=SLACK_LOBBY,
                text=text,
                response_url=rig.slack.response_url_for(token),
            )
        exchange.deliveries.append(f"{rig.clock.now():.2f} s HTTP {delivery.status}")
        exchange.ack_seconds = delivery.elapsed
        if delivery.status == 200:
            exchange.accepted_at = rig.clock.now()
        else:
            exchange.refused = f"HTTP {delivery.status}"
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        exchange.refused = type(error).__name__
        exchange.deliveries.append(f"{rig.clock.now():.2f} s {exchange.refused}")
    if exchange.refused is None:
        await rig.journal.settled(exchange, REPLY_TIMEOUT)
    else:
        exchange.closed_at = rig.clock.now()
    return exchange


async def slack_dm(rig: Rig, member: str, text: str, tag: str, rng: random.Random) -> Exchange:
    """One DM message, delivered as the Events API does: retried until acknowledged."""
    event_id = rig.journal.next_key("Ev")
    event = message_im_event(text=text, user_id=member)
    exchange = rig.journal.open(
        Route.SLACK_DM, member, Intent.ANSWER, event_id, tag=tag, in_dm=True
    )
    rig.later(_deliver_event(rig, exchange, event, rng))
    await rig.journal.settled(exchange, REPLY_TIMEOUT)
    return exchange


async def _deliver_event(rig: Rig, exchange: Exchange, event: Json, rng: random.Random) -> None:
    failures: list[str] = []
    for attempt, pause in enumerate((0.0, *SLACK_RETRY_DELAYS)):
        await asyncio.sleep(pause)
        reason = "http_timeout" if failures and failures[-1] == "timeout" else "http_error"
        if await _post_event_once(rig, exchange, event, attempt, reason, failures):
            break
    else:
        exchange.refused = ", ".join(failures)
        return
    if rng.random() < SPURIOUS_RETRY_SHARE:  # Slack never saw the ack: it sends it again
        await asyncio.sleep(rng.uniform(1.0, DEADLINE + 1.0))
        await _post_event_once(rig, exchange, event, len(exchange.deliveries), "http_timeout", [])


async def _post_event_once(
    rig: Rig,
    exchange: Exchange,
    event: Json,
    attempt: int,
    reason: str,
    failures: list[str],
) -> bool:
    """One delivery of the event; whether the bot acknowledged it in time."""
    sent = rig.clock.now()
    retry = f" (retry {attempt}, {reason})" if attempt else ""
    failure: str | None = None
    try:
        async with asyncio.timeout(DEADLINE):
            delivery = await post_event(
                rig.events_url,
                SIGNING_SECRET,
                event,
                event_id=exchange.key,
                retry_num=attempt or None,
                retry_reason=reason,
            )
    except TimeoutError:
        failure = "timeout"
    except (aiohttp.ClientError, OSError) as error:
        failure = type(error).__name__
    else:
        if exchange.ack_seconds is None:
            exchange.ack_seconds = delivery.elapsed
        if delivery.status != 200:
            failure = f"HTTP {delivery.status}"
    if failure is not None:
        failures.append(failure)
        exchange.deliveries.append(f"{sent:.2f} s event {failure}{retry}")
        return False
    exchange.deliveries.append(f"{sent:.2f} s event acked{retry}")
    if exchange.accepted_at is None:
        exchange.accepted_at = rig.clock.now()
    return True


async def discord_dispatch(rig: Rig, exchange: Exchange, event: str, payload: Json) -> None:
    """Send one gateway event; a bot with no live session refuses it (Discord fails it)."""
    sent = rig.clock.now()
    try:
        await rig.discord.dispatch(event, payload, timeout=GATEWAY_WAIT)
    except (TimeoutError, OSError, RuntimeError, aiohttp.ClientError) as error:
        exchange.refused = f"no gateway session ({type(error).__name__})"
        exchange.deliveries.append(f"{sent:.2f} s {exchange.refused}")
        exchange.closed_at = rig.clock.now()
        return
    exchange.accepted_at = rig.clock.now()
    exchange.deliveries.append(f"{sent:.2f} s dispatched")


async def discord_command(
    rig: Rig,
    member: int,
    intent: Intent,
    subcommand: str,
    options: Mapping[str, str | int],
    *,
    tag: str | None,
    route: Route,
) -> Exchange:
    """One `/awsquiz ...` interaction in the lobby channel."""
    payload = slash_command_interaction(
        subcommand=subcommand,
        options=dict(options),
        user_id=member,
        user_name=f"member{member % 1000}",
        channel_id=DISCORD_LOBBY,
    )
    token = str(payload["token"])
    exchange = rig.journal.open(
        route,
        str(member),
        intent,
        token,
        tag=tag,
        token=token,
        in_dm=route is Route.DISCORD_DM,
    )
    await discord_dispatch(rig, exchange, "INTERACTION_CREATE", payload)
    if exchange.refused is None:
        await rig.journal.settled(exchange, REPLY_TIMEOUT)
    return exchange


async def discord_dm(rig: Rig, member: int, text: str, tag: str, rng: random.Random) -> Exchange:
    """One DM message through the gateway; now and then dispatched twice (a replay)."""
    payload = dm_message_create(text, author_id=member, author_name=f"member{member % 1000}")
    exchange = rig.journal.open(
        Route.DISCORD_DM, str(member), Intent.ANSWER, str(payload["id"]), tag=tag, in_dm=True
    )
    await discord_dispatch(rig, exchange, "MESSAGE_CREATE", payload)
    if exchange.refused is not None:
        return exchange
    if rng.random() < REPLAY_SHARE:

        async def replay() -> None:
            await asyncio.sleep(rng.uniform(0.2, 2.0))
            with suppress(TimeoutError, OSError, RuntimeError, aiohttp.ClientError):
                sent = rig.clock.now()
                await rig.discord.dispatch("MESSAGE_CREATE", payload, timeout=GATEWAY_WAIT)
                exchange.deliveries.append(f"{sent:.2f} s replayed")

        rig.later(replay())
    await rig.journal.settled(exchange, REPLY_TIMEOUT)
    return exchange


async def slash_member(rig: Rig, platform: str, member: str, rng: random.Random) -> None:
    """A member in the lobby channel: ask, then answer, again and again."""
    route = Route.SLACK_SLASH if platform == "slack" else Route.DISCORD_SLASH
    while not rig.stopping.is_set():
        await think(rng)
        if platform == "slack":
            asked = await slack_command(rig, member, Intent.ASK, "ask", tag=None, route=route)
        else:
            asked = await discord_command(
                rig, int(member), Intent.ASK, "ask", {}, tag=None, route=route
            )
        if not asked.count(Said.QUESTION) or rig.stopping.is_set():
            continue
        await think(rng)
        text, tag = rig.answer_text(rng)
        if platform == "slack":
            await slack_command(rig, member, Intent.ANSWER, f"answer {text}", tag=tag, route=route)
        else:
            await discord_command(
                rig, int(member), Intent.ANSWER, "answer", {"text": text}, tag=tag, route=route
            )


async def dm_member(rig: Rig, platform: str, member: str, rng: random.Random) -> None:
    """A member in a mock interview in their DM; a new interview when one ends."""
    route = Route.SLACK_DM if platform == "slack" else Route.DISCORD_DM
    needs_interview = False
    while not rig.stopping.is_set():
        await think(rng)
        if needs_interview:
            count = INTERVIEW_QUESTIONS
            if platform == "slack":
                started = await slack_command(
                    rig, member, Intent.INTERVIEW, f"interview {count}", tag=None, route=route
                )
            else:
                started = await discord_command(
                    rig,
                    int(member),
                    Intent.INTERVIEW,
                    "interview",
                    {"questions": count},
                    tag=None,
                    route=route,
                )
            needs_interview = started.outcome is None or started.outcome.said is not Said.QUESTION
            continue
        text, tag = rig.answer_text(rng)
        if platform == "slack":
            answered = await slack_dm(rig, member, text, tag, rng)
        else:
            answered = await discord_dm(rig, int(member), text, tag, rng)
        last = answered.outcome
        needs_interview = last is not None and (
            last.said is Said.SUMMARY or NO_INTERVIEW in last.title
        )


# -- faults -------------------------------------------------------------------------------------


async def supervise(rig: Rig) -> None:
    """Restart the bot when it exits by itself, as a process manager would; each exit is a
    fault of its own (the ledger counts it as a problem when the bot was serving)."""
    while True:
        await asyncio.sleep(SUPERVISE_TICK)
        async with rig.bot.lock:
            code = rig.bot.exited_by_itself()
            if code is None:
                continue
            fault = Fault(FaultKind.EXIT, rig.clock.now(), detail=f"exit status {code}")
            fault.detail += f": {rig.bot.last_words()}"
            rig.faults.append(fault)
            print(f"  {fault.started:6.1f} s  {fault.kind}: {fault.detail}", flush=True)
            while True:
                sessions = rig.discord.identifies + rig.discord.resumes
                await rig.bot.start()
                try:
                    await rig.bot.serving(rig.discord, sessions)
                    break
                except RuntimeError:  # it could not start (the database still down): again
                    fault.restarts_refused += 1
                    await asyncio.sleep(RESTART_PAUSE)
            fault.ended = rig.clock.now()


async def run_faults(
    rig: Rig, proxy: TcpProxy | None, load_seconds: float, rng: random.Random
) -> None:
    """Inject faults one at a time until the cool-down, into `rig.faults`."""
    kinds = [FaultKind.KILL, FaultKind.SLACK_429, FaultKind.DISCORD_429]
    if proxy is not None:
        kinds.append(FaultKind.DATABASE)
    faults = rig.faults
    order: list[FaultKind] = []
    next_at = WARM_UP
    while True:
        await asyncio.sleep(max(0.0, next_at - rig.clock.now()))
        if rig.clock.now() > load_seconds - COOL_DOWN:
            return
        if not order:  # every kind once per round, in a seeded order
            order = rng.sample(kinds, len(kinds))
        fault = Fault(order.pop(), rig.clock.now())
        faults.append(fault)
        await inject(rig, proxy, fault, rng)
        print(
            f"  {fault.started:6.1f} s  {fault.kind}: {fault.detail} "
            f"(over after {(fault.ended or 0) - fault.started:.1f} s)",
            flush=True,
        )
        next_at = rig.clock.now() + rng.uniform(*FAULT_GAP)


async def inject(rig: Rig, proxy: TcpProxy | None, fault: Fault, rng: random.Random) -> None:
    """Cause the fault and wait until it is over."""
    if fault.kind is FaultKind.KILL:
        async with rig.bot.lock:
            sessions = rig.discord.identifies + rig.discord.resumes
            await rig.bot.kill()
            killed = rig.clock.now()
            await rig.bot.start()
            with suppress(RuntimeError):  # it exited while starting: the supervisor sees to it
                await rig.bot.serving(rig.discord, sessions)
        fault.detail = f"serving again {rig.clock.now() - killed:.1f} s after the kill"
    elif fault.kind is FaultKind.DATABASE:
        assert proxy is not None
        seconds = rng.uniform(*OUTAGE_SECONDS)
        await proxy.cut()
        await asyncio.sleep(seconds)
        await proxy.restore()
        fault.detail = f"cut for {seconds:.1f} s"
    elif fault.kind is FaultKind.SLACK_429:
        size = rng.randint(*STORM_SIZE)
        for _ in range(size):
            rig.slack.rate_limit_once("chat.postMessage", retry_after=1)
        drained = await _until(lambda: rig.slack.pending_one_shots("chat.postMessage") == 0)
        if not drained:
            rig.slack.restore("chat.postMessage")
        fault.detail = f"{size} x 429 on chat.postMessage (Retry-After 1 s)"
    else:
        size = rng.randint(*STORM_SIZE)
        wait = round(rng.uniform(0.3, 1.0), 2)
        for _ in range(size):
            rig.discord.rate_limit_once("POST", "/channels/{channel_id}/messages", wait)
        drained = await _until(lambda: rig.discord.pending_one_shots() == 0)
        if not drained:
            rig.discord.drop_one_shots()
        fault.detail = f"{size} x 429 on channel messages (retry after {wait} s)"
    fault.ended = rig.clock.now()


async def _until(condition: Callable[[], bool]) -> bool:
    """Poll until `condition` holds (True) or STORM_LIMIT passes (False)."""
    deadline = time.monotonic() + STORM_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# -- the daily question ------------------------------------------------------------------------

ANSWER_WINDOW: Final = timedelta(minutes=10)
"""The shortest answer window the daily question allows: reveals come 10 minutes after posts."""
STARTUP_ALLOWANCE: Final = timedelta(seconds=20)
"""From planning to the start of the load: the bot's first start."""
EDGE: Final = timedelta(seconds=20)
"""Posts and closes are planned this far inside the load, not on its edges."""


@dataclass(frozen=True, slots=True)
class Planned:
    """A channel's subscription: its post time today (UTC), and whether its answers close
    inside the run (posted at start-up, minutes after its time)."""

    room: ChannelRef
    due: datetime
    closes_in_run: bool


@dataclass(frozen=True, slots=True)
class DailyPlan:
    """Which channel posts when: half were due minutes ago (posted at start-up, their answers
    closing inside the load), half fall due inside the load."""

    subscriptions: tuple[Planned, ...]
    window: str = f"{ANSWER_WINDOW // timedelta(minutes=1)}m"

    def horizon(self, load_end: datetime) -> datetime:
        """When the last planned post is due or reveal closes: the load's end or a little
        later, for runs too short to hold a whole minute."""
        moments = [load_end]
        for planned in self.subscriptions:
            moments.append(planned.due + ANSWER_WINDOW if planned.closes_in_run else planned.due)
        return max(moments)

    def due_by(self, moment: datetime) -> list[DailyDue]:
        """The posts due by `moment`: each must be posted exactly once."""
        return [
            DailyDue(p.room.platform, p.room.channel, p.due)
            for p in self.subscriptions
            if p.due <= moment
        ]


def plan_daily(rooms: Sequence[ChannelRef], now: datetime, load_seconds: float) -> DailyPlan:
    """Post times for the rooms, from the load's expected start and length."""
    start = now + STARTUP_ALLOWANCE
    end = max(start + timedelta(seconds=load_seconds) - EDGE, start + EDGE + timedelta(minutes=1))
    closing = [
        minute
        for minute in _minutes(start + EDGE - ANSWER_WINDOW, end - ANSWER_WINDOW)
        # Due before now, on today's date: yesterday's time would be tomorrow's post.
        if minute < now - timedelta(seconds=30) and minute.date() == now.date()
    ]
    posting = _minutes(start + EDGE, end)
    planned = []
    for index, room in enumerate(rooms):
        in_run = bool(closing) and index % 2 == 0
        group = closing if in_run else posting
        planned.append(Planned(room, group[(index // 2) % len(group)], in_run))
    return DailyPlan(tuple(planned))


def _minutes(first: datetime, last: datetime) -> list[datetime]:
    """The whole minutes from `first` to `last`."""
    minute = first.replace(second=0, microsecond=0)
    if minute < first:
        minute += timedelta(minutes=1)
    found = []
    while minute <= last:
        found.append(minute)
        minute += timedelta(minutes=1)
    return found


async def wait_for_daily(url: str, plan: DailyPlan, horizon: datetime, limit: float) -> None:
    """Wait (at most `limit` s past the horizon) until every post due by the horizon is
    settled and every post closed by then is revealed: sweeps run once a minute."""
    due = plan.due_by(horizon)
    limit += max(0.0, (horizon - datetime.now(UTC)).total_seconds())
    engine = create_async_engine(parse_database_url(url))
    started = time.monotonic()
    try:
        while True:
            posts, reveals = daily_pending(await read_daily_rows(engine), due, horizon)
            waited = time.monotonic() - started
            if not posts + reveals or waited > limit:
                print(
                    f"  daily settled after {waited:.0f} s more: {posts} posts and "
                    f"{reveals} reveals still pending",
                    flush=True,
                )
                return
            await asyncio.sleep(2.0)
    finally:
        await engine.dispose()


# -- setting up ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Members:
    """Who takes part, by route."""

    slack_slash: tuple[str, ...]
    slack_dm: tuple[str, ...]
    discord_slash: tuple[int, ...]
    discord_dm: tuple[int, ...]


def members() -> Members:
    """Ten members per route, with ids the doubles' conventions make DM channels of."""
    count = range(MEMBERS_PER_ROUTE)
    return Members(
        slack_slash=tuple(f"U0SOAKS{n:02d}" for n in count),
        slack_dm=tuple(f"U0SOAKD{n:02d}" for n in count),
        discord_slash=tuple(discord_double.USER_ID + 1000 + n for n in count),
        discord_dm=tuple(discord_double.USER_ID + 2000 + n for n in count),
    )


def daily_rooms() -> list[ChannelRef]:
    """The channels subscribed to the daily question, both platforms."""
    slack = [ChannelRef("slack", TEAM_ID, f"C0SOAKD{n:02d}") for n in range(DAILY_CHANNELS)]
    discord = [
        ChannelRef("discord", str(GUILD_ID), str(DISCORD_DAILY_BASE + n))
        for n in range(DAILY_CHANNELS)
    ]
    return slack + discord


async def prepare(database_url: str, who: Members, plan: DailyPlan, rng: random.Random) -> Catalog:
    """Subscribe the daily channels and start every DM member's interview; return the catalog."""
    settings = load_settings({"DATABASE_URL": database_url})
    async with open_services(settings) as services:
        for due in plan.subscriptions:
            workspace = TEAM_ID if due.room.platform == "slack" else str(GUILD_ID)
            admin = UserRef(due.room.platform, workspace, "U0SOAKADMIN")
            await services.daily.subscribe(
                due.room,
                actor=admin,
                is_admin=True,
                post_time=f"{due.due:%H:%M}",
                timezone="UTC",
                answer_window=plan.window,
            )
        topics = [topic.id for topic in services.catalog.topics]
        interviewees = [UserRef("slack", TEAM_ID, m) for m in who.slack_dm] + [
            UserRef("discord", str(GUILD_ID), str(m)) for m in who.discord_dm
        ]
        for user in interviewees:
            await services.tutor.start_interview(user, [rng.choice(topics)], INTERVIEW_QUESTIONS)
        return services.catalog


def plausible_answers(catalog: Catalog, rng: random.Random, count: int = 200) -> list[str]:
    """Answers in candidates' words: most of a reference, cut to a chat message's length."""
    questions = list(catalog.questions)
    return [plausible_answer(rng.choice(questions).reference, rng)[:400] for _ in range(count)]


@asynccontextmanager
async def database(
    postgres_url: str | None, workdir: Path
) -> AsyncIterator[tuple[str, str, TcpProxy | None]]:
    """(the bot's URL, the soak's own URL, the proxy the bot goes through, if any)."""
    if postgres_url is None:
        url = f"sqlite+aiosqlite:///{workdir / 'soak.db'}"
        yield url, url, None
        return
    from daily_fanout import drop_database, scratch_database

    direct = await scratch_database(postgres_url)
    try:
        target = parse_database_url(direct)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        async with proxy.running():
            proxied = target.set(host="127.0.0.1", port=proxy.port)
            yield proxied.render_as_string(hide_password=False), direct, proxy
    finally:
        await drop_database(direct)


async def postgres_reachable(url: str) -> str | None:
    """None when the server answers; else why not, in a few words (never the password)."""
    engine = create_async_engine(parse_database_url(url))
    try:
        async with asyncio.timeout(5), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means: not reachable here
        return type(error).__name__
    finally:
        await engine.dispose()
    return None


# -- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """What a run set up: the rig, the proxy to cut (PostgreSQL), the daily plan, and the
    database URL the soak reads its ledger from (not through the proxy)."""

    rig: Rig
    proxy: TcpProxy | None
    plan: DailyPlan
    own_url: str


async def set_up(
    stack: AsyncExitStack, postgres_url: str | None, workdir: Path, rng: random.Random, load: float
) -> Setting:
    """The database, the doubles, the subscriptions and interviews, and the bot, serving."""
    bot_url, own_url, proxy = await stack.enter_async_context(database(postgres_url, workdir))
    clock = SoakClock()
    journal = Journal(clock)
    slack = await stack.enter_async_context(SoakSlack(journal))
    discord = SoakDiscord(journal)
    who = members()
    rooms = daily_rooms()
    daily = {int(r.channel): f"daily-{n}" for n, r in enumerate(rooms) if r.platform == "discord"}
    discord.add_guild(channels={DISCORD_LOBBY: "aws-study", **daily})
    await stack.enter_async_context(discord)
    for member in who.slack_dm:
        journal.own_dm(f"D{member[1:]}", member)
    for user in who.discord_dm:
        journal.own_dm(str(dm_channel_id(user)), str(user))
    plan = plan_daily(rooms, datetime.now(UTC), load)
    catalog = await prepare(own_url, who, plan, rng)
    environment = bot_environment(slack, discord, bot_url, free_port())
    bot = BotProcess(environment, workdir / "bot.log", workdir)
    await bot.start()
    stack.push_async_callback(bot.stop)
    await bot.serving(discord, 0)
    rig = Rig(clock, journal, slack, discord, bot, who, plausible_answers(catalog, rng))
    return Setting(rig, proxy, plan, own_url)


def crowd(rig: Rig, rng: random.Random) -> list[Coroutine[Any, Any, None]]:
    """Every member's loop, each with a random stream of its own."""
    who = rig.members
    return [
        *(slash_member(rig, "slack", m, random.Random(rng.random())) for m in who.slack_slash),
        *(dm_member(rig, "slack", m, random.Random(rng.random())) for m in who.slack_dm),
        *(
            slash_member(rig, "discord", str(m), random.Random(rng.random()))
            for m in who.discord_slash
        ),
        *(dm_member(rig, "discord", str(m), random.Random(rng.random())) for m in who.discord_dm),
    ]


async def run_load(setting: Setting, load: float, rng: random.Random) -> Observed:
    """The load and the faults, the drain, then everything the ledger reads."""
    rig = setting.rig
    rig.clock.restart()
    relay = asyncio.create_task(rig.relay_responses())
    supervisor = asyncio.create_task(supervise(rig))
    try:
        print("  load on; faults:", flush=True)
        running = [asyncio.create_task(member) for member in crowd(rig, rng)]
        await run_faults(rig, setting.proxy, load, random.Random(rng.random()))
        await asyncio.sleep(max(0.0, load - rig.clock.now()))
        rig.stopping.set()
        load_end = rig.clock.now()
        horizon = setting.plan.horizon(datetime.now(UTC))
        print(f"  load off at {load_end:.1f} s; draining", flush=True)
        await asyncio.gather(*running)
        await asyncio.gather(*rig.background, return_exceptions=True)
        await wait_for_daily(setting.own_url, setting.plan, horizon, DRAIN_LIMIT)
        await asyncio.sleep(SETTLE_SECONDS)
    finally:
        relay.cancel()
        supervisor.cancel()
        await asyncio.gather(relay, supervisor, return_exceptions=True)
    async with rig.bot.lock:
        await rig.bot.stop()
    return Observed(
        exchanges=rig.journal.exchanges,
        dm_streams=rig.journal.dm_streams,
        faults=rig.faults,
        stored=await read_records(setting.own_url),
        daily_due=setting.plan.due_by(horizon),
        posts_seen=posts_seen(rig.slack, rig.discord),
        post_sends=post_sends(rig.slack, rig.discord),
        reveals_seen=reveals_seen(rig.slack, rig.discord),
        reveals_due_by=horizon,
        load_seconds=load_end,
    )


async def soak(minutes: float, postgres_url: str | None, seed: int) -> int:
    """Run the soak and print its ledger; return the exit status."""
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="awsquiz-soak-"))
    backend = "PostgreSQL through a cuttable proxy" if postgres_url else "SQLite file"
    print(f"soak: {minutes:g} min, seed {seed}, {backend}, work dir {workdir}", flush=True)
    keep = True  # unless the ledger is clean: a failed run is worth a look
    try:
        async with AsyncExitStack() as stack:
            setting = await set_up(stack, postgres_url, workdir, rng, minutes * 60)
            observed = await run_load(setting, minutes * 60, rng)
        ledger = build_ledger(observed)
        print(f"bot starts: {setting.rig.bot.starts} (log: {setting.rig.bot.log})")
        for line in ledger.lines:
            print(line)
        for problem in ledger.problems:
            print(f"PROBLEM {problem}")
        if not ledger.problems:
            keep = False
            print("ledger: ok")
            return 0
        dump(workdir, setting.rig.journal, setting.rig.slack)
        kinds = Counter(ledger.categories).most_common()
        print(
            f"ledger: {len(ledger.problems)} problems ({'; '.join(f'{n} x {k}' for k, n in kinds)})"
        )
        return 1
    finally:
        if keep:
            print(f"kept for a look: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def dump(workdir: Path, journal: Journal, slack: SlackDouble) -> None:
    """Write every exchange, and the bot's messages in the Slack DMs, for a look afterwards."""
    with (workdir / "exchanges.jsonl").open("w") as out:
        for exchange in journal.exchanges:
            out.write(json.dumps(asdict(exchange)) + "\n")
    with (workdir / "slack_dms.jsonl").open("w") as out:
        for channel, messages in slack.posted.items():
            if channel.startswith("D"):
                for message in messages:
                    out.write(json.dumps({"channel": channel, **message}) + "\n")


def _metadata_key(message: Json) -> str:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    payload = metadata.get("event_payload")
    return str(payload.get("key", "")) if isinstance(payload, dict) else ""


def posts_seen(slack: SlackDouble, discord: DiscordDouble) -> Counter[tuple[str, str]]:
    """Daily question messages per channel, as the members of each channel see them."""
    seen: Counter[tuple[str, str]] = Counter()
    for channel, messages in slack.posted.items():
        for message in messages:
            if "thread_ts" not in message and _metadata_key(message).startswith(DAILY_KEY):
                seen[("slack", channel)] += 1
    for message in discord.messages.values():
        if str(message.get("nonce", "")).startswith(DAILY_KEY):
            seen[("discord", str(message["channel_id"]))] += 1
    return seen


def post_sends(slack: SlackDouble, discord: SoakDiscord) -> Counter[tuple[str, str]]:
    """Daily question sends each platform took (Discord folds a repeated nonce)."""
    sends = Counter(discord.daily_sends)
    for channel, messages in slack.posted.items():
        for message in messages:
            if "thread_ts" not in message and _metadata_key(message).startswith(DAILY_KEY):
                sends[("slack", channel)] += 1
    return sends


def reveals_seen(slack: SlackDouble, discord: DiscordDouble) -> Counter[int]:
    """Reveal messages per daily post id."""
    seen: Counter[int] = Counter()
    for messages in slack.posted.values():
        for message in messages:
            key = _metadata_key(message)
            if "thread_ts" in message and key.startswith(REVEAL_KEY):
                seen[int(key.removeprefix(REVEAL_KEY))] += 1
    for message in discord.messages.values():
        nonce = str(message.get("nonce", ""))
        if nonce.startswith(REVEAL_KEY):
            seen[int(nonce.removeprefix(REVEAL_KEY))] += 1
    return seen


def main() -> None:
    """Parse the arguments and run the soak."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the load")
    parser.add_argument("--postgres-url", help="PostgreSQL server to make a scratch database on")
    parser.add_argument("--seed", type=int, default=20250303, help="seed of the load and faults")
    args = parser.parse_args()
    if args.postgres_url:
        problem = asyncio.run(postgres_reachable(args.postgres_url))
        if problem is not None:
            where = parse_database_url(args.postgres_url)
            place = f"{where.host}:{where.port or 5432}"
            print(f"soak: PostgreSQL at {place} unreachable ({problem}); skipped")
            return
    sys.exit(asyncio.run(soak(args.minutes, args.postgres_url, args.seed)))


if __name__ == "__main__":
    main()
