"""Grading against rubrics: own words earn credit, swapped roles and denials are caught and
said in words, extra detail never costs, and the graded reply explains itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from rich.console import Console

from bot.adapters.console.render import show
from bot.adapters.discord import render as discord_render
from bot.adapters.slack import render as slack_render
from bot.engine import quiz_replies
from bot.engine.catalog import Catalog
from bot.engine.daily import daily_replies
from bot.engine.daily.model import ChannelRef, DailyPost, PostState
from bot.engine.grading import Grader
from bot.engine.grading.grader import key_term
from bot.engine.model import Difficulty, Question, Rubric, Verdict
from content.rubrics import parse_overlay

RUBRICS = """\
ebs:
  subjects:
    EBS: [EBS volume, EBS volumes, elastic block store]
    instance store: [instance storage, instance store volumes]
  concepts:
    - name: persistent
      also: [persists, survives a stop, durable]
      of: EBS
      weight: 2
    - name: can be detached
      also: [detach, reattach, move to another instance]
      of: EBS
    - name: ephemeral
      also: [lost on stop, gone when stopped, temporary, wiped]
      of: instance store
      required: true
    - network-attached = over the network, network storage
    - name: snapshots
      optional: true
sfn:
  subjects:
    Standard: [Standard workflows]
    Express: [Express workflows]
  concepts:
    - name: up to a year
      also: [one year, 365 days]
      of: Standard
    - name: exactly once
      of: Standard
    - name: up to five minutes
      also: [5 minutes]
      of: Express
    - name: at least once
      of: Express
patterns:
  subjects:
    run a job: [.sync]
    callback: [wait for a callback, task token]
  concepts:
    - name: waits for the job to finish
      also: [waits until it completes]
      of: run a job
    - name: pauses until resumed
      also: [resumed by SendTaskSuccess, pauses]
      of: callback
starts:
  subjects:
    cold start: [cold starts]
    warm start: [warm starts]
  concepts:
    - name: builds a new environment
      also: [new execution environment]
      of: cold start
    - name: reuses a warm environment
      also: [warm invocations reuse the environment]
      of: warm start
encryption:
  concepts:
    - name: encrypted at rest
      also: [encryption at rest, KMS key]
      weight: 2
    - name: TLS in transit
      also: [encrypted in transit, HTTPS]
    - name: avoid plaintext secrets
      also: [plaintext secrets, secrets in environment variables]
"""
RUBRIC_OF = {entry.question_id: entry.rubric for entry in parse_overlay(RUBRICS, "test.yaml")}


@pytest.fixture(scope="module")
def grader() -> Grader:
    return Grader()


def grade(grader: Grader, rubric: str, answer: str, question: str = "") -> tuple[int, Verdict]:
    result = grader.grade(answer, "", question=question, rubric=RUBRIC_OF[rubric])
    return result.score, result.verdict


# -- credit for your own words ----------------------------------------------------------------


def test_a_strong_answer_in_other_words_is_correct(grader: Grader) -> None:
    answer = (
        "EBS volumes are network storage that survive a stop and that you can move to another "
        "instance. Instance storage is the host's own disk, so it's gone when you stop the box."
    )
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert result.verdict is Verdict.CORRECT
    assert result.covered == (
        "EBS: persistent",
        "EBS: can be detached",
        "instance store: ephemeral",
        "network-attached",
    )
    assert result.missed == ()
    assert result.contradictions == ()


def test_correct_extra_detail_never_lowers_the_score(grader: Grader) -> None:
    core = "EBS persists and can be detached; instance store is lost on stop."
    padded = (
        core + " EBS also has gp3 and io2 volume types, encryption with KMS, Multi-Attach for "
        "io2, and you pay per provisioned GB; instance store comes free with the instance "
        "type and is the fastest local NVMe disk you can get for caches and scratch space."
    )
    assert grade(grader, "ebs", padded)[0] >= grade(grader, "ebs", core)[0]


def test_numbers_in_words_and_hyphenated_words_match(grader: Grader) -> None:
    answer = (
        "Standard runs for up to one year, exactly-once. Express: up to five minutes, "
        "at-least-once."
    )
    assert grade(grader, "sfn", answer) == (100, Verdict.CORRECT)


def test_exactly_once_and_at_least_once_are_told_apart(grader: Grader) -> None:
    swapped = "Standard is at least once and Express is exactly once."
    result = grader.grade(swapped, "", rubric=RUBRIC_OF["sfn"])

    assert result.score <= 34
    assert "you said Standard is at least once: that is Express" in result.contradictions


def test_an_optional_concept_adds_and_is_never_missed(grader: Grader) -> None:
    base = "EBS persists and can be detached; instance store is lost on stop."
    result = grader.grade(base, "", rubric=RUBRIC_OF["ebs"])

    assert "snapshots" not in result.missed
    with_bonus = grader.grade(base + " EBS snapshots go to S3.", "", rubric=RUBRIC_OF["ebs"])
    assert with_bonus.score >= result.score
    assert "snapshots" in with_bonus.covered


def test_a_missed_required_concept_keeps_an_answer_from_correct(grader: Grader) -> None:
    answer = "EBS is durable network storage that you can detach and reattach."
    score, verdict = grade(grader, "ebs", answer)

    assert verdict is not Verdict.CORRECT
    assert score > 0


def test_a_typo_in_a_long_word_still_matches(grader: Grader) -> None:
    right = "Data is encrypted at rest with a KMS key and TLS in transit."
    typo = "Data is encrytped at rest with a KMS key and TLS in transit."
    assert grade(grader, "encryption", typo) == grade(grader, "encryption", right)


def test_a_word_the_packs_write_is_no_typo_of_a_rubric_word() -> None:
    [entry] = parse_overlay(
        "q:\n  concepts:\n    - name: routes to a fallback state\n      also: [fallback]\n",
        "t.yaml",
    )
    callback = "It waits for a callback with a task token."
    typo = "It goes to a falback state."

    plain, knowing = Grader(), Grader(["callback", "fallback"])

    assert plain.grade(callback, "", rubric=entry.rubric).score == 100  # read as a typo
    assert knowing.grade(callback, "", rubric=entry.rubric).score == 0
    assert knowing.grade(typo, "", rubric=entry.rubric).score == 100  # a real typo still is


# -- swapped roles and denials ----------------------------------------------------------------


def test_swapped_roles_score_low_and_say_what_is_wrong(grader: Grader) -> None:
    swapped = "Instance store is persistent and can be detached; EBS is ephemeral."
    result = grader.grade(swapped, "", rubric=RUBRIC_OF["ebs"])

    assert result.score <= 34
    assert result.verdict is Verdict.INCORRECT
    assert result.covered == ()
    assert "you said instance store is persistent: it is ephemeral" in result.contradictions
    assert "you said instance store can be detached: that is EBS" in result.contradictions
    assert set(result.negation_conflicts) >= {"EBS: persistent", "EBS: can be detached"}


@pytest.mark.parametrize(
    "answer",
    [
        "Unlike instance store, EBS is persistent. Instance store is lost on stop.",
        "EBS, unlike instance store, is persistent. Instance store is lost on stop.",
        "EBS is persistent, unlike instance store, which is lost on stop.",
        "EBS is persistent. It can be detached too. Instance store is temporary.",
        "Persistent storage is what EBS gives you, while instance store is lost on stop.",
    ],
)
def test_a_property_goes_to_the_subject_the_sentence_says_it_of(
    grader: Grader, answer: str
) -> None:
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert "EBS: persistent" in result.covered
    assert "instance store: ephemeral" in result.covered
    assert result.contradictions == ()


def test_a_property_said_before_its_subject_goes_to_it(grader: Grader) -> None:
    answer = "For data that must survive a stop, use EBS; for scratch space that is wiped, "
    answer += "instance store."
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert {"EBS: persistent", "instance store: ephemeral"} <= set(result.covered)
    assert result.contradictions == ()


def test_the_subject_the_question_names_is_the_implied_one(grader: Grader) -> None:
    answer = "Lost on stop, so only for caches. EBS volumes are the durable ones."
    asked = grader.grade(answer, "", question="What is instance store?", rubric=RUBRIC_OF["ebs"])
    unasked = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert "instance store: ephemeral" in asked.covered
    assert asked.contradictions == ()
    assert asked.score > unasked.score  # said of no subject at all, it earns half


def test_a_subject_named_in_parentheses_is_an_aside(grader: Grader) -> None:
    answer = "EBS volumes persist. Instance store is the host's own disk: whatever uses it "
    answer += "(an app, a cache or an EBS volume) gets data that is wiped on stop."
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert {"EBS: persistent", "instance store: ephemeral"} <= set(result.covered)
    assert result.contradictions == ()


def test_a_subject_word_used_as_a_verb_names_no_subject(grader: Grader) -> None:
    overlay = """\
retry:
  subjects:
    Retry: [retrier]
    Catch: [catcher]
  concepts:
    - name: reruns with backoff
      also: [retries with backoff, backoff]
      of: Retry
    - name: routes to a fallback state
      also: [fallback state]
      of: Catch
"""
    [entry] = parse_overlay(overlay, "retry.yaml")
    swapped = "Catch is what retries with backoff. Retry routes to a fallback state."
    verb_after_name = "Catch retries with backoff, and Retry goes to a fallback state."
    right = "Retry retries with backoff; Catch is what catches and goes to a fallback state."

    for answer in (swapped, verb_after_name):
        result = grader.grade(answer, "", rubric=entry.rubric)
        assert result.verdict is Verdict.INCORRECT, answer
        assert "you said Catch is reruns with backoff: that is Retry" in result.contradictions
    assert grader.grade(right, "", rubric=entry.rubric).score == 100


def test_a_property_said_for_a_subject_goes_to_it(grader: Grader) -> None:
    answer = "Use network storage that survives a stop for EBS volumes, or scratch space that "
    answer += "is wiped for instance storage."
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert {"EBS: persistent", "instance store: ephemeral"} <= set(result.covered)
    assert result.contradictions == ()


@pytest.mark.parametrize(
    "answer",
    [
        "Instance store is lost on stop and EBS persists.",
        "Instance store is lost on stop; EBS persists.",
        "It is a network disk you attach to one box or another, and EBS persists; "
        "instance store is lost on stop.",
        "With EBS volumes the data survives a stop and instance store is wiped.",
    ],
)
def test_a_conjunction_or_a_clause_break_starts_a_new_subject(grader: Grader, answer: str) -> None:
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert {"EBS: persistent", "instance store: ephemeral"} <= set(result.covered)
    assert result.contradictions == ()


def test_a_denial_inside_a_condition_is_no_claim(grader: Grader) -> None:
    conditional = "If the volume is not persistent, it is instance store; EBS persists."
    claimed = "The EBS volume is not persistent, and instance store is lost on stop."

    assert grader.grade(conditional, "", rubric=RUBRIC_OF["ebs"]).contradictions == ()
    assert grader.grade(claimed, "", rubric=RUBRIC_OF["ebs"]).contradictions != ()


def test_a_sentence_without_a_subject_is_about_the_last_one_named(grader: Grader) -> None:
    answer = "Instance store is the host's disk, unlike EBS. It is lost on stop. EBS persists."
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert {"EBS: persistent", "instance store: ephemeral"} <= set(result.covered)
    assert result.contradictions == ()


def test_a_subject_named_after_is_is_what_the_clause_subject_is(grader: Grader) -> None:
    # "EBS is an instance store ...": the copula's complement names what EBS is like (wrongly
    # here, but it is no new subject), so what follows is still said of EBS.
    answer = "EBS is a network disk, not an instance store: it persists and you can detach it."
    result = grader.grade(answer, "", rubric=RUBRIC_OF["ebs"])

    assert {"EBS: persistent", "EBS: can be detached"} <= set(result.covered)
    assert result.contradictions == ()

    defined = "An EBS volume is the instance store made durable: it survives a stop."
    assert "EBS: persistent" in grader.grade(defined, "", rubric=RUBRIC_OF["ebs"]).covered


def test_a_subject_name_with_small_words_and_a_denied_subject(grader: Grader) -> None:
    right = grader.grade(
        "With run a job, Step Functions waits for the job to finish. It is not a callback, "
        "which pauses until SendTaskSuccess resumes it.",
        "",
        rubric=RUBRIC_OF["patterns"],
    )
    swapped = grader.grade(
        "Run a job pauses until resumed; the callback waits for the job to finish.",
        "",
        rubric=RUBRIC_OF["patterns"],
    )

    assert right.verdict is Verdict.CORRECT
    assert right.contradictions == ()
    assert swapped.score <= 34


def test_a_phrasing_that_names_its_own_subject_needs_no_attribution(grader: Grader) -> None:
    result = grader.grade(
        "A cold start builds a new environment. Warm invocations reuse the environment.",
        "",
        rubric=RUBRIC_OF["starts"],
    )

    assert result.covered == (
        "cold start: builds a new environment",
        "warm start: reuses a warm environment",
    )
    assert result.contradictions == ()


def test_denying_a_property_of_its_own_subject_is_a_contradiction(grader: Grader) -> None:
    result = grader.grade(
        "EBS persists. Instance store is not temporary.", "", rubric=RUBRIC_OF["ebs"]
    )

    assert "you denied that instance store is ephemeral" in result.contradictions
    assert result.verdict is not Verdict.CORRECT


def test_a_negated_or_opposite_concept_is_named(grader: Grader) -> None:
    result = grader.grade(
        "The data is not encrypted at rest, only over HTTPS.", "", rubric=RUBRIC_OF["encryption"]
    )

    assert result.contradictions == ("you said the opposite of “encrypted at rest”",)
    assert "encrypted at rest" in result.negation_conflicts
    assert result.score <= 34


def test_a_verb_negated_before_a_phrase_denies_it(grader: Grader) -> None:
    result = grader.grade(
        "Standard runs up to a year. Express doesn't guarantee exactly once; it runs up to "
        "five minutes, at least once.",
        "",
        rubric=RUBRIC_OF["sfn"],
    )

    assert result.contradictions == ()
    assert result.verdict is Verdict.CORRECT


def test_a_caution_said_negatively_is_stated_not_denied(grader: Grader) -> None:
    result = grader.grade(
        "Encrypt at rest with a KMS key, use HTTPS, and don't put plaintext secrets anywhere.",
        "",
        rubric=RUBRIC_OF["encryption"],
    )

    assert "avoid plaintext secrets" in result.covered
    assert result.contradictions == ()


def test_saying_a_thing_is_absent_denies_no_claim_about_it(grader: Grader) -> None:
    result = grader.grade(
        "Encryption at rest with KMS and TLS in transit; no secrets in environment variables.",
        "",
        rubric=RUBRIC_OF["encryption"],
    )

    assert result.contradictions == ()
    assert result.verdict is Verdict.CORRECT


def test_repeating_the_question_earns_nothing(grader: Grader) -> None:
    rubric = Rubric(
        parse_overlay("q:\n  concepts: [versioning, keeps old versions]\n", "t")[0].rubric.concepts
    )
    echo = grader.grade(
        "Versioning is about versioning.", "", question="What is versioning?", rubric=rubric
    )
    real = grader.grade(
        "It keeps the old versions.", "", question="What is versioning?", rubric=rubric
    )

    assert echo.score < real.score


@pytest.mark.parametrize("answer", ["", "   ", "?!", "😀😀", "@everyone <!channel>"])
def test_an_empty_or_wordless_answer_scores_zero(grader: Grader, answer: str) -> None:
    assert grade(grader, "ebs", answer) == (0, Verdict.INCORRECT)


# -- hints ------------------------------------------------------------------------------------


def test_rubric_hints_name_one_concept_most_important_first(grader: Grader) -> None:
    hints = grader.hints("", rubric=RUBRIC_OF["ebs"])

    assert hints[0] == "instance store: ephemeral"  # the required one
    assert hints[1] == "EBS: persistent"  # then by weight
    assert "snapshots" not in hints


def test_reference_hints_are_key_terms_never_the_whole_reference(grader: Grader) -> None:
    reference = "Logical grouping of tasks or services."
    hints = grader.hints(reference)

    assert hints
    assert all(reference.rstrip(".") != hint for hint in hints)
    assert key_term("different instance types") == "instance"
    assert key_term("X-Ray tracing") == "tracing"


def test_reference_concepts_are_readable_phrases(grader: Grader) -> None:
    concepts = grader.concepts(
        "Use IAM roles with least privilege, X-Ray tracing and on-demand capacity for Node.js."
    )
    assert concepts == (
        "IAM roles",
        "least privilege",
        "X-Ray tracing",
        "on-demand capacity",
        "Node.js",
    )


# -- the examples through the shipped pack --------------------------------------------


def shipped(
    catalog: Catalog, question_id: str, answer: str
) -> tuple[int, Verdict, tuple[str, ...]]:
    item = catalog.question(question_id)
    result = Grader().grade(answer, item.reference, question=item.prompt, rubric=item.rubric)
    return result.score, result.verdict, result.contradictions


def test_the_shipped_pack_credits_own_words_and_catches_swaps(shipped_catalog: Catalog) -> None:
    ebs = "ec2/what-are-the-differences-between-ebs-and-instance-store-volumes"
    sfn = "step-functions/what-is-the-difference-between-standard-and-express-workflows"

    swapped = shipped(
        shipped_catalog, ebs, "Instance store is persistent and can be detached; EBS is ephemeral."
    )
    own_words = shipped(
        shipped_catalog,
        sfn,
        "Standard: up to a year, exactly-once, full "
        "history; Express: up to 5 minutes, at-least-once, billed per request.",
    )

    assert swapped[0] <= 34
    assert swapped[2]
    assert own_words[1] is Verdict.CORRECT
    assert own_words[2] == ()


# -- the graded reply -------------------------------------------------------------------------


ITEM = Question(
    id="ec2/ebs",
    topic_id="ec2",
    prompt="How does EBS differ from instance store?",
    reference="EBS persists; instance store is lost on stop.",
    difficulty=Difficulty.INTERVIEW,
    rubric=RUBRIC_OF["ebs"],
    explanation="EBS lives on the network; instance store is the host's own disk.",
    docs="https://docs.aws.amazon.com/ebs/latest/userguide/what-is-ebs.html",
)


def fields_of(reply: object) -> dict[str, str]:
    return {field.name: field.value for field in getattr(reply, "fields", ())}


def test_the_graded_reply_says_what_is_wrong_then_the_reference_why_and_docs() -> None:
    grade_result = Grader().grade(
        "Instance store is persistent; EBS is ephemeral.", ITEM.reference, rubric=ITEM.rubric
    )
    reply = quiz_replies.graded(ITEM, grade_result)
    shown = fields_of(reply)

    assert shown["Wrong"].startswith("you said instance store is persistent")
    assert shown[quiz_replies.REFERENCE_FIELD] == ITEM.reference
    assert shown[quiz_replies.EXPLANATION_FIELD] == ITEM.explanation
    assert shown[quiz_replies.DOCS_FIELD] == ITEM.docs
    assert list(shown).index("Wrong") < list(shown).index(quiz_replies.REFERENCE_FIELD)


def test_a_question_without_explanation_or_docs_shows_only_the_reference() -> None:
    plain = replace(ITEM, explanation="", docs="")
    reply = quiz_replies.skipped(plain)

    assert list(fields_of(reply)) == [quiz_replies.REFERENCE_FIELD]


def test_a_daily_grade_keeps_the_answer_key_for_the_reveal() -> None:
    at = datetime(2026, 12, 3, 9, tzinfo=UTC)
    post = DailyPost(
        1, ChannelRef("slack", "T1", "C1"), at.date(), ITEM.id, PostState.POSTED, at, None, at
    )
    graded = quiz_replies.graded(ITEM, Grader().grade("EBS persists.", "", rubric=ITEM.rubric))
    private = daily_replies.graded(ITEM, graded, post, "UTC", 1)
    reveal = daily_replies.reveal(ITEM, ("EBS: persistent",), ())

    assert {f.name for f in graded.fields} >= quiz_replies.ANSWER_KEY_FIELDS
    assert not {f.name for f in private.fields} & quiz_replies.ANSWER_KEY_FIELDS
    assert {f.name for f in reveal.fields} >= quiz_replies.ANSWER_KEY_FIELDS


def test_every_surface_shows_what_was_wrong_the_explanation_and_the_docs_link() -> None:
    reply = quiz_replies.graded(
        ITEM,
        Grader().grade("Instance store is persistent; EBS is ephemeral.", "", rubric=ITEM.rubric),
    )
    slack_text = str(slack_render.blocks_payload(reply))
    embed = discord_render.embed(reply)
    discord_text = " ".join(f"{field.name} {field.value}" for field in embed.fields)
    console = Console(record=True, width=200)
    show(console, reply)
    console_text = console.export_text()

    for shown in (slack_text, discord_text, console_text):
        assert "you said instance store is persistent" in shown
        assert ITEM.explanation in shown
        assert ITEM.docs in shown
