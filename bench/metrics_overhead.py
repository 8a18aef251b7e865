"""What counting costs: the metrics `awsquiz run` keeps, against the same work without them.

Two figures, each the best of five passes, in one process:

- statements: `SELECT 1` and an `INSERT` on a SQLite file through SQLAlchemy's async engine,
  on an engine with `bot.metrics.time_statements` and on one without (same file, same
  driver, passes taken in turns): statements/s and the ratio timed / plain;
- counters: `bot.metrics.answer_graded` (a labelled Prometheus counter increment) against an
  empty function call: nanoseconds per call.

    python bench/metrics_overhead.py [--statements 3000] [--counts 200000]

A benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot import metrics

PASSES: Final = 5


async def statements_per_second(engine: AsyncEngine, count: int) -> float:
    """`count` statements, half reads and half writes, one at a time, in one transaction."""
    async with engine.begin() as connection:
        started = time.perf_counter()
        for number in range(count // 2):
            await connection.execute(text("SELECT 1"))
            await connection.execute(text("INSERT INTO marks (n) VALUES (:n)"), {"n": number})
        elapsed = time.perf_counter() - started
    return count / elapsed


def nanoseconds_per_call(call: Callable[[], None], count: int) -> float:
    best = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter_ns()
        for _ in range(count):
            call()
        best = min(best, (time.perf_counter_ns() - started) / count)
    return best


async def main(statement_count: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        plain, timed = create_async_engine(url), create_async_engine(url)
        metrics.time_statements(timed)
        try:
            async with plain.begin() as connection:
                await connection.execute(text("CREATE TABLE marks (n INTEGER)"))
            plain_rate = timed_rate = 0.0
            for _ in range(PASSES):  # taken in turns, so a slower minute slows both
                plain_rate = max(plain_rate, await statements_per_second(plain, statement_count))
                timed_rate = max(timed_rate, await statements_per_second(timed, statement_count))
        finally:
            await plain.dispose()
            await timed.dispose()
    print(f"statements/s  plain {plain_rate:,.0f}  timed {timed_rate:,.0f}", end="  ")
    print(f"ratio timed / plain {timed_rate / plain_rate:.3f}")

    def nothing() -> None:
        return None

    def count_one() -> None:
        metrics.answer_graded("slack", "slash")

    baseline = nanoseconds_per_call(nothing, count)
    counted = nanoseconds_per_call(count_one, count)
    print(f"ns per call   empty function {baseline:.0f}  answer_graded {counted:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=3000)
    parser.add_argument("--counts", type=int, default=200_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.statements, arguments.counts))
