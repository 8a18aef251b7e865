"""The Grader: scores an answer 0-100 against a reference and says what it covered."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from bot.engine.grading.aliases import ALIAS_PARENTS
from bot.engine.grading.analysis import is_negated, opposite, scan, signed, unsigned
from bot.engine.grading.reference import (
    AliasTable,
    AnalysedReference,
    analyse_reference,
)
from bot.engine.grading.rubric import (
    CompiledRubric,
    compile_rubric,
    grade_with_rubric,
    hint_order,
)
from bot.engine.grading.text import normalize, stem, tokens
from bot.engine.grading.typos import FUZZY_MIN_LEN
from bot.engine.grading.verdicts import CORRECT_THRESHOLD, PARTIAL_THRESHOLD, verdict_for
from bot.engine.grading.weights import GENERAL_STEMS
from bot.engine.model import Grade, Question, Rubric, Verdict

__all__ = ["CORRECT_THRESHOLD", "PARTIAL_THRESHOLD", "Grader", "verdict_for"]

CONCEPT_COVERED_SHARE: Final = 0.5
"""Share of a concept's term weight an answer must match for the concept to count as covered."""
PARENT_CREDIT: Final = 0.5
"""Credit for a general term (load balancer) where the reference names a specific one (ALB)."""
RECALL_BETA: Final = 2.0
"""F-beta of weighted recall and precision: recall of the reference matters most."""
ELABORATION_ALLOWANCE: Final = 0.75
"""Words beyond the reference an answer may add, as a share of the reference's own length,
before precision falls: correct elaboration of a one-line reference is not padding."""
CONFLICT_PENALTY: Final = 1.0
"""Each contradicted term costs this many times its weight, on top of earning nothing."""
BREVITY_FLOOR: Final = 0.3
"""An answer this fraction of the reference's length or longer has no brevity penalty."""


class _AnswerTerms:
    """An answer's signed terms, with unit counts for precision."""

    __slots__ = ("matched_units", "terms", "units")

    def __init__(self) -> None:
        self.terms: set[str] = set()
        self.units = 0
        self.matched_units = 0


def _answer_terms(answer: str, reference: AnalysedReference) -> _AnswerTerms:
    """Collect the answer's signed terms, mapping long misspelt words onto reference keys."""
    found = _AnswerTerms()
    keys = reference.keys
    asked = reference.question_keys
    for unit in scan(tokens(normalize(answer)), reference.matcher, content_only=True):
        key = unit.key
        if key in asked:
            # Repeating the question is neither evidence of knowledge nor padding.
            found.terms.add(signed(key, unit.negated))
            continue
        if key not in keys and len(unit.word) >= FUZZY_MIN_LEN:
            key = reference.typos.key_for(unit.word) or key
        found.units += 1
        if key in keys:
            found.matched_units += 1
        found.terms.add(signed(key, unit.negated))
        parent = ALIAS_PARENTS.get(key)
        if parent is not None:
            found.terms.add(signed(parent, unit.negated))
    return found


def _credit(reference: AnalysedReference, answered: set[str]) -> tuple[dict[str, float], set[str]]:
    """Credit (0-1) per reference term the answer states, and the terms it contradicts."""
    credit: dict[str, float] = {}
    conflicts: set[str] = set()
    weights = reference.weights
    for term in weights:
        if term in answered:
            credit[term] = 1.0
            continue
        denial = opposite(term)
        # Stating the opposite is a contradiction unless the reference says that too.
        if denial in answered and denial not in weights:
            conflicts.add(term)
            continue
        parent = ALIAS_PARENTS.get(unsigned(term))
        if parent is not None and signed(parent, is_negated(term)) in answered:
            credit[term] = PARENT_CREDIT
    return credit, conflicts


def _score(
    reference: AnalysedReference, terms: _AnswerTerms, credit: dict[str, float], conflicts: set[str]
) -> int:
    """0-100: F-beta of weighted recall (less contradictions) and precision, brevity-scaled."""
    weights = reference.weights
    matched = sum(weights[term] * share for term, share in credit.items())
    contradicted = sum(weights[term] for term in conflicts)
    recall = max(matched - CONFLICT_PENALTY * contradicted, 0.0) / reference.total_weight
    if recall <= 0.0:
        return 0
    allowance = ELABORATION_ALLOWANCE * reference.content_units
    precision = min(1.0, (terms.matched_units + allowance) / terms.units)
    beta2 = RECALL_BETA * RECALL_BETA
    blended = (1 + beta2) * precision * recall / (beta2 * precision + recall)
    # A one-word answer to a paragraph-long reference is thin even if every word is right.
    length_ratio = terms.units / reference.content_units
    if length_ratio < BREVITY_FLOOR:
        blended *= length_ratio / BREVITY_FLOOR
    return max(0, min(100, round(100 * blended)))


def _explain(
    reference: AnalysedReference, credit: dict[str, float], conflicts: set[str]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The (covered, missed, contradicted) concept phrases, in reference order."""
    covered: list[str] = []
    missed: list[str] = []
    contradicted: list[str] = []
    weights = reference.weights
    for concept, concept_weight in zip(reference.concepts, reference.concept_weights, strict=True):
        contradicted_here = bool(conflicts) and any(term in conflicts for term in concept.terms)
        if concept.restates_question and not contradicted_here:
            continue  # not worth naming to the user: the question already said it
        got = sum(weights[term] * credit[term] for term in concept.terms if term in credit)
        if contradicted_here:
            contradicted.append(concept.phrase)
            missed.append(concept.phrase)
        elif concept_weight > 0 and got >= CONCEPT_COVERED_SHARE * concept_weight:
            covered.append(concept.phrase)
        else:
            missed.append(concept.phrase)
    return tuple(covered), tuple(missed), tuple(contradicted)


def key_term(phrase: str) -> str:
    """The word of a phrase that names it best: its longest word that is not a very common
    one (rarer words are longer), else its longest word.
    """
    words = [word.strip(".,;:!?()[]\"'") for word in phrase.split()]
    words = [word for word in words if word]
    rare = [word for word in words if stem(word.casefold()) not in GENERAL_STEMS]
    return max(rare or words, key=len, default="")


class Grader:
    """Keyword-overlap grader: stems, aliases, question demoting, negation, typo tolerance."""

    def __init__(self, known_words: Iterable[str] = ()) -> None:
        """`known_words`: real words (the packs' vocabulary, see `vocabulary`) that an answer
        may use as written, never read as a typo of a rubric word. Analysed answer keys are
        cached module-wide."""
        self.known_words = frozenset(known_words)

    def concepts(
        self,
        reference: str,
        *,
        question: str = "",
        concepts: Sequence[str] = (),
        rubric: Rubric | None = None,
    ) -> tuple[str, ...]:
        """The key concepts of an answer key as short readable phrases, in hint order: a
        rubric's counted concepts, most important first, else the reference's in order.
        """
        if rubric is not None:
            return tuple(concept.label for concept in hint_order(rubric))
        analysed = analyse_reference(reference, question, tuple(concepts), ())
        return tuple(concept.phrase for concept in analysed.shown)

    def hints(
        self,
        reference: str,
        *,
        question: str = "",
        concepts: Sequence[str] = (),
        rubric: Rubric | None = None,
    ) -> tuple[str, ...]:
        """One hint per concept, most useful first: a rubric concept's short label, or the
        key term of a reference's concept, so a hint never gives the whole answer away.
        """
        phrases = self.concepts(reference, question=question, concepts=concepts, rubric=rubric)
        if rubric is not None:
            return phrases
        terms: list[str] = []
        for phrase in phrases:
            term = key_term(phrase)
            if term and term.casefold() not in (t.casefold() for t in terms):
                terms.append(term)
        return tuple(terms)

    def grade_question(self, answer: str, item: Question) -> Grade:
        """Grade an answer to a pack's question: through its rubric where it has one, else
        against its reference, with its concepts and aliases."""
        return self.grade(
            answer,
            item.reference,
            question=item.prompt,
            concepts=item.concepts,
            aliases=item.aliases,
            rubric=item.rubric,
        )

    def prepare(
        self,
        reference: str,
        *,
        question: str = "",
        concepts: Sequence[str] = (),
        aliases: Sequence[tuple[str, Sequence[str]]] = (),
        rubric: Rubric | None = None,
    ) -> AnalysedReference | CompiledRubric:
        """Analyse an answer key once (cached), so its first answer grades as fast as the rest."""
        alias_table: AliasTable = tuple((term, tuple(others)) for term, others in aliases)
        if rubric is not None:
            return compile_rubric(rubric, alias_table, question)
        return analyse_reference(reference, question, tuple(concepts), alias_table)

    def grade(
        self,
        answer: str,
        reference: str,
        *,
        question: str = "",
        concepts: Sequence[str] = (),
        aliases: Sequence[tuple[str, Sequence[str]]] = (),
        rubric: Rubric | None = None,
    ) -> Grade:
        """Grade `answer` against its rubric where there is one, else against `reference`
        (where words copied from `question` earn little)."""
        analysed = self.prepare(
            reference, question=question, concepts=concepts, aliases=aliases, rubric=rubric
        )
        if isinstance(analysed, CompiledRubric):
            return grade_with_rubric(answer, analysed, self.known_words)
        terms = _answer_terms(answer, analysed)

        credit, conflicts = _credit(analysed, terms.terms)
        if analysed.total_weight <= 0.0 or terms.units == 0:
            return Grade(0, Verdict.INCORRECT, (), tuple(c.phrase for c in analysed.shown))
        score = _score(analysed, terms, credit, conflicts)
        covered, missed, conflicting = _explain(analysed, credit, conflicts)
        return Grade(score, verdict_for(score), covered, missed, conflicting)
