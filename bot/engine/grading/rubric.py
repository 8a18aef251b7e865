"""Grading against a rubric: weighted coverage of its concepts, each said in any phrasing.

An answer is read into sentences of signed keys (stems and alias keys, negation marked). A
phrasing matches a sentence holding all of its content words, or, when its meaning lives in
stopwords ("at least once"), the same words in a row. A property bound to a subject counts only
when said of that subject; said of another it is a contradiction, as is a concept negated.
Correct words outside the rubric never lower the score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, NamedTuple

from rapidfuzz import fuzz, process

from bot.engine.grading.aliases import ALIAS_PARENTS, AliasMatcher, matcher_for
from bot.engine.grading.analysis import Kind, Unit, opposite, scan, signed
from bot.engine.grading.text import normalize, tokens
from bot.engine.grading.verdicts import CORRECT_THRESHOLD, PARTIAL_THRESHOLD, verdict_for
from bot.engine.grading.weights import term_weight
from bot.engine.model import Grade, Rubric, RubricConcept

FULL_MARKS_COVERAGE: Final = 0.8
"""Share of the rubric's weight at which an answer scores 100: strong candidates leave one
minor idea out, and an interviewer still gives full marks."""
PARTIAL_MATCH_SHARE: Final = 0.6
"""Share of a phrasing's word weight a sentence must hold to earn part of the concept."""
PARTIAL_MATCH_CREDIT: Final = 0.6
"""What a partly matched phrasing earns, times the share it matched."""
UNATTRIBUTED_CREDIT: Final = 0.5
"""A property said of no subject at all ("one is persistent") earns this share."""
CONTRADICTION_COST: Final = 1.0
"""A contradicted concept costs this many times its weight, on top of earning nothing."""
COVERED_CREDIT: Final = 0.5
"""Credit at which a concept is listed as covered."""
FUZZY_MIN_LEN: Final = 6
"""Only words this long get typo tolerance: EC2, ECS and EKS differ by one letter."""
FUZZY_MIN_SIMILARITY: Final = 87.0
"""rapidfuzz ratio (0-100) at which a long word counts as a misspelling of a rubric word."""
EXACT_GAP: Final = 2
"""Words allowed between two words of a word-for-word phrasing ("gone when you stop it")."""
SENTENCE_ENDS: Final = frozenset(".;!?")
"""Tokens that end a sentence: a phrasing's words must meet inside one."""
CONTRAST_CUES: Final = frozenset(
    {"unlike", "versus", "vs", "than", "compared", "opposed", "contrast", "instead", "rather"}
)
"""A subject named right after these is the foil, not the one a property is said of."""
RELATIVE_WORDS: Final = frozenset({"which", "that", "who", "where", "whose"})
"""'unlike EBS, which persists': a foil followed by these takes the clause's properties."""
_CUE_REACH: Final = 2
_AUXILIARIES: Final = frozenset(
    {"can", "cannot", "is", "are", "has", "have", "does", "do", "will", "must", "may", "should"}
)
_RUBRIC_CACHE_SIZE: Final = 2048
_FUZZY_CACHE_LIMIT: Final = 4096


class _Phrasing(NamedTuple):
    """One way to say a concept, as the grader matches it."""

    terms: tuple[str, ...]
    """Signed keys of its content words."""
    weights: tuple[float, ...]
    sequence: tuple[str, ...]
    """Keys of all its words in order, stopwords included."""
    exact: bool
    """Its meaning lives in stopwords too: only the same words in a row match."""


@dataclass(frozen=True, slots=True)
class _CompiledConcept:
    concept: RubricConcept
    phrasings: tuple[_Phrasing, ...]


@dataclass(frozen=True, slots=True)
class _CompiledSubject:
    name: str
    spellings: tuple[tuple[str, ...], ...]
    """Each name as a sequence of unsigned keys."""


@dataclass(frozen=True, slots=True)
class CompiledRubric:
    """A rubric made ready to grade: phrasings as keys, typo look-up, contradiction rules."""

    concepts: tuple[_CompiledConcept, ...]
    subjects: tuple[_CompiledSubject, ...]
    matcher: AliasMatcher
    keys: frozenset[str]
    stated_terms: frozenset[str]
    """Every signed key some phrasing states: saying one of them contradicts nothing."""
    long_words: tuple[str, ...]
    long_word_keys: tuple[str, ...]
    total_weight: float
    fuzzy_cache: dict[str, str | None] = field(default_factory=dict)

    def misspelt_key(self, word: str) -> str | None:
        """The rubric key a long answer word is a likely misspelling of, if any."""
        if word in self.fuzzy_cache:
            return self.fuzzy_cache[word]
        best = process.extractOne(
            word, self.long_words, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SIMILARITY
        )
        key = self.long_word_keys[best[2]] if best is not None else None
        if len(self.fuzzy_cache) >= _FUZZY_CACHE_LIMIT:
            self.fuzzy_cache.clear()
        self.fuzzy_cache[word] = key
        return key

    @property
    def hint_order(self) -> tuple[RubricConcept, ...]:
        """The counted concepts, the ones that matter most first."""
        counted = [c.concept for c in self.concepts if not c.concept.optional]
        return tuple(sorted(counted, key=lambda c: (not c.required, -c.weight)))


def _units(text: str, matcher: AliasMatcher) -> list[Unit]:
    return scan(tokens(normalize(text)), matcher)


def _phrasing(text: str, matcher: AliasMatcher) -> _Phrasing | None:
    units = [unit for unit in _units(text, matcher) if unit.kind is not Kind.BREAK]
    content = [unit for unit in units if unit.kind is Kind.CONTENT]
    words = [unit for unit in units if unit.kind is not Kind.NEGATOR]
    if not words:
        return None
    if not content:  # a phrasing of stopwords only is matched word for word
        content = [unit._replace(kind=Kind.CONTENT) for unit in words]
    exact = len(content) <= 1 and len(words) > len(content)
    return _Phrasing(
        terms=tuple(signed(unit.key, unit.negated) for unit in content),
        weights=tuple(term_weight(unit.key, unit.word) for unit in content),
        sequence=tuple(unit.key for unit in words),
        exact=exact,
    )


@lru_cache(maxsize=_RUBRIC_CACHE_SIZE)
def compile_rubric(
    rubric: Rubric, aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
) -> CompiledRubric:
    """Compile a rubric once (cached): every phrasing and subject name as keys."""
    matcher = matcher_for(aliases)
    concepts: list[_CompiledConcept] = []
    surface: dict[str, str] = {}
    for concept in rubric.concepts:
        phrasings = []
        for text in (concept.name, *concept.phrasings):
            compiled = _phrasing(text, matcher)
            if compiled is not None:
                phrasings.append(compiled)
            for unit in _units(text, matcher):
                if unit.kind is Kind.CONTENT and len(unit.word) > len(surface.get(unit.key, "")):
                    surface[unit.key] = unit.word
        concepts.append(_CompiledConcept(concept, tuple(phrasings)))
    subjects = []
    for subject in rubric.subjects:
        spellings = []
        for name in (subject.name, *subject.names):
            keys = tuple(u.key for u in _units(name, matcher) if u.kind is Kind.CONTENT)
            if keys:
                spellings.append(keys)
        subjects.append(_CompiledSubject(subject.name, tuple(spellings)))
    long_pairs = [(word, key) for key, word in surface.items() if len(word) >= FUZZY_MIN_LEN]
    return CompiledRubric(
        concepts=tuple(concepts),
        subjects=tuple(subjects),
        matcher=matcher,
        keys=frozenset(surface),
        stated_terms=frozenset(t for c in concepts for p in c.phrasings for t in p.terms),
        long_words=tuple(word for word, _ in long_pairs),
        long_word_keys=tuple(key for _, key in long_pairs),
        total_weight=sum(c.weight for c in rubric.concepts if not c.optional),
    )


class _Word(NamedTuple):
    """One word of an answer: its signed key, where it stands, and its token span."""

    key: str
    negated: bool
    sentence: int
    position: int
    start: int
    end: int


class _Mention(NamedTuple):
    subject: str
    sentence: int
    position: int
    foil: bool


class _Hit(NamedTuple):
    """A phrasing found in one sentence."""

    sentence: int
    position: int
    credit: float
    denied: bool
    """The sentence says its opposite."""
    full: bool


@dataclass(slots=True)
class _Answer:
    """An answer read for one rubric."""

    words: list[_Word]
    stream: list[list[tuple[str, bool, int]]]
    """Per sentence: (key, negated, position) of every word, stopwords included, in order."""
    where: dict[str, list[_Word]]
    mentions: list[_Mention]


def _read_answer(answer: str, rubric: CompiledRubric) -> _Answer:
    words_tokens = tokens(normalize(answer))
    units = scan(words_tokens, rubric.matcher)
    words: list[_Word] = []
    stream: list[list[tuple[str, bool, int]]] = [[]]
    where: dict[str, list[_Word]] = defaultdict(list)
    sentence = 0
    for unit in units:
        if unit.kind is Kind.BREAK:
            if unit.word in SENTENCE_ENDS and stream[-1]:
                sentence += 1
                stream.append([])
            continue
        if unit.kind is Kind.NEGATOR:
            continue
        key = unit.key
        if unit.kind is Kind.CONTENT and key not in rubric.keys and len(unit.word) >= FUZZY_MIN_LEN:
            key = rubric.misspelt_key(unit.word) or key
        position = len(words)
        word = _Word(key, unit.negated, sentence, position, unit.start, unit.end)
        words.append(word)
        stream[-1].append((key, unit.negated, position))
        if unit.kind is Kind.CONTENT:
            where[key].append(word)
            parent = ALIAS_PARENTS.get(key)
            if parent is not None:
                where[parent].append(word._replace(key=parent))
    return _Answer(words, stream, where, _mentions(rubric, words, stream, words_tokens))


def _mentions(
    rubric: CompiledRubric,
    words: list[_Word],
    stream: list[list[tuple[str, bool, int]]],
    words_tokens: Sequence[str],
) -> list[_Mention]:
    """Where the answer names each subject, and whether as the foil of a contrast."""
    if not rubric.subjects:
        return []
    mentions: list[_Mention] = []
    for sentence, items in enumerate(stream):
        keys = [key for key, _, _ in items]
        for subject in rubric.subjects:
            for spelling in subject.spellings:
                size = len(spelling)
                for index in range(len(keys) - size + 1):
                    if tuple(keys[index : index + size]) != spelling:
                        continue
                    first, last = words[items[index][2]], words[items[index + size - 1][2]]
                    foil = _is_foil(words_tokens, first.start, last.end)
                    mentions.append(_Mention(subject.name, sentence, first.position, foil))
    mentions.sort(key=lambda mention: mention.position)
    return mentions


def _is_foil(words_tokens: Sequence[str], start: int, end: int) -> bool:
    before = words_tokens[max(0, start - _CUE_REACH) : start]
    if not any(word in CONTRAST_CUES for word in before):
        return False
    after = [word for word in words_tokens[end : end + _CUE_REACH] if word != ","]
    return not (after and after[0] in RELATIVE_WORDS)


def _hits(phrasing: _Phrasing, answer: _Answer) -> list[_Hit]:
    """Every sentence that says the phrasing, partly says it, or says its opposite."""
    if phrasing.exact:
        return _exact_hits(phrasing, answer)
    found: dict[int, dict[int, tuple[bool, int]]] = defaultdict(dict)
    for index, term in enumerate(phrasing.terms):
        negated_term = term.startswith("!")
        key = term[1:] if negated_term else term
        for word in answer.where.get(key, ()):
            agrees = word.negated == negated_term
            seen = found[word.sentence].get(index)
            if seen is None or (agrees and not seen[0]):
                found[word.sentence][index] = (agrees, word.position)
    total = sum(phrasing.weights)
    hits: list[_Hit] = []
    for sentence, matched in found.items():
        position = min(at for _, at in matched.values())
        if len(matched) == len(phrasing.terms):
            denied = not all(agrees for agrees, _ in matched.values())
            hits.append(_Hit(sentence, position, 0.0 if denied else 1.0, denied, True))
            continue
        if len(phrasing.terms) < 2:
            continue
        agreeing = sum(phrasing.weights[i] for i, (agrees, _) in matched.items() if agrees)
        share = agreeing / total if total else 0.0
        if share >= PARTIAL_MATCH_SHARE:
            hits.append(_Hit(sentence, position, PARTIAL_MATCH_CREDIT * share, False, False))
    return hits


def _exact_hits(phrasing: _Phrasing, answer: _Answer) -> list[_Hit]:
    """Sentences with the phrasing's words in order, at most EXACT_GAP other words apart."""
    wanted = phrasing.sequence
    negated_term = bool(phrasing.terms) and phrasing.terms[0].startswith("!")
    hits: list[_Hit] = []
    for sentence, items in enumerate(answer.stream):
        for start, item in enumerate(items):
            if item[0] != wanted[0]:
                continue
            end = _ordered_end(items, start, wanted)
            if end is None:
                continue
            negated = any(items[k][1] for k in range(start, end))
            denied = negated != negated_term
            hits.append(_Hit(sentence, item[2], 0.0 if denied else 1.0, denied, True))
    return hits


def _ordered_end(
    items: Sequence[tuple[str, bool, int]], start: int, wanted: Sequence[str]
) -> int | None:
    """The end index of `wanted` found in order from `start`, with short gaps, else None."""
    index = start + 1
    for key in wanted[1:]:
        limit = min(len(items), index + EXACT_GAP + 1)
        while index < limit and items[index][0] != key:
            index += 1
        if index >= limit:
            return None
        index += 1
    return index


def _said_of(answer: _Answer, hit: _Hit) -> str | None:
    """The subject a property found at `hit` is said of: the nearest before it in the
    sentence, else the nearest after it, else the last one named before the sentence.
    """
    before: _Mention | None = None
    after: _Mention | None = None
    earlier: _Mention | None = None
    for mention in answer.mentions:
        if mention.foil:
            continue
        if mention.sentence < hit.sentence:
            earlier = mention
        elif mention.sentence == hit.sentence:
            if mention.position <= hit.position:
                before = mention
            elif after is None:
                after = mention
    chosen = before or after or earlier
    return chosen.subject if chosen is not None else None


@dataclass(slots=True)
class _Outcome:
    credit: float = 0.0
    contradiction: str | None = None


def _judge(compiled: _CompiledConcept, rubric: CompiledRubric, answer: _Answer) -> _Outcome:
    outcome = _Outcome()
    concept = compiled.concept
    for phrasing in compiled.phrasings:
        for hit in _hits(phrasing, answer):
            if concept.subject is None:
                if hit.denied:
                    said = {opposite(term) for term in phrasing.terms}
                    if not said & rubric.stated_terms and outcome.contradiction is None:
                        outcome.contradiction = f"you said the opposite of “{concept.name}”"
                else:
                    outcome.credit = max(outcome.credit, hit.credit)
                continue
            subject = _said_of(answer, hit)
            if hit.denied:
                if subject == concept.subject and outcome.contradiction is None:
                    outcome.contradiction = f"you denied that {subject}{_joined(concept.name)}"
            elif subject == concept.subject:
                outcome.credit = max(outcome.credit, hit.credit)
            elif subject is None:
                outcome.credit = max(outcome.credit, hit.credit * UNATTRIBUTED_CREDIT)
            elif hit.full and outcome.contradiction is None:
                outcome.contradiction = _swap_note(rubric, concept, subject, phrasing)
    return outcome


def _joined(name: str) -> str:
    """' is persistent' or ' can be detached': the verb the phrase needs after a subject."""
    first = name.split()[0].casefold() if name.split() else ""
    return f" {name}" if first in _AUXILIARIES else f" is {name}"


def _swap_note(
    rubric: CompiledRubric, concept: RubricConcept, said_of: str, phrasing: _Phrasing
) -> str:
    """'you said instance store is persistent: it is ephemeral' (or: 'that is EBS')."""
    opposites = {opposite(term) for term in phrasing.terms}
    for other in rubric.concepts:
        if other.concept.subject != said_of:
            continue
        if any(set(p.terms) & opposites for p in other.phrasings):
            return f"you said {said_of}{_joined(concept.name)}: it{_joined(other.concept.name)}"
    return f"you said {said_of}{_joined(concept.name)}: that is {concept.subject}"


def grade_with_rubric(answer: str, rubric: CompiledRubric) -> Grade:
    """Score 0-100: weighted concept coverage less contradictions, with what was covered."""
    read = _read_answer(answer, rubric)
    covered: list[str] = []
    missed: list[str] = []
    contradicted: list[str] = []
    notes: list[str] = []
    earned = lost = 0.0
    required_missed = False
    for compiled in rubric.concepts:
        concept = compiled.concept
        outcome = _judge(compiled, rubric, read) if read.words else _Outcome()
        earned += concept.weight * outcome.credit
        if outcome.contradiction is not None:
            lost += CONTRADICTION_COST * concept.weight
            contradicted.append(concept.label)
            notes.append(outcome.contradiction)
        if outcome.credit >= COVERED_CREDIT and outcome.contradiction is None:
            covered.append(concept.label)
        elif not concept.optional:
            missed.append(concept.label)
            required_missed = required_missed or concept.required
    share = max(earned - lost, 0.0) / rubric.total_weight if rubric.total_weight else 0.0
    score = round(100 * min(1.0, share / FULL_MARKS_COVERAGE))
    if required_missed:
        score = min(score, CORRECT_THRESHOLD - 1)
    if contradicted and lost >= earned:
        score = min(score, PARTIAL_THRESHOLD - 1)  # more of it is wrong than right
    elif contradicted:
        score = min(score, CORRECT_THRESHOLD - 1)  # a correct answer holds no wrong claim
    return Grade(
        score,
        verdict_for(score),
        tuple(covered),
        tuple(missed),
        tuple(contradicted),
        tuple(notes),
    )
