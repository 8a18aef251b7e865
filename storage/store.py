"""SqlStore: the engine's Store port on SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    and_,
    delete,
    func,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.engine.errors import DatabaseUnavailableError
from bot.engine.model import (
    Attempt,
    LeaderboardRow,
    NewAttempt,
    OpenQuestion,
    Source,
    StoredInterview,
    UserRef,
)
from bot.engine.outbox import Receipt, StoredReplies, decode_replies, encode_replies
from storage.batching import GroupCommit
from storage.core import attempt_from_row, is_user, user_from_row, user_pk_of
from storage.daily import SqlDailyStore
from storage.database import create_engine, upgrade_engine, where
from storage.dialect import upsert_insert
from storage.privacy import SqlPrivacyStore
from storage.tables import (
    AttemptRow,
    DeliveredEventRow,
    InterviewSessionRow,
    OpenQuestionRow,
    QuestionViewRow,
    StoredRepliesRow,
    UserRow,
)


class SqlStore(SqlPrivacyStore, SqlDailyStore):
    """The Store and DailyStore ports on an async SQLAlchemy engine, scoped by UserRef/ChannelRef.

    The daily-question methods live in `storage.daily`, forgetting members and purging removed
    workspaces in `storage.privacy`; the engine plumbing, users and attempt writes they share
    live in `storage.core`.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._answers = GroupCommit(self._answer_batch)
        self._open_reads = GroupCommit(self._open_question_batch)

    # -- attempts ---------------------------------------------------------------------------

    async def record_attempt(self, attempt: NewAttempt) -> Attempt:
        """Store a graded answer and return it with its id."""
        async with self._write() as session:
            user_pk = await self._ensure_user(session, attempt.user, attempt.created_at)
            stored = await self._insert_attempt(session, user_pk, attempt)
        # Without a daily post there is no conflict clause: the insert always returns its row.
        assert stored is not None
        return stored

    async def attempts(self, user: UserRef, *, since: datetime | None = None) -> Sequence[Attempt]:
        """Return the user's attempts, oldest first, optionally only those at or after `since`."""
        query = (
            select(AttemptRow, UserRow)
            .join(UserRow, AttemptRow.user_id == UserRow.id)
            .where(is_user(user))
            .order_by(AttemptRow.created_at, AttemptRow.id)
        )
        if since is not None:
            query = query.where(AttemptRow.created_at >= since)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [attempt_from_row(attempt, owner) for attempt, owner in rows]

    # -- questions shown ----------------------------------------------------------------------

    async def mark_asked(self, user: UserRef, question_id: str, at: datetime) -> None:
        """Remember that the user was shown this question."""
        async with self._write() as session:
            user_pk = await self._ensure_user(session, user, at)
            session.add(QuestionViewRow(user_id=user_pk, question_id=question_id, shown_at=at))

    async def recently_asked(self, user: UserRef, limit: int) -> Sequence[str]:
        """Return the ids of the last `limit` distinct questions shown to the user, newest first."""
        if limit <= 0:
            return []
        last_shown = func.max(QuestionViewRow.shown_at)
        query = (
            select(QuestionViewRow.question_id)
            .where(QuestionViewRow.user_id == user_pk_of(user))
            .group_by(QuestionViewRow.question_id)
            # Views at the same instant keep the order they were recorded in.
            .order_by(last_shown.desc(), func.max(QuestionViewRow.id).desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    # -- the open question --------------------------------------------------------------------

    async def open_question(self, user: UserRef) -> OpenQuestion | None:
        """Return the user's open question, if any.

        Concurrent look-ups share one query (an answer burst reads before it writes).
        """
        return await self._open_reads.submit(user)

    async def _open_question_batch(self, users: list[UserRef]) -> list[OpenQuestion | None]:
        async with self._sessions() as session:
            keys = await self._user_keys(session, users)
            found, stale = await self._open_questions_by_key(session, keys)
            if stale:
                # Keys cached before these members were forgotten (here or by another
                # process): their rows are gone, or the key names someone else now (SQLite
                # reuses the highest rowid). Looked up afresh; the answer that follows this
                # read relies on the cache being right again.
                for user in stale:
                    self._user_keys_cache.pop((user.platform, user.workspace, user.user), None)
                fresh = await self._user_keys(session, stale)
                found.update((await self._open_questions_by_key(session, fresh))[0])
        return [found.get(user) for user in users]

    async def _open_questions_by_key(
        self, session: AsyncSession, keys: dict[UserRef, int]
    ) -> tuple[dict[UserRef, OpenQuestion | None], list[UserRef]]:
        """The open question of each user whose key still names them, and the users whose
        key does not (one statement, by primary key)."""
        if not keys:
            return {}, []
        # Plain columns, no ORM objects: this is the first read of every answer.
        query = (
            select(
                UserRow.id,
                UserRow.platform,
                UserRow.workspace,
                UserRow.user_id,
                OpenQuestionRow.question_id,
                OpenQuestionRow.asked_at,
                OpenQuestionRow.source,
                OpenQuestionRow.hints_used,
                OpenQuestionRow.channel,
            )
            .outerjoin(OpenQuestionRow, OpenQuestionRow.user_id == UserRow.id)
            .where(UserRow.id.in_(set(keys.values())))
        )
        owners = {row.id: row for row in (await session.execute(query)).all()}
        found: dict[UserRef, OpenQuestion | None] = {}
        stale: list[UserRef] = []
        for user, user_pk in keys.items():
            row = owners.get(user_pk)
            if row is None or (row.platform, row.workspace, row.user_id) != (
                user.platform,
                user.workspace,
                user.user,
            ):
                stale.append(user)
                continue
            found[user] = (
                None
                if row.question_id is None
                else OpenQuestion(
                    question_id=row.question_id,
                    asked_at=row.asked_at,
                    source=Source(row.source),
                    hints_used=row.hints_used,
                    channel=row.channel,
                )
            )
        return found, stale

    async def set_open_question(self, user: UserRef, question: OpenQuestion) -> None:
        """Make `question` the user's open question, replacing any other."""
        async with self._write() as session:
            user_pk = await self._ensure_user(session, user, question.asked_at)
            values = {
                "question_id": question.question_id,
                "asked_at": question.asked_at,
                "source": question.source.value,
                "hints_used": question.hints_used,
                "channel": question.channel,
            }
            statement = (
                upsert_insert(self._engine, OpenQuestionRow)
                .values(user_id=user_pk, **values)
                .on_conflict_do_update(index_elements=[OpenQuestionRow.user_id], set_=values)
            )
            await session.execute(statement)

    async def answer_open_question(
        self, user: UserRef, opened: OpenQuestion, attempt: NewAttempt
    ) -> Attempt | None:
        """Close the user's open question if it is still `opened` (compare-and-set on its
        question, when it was asked and the hints taken) and store `attempt`, graded before,
        outside any transaction; None, with nothing changed, when it is not.

        Answers arriving together share one short transaction (group commit), which is what
        lets a burst of answers through SQLite's single writer quickly.
        """
        return await self._answers.submit(_AnswerRequest(user, opened, attempt))

    async def _answer_batch(self, requests: list[_AnswerRequest]) -> list[Attempt | None]:
        """Answer a batch with three statements, however large: find the users, close the
        open questions still as their answers saw them (DELETE ... RETURNING hands each to one
        answer), store the attempts (one executemany).
        """
        results: list[Attempt | None] = [None] * len(requests)
        async with self._write() as session:
            keys = await self._user_keys(session, (r.user for r in requests))
            # Of two answers by one user in a batch only the first may take the question.
            first_of: dict[int, int] = {}
            for index, request in enumerate(requests):
                if request.user in keys:
                    first_of.setdefault(keys[request.user], index)
            if not first_of:
                return results
            # Still the question, the asking and the hints the grade was made for.
            expected = [
                (
                    pk,
                    requests[i].opened.question_id,
                    requests[i].opened.asked_at,
                    requests[i].opened.hints_used,
                )
                for pk, i in first_of.items()
            ]
            taken = await session.execute(
                delete(OpenQuestionRow)
                .where(
                    tuple_(
                        OpenQuestionRow.user_id,
                        OpenQuestionRow.question_id,
                        OpenQuestionRow.asked_at,
                        OpenQuestionRow.hints_used,
                    ).in_(expected)
                )
                .returning(OpenQuestionRow.user_id)
                .execution_options(synchronize_session=False)
            )
            closed = [
                (first_of[pk], (pk, requests[first_of[pk]].attempt)) for pk in taken.scalars()
            ]
            stored = await self._insert_attempts(session, [row for _, row in closed])
            for (index, _), attempt in zip(closed, stored, strict=True):
                results[index] = attempt
        return results

    async def take_open_question(self, user: UserRef) -> OpenQuestion | None:
        """Remove and return the user's open question, atomically: one caller wins."""
        # One DELETE ... RETURNING: the database hands the row to exactly one transaction,
        # where a SELECT followed by a DELETE would let two callers read the same row.
        statement = (
            delete(OpenQuestionRow)
            .where(OpenQuestionRow.user_id == user_pk_of(user))
            .returning(
                OpenQuestionRow.question_id,
                OpenQuestionRow.asked_at,
                OpenQuestionRow.source,
                OpenQuestionRow.hints_used,
                OpenQuestionRow.channel,
            )
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            row = (await session.execute(statement)).one_or_none()
        if row is None:
            return None
        return OpenQuestion(
            question_id=row.question_id,
            asked_at=row.asked_at,
            source=Source(row.source),
            hints_used=row.hints_used,
            channel=row.channel,
        )

    # -- leaderboard --------------------------------------------------------------------------

    async def leaderboard(
        self,
        platform: str,
        workspace: str,
        *,
        since: datetime | None = None,
        channel: str | None = None,
        limit: int = 10,
    ) -> Sequence[LeaderboardRow]:
        """Rank users of one workspace by points (sum of scores), best first.

        Ties go to fewer attempts (the better average), then to the user id, so the order
        never depends on the query plan.
        """
        if limit <= 0:
            return []
        # Coerced result types: PostgreSQL's AVG is numeric (a Decimal) and SUM is bigint.
        points = type_coerce(func.sum(AttemptRow.score), Integer).label("points")
        count = type_coerce(func.count(AttemptRow.id), Integer).label("attempts")
        average = type_coerce(func.avg(AttemptRow.score), Float).label("average")
        query = (
            select(UserRow, points, count, average)
            .select_from(AttemptRow)
            .join(UserRow, AttemptRow.user_id == UserRow.id)
            .where(AttemptRow.platform == platform, AttemptRow.workspace == workspace)
            # Grouping by the primary key lets every users column be selected (PostgreSQL
            # knows the other columns depend on it).
            .group_by(UserRow.id)
            .order_by(points.desc(), count.asc(), UserRow.user_id.asc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(AttemptRow.created_at >= since)
        if channel is not None:
            query = query.where(AttemptRow.channel == channel)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            LeaderboardRow(
                user=user_from_row(owner),
                points=total,
                attempts=attempt_count,
                average=mean,
            )
            for owner, total, attempt_count, mean in rows
        ]

    # -- interviews ---------------------------------------------------------------------------

    async def save_interview(self, interview: StoredInterview) -> None:
        """Insert or update an interview session.

        Saving an active session ends any other active one of the same user, keeping the
        one-running-interview rule without making the engine delete the old one first.
        """
        async with self._write() as session:
            user_pk = await self._ensure_user(session, interview.user, interview.updated_at)
            if interview.active:
                await session.execute(
                    update(InterviewSessionRow)
                    .where(
                        InterviewSessionRow.user_id == user_pk,
                        InterviewSessionRow.active.is_(True),
                        InterviewSessionRow.id != interview.id,
                    )
                    .values(active=False, updated_at=interview.updated_at)
                    .execution_options(synchronize_session=False)
                )
            insert = upsert_insert(self._engine, InterviewSessionRow).values(
                id=interview.id,
                user_id=user_pk,
                active=interview.active,
                state=interview.state,
                created_at=interview.updated_at,
                updated_at=interview.updated_at,
            )
            statement = insert.on_conflict_do_update(
                index_elements=[InterviewSessionRow.id],
                set_={
                    "active": insert.excluded.active,
                    "state": insert.excluded.state,
                    "updated_at": insert.excluded.updated_at,
                    "version": InterviewSessionRow.version + 1,
                },
                # An id is never reassigned to another user, even by a buggy caller.
                where=InterviewSessionRow.user_id == insert.excluded.user_id,
            )
            saved = await session.scalar(statement.returning(InterviewSessionRow.id))
            if saved is None:
                raise ValueError(f"interview {interview.id!r} belongs to another user")

    async def change_interview(
        self,
        interview: StoredInterview,
        attempt: NewAttempt | None = None,
        replies: StoredReplies | None = None,
    ) -> bool:
        """Save a change made from `interview.version` of a running session, with the attempt
        it records and the replies to the message that made it, in one transaction; False,
        with nothing written, if the session changed or ended since that version was read, or
        the message was handled already.
        """
        try:
            return await self._change_interview(interview, attempt, replies)
        except _AlreadyHandledError:
            return False

    async def _change_interview(
        self,
        interview: StoredInterview,
        attempt: NewAttempt | None,
        replies: StoredReplies | None,
    ) -> bool:
        async with self._write() as session:
            # The user upsert first takes SQLite's write lock, before any read (see database.py).
            user_pk = await self._ensure_user(session, interview.user, interview.updated_at)
            changed = await session.scalar(
                update(InterviewSessionRow)
                .where(
                    InterviewSessionRow.id == interview.id,
                    InterviewSessionRow.user_id == user_pk,
                    InterviewSessionRow.version == interview.version,
                    InterviewSessionRow.active.is_(True),
                )
                .values(
                    active=interview.active,
                    state=interview.state,
                    updated_at=interview.updated_at,
                    version=InterviewSessionRow.version + 1,
                )
                .returning(InterviewSessionRow.id)
                .execution_options(synchronize_session=False)
            )
            if changed is None:
                return False
            if attempt is not None:
                await self._insert_attempt(session, user_pk, attempt)
            if replies is not None and not await self._store_replies(session, replies):
                raise _AlreadyHandledError  # rolls the whole change back
            return True

    async def _store_replies(self, session: AsyncSession, stored: StoredReplies) -> bool:
        """Insert the replies; False when its message has replies stored already."""
        inserted = await session.scalar(
            upsert_insert(self._engine, StoredRepliesRow)
            .values(
                platform=stored.user.platform,
                event_id=stored.receipt.event_id,
                workspace=stored.user.workspace,
                user_id=stored.user.user,
                channel=stored.receipt.channel,
                replies=encode_replies(stored.replies),
                created_at=stored.created_at,
            )
            .on_conflict_do_nothing(
                index_elements=[StoredRepliesRow.platform, StoredRepliesRow.event_id]
            )
            .returning(StoredRepliesRow.id)
        )
        return inserted is not None

    async def active_interview(self, user: UserRef) -> StoredInterview | None:
        """Return the user's active interview session, if any."""
        return await self._newest_active_interview(is_user(user))

    async def active_interview_anywhere(
        self, platform: str, user_id: str
    ) -> StoredInterview | None:
        """Return the user's active interview in any workspace of `platform`, newest first."""
        return await self._newest_active_interview(
            and_(UserRow.platform == platform, UserRow.user_id == user_id)
        )

    async def _newest_active_interview(
        self, owner_is: ColumnElement[bool]
    ) -> StoredInterview | None:
        """The most recently updated active interview of the users matching `owner_is`."""
        query = (
            select(InterviewSessionRow, UserRow)
            .join(UserRow, InterviewSessionRow.user_id == UserRow.id)
            .where(owner_is, InterviewSessionRow.active.is_(True))
            .order_by(InterviewSessionRow.updated_at.desc(), InterviewSessionRow.id.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).one_or_none()
        if found is None:
            return None
        row, owner = found
        return StoredInterview(
            id=row.id,
            user=user_from_row(owner),
            active=row.active,
            state=row.state,
            updated_at=row.updated_at,
            version=row.version,
        )

    # -- delivered events -------------------------------------------------------------------

    async def first_delivery(self, platform: str, event_id: str, at: datetime) -> bool:
        """Record the event; True for its first delivery only, across processes."""
        statement = (
            upsert_insert(self._engine, DeliveredEventRow)
            .values(platform=platform, event_id=event_id, received_at=at)
            .on_conflict_do_nothing(
                index_elements=[DeliveredEventRow.platform, DeliveredEventRow.event_id]
            )
            .returning(DeliveredEventRow.id)
        )
        async with self._write() as session:
            return await session.scalar(statement) is not None

    # -- stored replies ----------------------------------------------------------------------

    async def stored_replies(self, platform: str, event_id: str) -> StoredReplies | None:
        """The replies stored for a received message, sent or not, if it was handled."""
        query = select(StoredRepliesRow).where(
            StoredRepliesRow.platform == platform, StoredRepliesRow.event_id == event_id
        )
        async with self._sessions() as session:
            row = await session.scalar(query)
        return None if row is None else _stored_replies_from(row)

    async def unsent_replies(self, platform: str, since: datetime) -> Sequence[StoredReplies]:
        """Replies stored since `since` and never marked sent, oldest first."""
        query = (
            select(StoredRepliesRow)
            .where(
                StoredRepliesRow.platform == platform,
                StoredRepliesRow.sent_at.is_(None),
                StoredRepliesRow.created_at >= since,
            )
            .order_by(StoredRepliesRow.created_at, StoredRepliesRow.id)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [_stored_replies_from(row) for row in rows]

    async def mark_sent(self, platform: str, event_id: str, at: datetime) -> None:
        """Record that a received message's stored replies were sent (if it has any)."""
        async with self._write() as session:
            await session.execute(
                update(StoredRepliesRow)
                .where(
                    StoredRepliesRow.platform == platform,
                    StoredRepliesRow.event_id == event_id,
                    StoredRepliesRow.sent_at.is_(None),
                )
                .values(sent_at=at)
                .execution_options(synchronize_session=False)
            )


class _AlreadyHandledError(Exception):
    """Raised inside a transaction to roll it back: its message has replies stored already."""


def _stored_replies_from(row: StoredRepliesRow) -> StoredReplies:
    return StoredReplies(
        user=UserRef(row.platform, row.workspace, row.user_id),
        receipt=Receipt(row.event_id, row.channel),
        replies=decode_replies(row.replies),
        created_at=row.created_at,
        sent=row.sent_at is not None,
    )


async def open_store(url: str, *, migrate: bool = True) -> SqlStore:
    """Open a SqlStore on `url`, migrating the schema to the newest version first."""
    engine = create_engine(url)
    try:
        if migrate:
            await upgrade_engine(engine)
    except OSError as error:  # asyncpg's connect raises socket errors as they are
        await engine.dispose()
        raise DatabaseUnavailableError(where(engine.url), error.strerror or str(error)) from error
    except BaseException:
        await engine.dispose()
        raise
    return SqlStore(engine)


@dataclass(frozen=True, slots=True)
class _AnswerRequest:
    user: UserRef
    opened: OpenQuestion
    attempt: NewAttempt


def _open_question_from_row(row: OpenQuestionRow) -> OpenQuestion:
    return OpenQuestion(
        question_id=row.question_id,
        asked_at=row.asked_at,
        source=Source(row.source),
        hints_used=row.hints_used,
        channel=row.channel,
    )


if TYPE_CHECKING:
    from bot.engine.ports import DailyStore, EventLog, PrivacyStore, Store

    def _serves_every_port(store: SqlStore) -> tuple[Store, DailyStore, EventLog, PrivacyStore]:
        # Never called: mypy proves here that one SqlStore object serves the engine's ports.
        return store, store, store, store
