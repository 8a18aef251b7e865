"""A reference answer analysed once: its concepts, weighted terms and typo look-up."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from bot.engine.grading.aliases import AliasMatcher, matcher_for
from bot.engine.grading.analysis import Kind, scan, unsigned
from bot.engine.grading.concepts import Concept, extract_concepts, given_concepts
from bot.engine.grading.text import normalize, tokens
from bot.engine.grading.typos import TypoIndex
from bot.engine.grading.weights import GENERAL_STEMS, term_weight

REFERENCE_CACHE_SIZE: Final = 4096
"""Analysed references kept warm; a question pack is a few hundred questions."""
QUESTION_TERM_SHARE: Final = 0.35
"""Share of its weight a reference term keeps when the question already says it."""

AliasTable = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class AnalysedReference:
    """Everything the grader needs about one reference, computed once.

    `shown` are the concepts worth naming to a user: those that do not just restate the question.
    `weights` is keyed by signed term ("connect", "!connect"); `keys` holds the unsigned keys.
    """

    concepts: tuple[Concept, ...]
    shown: tuple[Concept, ...]
    concept_weights: tuple[float, ...]
    weights: dict[str, float]
    keys: frozenset[str]
    total_weight: float
    question_keys: frozenset[str]
    content_units: int
    matcher: AliasMatcher
    typos: TypoIndex
    """Which reference word a misspelt long answer word stands for."""


def _only_general_words(concept: Concept) -> bool:
    """A concept of very common words alone ('different', 'cases') names nothing to show."""
    return all(unsigned(term) in GENERAL_STEMS for term in concept.terms)


def question_keys(question: str, matcher: AliasMatcher) -> frozenset[str]:
    """The content keys of a question: an answer earns nothing for repeating them."""
    units = scan(tokens(normalize(question)), matcher)
    return frozenset(unit.key for unit in units if unit.kind is Kind.CONTENT)


@lru_cache(maxsize=REFERENCE_CACHE_SIZE)
def analyse_reference(
    reference: str, question: str, concepts: tuple[str, ...], aliases: AliasTable
) -> AnalysedReference:
    """Analyse a reference once per (reference, question, concepts, aliases)."""
    matcher = matcher_for(aliases)
    asked = question_keys(question, matcher)
    if concepts:
        found = given_concepts(concepts, matcher)
    else:
        found = extract_concepts(reference, matcher, asked)
        if all(concept.restates_question for concept in found):
            # Every concept repeats the question: then the question words are the answer.
            found = extract_concepts(reference, matcher)
            asked = frozenset()
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    for concept in found:
        for term in concept.terms:
            key = unsigned(term)
            weights[term] = 0.0
            surface.setdefault(key, key)
    units = scan(tokens(normalize(" ".join(concepts) if concepts else reference)), matcher)
    content_units = 0
    for unit in units:
        if unit.kind is not Kind.CONTENT:
            continue
        if unit.key not in asked:  # answers are measured without question words too
            content_units += 1
        if unit.key in surface and len(unit.word) > len(surface[unit.key]):
            surface[unit.key] = unit.word
    for term in weights:
        key = unsigned(term)
        weights[term] = term_weight(key, surface[key])
        if key in asked:
            weights[term] *= QUESTION_TERM_SHARE
    return AnalysedReference(
        concepts=tuple(found),
        shown=tuple(
            concept
            for concept in found
            if not concept.restates_question and not _only_general_words(concept)
        ),
        concept_weights=tuple(
            sum(weights.get(term, 0.0) for term in concept.terms) for concept in found
        ),
        weights=weights,
        keys=frozenset(surface),
        total_weight=sum(weights.values()),
        question_keys=asked,
        content_units=max(content_units, 1),
        matcher=matcher,
        typos=TypoIndex(surface),
    )
