"""Question packs: the shipped seed pack, the numbered shape, metadata blocks and pack errors."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.engine.errors import ContentError
from bot.engine.model import Difficulty
from bot.engine.naming import MAX_QUESTION_ID_LENGTH, MAX_TOPIC_ID_LENGTH
from content.check import check_packs
from content.loader import (
    DEFAULT_PACK_NAME,
    default_pack,
    load_catalog,
    load_pack_files,
    merge_packs,
    read_pack,
    seed_document,
)
from content.parser import Pack, parse_pack

SHARED_BANK = Path(__file__).resolve().parents[2] / "shared" / "data" / "aws-devops-zero-to-hero"
SLUG_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$")

SEED_PACK = """\
# Networking pack

An introduction that is not a topic.

---

## 1. Amazon VPC (Virtual Private Cloud)

### Overview
Private networks in AWS.

### Key Concepts
- **Subnets:** Ranges of IP addresses in one Availability Zone.
- **Route Tables:** Decide where traffic from a subnet goes.

### Advanced Topics
- **Transit Gateway:** Hub that connects many VPCs and on-premises networks.

### Sample Interview Questions
- **Q:** What does a NAT gateway do?
  - **A:** Gives instances in private subnets outbound internet access.
"""


def write(directory: Path, name: str, text: str) -> Path:
    """Write a pack file and return its path."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def parse_error(text: str, path: str = "packs/bad.md") -> ContentError:
    """Parse `text` and return the ContentError it must raise."""
    with pytest.raises(ContentError) as caught:
        parse_pack(text, path)
    return caught.value


# -- the shipped default pack -----------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Pack:
    """The seed document as the parser reads it, without its rubric overlay, parsed once."""
    return seed_document()


def test_default_pack_has_the_ten_seed_topics(seed: Pack) -> None:
    assert [topic.id for topic in seed.topics] == [
        "ecs",
        "ec2",
        "glue-jobs",
        "step-functions",
        "lambda",
        "s3",
        "elasticsearch-service",
        "cloudwatch",
        "docker",
        "terraform",
    ]
    ecs = seed.topics[0]
    assert (ecs.name, ecs.full_name) == ("Amazon ECS", "Amazon ECS (Elastic Container Service)")
    assert ecs.overview.startswith("Amazon ECS is a fully managed container orchestration")
    assert seed.path == f"content/packs/{DEFAULT_PACK_NAME}"


def test_default_pack_has_twenty_interview_questions_two_per_topic(seed: Pack) -> None:
    interview = [q for q in seed.questions if q.difficulty is Difficulty.INTERVIEW]

    assert len(interview) == 20
    assert Counter(q.topic_id for q in interview) == {topic.id: 2 for topic in seed.topics}
    by_prompt = {q.prompt: q for q in interview}
    ec2 = by_prompt["How do you ensure high availability for EC2 workloads?"]
    assert ec2.reference == (
        "Use multiple Availability Zones, Auto Scaling Groups, Elastic Load Balancer, "
        "and health checks."
    )
    assert ec2.id == "ec2/how-do-you-ensure-high-availability-for-ec2-workloads"
    assert by_prompt["How do you secure ECS workloads?"].reference == (
        "Use IAM roles for tasks, security groups, VPC isolation, "
        "and secrets management (SSM, Secrets Manager)."
    )


def test_every_seed_bullet_becomes_one_question_of_its_level(seed: Pack) -> None:
    counts = Counter(q.difficulty for q in seed.questions)
    key_concepts = sum(len(topic.key_concepts) for topic in seed.topics)
    advanced = sum(len(topic.advanced_topics) for topic in seed.topics)

    assert counts[Difficulty.BASIC] == key_concepts == 47
    assert counts[Difficulty.ADVANCED] == advanced == 39
    assert len(seed.questions) == key_concepts + advanced + 20 == 106
    for topic in seed.topics:
        mine = [q for q in seed.questions if q.topic_id == topic.id]
        assert sum(q.difficulty is Difficulty.BASIC for q in mine) == len(topic.key_concepts)
        assert sum(q.difficulty is Difficulty.ADVANCED for q in mine) == len(topic.advanced_topics)


def test_bullet_questions_read_as_questions_with_the_bullet_text_as_reference(
    seed: Pack,
) -> None:
    by_id = {q.id: q for q in seed.questions}

    placement = by_id["ecs/task-placement-strategies"]
    assert placement.prompt == "In Amazon ECS, what are task placement strategies?"
    assert placement.reference == "Binpack, random, spread."
    assert placement.difficulty is Difficulty.ADVANCED
    assert placement.origin == f"content/packs/{DEFAULT_PACK_NAME}:22"
    networking = by_id["ecs/networking"]
    assert networking.prompt == "In Amazon ECS, what is networking?"
    assert networking.difficulty is Difficulty.BASIC
    # Acronyms and CamelCase product names keep their spelling.
    ebs = by_id["ec2/ebs-elastic-block-store"]
    assert ebs.prompt == "In Amazon EC2, what is EBS (Elastic Block Store)?"


def test_seed_question_ids_are_unique_stable_topic_slugs(seed: Pack) -> None:
    ids = [q.id for q in seed.questions]

    assert len(set(ids)) == len(ids)
    assert all(SLUG_ID.match(question_id) for question_id in ids), ids
    assert all(q.id.split("/")[0] == q.topic_id for q in seed.questions)
    assert [q.id for q in default_pack().questions] == ids


# The same pack on a topic the shipped packs do not have: its ids repeat none of theirs.
UNSHIPPED_SEED_PACK = SEED_PACK.replace("Amazon VPC (Virtual Private Cloud)", "AWS Outposts")

# -- the seed shape on small packs ------------------------------------------------------------


def test_seed_shape_topic_sections_and_preamble() -> None:
    pack = parse_pack(SEED_PACK, "packs/networking.md")

    assert pack.name == "networking"
    (topic,) = pack.topics
    assert (topic.id, topic.name) == ("vpc", "Amazon VPC")
    assert topic.overview == "Private networks in AWS."
    assert topic.key_concepts == (
        "Subnets: Ranges of IP addresses in one Availability Zone.",
        "Route Tables: Decide where traffic from a subnet goes.",
    )
    assert [(q.id, q.difficulty) for q in pack.questions] == [
        ("vpc/subnets", Difficulty.BASIC),
        ("vpc/route-tables", Difficulty.BASIC),
        ("vpc/transit-gateway", Difficulty.ADVANCED),
        ("vpc/what-does-a-nat-gateway-do", Difficulty.INTERVIEW),
    ]
    assert pack.questions[-1].origin == "packs/networking.md:21"


def test_a_wrapped_bullet_line_continues_the_reference() -> None:
    text = SEED_PACK.replace(
        "- **Route Tables:** Decide where traffic from a subnet goes.\n",
        "- **Route Tables:** Decide where traffic\n  from a subnet goes.\n",
    )

    pack = parse_pack(text, "p.md")

    assert pack.questions[1].reference == "Decide where traffic from a subnet goes."


# -- the numbered shape -----------------------------------------------------------------------

NUMBERED_PACK = """\
# Virtual Private Cloud interview questions

A preamble paragraph that must not become a question.

### 1. **Question:** What is a VPC?
**Answer:** A logically isolated virtual network
in your AWS account.

A trailing paragraph under the answer, ignored.

### 2. Which subnet types are there?
- Public subnets with a route to an internet gateway
- Private subnets without one

## Further reading
Links that are not questions.
"""


def test_numbered_shape_takes_the_topic_from_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "virtual-private-cloud.md", NUMBERED_PACK)

    pack = read_pack(path)

    (topic,) = pack.topics
    assert (topic.id, topic.name) == ("virtual-private-cloud", "Virtual Private Cloud")
    assert [q.topic_id for q in pack.questions] == ["virtual-private-cloud"] * 2
    assert all(q.difficulty is Difficulty.INTERVIEW for q in pack.questions)


def test_numbered_shape_strips_markers_and_ignores_preamble_and_trailing_text(
    tmp_path: Path,
) -> None:
    pack = read_pack(write(tmp_path, "virtual-private-cloud.md", NUMBERED_PACK))

    first, second = pack.questions
    assert first.id == "virtual-private-cloud/what-is-a-vpc"
    assert first.prompt == "What is a VPC?"
    assert first.reference == "A logically isolated virtual network in your AWS account."
    assert first.origin == f"{tmp_path / 'virtual-private-cloud.md'}:5"
    assert second.prompt == "Which subnet types are there?"
    assert "Public subnets with a route to an internet gateway" in second.reference
    assert "Private subnets without one" in second.reference
    assert "preamble" not in " ".join(q.reference + q.prompt for q in pack.questions)
    assert "trailing" not in first.reference.lower()


@pytest.mark.parametrize(
    ("file_name", "topic_id", "topic_name"),
    [
        ("01-ADVANCED.md", "advanced", "Advanced"),
        ("aws-cli.md", "cli", "AWS CLI"),
        ("elastic_cloud_compute.md", "elastic-cloud-compute", "Elastic Cloud Compute"),
    ],
)
def test_numbered_topic_names_from_file_names(
    tmp_path: Path, file_name: str, topic_id: str, topic_name: str
) -> None:
    pack = read_pack(write(tmp_path, file_name, "### 1. What is it?\nSomething useful.\n"))

    assert [(t.id, t.name) for t in pack.topics] == [(topic_id, topic_name)]
    assert pack.questions[0].id == f"{topic_id}/what-is-it"


# -- metadata blocks --------------------------------------------------------------------------


def test_question_metadata_sets_difficulty_concepts_aliases_and_id() -> None:
    text = """\
### 1. What is a NAT gateway?
It lets private subnets reach the internet.
<!-- awsquiz
difficulty: advanced
concepts: private subnets; outbound internet ;
aliases: NAT gateway = NAT GW, natgw
aliases: internet = web
id: networking/nat
-->

### 2. What is an internet gateway?
The door of a VPC to the internet.
"""
    first, second = parse_pack(text, "vpc.md").questions

    assert first.id == "networking/nat"
    assert first.difficulty is Difficulty.ADVANCED
    assert first.concepts == ("private subnets", "outbound internet")
    assert first.aliases == (("NAT gateway", ("NAT GW", "natgw")), ("internet", ("web",)))
    assert first.reference == "It lets private subnets reach the internet."
    # The block belongs to the question above it only.
    assert (second.difficulty, second.concepts, second.aliases) == (Difficulty.INTERVIEW, (), ())


def test_pack_metadata_sets_topic_and_default_difficulty() -> None:
    text = """\
<!-- awsquiz
topic: Amazon VPC
difficulty: basic
-->
### 1. What is a subnet?
A range of addresses.

### 2. What is a route table?
Rules for where traffic goes.
"""
    pack = parse_pack(text, "packs/02-misc.md")

    assert [(t.id, t.name) for t in pack.topics] == [("vpc", "Amazon VPC")]
    assert [(q.id, q.difficulty) for q in pack.questions] == [
        ("vpc/what-is-a-subnet", Difficulty.BASIC),
        ("vpc/what-is-a-route-table", Difficulty.BASIC),
    ]


def test_seed_metadata_before_a_topics_first_question_sets_its_difficulty() -> None:
    text = SEED_PACK.replace(
        "### Key Concepts\n", "### Key Concepts\n<!-- awsquiz\ndifficulty: interview\n-->\n"
    ).replace(
        "- **Subnets:** Ranges of IP addresses in one Availability Zone.\n",
        "- **Subnets:** Ranges of IP addresses in one Availability Zone.\n"
        "<!-- awsquiz\nconcepts: IP range; availability zone\n-->\n",
    )

    pack = parse_pack(text, "p.md")

    assert {q.difficulty for q in pack.questions} == {Difficulty.INTERVIEW}
    assert pack.questions[0].concepts == ("IP range", "availability zone")
    assert pack.questions[1].concepts == ()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "### 1. Q one?\nA one.\n<!-- awsquiz\ncolour: red\n-->\n",
            4,
            "unknown metadata key 'colour'",
        ),
        (
            "<!-- awsquiz\ndifficulty: expert\n-->\n### 1. Q one?\nA one.\n",
            2,
            "unknown difficulty 'expert' (accepted: basic, advanced, interview)",
        ),
        (
            "### 1. Q one?\nA one.\n<!-- awsquiz\nid:\n-->\n",
            4,
            "expected 'key: value'",
        ),
        (
            "### 1. Q one?\nA one.\n<!-- awsquiz\naliases: NAT gateway\n-->\n",
            4,
            "aliases must read 'term = other, other'",
        ),
        (
            "### 1. Q one?\nA one.\n<!-- awsquiz\ntopic: VPC\n-->\n",
            3,
            "key 'topic' is not allowed on a question",
        ),
        (
            "<!-- awsquiz\nconcepts: a; b\n-->\n### 1. Q one?\nA one.\n",
            1,
            "key 'concepts' is not allowed before the first question",
        ),
        (
            "### 1. Q one?\nA one.\n<!-- awsquiz\ndifficulty: basic\n",
            3,
            "metadata block is not closed",
        ),
    ],
    ids=[
        "unknown-key",
        "unknown-difficulty",
        "key-without-value",
        "alias-without-equals",
        "pack-key-on-question",
        "question-key-before-questions",
        "unclosed-at-end",
    ],
)
def test_metadata_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    error = parse_error(text)

    assert (error.path, error.line) == ("packs/bad.md", line)
    assert message in error.problem
    assert str(error).startswith(f"packs/bad.md:{line}: ")


def test_an_unclosed_block_before_a_question_is_an_error_not_swallowed_text() -> None:
    error = parse_error("<!-- awsquiz\ndifficulty: basic\n### 1. Q one?\nA one.\n")

    assert error.path == "packs/bad.md"
    assert error.line == 1  # where the block opened
    assert "metadata block is not closed" in error.problem
    assert "before line 3" in error.problem


def test_a_seed_topic_key_is_refused_before_a_topics_first_question() -> None:
    text = SEED_PACK.replace("### Overview\n", "<!-- awsquiz\ntopic: Other\n-->\n### Overview\n")

    error = parse_error(text)

    assert error.line == 9
    assert "key 'topic' is not allowed before a topic's first question" in error.problem


# -- malformed packs --------------------------------------------------------------------------

SEED_ERRORS = [
    (SEED_PACK + "- **Q:** Is this answered?\n", 22, "has no answer"),
    (SEED_PACK + "- **Q:** First?\n- **Q:** Second?\n  - **A:** Yes.\n", 22, "has no answer"),
    (SEED_PACK + "  - **A:** An orphan answer.\n", 22, "without a question"),
    (SEED_PACK + "- **Q:**\n", 22, "question has no text"),
    (SEED_PACK + "- **Q:** Empty?\n  - **A:**\n", 23, "answer has no text"),
    (SEED_PACK + "### Pricing\n- **Tiers:** Free and paid.\n", 22, "unknown section 'Pricing'"),
    (
        SEED_PACK.replace("Decide where traffic from a subnet goes.", ""),
        14,
        "bullet 'Route Tables' has no explanation",
    ),
    (
        SEED_PACK.replace("- **Route Tables:**", "Route Tables:"),
        14,
        "expected a bullet",
    ),
    (SEED_PACK + "\n## 2. Amazon Route 53\nStray text.\n", 24, "text before the topic's first"),
    (
        SEED_PACK + "\n## 2. Amazon Route 53\n\n### Overview\nDNS.\n",
        23,
        "topic 'Amazon Route 53' has no questions",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    SEED_ERRORS,
    ids=[
        "q-without-a-at-end",
        "q-followed-by-q",
        "a-without-q",
        "q-without-text",
        "a-without-text",
        "unknown-section",
        "bullet-without-text",
        "not-a-bullet",
        "text-before-section",
        "topic-without-questions",
    ],
)
def test_malformed_seed_packs_name_file_and_line(text: str, line: int, message: str) -> None:
    error = parse_error(text)

    assert (error.path, error.line) == ("packs/bad.md", line)
    assert message in error.problem


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("# Notes\n\nJust prose, no questions.\n", 1, "no questions found"),
        ("", 1, "no questions found"),
        ("### 1. What is a VPC?\n\n### 2. What is a subnet?\nA range.\n", 1, "has no answer"),
        ("intro\n\n### 1. Q one?\nA one.\n\n### 2. Q two?\n", 6, "'Q two?' has no answer"),
    ],
    ids=["prose-only", "empty-file", "numbered-without-answer", "numbered-last-without-answer"],
)
def test_packs_without_questions_or_answers_are_refused(text: str, line: int, message: str) -> None:
    error = parse_error(text)

    assert (error.path, error.line) == ("packs/bad.md", line)
    assert message in error.problem


def test_a_numbered_heading_without_text_names_the_heading_line() -> None:
    error = parse_error(
        "### 1. Q one?\nA one.\n\n### 2. **Question:**\nAn answer\nover two lines.\n"
    )

    assert error.problem == "question heading has no text"
    assert error.line == 4


def test_non_utf8_bytes_name_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(b"### 1. What is S3?\nObject storage.\n\n### 2. Caf\xe9?\nA place.\n")

    with pytest.raises(ContentError) as caught:
        read_pack(path)

    assert (caught.value.path, caught.value.line) == (str(path), 4)
    assert "UTF-8" in caught.value.problem


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes("\ufeff### 1. Qu'est-ce que S3 ?\nStockage d'objets.\n".encode())

    (question,) = read_pack(path).questions

    assert question.prompt == "Qu'est-ce que S3 ?"
    assert question.id == "bom/qu-est-ce-que-s3"


# -- loading directories, checking and merging ------------------------------------------------


def test_pack_directories_skip_readme_and_license_and_load_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "b-topic.md", "### 1. Bee?\nBuzz.\n")
    write(tmp_path, "a-topic.md", "### 1. Ant?\nColony.\n")
    write(tmp_path, "README.md", "# Not a pack\n")
    write(tmp_path, "LICENSE.md", "MIT\n")
    write(tmp_path, "notes.txt", "### 1. Ignored?\nNot markdown.\n")

    packs = load_pack_files([tmp_path])

    assert [pack.name for pack in packs] == ["a-topic", "b-topic"]


def test_a_missing_content_path_is_a_content_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(ContentError) as caught:
        load_pack_files([missing])

    assert caught.value.path == str(missing)
    assert "no such file or directory" in caught.value.problem


def test_check_reports_every_bad_file_and_duplicates_across_files(tmp_path: Path) -> None:
    good = write(tmp_path, "vpc.md", "### 1. What is a VPC?\nA private network.\n")
    write(tmp_path, "broken-a.md", "### 1. What is a VPC?\n")
    write(tmp_path, "broken-b.md", "### 1. Q?\nA.\n<!-- awsquiz\ncolour: red\n-->\n")
    twin = write(
        tmp_path,
        "zz-twin.md",
        "<!-- awsquiz\ntopic: VPC\n-->\n\n### 1. What is a VPC?\nThe same id again.\n",
    )
    missing = tmp_path / "missing-dir"

    report = check_packs([tmp_path, missing])

    problems = {(Path(p.path).name, p.line): p.message for p in report.problems}
    assert set(problems) == {
        ("broken-a.md", 1),
        ("broken-b.md", 4),
        ("zz-twin.md", 5),
        ("missing-dir", 0),
    }
    assert "has no answer" in problems["broken-a.md", 1]
    assert "unknown metadata key 'colour'" in problems["broken-b.md", 4]
    assert problems["zz-twin.md", 5] == (
        f"duplicate question id 'vpc/what-is-a-vpc' (first defined at {good}:1)"
    )
    assert str(twin) in {p.path for p in report.problems}
    assert [pack.name for pack in report.packs] == ["vpc", "zz-twin"]
    assert report.question_count == 2


def test_check_of_good_packs_reports_nothing(tmp_path: Path) -> None:
    write(tmp_path, "vpc.md", NUMBERED_PACK)
    write(tmp_path, "networking.md", UNSHIPPED_SEED_PACK)

    report = check_packs([tmp_path])

    assert report.problems == ()
    assert report.question_count == 2 + 4


def test_load_catalog_merges_topics_with_the_same_id_across_packs(tmp_path: Path) -> None:
    write(tmp_path, "ecs.md", "### 1. What is an ECS capacity provider?\nIt manages capacity.\n")
    write(tmp_path, "lambda.md", "### 1. How do you version a Lambda function?\nPublish it.\n")
    write(
        tmp_path,
        "extra.md",
        "<!-- awsquiz\ntopic: Amazon ECS\n-->\n"
        "### 1. What is an ECS capacity provider?\nA duplicate, dropped.\n",
    )
    write(tmp_path, "outposts.md", "### 1. What is AWS Outposts?\nAWS racks on site.\n")

    shipped = load_catalog()
    catalog = load_catalog([tmp_path])

    assert [t.id for t in catalog.topics] == [*(t.id for t in shipped.topics), "outposts"]
    assert catalog.topic("ecs").name == "Amazon ECS"  # the default pack's topic wins
    for topic_id in ("ecs", "lambda"):
        assert len(catalog.select(topic_ids={topic_id})) == (
            len(shipped.select(topic_ids={topic_id})) + 1
        )
    # The first definition of a duplicated id wins (files load in name order).
    assert catalog.question("ecs/what-is-an-ecs-capacity-provider").reference == (
        "It manages capacity."
    )
    assert catalog.question("lambda/how-do-you-version-a-lambda-function").topic_id == "lambda"
    assert len(catalog.questions) == len(shipped.questions) + 3


@pytest.mark.skipif(not SHARED_BANK.is_dir(), reason=f"{SHARED_BANK} is not present")
def test_the_default_pack_merges_with_the_zero_to_hero_bank() -> None:
    report = check_packs([SHARED_BANK])
    catalog = load_catalog([SHARED_BANK])

    assert report.problems == ()
    ids = [q.id for q in catalog.questions]
    assert len(ids) == len(set(ids)) == len(load_catalog().questions) + report.question_count
    topic_ids = [t.id for t in catalog.topics]
    assert len(topic_ids) == len(set(topic_ids))
    assert {"ecs", "lambda", "s3", "eks"} <= set(topic_ids)
    ecs_origins = {q.origin.rsplit(":", 1)[0] for q in catalog.select(topic_ids={"ecs"})}
    assert {f"content/packs/{DEFAULT_PACK_NAME}", str(SHARED_BANK / "ecs.md")} <= ecs_origins


def test_a_numbered_pack_names_a_seed_topic_by_its_heading_and_adds_nicknames() -> None:
    text = (
        "<!-- awsquiz\ntopic: Amazon EC2 (Elastic Compute Cloud)\nnicknames: vms, servers\n-->\n"
        "### 1. What is an Elastic IP?\nA static public IPv4 address you own.\n"
    )
    pack = parse_pack(text, "bank/ec2.md")
    catalog, _ = merge_packs([seed_document(), pack])

    [question] = pack.questions
    assert question.topic_id == "ec2"
    assert pack.topics[0].full_name == "Amazon EC2 (Elastic Compute Cloud)"
    assert catalog.topic("ec2").name == "Amazon EC2"  # the first pack's topic wins
    assert catalog.find_topic("vms").id == "ec2"  # and a later pack adds names to type


def test_check_reports_every_problem_of_every_file_once_in_file_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sqs.md",
        "<!-- awsquiz\ntopic: Amazon SQS\n-->\n\n"
        "### 1. What is a dead-letter queue?\nWhere failed messages go.\n"
        "<!-- awsquiz\nid: sqs/bad id!\n-->\n\n"
        "### 2. What is long polling?\nWaiting up to 20 seconds for messages.\n"
        "<!-- awsquiz\nid: ecs/clusters\n-->\n\n"
        "### 3. What is a visibility timeout?\n<!-- awsquiz\ndifficulty: hard\n-->\n",
    )
    write(
        tmp_path,
        "seedlike.md",
        "## 1. Amazon SQS\n\n### Key Concepts\n- Visibility timeout hides a message.\n"
        "- **Standard:** at least once.\n- **Standard:** said twice.\n",
    )

    report = check_packs([tmp_path])

    messages = [f"{Path(p.path).name}:{p.line}: {p.message}" for p in report.problems]
    assert messages == [
        "seedlike.md:4: expected a bullet '- **Term:** explanation'",
        "seedlike.md:6: duplicate question id 'sqs/standard' (first defined at "
        f"{tmp_path / 'seedlike.md'}:5)",
        "sqs.md:7: id 'sqs/bad id!' may hold only letters, digits, '-', '_', '.' and '/'",
        "sqs.md:11: duplicate question id 'ecs/clusters' (first defined at "
        f"content/packs/{DEFAULT_PACK_NAME}:13)",
        "sqs.md:17: question 'What is a visibility timeout?' has no answer paragraph under it",
        "sqs.md:19: unknown difficulty 'hard' (accepted: basic, advanced, interview)",
    ]


def test_generated_question_ids_fit_in_a_chat_button() -> None:
    long_title = "### 1. " + "Why would a very careful engineer " * 8 + "?\nBecause.\n"
    [question] = parse_pack(long_title, "packs/long-winded-topic.md").questions
    assert len(question.id) <= MAX_QUESTION_ID_LENGTH
    assert question.id.startswith("long-winded-topic/why-would-a-very-careful")


def test_an_explicit_id_over_the_limit_names_file_and_line() -> None:
    text = "### 1. Q?\nA.\n<!-- awsquiz\nid: " + "x" * 90 + "\n-->\n"
    error = parse_error(text)
    assert error.line == 3
    assert "the limit is 76" in error.problem


def test_every_seed_and_bank_question_id_fits_in_a_chat_button() -> None:
    packs = [default_pack()]
    if SHARED_BANK.is_dir():
        packs += load_pack_files([SHARED_BANK])
    ids = [q.id for pack in packs for q in pack.questions]
    assert max(len(i) for i in ids) <= MAX_QUESTION_ID_LENGTH


def test_a_long_topic_name_keeps_room_for_every_question_of_it(tmp_path: Path) -> None:
    name = "amazon-elastic-container-service-for-kubernetes-and-friends-in-depth.md"
    text = "### 1. What is a pod?\nThe smallest unit.\n### 2. What is a node?\nA machine.\n"
    pack = read_pack(write(tmp_path, name, text))

    (topic,) = pack.topics
    assert len(topic.id) <= MAX_TOPIC_ID_LENGTH
    ids = [q.id for q in pack.questions]
    assert len(set(ids)) == 2  # distinct: they did not collapse to '<topic>/w'
    assert all(len(i) <= MAX_QUESTION_ID_LENGTH for i in ids)
    assert ids[0].endswith("/what-is-a-pod")


def test_packs_in_other_scripts_get_distinct_stable_ids(tmp_path: Path) -> None:
    text = "### 1. Что такое S3?\nОбъектное хранилище.\n### 2. Зачем нужен S3?\nХранить объекты.\n"
    pack = read_pack(write(tmp_path, "облако.md", text))

    (topic,) = pack.topics
    assert topic.id  # not empty, so it cannot merge with another script's topic
    ids = [q.id for q in pack.questions]
    assert len(set(ids)) == 2  # both would be plain 's3' without the hash
    for question_id in ids:
        assert question_id.startswith(f"{topic.id}/")
        assert question_id.split("/", 1)[1].startswith("s3-")
    # Stable: the same text gives the same ids when read again.
    assert ids == [q.id for q in read_pack(tmp_path / "облако.md").questions]


def test_an_explicit_id_with_spaces_names_file_and_line() -> None:
    error = parse_error("### 1. Q?\nA.\n<!-- awsquiz\nid: Not A Slug!!\n-->\n")
    assert error.line == 3
    assert "may hold only letters, digits" in error.problem


def test_a_topic_without_letters_or_digits_is_refused() -> None:
    error = parse_error("<!-- awsquiz\ntopic: ???\n-->\n### 1. Q?\nA.\n")
    assert error.line == 4
    assert "has no letters or digits" in error.problem


def test_check_reports_every_problem_of_a_file_not_only_the_first(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "vpc.md",
        "### 1. What is a subnet?\n\n"
        "### 2. What is a route table?\nIt routes.\n"
        "<!-- awsquiz\ncolour: red\n-->\n"
        "### 3. What is a NAT gateway?\n\n"
        "### 4. What is a VPC?\nA private network.\n",
    )

    report = check_packs([bad])

    assert [(p.line, p.message.split(" (")[0]) for p in report.problems] == [
        (1, "question 'What is a subnet?' has no answer paragraph under it"),
        (6, "unknown metadata key 'colour'"),
        (8, "question 'What is a NAT gateway?' has no answer paragraph under it"),
    ]
    with pytest.raises(ContentError, match=r"\(and 2 more problems in this file\)"):
        read_pack(bad)


def test_a_seed_pack_reports_a_broken_section_once_and_reads_on(tmp_path: Path) -> None:
    text = UNSHIPPED_SEED_PACK.replace("### Advanced Topics", "### Advanced Stuff").replace(
        "  - **A:** Gives instances", "Gives instances"
    )
    report = check_packs([write(tmp_path, "networking.md", text)])

    messages = [p.message for p in report.problems]
    assert len(messages) == 3  # the unknown section once, not once per bullet under it
    assert messages[0].startswith("unknown section 'Advanced Stuff'")
    assert "has no answer" in messages[1]  # in the order of their lines
    assert "expected '- **Q:** question'" in messages[2]


def test_check_looks_into_subfolders_and_flags_a_folder_without_packs(tmp_path: Path) -> None:
    write(tmp_path, "vpc.md", "### 1. What is a VPC?\nA private network.\n")
    (tmp_path / "compute").mkdir()
    write(tmp_path / "compute", "batch.md", "### 1. What is AWS Batch?\nBatch jobs.\n")
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".git", "notes.md", "### 1. Hidden?\nNot a pack.\n")
    empty = tmp_path / "empty"
    empty.mkdir()

    report = check_packs([tmp_path, empty])

    assert sorted(pack.name for pack in report.packs) == ["batch", "vpc"]
    assert [(p.path, p.message) for p in report.problems] == [
        (str(empty), "no .md packs in this folder")
    ]


def test_check_finds_a_question_that_repeats_one_of_the_default_pack(tmp_path: Path) -> None:
    repeated = next(q for q in default_pack().questions if q.id.startswith("ecs/"))
    slug = repeated.id.split("/", 1)[1]
    text = (
        "<!-- awsquiz\ntopic: Amazon ECS\n-->\n"
        f"### 1. {repeated.prompt}\nMy own answer.\n<!-- awsquiz\nid: ecs/{slug}\n-->\n"
    )

    report = check_packs([write(tmp_path, "mine.md", text)])

    (problem,) = report.problems
    assert problem.message.startswith(f"duplicate question id {repeated.id!r}")
    assert DEFAULT_PACK_NAME in problem.message
