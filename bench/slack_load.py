"""Slack HTTP mode under load: N users answer at once with signed `/awsquiz answer` commands.

awsquiz's real Bolt app (SQLite file, the engine, the real grader) and a bare Bolt app whose
`/awsquiz` listener only acks and responds a constant are served side by side on loopback,
both talking to the Slack double of the tests. Each round, every user gets an open question,
then all N users answer at the same moment. Prints answers/s (answers whose response_url post
arrived, over the wall time of the round) and ack latency p50/p99 (time to the HTTP 200) for
both apps, the throughput ratio, and how many attempts were lost or double-counted.

    python bench/slack_load.py [--users 100] [--rounds 3] [--profile awsquiz.prof]

A benchmark, not a test: it prints "ok"/"MISSED" against the targets and never fails on them.
The signed requests come from a separate process (Slack is another machine); the Slack double
that records API calls and response_url posts shares the apps' event loop, as the tests do, so
both apps pay for it alike.
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
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
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
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack.app import web_client
from bot.app import Services, open_services
from bot.engine.model import Source, UserRef
from bot.platforms import slack_app, slack_mode
from bot.settings import load_settings

# The Slack double is test infrastructure, not part of the bot: import it from tests/ so this
# benchmark talks to exactly the same loopback Slack (signing, response_url recording) as the
# tests do, instead of a second copy that could drift from it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from doubles.slack import (
    BOT_TOKEN,
    CHANNEL_ID,
    SIGNING_SECRET,
    TEAM_ID,
    SlackDouble,
    serve_bolt_http,
    signed_headers,
    slash_command,
)

DELIVERY_TIMEOUT: Final = 120.0
"""Seconds to wait for every response_url post of a round before calling the rest lost."""
FORM: Final = "application/x-www-form-urlencoded"
PLATFORM: Final = "slack"


@dataclass(frozen=True, slots=True)
class SignedCommand:
    """One `/awsquiz` POST, encoded and signed before the clock starts."""

    user_id: str
    token: str
    """The response_url token: which user and round a response_url post belongs to."""
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class RoundResult:
    """What one burst of N commands did to one app."""

    ack_seconds: list[float]
    wall_seconds: float
    delivered: int
    """Commands whose response_url post arrived within the round."""
    failed_statuses: int


@dataclass(slots=True)
class Tally:
    """Results of every round of one app, added up."""

    ack_seconds: list[float]
    wall_seconds: float = 0.0
    delivered: int = 0
    failed_statuses: int = 0

    def add(self, result: RoundResult) -> None:
        """Fold one round in."""
        self.ack_seconds.extend(result.ack_seconds)
        self.wall_seconds += result.wall_seconds
        self.delivered += result.delivered
        self.failed_statuses += result.failed_statuses

    @property
    def answers_per_second(self) -> float:
        """Completed answers (response_url post received) per second of wall time."""
        return self.delivered / self.wall_seconds if self.wall_seconds else 0.0

    def percentile(self, rank: int) -> float:
        """The `rank`-th percentile ack latency, in seconds."""
        return statistics.quantiles(self.ack_seconds, n=100, method="inclusive")[rank - 1]


# -- the two apps ----------------------------------------------------------------------------


def bare_app(double: SlackDouble) -> AsyncApp:
    """A Bolt app whose `/awsquiz` only acks and responds a constant: the floor to compare to.

    It uses the same web client as awsquiz (so the same one-off `auth.test`) and posts one
    response_url message per command, so both apps do the same HTTP work.
    """
    app = AsyncApp(client=web_client(BOT_TOKEN, double.api_url), signing_secret=SIGNING_SECRET)

    async def on_command(ack: Any, respond: Any) -> None:
        await ack()
        await respond(text=BARE_REPLY, response_type="ephemeral")

    app.command("/awsquiz")(on_command)
    return app


@asynccontextmanager
async def awsquiz_app(double: SlackDouble, database: Path) -> AsyncIterator[tuple[Services, str]]:
    """awsquiz's real Slack app in HTTP mode on a SQLite file, wired as tests/test_slack.py does."""
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": double.api_url,
        }
    )
    client = web_client(BOT_TOKEN, double.api_url)
    async with open_services(settings) as services:
        # Fixed question choice: the same questions, hence the same grading work, every run.
        services.quiz.rng.seed(SEED)
        app = slack_app(services, client, slack_mode(settings), settings)
        async with serve_bolt_http(app) as url:
            yield services, url


# -- users, questions and answers ------------------------------------------------------------


def bench_users(count: int) -> list[UserRef]:
    """`count` distinct members of the double's workspace."""
    return [UserRef(PLATFORM, TEAM_ID, f"U{index:06d}") for index in range(count)]


async def ask_everyone(services: Services, users: Sequence[UserRef]) -> dict[str, str]:
    """Give every user an open question (through the engine, not timed); return its reference."""
    references: dict[str, str] = {}
    for user in users:
        await services.quiz.ask(user, source=Source.SLASH, channel=CHANNEL_ID)
        opened = await services.store.open_question(user)
        if opened is None:
            raise RuntimeError(f"ask left {user.user} without an open question")
        references[user.user] = services.catalog.question(opened.question_id).reference
    return references


def signed_command(double: SlackDouble, user_id: str, text: str, token: str) -> SignedCommand:
    """Encode and sign a `/awsquiz` command as Slack would, with its own response_url."""
    fields = slash_command(
        user_id=user_id,
        user_name=f"member-{user_id.lower()}",
        text=text,
        response_url=double.response_url_for(token),
    )
    body = urlencode(fields)
    return SignedCommand(user_id, token, body.encode(), signed_headers(SIGNING_SECRET, body, FORM))


# -- firing a burst --------------------------------------------------------------------------


async def timed_post(session: aiohttp.ClientSession, url: str, command: SignedCommand) -> float:
    """POST one command; return seconds to the full HTTP answer (Bolt's ack), or -1 if not 200."""
    started = time.perf_counter()
    async with session.post(url, data=command.body, headers=command.headers) as response:
        await response.read()
        elapsed = time.perf_counter() - started
    return elapsed if response.status == 200 else -1.0


async def post_all(url: str, commands: list[SignedCommand]) -> list[float]:
    """POST every command at once on fresh connections, as N separate Slack deliveries are."""
    # No connection limit: N requests really are in flight at once.
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        return list(await asyncio.gather(*(timed_post(session, url, c) for c in commands)))


def fire_burst(url: str, commands: list[SignedCommand]) -> list[float]:
    """In the load-generator process: one burst, returning each request's ack time."""
    return asyncio.run(post_all(url, commands))


async def burst(
    generator: ProcessPoolExecutor, double: SlackDouble, url: str, commands: list[SignedCommand]
) -> RoundResult:
    """Fire every command at once; wait until each one's response_url post has arrived."""
    before = len(double.responses)
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    acks = await loop.run_in_executor(generator, fire_burst, url, commands)
    # A timeout is a finding, not a crash: it shows below as fewer deliveries and lost attempts.
    with contextlib.suppress(TimeoutError):
        await double.wait_for_responses(count=before + len(commands), timeout=DELIVERY_TIMEOUT)
    wall = time.perf_counter() - started
    tokens = {c.token for c in commands}
    delivered = sum(1 for post in double.responses[before:] if post.token in tokens)
    return RoundResult([a for a in acks if a >= 0], wall, delivered, sum(a < 0 for a in acks))


# -- the run ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """Both apps' tallies and the attempts check."""

    awsquiz: Tally
    bare: Tally
    lost: int = 0
    doubled: int = 0


@dataclass(frozen=True, slots=True)
class Rig:
    """Everything a round needs: Slack (double and load generator) and both apps."""

    double: SlackDouble
    generator: ProcessPoolExecutor
    services: Services
    awsquiz_url: str
    bare_url: str


async def warm_up(rig: Rig) -> None:
    """One untimed command per app: Bolt's first request runs auth.test and fills caches, and
    the load generator's process starts and imports.
    """
    for number, url in enumerate((rig.bare_url, rig.awsquiz_url)):
        command = signed_command(rig.double, "UWARMUP", "help", f"warm-{number}")
        await burst(rig.generator, rig.double, url, [command])


async def bare_round(rig: Rig, users: Sequence[UserRef], number: int) -> RoundResult:
    """Every user sends the bare app one command at once."""
    commands = [
        signed_command(rig.double, u.user, "answer ok", f"bare-{number}-{u.user}") for u in users
    ]
    return await burst(rig.generator, rig.double, rig.bare_url, commands)


async def awsquiz_round(
    rig: Rig,
    users: Sequence[UserRef],
    number: int,
    rng: random.Random,
    profiler: cProfile.Profile | None,
) -> tuple[RoundResult, int, int]:
    """Ask everyone (untimed), then every user answers at once; return lost and doubled too."""
    references = await ask_everyone(rig.services, users)
    commands = [
        signed_command(
            rig.double,
            u.user,
            f"answer {plausible_answer(references[u.user], rng)}",
            f"awsquiz-{number}-{u.user}",
        )
        for u in users
    ]
    before = await attempt_counts(rig.services, users)
    if profiler is not None:
        profiler.enable()
    result = await burst(rig.generator, rig.double, rig.awsquiz_url, commands)
    if profiler is not None:
        profiler.disable()
    lost, doubled = lost_and_doubled(before, await attempt_counts(rig.services, users))
    return result, lost, doubled


@asynccontextmanager
async def started_rig(folder: Path) -> AsyncIterator[Rig]:
    """Start the double, both apps and the load generator; stop them all on the way out."""
    async with AsyncExitStack() as stack:
        double = await stack.enter_async_context(SlackDouble())
        services, awsquiz_url = await stack.enter_async_context(
            awsquiz_app(double, folder / "load.db")
        )
        bare_url = await stack.enter_async_context(serve_bolt_http(bare_app(double)))
        # Slack is another machine: the requests come from another process, so the load
        # generator's own work does not queue on the apps' event loop and pad their latency.
        # spawn, not fork: forking a process that runs an event loop and threads is unsafe.
        generator = stack.enter_context(
            ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        )
        rig = Rig(double, generator, services, awsquiz_url, bare_url)
        await warm_up(rig)
        yield rig


async def run(users_count: int, rounds: int, profiler: cProfile.Profile | None) -> Outcome:
    """For each round: the bare app's burst, then awsquiz's, alternating so drift hits both."""
    rng = random.Random(SEED)
    users = bench_users(users_count)
    outcome = Outcome(Tally([]), Tally([]))
    with tempfile.TemporaryDirectory() as folder:
        async with started_rig(Path(folder)) as rig:
            # As `awsquiz run` does after start-up: what it built stays out of the collector's
            # way, so a full collection does not stall a burst.
            gc.collect()
            gc.freeze()
            for number in range(rounds):
                outcome.bare.add(await bare_round(rig, users, number))
                result, lost, doubled = await awsquiz_round(rig, users, number, rng, profiler)
                outcome.awsquiz.add(result)
                outcome.lost += lost
                outcome.doubled += doubled
    return outcome


# -- the report ------------------------------------------------------------------------------


def describe(label: str, tally: Tally) -> str:
    """One app's line: throughput and ack latency."""
    return (
        f"{label:<8} {tally.answers_per_second:8,.0f} answers/s   "
        f"ack p50 {tally.percentile(50) * 1000:6.1f} ms   "
        f"p99 {tally.percentile(99) * 1000:6.1f} ms   "
        f"({tally.delivered:,} answers in {tally.wall_seconds:.2f} s, "
        f"{tally.failed_statuses} non-200)"
    )


def report(users: int, rounds: int, outcome: Outcome) -> None:
    """Print the figures and the verdicts."""
    awsquiz, bare = outcome.awsquiz, outcome.bare
    ratio = awsquiz.answers_per_second / bare.answers_per_second
    p99 = awsquiz.percentile(99)
    print(f"users (concurrent requests) {users}, rounds {rounds}, SQLite, HTTP mode on loopback")
    print(describe("awsquiz", awsquiz))
    print(describe("bare", bare))
    print(
        f"throughput ratio awsquiz/bare {ratio:.2f}; "
        f"target >= {THROUGHPUT_RATIO_TARGET:.2f}: {verdict(ratio >= THROUGHPUT_RATIO_TARGET)}"
    )
    print(
        f"awsquiz ack p99 {p99 * 1000:.1f} ms; "
        f"target < {P99_TARGET_SECONDS * 1000:.0f} ms: {verdict(p99 < P99_TARGET_SECONDS)}"
    )
    clean = outcome.lost == 0 and outcome.doubled == 0 and awsquiz.failed_statuses == 0
    print(
        f"attempts: expected {users * rounds:,}, lost {outcome.lost}, "
        f"double-counted {outcome.doubled}; target 0 and 0: {verdict(clean)}"
    )


def main() -> None:
    """Parse the options, run the benchmark, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100, help="concurrent requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of awsquiz's bursts")
    args = parser.parse_args()
    # Bolt logs every request at INFO; the figures are the output.
    logging.basicConfig(level=logging.WARNING)
    profiler = cProfile.Profile() if args.profile else None
    outcome = asyncio.run(run(args.users, args.rounds, profiler))
    report(args.users, args.rounds, outcome)
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"profile of awsquiz's bursts written to {args.profile}")


if __name__ == "__main__":
    main()
