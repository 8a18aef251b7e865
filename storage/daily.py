"""The DailyStore port: channel subscriptions, exactly-once daily posts and their answers."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, cast

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.engine.daily.model import ChannelRef, DailyPost, DailyResult, PostState, Subscription
from bot.engine.model import Attempt, Difficulty, NewAttempt, Source, UserRef
from bot.engine.ports import QuestionChoice
from storage.batching import GroupCommit
from storage.core import SqlStoreBase, attempt_from_row, is_user, user_pk_of
from storage.dialect import upsert_insert
from storage.tables import AttemptRow, DailyPostRow, DailySubscriptionRow, UserRow

POST_TIME_FORMAT: Final = "%H:%M"
# Days that count in a member's daily history: the question reached the channel.
HISTORY_STATES: Final = (PostState.POSTED, PostState.REVEALING, PostState.REVEALED)


@dataclass(frozen=True, slots=True)
class _Slot:
    """A (channel, local date) slot to claim, and how."""

    channel: ChannelRef
    local_date: date
    closes_at: datetime
    now: datetime
    lease: timedelta
    claimer: str


@dataclass(frozen=True, slots=True)
class _ClaimRequest:
    channel: ChannelRef
    local_date: date
    choose: QuestionChoice
    closes_at: datetime
    now: datetime
    lease: timedelta
    shared: bool
    claimer: str

    @property
    def slot(self) -> _Slot:
        return _Slot(
            self.channel, self.local_date, self.closes_at, self.now, self.lease, self.claimer
        )


@dataclass(frozen=True, slots=True)
class _WorkspaceDay:
    platform: str
    workspace: str
    local_date: date

    @classmethod
    def of(cls, request: _ClaimRequest) -> _WorkspaceDay:
        return cls(request.channel.platform, request.channel.workspace, request.local_date)


@dataclass(frozen=True, slots=True)
class _PostedMark:
    post_id: int
    message_id: str
    at: datetime


class SqlDailyStore(SqlStoreBase):
    """The DailyStore port; every channel query is scoped by platform, workspace and channel.

    Claims and posted-marks go through group commit (storage/batching.py): a fan-out to
    thousands of channels shares transactions instead of paying one each.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._claims = GroupCommit(self._claim_batch)
        self._posted_marks = GroupCommit(self._mark_posted_batch)

    # -- subscriptions ------------------------------------------------------------------------

    async def save_subscription(self, subscription: Subscription) -> None:
        """Insert or replace the subscription of its channel.

        A subscription without `updated_at` is stamped with the current UTC time.
        """
        channel = subscription.channel
        values = {
            "post_time": post_time_text(subscription.post_time),
            "timezone": subscription.timezone,
            "topics": list(subscription.topics),
            "difficulty_mix": difficulty_mix_json(subscription.difficulty_mix),
            "answer_window_minutes": window_minutes(subscription.answer_window),
            "enabled": subscription.enabled,
            "created_by": subscription.created_by,
            "updated_at": subscription.updated_at or datetime.now(UTC),
        }
        statement = (
            upsert_insert(self._engine, DailySubscriptionRow)
            .values(
                platform=channel.platform,
                workspace=channel.workspace,
                channel=channel.channel,
                **values,
            )
            .on_conflict_do_update(
                index_elements=[
                    DailySubscriptionRow.platform,
                    DailySubscriptionRow.workspace,
                    DailySubscriptionRow.channel,
                ],
                set_=values,
            )
        )
        async with self._write() as session:
            await session.execute(statement)

    async def subscription(self, channel: ChannelRef) -> Subscription | None:
        """Return the channel's subscription, enabled or not."""
        query = select(DailySubscriptionRow).where(
            DailySubscriptionRow.platform == channel.platform,
            DailySubscriptionRow.workspace == channel.workspace,
            DailySubscriptionRow.channel == channel.channel,
        )
        async with self._sessions() as session:
            row = await session.scalar(query)
        return None if row is None else subscription_from_row(row)

    async def subscriptions(
        self,
        *,
        platform: str | None = None,
        workspace: str | None = None,
        enabled_only: bool = True,
    ) -> Sequence[Subscription]:
        """Return subscriptions, optionally of one platform or workspace, ordered by channel."""
        query = select(DailySubscriptionRow).order_by(
            DailySubscriptionRow.platform,
            DailySubscriptionRow.workspace,
            DailySubscriptionRow.channel,
        )
        if platform is not None:
            query = query.where(DailySubscriptionRow.platform == platform)
        if workspace is not None:
            query = query.where(DailySubscriptionRow.workspace == workspace)
        if enabled_only:
            query = query.where(DailySubscriptionRow.enabled.is_(True))
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [subscription_from_row(row) for row in rows]

    # -- claiming and posting -----------------------------------------------------------------

    async def claim_post(
        self,
        channel: ChannelRef,
        local_date: date,
        question_id: str,
        closes_at: datetime,
        now: datetime,
        lease: timedelta,
        *,
        claimer: str = "",
        take_from: str | None = None,
    ) -> DailyPost | None:
        """Claim the (channel, local date) slot, exactly once across processes.

        Inserts a `claimed` row with INSERT ... ON CONFLICT DO NOTHING; when the row exists and
        is still `claimed` with its lease run out (or held by `take_from`, a claimer known to
        be dead), takes it over with a compare-and-set that keeps the row's question. Returns
        the claimed post, or None when another claimer holds it or it was posted (or given up)
        already.
        """
        async with self._write() as session:
            return await self._claim(
                session,
                _Slot(channel, local_date, closes_at, now, lease, claimer),
                question_id,
                take_from,
            )

    async def claim_next_post(
        self,
        channel: ChannelRef,
        local_date: date,
        choose: QuestionChoice,
        closes_at: datetime,
        now: datetime,
        lease: timedelta,
        *,
        shared: bool = False,
        claimer: str = "",
    ) -> DailyPost | None:
        """Like claim_post, with the question chosen in the same transaction: `choose` gets the
        ids claimed in the channel so far (newest first) and, when `shared`, the ids the
        workspace's channels have for that date, claims of the same batch included.
        """
        return await self._claims.submit(
            _ClaimRequest(channel, local_date, choose, closes_at, now, lease, shared, claimer)
        )

    async def _claim_batch(self, requests: list[_ClaimRequest]) -> list[DailyPost | None]:
        """Claim a batch of slots in one transaction, reading the channels' history once."""
        channels = {request.channel for request in requests}
        history_query = (
            select(
                DailyPostRow.platform,
                DailyPostRow.workspace,
                DailyPostRow.channel,
                DailyPostRow.question_id,
            )
            .where(
                tuple_(DailyPostRow.platform, DailyPostRow.workspace, DailyPostRow.channel).in_(
                    [(c.platform, c.workspace, c.channel) for c in channels]
                )
            )
            .order_by(DailyPostRow.local_date.desc())
        )
        # Only shared choices read the workspace's day: in a big workspace that is every
        # channel's claim so far, too much to read for choices that do not use it.
        days = {_WorkspaceDay.of(request) for request in requests if request.shared}
        today_query = (
            select(
                DailyPostRow.platform,
                DailyPostRow.workspace,
                DailyPostRow.local_date,
                DailyPostRow.question_id,
            )
            .where(
                tuple_(DailyPostRow.platform, DailyPostRow.workspace, DailyPostRow.local_date).in_(
                    [(d.platform, d.workspace, d.local_date) for d in days]
                )
            )
            .order_by(DailyPostRow.channel)
        )
        async with self._write() as session:
            history: dict[ChannelRef, list[str]] = defaultdict(list)
            for row in await session.execute(history_query):
                history[ChannelRef(row.platform, row.workspace, row.channel)].append(
                    row.question_id
                )
            workspace_today: dict[_WorkspaceDay, list[str]] = defaultdict(list)
            for same_day in await session.execute(today_query) if days else ():
                day = _WorkspaceDay(same_day.platform, same_day.workspace, same_day.local_date)
                workspace_today[day].append(same_day.question_id)
            claimed: dict[_ClaimRequest, DailyPost | None] = {}
            # Claim in one global order: two processes claiming overlapping slots then wait
            # for each other in the same direction, never in a cycle (a deadlock).
            for request in sorted(requests, key=lambda r: (r.channel, r.local_date)):
                day = _WorkspaceDay.of(request)
                question_id = request.choose(history[request.channel], workspace_today[day])
                post = await self._claim(session, request.slot, question_id)
                if post is not None:
                    history[request.channel].insert(0, question_id)
                    workspace_today[day].append(question_id)
                claimed[request] = post
            return [claimed[request] for request in requests]

    async def taken_slots(self, local_dates: Collection[date]) -> set[tuple[ChannelRef, date]]:
        """Return every (channel, local date) already claimed for any of these dates."""
        if not local_dates:
            return set()
        query = select(
            DailyPostRow.platform,
            DailyPostRow.workspace,
            DailyPostRow.channel,
            DailyPostRow.local_date,
        ).where(DailyPostRow.local_date.in_(list(local_dates)))
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return {(ChannelRef(r.platform, r.workspace, r.channel), r.local_date) for r in rows}

    async def _claim(
        self,
        session: AsyncSession,
        slot: _Slot,
        question_id: str,
        take_from: str | None = None,
    ) -> DailyPost | None:
        channel, local_date, now = slot.channel, slot.local_date, slot.now
        lease_until = now + slot.lease
        claim = (
            upsert_insert(self._engine, DailyPostRow)
            .values(
                platform=channel.platform,
                workspace=channel.workspace,
                channel=channel.channel,
                local_date=local_date,
                question_id=question_id,
                state=PostState.CLAIMED.value,
                lease_until=lease_until,
                claimed_at=now,
                first_claimed_at=now,
                claimer=slot.claimer,
                closes_at=slot.closes_at,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    DailyPostRow.platform,
                    DailyPostRow.workspace,
                    DailyPostRow.channel,
                    DailyPostRow.local_date,
                ]
            )
            .returning(DailyPostRow)
        )
        # The WHERE is re-checked on the locked row (PostgreSQL) or under the write lock
        # (SQLite), so of two processes taking over the same dead claim only one matches.
        takeover = (
            update(DailyPostRow)
            .where(
                is_slot(channel, local_date),
                DailyPostRow.state == PostState.CLAIMED.value,
                _held_by_the_dead(now, take_from),
            )
            .values(
                lease_until=lease_until,
                claimed_at=now,
                claimer=slot.claimer,
                closes_at=slot.closes_at,
            )
            .returning(DailyPostRow)
            .execution_options(synchronize_session=False)
        )
        row = await session.scalar(claim)
        if row is None:
            row = await session.scalar(takeover)
        return None if row is None else post_from_row(row)

    async def mark_posted(self, post_id: int, message_id: str, at: datetime) -> None:
        """Record the platform message id of a claimed post."""
        await self._posted_marks.submit(_PostedMark(post_id, message_id, at))

    async def _mark_posted_batch(self, marks: list[_PostedMark]) -> list[None]:
        """Move a batch of claimed posts to posted in one transaction (one executemany)."""
        # Core, not ORM: an ORM bulk UPDATE by primary key cannot also check the state.
        table = cast(Table, DailyPostRow.__table__)
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("mark_id"),
                table.c.state == PostState.CLAIMED.value,
            )
            .values(
                state=PostState.POSTED.value,
                lease_until=None,
                message_id=bindparam("mark_message_id"),
                posted_at=bindparam("mark_at"),
            )
        )
        parameters = [
            {"mark_id": m.post_id, "mark_message_id": m.message_id, "mark_at": m.at} for m in marks
        ]
        async with self._write() as session:
            await session.execute(statement, parameters)
        return [None] * len(marks)

    async def renew_claim(self, post_id: int, claimed_at: datetime, lease_until: datetime) -> bool:
        """Extend the lease of a claim still held by the claimer of `claimed_at`; False if it
        was taken over (a takeover stamps a new claimed_at), posted or given up meanwhile.
        """
        statement = (
            update(DailyPostRow)
            .where(
                DailyPostRow.id == post_id,
                DailyPostRow.state == PostState.CLAIMED.value,
                DailyPostRow.claimed_at == claimed_at,
            )
            .values(lease_until=lease_until)
            .returning(DailyPostRow.id)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            return await session.scalar(statement) is not None

    async def mark_failed(self, post_id: int, error: str, at: datetime) -> None:
        """Record that posting gave up, with the reason (there is no column for `at`)."""
        await self._move_post(
            post_id, from_states=(PostState.CLAIMED,), state=PostState.FAILED, error=error
        )

    # -- reading posts ------------------------------------------------------------------------

    async def daily_post(self, post_id: int) -> DailyPost | None:
        """Return a post by id."""
        return await self._one_post(select(DailyPostRow).where(DailyPostRow.id == post_id))

    async def post_for(self, channel: ChannelRef, local_date: date) -> DailyPost | None:
        """Return the channel's post of that local date, if any."""
        return await self._one_post(select(DailyPostRow).where(is_slot(channel, local_date)))

    async def latest_post(self, channel: ChannelRef) -> DailyPost | None:
        """Return the channel's most recent post (by local date), if any."""
        query = (
            select(DailyPostRow)
            .where(is_channel(channel))
            .order_by(DailyPostRow.local_date.desc())
            .limit(1)
        )
        return await self._one_post(query)

    async def posted_question_ids(self, channel: ChannelRef) -> Sequence[str]:
        """Return the ids of every question ever claimed in the channel, newest first."""
        async with self._sessions() as session:
            return list((await session.scalars(_posted_question_ids(channel))).all())

    async def stale_claims(self, now: datetime) -> Sequence[DailyPost]:
        """Return `claimed` posts whose lease ran out before `now` (their claimer died)."""
        query = (
            select(DailyPostRow)
            .where(DailyPostRow.state == PostState.CLAIMED.value, DailyPostRow.lease_until < now)
            .order_by(DailyPostRow.lease_until, DailyPostRow.id)
        )
        return await self._posts(query)

    async def claims_of(self, instance: str) -> Sequence[DailyPost]:
        """Return the posts `claimed` or `revealing` under a claimer of `instance`, any run."""
        query = (
            select(DailyPostRow)
            .where(
                DailyPostRow.state.in_([PostState.CLAIMED.value, PostState.REVEALING.value]),
                DailyPostRow.claimer.startswith(f"{instance}/", autoescape=True),
            )
            .order_by(DailyPostRow.id)
        )
        return await self._posts(query)

    async def due_reveals(self, now: datetime) -> Sequence[DailyPost]:
        """Return posts to reveal: `posted` with closes_at <= now, or `revealing` past lease."""
        query = (
            select(DailyPostRow)
            .where(is_revealable(now))
            .order_by(DailyPostRow.closes_at, DailyPostRow.id)
        )
        return await self._posts(query)

    # -- revealing ----------------------------------------------------------------------------

    async def claim_reveal(
        self,
        post_id: int,
        now: datetime,
        lease: timedelta,
        *,
        claimer: str = "",
        take_from: str | None = None,
    ) -> bool:
        """Move a post to `revealing` (one caller wins); a `revealing` one whose lease ran out
        (or held by `take_from`, a claimer known to be dead) may be retaken.

        Whether the answer window has closed is the caller's decision: a `posted` post may be
        revealed early.
        """
        statement = (
            update(DailyPostRow)
            .where(
                DailyPostRow.id == post_id,
                or_(
                    DailyPostRow.state == PostState.POSTED.value,
                    and_(
                        DailyPostRow.state == PostState.REVEALING.value,
                        _held_by_the_dead(now, take_from),
                    ),
                ),
            )
            .values(state=PostState.REVEALING.value, lease_until=now + lease, claimer=claimer)
            .returning(DailyPostRow.id)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            claimed = await session.scalar(statement)
        return claimed is not None

    async def mark_revealed(self, post_id: int, at: datetime, *, error: str | None = None) -> None:
        """Record that the reveal was posted, or with `error` that it was refused for good (the
        reveal step is over either way; `revealed_at` then stays empty).
        """
        if error is None:
            await self._move_post(
                post_id,
                from_states=(PostState.REVEALING,),
                state=PostState.REVEALED,
                revealed_at=at,
            )
        else:
            await self._move_post(
                post_id, from_states=(PostState.REVEALING,), state=PostState.REVEALED, error=error
            )

    # -- answers ------------------------------------------------------------------------------

    async def record_daily_attempt(self, attempt: NewAttempt, post_id: int) -> Attempt | None:
        """Store a member's answer to a daily post; None if they already have one for it.

        The answer is stored with source `daily` and the post's channel. Raises ValueError when
        the post does not exist or belongs to another platform or workspace than the member.
        """
        async with self._write() as session:
            # The user upsert comes first, as in record_attempt: it takes SQLite's write lock
            # before any read, so the transaction never has to upgrade a read snapshot.
            user_pk = await self._ensure_user(session, attempt.user, attempt.created_at)
            post_channel = await session.scalar(
                select(DailyPostRow.channel).where(
                    DailyPostRow.id == post_id,
                    DailyPostRow.platform == attempt.user.platform,
                    DailyPostRow.workspace == attempt.user.workspace,
                )
            )
            if post_channel is None:
                scope = f"{attempt.user.platform}:{attempt.user.workspace}"
                raise ValueError(f"no daily post {post_id} in workspace {scope}")
            daily = dataclasses.replace(attempt, source=Source.DAILY, channel=post_channel)
            return await self._insert_attempt(session, user_pk, daily, daily_post_id=post_id)

    async def daily_answer(self, post_id: int, user: UserRef) -> Attempt | None:
        """Return the user's stored answer to a daily post, if any."""
        query = (
            select(AttemptRow, UserRow)
            .join(UserRow, AttemptRow.user_id == UserRow.id)
            .where(AttemptRow.daily_post_id == post_id, is_user(user))
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).one_or_none()
        return None if found is None else attempt_from_row(*found)

    async def daily_results(self, post_id: int) -> Sequence[DailyResult]:
        """Return every scored answer to a post, best first (earlier answer wins a tie)."""
        # Only the columns a ranking shows: the answer text never leaves the database here.
        query = (
            select(
                UserRow.user_id,
                UserRow.display_name,
                AttemptRow.score,
                AttemptRow.covered,
                AttemptRow.created_at,
            )
            .join(UserRow, AttemptRow.user_id == UserRow.id)
            .where(AttemptRow.daily_post_id == post_id)
            .order_by(AttemptRow.score.desc(), AttemptRow.created_at, AttemptRow.id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            DailyResult(
                user_id=row.user_id,
                display_name=row.display_name,
                score=row.score,
                covered=tuple(row.covered),
                answered_at=row.created_at,
            )
            for row in rows
        ]

    async def daily_history(
        self, channel: ChannelRef, user: UserRef, limit: int
    ) -> Sequence[tuple[date, int | None]]:
        """Return the channel's last `limit` posted days, newest first, with the user's score."""
        if limit <= 0:
            return []
        # Scoping the user inside the join condition keeps the outer join: a day the member
        # skipped is still a row, with a NULL score.
        query = (
            select(DailyPostRow.local_date, AttemptRow.score)
            .outerjoin(
                AttemptRow,
                and_(
                    AttemptRow.daily_post_id == DailyPostRow.id,
                    AttemptRow.user_id == user_pk_of(user),
                ),
            )
            .where(
                is_channel(channel),
                DailyPostRow.state.in_([state.value for state in HISTORY_STATES]),
            )
            .order_by(DailyPostRow.local_date.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [(row.local_date, row.score) for row in rows]

    # -- helpers ------------------------------------------------------------------------------

    async def _move_post(
        self, post_id: int, *, from_states: Sequence[PostState], state: PostState, **values: object
    ) -> None:
        """Move a post to `state` if it is in one of `from_states`; otherwise leave it alone.

        The lease ends with the step it guarded. A late or repeated call (a claimer that lost
        its lease, a retried reveal) cannot move a post backwards.
        """
        statement = (
            update(DailyPostRow)
            .where(
                DailyPostRow.id == post_id,
                DailyPostRow.state.in_([source.value for source in from_states]),
            )
            .values(state=state.value, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            await session.execute(statement)

    async def _one_post(self, query: Select[Any]) -> DailyPost | None:
        posts = await self._posts(query)
        return posts[0] if posts else None

    async def _posts(self, query: Select[Any]) -> list[DailyPost]:
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [post_from_row(row) for row in rows]


def _posted_question_ids(channel: ChannelRef) -> Select[str]:
    return (
        select(DailyPostRow.question_id)
        .where(is_channel(channel))
        .order_by(DailyPostRow.local_date.desc())
    )


def is_channel(channel: ChannelRef) -> ColumnElement[bool]:
    """A condition matching the daily posts of one channel."""
    return and_(
        DailyPostRow.platform == channel.platform,
        DailyPostRow.workspace == channel.workspace,
        DailyPostRow.channel == channel.channel,
    )


def is_slot(channel: ChannelRef, local_date: date) -> ColumnElement[bool]:
    """A condition matching the channel's post of one local date."""
    return and_(is_channel(channel), DailyPostRow.local_date == local_date)


def is_stale(state: PostState, now: datetime) -> ColumnElement[bool]:
    """A condition matching posts in `state` whose lease ran out before `now`."""
    return and_(DailyPostRow.state == state.value, DailyPostRow.lease_until < now)


def _held_by_the_dead(now: datetime, take_from: str | None) -> ColumnElement[bool]:
    """A claim whose lease ran out, or one held by `take_from` (a run known to have died)."""
    if take_from is None:
        return DailyPostRow.lease_until < now
    return or_(DailyPostRow.lease_until < now, DailyPostRow.claimer == take_from)


def is_revealable(now: datetime) -> ColumnElement[bool]:
    """A condition matching posts whose answer window closed, or whose revealer died."""
    return or_(
        and_(DailyPostRow.state == PostState.POSTED.value, DailyPostRow.closes_at <= now),
        is_stale(PostState.REVEALING, now),
    )


def post_from_row(row: DailyPostRow) -> DailyPost:
    """The DailyPost a daily_posts row describes."""
    if row.closes_at is None:
        # Every claim_post sets it; only a row written around the store lacks one.
        raise ValueError(f"daily post {row.id} has no closes_at")
    return DailyPost(
        id=row.id,
        channel=ChannelRef(row.platform, row.workspace, row.channel),
        local_date=row.local_date,
        question_id=row.question_id,
        state=PostState(row.state),
        claimed_at=row.claimed_at,
        first_claimed_at=row.first_claimed_at,
        claimer=row.claimer,
        lease_until=row.lease_until,
        closes_at=row.closes_at,
        message_id=row.message_id,
        posted_at=row.posted_at,
        revealed_at=row.revealed_at,
        error=row.error,
    )


def subscription_from_row(row: DailySubscriptionRow) -> Subscription:
    """The Subscription a daily_subscriptions row describes."""
    window = row.answer_window_minutes
    return Subscription(
        channel=ChannelRef(row.platform, row.workspace, row.channel),
        post_time=time.fromisoformat(row.post_time),
        timezone=row.timezone,
        topics=tuple(row.topics),
        difficulty_mix=tuple(
            (Difficulty(level), weight) for level, weight in row.difficulty_mix.items()
        ),
        answer_window=None if window is None else timedelta(minutes=window),
        enabled=row.enabled,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


def post_time_text(post_time: time) -> str:
    """The "HH:MM" column value of a post time; seconds would be lost, so they are refused."""
    if post_time.second or post_time.microsecond:
        raise ValueError(f"post time {post_time} has seconds; daily posts run on whole minutes")
    return post_time.strftime(POST_TIME_FORMAT)


def window_minutes(window: timedelta | None) -> int | None:
    """The whole minutes of an answer window (None stays None); parts of a minute are refused."""
    if window is None:
        return None
    minutes, remainder = divmod(window, timedelta(minutes=1))
    if remainder or minutes <= 0:
        raise ValueError(f"answer window {window} is not a positive whole number of minutes")
    return int(minutes)


def difficulty_mix_json(mix: Sequence[tuple[Difficulty, int]]) -> dict[str, int]:
    """The JSON object of a difficulty mix, in the caller's order; a repeated level is refused."""
    levels = {level.value: weight for level, weight in mix}
    if len(levels) != len(mix):
        raise ValueError(f"difficulty mix {mix} names a level twice")
    return levels
