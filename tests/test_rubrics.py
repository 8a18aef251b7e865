"""Rubric answer keys: the YAML format, its problems with file and line, overlays and inline
blocks, and the shipped overlay of the seed document."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.catalog import Catalog
from bot.engine.errors import ContentError, PackProblemsError
from bot.engine.model import Difficulty, RubricConcept, Subject
from content.check import check_packs
from content.loader import (
    DEFAULT_PACK_NAME,
    default_pack,
    load_catalog,
    read_pack,
    seed_document,
    with_overlays,
)
from content.parser import parse_pack
from content.rubrics import parse_overlay

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / DEFAULT_PACK_NAME
SHIPPED_SEED = Path(__file__).resolve().parents[1] / "content" / "packs" / DEFAULT_PACK_NAME

EBS_ENTRY = """\
ec2/ebs-vs-instance-store:
  question: How does an EBS volume differ from an instance store volume?
  reference: EBS persists apart from the instance; instance store is lost on stop.
  subjects:
    EBS: [EBS volume, elastic block store]
    instance store: [instance storage]
  concepts:
    - name: persistent
      also: [survives a stop, durable]
      of: EBS
      weight: 2
    - name: ephemeral
      also: [lost on stop]
      of: instance store
      required: true
    - network-attached = over the network, network storage
    - name: snapshots
      optional: true
  explain: EBS lives on the network; instance store is the host's own disk.
  docs: https://docs.aws.amazon.com/ebs/latest/userguide/what-is-ebs.html
  difficulty: interview
"""

PACK = """\
## 1. Amazon EC2

### Key Concepts
- **EBS:** Block storage.

### Sample Interview Questions
- **Q:** How does an EBS volume differ from an instance store volume?
  - **A:** EBS persists; instance store does not.
"""


def problems_of(text: str, path: str = "rubrics.yaml") -> list[str]:
    """Parse an overlay that must fail; return its problems as 'line: message'."""
    with pytest.raises(PackProblemsError) as caught:
        parse_overlay(text, path)
    assert all(problem.path == path for problem in caught.value.problems)
    return [f"{problem.line}: {problem.problem}" for problem in caught.value.problems]


# -- the format -------------------------------------------------------------------------------


def test_an_entry_reads_concepts_subjects_wording_explanation_and_docs() -> None:
    (entry,) = parse_overlay(EBS_ENTRY, "rubrics.yaml")

    assert entry.question_id == "ec2/ebs-vs-instance-store"
    assert entry.origin == "rubrics.yaml:1"
    assert entry.prompt == "How does an EBS volume differ from an instance store volume?"
    assert entry.reference is not None
    assert entry.reference.startswith("EBS persists")
    assert entry.difficulty is Difficulty.INTERVIEW
    assert entry.docs.startswith("https://docs.aws.amazon.com/")
    assert entry.rubric.subjects == (
        Subject("EBS", ("EBS volume", "elastic block store")),
        Subject("instance store", ("instance storage",)),
    )
    assert entry.rubric.concepts == (
        RubricConcept("persistent", ("survives a stop", "durable"), 2.0, subject="EBS"),
        RubricConcept("ephemeral", ("lost on stop",), required=True, subject="instance store"),
        RubricConcept("network-attached", ("over the network", "network storage")),
        RubricConcept("snapshots", optional=True),
    )
    assert [c.label for c in entry.rubric.concepts][:2] == [
        "EBS: persistent",
        "instance store: ephemeral",
    ]


def test_every_problem_of_a_file_is_reported_with_its_line() -> None:
    text = """\
q/one:
  concepts:
    - name: caching
    - name: Caching
    - name: speed
      weight: 9
    - name: routing
      of: nobody
    - "empty = , second"
    - name: both
      required: true
      optional: true
    - name: ok
      colour: blue
  docs: not-a-link
  surprise: 1
q/two:
  concepts: []
q/three:
  subjects:
    A: []
  concepts:
    - name: x
      of: A
"""
    assert sorted(problems_of(text), key=lambda p: int(p.split(":")[0])) == [
        "4: concept 'Caching' is named twice (first at line 3)",
        "6: weight 9 is out of range (0.25 to 5)",
        "8: 'of' names an unknown subject 'nobody' (known: none: add 'subjects')",
        "9: empty phrasing in concept 'empty = , second'",
        "10: a concept cannot be both required and optional",
        "14: unknown concept key 'colour' (known: also, name, of, optional, required, weight)",
        "15: docs must be one https:// link, got 'not-a-link'",
        "16: unknown key 'surprise' (known: concepts, difficulty, docs, explain, overlaps, "
        "question, reference, subjects)",
        "18: concepts must be a non-empty list",
        "21: a contrast needs at least 2 subjects",
    ]


def test_a_subject_without_a_bound_concept_and_a_repeated_id_are_problems() -> None:
    text = """\
q/one:
  subjects:
    A: []
    B: [b]
  concepts:
    - name: x
      of: A
q/one:
  concepts: [y]
"""
    assert problems_of(text) == [
        "4: subject 'B' has no concept bound to it ('of:')",
        "8: question id 'q/one' is given twice (first at line 1)",
    ]


def test_a_phrasing_that_is_a_stopword_alone_is_a_problem() -> None:
    assert problems_of("q:\n  concepts:\n    - name: fan-out\n      also: [And, to many]\n") == [
        "4: a phrasing 'And' is a stopword alone: it would match any answer"
    ]


def test_an_unknown_difficulty_is_named_as_in_packs() -> None:
    assert problems_of("q/one:\n  concepts: [a]\n  difficulty: hard\n") == [
        "3: unknown difficulty 'hard' (accepted: basic, advanced, interview)"
    ]


def test_bad_yaml_and_an_empty_file_name_their_line() -> None:
    assert problems_of("q/one:\n  concepts: [a, b\n  explain: x\n")[0].startswith(
        "3: not valid YAML"
    )
    assert problems_of("") == ["1: the rubric file is empty"]
    assert problems_of("- a list\n") == ["1: expected a mapping of question id -> rubric"]


# -- overlays and inline blocks ---------------------------------------------------------------


def test_an_overlay_folder_beside_a_pack_applies_its_entries(tmp_path: Path) -> None:
    pack = tmp_path / "ec2.md"
    pack.write_text(PACK, encoding="utf-8")
    folder = tmp_path / "ec2.rubrics"
    folder.mkdir()
    question_id = "ec2/how-does-an-ebs-volume-differ-from-an-instance-store-volume"
    (folder / "ec2.yaml").write_text(
        EBS_ENTRY.replace("ec2/ebs-vs-instance-store", question_id), encoding="utf-8"
    )

    loaded = {q.id: q for q in read_pack(pack).questions}

    item = loaded[question_id]
    assert item.rubric is not None
    assert len(item.rubric.concepts) == 4
    assert item.reference.startswith("EBS persists apart from the instance")
    assert item.explanation.startswith("EBS lives on the network")
    assert loaded["ec2/ebs"].rubric is None


def test_an_overlay_id_that_no_question_has_is_a_problem_naming_file_and_line(
    tmp_path: Path,
) -> None:
    pack = tmp_path / "ec2.md"
    pack.write_text(PACK, encoding="utf-8")
    (tmp_path / "ec2.rubrics.yaml").write_text("\n" + EBS_ENTRY, encoding="utf-8")

    report = check_packs([pack])

    assert [str(problem) for problem in report.problems] == [
        f"{tmp_path / 'ec2.rubrics.yaml'}:2: no question of {pack} has the id "
        "'ec2/ebs-vs-instance-store'"
    ]


def test_an_overlay_renames_a_topic_and_its_old_names_still_find_it() -> None:
    pack = parse_pack(PACK, "ec2.md")
    overlay = "topics:\n  ec2:\n    name: Amazon EC2 compute\n    nicknames: [servers, vms]\n"

    [topic] = with_overlays(pack, [("t.yaml", overlay)]).topics
    catalog = Catalog([topic], [])

    assert topic.name == "Amazon EC2 compute"
    assert {catalog.find_topic(name).id for name in ("vms", "servers", "ec2")} == {"ec2"}


def test_a_topic_entry_for_an_unknown_topic_or_with_an_unknown_key_is_a_problem() -> None:
    pack = parse_pack(PACK, "ec2.md")
    overlay = "topics:\n  ec2:\n    title: EC2\n  vpc:\n    name: VPC\n"

    with pytest.raises(PackProblemsError) as caught:
        with_overlays(pack, [("t.yaml", overlay)])

    assert [str(problem) for problem in caught.value.problems] == [
        "t.yaml:3: unknown key 'title' (known: name, nicknames)"
    ]
    with pytest.raises(PackProblemsError) as caught:
        with_overlays(pack, [("t.yaml", "topics:\n  vpc:\n    name: VPC\n")])
    assert str(caught.value.problems[0]) == (
        "t.yaml:2: no topic of ec2.md has the id 'vpc' (topics: ec2)"
    )


def test_the_shipped_overlay_calls_opensearch_by_its_current_name(
    shipped_catalog: Catalog,
) -> None:
    topic = shipped_catalog.find_topic("elasticsearch")

    assert topic.id == "elasticsearch-service"  # the seed's question ids stay valid
    assert topic.name == "Amazon OpenSearch Service"
    assert shipped_catalog.find_topic("OpenSearch") == topic
    assert shipped_catalog.find_topic("Amazon Elasticsearch Service") == topic


def test_an_overlap_with_an_unknown_question_is_a_check_problem(tmp_path: Path) -> None:
    pack = tmp_path / "ec2.md"
    pack.write_text(PACK, encoding="utf-8")
    question_id = "ec2/how-does-an-ebs-volume-differ-from-an-instance-store-volume"
    entry = f"{question_id}:\n  overlaps: [ec2/ebs, ec2/nothing-like-it]\n  concepts: [persists]\n"
    (tmp_path / "ec2.rubrics.yaml").write_text(entry, encoding="utf-8")

    report = check_packs([pack])

    assert read_pack(pack).questions[1].overlaps == ("ec2/ebs", "ec2/nothing-like-it")
    assert [problem.message for problem in report.problems] == [
        f"{question_id!r} overlaps 'ec2/nothing-like-it', which is no loaded question"
    ]


def test_the_same_id_in_two_overlay_files_is_a_problem() -> None:
    pack = parse_pack(PACK, "ec2.md")
    entry = "ec2/ebs:\n  concepts: [block storage]\n"

    with pytest.raises(PackProblemsError) as caught:
        with_overlays(pack, [("a.yaml", entry), ("b.yaml", entry)])

    assert str(caught.value.problems[0]) == (
        "b.yaml:1: rubric for 'ec2/ebs' is given twice (first at a.yaml:1)"
    )


def test_an_inline_rubric_block_follows_its_question_in_either_pack_shape() -> None:
    seed_shape = PACK.replace(
        "- **EBS:** Block storage.\n",
        "- **EBS:** Block storage.\n<!-- awsquiz-rubric\nconcepts:\n  - block storage = "
        "volumes\n  - name: attached to one instance\n    weight: 2\nexplain: Disks.\n-->\n",
    )
    numbered = (
        "### 1. What is EBS?\nBlock storage for EC2.\n<!-- awsquiz-rubric\n"
        "concepts: [block storage, network-attached]\n-->\n\n### 2. What is EFS?\nFiles.\n"
    )

    ebs = parse_pack(seed_shape, "seed.md").questions[0]
    first, second = parse_pack(numbered, "elastic-block-store.md").questions

    assert ebs.rubric is not None
    assert [c.name for c in ebs.rubric.concepts] == ["block storage", "attached to one instance"]
    assert ebs.explanation == "Disks."
    assert first.rubric is not None
    assert len(first.rubric.concepts) == 2
    assert first.reference == "Block storage for EC2."
    assert second.rubric is None


def test_a_bad_inline_block_names_the_pack_line_of_the_problem() -> None:
    text = PACK.replace(
        "- **EBS:** Block storage.\n",
        "- **EBS:** Block storage.\n<!-- awsquiz-rubric\nconcepts:\n  - name: x\n"
        "    weight: -1\n-->\n",
    )
    with pytest.raises(ContentError) as caught:
        parse_pack(text, "pack.md")

    assert str(caught.value) == "pack.md:8: weight -1 is out of range (0.25 to 5)"


def test_a_rubric_block_before_any_question_or_never_closed_is_a_problem() -> None:
    early = "<!-- awsquiz-rubric\nconcepts: [x]\n-->\n### 1. What is EBS?\nBlock storage.\n"
    unclosed = "### 1. What is EBS?\nBlock storage.\n<!-- awsquiz-rubric\nconcepts: [x]\n"

    with pytest.raises(ContentError) as first:
        parse_pack(early, "a.md")
    with pytest.raises(ContentError) as second:
        parse_pack(unclosed, "b.md")

    assert str(first.value) == "a.md:1: a rubric block must follow its question"
    assert str(second.value) == "b.md:3: rubric block is not closed with '-->'"


# -- the shipped overlay of the seed document -------------------------------------------------


def test_the_seed_document_ships_byte_for_byte_as_the_user_wrote_it() -> None:
    if not SEED.is_file():
        pytest.skip(f"the shared seed is not at {SEED}")
    assert SHIPPED_SEED.read_bytes() == SEED.read_bytes()


def test_every_seed_question_keeps_its_id_and_gets_a_full_answer_key() -> None:
    parsed = seed_document()
    shipped = default_pack()

    assert [q.id for q in shipped.questions] == [q.id for q in parsed.questions]
    assert len(shipped.questions) == 106
    for item in shipped.questions:
        assert item.rubric is not None, item.id
        assert item.explanation, item.id
        assert item.docs.startswith("https://"), item.id
        counted = [c for c in item.rubric.concepts if not c.optional]
        assert len(counted) >= 2, item.id


def test_bullet_questions_are_asked_as_interview_questions_with_full_references() -> None:
    parsed = {q.id: q for q in seed_document().questions}
    shipped = {q.id: q for q in default_pack().questions}

    for question_id, before in parsed.items():
        after = shipped[question_id]
        if before.difficulty is not Difficulty.INTERVIEW:
            assert after.prompt != before.prompt, question_id
            assert after.prompt.endswith("?"), after.prompt
            assert len(after.reference) > len(before.reference), question_id


def test_content_check_on_the_shipped_packs_finds_no_problem() -> None:
    report = check_packs([SHIPPED_SEED.parent])

    assert [str(problem) for problem in report.problems] == []
    assert report.question_count == len(load_catalog().questions)
