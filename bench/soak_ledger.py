"""The soak's records and its ledger: what members sent and saw, what the faults were, what the
database holds at the end, and the checks that turn them into figures and problems.

Kept apart from `soak.py`, which drives the run, so the rules of the ledger read in one place.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.engine.outbox import decode_replies
from bot.engine.reply import ActionKind, Reply
from storage.database import parse_database_url
from storage.tables import AttemptRow, DailyPostRow, StoredRepliesRow

UNREACHABLE_TEXT: Final = "I can't reach my database"
"""What the bot says when its database is down (bot.engine.errors.StorageUnavailableError)."""
GRADED_PATTERN: Final = re.compile(r"Score \d+/100")
QUESTION_PATTERN: Final = re.compile(r"Question (\d+) of (\d+)")
NOT_LETTERS: Final = re.compile(r"[^A-Za-z0-9]")
TAG_PATTERN: Final = re.compile(r"soakref ([A-Z]\d+)")
"""The marker each answer carries, stored with its attempt: answer and attempt match by it."""
CUT_OFF_SECONDS: Final = 5.0
"""A request the bot accepted this long before a SIGKILL, unanswered, was cut off by it."""
SPILL_SECONDS: Final = 3.0
"""After a fault is over, replies this late may still carry its mark."""
DEADLINE_SECONDS: Final = 3.0
"""Slack's ack deadline and Discord's first-response deadline."""
SETTLED_STATES: Final = frozenset({"posted", "revealing", "revealed", "failed"})
REVEAL_PENDING_STATES: Final = frozenset({"posted", "revealing"})
SUMMARY_FIELD_CHARS: Final = 40
"""How much of each summary field a stored summary is matched by (platforms cut long ones)."""


class Route(StrEnum):
    """Where a member asks: a slash command in a channel, or a message in the bot's DM."""

    SLACK_SLASH = "Slack /awsquiz"
    SLACK_DM = "Slack DM"
    DISCORD_SLASH = "Discord /awsquiz"
    DISCORD_DM = "Discord DM"


class Intent(StrEnum):
    """What a request asks for."""

    ASK = "ask"
    ANSWER = "answer"
    INTERVIEW = "interview"


class Said(StrEnum):
    """What one message the member saw says."""

    GRADED = "graded"
    UNREACHABLE = "database unreachable"
    QUESTION = "question"
    SUMMARY = "summary"
    OVERTAKEN = "already taken care of"
    OTHER = "other"


class FaultKind(StrEnum):
    """The faults the soak injects."""

    KILL = "SIGKILL + restart"
    DATABASE = "database cut"
    SLACK_429 = "Slack 429 burst"
    DISCORD_429 = "Discord 429 burst"
    EXIT = "bot exited by itself"
    """Not injected: the bot process ended on its own (and was restarted)."""


DM_ROUTES: Final = frozenset({Route.SLACK_DM, Route.DISCORD_DM})
Problem = tuple[str, str]
"""(category, what happened)."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One message a member saw: when (soak seconds), what it said, and, for an interview's
    question, the key that tells a second showing of it (`interview id#number/count`)."""

    at: float
    said: Said
    title: str
    question_key: str | None = None
    text: str = ""
    """The whole message as JSON, kept for summaries only (matched to stored ones by text)."""
    after_notice: bool = False
    """A question shown right after "Already taken care of": where the interview is now, not
    the next step of an answer."""
    late: bool = False
    """A question first shown after a later one of the member's interviews: out of order."""


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The replies the bot stored for one DM message (event id), as the ledger reads them."""

    event_id: str
    next_key: str | None
    """The key of the interview question the replies ask next, if they ask one."""
    summary: tuple[str, ...]
    """The interview summary they end with, if they do: its text and the starts of its fields,
    all of which its message shows."""
    graded: bool
    sent: bool


@dataclass(slots=True)
class Exchange:
    """One request a member made and everything that came back to it."""

    route: Route
    member: str
    intent: Intent
    key: str
    """The platform's id for the request: response_url token, event id, interaction token."""
    tag: str | None
    """An answer's marker (`soakref A000123`), found again in its attempt row."""
    sent_at: float
    accepted_at: float | None = None
    """When the bot took the request (HTTP 200, or the gateway frame went out)."""
    refused: str | None = None
    """Why the request never reached the bot, if it did not."""
    deliveries: list[str] = field(default_factory=list)
    """Each delivery to the bot (Slack's retries and gateway replays too): when, how it went."""
    ack_seconds: float | None = None
    first_response_seconds: float | None = None
    seen: list[Seen] = field(default_factory=list)
    closed_at: float | None = None
    """When the member stopped waiting."""
    answering: str | None = None
    """In an interview: the key of the question the member meant to answer."""
    outcome: Seen | None = None
    """The reply that ended the member's wait, if one did."""

    def count(self, said: Said) -> int:
        """How many messages of this kind the member saw for this request."""
        return sum(1 for message in self.seen if message.said is said)

    @property
    def redeliveries(self) -> int:
        """Deliveries beyond the first."""
        return max(0, len(self.deliveries) - 1)

    def story(self) -> str:
        """Its deliveries and replies in time order, for a problem's line."""
        replies = [f"{m.at:.2f} s saw {m.title!r}" for m in self.seen]
        return f"[sent {self.sent_at:.2f} s; {'; '.join([*self.deliveries, *replies])}]"


@dataclass(slots=True)
class Fault:
    """One injected fault, from its start to the moment it was over (the bot serving again,
    the database back, the burst served)."""

    kind: FaultKind
    started: float
    ended: float | None = None
    detail: str = ""
    restarts_refused: int = 0
    """After an exit of its own: restarts that failed at start-up (the database still down)."""


@dataclass(frozen=True, slots=True)
class DailyDue:
    """A channel's daily question that falls due inside the run."""

    platform: str
    channel: str
    due: datetime


@dataclass(frozen=True, slots=True)
class DailyRow:
    """A daily_posts row, as the ledger needs it."""

    post_id: int
    platform: str
    channel: str
    state: str
    closes_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredRecords:
    """What the database holds at the end."""

    attempts_by_tag: Counter[str]
    attempts_untagged: int
    stored_replies: Mapping[str, StoredReply]
    """By event id."""
    daily_rows: tuple[DailyRow, ...]


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything the ledger reads, gathered once at the end of the run."""

    exchanges: Sequence[Exchange]
    dm_streams: Mapping[str, Sequence[Seen]]
    """Every message the bot posted in each member's DM, in order, by member."""
    faults: Sequence[Fault]
    stored: StoredRecords
    daily_due: Sequence[DailyDue]
    posts_seen: Counter[tuple[str, str]]
    """Daily question messages per (platform, channel), as the platforms' doubles hold them."""
    post_sends: Counter[tuple[str, str]]
    """Daily question sends each platform took: Discord folds a repeated nonce into one."""
    reveals_seen: Counter[int]
    """Reveal messages per daily post id."""
    reveals_due_by: datetime
    """Posts whose answers closed before this must have their reveal."""
    load_seconds: float


@dataclass(slots=True)
class Ledger:
    """Figures to print, and problems with the kind each is of."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def figure(self, text: str) -> None:
        """A line of figures."""
        self.lines.append(text)

    def problem(self, category: str, text: str) -> None:
        """A problem: the verdict counts it, by category."""
        self.problems.append(text)
        self.categories.append(category)


def classify(text: str) -> Said:
    """What a rendered reply (Slack blocks or Discord embeds, as JSON text) says."""
    if UNREACHABLE_TEXT in text:
        return Said.UNREACHABLE
    if GRADED_PATTERN.search(text):
        return Said.GRADED
    if "Interview summary" in text:
        return Said.SUMMARY
    if "Already taken care of" in text:
        return Said.OVERTAKEN
    if QUESTION_PATTERN.search(text) or "awsquiz_answer" in text or "awsquiz:answer:" in text:
        return Said.QUESTION
    return Said.OTHER


def question_key(interview: str, number: int, count: int) -> str:
    """An interview question's identity."""
    return f"{interview}#{number}/{count}"


def predecessor(key: str) -> str | None:
    """The key of the question before `key`; None for an interview's first."""
    interview, _, place = key.rpartition("#")
    number, _, count = place.partition("/")
    if int(number) <= 1:
        return None
    return question_key(interview, int(number) - 1, int(count))


def is_behind(key: str, current: str | None, stream: Sequence[Seen]) -> bool:
    """Whether question `key` comes before `current` (the member's newest): earlier in the
    same interview, or of an interview the member had moved on from."""
    if current is None:
        return False
    interview, number = _place(key)
    now_interview, now_number = _place(current)
    if interview == now_interview:
        return number <= now_number
    return any(m.question_key and _place(m.question_key)[0] == interview for m in stream)


def _place(key: str) -> tuple[str, int]:
    interview, _, place = key.rpartition("#")
    return interview, int(place.partition("/")[0])


def successor(key: str) -> str | None:
    """The key of the question after `key`; None after the last (a summary comes)."""
    interview, _, place = key.rpartition("#")
    number, _, count = place.partition("/")
    if int(number) >= int(count):
        return None
    return question_key(interview, int(number) + 1, int(count))


def read_message(at: float, body: object, *, after_notice: bool = False) -> Seen:
    """What a member sees in a message the bot sent (Slack blocks or a Discord message)."""
    text = json.dumps(body)
    said = classify(text)
    key = None
    if said is Said.QUESTION:
        numbered = QUESTION_PATTERN.search(text)
        stop = _stop_value(body)
        if numbered and stop:
            key = question_key(stop, int(numbered.group(1)), int(numbered.group(2)))
    summary = text if said is Said.SUMMARY else ""
    return Seen(at, said, _title(body, said), key, summary, after_notice and key is not None)


def _title(body: object, said: Said) -> str:
    """A short name of a reply for the ledger: its embed title or its fallback text."""
    if isinstance(body, dict):
        embeds = body.get("embeds")
        if isinstance(embeds, list) and embeds and isinstance(embeds[0], dict):
            return str(embeds[0].get("title", said.value))[:60]
        text = body.get("text")
        if isinstance(text, str) and text:
            return text.split(":", 1)[0][:60]
    return said.value


def _stop_value(node: object) -> str | None:
    """The value of the Stop button in Slack blocks or Discord components, if there is one."""
    if isinstance(node, dict):
        if node.get("action_id") == "awsquiz_stop":
            return str(node.get("value"))
        custom = node.get("custom_id")
        if isinstance(custom, str) and custom.startswith("awsquiz:stop:"):
            return custom.removeprefix("awsquiz:stop:")
        children: Iterator[object] = iter(node.values())
    elif isinstance(node, list):
        children = iter(node)
    else:
        return None
    for child in children:
        found = _stop_value(child)
        if found is not None:
            return found
    return None


def stored_reply(event_id: str, replies: Sequence[Reply], sent: bool) -> StoredReply:
    """What one stored_replies row says: the question it asks next, or the summary."""
    next_key = None
    summary: tuple[str, ...] = ()
    for reply in replies:
        numbered = QUESTION_PATTERN.search(reply.title)
        stops = [a.value for a in reply.actions if a.kind is ActionKind.STOP]
        if numbered and stops:
            next_key = question_key(stops[0], int(numbered.group(1)), int(numbered.group(2)))
        elif reply.title.startswith("Interview summary"):
            starts = (f.value[:SUMMARY_FIELD_CHARS] for f in reply.fields)
            summary = (reply.text, *starts)
    graded = any(reply.score is not None for reply in replies)
    return StoredReply(event_id, next_key, summary, graded, sent)


# -- the database at the end --------------------------------------------------------------------


async def read_records(url: str) -> StoredRecords:
    """Attempts by marker, unsent stored replies and the daily posts, read apart from the bot."""
    engine = create_async_engine(parse_database_url(url))
    try:
        async with engine.connect() as connection:
            answers = (await connection.execute(select(AttemptRow.answer))).scalars().all()
            outbox = (
                await connection.execute(
                    select(
                        StoredRepliesRow.event_id,
                        StoredRepliesRow.replies,
                        StoredRepliesRow.sent_at,
                    )
                )
            ).all()
        tags: Counter[str] = Counter()
        untagged = 0
        for answer in answers:
            found = TAG_PATTERN.search(answer)
            if found:
                tags[found.group(1)] += 1
            else:
                untagged += 1
        stored = {
            event_id: stored_reply(event_id, decode_replies(replies), sent_at is not None)
            for event_id, replies, sent_at in outbox
        }
        rows = await read_daily_rows(engine)
        return StoredRecords(tags, untagged, stored, rows)
    finally:
        await engine.dispose()


async def read_daily_rows(engine: AsyncEngine) -> tuple[DailyRow, ...]:
    """Every daily post row."""
    query = select(
        DailyPostRow.id,
        DailyPostRow.platform,
        DailyPostRow.channel,
        DailyPostRow.state,
        DailyPostRow.closes_at,
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return tuple(DailyRow(*row) for row in rows)


def daily_pending(
    rows: Sequence[DailyRow], due: Sequence[DailyDue], closed_by: datetime
) -> tuple[int, int]:
    """(due posts not settled yet, reveals due and not made yet)."""
    states = {(row.platform, row.channel): row.state for row in rows}
    posts = sum(1 for d in due if states.get((d.platform, d.channel)) not in SETTLED_STATES)
    reveals = sum(
        1
        for row in rows
        if row.state in REVEAL_PENDING_STATES
        and row.closes_at is not None
        and row.closes_at <= closed_by
    )
    return posts, reveals


# -- the ledger ---------------------------------------------------------------------------------


def build_ledger(observed: Observed) -> Ledger:
    """Every check of the soak, in the order they print."""
    ledger = Ledger()
    faults = [fault for fault in observed.faults if fault.ended is not None]
    _exit_checks(ledger, observed.faults)
    _answer_checks(ledger, observed, faults)
    _duplicate_checks(ledger, observed)
    _daily_checks(ledger, observed)
    _recovery_figures(ledger, observed, faults)
    return ledger


def _exit_checks(ledger: Ledger, faults: Sequence[Fault]) -> None:
    """A bot that ended by itself (not killed, not stopped) is a problem each time."""
    for fault in faults:
        if fault.kind is FaultKind.EXIT:
            failed = fault.restarts_refused
            refused = f"; {failed} restarts failed at start" if failed else ""
            ledger.problem(
                "bot exited by itself", f"at {fault.started:.1f} s, {fault.detail}{refused}"
            )


def _answer_checks(ledger: Ledger, observed: Observed, faults: Sequence[Fault]) -> None:
    """Per route: answers sent, graded, seen, and what explains the others; then figures."""
    tags = observed.stored.attempts_by_tag
    ledger.figure(
        f"{'answers':<17} {'sent':>5} {'graded':>7} {'seen':>5} {'refused in fault':>17} "
        f"{'cut off by kill':>16} {'problems':>9}"
    )
    for route in Route:
        answers = [e for e in observed.exchanges if e.route is route and e.intent is Intent.ANSWER]
        tally: Counter[str] = Counter()
        seen = 0
        for exchange in answers:
            if route in DM_ROUTES:
                told, problems = _dm_answer(exchange, observed)
            else:
                told, problems = _slash_answer(exchange, tags[exchange.tag or ""])
            seen += told > 0
            if told or tags[exchange.tag or ""]:
                outcome = "problem" if problems else "ok"
            else:
                outcome, problem = _unanswered(exchange, faults)
                problems = [problem] if problem else []
            tally[outcome] += 1
            for category, detail in problems:
                ledger.problem(
                    category,
                    f"{route} answer {exchange.tag} by {exchange.member}: {detail}"
                    f"{_nearest(exchange, faults)} {exchange.story()}",
                )
        graded = sum(1 for e in answers if tags[e.tag or ""])
        ledger.figure(
            f"{route:<17} {len(answers):>5} {graded:>7} {seen:>5} {tally['refused']:>17} "
            f"{tally['cut off']:>16} {tally['problem']:>9}"
        )
    others = [e for e in observed.exchanges if e.intent is not Intent.ANSWER]
    shown = sum(1 for e in others if e.count(Said.QUESTION))
    ledger.figure(f"asks and interview starts: {len(others)}, a question shown for {shown}")
    ledger.figure(
        "redeliveries (Slack retries, gateway replays): "
        f"{sum(e.redeliveries for e in observed.exchanges)}"
    )
    acks = [e.ack_seconds for e in observed.exchanges if e.ack_seconds is not None]
    firsts = [
        e.first_response_seconds for e in observed.exchanges if e.first_response_seconds is not None
    ]
    for name, values in (("Slack ack", acks), ("Discord first response", firsts)):
        if len(values) < 2:
            continue
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        late = sum(1 for value in values if value > DEADLINE_SECONDS)
        ledger.figure(
            f"{name}: p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms, "
            f"{late} past the 3 s deadline"
        )
    grades = sum(
        1 for stream in observed.dm_streams.values() for m in stream if m.said is Said.GRADED
    )
    grades += sum(e.count(Said.GRADED) for e in observed.exchanges if e.route not in DM_ROUTES)
    rate = grades / max(observed.load_seconds, 1.0)
    ledger.figure(f"grades seen: {grades} ({rate:.1f}/s over {observed.load_seconds:.0f} s)")
    if observed.stored.attempts_untagged:
        ledger.figure(f"attempts without a soak marker: {observed.stored.attempts_untagged}")
    unsent = sum(1 for row in observed.stored.stored_replies.values() if not row.sent)
    late = sum(1 for stream in observed.dm_streams.values() for m in stream if m.late)
    ledger.figure(
        f"stored DM replies never marked sent: {unsent}; interview questions first shown out "
        f"of order (after a later one): {late}"
    )


def _slash_answer(exchange: Exchange, stored: int) -> tuple[int, list[Problem]]:
    """How often the grade was shown (its own response_url or interaction), and problems."""
    told = exchange.count(Said.GRADED)
    problems: list[Problem] = []
    if told and not stored:
        problems.append(("grade shown, not stored", "a grade was shown, no attempt stored"))
    if stored and not told:
        problems.append(("graded, never told", "graded (attempt stored), grade never shown"))
    if told > 1:
        problems.append(("grade shown twice", f"grade shown {told} times"))
    if stored > 1:
        problems.append(("answer graded twice", f"graded {stored} times (attempt rows)"))
    return told, problems


def _dm_answer(exchange: Exchange, observed: Observed) -> tuple[int, list[Problem]]:
    """How often the DM answer's replies were shown, and problems.

    The replies the bot stored for the message (by its event id) name the question they ask
    next: that question's showings in the member's DM are this answer's, wherever they fell.
    """
    stored = observed.stored.attempts_by_tag[exchange.tag or ""]
    row = observed.stored.stored_replies.get(exchange.key)
    problems: list[Problem] = []
    if stored > 1:
        problems.append(("answer graded twice", f"graded {stored} times (attempt rows)"))
    if row is None or not row.graded:
        if stored:
            problems.append(("graded, no stored reply", "graded, but no replies were stored"))
        return 0, problems
    stream = observed.dm_streams.get(exchange.member, ())
    shown = _showings(row, stream)
    if not stored:
        problems.append(("grade shown, not stored", "replies stored, no attempt stored"))
    if not shown:
        state = "marked sent" if row.sent else "never marked sent"
        if exchange.count(Said.UNREACHABLE):
            problems.append(
                (
                    "graded, told to retry",
                    "graded and its replies stored, but the member was told the database was "
                    f"unreachable; the replies were never shown ({state})",
                )
            )
        else:
            problems.append(
                ("graded, never told", f"graded, the grade never reached the DM ({state})")
            )
    if len(shown) > 1:
        times = ", ".join(f"{at:.2f} s" for at in shown)
        what = "grade and summary" if row.summary else "grade and next question"
        problems.append(("reply shown twice", f"{what} shown {len(shown)} times ({times})"))
    if _graded_elsewhere(exchange, row, stream):
        problems.append(
            (
                "graded against another question",
                f"meant for {exchange.answering}, graded as the answer to "
                f"{predecessor(row.next_key or '') or 'another question'}, which the member "
                "had been shown",
            )
        )
    return len(shown), problems


def _graded_elsewhere(exchange: Exchange, row: StoredReply, stream: Sequence[Seen]) -> bool:
    """Whether the answer counted for another question than the one the member answered,
    one the member had been shown (a question they never saw follows a lost reply: that
    loss is the problem, counted on its own answer)."""
    if exchange.answering is None or row.next_key is None:
        return False
    if successor(exchange.answering) == row.next_key:
        return False
    graded_for = predecessor(row.next_key)
    return any(m.question_key == graded_for and m.at <= exchange.sent_at for m in stream)


def _showings(row: StoredReply, stream: Sequence[Seen]) -> list[float]:
    """When the member was shown what `row` asks next (its question, or its summary)."""
    if row.next_key is not None:
        return [m.at for m in stream if m.question_key == row.next_key and not m.after_notice]
    if not row.summary:
        return []
    fragments = [_letters(json.dumps(part)) for part in row.summary]
    return [
        m.at
        for m in stream
        if m.said is Said.SUMMARY and all(part in _letters(m.text) for part in fragments)
    ]


def _letters(text: str) -> str:
    """Only the letters and digits of JSON text, Slack's entities read back first: what a
    platform's escaping (markdown backslashes, `&amp;`) leaves the same."""
    unescaped = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return NOT_LETTERS.sub("", unescaped)


def _unanswered(exchange: Exchange, faults: Sequence[Fault]) -> tuple[str, Problem | None]:
    """For an answer neither graded nor told: ("refused" | "cut off" | "problem", problem).

    A fault explains it when the bot was down as it was sent, the database was cut, or a
    SIGKILL came just after the bot took it; otherwise it is lost.
    """
    if _bot_down(exchange.sent_at, faults):
        return "refused", None  # a later retry may have got in: it met the fault all the same
    if exchange.refused is not None:
        return "problem", ("refused outside a fault", f"never reached the bot ({exchange.refused})")
    end = exchange.closed_at if exchange.closed_at is not None else exchange.sent_at
    if exchange.count(Said.UNREACHABLE):
        if _overlaps(exchange.sent_at, end, faults, FaultKind.DATABASE):
            return "refused", None
        return "problem", ("database refusal outside an outage", "told the database is down")
    accepted = exchange.accepted_at if exchange.accepted_at is not None else exchange.sent_at
    if _killed_around(accepted, faults):
        return "cut off", None
    if exchange.count(Said.OVERTAKEN):
        if _overlaps(exchange.sent_at, end, faults, None):
            return "refused", None
        return "problem", (
            "overtaken by another delivery",
            "not graded: told another of the member's messages got to the question first",
        )
    said = {m.title for m in exchange.seen if m.said is Said.OTHER}
    if said:
        if _overlaps(exchange.sent_at, end, faults, None):
            return "refused", None
        return "problem", ("not graded", f"not graded; the member saw: {', '.join(sorted(said))}")
    if _overlaps(exchange.sent_at, end, faults, FaultKind.DATABASE):
        return "refused", None
    return "problem", ("no reply at all", "accepted, no reply and no grade")


def _duplicate_checks(ledger: Ledger, observed: Observed) -> None:
    """Interview questions shown twice that no DM answer accounts for (an interview's first)."""
    owned = {row.next_key for row in observed.stored.stored_replies.values() if row.next_key}
    doubled = 0
    for member, stream in observed.dm_streams.items():
        shown = Counter(m.question_key for m in stream if m.question_key is not None)
        for key, count in shown.items():
            if count > 1 and key not in owned:
                doubled += 1
                ledger.problem(
                    "question shown twice",
                    f"interview question {key} shown to {member} {count} times",
                )
    counted = Counter(ledger.categories)
    ledger.figure(
        f"duplicates: {counted['answer graded twice']} answers graded twice, "
        f"{counted['grade shown twice'] + counted['reply shown twice']} grades shown twice, "
        f"{doubled} other interview questions shown twice"
    )


def _daily_checks(ledger: Ledger, observed: Observed) -> None:
    """Each due daily post exactly once in its channel, each due reveal exactly once."""
    rows = {(row.platform, row.channel): row for row in observed.stored.daily_rows}
    once = 0
    for due in observed.daily_due:
        where = (due.platform, due.channel)
        seen = observed.posts_seen[where]
        once += seen == 1
        if seen == 0:
            row = rows.get(where)
            ledger.problem(
                "daily post missing",
                f"daily {due.platform}:{due.channel} due {due.due:%H:%M} UTC never posted "
                f"(database: {row.state if row else 'no row'})",
            )
        elif seen > 1:
            ledger.problem(
                "daily post twice", f"daily {due.platform}:{due.channel} posted {seen} times"
            )
        elif (row := rows.get(where)) is not None and row.state == "claimed":
            # Members see the question, but answers to it are refused as closed, and its
            # reveal waits, until a sweep takes the stale claim over (after the lease).
            ledger.problem(
                "daily post shown, not recorded",
                f"daily {due.platform}:{due.channel} is in the channel but still `claimed` "
                "in the database at the end",
            )
    extra = sum(
        max(0, observed.post_sends[(d.platform, d.channel)] - 1) for d in observed.daily_due
    )
    ledger.figure(
        f"daily posts: {len(observed.daily_due)} due, {once} posted exactly once; "
        f"sends beyond one per channel: {extra}"
    )
    closed = [
        row
        for row in observed.stored.daily_rows
        if row.state != "failed" and row.closes_at is not None
    ]
    due_reveals = [
        row for row in closed if row.closes_at and row.closes_at <= observed.reveals_due_by
    ]
    revealed_once = 0
    for row in due_reveals:
        seen = observed.reveals_seen[row.post_id]
        revealed_once += seen == 1
        if seen == 0:
            ledger.problem(
                "reveal missing",
                f"reveal of daily post {row.post_id} ({row.platform}:{row.channel}), closed "
                f"{row.closes_at:%H:%M:%S} UTC, never posted (database: {row.state})",
            )
        elif seen > 1:
            ledger.problem(
                "reveal twice",
                f"reveal of daily post {row.post_id} ({row.platform}:{row.channel}) "
                f"posted {seen} times",
            )
    ledger.figure(
        f"reveals: {len(due_reveals)} due, {revealed_once} revealed exactly once; "
        f"{len(closed) - len(due_reveals)} close after the run"
    )


def _recovery_figures(ledger: Ledger, observed: Observed, faults: Sequence[Fault]) -> None:
    """Per fault: from its end to the next grade a member saw for a request sent after it."""
    ledger.figure("recovery (fault over -> first grade seen for a request sent after):")
    for fault in faults:
        end = fault.ended if fault.ended is not None else fault.started
        firsts = [
            message.at
            for exchange in observed.exchanges
            if exchange.sent_at >= end
            for message in exchange.seen
            if message.said is Said.GRADED
        ]
        recovered = f"{min(firsts) - end:.2f} s" if firsts else "no grade after it"
        ledger.figure(
            f"  at {fault.started:6.1f} s  {fault.kind:<17} over after {end - fault.started:5.1f} s"
            f"  recovered in {recovered}  ({fault.detail})"
        )


# -- time windows -------------------------------------------------------------------------------


def _overlaps(start: float, end: float, faults: Iterable[Fault], kind: FaultKind | None) -> bool:
    """Whether [start, end] meets a fault (of `kind`, or any), counting its spill after."""
    return any(
        (kind is None or fault.kind is kind)
        and fault.ended is not None
        and start <= fault.ended + SPILL_SECONDS
        and end >= fault.started
        for fault in faults
    )


def _bot_down(moment: float, faults: Iterable[Fault]) -> bool:
    """Whether the bot was killed (or had exited) and not serving again at `moment`."""
    return any(
        fault.kind in (FaultKind.KILL, FaultKind.EXIT)
        and fault.ended is not None
        and fault.started <= moment <= fault.ended
        for fault in faults
    )


def _killed_around(accepted: float, faults: Iterable[Fault]) -> bool:
    """Accepted shortly before a SIGKILL, or by the dying process before the restart."""
    return any(
        fault.kind in (FaultKind.KILL, FaultKind.EXIT)
        and fault.ended is not None
        and fault.started - CUT_OFF_SECONDS <= accepted <= fault.ended
        for fault in faults
    )


def _nearest(exchange: Exchange, faults: Iterable[Fault]) -> str:
    """', nearest fault: <kind> at N s' for a problem's line."""
    nearest = min(faults, key=lambda f: abs(f.started - exchange.sent_at), default=None)
    if nearest is None:
        return ""
    return f"; nearest fault: {nearest.kind} at {nearest.started:.1f} s"
