"""Forecast questions and the outcome claims that resolve them: rules, counts and likelihood."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import edit, fix_reliabilities
from forecast import Project
from forecast.model.exact import exact_posterior
from forecast.model.likelihood import evidence_arrays
from forecast.spec.rules import load_spec

M = "models/mini.yaml"
E = "evidence/mini.yaml"

#: P(yes | h) for storm, strike, other ("likely" is 0.675).
P_YES = np.array([0.675, 0.2, 0.5])

QUESTION = (
    "questions:\n"
    "  - id: ferry-on-time\n"
    "    text: Will the ferry leave on time on 1 April 2025?\n"
    "    resolve_by: 2025-04-01\n"
    "    judgments:\n"
    "      storm: likely\n"
    "      strike: 0.2\n"
    "      other: 0.5\n"
)

#: The outcome claim, appended to the mini evidence file: claims[5], from line 67.
OUTCOME = (
    "  - id: ferry-left-on-time\n"
    "    kind: outcome\n"
    "    text: The ferry left on time on 1 April 2025.\n"
    "    date: 2025-04-01\n"
    "    question: ferry-on-time\n"
    "    resolution: yes\n"
)


def add_question(root) -> None:
    path = root / M
    path.write_text(path.read_text() + QUESTION)


def add_outcome(root, text: str = OUTCOME) -> None:
    path = root / E
    path.write_text(path.read_text() + text)


def exact(root) -> np.ndarray:
    return exact_posterior(evidence_arrays(load_spec(root / M))).posterior


def test_question_and_outcome_pass_check_and_are_counted(mini_project, cli):
    add_question(mini_project)
    add_outcome(mini_project)
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "Claims (8): act 5, statement 1, opinion 1, outcome 1" in result.stdout
    assert "Warnings" not in result.stdout


@pytest.mark.parametrize(("written", "read"), [("yes", "yes"), ("'no'", "no"), ("no", "no")])
def test_resolution_is_read_as_the_word_written(mini_project, written, read):
    # YAML 1.1 reads an unquoted yes/no as a boolean.
    add_question(mini_project)
    add_outcome(mini_project, OUTCOME.replace("resolution: yes", f"resolution: {written}"))
    spec = load_spec(mini_project / M)
    (outcome,) = [c for c in spec.claims if c.kind == "outcome"]
    assert outcome.resolution == read
    assert outcome.attestations == ()


ATTESTATION = (
    "    attestations:\n      - id: a-on-time-wire\n        source: wire\n"
    "        document: syndicated\n        quote: the weather was fine all week\n"
)

BAD_OUTCOMES = {
    "attestations_on_an_outcome": (
        OUTCOME + ATTESTATION,
        "evidence/mini.yaml:73: claims[5].attestations: an outcome claim has no attestations\n"
        "evidence/mini.yaml:74: claims[5].attestations[0].id: claim 'ferry-left-on-time' is an "
        "outcome; outcomes have no attestations",
    ),
    "attestation_of_an_outcome_elsewhere": (
        OUTCOME
        + "attestations:\n  - id: a-on-time-wire\n    claim: ferry-left-on-time\n"
        + "    source: wire\n    document: syndicated\n    quote: the weather was fine all week\n",
        "evidence/mini.yaml:74: attestations[0].id: claim 'ferry-left-on-time' is an outcome; "
        "outcomes have no attestations",
    ),
    "judgments_on_an_outcome": (
        OUTCOME + "    judgments:\n      otherwise: 0.5\n",
        "evidence/mini.yaml:73: claims[5].judgments: an outcome takes its judgments from its "
        "question",
    ),
    "outcome_without_a_question": (
        OUTCOME.replace("    question: ferry-on-time\n", ""),
        "evidence/mini.yaml:67: claims[5].question: an outcome claim names the question it "
        "resolves",
    ),
    "outcome_of_an_unknown_question": (
        OUTCOME.replace("question: ferry-on-time", "question: ferry-in-time"),
        "evidence/mini.yaml:71: claims[5].question: unknown question 'ferry-in-time' "
        "(did you mean 'ferry-on-time'?)",
    ),
    "outcome_without_a_resolution": (
        OUTCOME.replace("    resolution: yes\n", ""),
        "evidence/mini.yaml:67: claims[5].resolution: an outcome claim needs 'resolution: yes' "
        "or 'no'",
    ),
    "resolution_neither_yes_nor_no": (
        OUTCOME.replace("resolution: yes", "resolution: perhaps"),
        "evidence/mini.yaml:72: claims[5].resolution: Input should be 'yes' or 'no'",
    ),
    "question_and_resolution_on_an_act": (
        "  - id: ferry-on-time-act\n    kind: act\n    text: The ferry left on time.\n"
        "    question: ferry-on-time\n    resolution: yes\n"
        "    judgments:\n      otherwise: 0.5\n"
        "    attestations:\n      - id: a-on-time-officials\n        source: officials\n"
        "        document: harbour-report\n        quote: two hours late\n",
        "evidence/mini.yaml:70: claims[5].question: only an 'outcome' claim has a question\n"
        "evidence/mini.yaml:71: claims[5].resolution: only an 'outcome' claim has a resolution",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_OUTCOMES))
def test_outcome_rules_give_located_messages(case, mini_project, cli):
    text, expected = BAD_OUTCOMES[case]
    add_question(mini_project)
    add_outcome(mini_project, text)
    result = cli("check")
    assert result.exit_code == 2, result.output
    assert result.stderr.rstrip("\n") == expected
    assert result.stdout == ""


def test_question_judgments_name_known_hypotheses(mini_project, cli):
    add_question(mini_project)
    edit(mini_project / M, "storm: likely", "strom: likely")
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == (
        "models/mini.yaml:55: questions[0].judgments: question has no judgment for storm "
        "(give one, or 'otherwise')\n"
        "models/mini.yaml:56: questions[0].judgments.strom: unknown hypothesis 'strom' "
        "(did you mean 'storm'?)"
    )


@pytest.mark.parametrize(("resolution", "likelihood"), [("yes", P_YES), ("no", 1.0 - P_YES)])
def test_outcome_multiplies_the_posterior_by_its_question_judgments(
    mini_project, resolution, likelihood
):
    fix_reliabilities(mini_project)
    add_question(mini_project)
    before = exact(mini_project)  # an unresolved question changes nothing
    add_outcome(mini_project, OUTCOME.replace("resolution: yes", f"resolution: {resolution}"))
    after = exact(mini_project)
    expected = before * likelihood / np.sum(before * likelihood)
    np.testing.assert_allclose(after, expected, atol=1e-12, rtol=0)


def test_unresolved_question_leaves_the_posterior_alone(mini_project):
    fix_reliabilities(mini_project)
    without = exact(mini_project)
    add_question(mini_project)
    np.testing.assert_array_equal(exact(mini_project), without)


def test_exact_fit_of_a_project_with_an_outcome(mini_project):
    fix_reliabilities(mini_project)
    add_question(mini_project)
    before = Project.open(mini_project).fit(method="exact", publish=False).result.exact
    add_outcome(mini_project)
    after = Project.open(mini_project).fit(method="exact", publish=False).result.exact
    unnormalized = np.exp(before.log_evidence) * np.array([0.5, 0.3, 0.2])
    expected = unnormalized * P_YES / np.sum(unnormalized * P_YES)
    np.testing.assert_allclose(after.posterior, expected, atol=1e-12, rtol=0)
    np.testing.assert_allclose(after.log_evidence - before.log_evidence, np.log(P_YES), atol=1e-12)


def test_outcome_dated_after_the_window_does_not_warn(mini_project, cli):
    edit(
        mini_project / M,
        "background:",
        "window:\n  start: 2025-03-01\n  end: 2025-03-05\nbackground:",
    )
    add_question(mini_project)
    add_outcome(mini_project)  # dated 2025-04-01
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "Warnings" not in result.stdout
    assert "As of: 2025-04-01" in result.stdout
