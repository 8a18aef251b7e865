"""What every part of SqlStore shares: the engine, its sessions, users and attempt writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy import ColumnElement, and_, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import metrics
from bot.engine.model import Attempt, Difficulty, NewAttempt, Source, UserRef, Verdict
from storage.database import for_writes
from storage.dialect import upsert_insert
from storage.outages import GuardedSessions, OutageLog, watch_for_disconnects
from storage.tables import AttemptRow, UserRow


class SessionSource(Protocol):
    """Opens sessions: `async with source() as session` to read, `.begin()` to write."""

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session to read with."""
        ...

    def begin(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session in a transaction, committed at the end of the block."""
        ...


class SqlStoreBase:
    """An async SQLAlchemy engine with its session factory and the writes every port needs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Reads begin deferred (in WAL mode they never wait); writes begin by taking SQLite's
        # write lock, whatever they run first (see database.for_writes).
        reads = async_sessionmaker(engine, expire_on_commit=False)
        writes = async_sessionmaker(for_writes(engine), expire_on_commit=False)
        self._sessions: SessionSource = reads
        self._write_sessions: SessionSource = writes
        if engine.dialect.name != "sqlite":
            # A server can go away and come back; a SQLite file cannot (see storage.outages).
            outages = OutageLog()
            watch_for_disconnects(engine, outages)
            self._sessions = GuardedSessions(reads, outages)
            self._write_sessions = GuardedSessions(writes, outages)
        self._user_keys_cache: dict[tuple[str, str, str], int] = {}
        # SQLite has one writer at a time and its busy handler polls with growing sleeps, so
        # this process's writers queue here instead; PostgreSQL writers run concurrently.
        sqlite = engine.dialect.name == "sqlite"
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if sqlite else None

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, which on SQLite holds the write lock from its first statement."""
        if self._write_lock is None:
            async with self._write_sessions.begin() as session:
                yield session
            return
        async with self._write_lock, self._write_sessions.begin() as session:
            yield session

    @property
    def engine(self) -> AsyncEngine:
        """The engine this store runs on (for the daily poster and tests)."""
        return self._engine

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def __aenter__(self) -> Self:
        """Return the store itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        await self.close()

    async def _insert_attempt(
        self,
        session: AsyncSession,
        user_pk: int,
        attempt: NewAttempt,
        *,
        daily_post_id: int | None = None,
    ) -> Attempt | None:
        """Insert a graded answer of the user `user_pk`; None if they answered the post already.

        With a `daily_post_id` the insert is ON CONFLICT DO NOTHING on (daily_post_id, user_id):
        of two racing answers the database keeps one and the other simply inserts nothing, with
        no error that would abort the surrounding transaction (as a caught IntegrityError would
        on PostgreSQL, short of a SAVEPOINT).
        """
        statement = upsert_insert(self._engine, AttemptRow).values(
            **attempt_values(user_pk, attempt, daily_post_id)
        )
        if daily_post_id is not None:
            statement = statement.on_conflict_do_nothing(
                index_elements=[AttemptRow.daily_post_id, AttemptRow.user_id]
            )
        attempt_id = await session.scalar(statement.returning(AttemptRow.id))
        if attempt_id is None:
            return None
        metrics.answer_graded(attempt.user.platform, attempt.source.value)
        return stored_attempt(attempt_id, attempt)

    async def _insert_attempts(
        self, session: AsyncSession, rows: Sequence[tuple[int, NewAttempt]]
    ) -> list[Attempt]:
        """Insert many graded answers of distinct users in one statement, ids in input order."""
        if not rows:
            return []
        if len({pk for pk, _ in rows}) != len(rows):
            raise ValueError("one attempt per user in a batch: ids are matched back by user")
        # Ids are matched by user_id, not by RETURNING order: SQLite does not promise that
        # order, so sort_by_parameter_order made SQLAlchemy send one INSERT per row.
        statement = insert(AttemptRow).returning(AttemptRow.user_id, AttemptRow.id)
        result = await session.execute(statement, [attempt_values(pk, a) for pk, a in rows])
        ids: dict[int, int] = dict(result.all())
        for _, attempt in rows:
            metrics.answer_graded(attempt.user.platform, attempt.source.value)
        return [stored_attempt(ids[pk], attempt) for pk, attempt in rows]

    async def _user_keys(
        self, session: AsyncSession, users: Iterable[UserRef]
    ) -> dict[UserRef, int]:
        """The primary keys of known users (unknown ones are left out), cached per process."""
        users = list(users)
        wanted = {_scope(user) for user in users}
        missing = [scope for scope in wanted if scope not in self._user_keys_cache]
        if missing:
            found = await session.execute(
                select(UserRow.id, UserRow.platform, UserRow.workspace, UserRow.user_id).where(
                    tuple_(UserRow.platform, UserRow.workspace, UserRow.user_id).in_(missing)
                )
            )
            for row in found:
                # A forgotten member's key can go stale: readers that rely on it check it
                # still names them (`SqlStore._open_question_batch`).
                self._user_keys_cache[(row.platform, row.workspace, row.user_id)] = row.id
        return {
            user: self._user_keys_cache[_scope(user)]
            for user in users
            if _scope(user) in self._user_keys_cache
        }

    async def _ensure_user(self, session: AsyncSession, user: UserRef, seen_at: datetime) -> int:
        """Return the user's primary key, creating the row on first sight."""
        # INSERT ... ON CONFLICT DO NOTHING then SELECT: two first answers at once both
        # succeed, where a SELECT-then-INSERT would let the slower one hit the unique key.
        # The price on PostgreSQL: each call consumes a users.id sequence value even when the
        # row exists, leaving harmless gaps.
        await session.execute(
            upsert_insert(self._engine, UserRow)
            .values(
                platform=user.platform,
                workspace=user.workspace,
                user_id=user.user,
                display_name=user.display_name,
                created_at=seen_at,
            )
            .on_conflict_do_nothing(
                index_elements=[UserRow.platform, UserRow.workspace, UserRow.user_id]
            )
        )
        user_pk, stored_name = (
            await session.execute(select(UserRow.id, UserRow.display_name).where(is_user(user)))
        ).one()
        # An empty name means the adapter did not know it; keep the one we have.
        if user.display_name and stored_name != user.display_name:
            await session.execute(
                update(UserRow)
                .where(UserRow.id == user_pk)
                .values(display_name=user.display_name)
                .execution_options(synchronize_session=False)
            )
        return user_pk


def is_user(user: UserRef) -> ColumnElement[bool]:
    """A condition matching the users row of `user` (platform, workspace and id)."""
    return and_(
        UserRow.platform == user.platform,
        UserRow.workspace == user.workspace,
        UserRow.user_id == user.user,
    )


def user_pk_of(user: UserRef) -> ColumnElement[int]:
    """A scalar subquery for the user's primary key (NULL, matching nothing, if unknown)."""
    return select(UserRow.id).where(is_user(user)).scalar_subquery()


def user_from_row(row: UserRow) -> UserRef:
    """The UserRef a users row describes."""
    return UserRef(row.platform, row.workspace, row.user_id, row.display_name)


def attempt_from_row(row: AttemptRow, owner: UserRow) -> Attempt:
    """The Attempt an attempts row and its owner's row describe."""
    return Attempt(
        id=row.id,
        user=user_from_row(owner),
        question_id=row.question_id,
        topic_id=row.topic_id,
        difficulty=Difficulty(row.difficulty),
        answer=row.answer,
        score=row.score,
        verdict=Verdict(row.verdict),
        covered=tuple(row.covered),
        missed=tuple(row.missed),
        source=Source(row.source),
        created_at=row.created_at,
        hints_used=row.hints_used,
        channel=row.channel,
    )


def _scope(user: UserRef) -> tuple[str, str, str]:
    return (user.platform, user.workspace, user.user)


def attempt_values(
    user_pk: int, attempt: NewAttempt, daily_post_id: int | None = None
) -> dict[str, object]:
    """The attempts row of a graded answer."""
    return {
        "user_id": user_pk,
        "platform": attempt.user.platform,
        "workspace": attempt.user.workspace,
        "question_id": attempt.question_id,
        "topic_id": attempt.topic_id,
        "difficulty": attempt.difficulty.value,
        "answer": attempt.answer,
        "score": attempt.grade.score,
        "verdict": attempt.grade.verdict.value,
        "covered": list(attempt.grade.covered),
        "missed": list(attempt.grade.missed),
        "source": attempt.source.value,
        "hints_used": attempt.hints_used,
        "channel": attempt.channel,
        "created_at": attempt.created_at,
        "daily_post_id": daily_post_id,
    }


def stored_attempt(attempt_id: int, attempt: NewAttempt) -> Attempt:
    """The Attempt the store hands back for an inserted answer."""
    return Attempt(
        id=attempt_id,
        user=attempt.user,
        question_id=attempt.question_id,
        topic_id=attempt.topic_id,
        difficulty=attempt.difficulty,
        answer=attempt.answer,
        score=attempt.grade.score,
        verdict=attempt.grade.verdict,
        covered=tuple(attempt.grade.covered),
        missed=tuple(attempt.grade.missed),
        source=attempt.source,
        # Report the time as the store will give it back: in UTC.
        created_at=attempt.created_at.astimezone(UTC),
        hints_used=attempt.hints_used,
        channel=attempt.channel,
    )
