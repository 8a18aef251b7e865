"""Load the default pack and the packs of the content directories into one Catalog."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Final

from bot.engine.catalog import Catalog
from bot.engine.errors import ContentError, PackProblemsError
from bot.engine.model import Question, Topic
from content.parser import Pack, parse_pack
from content.rubrics import RubricEntry, TopicEntry, apply_entry, read_overlay

DEFAULT_PACK_NAME: Final = "aws-deep-dive-interview-prep.md"
BANK_FOLDER: Final = "awsquiz-bank"
"""Our own question bank, one markdown pack per topic with inline rubrics, loaded by default."""
PACK_SUFFIX: Final = ".md"
OVERLAY_SUFFIX: Final = ".rubrics"
"""`NAME.rubrics/*.yaml` and `NAME.rubrics.yaml` beside `NAME.md` hold its rubric overlay."""
YAML_SUFFIXES: Final = (".yaml", ".yml")
NOT_PACKS: Final = frozenset({"readme.md", "license.md", "changelog.md", "contributing.md"})

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A question id defined twice; the first definition wins."""

    question: Question
    first: Question

    def __str__(self) -> str:
        return (
            f"{self.question.origin}: duplicate question id {self.question.id!r} "
            f"(first defined at {self.first.origin})"
        )


def seed_document() -> Pack:
    """The seed document shipped inside the package, parsed as it is, without its overlay."""
    source = resources.files("content").joinpath("packs", DEFAULT_PACK_NAME)
    path = f"content/packs/{DEFAULT_PACK_NAME}"
    return parse_pack(decode_text(source.read_bytes(), path), path)


def default_pack() -> Pack:
    """The default pack: the seed document with its rubric overlay applied."""
    stem = DEFAULT_PACK_NAME.removesuffix(PACK_SUFFIX) + OVERLAY_SUFFIX
    return with_overlays(seed_document(), _shipped_files(stem, YAML_SUFFIXES))


def bank_packs() -> list[Pack]:
    """The packs of our own question bank, shipped inside the package beside the seed."""
    return [parse_pack(text, path) for path, text in _shipped_files(BANK_FOLDER, (PACK_SUFFIX,))]


def _shipped_files(folder_name: str, suffixes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(path shown in problems, text) of the files of a folder shipped in `content/packs/`,
    in name order; README-like files left out."""
    folder = resources.files("content").joinpath("packs", folder_name)
    if not folder.is_dir():
        return []
    found: list[tuple[str, str]] = []
    for item in sorted(folder.iterdir(), key=lambda item: item.name):
        if item.name.endswith(suffixes) and item.name.lower() not in NOT_PACKS:
            path = f"content/packs/{folder_name}/{item.name}"
            found.append((path, decode_text(item.read_bytes(), path)))
    return found


def default_packs() -> list[Pack]:
    """Every pack loaded without settings: the seed with its overlay, then the bank."""
    return [default_pack(), *bank_packs()]


def overlay_paths(pack_path: Path) -> list[Path]:
    """The rubric overlay files of the pack at `pack_path`, in the order they apply."""
    stem = pack_path.with_suffix("").name + OVERLAY_SUFFIX
    found = [pack_path.with_name(stem + suffix) for suffix in YAML_SUFFIXES]
    folder = pack_path.with_name(stem)
    files = [path for path in found if path.is_file()]
    if folder.is_dir():
        files.extend(sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES))
    return files


def with_overlays(pack: Pack, overlays: Iterable[tuple[str, str]]) -> Pack:
    """The pack with each overlay entry applied to its question; every problem is raised
    at once: bad entries, ids no question of the pack has, an id given in two files.
    """
    problems: list[ContentError] = []
    chosen: dict[str, RubricEntry] = {}
    renamed: dict[str, TopicEntry] = {}
    ids = {question.id for question in pack.questions}
    topic_ids = {topic.id for topic in pack.topics}
    for path, text in overlays:
        try:
            overlay = read_overlay(text, path)
        except PackProblemsError as errors:
            problems.extend(errors.problems)
            continue
        for topic_entry in overlay.topics:
            if topic_entry.topic_id not in topic_ids:
                known = ", ".join(sorted(topic_ids))
                problems.append(
                    ContentError(
                        topic_entry.path,
                        topic_entry.line,
                        f"no topic of {pack.path} has the id {topic_entry.topic_id!r} "
                        f"(topics: {known})",
                    )
                )
            else:
                renamed[topic_entry.topic_id] = topic_entry
        for entry in overlay.entries:
            if entry.question_id not in ids:
                problems.append(
                    ContentError(
                        entry.path,
                        entry.line,
                        f"no question of {pack.path} has the id {entry.question_id!r}",
                    )
                )
            elif entry.question_id in chosen:
                first = chosen[entry.question_id]
                problems.append(
                    ContentError(
                        entry.path,
                        entry.line,
                        f"rubric for {entry.question_id!r} is given twice "
                        f"(first at {first.origin})",
                    )
                )
            else:
                chosen[entry.question_id] = entry
    if problems:
        raise PackProblemsError(problems)
    questions = tuple(
        apply_entry(question, chosen[question.id]) if question.id in chosen else question
        for question in pack.questions
    )
    topics = tuple(
        _renamed(topic, renamed[topic.id]) if topic.id in renamed else topic
        for topic in pack.topics
    )
    return replace(pack, topics=topics, questions=questions)


def _renamed(topic: Topic, entry: TopicEntry) -> Topic:
    """The topic under its overlay's current name; the old names still find it."""
    old_names = (topic.name, topic.full_name) if entry.name else ()
    nicknames = tuple(dict.fromkeys((*topic.nicknames, *old_names, *entry.nicknames)))
    return replace(
        topic,
        name=entry.name or topic.name,
        full_name=entry.name or topic.full_name,
        nicknames=nicknames,
    )


def pack_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into the markdown packs in them and their subfolders (sorted;
    README and LICENSE files and hidden folders left out).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob(f"*{PACK_SUFFIX}"))
                if p.is_file()
                and p.name.lower() not in NOT_PACKS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ContentError(str(path), 0, "no such file or directory")
    return found


def decode_text(data: bytes, path: str) -> str:
    """A file's bytes as text, a BOM dropped; undecodable bytes are a ContentError naming
    their line.

    Its line breaks stay as they are (a text-mode read would turn a lone '\\r' into a new
    line): the parsers split at '\\n' only, so every line they name is the editor's.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ContentError(path, line, "not valid UTF-8 text") from None


def read_pack(path: Path) -> Pack:
    """Read and parse one pack file; undecodable bytes are a ContentError naming the line."""
    pack = parse_pack(decode_text(path.read_bytes(), str(path)), str(path))
    overlays: list[tuple[str, str]] = []
    problems: list[ContentError] = []
    for overlay in overlay_paths(path):
        try:
            overlays.append((str(overlay), decode_text(overlay.read_bytes(), str(overlay))))
        except ContentError as problem:
            problems.append(problem)
    if problems:
        raise PackProblemsError(problems)
    return with_overlays(pack, overlays)


def load_pack_files(paths: Iterable[Path]) -> list[Pack]:
    """Read every pack under these files and directories, failing on the first bad one."""
    return [read_pack(path) for path in pack_paths(paths)]


def merge_packs(
    packs: Sequence[Pack], nicknames: Mapping[str, Iterable[str]] | None = None
) -> tuple[Catalog, list[Duplicate]]:
    """Merge packs: topics with one id share their questions; duplicate ids are dropped."""
    topics: dict[str, Topic] = {}
    questions: dict[str, Question] = {}
    duplicates: list[Duplicate] = []
    for pack in packs:
        for topic in pack.topics:
            first = topics.setdefault(topic.id, topic)
            if topic.nicknames and first is not topic:  # each pack may add names to type
                nicknames_of = tuple(dict.fromkeys((*first.nicknames, *topic.nicknames)))
                topics[topic.id] = replace(first, nicknames=nicknames_of)
        for question in pack.questions:
            if question.id in questions:
                duplicates.append(Duplicate(question, questions[question.id]))
            else:
                questions[question.id] = question
    return Catalog(list(topics.values()), list(questions.values()), nicknames), duplicates


def load_catalog(
    content_dirs: Sequence[Path] = (), nicknames: Mapping[str, Iterable[str]] | None = None
) -> Catalog:
    """Load the default pack and the packs of `content_dirs`; duplicates are logged, skipped."""
    catalog, duplicates = merge_packs([*default_packs(), *load_pack_files(content_dirs)], nicknames)
    for duplicate in duplicates:
        log.warning("%s", duplicate)
    return catalog
