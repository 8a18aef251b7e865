"""Benchmark the grader: our AWS dev set, Mohler correlation, SemEval-2013 Beetle AUC, speed.

Usage: python bench/grader.py [MOHLER_CSV] [SEMEVAL_ZIP] [--dev-set FILE ...]
Prints every figure in one run. A benchmark, not a test: it never fails on a figure, and a
data set it cannot find is named in one line and left out.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import math
import sys
import time
import xml.etree.ElementTree as ElementTree
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
DATA_ROOT: Final = REPO_ROOT.parent / "shared" / "data"
DEFAULT_MOHLER: Final = DATA_ROOT / "mohler" / "mohler_dataset_edited.csv"
DEFAULT_SEMEVAL: Final = DATA_ROOT / "semeval-2013-task7" / "semeval-3way.zip"
DEV_SET_GLOB: Final = "aws-dev-set-*.yaml"
DEV_SET_DIR: Final = REPO_ROOT / "bench" / "data"
SWAPPED_CEILING: Final = 34
"""A swapped-roles answer must never score above this."""
SPEED_ROUNDS: Final = 5
"""Passes over the Mohler answers when timing; the best pass is reported."""
MAPPING_BINS: Final = 10
"""Score bins of the leave-one-question-out calibration."""

sys.path.insert(0, str(REPO_ROOT))

import yaml  # noqa: E402

from bot.engine.catalog import Catalog  # noqa: E402
from bot.engine.grading import Grader  # noqa: E402
from bot.engine.grading.analysis import forget_words  # noqa: E402
from bot.engine.grading.reference import analyse_reference  # noqa: E402
from bot.engine.grading.verdicts import CORRECT_THRESHOLD, PARTIAL_THRESHOLD  # noqa: E402
from bot.engine.model import Question  # noqa: E402
from content.loader import load_catalog  # noqa: E402


@dataclass(frozen=True, slots=True)
class DevAnswer:
    """One hand-graded answer of our AWS dev set."""

    question_id: str
    kind: str
    grade: int
    answer: str


@dataclass(frozen=True, slots=True)
class MohlerRow:
    """One graded student answer of the Mohler set."""

    question_id: str
    question: str
    reference: str
    answer: str
    score_avg: float


@dataclass(frozen=True, slots=True)
class BeetleAnswer:
    """One labelled student answer of SemEval-2013 Beetle, with its question's references."""

    question: str
    references: tuple[str, ...]
    answer: str
    label: str


def load_mohler(path: Path) -> list[MohlerRow]:
    """Read the Mohler CSV, keeping question ids as strings (12.1 and 12.10 differ)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            MohlerRow(
                row["id"],
                row["question"],
                row["desired_answer"],
                row["student_answer"],
                float(row["score_avg"]),
            )
            for row in csv.DictReader(handle)
        ]


def load_beetle(path: Path) -> list[BeetleAnswer]:
    """Read the 3-way Beetle files (training and test) straight from the zip."""
    answers: list[BeetleAnswer] = []
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            if "/3way/beetle/" not in name or not name.endswith(".xml"):
                continue
            root = ElementTree.fromstring(archive.read(name))
            question = (root.findtext("questionText") or "").strip()
            references = tuple((node.text or "").strip() for node in root.iter("referenceAnswer"))
            for node in root.iter("studentAnswer"):
                answers.append(
                    BeetleAnswer(
                        question, references, (node.text or "").strip(), node.get("accuracy", "")
                    )
                )
    return answers


def load_dev_set(paths: Sequence[Path]) -> list[DevAnswer]:
    """Read the dev set's YAML files: lists of {question, kind, grade, answer}."""
    answers: list[DevAnswer] = []
    for path in paths:
        for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            answers.append(
                DevAnswer(str(row["question"]), str(row["kind"]), int(row["grade"]), row["answer"])
            )
    return answers


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson correlation coefficient."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    return cov / math.sqrt(var_x * var_y) if var_x and var_y else 0.0


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks starting at 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson of the ranks)."""
    return pearson(ranks(xs), ranks(ys))


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic (ties count half)."""
    ranked = ranks([*positives, *negatives])
    positive_rank_sum = sum(ranked[: len(positives)])
    u = positive_rank_sum - len(positives) * (len(positives) + 1) / 2
    return u / (len(positives) * len(negatives))


def fit_bin_means(scores: Sequence[float], targets: Sequence[float]) -> list[tuple[float, float]]:
    """A monotone step mapping score -> mean target over score bins (pool adjacent violators)."""
    bins: list[list[float]] = [[0.0, 0.0, 0.0] for _ in range(MAPPING_BINS)]  # sum_x, sum_y, n
    for score, target in zip(scores, targets, strict=True):
        index = min(int(score / 100 * MAPPING_BINS), MAPPING_BINS - 1)
        bins[index][0] += score
        bins[index][1] += target
        bins[index][2] += 1
    blocks = [[b[0], b[1], b[2]] for b in bins if b[2]]
    merged: list[list[float]] = []
    for block in blocks:
        merged.append(block)
        while len(merged) > 1 and merged[-2][1] / merged[-2][2] > merged[-1][1] / merged[-1][2]:
            last = merged.pop()
            for slot in range(3):
                merged[-1][slot] += last[slot]
    return [(block[0] / block[2], block[1] / block[2]) for block in merged]


def apply_mapping(points: Sequence[tuple[float, float]], score: float) -> float:
    """Piecewise-linear interpolation through (score, target) points."""
    xs = [x for x, _ in points]
    index = bisect.bisect_left(xs, score)
    if index == 0:
        return points[0][1]
    if index == len(points):
        return points[-1][1]
    (x0, y0), (x1, y1) = points[index - 1], points[index]
    return y0 + (y1 - y0) * (score - x0) / (x1 - x0) if x1 > x0 else y1


def bench_mohler(grader: Grader, rows: Sequence[MohlerRow]) -> None:
    """Print raw and leave-one-question-out calibrated correlations with score_avg."""
    scores = [
        float(grader.grade(row.answer, row.reference, question=row.question).score) for row in rows
    ]
    targets = [row.score_avg for row in rows]
    by_question: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_question[row.question_id].append(index)
    calibrated = [0.0] * len(rows)
    for indices in by_question.values():
        held_out = set(indices)
        others = [i for i in range(len(rows)) if i not in held_out]
        mapping = fit_bin_means([scores[i] for i in others], [targets[i] for i in others])
        for i in indices:
            calibrated[i] = apply_mapping(mapping, scores[i])
    print(f"Mohler: {len(rows)} answers, {len(by_question)} questions")
    print(
        f"  raw score         Pearson r = {pearson(scores, targets):.3f}"
        f"   Spearman rho = {spearman(scores, targets):.3f}"
    )
    print(
        f"  LOQO-calibrated   Pearson r = {pearson(calibrated, targets):.3f}"
        f"   Spearman rho = {spearman(calibrated, targets):.3f}"
    )


def bench_beetle(grader: Grader, answers: Sequence[BeetleAnswer]) -> None:
    """Print the ROC AUC of the score for correct vs contradictory Beetle answers."""
    by_label: dict[str, list[float]] = defaultdict(list)
    for item in answers:
        best = max(
            grader.grade(item.answer, reference, question=item.question).score
            for reference in item.references
        )
        by_label[item.label].append(float(best))
    correct, contradictory = by_label["correct"], by_label["contradictory"]
    print(
        f"SemEval-2013 Beetle (3-way, train+test): {len(answers)} answers, "
        f"{len(correct)} correct, {len(contradictory)} contradictory, "
        f"{len(by_label['incorrect'])} incorrect"
    )
    print(f"  ROC AUC correct vs contradictory = {roc_auc(correct, contradictory):.3f}")
    incorrect_like = contradictory + by_label["incorrect"]
    print(f"  ROC AUC correct vs not correct   = {roc_auc(correct, incorrect_like):.3f}")


def _dev_scores(grader: Grader, item: Question, answer: str, *, rubric: bool) -> int:
    """The score through the shipped answer key, or (`rubric` False) its reference alone."""
    return grader.grade_question(answer, item if rubric else replace(item, rubric=None)).score


def bench_dev_set(grader: Grader, catalog: Catalog, answers: Sequence[DevAnswer]) -> None:
    """Print agreement with our hand grades, through the shipped packs, with and without
    their rubrics (the second is the reference-only grader on the same questions).
    """
    known = [a for a in answers if a.question_id in {q.id for q in catalog.questions}]
    with_rubric = sum(1 for a in known if catalog.question(a.question_id).rubric is not None)
    print(
        f"AWS dev set: {len(known)} hand-graded answers to {len({a.question_id for a in known})}"
        f" questions ({with_rubric} with a rubric; {len(answers) - len(known)} unknown ids)"
    )
    for label, use_rubric in (("shipped packs", True), ("references only", False)):
        scores = [
            float(_dev_scores(grader, catalog.question(a.question_id), a.answer, rubric=use_rubric))
            for a in known
        ]
        grades = [float(a.grade) for a in known]
        strong = [s for s, a in zip(scores, known, strict=True) if a.grade >= 4]
        swapped = [s for s, a in zip(scores, known, strict=True) if a.kind == "swapped"]
        gross = sum(
            1
            for s, a in zip(scores, known, strict=True)
            if (a.grade == 5 and s < PARTIAL_THRESHOLD) or (a.grade == 0 and s >= CORRECT_THRESHOLD)
        )
        print(f"  {label}:")
        print(
            f"    Pearson r = {pearson(scores, grades):.3f}"
            f"   Spearman rho = {spearman(scores, grades):.3f}"
        )
        if strong:
            share = sum(1 for s in strong if s >= CORRECT_THRESHOLD) / len(strong)
            print(f"    strong answers (grade 4-5) graded correct: {share:.1%} of {len(strong)}")
        if swapped:
            above = sum(1 for s in swapped if s > SWAPPED_CEILING)
            print(
                f"    swapped roles: max score {max(swapped):.0f},"
                f" {above} of {len(swapped)} above {SWAPPED_CEILING}"
            )
        print(f"    gross errors (a 5 incorrect or a 0 correct): {gross / len(known):.1%}")
        by_kind: dict[str, list[float]] = defaultdict(list)
        for score, answer in zip(scores, known, strict=True):
            by_kind[answer.kind].append(score)
        print(
            "    mean score by kind: "
            + ", ".join(
                f"{k} {sum(v) / len(v):.0f} (n={len(v)})" for k, v in sorted(by_kind.items())
            )
        )
    bench_rubric_speed(grader, catalog, known)


def bench_rubric_speed(grader: Grader, catalog: Catalog, answers: Sequence[DevAnswer]) -> None:
    """Print grades/s through the rubrics, fresh and repeated, next to the naive baseline."""
    items = [(catalog.question(a.question_id), a.answer) for a in answers]

    def through_rubrics() -> None:
        for item, answer in items:
            _dev_scores(grader, item, answer, rubric=True)

    def naive() -> None:
        for item, answer in items:
            naive_overlap(answer, item.reference)

    fresh = math.inf
    for _ in range(SPEED_ROUNDS):
        forget_words()
        for item, _answer in items:  # compile the rubrics first, as the bot does at start
            _dev_scores(grader, item, "", rubric=True)
        fresh = min(fresh, _timed(through_rubrics))
    warm = min(_timed(through_rubrics) for _ in range(SPEED_ROUNDS))
    baseline = min(_timed(naive) for _ in range(SPEED_ROUNDS))
    count = len(items)
    print(f"  speed through the rubrics (one core, best of {SPEED_ROUNDS}):")
    print(
        f"    every answer word new {count / fresh:,.0f} grades/s, seen before"
        f" {count / warm:,.0f} grades/s; naive baseline {count / baseline:,.0f} grades/s"
        f" (ratio {baseline / fresh:.3f} fresh)"
    )


def _timed(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def naive_overlap(answer: str, reference: str) -> int:
    """Baseline: share of the reference's raw lowercase tokens that the answer repeats."""
    reference_words = set(reference.lower().split())
    if not reference_words:
        return 0
    return round(100 * len(reference_words & set(answer.lower().split())) / len(reference_words))


def grades_per_second(grade: Callable[[MohlerRow], object], rows: Sequence[MohlerRow]) -> float:
    """Best-of-N throughput of `grade` over `rows` on this one core."""
    best = math.inf
    for _ in range(SPEED_ROUNDS):
        started = time.perf_counter()
        for row in rows:
            grade(row)
        best = min(best, time.perf_counter() - started)
    return len(rows) / best


def first_sight_per_second(grader: Grader, rows: Sequence[MohlerRow]) -> float:
    """Throughput of one pass in which every answer word is new to the grader's caches.

    References are analysed beforehand, as the bot does at start; their typo caches start
    empty. This is what a stream of fresh answers costs.
    """
    best = math.inf
    for _ in range(SPEED_ROUNDS):
        analyse_reference.cache_clear()
        forget_words()
        for row in rows:
            grader.grade("", row.reference, question=row.question)
        started = time.perf_counter()
        for row in rows:
            grader.grade(row.answer, row.reference, question=row.question)
        best = min(best, time.perf_counter() - started)
    return len(rows) / best


def bench_speed(grader: Grader, rows: Sequence[MohlerRow]) -> None:
    """Print grades/s for fresh and for repeated answers next to the naive baseline."""
    fresh = first_sight_per_second(grader, rows)
    warm = grades_per_second(
        lambda row: grader.grade(row.answer, row.reference, question=row.question), rows
    )
    naive = grades_per_second(lambda row: naive_overlap(row.answer, row.reference), rows)
    print(f"Speed over {len(rows)} Mohler answers (one core, references analysed first):")
    print(
        f"  grader, every answer word new   {fresh:,.0f} grades/s   ratio {fresh / naive:.3f}"
        f"   (best of {SPEED_ROUNDS})"
    )
    print(
        f"  grader, answers seen before     {warm:,.0f} grades/s   ratio {warm / naive:.3f}"
        f"   (best of {SPEED_ROUNDS})"
    )
    print(f"  naive baseline (token sets)     {naive:,.0f} grades/s   (best of {SPEED_ROUNDS})")


def main(argv: Sequence[str] | None = None) -> None:
    """Run every benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("mohler", nargs="?", type=Path, default=DEFAULT_MOHLER)
    parser.add_argument("semeval", nargs="?", type=Path, default=DEFAULT_SEMEVAL)
    parser.add_argument("--dev-set", type=Path, action="append", default=None)
    args = parser.parse_args(argv)
    grader = Grader()
    dev_paths = args.dev_set or sorted(DEV_SET_DIR.glob(DEV_SET_GLOB))
    if dev_paths and all(path.is_file() for path in dev_paths):
        shipped = load_catalog()
        # Through the shipped packs as the bot grades them: their words are no typos.
        bench_dev_set(Grader(shipped.vocabulary()), shipped, load_dev_set(dev_paths))
    else:
        print(f"AWS dev set: not found at {', '.join(map(str, dev_paths)) or DEV_SET_DIR}")
    if args.semeval.is_file():
        bench_beetle(grader, load_beetle(args.semeval))
    else:
        print(f"SemEval-2013 Beetle: not found at {args.semeval}")
    if not args.mohler.is_file():
        print(f"Mohler: not found at {args.mohler}; no speed figures either")
        return
    rows = load_mohler(args.mohler)
    bench_mohler(grader, rows)
    bench_speed(grader, rows)


if __name__ == "__main__":
    main()
