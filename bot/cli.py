"""The `awsquiz` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from bot import __version__
from bot.adapters.console import session
from bot.adapters.console.render import show
from bot.app import load_content, open_services
from bot.engine.catalog import Catalog
from bot.engine.errors import AwsquizError
from bot.engine.grading import Grader
from bot.engine.interview import DEFAULT_QUESTIONS
from bot.engine.model import Difficulty, Grade, UserRef
from bot.settings import Settings, load_settings
from content.check import check_packs
from storage import default_database_url, upgrade

CONSOLE_PLATFORM: Final = "console"
CONSOLE_WORKSPACE: Final = "local"
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

log = logging.getLogger("awsquiz")

Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one awsquiz command and return its exit status."""
    args = build_parser().parse_args(argv)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level_number, format="%(levelname)s %(name)s: %(message)s"
        )
        handler: Handler = args.handler
        return handler(args, settings)
    except AwsquizError as error:
        errors.print(f"awsquiz: {error}", markup=False)
        return EXIT_USAGE
    except SQLAlchemyError as error:
        log.debug("database error", exc_info=True)
        cause = error.orig if hasattr(error, "orig") else error
        errors.print(f"awsquiz: database error: {cause}", markup=False)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        errors.print("awsquiz: interrupted; nothing was lost.", markup=False)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """Describe every subcommand."""
    parser = argparse.ArgumentParser(
        prog="awsquiz", description="AWS and DevOps interview practice, graded at once."
    )
    parser.add_argument("--version", action="version", version=f"awsquiz {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    levels = [d.value for d in Difficulty]

    practice = commands.add_parser("practice", help="answer questions in the terminal")
    practice.add_argument("--topic", "-t", help="topic name, loosely matched (e.g. lambda, sfn)")
    practice.add_argument("--difficulty", "-d", choices=levels)
    practice.set_defaults(handler=_practice)

    interview = commands.add_parser("interview", help="a mock interview (resumes if one is open)")
    interview.add_argument("--topic", "-t", action="append", default=[], dest="topics")
    interview.add_argument("--questions", "-n", type=int, default=DEFAULT_QUESTIONS)
    interview.set_defaults(handler=_interview)

    stats = commands.add_parser("stats", help="your answers, average, topics and streak")
    stats.set_defaults(handler=_stats)

    grade = commands.add_parser("grade", help="grade JSON lines from FILE or stdin")
    grade.add_argument("file", nargs="?", type=Path, help="JSON lines; stdin when omitted")
    grade.set_defaults(handler=_grade)

    content = commands.add_parser("content", help="list or check question packs")
    content_commands = content.add_subparsers(required=True, metavar="ACTION")
    listing = content_commands.add_parser("list", help="topics with question counts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_content_list)
    check = content_commands.add_parser("check", help="validate pack files or directories")
    check.add_argument("paths", nargs="+", type=Path)
    check.set_defaults(handler=_content_check)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_upgrade = db_commands.add_parser("upgrade", help="apply database migrations")
    db_upgrade.set_defaults(handler=_db_upgrade)

    run = commands.add_parser("run", help="run the chat bots configured in the environment")
    run.set_defaults(handler=_run)
    return parser


def console_user() -> UserRef:
    """The person at this terminal."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        name = "me"
    return UserRef(CONSOLE_PLATFORM, CONSOLE_WORKSPACE, name, display_name=name)


def _terminal(stream: TextIO) -> session.AnswerReader:
    out = Console(highlight=False)
    return session.AnswerReader(stream, out, interactive=stream.isatty())


def _practice(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        reader = _terminal(sys.stdin)
        async with open_services(settings) as services:
            await session.practice(
                services,
                console_user(),
                reader.console,
                reader,
                topic=args.topic,
                difficulty=args.difficulty,
            )

    asyncio.run(go())
    return EXIT_OK


def _interview(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        reader = _terminal(sys.stdin)
        async with open_services(settings) as services:
            await session.interview(
                services,
                console_user(),
                reader.console,
                reader,
                topics=args.topics,
                questions=args.questions,
            )

    asyncio.run(go())
    return EXIT_OK


def _stats(_: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        async with open_services(settings) as services:
            local_zone = datetime.now().astimezone().tzinfo or UTC
            reply = await services.quiz.stats(console_user(), zone=local_zone)
            show(Console(highlight=False), reply)

    asyncio.run(go())
    return EXIT_OK


def _grade(args: argparse.Namespace, settings: Settings) -> int:
    grader = Grader()
    catalog: Catalog | None = None
    stream = args.file.open(encoding="utf-8") if args.file else sys.stdin
    failed = False
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("expected a JSON object")
                if "question_id" in request and catalog is None:
                    catalog = load_content(settings)
                result = _grade_one(grader, catalog, request)
            except (ValueError, KeyError, TypeError, AwsquizError) as error:
                failed = True
                result = {"line": number, "error": _describe(error)}
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return EXIT_PROBLEMS if failed else EXIT_OK


def _grade_one(grader: Grader, catalog: Catalog | None, request: dict[str, Any]) -> dict[str, Any]:
    answer = _text(request, "answer")
    if "question_id" in request:
        assert catalog is not None
        item = catalog.question(_text(request, "question_id"))
        grade = grader.grade(
            answer,
            item.reference,
            question=item.prompt,
            concepts=item.concepts,
            aliases=item.aliases,
        )
    else:
        grade = grader.grade(
            answer, _text(request, "reference"), question=str(request.get("question", ""))
        )
    return _grade_json(grade)


def _text(request: dict[str, Any], key: str) -> str:
    if key not in request:
        raise KeyError(key)
    value = request[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string")
    return value


def _grade_json(grade: Grade) -> dict[str, Any]:
    return {
        "score": grade.score,
        "verdict": grade.verdict.value,
        "covered": list(grade.covered),
        "missed": list(grade.missed),
        "negation_conflicts": list(grade.negation_conflicts),
    }


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return (
            f"missing key {error.args[0]!r}: give question/reference/answer or question_id/answer"
        )
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON: {error.msg} at column {error.colno}"
    return str(error)


def _content_list(args: argparse.Namespace, settings: Settings) -> int:
    catalog = load_content(settings)
    counts = catalog.counts()
    if args.json:
        listing = [
            {
                "topic": topic.name,
                "id": topic.id,
                "questions": sum(counts[topic.id].values()),
                "by_difficulty": {d.value: counts[topic.id][d] for d in Difficulty},
            }
            for topic in catalog.topics
        ]
        sys.stdout.write(json.dumps(listing, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    table = Table(title=f"{len(catalog.topics)} topics, {len(catalog.questions)} questions")
    table.add_column("Topic")
    table.add_column("Id", style="dim")
    for level in Difficulty:
        table.add_column(level.value.capitalize(), justify="right")
    table.add_column("Total", justify="right")
    for topic in catalog.topics:
        by_level = counts[topic.id]
        table.add_row(
            topic.name,
            topic.id,
            *(str(by_level[level]) for level in Difficulty),
            str(sum(by_level.values())),
        )
    Console(highlight=False).print(table)
    return EXIT_OK


def _content_check(args: argparse.Namespace, _: Settings) -> int:
    report = check_packs(args.paths)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    for problem in report.problems:
        errors.print(str(problem), markup=False)
    summary = (
        f"{len(report.packs)} packs, {report.question_count} questions, "
        f"{len(report.problems)} problems"
    )
    Console(highlight=False).print(summary, markup=False)
    return EXIT_PROBLEMS if report.problems else EXIT_OK


def _db_upgrade(_: argparse.Namespace, settings: Settings) -> int:
    url = settings.database_url or default_database_url()
    asyncio.run(upgrade(url))
    Console(highlight=False).print("Database is up to date.", markup=False)
    return EXIT_OK


def _run(_: argparse.Namespace, __: Settings) -> int:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        "awsquiz: no chat platform is configured. Set SLACK_BOT_TOKEN (Slack) or DISCORD_TOKEN "
        "(Discord); to practise without chat tokens, run `awsquiz practice`.",
        markup=False,
    )
    return EXIT_USAGE
