"""Validate packs for `awsquiz content check`: every problem names its file and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.engine.errors import ContentError, PackProblemsError
from content.loader import PACK_SUFFIX, default_packs, merge_packs, pack_paths, read_pack
from content.parser import Pack, PackParseError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a pack, at a file and line."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What `content check` found: the packs that parsed and every problem."""

    packs: tuple[Pack, ...]
    problems: tuple[Problem, ...]

    @property
    def question_count(self) -> int:
        """How many questions the valid packs hold."""
        return sum(len(pack.questions) for pack in self.packs)


def check_packs(paths: Iterable[Path]) -> CheckReport:
    """Parse each pack on its own so one bad file does not hide the others' problems.

    Duplicates are looked for against the default pack as well: at load time a question that
    repeats one of its ids would be dropped.
    """
    problems: list[Problem] = []
    packs: list[Pack] = []
    files: list[Path] = []
    for path in paths:
        try:
            found = pack_paths([path])
        except ContentError as error:
            problems.append(Problem(error.path, error.line, error.problem))
            continue
        if not found:
            problems.append(Problem(str(path), 0, f"no {PACK_SUFFIX} packs in this folder"))
        files.extend(found)
    try:
        defaults = default_packs()
    except PackProblemsError as errors:  # a broken shipped pack: report it, check the rest
        problems.extend(Problem(e.path, e.line, e.problem) for e in errors.problems)
        defaults = []
    partial: list[Pack] = []
    for file in files:
        try:
            packs.append(read_pack(file))
        except PackProblemsError as errors:
            problems.extend(Problem(e.path, e.line, e.problem) for e in errors.problems)
            if isinstance(errors, PackParseError):
                partial.append(errors.partial)  # its good questions may repeat an id too
        except ContentError as error:
            problems.append(Problem(error.path, error.line, error.problem))
    # A default pack itself (as in `content check content/packs`) is not its own duplicate.
    shipped = {(p.name, tuple(q.id for q in p.questions)) for p in defaults}
    others = [p for p in packs if (p.name, tuple(q.id for q in p.questions)) not in shipped]
    catalog, duplicates = merge_packs([*defaults, *others, *partial])
    known = {question.id for question in catalog.questions}
    for question in catalog.questions:
        for other in question.overlaps:
            if other not in known or other == question.id:
                origin, _, line = question.origin.rpartition(":")
                problems.append(
                    Problem(
                        origin,
                        int(line) if line.isdigit() else 0,
                        f"{question.id!r} overlaps {other!r}, which is "
                        + ("itself" if other == question.id else "no loaded question"),
                    )
                )
    for duplicate in duplicates:
        origin, _, line = duplicate.question.origin.rpartition(":")
        problems.append(
            Problem(
                origin,
                int(line) if line.isdigit() else 0,
                f"duplicate question id {duplicate.question.id!r} "
                f"(first defined at {duplicate.first.origin})",
            )
        )
    # The default pack's overlay problems come once from the seed and again from its file.
    ordered = sorted(dict.fromkeys(problems), key=lambda problem: (problem.path, problem.line))
    return CheckReport(tuple(packs), tuple(ordered))
