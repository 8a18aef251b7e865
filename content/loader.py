"""Load the default pack and the packs of the content directories into one Catalog."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

from bot.engine.catalog import Catalog
from bot.engine.errors import ContentError
from bot.engine.model import Question, Topic
from content.parser import Pack, parse_pack

DEFAULT_PACK_NAME: Final = "aws-deep-dive-interview-prep.md"
PACK_SUFFIX: Final = ".md"
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


def default_pack() -> Pack:
    """Parse the seed document shipped inside the package."""
    source = resources.files("content").joinpath("packs", DEFAULT_PACK_NAME)
    return parse_pack(source.read_text(encoding="utf-8"), f"content/packs/{DEFAULT_PACK_NAME}")


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


def read_pack(path: Path) -> Pack:
    """Read and parse one pack file; undecodable bytes are a ContentError naming the line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ContentError(str(path), line, "not valid UTF-8 text") from None
    return parse_pack(text, str(path))


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
            topics.setdefault(topic.id, topic)
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
    catalog, duplicates = merge_packs([default_pack(), *load_pack_files(content_dirs)], nicknames)
    for duplicate in duplicates:
        log.warning("%s", duplicate)
    return catalog
