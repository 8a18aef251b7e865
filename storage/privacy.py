"""The PrivacyStore port: what is kept about a member, forgetting them, removed workspaces.

A member's data hangs off their users row (attempts, question views, the open question and
interviews go with it, ON DELETE CASCADE); stored replies name the member by platform ids and
are deleted beside it. A removed workspace is purged a batch of members per transaction, so a
large one never holds SQLite's single write lock for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import ColumnElement, Delete, ScalarSelect, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.model import Source, UserRef
from bot.engine.personal_data import MemberData, WorkspaceRemoval
from storage.core import SqlStoreBase, is_user, user_pk_of
from storage.dialect import upsert_insert
from storage.tables import (
    AttemptRow,
    Base,
    DailyPostRow,
    DailySubscriptionRow,
    ForgetRequestRow,
    InterviewSessionRow,
    OpenQuestionRow,
    QuestionViewRow,
    StoredRepliesRow,
    UserRow,
    WorkspaceRemovalRow,
)

PURGE_BATCH: Final = 200
"""Members deleted per transaction when a removed workspace is purged (with their attempts)."""


class SqlPrivacyStore(SqlStoreBase):
    """Forget me and the purge of removed workspaces, on the store's engine."""

    # -- a member's data --------------------------------------------------------------------

    async def member_data(self, user: UserRef) -> MemberData:
        """Count what is kept about the member in their workspace."""
        async with self._sessions() as session:
            return await self._member_data(session, user)

    async def forget_member(self, user: UserRef) -> MemberData:
        """Delete the member's users row (the rest of their rows cascade), their stored
        replies and any forget request, in one transaction; return what was deleted."""
        async with self._write() as session:
            deleted = await self._member_data(session, user)
            await session.execute(_deleting(UserRow, is_user(user)))
            await session.execute(_deleting(StoredRepliesRow, _replies_of(user)))
            await session.execute(_deleting(ForgetRequestRow, _request_of(user)))
        # The key cached for them is gone: their next use creates a new row, with a new key.
        self._user_keys_cache.pop((user.platform, user.workspace, user.user), None)
        return deleted

    async def _member_data(self, session: AsyncSession, user: UserRef) -> MemberData:
        pk = user_pk_of(user)
        shown = func.count(func.distinct(QuestionViewRow.question_id))
        # One statement of scalar subqueries: one round trip for every count.
        counts = [
            _count(UserRow, is_user(user)),
            _count(AttemptRow, AttemptRow.user_id == pk),
            _count(AttemptRow, AttemptRow.user_id == pk, AttemptRow.source == Source.DAILY.value),
            select(shown).where(QuestionViewRow.user_id == pk).scalar_subquery(),
            _count(OpenQuestionRow, OpenQuestionRow.user_id == pk),
            _count(InterviewSessionRow, InterviewSessionRow.user_id == pk),
            _count(
                InterviewSessionRow,
                InterviewSessionRow.user_id == pk,
                InterviewSessionRow.active.is_(True),
            ),
            _count(StoredRepliesRow, _replies_of(user)),
        ]
        row = (await session.execute(select(*counts))).one()
        # Indexed: a row this wide has no element types for mypy; each count is an int.
        known, answers, daily, views, opened, interviews, running, replies = (
            int(row[column]) for column in range(len(counts))
        )
        return MemberData(
            known=known > 0,
            answers=answers,
            daily_answers=daily,
            questions_shown=views,
            open_question=opened > 0,
            interviews=interviews,
            interview_running=running > 0,
            stored_replies=replies,
        )

    # -- forget requests --------------------------------------------------------------------

    async def request_forget(self, user: UserRef, at: datetime) -> None:
        """Record the member's request (a new one replaces the time of an older one)."""
        insert = upsert_insert(self._engine, ForgetRequestRow).values(
            platform=user.platform, workspace=user.workspace, user_id=user.user, requested_at=at
        )
        statement = insert.on_conflict_do_update(
            index_elements=[
                ForgetRequestRow.platform,
                ForgetRequestRow.workspace,
                ForgetRequestRow.user_id,
            ],
            set_={"requested_at": insert.excluded.requested_at},
        )
        async with self._write() as session:
            await session.execute(statement)

    async def take_forget_request(self, user: UserRef) -> datetime | None:
        """Remove the member's request and return when it was made; one caller gets it."""
        statement = _deleting(ForgetRequestRow, _request_of(user)).returning(
            ForgetRequestRow.requested_at
        )
        async with self._write() as session:
            return await session.scalar(statement)

    async def drop_forget_requests(self, before: datetime) -> int:
        """Delete the requests made before `before`; return how many."""
        old = ForgetRequestRow.requested_at < before
        # Looked for first: the sweep runs every minute, and must not take SQLite's write
        # lock for nothing.
        async with self._sessions() as session:
            if not await session.scalar(select(_count(ForgetRequestRow, old))):
                return 0
        async with self._write() as session:
            dropped = await session.scalars(
                _deleting(ForgetRequestRow, old).returning(ForgetRequestRow.user_id)
            )
            return len(dropped.all())

    # -- removed workspaces ------------------------------------------------------------------

    async def record_removal(self, platform: str, workspace: str, at: datetime) -> WorkspaceRemoval:
        """Record the removal; one recorded already keeps its earlier time. Return it."""
        insert = (
            upsert_insert(self._engine, WorkspaceRemovalRow)
            .values(platform=platform, workspace=workspace, removed_at=at)
            .on_conflict_do_nothing(
                index_elements=[WorkspaceRemovalRow.platform, WorkspaceRemovalRow.workspace]
            )
        )
        async with self._write() as session:
            await session.execute(insert)
            removed_at = await session.scalar(
                select(WorkspaceRemovalRow.removed_at).where(_removal_of(platform, workspace))
            )
        assert removed_at is not None  # inserted, or there already, in this transaction
        return WorkspaceRemoval(platform, workspace, removed_at)

    async def removals(self) -> Sequence[WorkspaceRemoval]:
        """Every recorded removal, oldest first."""
        query = select(WorkspaceRemovalRow).order_by(
            WorkspaceRemovalRow.removed_at, WorkspaceRemovalRow.platform
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [WorkspaceRemoval(row.platform, row.workspace, row.removed_at) for row in rows]

    async def cancel_removal(
        self, platform: str, workspace: str, *, removed_at: datetime | None = None
    ) -> bool:
        """Drop the workspace's removal (only the one of `removed_at`, if given)."""
        where = _removal_of(platform, workspace)
        if removed_at is not None:
            where = where & (WorkspaceRemovalRow.removed_at == removed_at)
        statement = _deleting(WorkspaceRemovalRow, where).returning(WorkspaceRemovalRow.platform)
        async with self._write() as session:
            return await session.scalar(statement) is not None

    async def purge_workspace(self, removal: WorkspaceRemoval) -> int | None:
        """Delete the workspace's members a batch per transaction, then the rest of its data
        and the removal; return how many members were deleted.

        Every batch first checks that `removal` is still the one recorded: None, with nothing
        deleted, when it was cancelled before the purge began; cancelled during it, the purge
        stops there, with what it deleted so far.
        """
        members = 0
        try:
            while True:
                async with self._write() as session:
                    deleted = await self._purge_step(session, removal)
                if deleted is None:
                    return members or None
                if deleted == 0:
                    return members
                members += deleted
        finally:
            self._forget_cached_keys(removal.platform, removal.workspace)

    async def _purge_step(self, session: AsyncSession, removal: WorkspaceRemoval) -> int | None:
        """Delete a batch of members or, with none left, the rest and the removal (0); None
        when the removal is no longer recorded as it was."""
        if not await _still_removed(session, removal):
            return None
        platform, workspace = removal.platform, removal.workspace
        batch = (
            await session.scalars(
                select(UserRow.id)
                .where(UserRow.platform == platform, UserRow.workspace == workspace)
                .limit(PURGE_BATCH)
            )
        ).all()
        if batch:
            await session.execute(_deleting(UserRow, UserRow.id.in_(batch)))
            return len(batch)
        rest = (
            (StoredRepliesRow, StoredRepliesRow.platform, StoredRepliesRow.workspace),
            (ForgetRequestRow, ForgetRequestRow.platform, ForgetRequestRow.workspace),
            # The members' answers went with them: no attempt still points at these posts.
            (DailyPostRow, DailyPostRow.platform, DailyPostRow.workspace),
            (DailySubscriptionRow, DailySubscriptionRow.platform, DailySubscriptionRow.workspace),
            (WorkspaceRemovalRow, WorkspaceRemovalRow.platform, WorkspaceRemovalRow.workspace),
        )
        for table, platform_column, workspace_column in rest:
            where = (platform_column == platform) & (workspace_column == workspace)
            await session.execute(_deleting(table, where))
        return 0

    def _forget_cached_keys(self, platform: str, workspace: str) -> None:
        """Drop the cached keys of the workspace's members: their rows are gone."""
        for scope in [s for s in self._user_keys_cache if s[:2] == (platform, workspace)]:
            del self._user_keys_cache[scope]


async def _still_removed(session: AsyncSession, removal: WorkspaceRemoval) -> bool:
    """Whether `removal` is still the one recorded; on PostgreSQL the row is locked until the
    transaction ends, so a cancel waits for the batch (SQLite's write lock does that there)."""
    recorded = await session.scalar(
        select(WorkspaceRemovalRow.removed_at)
        .where(_removal_of(removal.platform, removal.workspace))
        .with_for_update()
    )
    return recorded == removal.removed_at


def _count(table: type[Base], *where: ColumnElement[bool]) -> ScalarSelect[int]:
    """How many rows of `table` match, as a scalar subquery."""
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


def _deleting(table: type[Base], where: ColumnElement[bool]) -> Delete:
    """DELETE the matching rows, without the ORM session's bookkeeping (nothing is loaded)."""
    return delete(table).where(where).execution_options(synchronize_session=False)


def _replies_of(user: UserRef) -> ColumnElement[bool]:
    return (
        (StoredRepliesRow.platform == user.platform)
        & (StoredRepliesRow.workspace == user.workspace)
        & (StoredRepliesRow.user_id == user.user)
    )


def _request_of(user: UserRef) -> ColumnElement[bool]:
    return (
        (ForgetRequestRow.platform == user.platform)
        & (ForgetRequestRow.workspace == user.workspace)
        & (ForgetRequestRow.user_id == user.user)
    )


def _removal_of(platform: str, workspace: str) -> ColumnElement[bool]:
    return (WorkspaceRemovalRow.platform == platform) & (WorkspaceRemovalRow.workspace == workspace)
