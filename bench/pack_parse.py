"""Pack parsing against line length: packs with one huge line, next to the shipped packs.

Usage: python bench/pack_parse.py [--sizes 10000 20000 ...] [--repeat 3] [--only TEXT]
Writes packs of both shapes (the seed's `## N. Topic` sections and the numbered `### N.
Question` headings) with one line of each size in each place a line can stand (a heading, a
question, an answer, a bullet, an introduction, a metadata value, an inline rubric's YAML),
filled with words, one run of spaces, punctuation, one long word or parentheses. Each pack is
read as start-up reads a content folder (`read_pack`, best of --repeat), and every pack of a
size is checked at once as `awsquiz content check` does (`check_packs`, which parses the
shipped packs too). A linear parser spends the same time per character at every size, so the
printed ratio of the longest line's to the shortest's is about 1 (quadratic: the size ratio).
A benchmark, not a test: it never fails on a figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bot.engine.errors import ContentError  # noqa: E402
from content.check import check_packs  # noqa: E402
from content.loader import default_packs, read_pack  # noqa: E402

DEFAULT_SIZES: Final = (10_000, 20_000, 40_000, 80_000, 160_000)
SLOWEST_SHOWN: Final = 5
"""Cases listed with their own figures after the table."""

FILLERS: Final[dict[str, Callable[[int], str]]] = {
    "words": lambda n: ("word " * (n // 5 + 1))[:n].strip(),
    "one run of spaces": lambda n: "x" + " " * (n - 2) + "y",
    "spaces only": lambda n: " " * n,
    "punctuation": lambda n: (".,;:-!?" * (n // 7 + 1))[:n],
    "one long word": lambda n: "a" * n,
    "parentheses": lambda n: "(" * n,
    "open parentheses and spaces": lambda n: ("( " * (n // 2 + 1))[:n],
}
"""Line contents, by name: each gives a line of exactly (or about) n characters."""

SEED_PACK: Final = """\
# A seed-shaped pack

{intro}

## 1. Amazon VPC {number}{topic}

### Overview
{overview}

### Key Concepts{section}
- **{term}:** {bullet}
- **Route Tables:** Decide where traffic from a subnet goes.
{wrapped}
### Sample Interview Questions
- **Q:** {question}
  - **A:** {answer}
<!-- awsquiz-rubric
concepts:
  - name: private subnet egress
    also: [outbound internet access]
explain: {explain}
-->
"""
SEED_DEFAULTS: Final = {
    "intro": "An introduction.",
    "topic": "",
    "overview": "Private networks in AWS.",
    "section": "",
    "term": "Subnets",
    "bullet": "Ranges of IP addresses in one Availability Zone.",
    "wrapped": "",
    "question": "What does a NAT gateway do?",
    "answer": "Gives instances in private subnets outbound internet access.",
    "explain": '"It translates private addresses."',
}
NUMBERED_PACK: Final = """\
<!-- awsquiz
topic: {topic}
-->
# {title}

{intro}

### 1. {question}
{answer}
<!-- awsquiz-rubric
concepts:
  - name: private subnet egress
    also: [outbound internet access]
explain: {explain}
-->

### 2. What is a security group?
A stateful firewall attached to an instance's network interface.
"""
NUMBERED_DEFAULTS: Final = {
    "topic": "Amazon VPC {number}",
    "title": "VPC questions",
    "intro": "An introduction.",
    "question": "What does a NAT gateway do?",
    "answer": "Gives instances in private subnets outbound internet access.",
    "explain": '"It translates private addresses."',
}


@dataclass(frozen=True, slots=True)
class Place:
    """Where the huge line stands in a pack: its shape's template and the slot it fills."""

    name: str
    template: str
    defaults: dict[str, str]
    slot: str
    shape: Callable[[str], str] = lambda line: line
    """How the line is written in its slot (a YAML value is quoted, a wrapped line indented)."""

    def pack(self, line: str, number: int) -> str:
        """The pack text with `line` in this place, its topic numbered `number`: checked
        together, each pack keeps its own topic (of topics with one id, the first counts)."""
        fields = {
            key: value.replace("{number}", str(number)) for key, value in self.defaults.items()
        }
        return self.template.format(**{**fields, self.slot: self.shape(line), "number": number})


PLACES: Final = (
    Place("seed: introduction", SEED_PACK, SEED_DEFAULTS, "intro"),
    Place("seed: topic heading", SEED_PACK, SEED_DEFAULTS, "topic", lambda line: " " + line),
    Place("seed: section heading", SEED_PACK, SEED_DEFAULTS, "section", lambda line: " " + line),
    Place("seed: overview", SEED_PACK, SEED_DEFAULTS, "overview"),
    Place("seed: bullet term", SEED_PACK, SEED_DEFAULTS, "term", lambda line: line.strip("*")),
    Place("seed: bullet text", SEED_PACK, SEED_DEFAULTS, "bullet"),
    Place("seed: wrapped bullet", SEED_PACK, SEED_DEFAULTS, "wrapped", lambda line: "  " + line),
    Place("seed: question", SEED_PACK, SEED_DEFAULTS, "question"),
    Place("seed: answer", SEED_PACK, SEED_DEFAULTS, "answer"),
    Place("seed: rubric YAML", SEED_PACK, SEED_DEFAULTS, "explain", json.dumps),
    Place("numbered: topic metadata", NUMBERED_PACK, NUMBERED_DEFAULTS, "topic"),
    Place("numbered: title heading", NUMBERED_PACK, NUMBERED_DEFAULTS, "title"),
    Place("numbered: introduction", NUMBERED_PACK, NUMBERED_DEFAULTS, "intro"),
    Place("numbered: question heading", NUMBERED_PACK, NUMBERED_DEFAULTS, "question"),
    Place("numbered: answer", NUMBERED_PACK, NUMBERED_DEFAULTS, "answer"),
    Place("numbered: rubric YAML", NUMBERED_PACK, NUMBERED_DEFAULTS, "explain", json.dumps),
)


@dataclass(frozen=True, slots=True)
class Case:
    """One pack to time: a place and a filler."""

    place: Place
    filler: str

    @property
    def name(self) -> str:
        return f"{self.place.name} / {self.filler}"

    def text(self, size: int, number: int) -> str:
        return self.place.pack(FILLERS[self.filler](size), number)


@dataclass(frozen=True, slots=True)
class SizeRun:
    """The figures of one line length."""

    size: int
    parse_seconds: dict[str, float]
    check_seconds: float | None
    """Checking every pack of this size at once, the shipped packs included; None: not timed."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The shipped packs, timed in the same process."""

    packs: int
    characters: int
    parse_seconds: float
    check_seconds: float | None


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The fastest of `repeat` runs, in seconds: the least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def read_quietly(path: Path) -> None:
    """Read a pack as start-up does; a pack with problems is as much work as a good one."""
    with contextlib.suppress(ContentError):
        read_pack(path)


def run_size(cases: Sequence[Case], size: int, repeat: int, folder: Path, check: bool) -> SizeRun:
    """Write every case's pack with a line of `size` characters; time reading and checking."""
    files = folder / str(size)
    files.mkdir()
    parse_seconds: dict[str, float] = {}
    for number, case in enumerate(cases):
        path = files / f"case-{number:03}.md"
        path.write_text(case.text(size, number), encoding="utf-8")
        parse_seconds[case.name] = best_of(repeat, partial(read_quietly, path))
    check_seconds = best_of(repeat, partial(check_packs, [files])) if check else None
    return SizeRun(size, parse_seconds, check_seconds)


def shipped_baseline(repeat: int, check: bool) -> Baseline:
    """The shipped packs' size, parse time with their rubrics, and `content check` time."""
    packs = default_packs()
    characters = sum(len(q.prompt) + len(q.reference) for pack in packs for q in pack.questions)
    check_seconds = best_of(repeat, partial(check_packs, [])) if check else None
    return Baseline(len(packs), characters, best_of(repeat, default_packs), check_seconds)


def per_character_ratio(first: float, first_size: int, last: float, last_size: int) -> float:
    """How much more time per character the longest line costs than the shortest."""
    return (last / last_size) / (first / first_size) if first > 0 else float("inf")


def milliseconds(seconds: float | None) -> str:
    """A time for the table; '-' when it was not measured."""
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def report(runs: Sequence[SizeRun], baseline: Baseline, cases: int, repeat: int) -> None:
    """Print the table, the ratios and the cases whose time grows the most."""
    print(
        f"shipped packs (baseline): {baseline.packs} packs, {baseline.characters:,} characters "
        f"of questions and answers: parsed with their rubrics in "
        f"{milliseconds(baseline.parse_seconds)}, checked in {milliseconds(baseline.check_seconds)}"
    )
    print(
        f"{cases} of {len(PLACES) * len(FILLERS)} packs ({len(PLACES)} places x {len(FILLERS)} "
        f"fillers) per line length, "
        f"best of {repeat}; a check parses the shipped packs too"
    )
    print(f"  {'line chars':>10}  {'slowest parse':>13}  {'all parses':>10}  {'check of all':>12}")
    for run in runs:
        print(
            f"  {run.size:>10,}  {milliseconds(max(run.parse_seconds.values())):>13}"
            f"  {milliseconds(sum(run.parse_seconds.values())):>10}"
            f"  {milliseconds(run.check_seconds):>12}"
        )
    first, last = runs[0], runs[-1]
    if first is last:
        return
    label = f"{last.size / 1000:g}k/{first.size / 1000:g}k"
    figures = {
        "slowest parse": (max(first.parse_seconds.values()), max(last.parse_seconds.values())),
        "all parses": (sum(first.parse_seconds.values()), sum(last.parse_seconds.values())),
    }
    if first.check_seconds is not None and last.check_seconds is not None:
        shipped = baseline.check_seconds or 0.0
        # What checking the huge packs adds to checking the shipped ones.
        figures["check less the shipped packs'"] = (
            max(first.check_seconds - shipped, 0.0),
            max(last.check_seconds - shipped, 0.0),
        )
    ratios = ", ".join(
        f"{name} {per_character_ratio(before, first.size, after, last.size):.2f}"
        for name, (before, after) in figures.items()
    )
    print(
        f"ratio {label} of time per character: {ratios} "
        f"(linear ~1, quadratic ~{last.size / first.size:g})"
    )
    slowest = max(last.parse_seconds.values())
    print(
        f"slowest parse of a {last.size:,}-character line: "
        f"{slowest / baseline.parse_seconds:.1%} of the shipped packs' parse time"
    )
    growth = {
        name: per_character_ratio(first.parse_seconds[name], first.size, seconds, last.size)
        for name, seconds in last.parse_seconds.items()
    }
    print(f"cases whose time per character grows the most, {label} (time at {last.size:,}):")
    for name in sorted(growth, key=growth.__getitem__, reverse=True)[:SLOWEST_SHOWN]:
        print(f"  {growth[name]:6.2f}  {milliseconds(last.parse_seconds[name]):>9}  {name}")


def main() -> None:
    """Parse the options, time every size, print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each timing; the best counts"
    )
    parser.add_argument("--only", default="", help="time only the cases whose name holds TEXT")
    parser.add_argument("--no-check", action="store_true", help="time parsing only")
    args = parser.parse_args()
    cases = [
        case
        for place in PLACES
        for filler in FILLERS
        if args.only.lower() in (case := Case(place, filler)).name.lower()
    ]
    if not cases:
        parser.error(f"no case name holds {args.only!r}")
    check = not args.no_check
    baseline = shipped_baseline(args.repeat, check)
    with tempfile.TemporaryDirectory() as folder:
        runs = [
            run_size(cases, size, args.repeat, Path(folder), check) for size in sorted(args.sizes)
        ]
    report(runs, baseline, len(cases), args.repeat)


if __name__ == "__main__":
    main()
