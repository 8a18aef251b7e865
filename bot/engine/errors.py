"""The one exception root of awsquiz and its specific subclasses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.engine.reply import Reply


class AwsquizError(Exception):
    """Root of every error awsquiz raises on purpose; its message is fit to show a user."""


class SettingsError(AwsquizError):
    """A setting is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"setting {name}: {problem}")


class DatabaseUnavailableError(AwsquizError):
    """The database could not be reached (server down, wrong host or port)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(
            f"cannot reach the database at {where}: {reason}. "
            "Check that it is running and that DATABASE_URL names it."
        )


class StorageUnavailableError(AwsquizError):
    """The database stopped answering mid-request (stopped, restarting, unreachable): the member
    is told to try again; the operator finds the cause in the log."""

    def __init__(self) -> None:
        super().__init__("I can't reach my database right now. Try again in a minute.")


class ContentError(AwsquizError):
    """A question pack is malformed at a given file and line."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}")


class PackProblemsError(ContentError):
    """Every problem found in one pack file; it reads as the first, with a count of the rest."""

    def __init__(self, problems: Sequence[ContentError]) -> None:
        if not problems:
            raise ValueError("PackProblemsError needs at least one problem")
        self.problems = tuple(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''} in this file)" if more else ""
        super().__init__(first.path, first.line, first.problem + suffix)


class UnknownTopicError(AwsquizError):
    """A topic name matched none of the loaded topics."""

    def __init__(self, topic: str, known: Sequence[str]) -> None:
        self.topic = topic
        self.known = tuple(known)
        super().__init__(f"Unknown topic {topic!r}. Topics: {', '.join(self.known)}.")


class UnknownDifficultyError(AwsquizError):
    """A difficulty name is not one of the known levels."""

    def __init__(self, difficulty: str, known: Sequence[str]) -> None:
        self.difficulty = difficulty
        self.known = tuple(known)
        super().__init__(
            f"Unknown difficulty {difficulty!r}. Choose one of: {', '.join(self.known)}."
        )


class UnknownQuestionError(AwsquizError):
    """A question id is not in the loaded packs."""

    def __init__(self, question_id: str) -> None:
        self.question_id = question_id
        super().__init__(f"No question with id {question_id!r} in the loaded packs.")


class NoQuestionsError(AwsquizError):
    """No question matches the requested filters."""


class EmptyAnswerError(AwsquizError):
    """The answer has no words in it."""

    def __init__(self) -> None:
        super().__init__("Your answer is empty. Type a few sentences and try again.")


class AnswerTooLongError(AwsquizError):
    """The answer is over the size cap."""

    def __init__(self, length: int, limit: int) -> None:
        self.length = length
        self.limit = limit
        super().__init__(
            f"Your answer is {length:,} characters; the limit is {limit:,}. "
            "Shorten it and send it again."
        )


class NoOpenQuestionError(AwsquizError):
    """The user answered, asked for a hint or skipped with no question open."""

    def __init__(self) -> None:
        super().__init__("You have no open question. Ask for one first.")


class NoActiveInterviewError(AwsquizError):
    """An interview command arrived with no interview running."""

    def __init__(
        self, message: str = "You have no mock interview running. Start one first."
    ) -> None:
        super().__init__(message)


class InterviewExpiredError(NoActiveInterviewError):
    """The interview had been idle past the timeout and has now ended; `summary` sums it up."""

    def __init__(self, idle_hours: float, summary: Reply) -> None:
        self.idle_hours = idle_hours
        self.summary = summary
        super().__init__(
            f"Your mock interview ended after {idle_hours:g} hours without an answer. "
            "Start a new one whenever you like."
        )


class InvalidOptionError(AwsquizError):
    """A command option is out of range or not one of the accepted values."""


class NotAllowedError(AwsquizError):
    """The user may not do this here, e.g. a non-admin changing a channel's schedule."""


class ChatPostError(AwsquizError):
    """A platform refused or failed a post.

    `transient` errors are worth retrying (after `retry_after` seconds when the platform said so);
    others (channel not found, no permission) are not.
    """

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(message)


class StaleQuestionError(AwsquizError):
    """An answer arrived for a question the user has since replaced with another."""

    def __init__(self) -> None:
        super().__init__(
            "That question is no longer your open one: you asked for another since. "
            "Answer the newer question, or ask again."
        )
