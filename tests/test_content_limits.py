"""Packs at their limits: one huge line anywhere in a pack, and line numbers that count '\\n'
only (a U+2028, a form feed or a lone '\\r' is a character of its line, in markdown and YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from bot.engine.errors import ContentError, PackProblemsError
from content.check import check_packs
from content.loader import load_catalog, read_pack
from content.parser import Pack, PackParseError, parse_pack, split_lines
from content.rubrics import parse_overlay

HUGE: Final = 80_000
"""Characters of the one long line: the issue's pack took half a minute to check."""

SEPARATORS: Final = {
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "next line": "\x85",
    "form feed": "\x0c",
    "vertical tab": "\x0b",
    "file separator": "\x1c",
    "group separator": "\x1d",
    "record separator": "\x1e",
    "lone carriage return": "\r",
}
"""What `str.splitlines` takes for a line break and an editor does not."""
YAML_BREAKS: Final = {
    name: SEPARATORS[name]
    for name in ("line separator", "paragraph separator", "next line", "lone carriage return")
}
"""The ones YAML reads as line breaks too: its own marks count them."""
YAML_REFUSED: Final = {name: char for name, char in SEPARATORS.items() if name not in YAML_BREAKS}
"""Control characters YAML refuses to read at all."""

SEED_PACK = """\
# A pack

## 1. Amazon VPC{topic}

### Key Concepts
- **Subnets:** {bullet}
{extra}
### Sample Interview Questions
- **Q:** {question}
  - **A:** {answer}
<!-- awsquiz-rubric
concepts: [outbound access, private subnets]
explain: {explain}
-->
"""
SEED_FIELDS = {
    "topic": "",
    "bullet": "Ranges of IP addresses in one Availability Zone.",
    "extra": "",
    "question": "What does a NAT gateway do?",
    "answer": "Gives private subnets outbound internet access.",
    "explain": "It translates private addresses.",
}


def seed_pack(**fields: str) -> str:
    """The seed-shaped pack with some of its fields replaced."""
    return SEED_PACK.format(**{**SEED_FIELDS, **fields})


def parse_problems(text: str, path: str = "packs/p.md") -> tuple[list[str], Pack]:
    """Parse a pack that must have problems: its 'line: message' list and what did parse."""
    with pytest.raises(PackParseError) as caught:
        parse_pack(text, path)
    assert {problem.path for problem in caught.value.problems} == {path}
    return [f"{p.line}: {p.problem}" for p in caught.value.problems], caught.value.partial


def overlay_problems(text: str) -> list[str]:
    """Read an overlay that must fail; its problems as 'line: message'."""
    with pytest.raises(PackProblemsError) as caught:
        parse_overlay(text, "rubrics.yaml")
    return [f"{problem.line}: {problem.problem}" for problem in caught.value.problems]


# -- one huge line ----------------------------------------------------------------------------


def test_a_huge_question_heading_and_answer_parse_to_their_question() -> None:
    heading = "x" + " " * HUGE + "y?"
    answer = "a" * HUGE  # not one space in it
    text = f"### 1. {heading}   \n{answer}\n\n### 2. What is a VPC?\nA private network.\n"

    pack = parse_pack(text, "packs/vpc.md")

    first, second = pack.questions
    assert (first.prompt, first.reference, first.origin) == (heading, answer, "packs/vpc.md:1")
    assert (second.prompt, second.origin) == ("What is a VPC?", "packs/vpc.md:4")


def test_a_huge_seed_topic_heading_keeps_its_short_name_before_the_parenthesis() -> None:
    spelled_out = "(" + "Virtual Private Cloud " * (HUGE // 22) + ")"

    pack = parse_pack(seed_pack(topic=" " + spelled_out + " " * HUGE), "packs/vpc.md")

    (topic,) = pack.topics
    assert (topic.id, topic.name) == ("vpc", "Amazon VPC")
    assert topic.full_name == "Amazon VPC " + spelled_out


def test_a_topic_name_of_open_parentheses_is_cut_at_the_first_of_them() -> None:
    pack = parse_pack(seed_pack(topic=" " + "(" * HUGE + "VPC)"), "packs/vpc.md")

    assert pack.topics[0].name == "Amazon VPC"


def test_huge_bullet_question_answer_and_rubric_lines_are_read_whole() -> None:
    bullet, question = "word " * (HUGE // 5), "Why " + "(" * HUGE + "?"
    answer, explain = ".,;:-" * (HUGE // 5), "because " * (HUGE // 8)

    pack = parse_pack(
        seed_pack(bullet=bullet, question=question, answer=answer, explain=explain.strip()),
        "packs/vpc.md",
    )

    subnets, nat = pack.questions
    assert subnets.reference == bullet.strip()
    assert (nat.prompt, nat.reference) == (question, answer)
    assert nat.explanation == explain.strip()
    assert nat.rubric is not None


def test_many_wrapped_lines_continue_one_reference() -> None:
    wrapped = [f"  part {number}" for number in range(20_000)]

    pack = parse_pack(seed_pack(extra="\n".join(wrapped)), "packs/vpc.md")

    subnets = pack.questions[0]
    assert subnets.reference == " ".join(
        ["Ranges of IP addresses in one Availability Zone.", *(line.strip() for line in wrapped)]
    )
    assert pack.questions[1].origin == f"packs/vpc.md:{9 + len(wrapped)}"


@pytest.mark.parametrize(
    "line",
    [".,;:-" * (HUGE // 5), "a" * HUGE, "** " * (HUGE // 3), "#" * HUGE],
    ids=["punctuation", "no spaces", "stars", "hashes"],
)
def test_a_huge_line_that_is_no_bullet_is_named_at_its_line(line: str) -> None:
    problems, partial = parse_problems(seed_pack(extra=line + "\n- **Bad"))

    assert problems == [
        "7: expected a bullet '- **Term:** explanation'",
        "8: expected a bullet '- **Term:** explanation'",
    ]
    assert len(partial.questions) == 2


def test_a_huge_line_of_spaces_is_blank_and_one_indented_continues_the_bullet() -> None:
    problems, _ = parse_problems(seed_pack(extra=" " * HUGE + "\n- **Bad"))
    indented = " " * HUGE + "more about subnets" + " " * HUGE

    wrapped = parse_pack(seed_pack(extra=indented), "packs/p.md")

    assert problems == ["8: expected a bullet '- **Term:** explanation'"]
    assert wrapped.questions[0].reference.endswith("Availability Zone. more about subnets")


def test_a_huge_line_of_spaces_is_no_answer_paragraph() -> None:
    problems, _ = parse_problems(f"### 1. What is a VPC?\n{' ' * HUGE}\n### 2. Q?\nA.\n")

    assert problems == ["1: question 'What is a VPC?' has no answer paragraph under it"]


def test_check_and_start_up_read_a_pack_with_a_huge_line(tmp_path: Path) -> None:
    heading = "What is " + "a very long question " * (HUGE // 20) + "?"
    pack = f"<!-- awsquiz\ntopic: Long Lines\n-->\n### 1. {heading}\n{'b' * HUGE}\n"
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "long.md").write_text(pack, encoding="utf-8")
    (bad / "long.md").write_text(pack + "\n### 2. Another?\n\n### 3. Q?\nA.\n", encoding="utf-8")

    report = check_packs([bad])
    catalog = load_catalog([good])

    assert [(Path(p.path).name, p.line) for p in report.problems] == [("long.md", 7)]
    assert "'Another?' has no answer paragraph" in report.problems[0].message
    assert heading in {question.prompt for question in catalog.questions}


# -- line numbers count '\n' only -------------------------------------------------------------


def test_lines_split_at_newlines_only_and_drop_a_crlf_carriage_return() -> None:
    assert split_lines("a\u2028b\x0cc\r\nd\re\n\nf") == ["a\u2028b\x0cc", "d\re", "", "f"]
    assert split_lines("one\n") == ["one"]
    assert split_lines("") == []


@pytest.mark.parametrize("separator", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_an_odd_separator_is_a_character_of_its_markdown_line(separator: str) -> None:
    text = (
        f"### 1. What is A{separator}B?\nAnswer one{separator}goes on.\n"
        "### 2. A question without an answer?\n\n"
        f"### 3. Third?\nAnswer{separator}three.\n"
    )

    problems, partial = parse_problems(text)

    assert problems == [
        "3: question 'A question without an answer?' has no answer paragraph under it"
    ]
    first, third = partial.questions
    assert (first.prompt, first.reference, first.origin) == (
        f"What is A{separator}B?",
        f"Answer one{separator}goes on.",
        "packs/p.md:1",
    )
    assert third.origin == "packs/p.md:5"


@pytest.mark.parametrize("separator", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_an_odd_separator_in_a_seed_pack_leaves_later_lines_where_they_are(
    separator: str,
) -> None:
    bullet = f"Ranges{separator}of addresses."

    problems, partial = parse_problems(seed_pack(bullet=bullet, extra="not a bullet"))

    assert problems == ["7: expected a bullet '- **Term:** explanation'"]
    assert partial.questions[0].reference == bullet
    assert partial.questions[1].origin == "packs/p.md:10"


def test_a_crlf_pack_and_its_overlay_read_as_their_lines(tmp_path: Path) -> None:
    pack = tmp_path / "vpc.md"
    pack.write_bytes(b"### 1. What is a VPC?\r\nA private network.\r\n\r\n### 2. Q?\r\nA.\r\n")
    overlay = tmp_path / "vpc.rubrics.yaml"
    overlay.write_bytes(b"vpc/what-is-a-vpc:\r\n  concepts: [private]\r\n  colour: blue\r\n")

    with pytest.raises(PackProblemsError) as caught:
        read_pack(pack)
    overlay.unlink()
    loaded = read_pack(pack)

    assert [(p.line, p.problem.split(" (")[0]) for p in caught.value.problems] == [
        (3, "unknown key 'colour'")
    ]
    assert [(q.prompt, q.reference, q.origin) for q in loaded.questions] == [
        ("What is a VPC?", "A private network.", f"{pack}:1"),
        ("Q?", "A.", f"{pack}:4"),
    ]


@pytest.mark.parametrize("separator", YAML_BREAKS.values(), ids=YAML_BREAKS.keys())
def test_a_yaml_line_break_inside_an_overlay_line_does_not_move_later_lines(
    separator: str,
) -> None:
    text = (
        "q/one:\n"
        "  concepts: [a]\n"
        f'  explain: "one{separator}two"\n'
        "  reference: r\n"
        "  colour: blue\n"
        "q/two:\n"
        "  concepts: [b]\n"
        "q/two:\n"
        "  concepts: [c]\n"
    )

    assert overlay_problems(text) == [
        "5: unknown key 'colour' (known: concepts, difficulty, docs, explain, overlaps, question, "
        "reference, subjects)",
        "8: question id 'q/two' is given twice (first at line 6)",
    ]


@pytest.mark.parametrize("separator", YAML_REFUSED.values(), ids=YAML_REFUSED.keys())
def test_a_control_character_yaml_refuses_is_named_at_its_line(separator: str) -> None:
    (problem,) = overlay_problems(f"q/one:\n  concepts: [a]\n  explain: one{separator}two\n")

    assert problem.startswith(f"3: not valid YAML: unacceptable character #x{ord(separator):04x}")
    assert "position" not in problem


@pytest.mark.parametrize("separator", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_an_odd_separator_before_an_inline_rubric_problem_leaves_its_line(separator: str) -> None:
    text = (
        f"### 1. What is A{separator}B?\n"
        f"Answer{separator}one.\n"
        "<!-- awsquiz-rubric\n"
        "concepts: [a]\n"
        f'explain: "one{separator}two"\n'
        "reference: r\n"
        "colour: blue\n"
        "-->\n"
    )
    if separator in YAML_REFUSED.values():
        expected = f"5: not valid YAML: unacceptable character #x{ord(separator):04x}"
    else:
        expected = "7: unknown key 'colour'"

    (problem,), _ = parse_problems(text)

    assert problem.startswith(expected)


@pytest.mark.parametrize("separator", ["\u2028", "\r"], ids=["line separator", "carriage return"])
def test_an_overlay_file_keeps_its_odd_separators_in_their_line(
    tmp_path: Path, separator: str
) -> None:
    pack = tmp_path / "vpc.md"
    pack.write_text("### 1. What is a VPC?\nA private network.\n", encoding="utf-8")
    (tmp_path / "vpc.rubrics.yaml").write_bytes(
        f'vpc/what-is-a-vpc:\n  concepts: [a]\n  explain: "x{separator}y"\n  surprise: 1\n'.encode()
    )

    with pytest.raises(PackProblemsError) as caught:
        read_pack(pack)

    assert [(p.line, p.problem.split(" (")[0]) for p in caught.value.problems] == [
        (4, "unknown key 'surprise'")
    ]


def test_an_overlay_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    pack = tmp_path / "vpc.md"
    pack.write_text("### 1. What is a VPC?\nA private network.\n", encoding="utf-8")
    overlay = tmp_path / "vpc.rubrics.yaml"
    overlay.write_bytes(b"vpc/what-is-a-vpc:\n  concepts: [a]\n  explain: caf\xe9\n")

    with pytest.raises(ContentError) as caught:
        read_pack(pack)

    assert isinstance(caught.value, PackProblemsError)
    assert [(p.path, p.line, p.problem) for p in caught.value.problems] == [
        (str(overlay), 3, "not valid UTF-8 text")
    ]
