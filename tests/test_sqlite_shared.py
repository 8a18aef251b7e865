"""One SQLite file shared by several OS processes: terminal sessions and the bot at once.

Every process here is a real `python` process on one file in tmp_path. Each waits at a start
line (it writes a file in the ready folder, then reads `go` from its stdin) so that they open,
migrate and write the file at the same moment, which is when "database is locked" appeared.
Assertions are about exit codes, output and row counts, never about timings.

Run as a script, this module is one of those processes (see `_child_main`):
- `cli ARGS...`: the awsquiz command line (`bot.cli.main`) after the start line;
- `bot ANSWERS PER_SECOND`: one answer from each of ANSWERS new Slack members, paced, through
  `open_services` the way the bot records them (QuizService.ask, then QuizService.answer);
- `hold-lock DB`: holds the file's write lock from before the start line until the line after.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Final

from bot.engine.model import Difficulty, Grade, NewAttempt, OpenQuestion, Source, UserRef, Verdict

READY_DIR: Final = "ready"
START_LINE: Final = "go"
LOCKED: Final = "database is locked"
ANSWER: Final = "It scales out automatically, you pay per request and it is highly available"
TERMINAL_SESSIONS: Final = 4
TERMINAL_ANSWERS: Final = 20
TERMINAL_ANSWERS_PER_SECOND: Final = 10.0
BOT_ANSWERS: Final = 60
BOT_ANSWERS_PER_SECOND: Final = 20.0
BOT_WORKSPACE: Final = "T0SHARED"
STARTING_TOGETHER: Final = 4
READY_WAIT_SECONDS: Final = 60.0
"""Guards against a child that never gets ready; not a measurement."""
CHILD_TIMEOUT_SECONDS: Final = 90.0
LOCK_HELD_SECONDS: Final = 0.3
"""Long enough for a write to reach the held lock; the outcome, not this, is asserted."""


@dataclass(frozen=True)
class Finished:
    """What a child process left: its exit status and output."""

    name: str
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        """The exit status and the end of stderr, for an assertion message."""
        return f"{self.name} exited {self.returncode}\n--- stderr:\n{self.stderr[-4000:]}"


@dataclass(frozen=True)
class Child:
    """One child process of a test, writing its output to files."""

    name: str
    process: subprocess.Popen[str]
    stdout_path: Path
    stderr_path: Path

    @property
    def stdin(self) -> IO[str]:
        """The child's standard input."""
        assert self.process.stdin is not None
        return self.process.stdin

    def say(self, text: str) -> None:
        """Write a line to the child's stdin."""
        self.stdin.write(f"{text}\n")
        self.stdin.flush()

    def finish(self) -> Finished:
        """Wait for the child to exit and collect what it wrote."""
        returncode = self.process.wait(timeout=CHILD_TIMEOUT_SECONDS)
        return Finished(
            self.name,
            returncode,
            self.stdout_path.read_text(encoding="utf-8", errors="replace"),
            self.stderr_path.read_text(encoding="utf-8", errors="replace"),
        )


def _environment(db: Path, login: str) -> dict[str, str]:
    """A child's environment: its own login name and the shared file, no stray settings."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWSQUIZ_", "DATABASE_URL", "LOG_LEVEL", "SLACK_", "DISCORD_"))
    }
    environment.update(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            # getpass.getuser() reads LOGNAME first: each terminal session is its own learner.
            "LOGNAME": login,
            "USER": login,
            "COLUMNS": "200",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return environment


@contextmanager
def _children() -> Iterator[list[Child]]:
    """A list to start children into; those still running at the end are killed."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in started:
            if child.process.poll() is None:
                child.process.kill()
                child.process.wait()


def _spawn(tmp_path: Path, db: Path, role: str, login: str, *args: str) -> Child:
    """Start this module as a child in `role`, waiting at the start line."""
    name = f"{role}-{login}"
    stdout_path = tmp_path / f"{name}.out"
    stderr_path = tmp_path / f"{name}.err"
    (tmp_path / READY_DIR).mkdir(exist_ok=True)
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        # Output goes to files, not pipes: a child blocked on a full pipe would stop reading
        # its answers, and the test would wait for it forever.
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), role, str(tmp_path / READY_DIR), *args],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            text=True,
            env=_environment(db, login),
            cwd=tmp_path,  # no stray .env file
        )
    return Child(name, process, stdout_path, stderr_path)


def _wait_until_ready(tmp_path: Path, children: Sequence[Child]) -> None:
    """Return once every child is waiting at the start line."""
    ready = tmp_path / READY_DIR
    deadline = time.monotonic() + READY_WAIT_SECONDS
    while len(list(ready.iterdir())) < len(children):
        for child in children:
            if child.process.poll() is not None:
                raise AssertionError(f"before the start line: {child.finish().explain()}")
        assert time.monotonic() < deadline, "the children never got ready"
        time.sleep(0.02)


def _start_together(tmp_path: Path, children: Sequence[Child]) -> None:
    """Wait until every child is ready, then tell them all to go at once."""
    _wait_until_ready(tmp_path, children)
    for child in children:
        child.say(START_LINE)


def _type_slowly(child: Child, lines: Sequence[str], per_second: float) -> threading.Thread:
    """Type `lines` into the child's stdin at `per_second`, then close it."""

    def type_lines() -> None:
        for line in lines:
            child.say(line)
            time.sleep(1 / per_second)
        child.stdin.close()

    typist = threading.Thread(target=type_lines, name=f"type-{child.name}", daemon=True)
    typist.start()
    return typist


def _attempts_by_user(db: Path) -> dict[tuple[str, str], int]:
    """How many answers are stored for each (platform, user id)."""
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT u.platform, u.user_id, COUNT(a.id) FROM users u "
            "LEFT JOIN attempts a ON a.user_id = u.id GROUP BY u.id"
        ).fetchall()
    return {(platform, user): count for platform, user, count in rows}


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from storage.database import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _member(index: int) -> str:
    return f"U{index:04d}"


def test_terminal_sessions_and_the_bot_share_one_file_without_an_error(tmp_path: Path) -> None:
    from storage import upgrade

    db = tmp_path / "shared.db"
    asyncio.run(upgrade(f"sqlite:///{db}"))
    learners = [f"learner{index}" for index in range(TERMINAL_SESSIONS)]
    with _children() as children:
        bot = _spawn(tmp_path, db, "bot", "bot", str(BOT_ANSWERS), str(BOT_ANSWERS_PER_SECOND))
        terminals = [
            _spawn(tmp_path, db, "cli", login, "practice", "--topic", "lambda")
            for login in learners
        ]
        children.extend([bot, *terminals])
        _start_together(tmp_path, children)
        bot.stdin.close()
        answers = [ANSWER] * TERMINAL_ANSWERS + ["quit"]
        typists = [
            _type_slowly(terminal, answers, TERMINAL_ANSWERS_PER_SECOND) for terminal in terminals
        ]
        finished = [child.finish() for child in children]
        for typist in typists:
            typist.join()

    for result in finished:
        assert result.returncode == 0, result.explain()
        assert LOCKED not in result.stdout + result.stderr, result.explain()
    for result in finished[1:]:
        assert result.stdout.count("Score ") == TERMINAL_ANSWERS, result.explain()
        assert f"{TERMINAL_ANSWERS} answers graded" in result.stdout, result.explain()
    stored = _attempts_by_user(db)
    assert {login: stored[("console", login)] for login in learners} == dict.fromkeys(
        learners, TERMINAL_ANSWERS
    )
    # Each member's answer is their first, the answer that used to fail.
    members = {user: count for (platform, user), count in stored.items() if platform == "slack"}
    assert members == {_member(index): 1 for index in range(BOT_ANSWERS)}


def test_processes_starting_together_on_a_fresh_file_all_migrate_and_use_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fresh.db"
    starters = [f"starter{index}" for index in range(STARTING_TOGETHER)]
    with _children() as children:
        children.extend(_spawn(tmp_path, db, "cli", login, "practice") for login in starters)
        _start_together(tmp_path, children)
        for child in children:
            child.stdin.write(f"{ANSWER}\n{ANSWER}\nquit\n")
            child.stdin.close()
        finished = [child.finish() for child in children]

    for result in finished:
        assert result.returncode == 0, result.explain()
        assert LOCKED not in result.stdout + result.stderr, result.explain()
        assert result.stdout.count("Score ") == 2, result.explain()
    stored = _attempts_by_user(db)
    assert {login: stored[("console", login)] for login in starters} == dict.fromkeys(starters, 2)
    with closing(sqlite3.connect(db)) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert versions == [(_head_revision(),)]


async def test_a_write_that_reads_first_waits_for_another_processes_write_lock(
    tmp_path: Path,
) -> None:
    from storage import open_store

    db = tmp_path / "locked.db"
    url = f"sqlite+aiosqlite:///{db}"
    member = UserRef("slack", BOT_WORKSPACE, _member(1), "Ann")
    asked_at = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    opened = OpenQuestion("ecs-1", asked_at, Source.SLASH, hints_used=0, channel="C1")
    attempt = NewAttempt(
        user=member,
        question_id="ecs-1",
        topic_id="ecs",
        difficulty=Difficulty.BASIC,
        answer=ANSWER,
        grade=Grade(score=80, verdict=Verdict.CORRECT, covered=("cluster",), missed=()),
        source=Source.SLASH,
        created_at=asked_at,
        hints_used=0,
        channel="C1",
    )
    async with await open_store(url) as asking:
        await asking.set_open_question(member, opened)
    # A store just started knows no member yet, so answering reads the users row first.
    async with await open_store(url) as answering:
        with _children() as children:
            holder = _spawn(tmp_path, db, "hold-lock", "holder", str(db))
            children.append(holder)
            _wait_until_ready(tmp_path, children)
            answered = asyncio.create_task(answering.answer_open_question(member, opened, attempt))
            await asyncio.sleep(LOCK_HELD_SECONDS)
            # Waiting for the lock, not failed because another process holds it.
            assert not answered.done(), answered.exception()
            holder.say(START_LINE)
            stored = await answered
            released = holder.finish()

    assert released.returncode == 0, released.explain()
    assert stored is not None
    assert _attempts_by_user(db)[("slack", member.user)] == 1


# -- the child processes ------------------------------------------------------------------------


def _wait_for_start(ready_dir: Path) -> None:
    """Say this process is ready, then block until the test says go."""
    (ready_dir / str(os.getpid())).touch()
    line = sys.stdin.readline().strip()
    if line != START_LINE:
        raise SystemExit(f"expected {START_LINE!r} on stdin, got {line!r}")


async def _answer_as_the_bot(count: int, per_second: float) -> int:
    """Ask and answer one question for each of `count` new members, `per_second` of them."""
    from bot.app import open_services
    from bot.settings import load_settings

    failures: list[Exception] = []
    async with open_services(load_settings()) as services:

        async def first_answer(index: int) -> None:
            member = UserRef("slack", BOT_WORKSPACE, _member(index), display_name=f"m{index}")
            try:
                await services.quiz.ask(member, topic="s3")
                await services.quiz.answer(member, ANSWER)
            except Exception as error:  # every failure is reported below, with the exit status
                failures.append(error)

        answering: list[asyncio.Task[None]] = []
        for index in range(count):
            answering.append(asyncio.create_task(first_answer(index)))
            await asyncio.sleep(1 / per_second)
        await asyncio.gather(*answering)
    for failure in failures:
        print(f"bot: {type(failure).__name__}: {failure}", file=sys.stderr)
    print(f"bot: {count - len(failures)} of {count} answers recorded")
    return 1 if failures else 0


def _hold_write_lock(db: Path, ready_dir: Path) -> int:
    """Another writer: hold the write lock until the test says go, then commit."""
    with closing(sqlite3.connect(db, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE users SET display_name = display_name")
        _wait_for_start(ready_dir)
        connection.execute("COMMIT")
    return 0


def _child_main(argv: Sequence[str]) -> int:
    role, ready_dir, *rest = argv
    if role == "hold-lock":
        return _hold_write_lock(Path(rest[0]), Path(ready_dir))
    # Imported before the start line, so that the children start their database work together.
    from bot.cli import main

    _wait_for_start(Path(ready_dir))
    if role == "cli":
        return main(rest)
    if role == "bot":
        count, per_second = rest
        return asyncio.run(_answer_as_the_bot(int(count), float(per_second)))
    raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
