"""The awsquiz command line, run as a user runs it: a real process, piped stdin, a SQLite file."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from content.loader import load_catalog

BANK = Path(__file__).resolve().parents[2] / "shared" / "data" / "aws-devops-zero-to-hero"


def awsquiz(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, db: Path
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` with its own database and no stray settings."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWSQUIZ_", "DATABASE_URL", "LOG_LEVEL"))
    }
    environment.update({"DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"})
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def test_practice_grades_piped_answers_and_stats_counts_them(db: Path) -> None:
    answers = "Logical grouping of tasks or services\nBinpack random spread\nquit\n"
    result = awsquiz("practice", "--topic", "ecs", stdin=answers, db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Score ") == 2
    assert "Reference answer:" in result.stdout
    assert "2 answers graded" in result.stdout

    stats = awsquiz("stats", db=db)
    assert stats.returncode == 0, stats.stderr
    assert "Answers: 2" in stats.stdout
    assert "Amazon ECS" in stats.stdout


def test_empty_answer_is_asked_again_and_nothing_is_stored(db: Path) -> None:
    result = awsquiz("practice", stdin="\n   \n...\nquit\n", db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Your answer is empty") == 3
    assert "No answers graded this time." in result.stdout
    assert "No answers yet" in awsquiz("stats", db=db).stdout


def test_huge_answer_is_refused_with_the_cap_and_the_question_stays_open(db: Path) -> None:
    huge = "word " * 1000
    result = awsquiz("practice", stdin=f"{huge}\nskip\nquit\n", db=db)
    assert result.returncode == 0, result.stderr
    assert "the limit is 3,000" in result.stdout
    assert "Skipped" in result.stdout  # the same question was still open to skip


def test_hint_costs_points_and_skip_records_nothing(db: Path) -> None:
    result = awsquiz(
        "practice", "--topic", "ecs", "--difficulty", "interview", stdin="hint\nskip\nquit\n", db=db
    )
    assert result.returncode == 0, result.stderr
    assert "Hint 1 of" in result.stdout
    assert "-10 points" in result.stdout
    assert "No answers yet" in awsquiz("stats", db=db).stdout


def test_unknown_topic_is_a_friendly_error_listing_topics(db: Path) -> None:
    result = awsquiz("practice", "--topic", "quantum", stdin="quit\n", db=db)
    assert result.returncode == 2
    assert "Unknown topic 'quantum'" in result.stderr
    assert "AWS Lambda" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_malformed_setting_names_the_variable(db: Path) -> None:
    result = awsquiz("stats", env={"AWSQUIZ_MAX_ANSWER_CHARS": "lots"}, db=db)
    assert result.returncode == 2
    assert "AWSQUIZ_MAX_ANSWER_CHARS" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_database_url_names_the_setting(db: Path) -> None:
    result = awsquiz("stats", env={"DATABASE_URL": "oracle://x"}, db=db)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_a_plain_error_naming_where(db: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://bot:not-shown@127.0.0.1:{port}/awsquiz"
    result = awsquiz("stats", env={"DATABASE_URL": url}, db=db)
    assert result.returncode == 2
    assert f"cannot reach the database at 127.0.0.1:{port}/awsquiz" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-shown" not in result.stderr


def test_a_sqlite_file_in_a_missing_folder_is_a_setting_error(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "awsquiz.db"
    result = awsquiz("stats", env={"DATABASE_URL": f"sqlite:///{missing}"}, db=db)
    assert result.returncode == 2
    assert "setting DATABASE_URL: the folder" in result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("name", "problem"), [("absent.jsonl", "No such file"), ("", "directory")])
def test_grade_of_a_file_it_cannot_read_is_a_plain_error(
    db: Path, tmp_path: Path, name: str, problem: str
) -> None:
    result = awsquiz("grade", str(tmp_path / name), db=db)
    assert result.returncode == 1
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_at_a_terminal_prompt_ends_the_session_at_once(db: Path) -> None:
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "100"}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "practice", "--topic", "ecs"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environment,
    )
    os.close(follower)
    try:
        _read_until(leader, b"Your answer")
        process.send_signal(signal.SIGINT)  # what the terminal sends for Ctrl-C
        output = _read_until(leader, b"interrupted")
        assert process.wait(timeout=10) == 130
    finally:
        process.kill()
        os.close(leader)
    assert b"nothing was lost" in output


def _read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    """Read a pty until `marker` shows up (or fail after `timeout` seconds)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{marker!r} never came; got {seen[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the other end closed
                break
    return seen


def test_interview_pauses_on_quit_and_resumes_in_a_new_process(db: Path) -> None:
    first = awsquiz(
        "interview", "-t", "lambda", "-n", "2", stdin="Use provisioned concurrency\nquit\n", db=db
    )
    assert first.returncode == 0, first.stderr
    assert "Question 1 of 2" in first.stdout
    assert "Question 2 of 2" in first.stdout
    assert "Interview paused" in first.stdout

    second = awsquiz("interview", stdin="Least privilege IAM roles and VPC\n", db=db)
    assert second.returncode == 0, second.stderr
    assert "Resuming at question 2 of 2" in second.stdout
    assert "Interview summary" in second.stdout
    assert "2 of 2 questions" in second.stdout
    assert "AWS Lambda" in second.stdout


def test_interview_stop_ends_with_a_summary(db: Path) -> None:
    result = awsquiz("interview", "-n", "3", stdin="skip\nstop\n", db=db)
    assert result.returncode == 0, result.stderr
    assert "Interview summary (stopped early)" in result.stdout
    assert "1 of 3 questions" in result.stdout


def test_interview_length_out_of_range_is_refused(db: Path) -> None:
    result = awsquiz("interview", "-n", "99", stdin="", db=db)
    assert result.returncode == 2
    assert "1 to 20 questions" in result.stderr


def test_grade_reads_json_lines_and_reports_bad_lines_in_place(db: Path) -> None:
    lines = [
        json.dumps(
            {
                "question": "What are ECS task placement strategies?",
                "reference": "Binpack, random, spread.",
                "answer": "binpack, random and spread",
            }
        ),
        "not json",
        json.dumps({"question_id": "ecs/task-placement-strategies", "answer": "binpack"}),
        json.dumps({"answer": "no reference"}),
        json.dumps({"question_id": "ecs/no-such-question", "answer": "x"}),
    ]
    result = awsquiz("grade", stdin="\n".join(lines) + "\n", db=db)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["score"] >= 90
    assert out[0]["verdict"] == "correct"
    assert out[1] == {"line": 2, "error": out[1]["error"]}
    assert "not JSON" in out[1]["error"]
    # Through the shipped pack's rubric: one of three strategies, named and not explained.
    assert [c.casefold() for c in out[2]["covered"]] == ["binpack"]
    assert any("random" in missed for missed in out[2]["missed"])
    assert out[2]["verdict"] == "incorrect"
    assert out[2]["contradicted"] == []
    assert out[2]["explanation"]
    assert out[2]["docs"].startswith("https://docs.aws.amazon.com/")
    assert "reference" in out[3]["error"]
    assert "ecs/no-such-question" in out[4]["error"]


def test_a_blank_topic_or_reference_is_refused_not_taken_for_all(db: Path) -> None:
    blank = awsquiz("practice", "--topic", " ", db=db)
    assert blank.returncode == 2
    assert "give a topic name" in blank.stderr

    graded = awsquiz("grade", stdin='{"reference": " ", "answer": "binpack"}\n', db=db)
    assert graded.returncode == 1
    assert json.loads(graded.stdout) == {
        "line": 1,
        "error": "'reference' is empty: there is nothing to grade against",
    }


def test_grade_reads_a_file_argument(db: Path, tmp_path: Path) -> None:
    source = tmp_path / "answers.jsonl"
    answer = (
        "Versioning keeps every version of an object, so an overwrite or a delete can be "
        "undone: a delete only adds a delete marker and you can restore the previous version."
    )
    line = {"question_id": "s3/versioning", "answer": answer}
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = awsquiz("grade", str(source), db=db)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "correct"


def test_grade_explain_prints_a_report_for_authors(db: Path) -> None:
    swapped = "Instance store is persistent and can be detached; EBS is ephemeral."
    line = {
        "question_id": "ec2/what-are-the-differences-between-ebs-and-instance-store-volumes",
        "answer": swapped,
    }
    result = awsquiz("grade", "--explain", stdin=json.dumps(line) + "\n", db=db)

    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert report.startswith("line 1: ec2/what-are-the-differences-between-ebs")
    assert "· incorrect" in report
    assert "[CONTRADICTED]" in report
    assert "wrong: you said instance store" in report
    assert "docs: https://" in report


def test_content_list_json_counts_the_default_pack(db: Path) -> None:
    result = awsquiz("content", "list", "--json", db=db)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    shipped = load_catalog()
    assert [item["id"] for item in listing] == [topic.id for topic in shipped.topics]
    ecs = next(item for item in listing if item["topic"] == "Amazon ECS")
    assert ecs["by_difficulty"] == dict(shipped.counts()["ecs"])
    assert ecs["questions"] == len(shipped.select(topic_ids={"ecs"})) >= 11
    assert sum(item["questions"] for item in listing) == len(shipped.questions)


def test_content_list_questions_of_a_topic_as_json(db: Path) -> None:
    result = awsquiz("content", "list", "--questions", "--topic", "opensearch", "--json", db=db)

    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    expected = load_catalog().select(topic_ids={"elasticsearch-service"})
    assert [item["id"] for item in listing] == [question.id for question in expected]
    assert {item["difficulty"] for item in listing} <= {"basic", "advanced", "interview"}
    assert all(item["rubric"]["concepts"] and item["docs"] for item in listing)


def test_content_show_prints_a_question_with_its_rubric(db: Path) -> None:
    result = awsquiz("content", "show", "ec2/ebs-elastic-block-store", db=db)

    assert result.returncode == 0, result.stderr
    assert "Reference" in result.stdout
    assert "subject instance store" in result.stdout
    assert "EBS: persistent [weight 2, required]" in result.stdout
    assert "Learn more https://docs.aws.amazon.com/" in result.stdout


def test_content_show_of_an_unknown_id_suggests_close_ones(db: Path) -> None:
    result = awsquiz("content", "show", "ec2/ebs-elastic", db=db)

    assert result.returncode == 2
    assert "no question with id 'ec2/ebs-elastic'" in result.stderr
    assert "Did you mean: ec2/ebs-elastic-block-store" in result.stderr
    assert "Traceback" not in result.stderr


def test_content_dirs_add_packs(db: Path, tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "sqs.md").write_text(
        "### 1. What is a dead-letter queue?\nA queue for messages that failed processing.\n",
        encoding="utf-8",
    )
    result = awsquiz("content", "list", "--json", env={"AWSQUIZ_CONTENT_DIRS": str(packs)}, db=db)
    assert result.returncode == 0, result.stderr
    topics = {item["topic"]: item for item in json.loads(result.stdout)}
    assert topics["SQS"]["by_difficulty"]["interview"] == 1


def test_a_bad_rubric_overlay_stops_start_up_naming_file_and_line(db: Path, tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    (packs / "sqs.rubrics").mkdir(parents=True)
    (packs / "sqs.md").write_text(
        "### 1. What is a dead-letter queue?\nA queue for messages that failed processing.\n",
        encoding="utf-8",
    )
    overlay = packs / "sqs.rubrics" / "sqs.yaml"
    overlay.write_text(
        "sqs/what-is-a-dead-letter-queue:\n  concepts:\n    - name: failed messages\n"
        "      weight: 50\n",
        encoding="utf-8",
    )

    started = awsquiz("practice", env={"AWSQUIZ_CONTENT_DIRS": str(packs)}, db=db)
    checked = awsquiz("content", "check", str(packs), db=db)

    assert started.returncode != 0
    assert f"{overlay}:4: weight 50 is out of range (0.25 to 5)" in started.stderr
    assert "Traceback" not in started.stderr
    assert checked.returncode == 1
    assert f"{overlay}:4: weight 50 is out of range (0.25 to 5)" in checked.stderr


def test_a_missing_content_dir_is_a_setting_error(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "packs-that-are-not-there"
    result = awsquiz("content", "list", env={"AWSQUIZ_CONTENT_DIRS": str(missing)}, db=db)
    assert result.returncode == 2
    assert f"setting AWSQUIZ_CONTENT_DIRS: {missing}: no such file or directory" in result.stderr


def test_content_check_names_file_and_line_and_fails(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("## 1. Foo\n### Key Concepts\n- **A:** fine\n- not a term\n", encoding="utf-8")
    result = awsquiz("content", "check", str(bad), str(tmp_path / "missing"), db=db)
    assert result.returncode == 1
    assert f"{bad}:4: expected a bullet" in result.stderr
    assert "missing:0: no such file or directory" in result.stderr
    assert "2 problems" in result.stdout


@pytest.mark.skipif(not BANK.is_dir(), reason=f"third-party bank not found at {BANK}")
def test_content_check_accepts_the_public_interview_bank(db: Path) -> None:
    result = awsquiz("content", "check", str(BANK), db=db)
    assert result.returncode == 0, result.stderr
    assert "0 problems" in result.stdout
    assert "510 questions" in result.stdout


def test_db_upgrade_creates_the_database(db: Path) -> None:
    result = awsquiz("db", "upgrade", db=db)
    assert result.returncode == 0, result.stderr
    assert db.exists()
    assert "up to date" in result.stdout


def test_run_without_tokens_says_no_platform_is_configured(db: Path) -> None:
    result = awsquiz("run", db=db)
    assert result.returncode == 2
    assert "no chat platform is configured" in result.stderr
    assert "SLACK_BOT_TOKEN" in result.stderr


CHANNEL = "slack:T1:C42"


def test_daily_set_list_run_once_and_off_for_operators(db: Path) -> None:
    set_up = awsquiz(
        "daily", "set", "--channel", CHANNEL, "--time", "09:30", "--timezone", "Asia/Kathmandu",
        "--topic", "lambda", db=db,
    )  # fmt: skip
    assert set_up.returncode == 0, set_up.stderr
    assert "Daily question is on" in set_up.stdout
    assert "09:30 Asia/Kathmandu" in set_up.stdout

    listing = awsquiz("daily", "list", "--json", db=db)
    assert listing.returncode == 0, listing.stderr
    [row] = json.loads(listing.stdout)
    assert row["channel"] == CHANNEL
    assert row["topics"] == ["lambda"]
    assert row["next_post_local"].endswith("09:30:00+05:45")
    assert row["next_post_utc"].endswith("03:45:00+00:00")

    posted = awsquiz("daily", "run-once", "--channel", CHANNEL, db=db)
    assert posted.returncode == 0, posted.stderr
    assert "Daily question · AWS Lambda" in posted.stdout
    assert f"daily {CHANNEL}: posted" in posted.stdout
    again = awsquiz("daily", "run-once", "--channel", CHANNEL, db=db)
    assert f"daily {CHANNEL}: already_claimed" in again.stdout  # once per local day
    assert again.returncode == 1

    off = awsquiz("daily", "off", "--channel", CHANNEL, db=db)
    assert "Daily question is off" in off.stdout
    assert json.loads(awsquiz("daily", "list", "--json", db=db).stdout)[0]["enabled"] is False
    stopped = awsquiz("daily", "run-once", "--channel", CHANNEL, db=db)
    assert stopped.returncode == 2
    assert "turned off" in stopped.stderr


def test_daily_set_takes_a_difficulty_mix(db: Path) -> None:
    set_up = awsquiz(
        "daily", "set", "--channel", CHANNEL, "--time", "08:00", "--timezone", "UTC",
        "--difficulty", "interview=3", "--difficulty", "basic", db=db,
    )  # fmt: skip
    assert set_up.returncode == 0, set_up.stderr
    [row] = json.loads(awsquiz("daily", "list", "--json", db=db).stdout)
    assert row["difficulty_mix"] == {"interview": 3, "basic": 1}

    bad = awsquiz(
        "daily", "set", "--channel", CHANNEL, "--time", "08:00", "--timezone", "UTC",
        "--difficulty", "expert", db=db,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "Unknown difficulty 'expert'" in bad.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--time", "25:00", "Use HH:MM in 24-hour time"),
        ("--time", "9am?", "Use HH:MM in 24-hour time"),
        ("--timezone", "Mars/Olympus", "IANA"),
        ("--topic", "quantum", "Unknown topic 'quantum'"),
    ],
)
def test_daily_set_refuses_bad_input_and_keeps_the_old_schedule(
    db: Path, option: str, value: str, message: str
) -> None:
    base = ["daily", "set", "--channel", CHANNEL, "--time", "08:00", "--timezone", "UTC"]
    assert awsquiz(*base, db=db).returncode == 0
    bad = [*base]
    if option in bad:
        bad[bad.index(option) + 1] = value
    else:
        bad += [option, value]
    result = awsquiz(*bad, db=db)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    [row] = json.loads(awsquiz("daily", "list", "--json", db=db).stdout)
    assert (row["post_time"], row["timezone"], row["topics"]) == ("08:00", "UTC", [])


def test_daily_channel_must_name_platform_workspace_and_channel(db: Path) -> None:
    result = awsquiz("daily", "off", "--channel", "C42", db=db)
    assert result.returncode == 2
    assert "PLATFORM:WORKSPACE:CHANNEL" in result.stderr


def test_slack_manifest_is_one_paste_for_socket_mode_or_http(db: Path) -> None:
    socket = awsquiz("slack", "manifest", db=db)
    assert socket.returncode == 0, socket.stderr
    manifest = json.loads(socket.stdout)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["slash_commands"][0]["command"] == "/awsquiz"
    assert "chat:write" in manifest["oauth_config"]["scopes"]["bot"]

    http = awsquiz("slack", "manifest", "--request-url", "https://bot.example/slack/events", db=db)
    settings = json.loads(http.stdout)["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["interactivity"]["request_url"] == "https://bot.example/slack/events"
    redirects = json.loads(http.stdout)["oauth_config"]["redirect_urls"]
    assert redirects == ["https://bot.example/slack/oauth_redirect"]


@pytest.mark.parametrize("url", ["http://bot.example/slack/events", "bot.example/slack/events"])
def test_slack_manifest_refuses_a_request_url_that_is_not_https(db: Path, url: str) -> None:
    refused = awsquiz("slack", "manifest", "--request-url", url, db=db)
    assert refused.returncode == 2
    assert "must be an https URL" in refused.stderr
    assert refused.stdout == ""


def test_run_with_a_bot_token_but_no_way_to_connect_names_what_is_missing(db: Path) -> None:
    result = awsquiz("run", env={"SLACK_BOT_TOKEN": "xoxb-secret-value"}, db=db)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "xoxb-secret-value" not in result.stderr + result.stdout  # secrets never echoed
