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
    "    criteria: The port's departure log shows the ferry left within 10 minutes of 08:00.\n"
    "    opened: 2025-03-06\n"
    "    written_on: 2025-03-06\n"
    "    rationales:\n"
    "      storm: A storm that has passed leaves the timetable free.\n"
    "      strike: A strike stops the crews, and the ferry with them.\n"
    "      other: Nothing either way.\n"
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


def test_an_older_question_without_the_new_fields_passes_with_one_warning(mini_project, cli):
    path = mini_project / M
    path.write_text(path.read_text() + QUESTION.split("    criteria:")[0])
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: models/mini.yaml:52: questions[0]: question has no criteria, no opened, no "
        "written_on, no rationales: a stranger could not resolve it, or its forecast could not "
        "be placed in time"
    ) in result.stdout
    [question] = load_spec(path).questions
    assert (question.criteria, question.opened, question.rationales) == (None, None, {})


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "strike: 0.2",
            "strike: 0",
            "models/mini.yaml:55: questions[0].judgments: P(yes | h) for strike lies outside "
            "[0.01, 0.99]: a forecast of certainty scores minus infinity when wrong, and its "
            "outcome would rule hypotheses out",
        ),
        (
            "other: 0.5\n    criteria",
            "other: [0.5, 1.0]\n    criteria",
            "models/mini.yaml:55: questions[0].judgments: P(yes | h) for other lies outside "
            "[0.01, 0.99]: a forecast of certainty scores minus infinity when wrong, and its "
            "outcome would rule hypotheses out",
        ),
        (
            "      other: Nothing",
            "      others: Nothing",
            "models/mini.yaml:65: questions[0].rationales.others: unknown hypothesis 'others' "
            "(did you mean 'other'?)",
        ),
        (
            "opened: 2025-03-06",
            "opened: 2025-05-01",
            "models/mini.yaml:60: questions[0].opened: opened 2025-05-01 is after resolve_by "
            "2025-04-01",
        ),
    ],
)
def test_bad_question_fields_are_refused_with_one_located_line(
    mini_project, cli, old, new, message
):
    from conftest import tree_hash

    add_question(mini_project)
    edit(mini_project / M, old, new)
    before = tree_hash(mini_project)
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert tree_hash(mini_project) == before


INDICATOR = (
    "indicators:\n"
    "  - id: crews-vote\n"
    "    text: The ferry crews' union calls a strike vote.\n"
    "    judgments: {strike: very likely, otherwise: 0.1}\n"
    "    rationale: A strike needs a vote first.\n"
)


def test_indicators_are_read_and_share_no_id_with_a_question(mini_project, cli):
    add_question(mini_project)
    path = mini_project / M
    path.write_text(path.read_text() + INDICATOR)
    [indicator] = load_spec(path).indicators
    assert (indicator.id, indicator.theta) == ("crews-vote", (0.1, 0.875, 0.1))
    edit(path, "id: crews-vote", "id: ferry-on-time")
    result = cli("check")
    assert result.exit_code == 2
    assert "indicators[0].id: indicator id 'ferry-on-time' is a question's, at " in result.stderr


# --- forecasts ---------------------------------------------------------------------------------


def test_a_forecast_is_the_posterior_weighted_mean_with_its_judgment_band(mini_project, cli):
    add_question(mini_project)
    edit(
        mini_project / M, "      other: 0.5\n    criteria", "      other: [0.4, 0.6]\n    criteria"
    )
    posterior = exact(mini_project)
    report = Project.open(mini_project).questions()
    [forecast] = report.forecasts
    q = np.array([0.675, 0.2, 0.5])  # likely; 0.2; the range's midpoint
    assert forecast.p_yes == pytest.approx(posterior @ q, abs=1e-12)
    low, high = np.array([0.55, 0.2, 0.4]), np.array([0.80, 0.2, 0.6])  # likely: 55-80 %
    assert forecast.judgment_band == pytest.approx((posterior @ low, posterior @ high), abs=1e-12)
    terms = posterior * (q - posterior @ q)
    assert [h for h, _ in forecast.drivers] == [
        ("storm", "strike", "other")[i] for i in np.argsort(-np.abs(terms))
    ]
    assert dict(forecast.drivers) == pytest.approx(
        dict(zip(("storm", "strike", "other"), terms, strict=True))
    )
    assert forecast.spread is None and not forecast.retrospective
    lo, hi = forecast.evidence_band
    assert lo <= forecast.p_yes <= hi
    out = cli("questions").stdout
    assert "spread from how far the sources are trusted: none: an exact fit has no draws" in out
    assert "computed now with the exact engine" in out


def _toy_with_question(tmp_path):
    from test_robustness import toy_project

    path = toy_project(tmp_path, (0.5, 0.5), ("likely", "unlikely"), ([0.2, 0.5], 0.3))
    path.write_text(
        path.read_text()
        + "questions:\n  - id: q1\n    text: Will it rain?\n    resolve_by: 2025-06-01\n"
        "    judgments: {a: 0.8, b: 0.1}\n"
    )
    return load_spec(path)


def test_the_evidence_band_equals_brute_force_over_every_vertex(tmp_path):
    from forecast.analysis.questions import thetas
    from forecast.analysis.robustness import forecast_ranges
    from test_robustness import _brute_force

    spec = _toy_with_question(tmp_path)
    q = thetas(spec.questions)
    (band,), method = forecast_ranges(spec, q)
    vertices = _brute_force(tmp_path, spec) @ q[0]  # P(yes) at each of 16 refits
    assert method == "exact" and len(vertices) == 16
    assert band == pytest.approx((vertices.min(), vertices.max()), rel=1e-10)


def test_with_tied_cells_and_a_fact_the_evidence_band_holds_every_vertex(mini_project):
    from forecast.analysis.questions import thetas
    from forecast.analysis.robustness import forecast_ranges
    from test_robustness import _brute_force

    add_question(mini_project)
    spec = load_spec(mini_project / M)
    q = thetas(spec.questions)
    (band,), _ = forecast_ranges(spec, q)
    vertices = _brute_force(None, spec) @ q[0]
    assert band[0] <= vertices.min() + 1e-12 and vertices.max() <= band[1] + 1e-12


@pytest.mark.slow
def test_a_fit_publishes_the_forecasts_and_questions_reads_them_back(mini_project, cli):
    import json

    from forecast.analysis.intervals import weighted_hdi
    from forecast.compat import import_arviz

    add_question(mini_project)
    result = cli("fit", "--no-plots", "--draws", "300", "--tune", "300", "--chains", "2")
    assert result.exit_code == 0, result.stderr
    folder = mini_project / "results" / "mini"
    summary = json.loads((folder / "summary.json").read_text())
    [row] = summary["questions"]["questions"]
    means = np.array([h["mean"] for h in summary["hypotheses"]])
    assert row["p_yes"] == pytest.approx(means @ P_YES, abs=1e-12)
    draws = import_arviz().from_netcdf(folder / "posterior.nc").posterior["p_H"].values
    per_draw = draws.reshape(-1, 3) @ P_YES
    expected = weighted_hdi(per_draw, np.ones(len(per_draw)))
    assert (row["spread_low"], row["spread_high"]) == pytest.approx(expected, abs=1e-12)
    assert (folder / "questions.csv").read_text().startswith("question,text,")
    out = cli("questions").stdout
    assert "published in results/mini/" in out
    assert "(94% HDI over the posterior draws)" in out


# --- what to watch next ------------------------------------------------------------------------


def test_information_gain_is_zero_for_an_even_item_and_the_outcome_entropy_for_a_sure_one():
    from forecast.analysis.questions import binary_entropy, information_gain

    rng = np.random.default_rng(7)
    for _ in range(200):
        posterior = rng.dirichlet(np.ones(5))
        even = np.full(5, rng.uniform(0.01, 0.99))
        assert information_gain(posterior, even)[0] == pytest.approx(0.0, abs=1e-12)
        sure = rng.integers(0, 2, 5).astype(float)
        assert information_gain(posterior, sure)[0] == pytest.approx(
            binary_entropy(sure @ posterior), abs=1e-12
        )
        q = rng.uniform(0.01, 0.99, (3, 5))
        entropy = -(posterior * np.log2(posterior)).sum()
        gains = information_gain(posterior, q)
        assert np.all(gains >= -1e-12) and np.all(gains <= min(1.0, entropy) + 1e-12)


def test_the_greedy_order_counts_a_duplicate_once():
    from forecast.analysis.questions import greedy_information, information_gain

    posterior = np.array([0.5, 0.3, 0.2])
    q = np.array([[0.99, 0.01, 0.01], [0.99, 0.01, 0.01], [0.2, 0.9, 0.3]])
    alone = information_gain(posterior, q)
    assert alone[0] == alone[1] > alone[2]  # ranked alone, the twins both lead
    order = greedy_information(posterior, q)
    assert order[0] == (0, pytest.approx(alone[0]))
    assert [k for k, _ in order] == [0, 2, 1]  # the twin adds less than the other item
    assert order[2][1] < order[1][1]
    # Each step's gain is the mutual information given the items before it: the total is
    # I(H; all items), computed here by enumerating the eight outcome combinations.
    joint = np.array(
        [
            posterior * np.prod([np.where(o, q[k], 1 - q[k]) for k, o in enumerate(bits)], axis=0)
            for bits in np.ndindex(2, 2, 2)
        ]
    )
    p_outcomes = joint.sum(axis=1)
    h_outcomes = -(p_outcomes * np.log2(p_outcomes)).sum()
    h_given = -(joint * np.log2(joint / posterior)).sum()
    assert sum(g for _, g in order) == pytest.approx(h_outcomes - h_given, abs=1e-12)


def test_indicators_rank_indicators_and_open_questions(mini_project, cli):
    import json

    from forecast.analysis.questions import information_gain

    add_question(mini_project)
    path = mini_project / M
    path.write_text(path.read_text() + INDICATOR)
    result = cli("indicators", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    posterior = np.array(list(report["posterior"].values()))
    bits = {item["item"]: item["bits"] for item in report["items"]}
    assert bits == pytest.approx(
        {
            "crews-vote": information_gain(posterior, np.array([0.1, 0.875, 0.1]))[0],
            "ferry-on-time": information_gain(posterior, P_YES)[0],
        }
    )
    text = cli("indicators").stdout
    assert "The gain assumes the outcome is observed without error." in text


def test_the_seed_questions_are_complete_and_include_the_texts_predictions():
    import datetime as dt

    from conftest import REPO

    spec = load_spec(REPO / "models" / "azerbaijan-2025.yaml")
    assert not [w for w in spec.warnings if "questions" in str(w) or "indicators" in str(w)]
    retrospective = [
        q
        for q in spec.questions
        if q.opened == dt.date(2025, 7, 5) and q.resolve_by == dt.date(2025, 12, 31)
    ]
    forward = [q for q in spec.questions if q.resolve_by.year == 2027 and q.opened == q.written_on]
    assert len(retrospective) >= 8 and len(forward) >= 4
    assert all(q.written_on > q.opened for q in retrospective)
    for q in spec.questions:
        assert q.criteria and set(q.rationales) == set(spec.hypothesis_ids), q.id
    # The predictions the seed texts make: a leaders' call, a peace deal, the schools, Syunik.
    ids = " ".join(q.id for q in retrospective)
    for topic in ("putin-aliyev", "peace-deal", "russian-schools", "syunik"):
        assert topic in ids, topic
    assert len(spec.indicators) >= 5


def test_check_counts_the_questions_and_indicators_and_gives_the_evidence_cutoff(mini_project, cli):
    add_question(mini_project)
    path = mini_project / M
    path.write_text(path.read_text() + INDICATOR)
    out = cli("check").stdout
    assert (
        "Forecast questions (1): 0 retrospective, 1 forward-looking, 0 resolved (forecast "
        "resolve, or an outcome claim); indicators (1); evidence cutoff unknown (a document is "
        "undated)."
    ) in out
    edit(
        path,
        "    derived_from: harbour-report",
        "    date: 2025-03-04\n    derived_from: harbour-report",
    )
    assert "indicators (1); evidence cutoff 2025-03-04." in cli("check").stdout
