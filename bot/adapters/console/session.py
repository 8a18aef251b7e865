"""Terminal practice and interview loops over the engine services.

Interactive terminals take multi-line answers ended by a blank line. Piped input takes one
answer per line, so sessions can be scripted; a line `quit` (or end of input) ends either.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import Final, TextIO

from rich.console import Console

from bot.adapters.console.render import show
from bot.engine.errors import AnswerTooLongError, EmptyAnswerError
from bot.engine.interview import InterviewService
from bot.engine.model import UserRef
from bot.engine.quiz import QuizService
from bot.engine.reply import Reply, Tone

QUIT_WORDS: Final = frozenset({"quit", "q", "exit"})
HINT_WORD: Final = "hint"
SKIP_WORD: Final = "skip"
COMMAND_WORDS: Final = QUIT_WORDS | {HINT_WORD, SKIP_WORD, "stop"}


class AnswerReader:
    """Reads answers from a terminal or a pipe."""

    def __init__(self, stream: TextIO, console: Console, *, interactive: bool) -> None:
        self.stream = stream
        self.console = console
        self.interactive = interactive

    async def read(self, prompt: str) -> str | None:
        """Return the next answer, or None at end of input."""
        if not self.interactive:
            line = await self._readline()
            return line.rstrip("\r\n") if line else None
        self.console.print(f"[dim]{prompt}[/dim]")
        lines: list[str] = []
        while True:
            line = await self._readline()
            if not line:
                return "\n".join(lines) if lines else None
            text = line.rstrip("\r\n")
            if not lines and text.strip().lower() in COMMAND_WORDS:
                return text
            if not text.strip():
                if lines:
                    return "\n".join(lines)
                continue
            lines.append(text)

    async def pause(self) -> bool:
        """Between questions: True to go on. Piped input goes straight on."""
        if not self.interactive:
            return True
        self.console.print("[dim]Press Enter for the next question, or type quit.[/dim]")
        line = await self._readline()
        return bool(line) and line.strip().lower() not in QUIT_WORDS

    async def _readline(self) -> str:
        """Read a line in a daemon thread of its own.

        Not asyncio.to_thread: at Ctrl-C, asyncio.run waits for the default executor's
        threads, and a thread blocked reading a terminal would hold the exit until Enter.
        """
        loop = asyncio.get_running_loop()
        line: asyncio.Future[str] = loop.create_future()

        def settle(text: str | None, error: BaseException | None) -> None:
            if line.done():  # the reader gave up waiting (Ctrl-C)
                return
            if error is not None:
                line.set_exception(error)
            else:
                line.set_result(text or "")

        def read() -> None:
            try:
                text, error = self.stream.readline(), None
            except Exception as failure:  # a closed or undecodable stream
                text, error = None, failure
            with suppress(RuntimeError):  # the loop has closed meanwhile: nobody is waiting
                loop.call_soon_threadsafe(settle, text, error)

        threading.Thread(target=read, name="awsquiz-terminal-input", daemon=True).start()
        return await line


ANSWER_PROMPT: Final = "Your answer (end with a blank line), or: hint, skip, quit"


async def practice(
    quiz: QuizService,
    user: UserRef,
    console: Console,
    reader: AnswerReader,
    *,
    topic: str | None = None,
    difficulty: str | None = None,
) -> None:
    """Ask, grade and explain questions until the user quits or input ends."""
    scores: list[int] = []
    while True:
        show(console, await quiz.ask(user, topic=topic, difficulty=difficulty))
        outcome = await _answer_one(quiz, user, console, reader)
        if outcome is None:
            break
        if outcome >= 0:
            scores.append(outcome)
        if not await reader.pause():
            break
    show(console, _session_summary(scores))


async def _answer_one(
    quiz: QuizService, user: UserRef, console: Console, reader: AnswerReader
) -> int | None:
    """Handle input for the open question: its score, -1 when skipped, None to quit."""
    while True:
        text = await reader.read(ANSWER_PROMPT)
        if text is None or text.strip().lower() in QUIT_WORDS:
            return None
        word = text.strip().lower()
        if word == HINT_WORD:
            show(console, await quiz.hint(user))
            continue
        if word == SKIP_WORD:
            show(console, await quiz.skip(user))
            return -1
        try:
            graded = await quiz.answer(user, text)
        except (EmptyAnswerError, AnswerTooLongError) as error:
            show(console, Reply(title="Try again", text=str(error), tone=Tone.WARNING))
            continue
        show(console, graded)
        return graded.score if graded.score is not None else 0


async def interview(
    interviews: InterviewService,
    user: UserRef,
    console: Console,
    reader: AnswerReader,
    *,
    topics: Sequence[str] = (),
    questions: int,
) -> None:
    """Run (or resume) a mock interview until it ends, or pause it on quit."""
    expired = await interviews.expire_if_idle(user)
    if expired is not None:
        show(console, expired)
    show(console, *await interviews.start(user, topics, questions))
    while await interviews.is_active(user):
        text = await reader.read(ANSWER_PROMPT.replace("quit", "stop, quit"))
        if text is None or text.strip().lower() in QUIT_WORDS:
            show(
                console,
                Reply(
                    title="Interview paused",
                    text="Your progress is saved. Run `awsquiz interview` to continue.",
                ),
            )
            return
        try:
            show(console, *await interviews.handle(user, text))
        except (EmptyAnswerError, AnswerTooLongError) as error:
            show(console, Reply(title="Try again", text=str(error), tone=Tone.WARNING))


def _session_summary(scores: Sequence[int]) -> Reply:
    if not scores:
        return Reply(title="Session over", text="No answers graded this time.")
    average = sum(scores) / len(scores)
    noun = "answer" if len(scores) == 1 else "answers"
    return Reply(
        title="Session over",
        text=f"{len(scores)} {noun} graded, average {average:.0f}/100. "
        "Run `awsquiz stats` to see your progress.",
    )
