"""Rubric answer keys in YAML: overlay files keyed by question id, and inline pack blocks.

The format is documented in content/RUBRICS.md. Parsing walks YAML's node tree rather than
the loaded values, so every problem names the line it is on; all of a file's problems are
reported at once.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

import yaml

from bot.engine.errors import ContentError, PackProblemsError
from bot.engine.grading.text import STOPWORDS, normalize, tokens
from bot.engine.model import Difficulty, Question, Rubric, RubricConcept, Subject
from bot.engine.naming import squash
from content.metadata import parse_difficulty

MIN_WEIGHT: Final = 0.25
MAX_WEIGHT: Final = 5.0
MAX_CONCEPTS: Final = 20
MAX_PHRASE_LENGTH: Final = 160
MIN_SUBJECTS: Final = 2
ENTRY_KEYS: Final = frozenset(
    {"concepts", "subjects", "question", "reference", "explain", "docs", "difficulty", "overlaps"}
)
TOPICS_KEY: Final = "topics"
"""The overlay key that holds topic entries rather than a question's rubric."""
TOPIC_KEYS: Final = frozenset({"name", "nicknames"})
CONCEPT_KEYS: Final = frozenset({"name", "also", "weight", "required", "optional", "of"})
_DOCS_URL: Final = re.compile(r"https://[^\s<>\"']+")
_NEWLINE: Final = re.compile("\n")

_SCALARS: Final = yaml.constructor.SafeConstructor()
# libyaml's parser when PyYAML was built with it (the wheels are): the node tree and its
# line marks are the same, ten times faster at start-up.
_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class RubricEntry:
    """One question's rubric and the wording it brings, as read from a file."""

    question_id: str
    path: str
    line: int
    rubric: Rubric
    prompt: str | None = None
    reference: str | None = None
    explanation: str = ""
    docs: str = ""
    difficulty: Difficulty | None = None
    overlaps: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """'file:line' of the entry."""
        return f"{self.path}:{self.line}"


def apply_entry(question: Question, entry: RubricEntry) -> Question:
    """The question with the entry's rubric, wording, explanation and docs link."""
    return replace(
        question,
        prompt=entry.prompt or question.prompt,
        reference=entry.reference or question.reference,
        difficulty=entry.difficulty or question.difficulty,
        rubric=entry.rubric,
        explanation=entry.explanation or question.explanation,
        docs=entry.docs or question.docs,
        overlaps=entry.overlaps or question.overlaps,
    )


@dataclass(frozen=True, slots=True)
class TopicEntry:
    """An overlay's word on a topic: a current display name and more names to type."""

    topic_id: str
    path: str
    line: int
    name: str | None = None
    nicknames: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Overlay:
    """What one overlay file holds: question rubrics, and topic entries under `topics`."""

    entries: tuple[RubricEntry, ...]
    topics: tuple[TopicEntry, ...] = ()


class _FileLines:
    """The line of the file a YAML mark is on, counting '\\n' alone as a line break.

    PyYAML and libyaml also end a line at a lone '\\r', U+0085, U+2028 and U+2029, so their
    `mark.line` drifts from the line editors (and the markdown parser) show after one of
    those; the mark's index, in characters, does not.
    """

    def __init__(self, text: str, first_line: int) -> None:
        self.first_line = first_line
        self._breaks = [found.start() for found in _NEWLINE.finditer(text)]

    def at(self, index: int) -> int:
        """The line of the character at `index` of the text."""
        return self.first_line + bisect_left(self._breaks, index)

    def of(self, node: yaml.Node) -> int:
        """The line a node starts on."""
        return self.at(node.start_mark.index)


def parse_overlay(text: str, path: str) -> list[RubricEntry]:
    """Every rubric entry of an overlay file; problems raise PackProblemsError naming file
    and line."""
    return list(read_overlay(text, path).entries)


def read_overlay(text: str, path: str) -> Overlay:
    """Every entry of an overlay file, the `topics` mapping included; problems raise
    PackProblemsError naming file and line."""
    problems: list[ContentError] = []
    lines = _FileLines(text, 1)
    root = _compose(text, path, lines, problems)
    entries: list[RubricEntry] = []
    topics: list[TopicEntry] = []
    if root is None:
        if not problems:
            problems.append(ContentError(path, 1, "the rubric file is empty"))
    elif not isinstance(root, yaml.MappingNode):
        problems.append(_problem(path, root, lines, "expected a mapping of question id -> rubric"))
    else:
        for key, value in _unique_pairs(root, path, lines, problems, "question id"):
            question_id = str(key.value).strip()
            if question_id == TOPICS_KEY:
                topics.extend(_topic_entries(value, path, lines, problems))
                continue
            entry = _entry(value, path, lines, question_id, lines.of(key), problems)
            if entry is not None:
                entries.append(entry)
    if problems:
        raise PackProblemsError(problems)
    return Overlay(tuple(entries), tuple(topics))


def _topic_entries(
    node: yaml.Node, path: str, lines: _FileLines, problems: list[ContentError]
) -> list[TopicEntry]:
    reader = _Reader(path, lines, problems)
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, f"{TOPICS_KEY!r} must map topic ids to 'name' and 'nicknames'")
        return []
    found: list[TopicEntry] = []
    for key, value in _unique_pairs(node, path, lines, problems, "topic id"):
        topic_id = str(key.value).strip()
        if not isinstance(value, yaml.MappingNode):
            reader.fail(value, f"topic {topic_id!r} must be a mapping with 'name' or 'nicknames'")
            continue
        fields: dict[str, yaml.Node] = {}
        for field_key, field_value in _unique_pairs(value, path, lines, problems, "key"):
            name = str(field_key.value).strip()
            if name in TOPIC_KEYS:
                fields[name] = field_value
            else:
                known = ", ".join(sorted(TOPIC_KEYS))
                reader.fail(field_key, f"unknown key {name!r} (known: {known})")
        display = reader.phrase(fields["name"], "name") if "name" in fields else None
        nicknames = reader.phrases(fields["nicknames"], "nickname") if "nicknames" in fields else ()
        found.append(TopicEntry(topic_id, path, lines.of(key), display, nicknames))
    return found


def parse_inline(text: str, path: str, first_line: int, question_id: str) -> RubricEntry:
    """The rubric of an inline block whose YAML starts at line `first_line` of `path`."""
    problems: list[ContentError] = []
    lines = _FileLines(text, first_line)
    root = _compose(text, path, lines, problems)
    entry = None
    if root is None and not problems:
        problems.append(ContentError(path, first_line, "the rubric block is empty"))
    elif root is not None:
        entry = _entry(root, path, lines, question_id, first_line, problems)
    if problems or entry is None:
        raise PackProblemsError(problems or [ContentError(path, first_line, "no rubric")])
    return entry


def _compose(
    text: str, path: str, lines: _FileLines, problems: list[ContentError]
) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = lines.at(mark.index) if mark is not None else lines.first_line
        problems.append(ContentError(path, line, f"not valid YAML: {error.problem or error}"))
    except yaml.reader.ReaderError as error:
        # A character YAML refuses (a control character such as a form feed): named at its
        # line, without PyYAML's "in <unicode string>, position N" that means nothing here.
        reason = str(error).partition("\n")[0]
        problems.append(ContentError(path, lines.at(error.position), f"not valid YAML: {reason}"))
    except yaml.YAMLError as error:
        problems.append(ContentError(path, lines.first_line, f"not valid YAML: {error}"))
    return None


def _problem(path: str, node: yaml.Node, lines: _FileLines, message: str) -> ContentError:
    return ContentError(path, lines.of(node), message)


def _unique_pairs(
    node: yaml.MappingNode, path: str, lines: _FileLines, problems: list[ContentError], what: str
) -> Iterable[tuple[yaml.ScalarNode, yaml.Node]]:
    """The (key, value) pairs of a mapping, refusing non-text and repeated keys."""
    seen: dict[str, int] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or not str(key.value).strip():
            problems.append(_problem(path, key, lines, f"a {what} must be plain text"))
            continue
        text = str(key.value).strip()
        if text in seen:
            problems.append(
                _problem(
                    path,
                    key,
                    lines,
                    f"{what} {text!r} is given twice (first at line {seen[text]})",
                )
            )
            continue
        seen[text] = lines.of(key)
        yield key, value


class _Reader:
    """Reads one entry's nodes, noting problems with their lines."""

    def __init__(self, path: str, lines: _FileLines, problems: list[ContentError]) -> None:
        self.path = path
        self.lines = lines
        self.problems = problems
        self.subject_lines: dict[str, yaml.Node] = {}

    def fail(self, node: yaml.Node, message: str) -> None:
        self.problems.append(_problem(self.path, node, self.lines, message))

    def text(self, node: yaml.Node, what: str) -> str | None:
        """A non-empty one-line-or-more text value."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.fail(node, f"{what} must be text")
            return None
        value = " ".join(str(node.value).split())
        if not value:
            self.fail(node, f"{what} is empty")
            return None
        return value

    def phrase(self, node: yaml.Node, what: str) -> str | None:
        value = self.text(node, what)
        if value is not None and len(value) > MAX_PHRASE_LENGTH:
            self.fail(node, f"{what} has {len(value)} characters; the limit is {MAX_PHRASE_LENGTH}")
            return None
        if value is not None and not squash(value):
            self.fail(node, f"{what} {value!r} has no letters or digits")
            return None
        return value

    def phrasing(self, node: yaml.Node) -> str | None:
        """One of a concept's other phrasings: a stopword alone would match any answer."""
        value = self.phrase(node, "a phrasing")
        words = tokens(normalize(value)) if value is not None else []
        if len(words) == 1 and words[0] in STOPWORDS:
            self.fail(node, f"a phrasing {value!r} is a stopword alone: it would match any answer")
            return None
        return value

    def phrases(
        self,
        node: yaml.Node,
        what: str,
        read: Callable[[yaml.Node], str | None] | None = None,
    ) -> tuple[str, ...]:
        """A list of phrases (or one), each read by `read` (default: `phrase`)."""
        read_one = read or (lambda item: self.phrase(item, what))
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            found = read_one(node)
            return (found,) if found else ()
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list of phrasings")
            return ()
        return tuple(p for item in node.value if (p := read_one(item)) is not None)

    def flag(self, node: yaml.Node, what: str) -> bool:
        value = _scalar(node)
        if not isinstance(value, bool):
            self.fail(node, f"{what} must be true or false")
            return False
        return value

    def weight(self, node: yaml.Node) -> float:
        value = _scalar(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(node, f"weight must be a number from {MIN_WEIGHT:g} to {MAX_WEIGHT:g}")
            return 1.0
        if not MIN_WEIGHT <= value <= MAX_WEIGHT:
            self.fail(node, f"weight {value:g} is out of range ({MIN_WEIGHT:g} to {MAX_WEIGHT:g})")
            return 1.0
        return float(value)


def _scalar(node: yaml.Node) -> object:
    if not isinstance(node, yaml.ScalarNode):
        return None
    return _SCALARS.construct_object(node)


def _entry(
    node: yaml.Node,
    path: str,
    lines: _FileLines,
    question_id: str,
    line: int,
    problems: list[ContentError],
) -> RubricEntry | None:
    reader = _Reader(path, lines, problems)
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, f"the rubric of {question_id!r} must be a mapping with 'concepts'")
        return None
    before = len(problems)
    fields: dict[str, yaml.Node] = {}
    for key, value in _unique_pairs(node, path, lines, problems, "key"):
        name = str(key.value).strip()
        if name not in ENTRY_KEYS:
            reader.fail(key, f"unknown key {name!r} (known: {', '.join(sorted(ENTRY_KEYS))})")
            continue
        fields[name] = value
    subjects = _subjects(reader, fields["subjects"]) if "subjects" in fields else ()
    if "concepts" not in fields:
        reader.fail(node, f"the rubric of {question_id!r} has no 'concepts'")
        concepts: tuple[RubricConcept, ...] = ()
    else:
        concepts = _concepts(reader, fields["concepts"], subjects)

    def optional(key: str) -> str | None:
        return reader.text(fields[key], key) if key in fields else None

    prompt = optional("question")
    reference = optional("reference")
    explanation = optional("explain") or ""
    docs = optional("docs") or ""
    overlaps = reader.phrases(fields["overlaps"], "overlaps") if "overlaps" in fields else ()
    if docs and not _DOCS_URL.fullmatch(docs):
        reader.fail(fields["docs"], f"docs must be one https:// link, got {docs!r}")
    difficulty = None
    level = optional("difficulty")
    if level is not None:
        try:
            difficulty = parse_difficulty(path, lines.of(fields["difficulty"]), level)
        except ContentError as problem:  # the packs' own wording of the same mistake
            problems.append(problem)
    if len(problems) > before:
        return None
    return RubricEntry(
        question_id=question_id,
        path=path,
        line=line,
        rubric=Rubric(concepts, subjects),
        prompt=prompt,
        reference=reference,
        explanation=explanation,
        docs=docs,
        difficulty=difficulty,
        overlaps=overlaps,
    )


def _subjects(reader: _Reader, node: yaml.Node) -> tuple[Subject, ...]:
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, "subjects must be a mapping: subject name -> [its other names]")
        return ()
    subjects: list[Subject] = []
    for key, value in _unique_pairs(node, reader.path, reader.lines, reader.problems, "subject"):
        name = reader.phrase(key, "a subject name")
        if name is None:
            continue
        reader.subject_lines[name] = key
        empty = isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null"
        others = () if empty else reader.phrases(value, f"a name of subject {name!r}")
        subjects.append(Subject(name, others))
    if len(subjects) < MIN_SUBJECTS:
        reader.fail(node, f"a contrast needs at least {MIN_SUBJECTS} subjects")
    return tuple(subjects)


def _concepts(
    reader: _Reader, node: yaml.Node, subjects: Sequence[Subject]
) -> tuple[RubricConcept, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        reader.fail(node, "concepts must be a non-empty list")
        return ()
    if len(node.value) > MAX_CONCEPTS:
        reader.fail(node, f"{len(node.value)} concepts; the limit is {MAX_CONCEPTS}")
    concepts: list[RubricConcept] = []
    names: dict[str, int] = {}
    subject_names = {subject.name for subject in subjects}
    for item in node.value:
        concept = _concept(reader, item, subject_names)
        if concept is None:
            continue
        identity = squash(concept.label)
        if identity in names:
            reader.fail(
                item, f"concept {concept.label!r} is named twice (first at line {names[identity]})"
            )
            continue
        names[identity] = reader.lines.of(item)
        concepts.append(concept)
    if concepts and all(concept.optional for concept in concepts):
        reader.fail(node, "every concept is optional: at least one must count")
    bound = {concept.subject for concept in concepts}
    for subject in subjects:
        if subject.name not in bound:
            where = reader.subject_lines.get(subject.name, node)
            reader.fail(where, f"subject {subject.name!r} has no concept bound to it ('of:')")
    return tuple(concepts)


def _concept(reader: _Reader, node: yaml.Node, subjects: set[str]) -> RubricConcept | None:
    if isinstance(node, yaml.ScalarNode):
        text = reader.text(node, "a concept")
        if text is None:
            return None
        name, _, others = text.partition("=")
        parts = tuple(part.strip() for part in others.split(",")) if others else ()
        if not name.strip() or any(not part for part in parts):
            reader.fail(node, f"empty phrasing in concept {text!r}")
            return None
        return RubricConcept(name.strip(), parts)
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, "a concept must be text or a mapping with 'name'")
        return None
    before = len(reader.problems)
    fields: dict[str, yaml.Node] = {}
    for key, value in _unique_pairs(node, reader.path, reader.lines, reader.problems, "key"):
        name = str(key.value).strip()
        if name not in CONCEPT_KEYS:
            reader.fail(
                key, f"unknown concept key {name!r} (known: {', '.join(sorted(CONCEPT_KEYS))})"
            )
            continue
        fields[name] = value
    if "name" not in fields:
        reader.fail(node, "a concept needs a 'name'")
        return None
    concept_name = reader.phrase(fields["name"], "a concept name")
    phrasings: tuple[str, ...] = (
        reader.phrases(fields["also"], "a phrasing", reader.phrasing) if "also" in fields else ()
    )
    weight = reader.weight(fields["weight"]) if "weight" in fields else 1.0
    required = reader.flag(fields["required"], "required") if "required" in fields else False
    optional = reader.flag(fields["optional"], "optional") if "optional" in fields else False
    if required and optional:
        reader.fail(node, "a concept cannot be both required and optional")
    subject = None
    if "of" in fields:
        subject = reader.text(fields["of"], "of")
        if subject is not None and subject not in subjects:
            known = ", ".join(sorted(subjects)) or "none: add 'subjects'"
            reader.fail(fields["of"], f"'of' names an unknown subject {subject!r} (known: {known})")
    if concept_name is None or len(reader.problems) > before:
        return None
    return RubricConcept(concept_name, phrasings, weight, required, optional, subject)
