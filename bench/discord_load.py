"""Discord under load: N users send `/awsquiz answer` at once through the gateway.

awsquiz's real Discord client (discord.py, a SQLite file, the engine, the real grader) and a
bare discord.py client whose `/awsquiz answer` only responds a constant take turns against the
Discord double of the tests. Each round, every user gets an open question, then the double
dispatches N `INTERACTION_CREATE`s on the gateway as fast as it can. Per interaction it times
the callback (the response due within Discord's 3-second deadline: awsquiz's grade itself
when grading takes under a second, else its defer; the bare client's constant message) and,
for awsquiz, the time to the grade (the callback, or the follow-up after a defer). Prints
interactions/s, callback and graded p50/p99, the throughput ratio, the gateway's own dispatch
rate, and how many attempts were lost or double-counted.

    python bench/discord_load.py [--users 100] [--rounds 3] [--profile awsquiz.prof]

A benchmark, not a test: it prints "ok"/"MISSED" against the targets and never fails on them.
Discord is another machine: the double (gateway and REST) runs in its own process, so sending
the load and recording the responses do not queue on the clients' event loop, and every time
is taken there, on one clock, from the dispatch to the arrival of the matching POST.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import logging
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

import discord
from discord import app_commands
from loadcheck import (
    BARE_REPLY,
    P99_TARGET_SECONDS,
    SEED,
    THROUGHPUT_RATIO_TARGET,
    attempt_counts,
    lost_and_doubled,
    plausible_answer,
    verdict,
)

from bot.adapters.discord.client import AwsquizClient, point_at
from bot.adapters.discord.handlers import DiscordHandlers
from bot.app import Services, open_services
from bot.engine.model import Source, UserRef
from bot.settings import Settings, load_settings

# The Discord double is test infrastructure, not part of the bot: import it from tests/ so this
# benchmark drives exactly the same loopback Discord (gateway frames, interaction payloads,
# callback and webhook routes) as the tests do, instead of a second copy that could drift.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from doubles.discord import (
    BOT_TOKEN,
    CALLBACK_CHANNEL_MESSAGE,
    CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    CannedResponse,
    DiscordDouble,
    JsonObject,
    RestCall,
    slash_command_interaction,
)

DELIVERY_TIMEOUT: Final = 120.0
"""Seconds to wait for every callback and follow-up of a burst before calling the rest lost."""
CONNECT_TIMEOUT: Final = 10.0
PLATFORM: Final = "discord"
GRADED_MARK: Final = "Score"
"""In the title of a grade's embed (and not of an error's): the follow-up really graded."""
WARM_UP_USER: Final = USER_ID - 1


# -- the Discord side (its own process) ------------------------------------------------------


class TimedDouble(DiscordDouble):
    """The tests' double, stamping when each interaction's callback and follow-up arrive.

    The stamp is taken in the route handlers, right after the request body is read, so it is
    the moment Discord would have the response; waiting on the double's own `wait_for` would
    rescan every recorded call on each arrival, work that would pad the figures it measures.
    """

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, dict[str, list[float]]] = {"callback": {}, "graded": {}}
        """Kind -> interaction token -> arrival times (more than one is a double response)."""
        self.titles: dict[str, str] = {}
        """Interaction token -> title of the first follow-up's first embed."""
        self._tokens: set[str] = set()
        self._expected: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._complete = asyncio.Event()

    def expect(self, tokens: Collection[str], follow_ups: bool) -> None:
        """Reset the wait: `complete` returns once each token has its callback (and follow-up).

        Only first arrivals of this burst's tokens count, so a late or repeated response to an
        earlier interaction cannot end the wait early.
        """
        self._tokens = set(tokens)
        self._expected = {"callback": len(self._tokens)}
        if follow_ups:
            self._expected["graded"] = len(self._tokens)
        self._seen = {"callback": 0, "graded": 0}
        self._complete.clear()
        self._check_complete()

    async def complete(self) -> None:
        """Wait for what `expect` asked for."""
        await self._complete.wait()

    def _stamp(self, kind: str, token: str) -> None:
        times = self.arrivals[kind].setdefault(token, [])
        times.append(time.perf_counter())
        if token in self._tokens and len(times) == 1:
            self._seen[kind] += 1
            self._check_complete()

    def _check_complete(self) -> None:
        if all(self._seen[kind] >= count for kind, count in self._expected.items()):
            self._complete.set()

    def _callback(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        self._stamp("callback", args["token"])
        body = call.body if isinstance(call.body, dict) else {}
        if "graded" in self._expected and body.get("type") == CALLBACK_CHANNEL_MESSAGE:
            # awsquiz answered at once: the interaction response itself carries the grade.
            self._graded(args["token"], body.get("data") or {})
        return super()._callback(call, args)

    def _follow_up(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        self._graded(args["token"], call.body if isinstance(call.body, dict) else {})
        return super()._follow_up(call, args)

    def _graded(self, token: str, message: Mapping[str, object]) -> None:
        self._stamp("graded", token)
        embeds = message.get("embeds")
        first = embeds[0] if isinstance(embeds, list) and embeds else {}
        self.titles.setdefault(
            token, str(first.get("title", "")) if isinstance(first, dict) else ""
        )


@dataclass(frozen=True, slots=True)
class BurstTimes:
    """What the Discord side saw of one burst: seconds from each dispatch to each arrival."""

    dispatch_seconds: float
    """From the first frame sent to the last: the gateway's own share of the burst."""
    wall_seconds: float
    """From the first frame sent to the last expected arrival (or the timeout)."""
    callback: dict[str, float]
    """Token -> first callback's latency."""
    graded: dict[str, float]
    """Token -> first follow-up's latency."""
    titles: dict[str, str]
    extra_responses: int
    """Callbacks or follow-ups beyond the first for one interaction: answered twice."""


async def fire(double: TimedDouble, payloads: Sequence[JsonObject], follow_ups: bool) -> BurstTimes:
    """Dispatch every interaction back to back on the one gateway socket; wait for the answers."""
    tokens = [str(payload["token"]) for payload in payloads]
    double.expect(tokens, follow_ups)
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for token, payload in zip(tokens, payloads, strict=True):
        sent[token] = time.perf_counter()
        await double.dispatch("INTERACTION_CREATE", payload)
    dispatched = time.perf_counter()
    # A timeout is a finding, not a crash: it shows as missing callbacks and lost attempts.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            await double.complete()
    wall = time.perf_counter() - started

    def latencies(kind: str) -> dict[str, float]:
        seen = double.arrivals[kind]
        return {t: seen[t][0] - sent[t] for t in tokens if t in seen}

    extra = sum(
        max(0, len(double.arrivals[kind].get(token, [])) - 1)
        for kind in double.arrivals
        for token in tokens
    )
    return BurstTimes(
        dispatched - started,
        wall,
        latencies("callback"),
        latencies("graded"),
        {t: double.titles[t] for t in tokens if t in double.titles},
        extra,
    )


async def serve_discord(control: Connection) -> None:
    """Run the double; answer the bot process's requests on `control` until told to stop."""
    loop = asyncio.get_running_loop()
    async with TimedDouble() as double:
        double.add_guild()
        control.send((double.rest_url, str(double.gateway_url)))
        while True:
            # recv blocks: off the loop, so the gateway keeps answering heartbeats meanwhile.
            request = await loop.run_in_executor(None, control.recv)
            if request is None:
                break
            payloads, follow_ups = request
            control.send(await fire(double, payloads, follow_ups))


def quiet_voice_warnings() -> None:
    """No voice here: skip discord.py's warnings that voice libraries are missing."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def discord_process(control: Connection) -> None:
    """Entry point of the Discord process."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve_discord(control))


class DiscordSide:
    """The bot process's handle on the Discord process."""

    def __init__(self) -> None:
        # spawn, not fork: forking a process that runs an event loop and threads is unsafe.
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self._process = context.Process(target=discord_process, args=(child,), daemon=True)
        self.rest_url = ""
        self.gateway_url = ""

    async def start(self) -> None:
        """Start the process and learn the double's addresses."""
        self._process.start()
        self.rest_url, self.gateway_url = await self._receive()

    async def burst(self, payloads: Sequence[JsonObject], follow_ups: bool) -> BurstTimes:
        """Have Discord dispatch `payloads`; wait for their callbacks (and follow-ups)."""
        self._control.send((list(payloads), follow_ups))
        times = await self._receive()
        assert isinstance(times, BurstTimes)
        return times

    async def stop(self) -> None:
        """Ask the process to close the double, then reap it."""
        self._control.send(None)
        await asyncio.get_running_loop().run_in_executor(None, self._process.join, 10.0)

    async def _receive(self) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self._control.recv)


# -- the bot process's event loop -------------------------------------------------------------

LAG_TICK: Final = 0.002
"""Seconds between the stall monitor's wake-ups: fine enough to see a 5 ms stall, cheap."""


@asynccontextmanager
async def stall_monitor() -> AsyncIterator[list[float]]:
    """Yield a list that receives the longest event-loop stall seen meanwhile, in seconds.

    Everything a client does runs on one loop; a synchronous stretch (grading a batch, say)
    delays every callback queued behind it, which is where a p99 goes. Runs for both clients.
    """
    longest = [0.0]

    async def watch() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            longest[0] = max(longest[0], time.perf_counter() - before - LAG_TICK)

    watcher = asyncio.create_task(watch(), name="bench-stall-monitor")
    try:
        yield longest
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


# -- the two clients -------------------------------------------------------------------------


def bare_client() -> discord.Client:
    """A discord.py client whose `/awsquiz answer` only responds a constant: the floor.

    Same intents, the same `/awsquiz` group and option shape as awsquiz's, so discord.py does
    the same parsing and command lookup; it answers in the callback itself, privately.
    """
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0)
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    group = app_commands.Group(name="awsquiz", description="AWS and DevOps interview practice")

    @group.command(name="answer", description="Answer your open question")
    async def answer(interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.send_message(BARE_REPLY, ephemeral=True)

    tree.add_command(group)
    return client


def awsquiz_client(services: Services) -> AwsquizClient:
    """awsquiz's client wired as tests/test_discord.py does (no 2 s wait for late guilds)."""
    client = AwsquizClient(None, guild_ready_timeout=0)
    client.handlers = DiscordHandlers(services.tutor, client)
    return client


@asynccontextmanager
async def connected(client: discord.Client) -> AsyncIterator[None]:
    """Log in and connect to the double; yield once READY with the guild cached; then close.

    The double serves one live gateway session (the latest IDENTIFY), so the two clients are
    connected in turn, never together.
    """
    await client.login(BOT_TOKEN)
    connection = asyncio.create_task(client.connect(), name="bench-discord-connect")
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait({ready, connection}, return_when=asyncio.FIRST_COMPLETED)
            if connection in done:
                ready.cancel()
                raise RuntimeError(f"discord.py stopped before READY: {connection.exception()}")
            # With guild_ready_timeout=0, on_ready may come before GUILD_CREATE is read.
            while (guild := client.get_guild(GUILD_ID)) is None or guild.unavailable:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        yield
    finally:
        await client.close()
        await asyncio.gather(connection, return_exceptions=True)


# -- users, questions and answers ------------------------------------------------------------


def bench_users(count: int) -> list[UserRef]:
    """`count` distinct members of the double's guild, as the adapter scopes them."""
    return [UserRef(PLATFORM, str(GUILD_ID), str(USER_ID + index)) for index in range(count)]


async def ask_everyone(services: Services, users: Sequence[UserRef]) -> dict[str, str]:
    """Give every user an open question (through the engine, not timed); return its reference."""
    references: dict[str, str] = {}
    for user in users:
        await services.quiz.ask(user, source=Source.SLASH, channel=str(CHANNEL_ID))
        opened = await services.store.open_question(user)
        if opened is None:
            raise RuntimeError(f"ask left {user.user} without an open question")
        references[user.user] = services.catalog.question(opened.question_id).reference
    return references


def answer_interaction(user_id: str, text: str) -> JsonObject:
    """`/awsquiz answer text:...` from `user_id` in the guild channel, built before the clock."""
    return slash_command_interaction(
        subcommand="answer",
        options={"text": text},
        user_id=int(user_id),
        user_name=f"member{user_id[-6:]}",
    )


# -- tallies ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Every round of one client, added up."""

    callback_seconds: list[float] = field(default_factory=list)
    graded_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    dispatch_seconds: float = 0.0
    sent: int = 0
    completed: int = 0
    """Interactions answered in full: the bare client's message, awsquiz's grade."""
    extra_responses: int = 0
    longest_stall: float = 0.0
    """The bot process's longest event-loop stall during any burst, in seconds."""

    def add(self, times: BurstTimes, sent: int, completed: int, stall: float) -> None:
        """Fold one burst in."""
        self.longest_stall = max(self.longest_stall, stall)
        self.callback_seconds.extend(times.callback.values())
        self.graded_seconds.extend(times.graded.values())
        self.wall_seconds += times.wall_seconds
        self.dispatch_seconds += times.dispatch_seconds
        self.sent += sent
        self.completed += completed
        self.extra_responses += times.extra_responses

    @property
    def per_second(self) -> float:
        """Completed interactions per second of wall time."""
        return self.completed / self.wall_seconds if self.wall_seconds else 0.0


def percentile(samples: Sequence[float], rank: int) -> float:
    """The `rank`-th percentile, in seconds (NaN with fewer than two samples)."""
    if len(samples) < 2:
        return float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[rank - 1]


# -- the run ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """Both clients' tallies and the attempts check."""

    awsquiz: Tally = field(default_factory=Tally)
    bare: Tally = field(default_factory=Tally)
    lost: int = 0
    doubled: int = 0


@dataclass(frozen=True, slots=True)
class Rig:
    """Discord (the double in its own process) and awsquiz's engine on a SQLite file."""

    discord: DiscordSide
    services: Services


def settings_for(discord_side: DiscordSide, database: Path) -> Settings:
    """awsquiz's settings, pointing discord.py at the double the product way."""
    return load_settings(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "DISCORD_TOKEN": BOT_TOKEN,
            "DISCORD_API_URL": discord_side.rest_url,
            "DISCORD_GATEWAY_URL": discord_side.gateway_url,
        }
    )


async def warm_up(rig: Rig, follow_ups: bool) -> None:
    """One untimed interaction per connection: discord.py opens its first REST connections."""
    await rig.discord.burst([answer_interaction(str(WARM_UP_USER), "warm up")], follow_ups)


async def bare_round(rig: Rig, users: Sequence[UserRef]) -> tuple[BurstTimes, int, float]:
    """Every user sends the bare client `/awsquiz answer` at once; return replies and stall."""
    payloads = [answer_interaction(user.user, "ok") for user in users]
    async with connected(bare_client()):
        await warm_up(rig, follow_ups=False)
        async with stall_monitor() as stall:
            times = await rig.discord.burst(payloads, follow_ups=False)
    return times, len(times.callback), stall[0]


async def awsquiz_round(
    rig: Rig, users: Sequence[UserRef], rng: random.Random, profiler: cProfile.Profile | None
) -> tuple[BurstTimes, int, int, int, float]:
    """Ask everyone (untimed), then all answer at once; return graded, lost, doubled, stall."""
    references = await ask_everyone(rig.services, users)
    payloads = [
        answer_interaction(u.user, plausible_answer(references[u.user], rng)) for u in users
    ]
    before = await attempt_counts(rig.services, users)
    async with connected(awsquiz_client(rig.services)):
        await warm_up(rig, follow_ups=True)
        if profiler is not None:
            profiler.enable()
        async with stall_monitor() as stall:
            times = await rig.discord.burst(payloads, follow_ups=True)
        if profiler is not None:
            profiler.disable()
    graded = sum(1 for title in times.titles.values() if GRADED_MARK in title)
    lost, doubled = lost_and_doubled(before, await attempt_counts(rig.services, users))
    return times, graded, lost, doubled, stall[0]


@asynccontextmanager
async def started_rig(folder: Path) -> AsyncIterator[Rig]:
    """Start the Discord process and awsquiz's engine; stop both on the way out."""
    async with AsyncExitStack() as stack:
        discord_side = DiscordSide()
        await discord_side.start()
        stack.push_async_callback(discord_side.stop)
        settings = settings_for(discord_side, folder / "load.db")
        # Class attributes read by every discord.py client in this process, bare one included.
        point_at(settings.discord_api_url, settings.discord_gateway_url)
        services = await stack.enter_async_context(open_services(settings))
        # Fixed question choice: the same questions, hence the same grading work, every run.
        services.quiz.rng.seed(SEED)
        yield Rig(discord_side, services)


async def run(users_count: int, rounds: int, profiler: cProfile.Profile | None) -> Outcome:
    """For each round: the bare client's burst, then awsquiz's, alternating so drift hits both."""
    rng = random.Random(SEED)
    users = bench_users(users_count)
    outcome = Outcome()
    with tempfile.TemporaryDirectory() as folder:
        async with started_rig(Path(folder)) as rig:
            # As `awsquiz run` does after start-up: what it built stays out of the collector's
            # way, so a full collection does not stall a burst.
            gc.collect()
            gc.freeze()
            for _ in range(rounds):
                times, replied, stall = await bare_round(rig, users)
                outcome.bare.add(times, len(users), replied, stall)
                times, graded, lost, doubled, stall = await awsquiz_round(rig, users, rng, profiler)
                outcome.awsquiz.add(times, len(users), graded, stall)
                outcome.lost += lost
                outcome.doubled += doubled
    return outcome


# -- the report ------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for the report."""
    return f"{seconds * 1000:6.1f} ms"


def describe(label: str, tally: Tally) -> list[str]:
    """One client's lines: throughput, callback latency and (awsquiz) graded latency."""
    lines = [
        f"{label:<8} {tally.per_second:8,.0f} interactions/s   "
        f"callback p50 {ms(percentile(tally.callback_seconds, 50))}   "
        f"p99 {ms(percentile(tally.callback_seconds, 99))}   "
        f"({tally.completed:,} of {tally.sent:,} completed in {tally.wall_seconds:.2f} s, "
        f"longest loop stall {tally.longest_stall * 1000:.1f} ms)"
    ]
    if tally.graded_seconds:
        lines.append(
            f"{'':<8} {'':>8}                  "
            f"graded   p50 {ms(percentile(tally.graded_seconds, 50))}   "
            f"p99 {ms(percentile(tally.graded_seconds, 99))}"
        )
    return lines


def gateway_line(awsquiz: Tally, bare: Tally) -> str:
    """The gateway's own rate, and whether it, rather than the clients, limits the bare figure.

    Every interaction reaches a client over one websocket, so no client can complete more per
    second than the double dispatches; well above the bare client's rate, it is not the limit.
    """
    sent = awsquiz.sent + bare.sent
    seconds = awsquiz.dispatch_seconds + bare.dispatch_seconds
    rate = sent / seconds if seconds else 0.0
    limit = "IS" if rate < 2 * bare.per_second else "is not"
    return (
        f"gateway  {rate:8,.0f} frames/s dispatched on one websocket ({sent:,} "
        f"INTERACTION_CREATEs, {seconds * 1000:.1f} ms in all): it {limit} the bottleneck"
    )


def report(users: int, rounds: int, outcome: Outcome) -> None:
    """Print the figures and the verdicts."""
    awsquiz, bare = outcome.awsquiz, outcome.bare
    ratio = awsquiz.per_second / bare.per_second if bare.per_second else 0.0
    p99 = percentile(awsquiz.callback_seconds, 99)
    print(f"users (concurrent interactions) {users}, rounds {rounds}, SQLite, one gateway socket")
    for line in [*describe("awsquiz", awsquiz), *describe("bare", bare)]:
        print(line)
    print(gateway_line(awsquiz, bare))
    print(
        f"throughput ratio awsquiz/bare {ratio:.2f}; "
        f"target >= {THROUGHPUT_RATIO_TARGET:.2f}: {verdict(ratio >= THROUGHPUT_RATIO_TARGET)}"
    )
    print(
        f"awsquiz callback p99 {p99 * 1000:.1f} ms; "
        f"target < {P99_TARGET_SECONDS * 1000:.0f} ms: {verdict(p99 < P99_TARGET_SECONDS)}"
    )
    clean = (
        outcome.lost == 0
        and outcome.doubled == 0
        and awsquiz.extra_responses == 0
        and awsquiz.completed == awsquiz.sent
    )
    print(
        f"attempts: expected {users * rounds:,}, lost {outcome.lost}, "
        f"double-counted {outcome.doubled}, ungraded replies {awsquiz.sent - awsquiz.completed}, "
        f"answered twice {awsquiz.extra_responses}; target 0: {verdict(clean)}"
    )


def main() -> None:
    """Parse the options, run the benchmark, print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=100, help="concurrent interactions")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of awsquiz's bursts")
    args = parser.parse_args()
    # discord.py logs connects and syncs at INFO; the figures are the output.
    logging.basicConfig(level=logging.WARNING)
    quiet_voice_warnings()
    profiler = cProfile.Profile() if args.profile else None
    outcome = asyncio.run(run(args.users, args.rounds, profiler))
    report(args.users, args.rounds, outcome)
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"profile of awsquiz's bursts written to {args.profile}")


if __name__ == "__main__":
    main()
