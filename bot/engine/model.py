"""Domain values shared by the engine, the content loader and the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Difficulty(StrEnum):
    """How hard a question is, by where it came from in a pack."""

    BASIC = "basic"
    ADVANCED = "advanced"
    INTERVIEW = "interview"


class Verdict(StrEnum):
    """The grader's one-word judgement of an answer."""

    CORRECT = "correct"
    PARTIAL = "partial"
    INCORRECT = "incorrect"


class Source(StrEnum):
    """Where an attempt was made."""

    PRACTICE = "practice"
    SLASH = "slash"
    DAILY = "daily"
    INTERVIEW = "interview"


@dataclass(frozen=True, slots=True)
class Topic:
    """A subject of questions, e.g. Amazon ECS, with its study notes."""

    id: str
    name: str
    full_name: str = ""
    overview: str = ""
    key_concepts: tuple[str, ...] = ()
    advanced_topics: tuple[str, ...] = ()
    pack: str = ""
    nicknames: tuple[str, ...] = ()
    """Other names a user may type for it: 'k8s', 'kubernetes'."""


@dataclass(frozen=True, slots=True)
class RubricConcept:
    """One idea an interviewer listens for, with the other ways candidates say it.

    `subject` binds the concept to one of its rubric's subjects: said of another, it is wrong.
    """

    name: str
    phrasings: tuple[str, ...] = ()
    weight: float = 1.0
    required: bool = False
    optional: bool = False
    subject: str | None = None

    @property
    def label(self) -> str:
        """How the concept is shown to a user: 'EBS: persistent' for a bound one."""
        return f"{self.subject}: {self.name}" if self.subject else self.name


@dataclass(frozen=True, slots=True)
class Subject:
    """A thing a comparison question compares (EBS, instance store), with its other names."""

    name: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rubric:
    """A question's answer key: weighted concepts, and the subjects its properties belong to."""

    concepts: tuple[RubricConcept, ...]
    subjects: tuple[Subject, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    """One askable question with its reference answer.

    `concepts` overrides the concepts the grader would extract from the reference;
    `aliases` maps a term of the reference to other spellings that count as it. A `rubric`,
    where the pack has one, is what the answer is graded against; `explanation` and `docs`
    are shown after grading.
    """

    id: str
    topic_id: str
    prompt: str
    reference: str
    difficulty: Difficulty
    concepts: tuple[str, ...] = ()
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    origin: str = ""
    rubric: Rubric | None = None
    explanation: str = ""
    docs: str = ""
    overlaps: tuple[str, ...] = ()
    """Questions whose full answer also answers this one (a comparison covers each side)."""


@dataclass(frozen=True, slots=True)
class Grade:
    """The grader's result: a 0-100 score that explains itself."""

    score: int
    verdict: Verdict
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    negation_conflicts: tuple[str, ...] = ()
    """The concepts the answer contradicts (negated, their opposite, or of the wrong subject)."""
    contradictions: tuple[str, ...] = ()
    """Each contradiction in words: 'you said instance store is persistent: it is ephemeral'."""


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person, scoped by platform and workspace (Slack team, Discord guild, 'local')."""

    platform: str
    workspace: str
    user: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class NewAttempt:
    """An answer about to be stored."""

    user: UserRef
    question_id: str
    topic_id: str
    difficulty: Difficulty
    answer: str
    grade: Grade
    source: Source
    created_at: datetime
    hints_used: int = 0
    channel: str | None = None

    @classmethod
    def of(
        cls,
        user: UserRef,
        question: Question,
        answer: str,
        grade: Grade,
        source: Source,
        at: datetime,
        *,
        hints_used: int = 0,
        channel: str | None = None,
    ) -> NewAttempt:
        """The attempt of `user` answering `question`."""
        return cls(
            user=user,
            question_id=question.id,
            topic_id=question.topic_id,
            difficulty=question.difficulty,
            answer=answer,
            grade=grade,
            source=source,
            created_at=at,
            hints_used=hints_used,
            channel=channel,
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """A stored answer with its grade."""

    id: int
    user: UserRef
    question_id: str
    topic_id: str
    difficulty: Difficulty
    answer: str
    score: int
    verdict: Verdict
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    source: Source
    created_at: datetime
    hints_used: int = 0
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """The question a user was asked and has not answered or skipped yet."""

    question_id: str
    asked_at: datetime
    source: Source
    hints_used: int = 0
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One user's standing in a leaderboard scope and period."""

    user: UserRef
    points: int
    attempts: int
    average: float


@dataclass(frozen=True, slots=True)
class StoredInterview:
    """An interview session as the store keeps it: scope columns plus an opaque JSON state."""

    id: str
    user: UserRef
    active: bool
    state: str
    updated_at: datetime
    version: int = 0
    """Bumped by each change; a change names the version it was made from."""
