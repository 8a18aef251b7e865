"""The `awsquiz` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from rapidfuzz import process
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from bot import __version__
from bot.adapters.console import session
from bot.adapters.console.browse import print_question, print_questions, question_json
from bot.adapters.console.chat import ConsoleChatAdapter
from bot.adapters.console.grade_report import explain_grade
from bot.adapters.console.render import show
from bot.app import Services, load_content, open_services
from bot.engine.catalog import Catalog
from bot.engine.daily.model import ChannelRef, Subscription
from bot.engine.daily.schedule import next_post_at, parse_timezone
from bot.engine.daily.service import Outcome
from bot.engine.errors import AwsquizError, InvalidOptionError, UnknownQuestionError
from bot.engine.grading import Grader
from bot.engine.interview import DEFAULT_QUESTIONS
from bot.engine.model import Difficulty, Grade, Question, UserRef
from bot.engine.personal_data import MemberData
from bot.engine.privacy import PrivacyService, forgotten, nothing_kept, what_is_kept
from bot.engine.reply import Reply, Tone
from bot.redaction import LogRedaction
from bot.settings import Settings, load_settings
from content.check import check_packs
from storage import default_database_url, open_store, upgrade

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
        LogRedaction(settings.secret_values).install()
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
    except OSError as error:  # a file that cannot be read, a network that is down
        log.debug("system error", exc_info=True)
        errors.print(f"awsquiz: {_describe_os_error(error)}", markup=False)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        errors.print("awsquiz: interrupted; nothing was lost.", markup=False)
        return EXIT_INTERRUPTED


def _describe_os_error(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def build_parser() -> argparse.ArgumentParser:
    """Describe every subcommand."""
    parser = argparse.ArgumentParser(
        prog="awsquiz", description="AWS and DevOps interview practice, graded at once."
    )
    parser.add_argument("--version", action="version", version=f"awsquiz {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    levels = [d.value for d in Difficulty]

    practice = commands.add_parser("practice", help="answer questions in the terminal")
    practice.add_argument(
        "--topic", "-t", type=_topic_name, help="topic name, loosely matched (e.g. lambda, sfn)"
    )
    practice.add_argument("--difficulty", "-d", choices=levels)
    practice.set_defaults(handler=_practice)

    interview = commands.add_parser("interview", help="a mock interview (resumes if one is open)")
    interview.add_argument(
        "--topic", "-t", action="append", default=[], dest="topics", type=_topic_name
    )
    interview.add_argument("--questions", "-n", type=int, default=DEFAULT_QUESTIONS)
    interview.set_defaults(handler=_interview)

    stats = commands.add_parser("stats", help="your answers, average, topics and streak")
    stats.set_defaults(handler=_stats)

    forget = commands.add_parser(
        "forget", help="delete everything awsquiz keeps about you here (asks you first)"
    )
    forget.set_defaults(handler=_forget)

    grade = commands.add_parser("grade", help="grade JSON lines from FILE or stdin")
    grade.add_argument("file", nargs="?", type=Path, help="JSON lines; stdin when omitted")
    grade.add_argument(
        "--explain", action="store_true", help="print a readable report per answer, for authors"
    )
    grade.set_defaults(handler=_grade)

    content = commands.add_parser("content", help="list or check question packs")
    content_commands = content.add_subparsers(required=True, metavar="ACTION")
    listing = content_commands.add_parser("list", help="topics with question counts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument(
        "--questions", action="store_true", help="list the questions, with ids and difficulty"
    )
    listing.add_argument("--topic", "-t", type=_topic_name, help="only this topic's questions")
    listing.set_defaults(handler=_content_list)
    show = content_commands.add_parser("show", help="one question with its rubric")
    show.add_argument("question_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_content_show)
    check = content_commands.add_parser("check", help="validate pack files or directories")
    check.add_argument("paths", nargs="+", type=Path)
    check.set_defaults(handler=_content_check)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_upgrade = db_commands.add_parser("upgrade", help="apply database migrations")
    db_upgrade.set_defaults(handler=_db_upgrade)

    daily = commands.add_parser("daily", help="daily channel questions (for operators)")
    daily_commands = daily.add_subparsers(required=True, metavar="ACTION")
    daily_list = daily_commands.add_parser("list", help="subscriptions and their next post")
    daily_list.add_argument("--json", action="store_true", help="print JSON")
    daily_list.set_defaults(handler=_daily_list)
    daily_set = daily_commands.add_parser("set", help="subscribe a channel or change it")
    daily_set.add_argument("--channel", required=True, type=_channel, help=CHANNEL_HELP)
    daily_set.add_argument("--time", required=True, help="local post time, HH:MM (24-hour)")
    daily_set.add_argument("--timezone", required=True, help="IANA timezone, e.g. Europe/London")
    daily_set.add_argument("--topic", action="append", dest="topics", help="repeat for more")
    daily_set.add_argument("--window", help="answer window, e.g. 2h or 90m")
    daily_set.add_argument(
        "--difficulty",
        action="append",
        dest="difficulty_mix",
        type=_difficulty_weight,
        default=[],
        metavar="LEVEL[=WEIGHT]",
        help="draw from this level (basic, advanced, interview), weighted; repeat for a mix",
    )
    daily_set.set_defaults(handler=_daily_set)
    daily_off = daily_commands.add_parser("off", help="stop a channel's daily question")
    daily_off.add_argument("--channel", required=True, type=_channel, help=CHANNEL_HELP)
    daily_off.set_defaults(handler=_daily_off)
    run_once = daily_commands.add_parser("run-once", help="post a channel's question now")
    run_once.add_argument("--channel", required=True, type=_channel, help=CHANNEL_HELP)
    run_once.add_argument("--adapter", choices=["console"], default="console")
    run_once.set_defaults(handler=_daily_run_once)

    run = commands.add_parser("run", help="run the chat bots configured in the environment")
    run.set_defaults(handler=_run)

    slack = commands.add_parser("slack", help="Slack app set-up")
    slack_commands = slack.add_subparsers(required=True, metavar="ACTION")
    manifest = slack_commands.add_parser("manifest", help="print the Slack app manifest (JSON)")
    manifest.add_argument(
        "--request-url", type=_https_url, help="HTTP mode: https://HOST/slack/events"
    )
    manifest.add_argument(
        "--org-deploy",
        action="store_true",
        help="let an Enterprise Grid org install the app org-wide",
    )
    manifest.add_argument(
        "--token-rotation",
        action="store_true",
        help="tokens that expire and are refreshed (OAuth, with --request-url; cannot be undone)",
    )
    manifest.set_defaults(handler=_slack_manifest)
    encrypt = slack_commands.add_parser(
        "encrypt-tokens",
        help="encrypt stored installation tokens with the first key of AWSQUIZ_TOKEN_KEYS",
    )
    encrypt.set_defaults(handler=_slack_encrypt_tokens)

    discord = commands.add_parser("discord", help="Discord app set-up")
    discord_commands = discord.add_subparsers(required=True, metavar="ACTION")
    sync = discord_commands.add_parser(
        "sync", help="register /awsquiz with Discord (DISCORD_GUILD_ID, else globally)"
    )
    sync.set_defaults(handler=_discord_sync)
    return parser


def _https_url(text: str) -> str:
    """An https URL (Slack sends requests to nothing else), or a usage error saying so."""
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"must be an https URL such as https://bot.example.com/slack/events, not {text!r}"
        )
    return text


def _topic_name(text: str) -> str:
    """A --topic value: blank would silently mean every topic, so it is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "give a topic name, e.g. lambda (leave --topic out for all)"
        )
    return text


def console_user() -> UserRef:
    """The person at this terminal."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        name = "me"
    return UserRef(CONSOLE_PLATFORM, CONSOLE_WORKSPACE, name, display_name=name)


TerminalSession = Callable[[Services, UserRef, session.AnswerReader], Awaitable[None]]


def _in_terminal(settings: Settings, run_session: TerminalSession) -> int:
    """Run a terminal session for the person at this terminal, on the configured store."""

    async def go() -> None:
        reader = session.AnswerReader(
            sys.stdin, Console(highlight=False), interactive=sys.stdin.isatty()
        )
        async with open_services(settings) as services:
            await run_session(services, console_user(), reader)

    asyncio.run(go())
    return EXIT_OK


def _practice(args: argparse.Namespace, settings: Settings) -> int:
    return _in_terminal(
        settings,
        lambda services, user, reader: session.practice(
            services.quiz,
            user,
            reader.console,
            reader,
            topic=args.topic,
            difficulty=args.difficulty,
        ),
    )


def _interview(args: argparse.Namespace, settings: Settings) -> int:
    return _in_terminal(
        settings,
        lambda services, user, reader: session.interview(
            services.interviews,
            user,
            reader.console,
            reader,
            topics=args.topics,
            questions=args.questions,
        ),
    )


def _stats(_: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        async with open_services(settings) as services:
            local_zone = datetime.now().astimezone().tzinfo or UTC
            reply = await services.quiz.stats(console_user(), zone=local_zone)
            show(Console(highlight=False), reply)

    asyncio.run(go())
    return EXIT_OK


YES_WORDS: Final = frozenset({"y", "yes"})


def _forget(_: argparse.Namespace, settings: Settings) -> int:
    """Forget me at the terminal: what would be deleted, a y/N question, then the deletion."""
    out, user = Console(highlight=False), console_user()
    kept = asyncio.run(_with_privacy(settings, lambda privacy: privacy.member_data(user)))
    if kept.is_empty:
        show(out, nothing_kept())
        return EXIT_OK
    show(out, Reply(title="Forget me", text=what_is_kept(kept), tone=Tone.WARNING))
    try:
        answer = out.input("Delete all of this for good? [y/N] ", markup=False)
    except EOFError:  # input that ends before an answer: no
        out.print()
        answer = ""
    if answer.strip().lower() not in YES_WORDS:
        out.print("Nothing was deleted.", markup=False)
        return EXIT_OK
    deleted = asyncio.run(_with_privacy(settings, lambda privacy: privacy.forget(user)))
    show(out, forgotten(deleted))
    return EXIT_OK


async def _with_privacy(
    settings: Settings, use: Callable[[PrivacyService], Awaitable[MemberData]]
) -> MemberData:
    """Run `use` on the privacy service of the configured store (no content is loaded)."""
    async with await open_store(settings.database_url or default_database_url()) as store:
        return await use(PrivacyService(store))


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
                    grader = Grader(catalog.vocabulary())  # as the bot grades the packs
                grade, item = _grade_one(grader, catalog, request)
            except (ValueError, KeyError, TypeError, AwsquizError) as error:
                failed = True
                error_json = {"line": number, "error": _describe(error)}
                sys.stdout.write(json.dumps(error_json, ensure_ascii=False) + "\n")
                continue
            if args.explain:
                sys.stdout.write(explain_grade(grade, item, number) + "\n")
            else:
                sys.stdout.write(json.dumps(_grade_json(grade, item), ensure_ascii=False) + "\n")
    return EXIT_PROBLEMS if failed else EXIT_OK


def _grade_one(
    grader: Grader, catalog: Catalog | None, request: dict[str, Any]
) -> tuple[Grade, Question | None]:
    answer = _text(request, "answer")
    if "question_id" in request:
        assert catalog is not None
        item = catalog.question(_text(request, "question_id"))
        grade = grader.grade_question(answer, item)
        return grade, item
    reference = _text(request, "reference")
    if not reference.strip():
        raise ValueError("'reference' is empty: there is nothing to grade against")
    return grader.grade(answer, reference, question=str(request.get("question", ""))), None


def _text(request: dict[str, Any], key: str) -> str:
    if key not in request:
        raise KeyError(key)
    value = request[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string")
    return value


def _grade_json(grade: Grade, item: Question | None) -> dict[str, Any]:
    return {
        "score": grade.score,
        "verdict": grade.verdict.value,
        "covered": list(grade.covered),
        "missed": list(grade.missed),
        "contradicted": list(grade.negation_conflicts),
        "contradictions": list(grade.contradictions),
        "explanation": item.explanation if item is not None else "",
        "docs": item.docs if item is not None else "",
        # The name before "contradicted"; kept so scripts written against it go on working.
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
    if args.questions or args.topic:
        topic = catalog.find_topic(args.topic) if args.topic else None
        questions = catalog.select(topic_ids={topic.id} if topic else None)
        if args.json:
            listing = [question_json(question) for question in questions]
            sys.stdout.write(json.dumps(listing, indent=2, ensure_ascii=False) + "\n")
        else:
            title = f"{len(questions)} questions" + (f" of {topic.name}" if topic else "")
            print_questions(Console(highlight=False), questions, title)
        return EXIT_OK
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


def _content_show(args: argparse.Namespace, settings: Settings) -> int:
    catalog = load_content(settings)
    wanted = args.question_id.strip()
    try:
        question = catalog.question(wanted)
    except UnknownQuestionError:
        ids = [question.id for question in catalog.questions]
        close = [match for match, _, _ in process.extract(wanted, ids, limit=3)]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"awsquiz: no question with id {wanted!r}.{hint} "
            "(`awsquiz content list --questions` lists them)",
            markup=False,
        )
        return EXIT_USAGE
    if args.json:
        sys.stdout.write(json.dumps(question_json(question), indent=2, ensure_ascii=False) + "\n")
    else:
        print_question(Console(highlight=False), question)
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


CHANNEL_HELP: Final = "PLATFORM:WORKSPACE:CHANNEL, e.g. slack:T012AB:C345CD"
OPERATOR: Final = "operator"


def _channel(text: str) -> ChannelRef:
    parts = text.split(":")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise argparse.ArgumentTypeError(f"expected {CHANNEL_HELP}, got {text!r}")
    platform, workspace, channel = (part.strip() for part in parts)
    return ChannelRef(platform, workspace, channel)


def _operator(channel: ChannelRef) -> UserRef:
    """The person at the terminal acts as an admin of the channel's workspace."""
    return UserRef(channel.platform, channel.workspace, OPERATOR, display_name=OPERATOR)


def _daily_list(args: argparse.Namespace, settings: Settings) -> int:
    async def load() -> list[tuple[Subscription, datetime]]:
        async with open_services(settings) as services:
            subscriptions = await services.store.subscriptions(enabled_only=False)
        now = datetime.now(UTC)
        return [
            (sub, next_post_at(now, sub.post_time, parse_timezone(sub.timezone)))
            for sub in subscriptions
        ]

    schedule = asyncio.run(load())
    if args.json:
        listing = [
            {
                "channel": str(sub.channel),
                "enabled": sub.enabled,
                "post_time": f"{sub.post_time:%H:%M}",
                "timezone": sub.timezone,
                "topics": list(sub.topics),
                "difficulty_mix": {level.value: weight for level, weight in sub.difficulty_mix},
                "next_post_local": upcoming.astimezone(ZoneInfo(sub.timezone)).isoformat(),
                "next_post_utc": upcoming.isoformat(),
            }
            for sub, upcoming in schedule
        ]
        sys.stdout.write(json.dumps(listing, indent=2) + "\n")
        return EXIT_OK
    table = Table(title=f"{len(schedule)} daily subscriptions")
    for column in ("Channel", "On", "Time", "Timezone", "Topics", "Next (local)", "Next (UTC)"):
        table.add_column(column)
    for sub, upcoming in schedule:
        table.add_row(
            str(sub.channel),
            "yes" if sub.enabled else "no",
            f"{sub.post_time:%H:%M}",
            sub.timezone,
            ", ".join(sub.topics) or "all",
            f"{upcoming.astimezone(ZoneInfo(sub.timezone)):%a %d %b %H:%M}",
            f"{upcoming:%a %d %b %H:%M}",
        )
    Console(highlight=False).print(table)
    return EXIT_OK


def _difficulty_weight(text: str) -> tuple[str, int]:
    """Read 'interview' or 'interview=3' (the level is checked where the subscription is)."""
    level, _, weight = text.partition("=")
    if not weight:
        return level.strip(), 1
    try:
        return level.strip(), int(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the weight must be a whole number") from None


def _daily_set(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        async with open_services(settings) as services:
            reply = await services.daily.subscribe(
                args.channel,
                actor=_operator(args.channel),
                is_admin=True,
                post_time=args.time,
                timezone=args.timezone,
                topics=args.topics,
                difficulty_mix=args.difficulty_mix,
                answer_window=args.window,
            )
            show(Console(highlight=False), reply)

    asyncio.run(go())
    return EXIT_OK


def _daily_off(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        async with open_services(settings) as services:
            reply = await services.daily.unsubscribe(
                args.channel, actor=_operator(args.channel), is_admin=True
            )
            show(Console(highlight=False), reply)

    asyncio.run(go())
    return EXIT_OK


def _daily_run_once(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        out = Console(highlight=False)
        adapter = ConsoleChatAdapter(out, args.channel.platform)
        async with open_services(settings, adapters={adapter.platform: adapter}) as services:
            outcome = await services.daily.post_now(args.channel)
        out.print(f"daily {args.channel}: {outcome.value}", markup=False)
        return EXIT_OK if outcome is Outcome.POSTED else EXIT_PROBLEMS

    return asyncio.run(go())


def _run(_: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import run  # imports the chat platforms only when they are run

    asyncio.run(run(settings))
    return EXIT_OK


def _slack_manifest(args: argparse.Namespace, _: Settings) -> int:
    from bot.adapters.slack.manifest import manifest_json

    try:
        text = manifest_json(
            request_url=args.request_url,
            org_deploy=args.org_deploy,
            token_rotation=args.token_rotation,
        )
    except ValueError as error:  # an option that needs another: a usage error, as main says it
        raise InvalidOptionError(str(error)) from None
    sys.stdout.write(text + "\n")
    return EXIT_OK


def _slack_encrypt_tokens(_: argparse.Namespace, settings: Settings) -> int:
    from bot.platforms import seal_slack_tokens

    async def go() -> int:
        store = await open_store(settings.database_url or default_database_url())
        try:
            report = await seal_slack_tokens(settings, store)
        finally:
            await store.close()
        Console(highlight=False, soft_wrap=True).print(
            f"Slack tokens: {report.encrypted} encrypted, {report.reencrypted} re-encrypted "
            f"with the first key, {report.current} already encrypted with it, "
            f"{report.unreadable} unreadable.",
            markup=False,
        )
        # An unreadable token was encrypted with a key no longer configured: say so by status.
        return EXIT_PROBLEMS if report.unreadable else EXIT_OK

    return asyncio.run(go())


def _discord_sync(_: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.discord.client import AwsquizClient, point_at, sync_once, token_of
    from bot.adapters.discord.handlers import DiscordHandlers

    async def go() -> int:
        token = token_of(settings.discord_token)
        point_at(settings.discord_api_url, settings.discord_gateway_url)
        client = AwsquizClient(settings.discord_guild_id)  # one connection is enough to sync
        async with open_services(settings) as services:
            client.handlers = DiscordHandlers(services.tutor, client)
            synced = await sync_once(client, token)
        where = f"guild {settings.discord_guild_id}" if settings.discord_guild_id else "globally"
        Console(highlight=False).print(f"synced {len(synced)} command(s) {where}", markup=False)
        return EXIT_OK if synced else EXIT_PROBLEMS

    return asyncio.run(go())
