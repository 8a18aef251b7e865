"""Prometheus metrics of one awsquiz process, and the one-line calls that count them.

Adapters and storage call the functions here; the engine never imports this module (nor
prometheus_client): the runner hands it `daily_post` as a plain callback. Every count is a
labelled counter increment, a few microseconds, so counting stays out of the way of a burst.

What is counted:
- `awsquiz_answers_graded_total{platform, source}`: graded answers stored.
- `awsquiz_replies_delivered_total{platform}`: replies that reached a member.
- `awsquiz_daily_posts_total{platform, outcome}`: claimed daily posts, by what became of them.
- `awsquiz_platform_errors_total{platform, code}`: platform refusals and failures, by code.
- `awsquiz_platform_rate_limited_total{platform}`: 429s.
- `awsquiz_database_seconds{statement}`: how long each SQL statement took, by its kind.
"""

from __future__ import annotations

import time
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
DATABASE_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds: a SQLite read takes well under a millisecond, a PostgreSQL round trip about one."""
STATEMENT_KINDS: Final = frozenset({"select", "insert", "update", "delete"})
_STARTED: Final = "_awsquiz_started"
"""Where a statement's start time waits on its execution context for the statement's end."""

ANSWERS_GRADED: Final = Counter(
    "awsquiz_answers_graded",
    "Graded answers stored, by platform and where they were given.",
    ["platform", "source"],
)
REPLIES_DELIVERED: Final = Counter(
    "awsquiz_replies_delivered", "Replies that reached a member, by platform.", ["platform"]
)
DAILY_POSTS: Final = Counter(
    "awsquiz_daily_posts",
    "Claimed daily posts by outcome: posted, failed (refused for good) or deferred (retried "
    "on a later sweep).",
    ["platform", "outcome"],
)
PLATFORM_ERRORS: Final = Counter(
    "awsquiz_platform_errors",
    "Calls a chat platform refused or failed, by its error code (429s are counted apart).",
    ["platform", "code"],
)
RATE_LIMITED: Final = Counter(
    "awsquiz_platform_rate_limited", "Calls a chat platform answered with 429.", ["platform"]
)
DATABASE_SECONDS: Final = Histogram(
    "awsquiz_database_seconds",
    "Time each SQL statement took, by kind (select, insert, update, delete, other).",
    ["statement"],
    buckets=DATABASE_BUCKETS,
)


def answer_graded(platform: str, source: str) -> None:
    """Count one graded answer stored."""
    ANSWERS_GRADED.labels(platform, source).inc()


def reply_delivered(platform: str) -> None:
    """Count one reply that reached a member."""
    REPLIES_DELIVERED.labels(platform).inc()


def daily_post(platform: str, outcome: str) -> None:
    """Count what became of one claimed daily post."""
    DAILY_POSTS.labels(platform, outcome).inc()


def platform_error(platform: str, code: str) -> None:
    """Count one call the platform refused or failed (not a 429: `rate_limited`)."""
    PLATFORM_ERRORS.labels(platform, code).inc()


def rate_limited(platform: str) -> None:
    """Count one 429."""
    RATE_LIMITED.labels(platform).inc()


def time_statements(engine: AsyncEngine) -> None:
    """Time every SQL statement run on `engine` (and the engines derived from it) into
    `awsquiz_database_seconds`; calling it again for the same engine changes nothing."""
    target = engine.sync_engine
    if not event.contains(target, "before_cursor_execute", _statement_started):
        event.listen(target, "before_cursor_execute", _statement_started)
        event.listen(target, "after_cursor_execute", _statement_finished)


def exposition() -> bytes:
    """Every metric of the process in Prometheus's text format (`CONTENT_TYPE`)."""
    return generate_latest(REGISTRY)


def _statement_started(
    _connection: Connection,
    _cursor: DBAPICursor,
    _statement: str,
    _parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> None:
    if context is not None:
        setattr(context, _STARTED, time.perf_counter())


def _statement_finished(
    _connection: Connection,
    _cursor: DBAPICursor,
    statement: str,
    _parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> None:
    started = getattr(context, _STARTED, None)
    if started is None:
        return
    kind = statement.lstrip()[:6].lower()
    DATABASE_SECONDS.labels(kind if kind in STATEMENT_KINDS else "other").observe(
        time.perf_counter() - started
    )
