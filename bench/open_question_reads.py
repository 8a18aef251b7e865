"""What checking cached user keys costs an open-question read (the first read of every answer).

Forgetting a member deletes their users row, so a key another process cached may be stale;
reads now check that each key still names its member (a primary-key join to users) and look
up again those that do not. This times bursts of concurrent open-question reads (they share
statements, as in an answer burst) on one database, with today's store and with a baseline
store that reads open questions by cached key alone, as before the check, in the same run.

    python bench/open_question_reads.py [--members 2000] [--bursts 200] [--burst 50]
                                        [--postgres-url postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.engine.model import OpenQuestion, Source, UserRef
from storage import SqlStore, open_store
from storage.store import _open_question_from_row
from storage.tables import OpenQuestionRow

ASKED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class UncheckedKeysStore(SqlStore):
    """The read before forget me existed: open questions by cached key, unchecked."""

    async def _open_question_batch(self, users: list[UserRef]) -> list[OpenQuestion | None]:
        async with self._sessions() as session:
            keys = await self._user_keys(session, users)
            rows: Sequence[OpenQuestionRow] = []
            if keys:
                query = select(OpenQuestionRow).where(
                    OpenQuestionRow.user_id.in_(set(keys.values()))
                )
                rows = (await session.scalars(query)).all()
            by_key = {row.user_id: _open_question_from_row(row) for row in rows}
        return [by_key.get(keys[user]) if user in keys else None for user in users]


async def seed(store: SqlStore, members: Sequence[UserRef]) -> None:
    """Give every member an open question."""
    for member in members:
        opened = OpenQuestion("ecs/question", ASKED_AT, Source.SLASH, channel="C1")
        await store.set_open_question(member, opened)


async def bursts(store: SqlStore, members: Sequence[UserRef], count: int, size: int) -> list[float]:
    """Seconds per read, for `count` bursts of `size` concurrent reads of random members."""
    picker = random.Random(7)
    per_read: list[float] = []
    for _ in range(count):
        chosen = picker.sample(list(members), size)
        started = time.perf_counter()
        found = await asyncio.gather(*(store.open_question(member) for member in chosen))
        per_read.append((time.perf_counter() - started) / size)
        assert all(opened is not None for opened in found)
    return per_read


async def measure(url: str, members: int, count: int, size: int) -> None:
    people = [UserRef("slack", "T1", f"U{n:05d}", f"Member {n}") for n in range(members)]
    store = await open_store(url)
    baseline = UncheckedKeysStore(store.engine)
    try:
        await seed(store, people)
        for each in (store, baseline):  # warm both key caches: the steady state of a bot
            await bursts(each, people, max(1, members // size), size)
        rounds: dict[str, list[float]] = {"checked keys (now)": [], "unchecked keys (before)": []}
        for _ in range(3):  # interleaved, so neither gets the quieter moment
            rounds["unchecked keys (before)"] += await bursts(baseline, people, count, size)
            rounds["checked keys (now)"] += await bursts(store, people, count, size)
    finally:
        await store.close()
    medians = {name: statistics.median(times) * 1e6 for name, times in rounds.items()}
    backend = url.split(":", 1)[0]
    print(f"{backend}: {members:,} members, bursts of {size} concurrent reads")
    for name, micros in medians.items():
        print(f"  {name:24} {micros:8.1f} µs per read (median of {len(rounds[name])} bursts)")
    ratio = medians["checked keys (now)"] / medians["unchecked keys (before)"]
    print(f"  ratio now/before: {ratio:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--bursts", type=int, default=200)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--postgres-url", help="also measure on this (empty) PostgreSQL database")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        asyncio.run(measure(sqlite_url, args.members, args.bursts, args.burst))
    if args.postgres_url:
        asyncio.run(measure(args.postgres_url, args.members, args.bursts, args.burst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
