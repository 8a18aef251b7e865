"""Parse a question pack from markdown, in either of the two shapes awsquiz reads.

Seed shape (the default pack): `## N. Topic`, then `### Overview`, `### Key Concepts` and
`### Advanced Topics` bullets (`- **Term:** text`) and `### Sample Interview Questions`
(`- **Q:** ...` followed by `  - **A:** ...`). Every bullet becomes a question too.

Numbered shape (public interview banks): `### N. Question` followed by the answer paragraph
(or list) right under it; the topic comes from the file name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Final

from bot.engine.errors import ContentError, PackProblemsError
from bot.engine.model import Difficulty, Question, Topic
from bot.engine.naming import (
    MAX_QUESTION_ID_LENGTH,
    MAX_TOPIC_ID_LENGTH,
    question_id,
    slugify,
)
from content.metadata import (
    BLOCK_END,
    BLOCK_START,
    PACK_KEYS,
    QUESTION_KEYS,
    Metadata,
    check_keys,
    read_block,
)
from content.rubrics import apply_entry, parse_inline

RUBRIC_BLOCK_START: Final = "<!-- awsquiz-rubric"
"""Opens an inline rubric: YAML for the question before it, up to a line that is `-->`."""

# The heading patterns capture to the end of the line and `_heading` strips what they caught:
# a lazy capture before `\s*$` would rescan a run of spaces from each of its characters,
# quadratic time on one long line.
SEED_TOPIC: Final = re.compile(r"##\s+\d+\.\s+(?P<text>\S.*)")
SEED_SECTION: Final = re.compile(r"###\s+(?P<text>\S.*)")
SEED_BULLET: Final = re.compile(r"^-\s+\*\*(?P<term>[^*]+?):?\*\*:?\s*(?P<text>.*)$")
SEED_QUESTION: Final = re.compile(r"^-\s+\*\*Q:\*\*\s*(?P<text>.*)$")
SEED_ANSWER: Final = re.compile(r"^\s+-\s+\*\*A:\*\*\s*(?P<text>.*)$")
NUMBERED_QUESTION: Final = re.compile(r"###\s+\d+\.\s+(?P<text>\S.*)")
LEADING_LABEL: Final = re.compile(r"^\*\*(?:Question|Scenario|Answer|Q|A):\*\*\s*", re.IGNORECASE)
VENDOR_PREFIX: Final = re.compile(r"^(?:Amazon|AWS)\s+", re.IGNORECASE)
QUESTION_ID: Final = re.compile(r"[\w./-]+")
SHORT_WORD_LENGTH: Final = 3

OVERVIEW, KEY_CONCEPTS, ADVANCED, SAMPLES = (
    "overview",
    "key concepts",
    "advanced topics",
    "sample interview questions",
)
SEED_SECTIONS: Final = (OVERVIEW, KEY_CONCEPTS, ADVANCED, SAMPLES)
_SKIPPED: Final = "(skipped)"
"""The section state after a problem: its lines are passed over, not reported again."""


@dataclass(frozen=True, slots=True)
class Pack:
    """The topics and questions of one markdown file."""

    name: str
    path: str
    topics: tuple[Topic, ...]
    questions: tuple[Question, ...]


def parse_pack(text: str, path: str) -> Pack:
    """Parse one pack file; problems raise PackProblemsError, each naming its file and line."""
    lines = split_lines(text)
    name = PurePath(path).stem
    if any(SEED_TOPIC.match(line) for line in lines) and any(
        (section := _heading(SEED_SECTION, line)) and section.lower() in (KEY_CONCEPTS, SAMPLES)
        for line in lines
    ):
        topics, questions, problems = _SeedParser(path, lines).parse()
    elif any(NUMBERED_QUESTION.match(line) for line in lines):
        topics, questions, problems = _parse_numbered(path, name, lines)
    else:
        raise ContentError(
            path,
            1,
            "no questions found: expected '## N. Topic' sections with '### Key Concepts' or "
            "'### Sample Interview Questions', or '### N. Question' headings",
        )
    pack = Pack(name=name, path=path, topics=tuple(topics), questions=tuple(questions))
    if problems:
        raise PackParseError(problems, pack)
    return pack


def split_lines(text: str) -> list[str]:
    """The lines of `text`, numbered as editors number them: split at '\\n' only.

    `str.splitlines` also splits at U+2028, U+2029, U+0085, form feed, vertical tab,
    '\\x1c'-'\\x1e' and a lone carriage return, which would put every later line number in
    a problem off; here they are characters of their line. A CRLF file's '\\r' is dropped.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it opens none
    return [line.removesuffix("\r") for line in lines]


class PackParseError(PackProblemsError):
    """A pack's problems, with what of it did parse: its good questions can still be
    checked against the other packs (a duplicate id is one more problem to report)."""

    def __init__(self, problems: Sequence[ContentError], partial: Pack) -> None:
        super().__init__(problems)
        self.partial = partial


def split_topic_name(heading: str) -> tuple[str, str]:
    """Return (short name, full name): 'Amazon ECS (Elastic Container Service)' -> 'Amazon ECS'."""
    short = _without_final_parenthesis(heading).strip() or heading
    return short, heading


def _without_final_parenthesis(text: str) -> str:
    """`text` without the parenthesis that ends it and the whitespace before that:
    'Amazon ECS (Elastic Container Service)' -> 'Amazon ECS'; other text as it is.

    The parenthesis opens at the first '(' after the previous ')'. Found from the end, in
    linear time: searching for r'\\s*\\([^)]*\\)\\s*$' restarts at every '(' and every
    space of the text, quadratic on one long line.
    """
    body = text.rstrip()
    if not body.endswith(")"):
        return text
    close = len(body) - 1
    opening = body.find("(", body.rfind(")", 0, close) + 1, close)
    return text if opening < 0 else body[:opening].rstrip()


def _heading(pattern: re.Pattern[str], line: str) -> str | None:
    """The text of the heading `pattern` matches at the start of `line`, without the
    whitespace that ends the line; None when it is no such heading."""
    match = pattern.match(line)
    return match["text"].rstrip() if match else None


def topic_id_for(name: str) -> str:
    """Return the stable topic slug: vendor prefix dropped, 'Amazon ECS' -> 'ecs'."""
    return slugify(VENDOR_PREFIX.sub("", name), max_length=MAX_TOPIC_ID_LENGTH) or slugify(
        name, max_length=MAX_TOPIC_ID_LENGTH
    )


def _clean(text: str) -> str:
    return LEADING_LABEL.sub("", text.strip()).replace("**", "").strip()


def _with_metadata(question: Question, meta: Metadata, path: str) -> Question:
    check_keys(meta, path, QUESTION_KEYS, "on a question")
    if meta.question_id and not QUESTION_ID.fullmatch(meta.question_id):
        raise ContentError(
            path,
            meta.line,
            f"id {meta.question_id!r} may hold only letters, digits, '-', '_', '.' and '/'",
        )
    if meta.question_id and len(meta.question_id) > MAX_QUESTION_ID_LENGTH:
        raise ContentError(
            path,
            meta.line,
            f"id {meta.question_id!r} has {len(meta.question_id)} characters; "
            f"the limit is {MAX_QUESTION_ID_LENGTH} (chat buttons carry it)",
        )
    return replace(
        question,
        id=meta.question_id or question.id,
        difficulty=meta.difficulty or question.difficulty,
        concepts=meta.concepts or question.concepts,
        aliases=tuple(meta.aliases) or question.aliases,
    )


@dataclass
class _TopicDraft:
    """A topic while its section is being read."""

    name: str
    full_name: str
    line: int
    overview: list[str] = field(default_factory=list)
    key_concepts: list[str] = field(default_factory=list)
    advanced_topics: list[str] = field(default_factory=list)
    id: str = field(init=False)
    """Slugged once: every question of the topic asks for it, and a name may be long."""

    def __post_init__(self) -> None:
        self.id = topic_id_for(self.name)


class _SeedParser:
    """Reads the seed shape line by line, keeping the line of everything for errors."""

    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.topics: list[Topic] = []
        self.questions: list[Question] = []
        self.topic: _TopicDraft | None = None
        self.section: str | None = None
        self.pending_question: tuple[str, int] | None = None
        self.default_difficulty: Difficulty | None = None
        self.problems: list[ContentError] = []
        # The question that wrapped bullet lines continue, and its reference in pieces.
        self.wrapped_into: int | None = None
        self.wrapped: list[str] = []

    def parse(self) -> tuple[list[Topic], list[Question], list[ContentError]]:
        index = 0
        while index < len(self.lines):
            raw = self.lines[index]
            number = index + 1
            try:
                if raw.strip().startswith(RUBRIC_BLOCK_START):
                    index = self._rubric(index)
                    continue
                if raw.strip().startswith(BLOCK_START):
                    meta, index = _read_block_noting(self.path, self.lines, index, self.problems)
                    if meta is not None:
                        self._metadata(meta)
                    continue
                index += 1
                self._line(raw, number)
            except ContentError as problem:  # note it and read on: report them all at once
                self.problems.append(problem)
        self._join_wrapped()
        try:
            self._close_topic(len(self.lines))
        except ContentError as problem:
            self.problems.append(problem)
        return self.topics, self.questions, self.problems

    def _line(self, raw: str, number: int) -> None:
        line = raw.rstrip()
        if not line.strip() or line.strip() == "---" or line.startswith("# "):
            return
        if (heading := _heading(SEED_TOPIC, line)) is not None:
            self._close_topic(number)
            short, full = split_topic_name(heading)
            if not topic_id_for(short):
                raise ContentError(self.path, number, f"topic {short!r} has no letters or digits")
            self.topic = _TopicDraft(name=short, full_name=full, line=number)
            self.section = None
            self.default_difficulty = None
            return
        if (heading := _heading(SEED_SECTION, line)) is not None:
            self._section(heading, number)
            return
        if self.topic is None:
            return  # the pack's introduction, before its first topic
        if self.section == _SKIPPED:
            return  # the rest of a section already reported as wrong
        if self.section is None:
            self.section = _SKIPPED
            raise ContentError(self.path, number, "text before the topic's first '### Section'")
        if self.section == OVERVIEW:
            self.topic.overview.append(line.strip())
        elif self.section == SAMPLES:
            self._sample(line, number)
        else:
            self._bullet(line, number)

    def _section(self, name: str, number: int) -> None:
        if self.topic is None:
            raise ContentError(self.path, number, f"section {name!r} before any '## N. Topic'")
        if name.lower() not in SEED_SECTIONS:
            accepted = ", ".join(s.title() for s in SEED_SECTIONS)
            self.section = _SKIPPED
            raise ContentError(
                self.path, number, f"unknown section {name!r} (accepted: {accepted})"
            )
        self.section = name.lower()
        self._require_answer()

    def _bullet(self, line: str, number: int) -> None:
        assert self.topic is not None
        match = SEED_BULLET.match(line)
        if match is None:
            if line.startswith((" ", "\t")) and self.questions:
                # A wrapped bullet: its text continues the last question's reference.
                self._continue_reference(line.strip())
                return
            raise ContentError(self.path, number, "expected a bullet '- **Term:** explanation'")
        term, text = match["term"].strip().rstrip(":"), match["text"].strip()
        if not text:
            raise ContentError(self.path, number, f"bullet {term!r} has no explanation")
        basic = self.section == KEY_CONCEPTS
        (self.topic.key_concepts if basic else self.topic.advanced_topics).append(f"{term}: {text}")
        self.questions.append(
            Question(
                id=question_id(self.topic.id, term),
                topic_id=self.topic.id,
                prompt=f"In {self.topic.name}, {_what_is(term)}?",
                reference=text,
                difficulty=self.default_difficulty
                or (Difficulty.BASIC if basic else Difficulty.ADVANCED),
                origin=f"{self.path}:{number}",
            )
        )

    def _sample(self, line: str, number: int) -> None:
        assert self.topic is not None
        if match := SEED_QUESTION.match(line):
            self._require_answer()
            self.pending_question = (match["text"].strip(), number)
            if not self.pending_question[0]:
                raise ContentError(self.path, number, "question has no text after **Q:**")
            return
        if match := SEED_ANSWER.match(line):
            if self.pending_question is None:
                raise ContentError(
                    self.path, number, "answer **A:** without a question **Q:** before it"
                )
            prompt, _ = self.pending_question
            answer = match["text"].strip()
            if not answer:
                raise ContentError(self.path, number, "answer has no text after **A:**")
            self.pending_question = None
            self.questions.append(
                Question(
                    id=question_id(self.topic.id, prompt),
                    topic_id=self.topic.id,
                    prompt=prompt,
                    reference=answer,
                    difficulty=self.default_difficulty or Difficulty.INTERVIEW,
                    origin=f"{self.path}:{number}",
                )
            )
            return
        raise ContentError(self.path, number, "expected '- **Q:** question' or '  - **A:** answer'")

    def _continue_reference(self, text: str) -> None:
        """Add a wrapped line to the last question's reference. The pieces are joined once,
        by `_join_wrapped`: copying the reference again for each line is quadratic."""
        last = len(self.questions) - 1
        if self.wrapped_into != last:
            self._join_wrapped()
            self.wrapped_into, self.wrapped = last, [self.questions[last].reference]
        self.wrapped.append(text)

    def _join_wrapped(self) -> None:
        """Write the wrapped lines read so far into their question's reference."""
        if self.wrapped_into is not None:
            question = self.questions[self.wrapped_into]
            self.questions[self.wrapped_into] = replace(question, reference=" ".join(self.wrapped))
            self.wrapped_into, self.wrapped = None, []

    def _rubric(self, start: int) -> int:
        self._join_wrapped()  # a rubric may replace the reference: it must be whole first
        last = self.questions[-1] if self.questions else None
        if last is None or self.topic is None or last.topic_id != self.topic.id:
            self.problems.append(
                ContentError(self.path, start + 1, "a rubric block must follow its question")
            )
            return _after_rubric(self.lines, start)
        question, index = _with_rubric(last, self.path, self.lines, start, self.problems)
        self.questions[-1] = question
        return index

    def _metadata(self, meta: Metadata) -> None:
        last = self.questions[-1] if self.questions else None
        if last is not None and self.topic is not None and last.topic_id == self.topic.id:
            self.questions[-1] = _with_metadata(last, meta, self.path)
            return
        check_keys(
            meta, self.path, PACK_KEYS - {"topic", "nicknames"}, "before a topic's first question"
        )
        self.default_difficulty = meta.difficulty

    def _require_answer(self) -> None:
        if self.pending_question is not None:
            _, line = self.pending_question
            self.pending_question = None
            raise ContentError(self.path, line, "question **Q:** has no answer '  - **A:** ...'")

    def _close_topic(self, number: int) -> None:
        draft, self.topic = self.topic, None
        self._require_answer()
        if draft is None:
            return
        if not any(q.topic_id == draft.id for q in self.questions):
            raise ContentError(self.path, draft.line, f"topic {draft.name!r} has no questions")
        self.topics.append(
            Topic(
                id=draft.id,
                name=draft.name,
                full_name=draft.full_name,
                overview=" ".join(draft.overview),
                key_concepts=tuple(draft.key_concepts),
                advanced_topics=tuple(draft.advanced_topics),
            )
        )


def _what_is(term: str) -> str:
    """'Task Placement Strategies' -> 'what are task placement strategies'."""
    head = _without_final_parenthesis(term).strip()
    last_word = head.split()[-1] if head.split() else head
    plural = last_word.endswith("s") and not last_word.endswith("ss") and not last_word.isupper()
    return f"{'what are' if plural else 'what is'} {_lower_common_words(term)}"


def _lower_common_words(term: str) -> str:
    """Lower-case plain Capitalised words outside parentheses; keep EBS, CloudWatch."""
    words, depth = [], 0
    for word in term.split():
        depth += word.count("(")
        plain = word[:1].isupper() and word[1:].islower()
        words.append(word.lower() if plain and depth == 0 else word)
        depth -= word.count(")")
    return " ".join(words)


def _parse_numbered(
    path: str, name: str, lines: list[str]
) -> tuple[list[Topic], list[Question], list[ContentError]]:
    topic_name = _name_from_file(name)
    topic_id = topic_id_for(split_topic_name(topic_name)[0])
    nicknames: tuple[str, ...] = ()
    pack_difficulty = Difficulty.INTERVIEW
    questions: list[Question] = []
    problems: list[ContentError] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.strip().startswith(RUBRIC_BLOCK_START):
            if not questions:
                problems.append(
                    ContentError(path, index + 1, "a rubric block must follow its question")
                )
                index = _after_rubric(lines, index)
            else:
                questions[-1], index = _with_rubric(questions[-1], path, lines, index, problems)
            continue
        if line.strip().startswith(BLOCK_START):
            meta, index = _read_block_noting(path, lines, index, problems)
            try:
                if meta is not None and questions:
                    questions[-1] = _with_metadata(questions[-1], meta, path)
                elif meta is not None:
                    check_keys(meta, path, PACK_KEYS, "before the first question")
                    topic_name = meta.topic or topic_name
                    topic_id = topic_id_for(split_topic_name(topic_name)[0])
                    nicknames = meta.nicknames or nicknames
                    pack_difficulty = meta.difficulty or pack_difficulty
            except ContentError as problem:  # note it and read on: report them all at once
                problems.append(problem)
            continue
        heading = _heading(NUMBERED_QUESTION, line)
        index += 1
        if heading is None:
            continue
        heading_line = index
        prompt = _clean(heading)
        answer_lines: list[str] = []
        while index < len(lines) and lines[index].strip() and not lines[index].startswith("#"):
            if lines[index].strip().startswith((BLOCK_START, RUBRIC_BLOCK_START)):
                break
            answer_lines.append(lines[index].strip())
            index += 1
        answer = _clean(" ".join(answer_lines))
        if not prompt:
            problems.append(ContentError(path, heading_line, "question heading has no text"))
            continue
        if not answer:
            problems.append(
                ContentError(
                    path, heading_line, f"question {prompt!r} has no answer paragraph under it"
                )
            )
            continue
        if not topic_id:
            problems.append(
                ContentError(path, heading_line, f"topic {topic_name!r} has no letters or digits")
            )
            break  # every question would say the same
        questions.append(
            Question(
                id=question_id(topic_id, prompt),
                topic_id=topic_id,
                prompt=prompt,
                reference=answer,
                difficulty=pack_difficulty,
                origin=f"{path}:{heading_line}",
            )
        )
    short, full = split_topic_name(topic_name)
    topic = Topic(id=topic_id, name=short, full_name=full, nicknames=nicknames)
    return [topic], questions, problems


def _read_block_noting(
    path: str, lines: list[str], start: int, problems: list[ContentError]
) -> tuple[Metadata | None, int]:
    """Read the metadata block at `start` and the index after it; a malformed block is noted
    in `problems` and passed over, so reading goes on after it.
    """
    try:
        return read_block(path, lines, start)
    except ContentError as problem:
        problems.append(problem)
        return None, _after_block(lines, start)


def _with_rubric(
    question: Question, path: str, lines: list[str], start: int, problems: list[ContentError]
) -> tuple[Question, int]:
    """Apply the inline rubric block opening at `start`; return the question and the index
    after the block. A problem is noted and the question kept as it was.
    """
    end = _after_rubric(lines, start)
    if end > len(lines) or lines[end - 1].strip() != BLOCK_END:
        problems.append(
            ContentError(path, start + 1, f"rubric block is not closed with {BLOCK_END!r}")
        )
        return question, len(lines)
    body = "\n".join(lines[start + 1 : end - 1])
    try:
        entry = parse_inline(body, path, start + 2, question.id)
    except PackProblemsError as errors:
        problems.extend(errors.problems)
        return question, end
    return apply_entry(question, entry), end


def _after_rubric(lines: list[str], start: int) -> int:
    """The index after the line `-->` that closes the rubric block at `start` (or past the end)."""
    for index in range(start + 1, len(lines)):
        if lines[index].strip() == BLOCK_END:
            return index + 1
    return len(lines) + 1


def _after_block(lines: list[str], start: int) -> int:
    """The index after the block opening at `start`: past its end, or at the markdown that
    shows it was never closed.
    """
    for index in range(start + 1, len(lines)):
        text = lines[index].strip()
        if text == BLOCK_END:
            return index + 1
        if text.startswith(("#", "- ", "<!--")):
            return index
    return len(lines)


def _name_from_file(stem: str) -> str:
    """'elastic-cloud-compute' -> 'Elastic Cloud Compute'; '01-ADVANCED' -> 'Advanced'."""
    words = [w for w in re.split(r"[-_\s]+", stem) if w and not w.isdigit()]
    return " ".join(w.upper() if len(w) <= SHORT_WORD_LENGTH else w.capitalize() for w in words)
