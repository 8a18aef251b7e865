"""Concept extraction: the short phrases of a reference that an answer should cover."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.engine.grading.aliases import AliasMatcher
from bot.engine.grading.analysis import Kind, Unit, scan, signed
from bot.engine.grading.text import normalize, token_spans, tokens

MAX_CONCEPT_UNITS: Final = 4
"""A run of content words longer than this is split: hints read better in short phrases."""


@dataclass(frozen=True, slots=True)
class Concept:
    """One key idea of a reference: its display phrase and the signed terms that express it."""

    phrase: str
    terms: tuple[str, ...]
    restates_question: bool = False


def _split_run(run: list[Unit]) -> list[list[Unit]]:
    """Cut an over-long run of content units into nearly equal short pieces."""
    if len(run) <= MAX_CONCEPT_UNITS:
        return [run]
    pieces = -(-len(run) // (MAX_CONCEPT_UNITS - 1))
    size = -(-len(run) // pieces)
    return [run[offset : offset + size] for offset in range(0, len(run), size)]


def _content_runs(units: Sequence[Unit]) -> list[tuple[list[Unit], int | None]]:
    """Maximal runs of adjacent content units, each with the token index of its negator."""
    runs: list[tuple[list[Unit], int | None]] = []
    current: list[Unit] = []
    negator_at: int | None = None
    run_negator: int | None = None
    for unit in units:
        if unit.kind is Kind.CONTENT:
            if not current:
                run_negator = negator_at if unit.negated else None
            current.append(unit)
            continue
        if current:
            runs.append((current, run_negator))
            current = []
        if unit.kind is Kind.NEGATOR:
            negator_at = unit.start
        elif unit.kind is Kind.BREAK:
            negator_at = None
    if current:
        runs.append((current, run_negator))
    return runs


def extract_concepts(
    text: str, matcher: AliasMatcher, question_keys: frozenset[str] = frozenset()
) -> list[Concept]:
    """The concepts of `text` in order; those made only of `question_keys` are flagged."""
    display = normalize(text)
    spans = token_spans(display)
    units = scan([word for word, _, _ in spans], matcher)
    concepts: list[Concept] = []
    seen: set[frozenset[str]] = set()
    for run, negator_at in _content_runs(units):
        for piece in _split_run(run):
            terms = tuple(signed(unit.key, unit.negated) for unit in piece)
            identity = frozenset(terms)
            if identity in seen:
                continue
            seen.add(identity)
            # Show "not connected", not "connected", for a negated concept.
            leads_run = piece[0] is run[0]
            first_token = negator_at if leads_run and negator_at is not None else piece[0].start
            start = _joined_start(display, spans, first_token)
            end = _joined_end(display, spans, piece[-1].end - 1)
            restates = all(unit.key in question_keys for unit in piece)
            concepts.append(Concept(display[start:end], terms, restates))
    return concepts


def _joined_start(display: str, spans: Sequence[tuple[str, int, int]], index: int) -> int:
    """Where a phrase starting at token `index` starts, with the words hyphenated onto it:
    'X-Ray', 'on-demand', not 'Ray' and 'demand'.
    """
    while index > 0 and spans[index][1] > 0 and display[spans[index][1] - 1] == "-":
        if spans[index - 1][2] != spans[index][1] - 1:
            break
        index -= 1
    return spans[index][1]


def _joined_end(display: str, spans: Sequence[tuple[str, int, int]], index: int) -> int:
    """Where a phrase ending at token `index` ends, with the words hyphenated onto it."""
    while index + 1 < len(spans) and display[spans[index][2] : spans[index][2] + 1] == "-":
        if spans[index + 1][1] != spans[index][2] + 1:
            break
        index += 1
    return spans[index][2]


def given_concepts(phrases: Iterable[str], matcher: AliasMatcher) -> list[Concept]:
    """Author-given concept phrases as concepts, keeping the author's wording."""
    concepts: list[Concept] = []
    for phrase in phrases:
        units = scan(tokens(normalize(phrase)), matcher)
        content = [unit for unit in units if unit.kind is Kind.CONTENT]
        if not content:
            # A phrase of stopwords only still names something: match its words as given.
            content = [unit._replace(kind=Kind.CONTENT) for unit in units if unit.kind < Kind.BREAK]
        if content:
            concepts.append(
                Concept(phrase.strip(), tuple(signed(unit.key, unit.negated) for unit in content))
            )
    return concepts
