"""The loaded questions and topics, with loose topic lookup."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Final

from rapidfuzz import fuzz, process

from bot.engine.errors import UnknownDifficultyError, UnknownQuestionError, UnknownTopicError
from bot.engine.grading.typos import vocabulary
from bot.engine.model import Difficulty, Question, Topic
from bot.engine.naming import squash

MIN_PREFIX_LENGTH: Final = 3
FUZZY_TOPIC_CUTOFF: Final = 85
_VENDOR = re.compile(r"^(?:amazon|aws)\s+", re.IGNORECASE)


def _parenthesised(text: str) -> Iterator[str]:
    r"""What stands between each '(' and the next ')', left to right.

    A scan rather than a regex: `\(([^)]*)\)` rescans to the end of the text from every '('
    that is never closed, quadratic in a long heading.
    """
    start = text.find("(")
    while start >= 0:
        end = text.find(")", start + 1)
        if end < 0:
            return
        yield text[start + 1 : end]
        start = text.find("(", end + 1)


class Catalog:
    """Every loaded topic and question, indexed for the engine."""

    def __init__(
        self,
        topics: Sequence[Topic],
        questions: Sequence[Question],
        nicknames: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self.questions: tuple[Question, ...] = tuple(questions)
        self._topics = {topic.id: topic for topic in self.topics}
        self._questions = {question.id: question for question in self.questions}
        self._keys = _match_keys(self.topics, nicknames or {})

    def topic(self, topic_id: str) -> Topic:
        """Return the topic with this id."""
        return self._topics[topic_id]

    def question(self, question_id: str) -> Question:
        """Return the question with this id, or raise UnknownQuestionError."""
        try:
            return self._questions[question_id]
        except KeyError:
            raise UnknownQuestionError(question_id) from None

    def find_topic(self, query: str) -> Topic:
        """Match a topic loosely: 'lambda', 'Step Functions', 'stepfunctions', 'sfn', a typo."""
        key = squash(query)
        if key in self._keys:
            return self._topics[self._keys[key]]
        if len(key) >= MIN_PREFIX_LENGTH:
            prefixed = {tid for k, tid in self._keys.items() if k.startswith(key)}
            if len(prefixed) == 1:
                return self._topics[prefixed.pop()]
            best = process.extractOne(key, list(self._keys), scorer=fuzz.ratio)
            if best is not None and best[1] >= FUZZY_TOPIC_CUTOFF:
                return self._topics[self._keys[best[0]]]
        raise UnknownTopicError(query, [topic.name for topic in self.topics])

    def select(
        self,
        *,
        topic_ids: Collection[str] | None = None,
        difficulty: Difficulty | None = None,
    ) -> tuple[Question, ...]:
        """Return the questions of these topics at this difficulty (None: no filter)."""
        return tuple(
            q
            for q in self.questions
            if (topic_ids is None or q.topic_id in topic_ids)
            and (difficulty is None or q.difficulty == difficulty)
        )

    def vocabulary(self) -> frozenset[str]:
        """The long words the packs write (questions, references, explanations): real words,
        which the grader takes as written rather than as a typo of a rubric word."""
        return vocabulary(
            text for q in self.questions for text in (q.prompt, q.reference, q.explanation)
        )

    def counts(self) -> dict[str, Counter[Difficulty]]:
        """Return, per topic id, how many questions it has at each difficulty."""
        result: dict[str, Counter[Difficulty]] = {t.id: Counter() for t in self.topics}
        for question in self.questions:
            result[question.topic_id][question.difficulty] += 1
        return result


def parse_difficulty(name: str) -> Difficulty:
    """Read a difficulty name typed by a user ('Basic', 'advanced'), or fail listing them."""
    try:
        return Difficulty(name.strip().lower())
    except ValueError:
        raise UnknownDifficultyError(name, [d.value for d in Difficulty]) from None


def _match_keys(topics: Sequence[Topic], nicknames: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Map every squashed spelling of each topic to its id; the first topic wins a clash."""
    keys: dict[str, str] = {}
    for topic in topics:
        spellings = [topic.id, topic.name, topic.full_name, _VENDOR.sub("", topic.name)]
        spellings += topic.nicknames
        for inner in _parenthesised(topic.full_name):
            spellings.append(inner)
            spellings.append("".join(word[0] for word in inner.split() if word[:1].isupper()))
        spellings += [nick for s in spellings for nick in nicknames.get(squash(s), ())]
        for spelling in spellings:
            key = squash(spelling)
            if key:
                keys.setdefault(key, topic.id)
    return keys
