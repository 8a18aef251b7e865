"""Parse the text of `/awsquiz` into a command value; the handlers act on it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from bot.adapters.slack.entities import decode
from bot.engine.model import Difficulty
from bot.engine.quiz import Period

DIFFICULTIES: Final = frozenset(d.value for d in Difficulty)
ALL_TIME_WORDS: Final = frozenset({"all", "alltime", "all-time", "all time", "ever"})
CHANNEL_WORDS: Final = frozenset({"here", "channel"})
"""A last word of `leaderboard` that narrows it to this channel."""
MAX_TOPIC_WORDS: Final = 6
"""The longest topic phrase tried when splitting interview topics (bounds is_topic calls)."""
MAX_SPLIT_WORDS: Final = 40
"""Beyond this many words no topic lookup is tried: each word is a topic, for the engine."""
VENDOR_WORDS: Final = frozenset({"aws", "amazon"})
"""Dropped when splitting topics: 'aws lambda' is lambda, and 'amazon' alone names nothing."""
MAX_COUNT_DIGITS: Final = 6
"""A longer 'number' is not a question count (and int() of thousands of digits fails)."""

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_HEAD = re.compile(r"(\S+)\s*(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask me a question, optionally of one topic and difficulty (unvalidated words)."""

    topic: str | None = None
    difficulty: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the open question with this text, verbatim."""

    text: str


@dataclass(frozen=True, slots=True)
class Hint:
    """Reveal a key concept of the open question."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Skip the open question and see its reference answer."""


@dataclass(frozen=True, slots=True)
class Topics:
    """List the topics."""


@dataclass(frozen=True, slots=True)
class Stats:
    """Show statistics: mine, or those of the mentioned member."""

    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """Show the leaderboard of a period (a word for the engine's parse_period), of the whole
    workspace or, with `here`, of this channel only.
    """

    period: str = Period.WEEK.value
    here: bool = False


@dataclass(frozen=True, slots=True)
class Interview:
    """Start a mock interview over these topics (none: all) with this many questions."""

    topics: tuple[str, ...] = ()
    questions: int | None = None


@dataclass(frozen=True, slots=True)
class DailyOn:
    """Post a daily question in this channel at a local time (unvalidated words)."""

    time: str
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class DailyOff:
    """Stop the channel's daily question."""


@dataclass(frozen=True, slots=True)
class DailyStatus:
    """Describe the channel's daily question."""


@dataclass(frozen=True, slots=True)
class Forget:
    """Forget me: say what would be deleted and ask to confirm; with `confirm`, delete it."""

    confirm: bool = False


@dataclass(frozen=True, slots=True)
class Help:
    """Show the help, saying which word was not understood, if any."""

    unknown: str | None = None


Command: TypeAlias = (
    Ask
    | Answer
    | Hint
    | Skip
    | Topics
    | Stats
    | Leaderboard
    | Interview
    | DailyOn
    | DailyOff
    | DailyStatus
    | Forget
    | Help
)

HELP_TEXT: Final = """\
*How to use /awsquiz*
• `/awsquiz` ask me a question on any topic
• `/awsquiz ask [topic] [basic|advanced|interview]` or just `/awsquiz lambda advanced`
• `/awsquiz answer <your answer>` answer the open question (or press *Answer*)
• `/awsquiz hint` reveal a key concept (costs points) · `/awsquiz skip` see the reference answer
• `/awsquiz topics` list the topics
• `/awsquiz stats [@someone]` your statistics, or someone else's
• `/awsquiz leaderboard [week|month|all] [here]` the ranking (default: week, whole \
workspace; `here`: this channel only)
• `/awsquiz interview [topics] [n]` a mock interview in direct messages, \
e.g. `/awsquiz interview lambda, s3 5`
• `/awsquiz daily on HH:MM [Area/City]` a daily question in this channel, \
e.g. `/awsquiz daily on 09:30 Europe/London`
• `/awsquiz daily off` · `/awsquiz daily status`
• `/awsquiz forget` delete everything awsquiz keeps about you in this workspace \
(it asks you to confirm first)
• `/awsquiz help` this message"""


def parse(text: str, is_topic: Callable[[str], bool]) -> Command:
    """Read the text of `/awsquiz`, entity-escaped as Slack sends it, into a command.

    is_topic says whether a phrase names a known topic. The command's values are decoded: they
    read as the member typed them.
    """
    match = _HEAD.fullmatch(text.strip())
    if match is None:
        return Ask()
    head, rest = decode(match.group(1)), match.group(2)
    word = head.lower()
    if word == "stats":
        # Mentions are read before decoding: a typed '<@U1>' arrives as '&lt;@U1&gt;', no mention.
        return _stats(rest)
    rest = decode(rest)
    words = rest.split()
    if word == "ask":
        return _ask(words)
    if word == "answer":
        return Answer(rest)
    if word == "hint":
        return Hint()
    if word == "skip":
        return Skip()
    if word == "topics":
        return Topics()
    if word == "leaderboard":
        return _leaderboard(words)
    if word == "interview":
        return _interview(words, is_topic)
    if word == "daily":
        return _daily(words)
    if word == "forget":
        return _forget(words)
    if word == "help":
        return Help()
    return _topic_shortcut([head, *words], is_topic) or Help(unknown=head)


def _ask(words: Sequence[str]) -> Ask:
    """'[topic words...] [difficulty]': the last word is a difficulty when it names one."""
    difficulty: str | None = None
    if words and words[-1].lower() in DIFFICULTIES:
        difficulty = words[-1].lower()
        words = words[:-1]
    return Ask(" ".join(words) or None, difficulty)


def _topic_shortcut(words: Sequence[str], is_topic: Callable[[str], bool]) -> Ask | None:
    """'/awsquiz step functions advanced' or '/awsquiz advanced': an ask without 'ask'."""
    ask = _ask(words)
    if ask.topic is None or is_topic(ask.topic):
        return ask
    return None


def _stats(escaped: str) -> Stats | Help:
    if not escaped.strip():
        return Stats()
    mention = _MENTION.fullmatch(escaped.strip())
    # A bare name cannot be looked up reliably; only a real mention names a member.
    return Stats(mention.group(1)) if mention else Help(unknown=decode(escaped.strip()))


def _leaderboard(words: Sequence[str]) -> Leaderboard:
    here = bool(words) and words[-1].lower() in CHANNEL_WORDS
    phrase = " ".join(words[:-1] if here else words).lower()
    if not phrase:
        return Leaderboard(here=here)
    if phrase in ALL_TIME_WORDS:
        return Leaderboard(Period.ALL.value, here)
    # Anything else goes to the engine, whose parse_period lists the choices.
    return Leaderboard(phrase, here)


def _interview(words: Sequence[str], is_topic: Callable[[str], bool]) -> Interview:
    """'[topics] [n]': topics split on commas, or else matched against the known topics."""
    questions: int | None = None
    if words and _is_count(words[-1]):
        questions = int(words[-1])
        words = words[:-1]
    phrase = " ".join(words)
    if "," in phrase:
        topics = tuple(part.strip() for part in phrase.split(",") if part.strip())
    else:
        topics = _split_topics(list(words), is_topic)
    return Interview(topics, questions)


def _split_topics(words: Sequence[str], is_topic: Callable[[str], bool]) -> tuple[str, ...]:
    """Split words into topics: 'lambda s3' -> both, 'step functions' -> one.

    Topic lookup is fuzzy ('lambda s3' alone would match Lambda), so the split into the most
    known topics wins over the whole phrase. With no such split: the whole phrase if it is a
    topic, else the longest known runs, each other word alone for the engine to report.
    """
    words = [word for word in words if word.lower() not in VENDOR_WORDS]
    if not words:
        return ()
    if len(words) > MAX_SPLIT_WORDS:
        return tuple(words)
    known = _memo(is_topic)
    segments = _most_topics(words, known)
    if segments is not None:
        return segments
    whole = " ".join(words)
    if known(whole):
        return (whole,)
    return _longest_runs(words, known)


def _most_topics(words: Sequence[str], known: Callable[[str], bool]) -> tuple[str, ...] | None:
    """The split of all words into the most known topics, or None if there is none."""
    # best[i]: the best split of words[i:], None when words[i:] cannot be split.
    best: list[tuple[str, ...] | None] = [None] * len(words) + [()]
    for start in range(len(words) - 1, -1, -1):
        for stop in range(start + 1, min(len(words), start + MAX_TOPIC_WORDS) + 1):
            rest = best[stop]
            phrase = " ".join(words[start:stop])
            if rest is None or not known(phrase):
                continue
            current = best[start]
            if current is None or len(rest) + 1 > len(current):
                best[start] = (phrase, *rest)
    return best[0]


def _longest_runs(words: Sequence[str], known: Callable[[str], bool]) -> tuple[str, ...]:
    """Greedy split: at each word the longest known topic phrase, else the word alone."""
    topics: list[str] = []
    start = 0
    while start < len(words):
        end = start + 1
        for stop in range(min(len(words), start + MAX_TOPIC_WORDS), start + 1, -1):
            if known(" ".join(words[start:stop])):
                end = stop
                break
        topics.append(" ".join(words[start:end]))
        start = end
    return tuple(topics)


def _memo(is_topic: Callable[[str], bool]) -> Callable[[str], bool]:
    """Ask is_topic once per phrase: lookups are fuzzy, hence not free."""
    answers: dict[str, bool] = {}

    def known(phrase: str) -> bool:
        if phrase not in answers:
            answers[phrase] = is_topic(phrase)
        return answers[phrase]

    return known


def _is_count(word: str) -> bool:
    return word.isascii() and word.isdigit() and len(word) <= MAX_COUNT_DIGITS


def _daily(words: Sequence[str]) -> DailyOn | DailyOff | DailyStatus | Help:
    if not words:
        return DailyStatus()
    sub = words[0].lower()
    if sub == "on" and len(words) in (2, 3):
        return DailyOn(words[1], words[2] if len(words) == 3 else None)
    if sub == "off" and len(words) == 1:
        return DailyOff()
    if sub == "status" and len(words) == 1:
        return DailyStatus()
    return Help(unknown="daily " + " ".join(words))


def _forget(words: Sequence[str]) -> Forget | Help:
    """'forget' asks; 'forget confirm' deletes (the engine checks there was a recent ask)."""
    if not words:
        return Forget()
    if len(words) == 1 and words[0].lower() == "confirm":
        return Forget(confirm=True)
    return Help(unknown="forget " + " ".join(words))
