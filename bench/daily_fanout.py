"""Daily question fan-out: N subscribed channels posted through a recording adapter.

The adapter answers each post after a simulated platform latency and rate-limits 1 % of posts
with a retry-after. Prints the total time, posts/s and missing/duplicate counts, next to a
bare fan-out (the same adapter and concurrency, no database, no claims) timed in the same run.
Then, given a PostgreSQL URL, two worker processes run the same round on one database at
once: every channel must be posted exactly once between them.

    python bench/daily_fanout.py [--channels 5000] [--postgres-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.adapters.recording import RecordingAdapter
from bot.engine.daily.model import ChannelRef, Subscription
from bot.engine.daily.service import DailyConfig, DailyService, Outcome
from bot.engine.grading import Grader
from bot.engine.quiz import QuizService
from bot.engine.reply import Reply
from content.loader import load_catalog
from storage import open_store

LATENCY: Final = 0.05
RATE_LIMIT_EVERY: Final = 100
RETRY_AFTER: Final = 0.2
TARGET_SECONDS: Final = 30.0
WORKSPACES: Final = 50


class FrozenClock:
    """The moment of the round, shared by both workers."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        """Return the round's moment."""
        return self.moment


def channels(count: int) -> list[ChannelRef]:
    """Channels spread over a few workspaces, as on a real installation."""
    return [ChannelRef("bench", f"W{i % WORKSPACES}", f"C{i:05d}") for i in range(count)]


async def seed(url: str, count: int, moment: datetime) -> None:
    """Subscribe `count` channels, all due a minute before `moment`."""
    store = await open_store(url)
    post_time = (moment - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    try:
        for channel in channels(count):
            await store.save_subscription(
                Subscription(channel, post_time, "UTC", updated_at=moment)
            )
    finally:
        await store.close()


async def round_once(url: str, moment: datetime) -> dict[str, object]:
    """One posting round in this process: what it posted and how long it took."""
    store = await open_store(url, migrate=False)
    adapter = RecordingAdapter(
        platform="bench",
        latency=LATENCY,
        rate_limit_every=RATE_LIMIT_EVERY,
        retry_after=RETRY_AFTER,
    )
    quiz = QuizService(load_catalog(), Grader(), store, FrozenClock(moment), random.Random(1))
    daily = DailyService(quiz, store, {"bench": adapter}, DailyConfig())
    try:
        started = time.perf_counter()
        report = await daily.post_due()
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    return {
        "seconds": seconds,
        "posted": [str(p.channel) for p in adapter.posts],
        "rate_limited": adapter.rate_limited,
        "failed": report.count(Outcome.FAILED),
        "concurrency": daily.config.concurrency,
    }


async def bare_fanout(count: int, concurrency: int) -> float:
    """The same adapter, latency and concurrency with no database: the floor to compare to."""
    adapter = RecordingAdapter(
        platform="bench",
        latency=LATENCY,
        rate_limit_every=RATE_LIMIT_EVERY,
        retry_after=RETRY_AFTER,
    )
    limit = asyncio.Semaphore(concurrency)
    reply = Reply(title="bare")

    async def post(channel: ChannelRef) -> None:
        async with limit:
            try:
                await adapter.post(channel, reply)
            except Exception:
                await asyncio.sleep(RETRY_AFTER)
                await adapter.post(channel, reply)

    started = time.perf_counter()
    await asyncio.gather(*(post(c) for c in channels(count)))
    return time.perf_counter() - started


async def posted_rows(url: str) -> int:
    """How many daily posts the database holds as posted."""
    store = await open_store(url, migrate=False)
    try:
        async with store.engine.connect() as connection:
            result = await connection.execute(
                text("SELECT count(*) FROM daily_posts WHERE state = 'posted'")
            )
            return int(result.scalar_one())
    finally:
        await store.close()


def report(label: str, count: int, posted: list[str], seconds: float, bare: float) -> None:
    """Print one run's figures."""
    tally = Counter(posted)
    missing = count - len(tally)
    duplicates = sum(n - 1 for n in tally.values() if n > 1)
    verdict = "ok" if seconds <= TARGET_SECONDS and not missing and not duplicates else "MISSED"
    print(
        f"{label}: {len(posted):,} posts in {seconds:.2f} s "
        f"({len(posted) / seconds:,.0f} posts/s); "
        f"missing {missing}, duplicates {duplicates}; bare fan-out {bare:.2f} s, "
        f"ratio {seconds / bare:.2f}; target <= {TARGET_SECONDS:.0f} s: {verdict}"
    )


async def single_process(count: int, moment: datetime) -> None:
    """The whole round in one process on a SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'fanout.db'}"
        await seed(url, count, moment)
        result = await round_once(url, moment)
        posted = result["posted"]
        assert isinstance(posted, list)
        concurrency = int(str(result["concurrency"]))
        bare = await bare_fanout(count, concurrency)
        print(
            f"channels {count:,}, latency {LATENCY * 1000:.0f} ms, 1 in {RATE_LIMIT_EVERY} "
            f"rate-limited (retry-after {RETRY_AFTER} s), concurrency {concurrency}"
        )
        report("SQLite, 1 process", count, posted, float(str(result["seconds"])), bare)
        print(f"  rate-limited and retried: {result['rate_limited']}; failed: {result['failed']}")
        print(f"  rows in state posted: {await posted_rows(url):,}")


async def scratch_database(server_url: str) -> str:
    """Create an empty PostgreSQL database for the run and return its URL."""
    server = make_url(server_url).set(drivername="postgresql+asyncpg")
    name = f"awsquiz_bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop the run's database."""
    target = make_url(url)
    engine = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    await engine.dispose()


async def two_processes(count: int, moment: datetime, server_url: str) -> None:
    """Two worker processes race the same round on one PostgreSQL database."""
    url = await scratch_database(server_url)
    try:
        await seed(url, count, moment)
        command = [__file__, "--worker", url, moment.isoformat()]
        started = time.perf_counter()
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, *command, stdout=asyncio.subprocess.PIPE
            )
            for _ in range(2)
        ]
        streams = await asyncio.gather(*(worker.communicate() for worker in workers))
        outputs = [json.loads(stdout) for stdout, _ in streams]
        wall = time.perf_counter() - started
        posted = [channel for output in outputs for channel in output["posted"]]
        bare = await bare_fanout(count, int(outputs[0]["concurrency"]))
        report("PostgreSQL, 2 processes", count, posted, wall, bare)
        shares = ", ".join(f"{len(o['posted']):,} in {o['seconds']:.2f} s" for o in outputs)
        print(f"  per process: {shares} (wall time includes process start-up)")
        print(f"  rows in state posted: {await posted_rows(url):,}")
    finally:
        await drop_database(url)


def main() -> None:
    """Run the benchmark, or one worker of the two-process run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=5000)
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--worker", nargs=2, metavar=("URL", "MOMENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, moment = args.worker
        result = asyncio.run(round_once(url, datetime.fromisoformat(moment)))
        print(json.dumps(result))
        return
    moment = datetime.now(UTC)
    asyncio.run(single_process(args.channels, moment))
    if args.postgres_url:
        asyncio.run(two_processes(args.channels, moment, args.postgres_url))
    else:
        print("PostgreSQL, 2 processes: skipped (give --postgres-url or set TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
