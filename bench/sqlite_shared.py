"""Answers per second on one SQLite file: one process alone, then several sharing it.

Each worker process opens the services as `awsquiz run` does, waits at a start line, then
records one answer for each of its new members (QuizService.ask, then QuizService.answer), a
fixed number of members at a time, as fast as it can. Prints answers/s, answer latency and
errors for one process, then for N processes on one file, and their throughput ratio, both
measured in the same run; and checks that every answer is stored exactly once.

    python bench/sqlite_shared.py [--processes 5] [--answers 300] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot.app import open_services
from bot.engine.model import UserRef
from bot.settings import Settings
from storage import upgrade

ANSWER: Final = "Objects are stored in buckets, replicated across availability zones, versioned"
START_LINE: Final = b"go\n"
READY_LINE: Final = "ready"


@dataclass(frozen=True, slots=True)
class RunResult:
    """What the workers of one run did between them."""

    processes: int
    answers: int
    errors: list[str]
    seconds: float
    latencies: list[float]
    stored: int

    @property
    def per_second(self) -> float:
        """Answers recorded per second, from the first start to the last finish."""
        return self.answers / self.seconds

    def describe(self) -> str:
        """One line for the report."""
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        noun = "process" if self.processes == 1 else "processes"
        return (
            f"{self.processes} {noun}: {self.answers:,} answers in {self.seconds:.2f} s, "
            f"{self.per_second:,.0f} answers/s; ask+answer p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
            f"errors {len(self.errors)}; rows stored {self.stored:,}"
        )


async def worker(url: str, prefix: str, answers: int, concurrency: int) -> None:
    """One process: open the services, wait for the start line, answer, print a JSON report."""
    async with open_services(Settings(database_url=url)) as services:
        print(READY_LINE, flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []
        errors: list[str] = []

        async def first_answer(index: int) -> None:
            member = UserRef("slack", "TBENCH", f"{prefix}{index:05d}", display_name="m")
            async with gate:
                began = time.perf_counter()
                try:
                    await services.quiz.ask(member, topic="s3")
                    await services.quiz.answer(member, ANSWER)
                except Exception as error:  # counted and reported, never hidden
                    errors.append(f"{type(error).__name__}: {error}")
                    return
                latencies.append(time.perf_counter() - began)

        started = time.time()
        await asyncio.gather(*(first_answer(index) for index in range(answers)))
        ended = time.time()
    report = {"started": started, "ended": ended, "latencies": latencies, "errors": errors}
    print(json.dumps(report), flush=True)


async def run(processes: int, answers: int, concurrency: int, folder: Path) -> RunResult:
    """Start `processes` workers on a fresh file together and collect what they did."""
    db = folder / f"shared-{processes}.db"
    url = f"sqlite:///{db}"
    await upgrade(url)
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            url,
            f"P{number}-",
            str(answers),
            str(concurrency),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for number in range(processes)
    ]
    for process in workers:
        assert process.stdout is not None
        ready = (await process.stdout.readline()).decode().strip()
        if ready != READY_LINE:
            raise SystemExit(f"a worker did not start: {ready!r}")
    for process in workers:
        assert process.stdin is not None
        process.stdin.write(START_LINE)
    outputs = await asyncio.gather(*(process.communicate() for process in workers))
    reports = [json.loads(stdout) for stdout, _ in outputs]
    with closing(sqlite3.connect(db)) as connection:
        (stored,) = connection.execute("SELECT COUNT(*) FROM attempts").fetchone()
    latencies = [latency for report in reports for latency in report["latencies"]]
    return RunResult(
        processes=processes,
        answers=len(latencies),
        errors=[error for report in reports for error in report["errors"]],
        seconds=max(r["ended"] for r in reports) - min(r["started"] for r in reports),
        latencies=latencies,
        stored=stored,
    )


async def compare(processes: int, answers: int, concurrency: int) -> None:
    """The single-process baseline, then `processes` sharing one file, with the ratio."""
    with tempfile.TemporaryDirectory() as folder:
        alone = await run(1, answers, concurrency, Path(folder))
        shared = await run(processes, answers, concurrency, Path(folder))
    print(f"SQLite, {answers:,} first answers per process, {concurrency} at a time per process")
    for result in (alone, shared):
        print(f"  {result.describe()}")
        for error in sorted(set(result.errors))[:5]:
            print(f"    error: {error}")
        expected = result.processes * answers
        if result.stored != expected:
            print(f"    stored {result.stored:,} rows for {expected:,} answers")
    print(
        f"  throughput ratio, {processes} processes / 1: {shared.per_second / alone.per_second:.2f}"
    )


def main() -> None:
    """Run the comparison, or one worker of it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--answers", type=int, default=300, help="per process")
    parser.add_argument("--concurrency", type=int, default=20, help="members at once per process")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, prefix, answers, concurrency = args.worker
        asyncio.run(worker(url, prefix, int(answers), int(concurrency)))
        return
    asyncio.run(compare(args.processes, args.answers, args.concurrency))


if __name__ == "__main__":
    main()
