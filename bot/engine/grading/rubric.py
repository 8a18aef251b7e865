"""Grading against a rubric: weighted coverage of its concepts, each said in any phrasing.

An answer is read into sentences of signed keys (stems and alias keys, negation marked). A
phrasing matches a sentence holding all of its content words, or, when its meaning lives in
stopwords ("at least once"), the same words in a row. A property bound to a subject counts only
when said of that subject; said of another it is a contradiction, as is a concept negated.
Correct words outside the rubric never lower the score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import takewhile
from typing import Final, NamedTuple

from bot.engine.grading.aliases import ALIAS_PARENTS, AliasMatcher, matcher_for
from bot.engine.grading.analysis import Kind, Unit, opposite, scan, signed
from bot.engine.grading.text import CLAUSE_BREAKS, NEGATORS, normalize, tokens
from bot.engine.grading.typos import FUZZY_MIN_LEN, TypoIndex
from bot.engine.grading.verdicts import CORRECT_THRESHOLD, PARTIAL_THRESHOLD, verdict_for
from bot.engine.grading.weights import term_weight
from bot.engine.model import Grade, Rubric, RubricConcept

FULL_MARKS_COVERAGE: Final = 0.8
"""Share of the rubric's weight at which an answer scores 100: strong candidates leave one
minor idea out, and an interviewer still gives full marks."""
REQUIRED_MISSED_CAP: Final = CORRECT_THRESHOLD - 1
"""The most an answer missing a required concept scores."""
CONTRADICTED_CAP: Final = CORRECT_THRESHOLD - 1
"""The most an answer with a wrong claim scores, when it holds more right than wrong."""
PARTIAL_MATCH_SHARE: Final = 0.6
"""Share of a phrasing's word weight a sentence must hold to earn part of the concept: two
of three words, never one of two (half of "multiple containers" is a word every answer has)."""
PARTIAL_MATCH_CREDIT: Final = 0.6
"""What a partly matched phrasing earns, times the share it matched."""
UNATTRIBUTED_CREDIT: Final = 0.5
"""A property said of no subject at all ("one is persistent") earns this share."""
SWAPS_FOR_WRONG: Final = 2
"""Properties said of the wrong subject that make an answer wrong whatever else it holds:
an answer that swaps the roles has the comparison backwards."""
CONTRADICTION_COST: Final = 1.0
"""A contradicted concept costs this many times its weight, on top of earning nothing."""
COVERED_CREDIT: Final = 0.5
"""Credit at which a concept is listed as covered."""
EXACT_GAP: Final = 2
"""Words allowed between two words of a word-for-word phrasing ("gone when you stop it")."""
SENTENCE_ENDS: Final = frozenset(".;!?")
"""Tokens that end a sentence: a phrasing's words must meet inside one."""
CONTRAST_CUES: Final = frozenset(
    {"unlike", "versus", "vs", "than", "compared", "opposed", "contrast", "instead", "rather"}
)
"""A subject named right after these is the foil, not the one a property is said of."""
CONJUNCTIONS: Final = frozenset({"and", "or", "nor", "then", "so"})
"""A subject after these is a new clause's subject, whatever preposition came before."""
CONDITION_CUES: Final = frozenset({"if", "unless", "until", "when", "whenever", "otherwise"})
"""A clause opened by these states a condition: a denial in it is no claim."""
VERB_CUES: Final = frozenset({"what", "it", "they", "to"})
"""A subject's word right after these is a verb: 'what retries', 'it catches', 'to retry'."""
RELATIVE_WORDS: Final = frozenset({"which", "that", "who", "where", "whose"})
"""'unlike EBS, which persists': a foil followed by these takes the clause's properties."""
COPULAS: Final = frozenset({"is", "are", "'s"})
ARTICLES: Final = frozenset({"a", "an", "the"})
OBJECT_CUES: Final = frozenset(
    {
        "of",
        "in",
        "on",
        "to",
        "from",
        "with",
        "into",
        "for",
        "by",
        "across",
        "between",
        "over",
        "under",
        "onto",
        "within",
        "inside",
    }
)
"""A subject named right after these is an object ('copies of each primary'): a property
goes to the clause's subject before it goes to an object."""
ABSENCE_WORDS: Final = frozenset({"no", "without", "none", "lack", "lacks", "nothing"})
"""Negators that deny a thing's presence ('no secrets on laptops'), not a claim about it."""
CAUTION_WORDS: Final = frozenset(
    {"avoid", "avoiding", "prevent", "preventing", "minimize", "minimise", "minimizing"}
)
"""A concept named with these is a thing not to do ('avoid over-partitioning'): its
phrasings said negatively ("don't over-partition") state it, they do not deny it."""
_NEGATOR_REACH: Final = 5
STOP_MARK: Final = "·"
"""Prefix of a stopword's key in word-for-word matching."""
_CUE_REACH: Final = 2
_OBJECT_REACH: Final = 3
_AUXILIARIES: Final = frozenset(
    {"can", "cannot", "is", "are", "has", "have", "does", "do", "will", "must", "may", "should"}
)
_RUBRIC_CACHE_SIZE: Final = 2048


class _Phrasing(NamedTuple):
    """One way to say a concept, as the grader matches it."""

    terms: tuple[str, ...]
    """Signed keys of its content words."""
    weights: tuple[float, ...]
    sequence: tuple[str, ...]
    """Keys of all its words in order, stopwords included."""
    exact: bool
    """Its meaning lives in stopwords too: only the same words in a row match."""
    needs: frozenset[str]
    """The keys an answer must hold for the phrasing to match in full."""


@dataclass(frozen=True, slots=True)
class _CompiledConcept:
    concept: RubricConcept
    phrasings: tuple[_Phrasing, ...]
    keys: frozenset[str] = frozenset()
    """Every key of its phrasings: an answer holding none of them cannot touch it."""
    self_naming: frozenset[_Phrasing] = frozenset()
    """Phrasings that hold a word only the concept's own subject is named with ("warm" of
    warm start, not "start"): they say whose property they are."""


@dataclass(frozen=True, slots=True)
class _CompiledSubject:
    name: str
    spellings: tuple[tuple[str, ...], ...]
    """Each name as a sequence of unsigned keys."""
    words: frozenset[str] = frozenset()
    """The words of its names as written: 'retries' is no spelling of Retry, but a verb."""


@dataclass(frozen=True, slots=True)
class CompiledRubric:
    """A rubric made ready to grade: phrasings as keys, typo look-up, contradiction rules."""

    concepts: tuple[_CompiledConcept, ...]
    subjects: tuple[_CompiledSubject, ...]
    matcher: AliasMatcher
    keys: frozenset[str]
    stated_terms: frozenset[str]
    """Every signed key some phrasing states: saying one of them contradicts nothing."""
    total_weight: float
    typos: TypoIndex
    question_subject: str | None = None
    """The one subject the question names ("What is a Docker image?"), if it names one."""


def hint_order(rubric: Rubric) -> tuple[RubricConcept, ...]:
    """A rubric's counted concepts, the ones that matter most first."""
    counted = [concept for concept in rubric.concepts if not concept.optional]
    return tuple(sorted(counted, key=lambda c: (not c.required, -c.weight)))


def _units(text: str, matcher: AliasMatcher) -> list[Unit]:
    return scan(tokens(normalize(text)), matcher)


def _phrasing(scanned: Sequence[Unit]) -> _Phrasing | None:
    units = [unit for unit in scanned if unit.kind is not Kind.BREAK]
    content = [unit for unit in units if unit.kind is Kind.CONTENT]
    words = [unit for unit in units if unit.kind is not Kind.NEGATOR]
    if not words:
        return None
    exact = len(content) <= 1 and len(words) > len(content)
    if not content:  # a phrasing of stopwords only ("how often") is matched word for word
        content = [unit._replace(kind=Kind.CONTENT) for unit in words]
        exact = True
    sequence = tuple(_word_key(unit) for unit in words)
    return _Phrasing(
        terms=tuple(signed(unit.key, unit.negated) for unit in content),
        weights=tuple(term_weight(unit.key, unit.word) for unit in content),
        sequence=sequence,
        exact=exact,
        needs=frozenset(sequence if exact else (unit.key for unit in content)),
    )


def _word_key(unit: Unit) -> str:
    """A unit's key in a word-for-word match: a stopword is marked, so "provides" (a
    stopword) is never "provider" and "same" is never the "same" that "different" denies.
    """
    return unit.key if unit.kind is Kind.CONTENT else STOP_MARK + unit.key


@lru_cache(maxsize=_RUBRIC_CACHE_SIZE)
def compile_rubric(
    rubric: Rubric, aliases: tuple[tuple[str, tuple[str, ...]], ...] = (), question: str = ""
) -> CompiledRubric:
    """Compile a rubric once (cached): every phrasing and subject name as keys.

    A phrasing made only of the question's own words is left out (an answer that repeats the
    question has said nothing), unless it is all its concept has.
    """
    matcher = matcher_for(aliases)
    asked_units = [u for u in _units(question, matcher) if u.kind is Kind.CONTENT]
    asked = {u.key for u in asked_units}
    surface: dict[str, str] = {}

    def note_surface(units: Iterable[Unit]) -> None:
        for unit in units:
            if unit.kind is Kind.CONTENT and len(unit.word) > len(surface.get(unit.key, "")):
                surface[unit.key] = unit.word

    subjects: list[_CompiledSubject] = []
    subject_words: dict[str, frozenset[str]] = {}
    for subject in rubric.subjects:
        spellings = []
        words: set[str] = set()
        for name in (subject.name, *subject.names):
            scanned = _units(name, matcher)
            note_surface(scanned)
            name_units = [u for u in scanned if u.kind in (Kind.CONTENT, Kind.STOP)]
            content = [u.key for u in name_units if u.kind is Kind.CONTENT]
            words.update(content)
            if content:
                # All its words ("run a job", "on-demand"), signed: "manual" is not "automatic".
                spellings.append(tuple(signed(_word_key(u), u.negated) for u in name_units))
        written = frozenset(
            word for name in (subject.name, *subject.names) for word in tokens(normalize(name))
        )
        subjects.append(_CompiledSubject(subject.name, tuple(spellings), written))
        subject_words[subject.name] = frozenset(words)
    concepts: list[_CompiledConcept] = []
    for concept in rubric.concepts:
        phrasings: list[_Phrasing] = []
        for text in (concept.name, *concept.phrasings):
            scanned = _units(text, matcher)
            note_surface(scanned)
            compiled = _phrasing(scanned)
            if compiled is not None:
                phrasings.append(compiled)
        informative = [
            p for p in phrasings if p.exact or not {t.lstrip("!") for t in p.terms} <= asked
        ]
        kept = tuple(informative or phrasings)
        touching = frozenset(key for phrasing in kept for key in phrasing.needs)
        own = subject_words.get(concept.subject or "", frozenset()).difference(
            *(words for name, words in subject_words.items() if name != concept.subject)
        )
        self_naming = frozenset(p for p in kept if any(t.lstrip("!") in own for t in p.terms))
        concepts.append(_CompiledConcept(concept, kept, touching, self_naming))
    asked_keys = [signed(u.key, u.negated) for u in asked_units]
    named = [
        subject.name
        for subject in subjects
        if any(_contains(asked_keys, spelling) for spelling in subject.spellings)
    ]
    return CompiledRubric(
        concepts=tuple(concepts),
        subjects=tuple(subjects),
        matcher=matcher,
        keys=frozenset(surface),
        stated_terms=frozenset(t for c in concepts for p in c.phrasings for t in p.terms),
        typos=TypoIndex(surface),
        total_weight=sum(c.weight for c in rubric.concepts if not c.optional),
        question_subject=named[0] if len(named) == 1 else None,
    )


def _contains(keys: Sequence[str], spelling: tuple[str, ...]) -> bool:
    """Whether `spelling` occurs in `keys` as a run."""
    size = len(spelling)
    return any(tuple(keys[i : i + size]) == spelling for i in range(len(keys) - size + 1))


class _Word(NamedTuple):
    """One word of an answer: its signed key, where it stands, and its token span."""

    key: str
    negated: bool
    negator: str
    """The word that negates it ('not', 'no'), or '' when it is not negated by one."""
    content: bool
    sentence: int
    clause: int
    position: int
    start: int
    end: int
    conditional: bool = False
    """It stands in a condition ("if it doesn't delete it"): denied, it states no claim."""


class _Mention(NamedTuple):
    subject: str
    sentence: int
    clause: int
    position: int
    foil: bool
    """Named as the other side of a contrast ('unlike EBS')."""
    object: bool
    """Named after a preposition ('copies of each primary')."""
    contrasted: bool = False
    """Named as a contrast, even if a relative clause then speaks of it: no sentence topic."""
    purpose: bool = False
    """Named after 'for' ("query strings for a request authorizer"): whose the clause is."""
    leading: bool = False
    """An object opening its clause ("With CDK you write Python"): the clause's topic."""


class _Hit(NamedTuple):
    """A phrasing found in one sentence."""

    sentence: int
    position: int
    credit: float
    denied: bool
    """The sentence says its opposite."""
    full: bool
    absence: bool = False
    """Denied only by 'no' or 'without' before a word."""
    one_clause: bool = True
    """All its words stand in one clause: only then can it be said of a subject."""


@dataclass(slots=True)
class _Answer:
    """An answer read for one rubric."""

    words: list[_Word]
    stream: list[list[tuple[str, bool, int]]]
    """Per sentence: (key, negated, position) of every word, stopwords included, in order."""
    where: dict[str, list[_Word]]
    mentions: list[_Mention]
    in_mentions: frozenset[int] = frozenset()
    """Positions of the words that name a subject: no evidence of a property."""
    keys: frozenset[str] = frozenset()
    """Every key the answer holds, stopwords included: the cheap test before a word match."""


def _read_answer(
    answer: str, rubric: CompiledRubric, known_words: frozenset[str] = frozenset()
) -> _Answer:
    words_tokens = tokens(normalize(answer))
    units = scan(words_tokens, rubric.matcher)
    words: list[_Word] = []
    stream: list[list[tuple[str, bool, int]]] = [[]]
    where: dict[str, list[_Word]] = defaultdict(list)
    sentence = clause = 0
    conditional = False
    for unit in units:
        if unit.kind is Kind.BREAK:
            if words and words[-1].clause == clause:
                clause += 1
            conditional = unit.word in CONDITION_CUES  # "unless" opens a condition
            if unit.word in SENTENCE_ENDS and stream[-1]:
                sentence += 1
                stream.append([])
            continue
        conditional = conditional or unit.word in CONDITION_CUES
        if unit.kind is Kind.NEGATOR:
            continue
        content = unit.kind is Kind.CONTENT
        key = unit.key if content else STOP_MARK + unit.key
        if (
            content
            and key not in rubric.keys
            and len(unit.word) >= FUZZY_MIN_LEN
            and unit.word not in known_words
        ):
            key = rubric.typos.key_for(unit.word) or key
        position = len(words)
        negator = _negator(words_tokens, unit.start) if unit.negated else ""
        word = _Word(
            key,
            unit.negated,
            negator,
            content,
            sentence,
            clause,
            position,
            unit.start,
            unit.end,
            conditional,
        )
        words.append(word)
        stream[-1].append((key, unit.negated, position))
        if content:
            where[key].append(word)
            parent = ALIAS_PARENTS.get(key)
            if parent is not None:
                where[parent].append(word._replace(key=parent))
    mentions, in_mentions = _mentions(rubric, words, stream, words_tokens)
    keys = frozenset(where) | {word.key for word in words}
    return _Answer(words, stream, where, mentions, in_mentions, keys)


def _negator(words_tokens: Sequence[str], start: int) -> str:
    """The negator nearest before token `start` in its clause, or '' (an antonym)."""
    for index in range(start - 1, max(-1, start - _NEGATOR_REACH), -1):
        word = words_tokens[index]
        if word in NEGATORS:
            return word
        if word in CLAUSE_BREAKS:
            break
    return ""


def _mentions(
    rubric: CompiledRubric,
    words: list[_Word],
    stream: list[list[tuple[str, bool, int]]],
    words_tokens: Sequence[str],
) -> tuple[list[_Mention], frozenset[int]]:
    """Where the answer names each subject, whether as the foil of a contrast, and the
    positions of the words that name them.
    """
    if not rubric.subjects:
        return [], frozenset()
    mentions: list[_Mention] = []
    spans: list[tuple[int, int]] = []
    naming: set[int] = set()
    asides = _parenthesis_depths(words_tokens) if "(" in words_tokens else []
    for items in stream:
        # An antonym's sign, not a negator's: "not DataBrew" still names DataBrew.
        keys = [signed(key, negated != bool(words[at].negator)) for key, negated, at in items]
        starts: dict[str, list[int]] = defaultdict(list)
        for index, key in enumerate(keys):
            starts[key].append(index)
        for subject in rubric.subjects:
            for spelling in subject.spellings:
                size = len(spelling)
                for index in starts.get(spelling[0], ()):
                    if tuple(keys[index : index + size]) != spelling:
                        continue
                    first, last = words[items[index][2]], words[items[index + size - 1][2]]
                    if first.clause != last.clause:
                        continue  # "key, name" or "key that names" is no "key name"
                    if (
                        size == 1
                        and first.start
                        and words_tokens[first.start - 1] in VERB_CUES
                        and words_tokens[first.start] not in subject.words
                    ):
                        continue  # "Catch is what retries": a verb, not the subject Retry
                    denied = any(words[items[k][2]].negator for k in range(index, index + size))
                    foil, contrasted = _is_foil(words_tokens, first.start, last.end, denied)
                    cues = _clause_before(words_tokens, first.start, _OBJECT_REACH)
                    # A conjunction starts a new subject: "lost on stop and EBS persists".
                    cues = list(takewhile(lambda word: word not in CONJUNCTIONS, cues))
                    # Named inside parentheses, it is an aside ("(a user, a service)"),
                    # weighed like an object: it speaks of the clause around it only alone.
                    as_object = any(word in OBJECT_CUES for word in cues) or (
                        bool(asides) and asides[first.start] > 0
                    )
                    mentions.append(
                        _Mention(
                            subject.name,
                            first.sentence,
                            first.clause,
                            first.position,
                            foil,
                            as_object,
                            contrasted,
                            purpose=as_object and "for" in cues[:2],
                            leading=as_object and _opens_clause(words_tokens, first.start, cues),
                        )
                    )
                    spans.append((first.position, last.position))
                    naming.update(range(first.position, last.position + 1))
    # The longest name wins: "replica shard" is one mention of replicas, not also of shards.
    kept = [
        mention
        for mention, (start, end) in zip(mentions, spans, strict=True)
        if not any(
            (other_start <= start and end <= other_end) and (other_end - other_start > end - start)
            for other_start, other_end in spans
        )
    ]
    kept.sort(key=lambda mention: mention.position)
    # Right after another subject's name, a subject's word is that one's verb ("Catch
    # retries the step"): the first name is the subject of the clause.
    ends = {end: mention for mention, (_, end) in zip(mentions, spans, strict=True)}
    kept = [
        mention
        for mention in kept
        if (before := ends.get(mention.position - 1)) is None
        or before.subject == mention.subject
        or (before.sentence, before.clause) != (mention.sentence, mention.clause)
    ]
    # "A container is an image brought to life": named after the copula of a clause whose
    # subject is named, a subject is what that one is, not what the clause is about.
    for index, mention in enumerate(kept):
        if mention.object or not _after_copula(words_tokens, words[mention.position].start):
            continue
        if any(
            (other.sentence, other.clause) == (mention.sentence, mention.clause)
            and other.position < mention.position
            and other.subject != mention.subject
            and not (other.object or other.foil)
            for other in kept[:index]
        ):
            kept[index] = mention._replace(object=True)
    # "under ECS or EKS": a name joined to an object by a conjunction is an object too.
    by_end_token = {
        words[end].end: mention for mention, (_, end) in zip(mentions, spans, strict=True)
    }
    for index, mention in enumerate(kept):
        start = words[mention.position].start
        if start < 2 or words_tokens[start - 1] not in CONJUNCTIONS:
            continue
        joined = by_end_token.get(start - 1)
        if joined is not None and joined.object and not mention.object:
            kept[index] = mention._replace(object=True, purpose=joined.purpose)
    return kept, frozenset(naming)


def _after_copula(words_tokens: Sequence[str], start: int) -> bool:
    """Whether the name starting at `start` follows 'is' or 'are', with an article or not."""
    before = _clause_before(words_tokens, start, 2)
    if before and before[0] in ARTICLES:
        before = before[1:]
    return bool(before) and before[0] in COPULAS


def _opens_clause(words_tokens: Sequence[str], start: int, cues: Sequence[str]) -> bool:
    """Whether the words before token `start` (its cues) are all its clause has before it."""
    before = start - len(cues) - 1
    return len(cues) <= _CUE_REACH and (before < 0 or words_tokens[before] in CLAUSE_BREAKS)


def _parenthesis_depths(words_tokens: Sequence[str]) -> list[int]:
    """How many parentheses are open at each token."""
    depths, depth = [], 0
    for word in words_tokens:
        if word == ")":
            depth = max(0, depth - 1)
        depths.append(depth)
        if word == "(":
            depth += 1
    return depths


def _clause_before(words_tokens: Sequence[str], start: int, reach: int) -> list[str]:
    """Up to `reach` tokens before `start`, not reaching back past a clause break."""
    found: list[str] = []
    for index in range(start - 1, max(-1, start - reach - 1), -1):
        if words_tokens[index] in CLAUSE_BREAKS:
            break
        found.append(words_tokens[index])
    return found


def _is_foil(words_tokens: Sequence[str], start: int, end: int, denied: bool) -> tuple[bool, bool]:
    """(foil, contrasted) of a subject named at tokens start:end. Named after a contrast cue
    ("unlike EBS") or denied ("not DataBrew") it is contrasted, and a foil that takes no
    property, unless a relative clause about it follows ("unlike EBS, which persists").
    """
    before = _clause_before(words_tokens, start, _CUE_REACH)
    if not denied and not any(word in CONTRAST_CUES for word in before):
        return False, False
    after = [word for word in words_tokens[end : end + _CUE_REACH] if word != ","]
    return not (after and after[0] in RELATIVE_WORDS), True


def _hits(phrasing: _Phrasing, answer: _Answer, skip: frozenset[int]) -> list[_Hit]:
    """Every sentence that says the phrasing, partly says it, or says its opposite; the
    words at positions in `skip` are not looked at.
    """
    if phrasing.needs <= answer.keys:
        if phrasing.exact:
            return _exact_hits(phrasing, answer, skip)
    elif phrasing.exact or len(phrasing.terms) < 3 or phrasing.needs.isdisjoint(answer.keys):
        return []  # not all its words are in the answer, and no part of it can count
    seen: dict[int, dict[int, list[tuple[bool, int, bool]]]] = defaultdict(dict)
    for index, term in enumerate(phrasing.terms):
        negated_term = term.startswith("!")
        key = term[1:] if negated_term else term
        for word in answer.where.get(key, ()):
            if word.position not in skip:
                agrees = word.negated == negated_term
                absent = word.negator in ABSENCE_WORDS
                seen[word.sentence].setdefault(index, []).append((agrees, word.position, absent))
    # A sentence counts when it holds all of the phrasing, or two words of a longer one.
    least = len(phrasing.terms) if len(phrasing.terms) < 3 else 2
    found = {
        sentence: _closest(options) for sentence, options in seen.items() if len(options) >= least
    }
    total = sum(phrasing.weights)
    hits: list[_Hit] = []
    for sentence, matched in found.items():
        positions = [at for _, at, _ in matched.values()]
        position = min(positions)
        one_clause = answer.words[position].clause == answer.words[max(positions)].clause
        if len(matched) == len(phrasing.terms):
            against = [i for i, (ok, _, _) in matched.items() if not ok]
            disagreeing = sum(phrasing.weights[i] for i in against)
            if not against:
                denied = _negated_before(answer, position, positions)
                credit = 0.0 if denied else 1.0
                hits.append(_Hit(sentence, position, credit, denied, True, one_clause=one_clause))
                continue
            # Denied when its head word is, or most of it: "not encrypted at rest".
            if 0 in against or disagreeing > total - disagreeing:
                absence = all(matched[i][2] for i in against)
                hits.append(_Hit(sentence, position, 0.0, True, True, absence, one_clause))
                continue
        if len(phrasing.terms) < 2:
            continue
        agreeing = sum(phrasing.weights[i] for i, (agrees, _, _) in matched.items() if agrees)
        share = agreeing / total if total else 0.0
        if share >= PARTIAL_MATCH_SHARE:
            credit = PARTIAL_MATCH_CREDIT * share
            hits.append(_Hit(sentence, position, credit, False, False, one_clause=one_clause))
    return hits


def _closest(
    options: dict[int, list[tuple[bool, int, bool]]],
) -> dict[int, tuple[bool, int, bool]]:
    """One occurrence per phrasing word: agreeing ones first, then the one nearest the word
    said least often, so "instance" far from the rest of a phrase does not place it.
    """
    if all(len(found) == 1 for found in options.values()):
        return {index: found[0] for index, found in options.items()}
    anchor_index = min(options, key=lambda index: len(options[index]))
    anchor = options[anchor_index][0][1]
    return {
        index: min(found, key=lambda item: (not item[0], abs(item[1] - anchor)))
        for index, found in options.items()
    }


def _negated_before(answer: _Answer, first: int, matched: Sequence[int]) -> bool:
    """Whether the content word just before a phrase in its clause is negated by 'not' or
    "n't": "doesn't guarantee exactly once" denies "exactly once".
    """
    clause = answer.words[first].clause
    for position in range(first - 1, -1, -1):
        word = answer.words[position]
        if word.clause != clause:
            return False
        if not word.content or position in matched:
            continue
        return word.negated and bool(word.negator) and word.negator not in ABSENCE_WORDS
    return False


def _exact_hits(phrasing: _Phrasing, answer: _Answer, skip: frozenset[int]) -> list[_Hit]:
    """Sentences with the phrasing's words in order, at most EXACT_GAP other words apart."""
    wanted = phrasing.sequence
    term = phrasing.terms[0] if phrasing.terms else ""
    negated_term = term.startswith("!")
    content_key = term[1:] if negated_term else term
    hits: list[_Hit] = []
    for sentence, items in enumerate(answer.stream):
        for start, item in enumerate(items):
            if item[0] != wanted[0] or item[2] in skip:
                continue
            matched = _ordered_match(items, start, wanted)
            if matched is None:
                continue
            words = [answer.words[items[k][2]] for k in matched if items[k][0] == content_key]
            against = [word for word in words if word.negated != negated_term]
            if against:
                absence = all(word.negator in ABSENCE_WORDS for word in against)
                hits.append(_Hit(sentence, item[2], 0.0, True, True, absence))
            elif _negated_before(answer, item[2], [items[k][2] for k in matched]):
                hits.append(_Hit(sentence, item[2], 0.0, True, True))
            else:
                hits.append(_Hit(sentence, item[2], 1.0, False, True))
    return hits


def _ordered_match(
    items: Sequence[tuple[str, bool, int]], start: int, wanted: Sequence[str]
) -> list[int] | None:
    """The indices of `wanted` found in order from `start`, with short gaps, else None."""
    matched = [start]
    index = start + 1
    for key in wanted[1:]:
        limit = min(len(items), index + EXACT_GAP + 1)
        while index < limit and items[index][0] != key:
            index += 1
        if index >= limit:
            return None
        matched.append(index)
        index += 1
    return matched


def _said_of(answer: _Answer, hit: _Hit, default: str | None) -> str | None:
    """The subject a property found at `hit` is said of. In its clause: the nearest subject
    named before it, else the first named after it, else an object named before it ("copies
    of each primary"). Else, in its sentence: the last subject of the clauses before ("EBS
    persists, and survives a stop"); else the one subject the question names, if any (an
    answer says "read-only templates" of what it was asked about); else a subject of the
    clauses after ("For archives, use Glacier"). Else the first subject of the last sentence
    that named one ("It is ...").
    """
    at = answer.words[hit.position]
    before = after = object_before = object_here = None
    sentence_before = sentence_after = object_after = None
    topic: _Mention | None = None
    topic_sentence = -1
    for mention in answer.mentions:
        if mention.foil:
            continue
        if mention.sentence < at.sentence:
            if mention.contrasted:
                continue
            if mention.sentence != topic_sentence:
                topic, topic_sentence = mention, mention.sentence  # a later sentence's first
            elif topic is not None and topic.object and not mention.object:
                topic = mention  # its first named as a subject, not an object
            continue
        if mention.sentence > at.sentence:
            break
        if mention.clause == at.clause and mention.position <= hit.position:
            if mention.object and mention.leading and before is None:
                before = mention  # "With CDK you write Python": CDK is what it is about
            elif mention.object:
                object_before = mention
            else:
                before = mention
        elif mention.clause == at.clause and not mention.object:
            after = after or mention
        elif mention.clause == at.clause and mention.purpose:
            object_here = object_here or mention  # "headers and query strings for X"
        elif mention.clause == at.clause:
            object_after = object_after or mention
        elif mention.clause < at.clause:
            if sentence_before is None or not mention.object or sentence_before.object:
                sentence_before = mention
        elif not mention.object:
            sentence_after = sentence_after or mention
        else:
            object_after = object_after or mention
    if sentence_after is None and object_after is None:
        # A sentence that names no subject goes on about the last one ("It is ..."), else
        # about what the question asked.
        order: tuple[_Mention | None, ...] = (
            before,
            after,
            object_before,
            object_here,
            sentence_before,
            topic,
        )
        fallback: tuple[_Mention | None, ...] = ()
    else:
        order = (before, after, object_before, object_here, sentence_before)
        fallback = (sentence_after, object_after)
    for chosen in order:
        if chosen is not None:
            return chosen.subject
    if default is not None:
        return default
    for chosen in fallback:
        if chosen is not None:
            return chosen.subject
    return None


def _clause_subject(answer: _Answer, hit: _Hit) -> str | None:
    """The subject named last before `hit` in its clause, if one is named as a subject."""
    at = answer.words[hit.position]
    found = None
    for mention in answer.mentions:
        if mention.position >= hit.position:
            break
        same_clause = mention.sentence == at.sentence and mention.clause == at.clause
        if same_clause and not (mention.foil or mention.object):
            found = mention.subject
    return found


@dataclass(slots=True)
class _Outcome:
    credit: float = 0.0
    contradiction: str | None = None
    swapped: bool = False
    """The contradiction is a property said of the wrong subject."""


def _judge(compiled: _CompiledConcept, rubric: CompiledRubric, answer: _Answer) -> _Outcome:
    outcome = _Outcome()
    concept = compiled.concept
    cautionary = any(word in CAUTION_WORDS for word in concept.name.casefold().split())
    swaps: list[tuple[str, _Phrasing, int]] = []
    denied_in: set[tuple[str | None, int]] = set()
    skip = answer.in_mentions if concept.subject is not None else frozenset()
    keys = answer.keys
    candidates = [
        phrasing
        for phrasing in compiled.phrasings
        if phrasing.needs <= keys
        or (len(phrasing.terms) >= 3 and not phrasing.exact and len(phrasing.needs & keys) >= 2)
    ]
    for phrasing in candidates:
        if outcome.credit >= 1.0:
            break  # full credit: nothing later can take it back (a contradiction would not stand)
        for found in _hits(phrasing, answer, skip):
            hit = found
            if hit.denied and cautionary:  # "don't over-partition": avoid over-partitioning
                hit = found._replace(credit=1.0, denied=False)
            if hit.denied and answer.words[hit.position].conditional:
                continue  # "if it doesn't delete it, ..." says what follows, not that it won't
            if hit.denied and hit.absence and len(phrasing.terms) == 1:
                continue  # "no secrets on laptops" denies no claim about secrets
            if concept.subject is None:
                if hit.denied:
                    said = {opposite(term) for term in phrasing.terms}
                    if not said & rubric.stated_terms and outcome.contradiction is None:
                        outcome.contradiction = f"you said the opposite of “{concept.name}”"
                else:
                    outcome.credit = max(outcome.credit, hit.credit)
                continue
            if not hit.one_clause:
                continue  # "instance store data is lost, but EBS keeps it" keeps no data
            clause = answer.words[hit.position].clause
            subject: str | None
            if phrasing in compiled.self_naming:
                # "warm invocations reuse the environment" says whose property it is, unless
                # its clause names another subject first ("cold starts are warm ...").
                subject = _clause_subject(answer, hit) or concept.subject
            else:
                subject = _said_of(answer, hit, rubric.question_subject)
            if hit.denied:
                denied_in.add((subject, clause))
                if subject == concept.subject and outcome.contradiction is None:
                    outcome.contradiction = f"you denied that {subject}{_joined(concept.name)}"
            elif subject == concept.subject:
                outcome.credit = max(outcome.credit, hit.credit)
            elif subject is None:
                outcome.credit = max(outcome.credit, hit.credit * UNATTRIBUTED_CREDIT)
            elif hit.full:
                swaps.append((subject, phrasing, clause))
    # A clause that also denies the property of that subject ("you don't need one fixed
    # schema") swaps nothing; said of its own subject too, it is a claim that both have it.
    # Otherwise the swap is the contradiction: it says the most ("you said instance store is
    # persistent: it is ephemeral").
    swaps = [swap for swap in swaps if (swap[0], swap[2]) not in denied_in]
    if swaps and outcome.credit < COVERED_CREDIT:
        subject, phrasing, _ = swaps[0]
        outcome.contradiction = _swap_note(rubric, concept, subject, phrasing)
        outcome.swapped = True
    if outcome.credit >= COVERED_CREDIT and outcome.contradiction is not None:
        outcome.contradiction = None  # said both ways ("don't manage servers"): it stands
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


def grade_with_rubric(
    answer: str, rubric: CompiledRubric, known_words: frozenset[str] = frozenset()
) -> Grade:
    """Score 0-100: weighted concept coverage less contradictions, with what was covered.

    A word of `known_words` (the packs' own vocabulary) is taken as written, never as a
    typo of a rubric word: "callback" is no misspelt "fallback".
    """
    read = _read_answer(answer, rubric, known_words)
    covered: list[str] = []
    missed: list[str] = []
    contradicted: list[str] = []
    notes: list[str] = []
    earned = lost = 0.0
    swapped = 0
    required_missed = False
    for compiled in rubric.concepts:
        concept = compiled.concept
        touched = bool(read.words) and not compiled.keys.isdisjoint(read.keys)
        outcome = _judge(compiled, rubric, read) if touched else _Outcome()
        earned += concept.weight * outcome.credit
        if outcome.contradiction is not None:
            lost += CONTRADICTION_COST * concept.weight
            swapped += outcome.swapped
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
        score = min(score, REQUIRED_MISSED_CAP)
    if swapped >= SWAPS_FOR_WRONG or (contradicted and lost >= earned):
        score = min(score, PARTIAL_THRESHOLD - 1)  # more of it is wrong than right
    elif contradicted:
        score = min(score, CONTRADICTED_CAP)  # a correct answer holds no wrong claim
    return Grade(
        score,
        verdict_for(score),
        tuple(covered),
        tuple(missed),
        tuple(contradicted),
        tuple(notes),
    )
