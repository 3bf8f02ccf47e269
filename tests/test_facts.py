"""Shared facts: several claims that are signs of one state of the world count it once."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import special

from conftest import edit, fix_reliabilities, tree_hash
from forecast.model.exact import exact_posterior
from forecast.model.likelihood import claim_log_likelihood, evidence_arrays
from forecast.spec.rules import load_spec

M = "models/mini.yaml"
F = "evidence/harbour.yaml"
PHI = "      storm: likely\n      otherwise: unlikely\n"


def spec(root):
    return load_spec(root / M)


def posterior(root):
    return exact_posterior(evidence_arrays(spec(root))).posterior


def drop_departures(root):
    """Leave the fact with one claim, customs-closed."""
    text = (root / F).read_text()
    (root / F).write_text(text[: text.index("  - id: departures-held")])


def test_a_fact_with_one_claim_is_the_plain_claim_with_the_theta_it_implies(mini_project):
    fix_reliabilities(mini_project)
    drop_departures(mini_project)
    with_fact = posterior(mini_project)
    # The same claim without the fact: theta_h = phi_h * 0.8 + (1 - phi_h) * 0.2.
    text = (mini_project / F).read_text()
    text = text[: text.index("facts:")] + "claims:" + text.split("claims:", 1)[1]
    theta = {
        h: p * 0.8 + (1 - p) * 0.2
        for h, p in (("storm", 0.675), ("strike", 0.325), ("other", 0.325))
    }
    text = text.replace(
        "    fact: harbour-shut\n    judgments:\n      if_true: 0.8\n      if_false: 0.2\n",
        "    judgments:\n" + "".join(f"      {h}: {v!r}\n" for h, v in theta.items()),
    )
    (mini_project / F).write_text(text)
    np.testing.assert_allclose(posterior(mini_project), with_fact, rtol=1e-12)


def test_a_claim_that_does_not_depend_on_the_fact_changes_nothing(mini_project):
    fix_reliabilities(mini_project)
    before = posterior(mini_project)
    edit(mini_project / F, "      if_true: very likely\n      if_false: [0.2, 0.4]\n",
         "      if_true: 0.6\n      if_false: 0.6\n")  # fmt: skip
    without_departures = mini_project / "b"
    import shutil

    shutil.copytree(mini_project, without_departures, ignore=shutil.ignore_patterns("b"))
    drop_departures(without_departures)
    np.testing.assert_allclose(posterior(mini_project), posterior(without_departures), rtol=1e-12)
    assert np.max(np.abs(posterior(mini_project) - before)) > 1e-3  # control: it did before


def test_the_fact_term_is_the_formula_computed_by_hand(mini_project):
    fix_reliabilities(mini_project)
    arrays = evidence_arrays(spec(mini_project))
    terms = claim_log_likelihood(arrays)
    rows = {unit: i for i, unit in enumerate(arrays.unit_ids)}

    # customs-closed: correspondent r 0.6, rate 0.2; departures-held: port-authority r 0.55.
    def signs(r, a):
        return r + (1 - r) * a, (1 - r) * a

    a1, b1 = signs(0.6, 0.2)
    a2, b2 = signs(0.55, 0.2)
    for h, phi in (("storm", 0.675), ("strike", 0.325), ("other", 0.325)):
        holds = phi * (0.8 * a1 + 0.2 * b1) * (0.875 * a2 + 0.125 * b2)
        fails = (1 - phi) * (0.2 * a1 + 0.8 * b1) * (0.3 * a2 + 0.7 * b2)
        h_index = arrays.hypothesis_ids.index(h)
        assert terms[rows["harbour-shut"], h_index] == pytest.approx(
            math.log(holds + fails), rel=1e-12
        )
        assert terms[rows["customs-closed"], h_index] == 0.0
        assert terms[rows["departures-held"], h_index] == 0.0


@pytest.mark.parametrize(
    ("phi", "p1", "p0"), [(0.0, 0.8, 0.2), (1.0, 0.8, 0.2), (0.5, 1.0, 0.0), (1.0, 0.0, 1.0)]
)
def test_certain_or_impossible_values_stay_finite(mini_project, phi, p1, p0):
    fix_reliabilities(mini_project)
    edit(mini_project / F, PHI, f"      otherwise: {phi}\n")
    edit(
        mini_project / F,
        "      if_true: 0.8\n      if_false: 0.2\n",
        f"      if_true: {p1}\n      if_false: {p0}\n",
    )
    result = exact_posterior(evidence_arrays(spec(mini_project)))
    assert np.all(np.isfinite(result.posterior)) and result.posterior.sum() == pytest.approx(1.0)


def test_the_likelihood_ratio_of_a_fact_is_bounded_by_its_phi_ratios(mini_project):
    """At fixed reliabilities, however many claims a fact has."""
    fix_reliabilities(mini_project)
    arrays = evidence_arrays(spec(mini_project))
    row = arrays.unit_ids.index("harbour-shut")
    terms = claim_log_likelihood(arrays)[row]
    phi = np.array([0.675, 0.325, 0.325])
    for g, h in itertools.permutations(range(3), 2):
        ratio = math.exp(terms[h] - terms[g])
        bounds = sorted((phi[h] / phi[g], (1 - phi[h]) / (1 - phi[g])))
        assert bounds[0] - 1e-12 <= ratio <= bounds[1] + 1e-12


def test_quadrature_equals_brute_force_integration_for_a_fact_across_two_sources(mini_project):
    """The fact joins two sampled reliabilities (correspondent, port-authority) in one component."""
    arrays = evidence_arrays(spec(mini_project))
    exact = exact_posterior(arrays)
    fact_sources = {"correspondent", "port-authority"}
    component = next(c for c in exact.components if fact_sources <= set(c.sources))
    assert component.method == "quadrature"
    # Brute force: a fine tensor grid over every sampled reliability, by midpoints of the
    # Beta quantiles (no polynomial exactness used), against the same likelihood.
    from scipy import stats

    n = 120
    u = (np.arange(n) + 0.5) / n
    axes = [stats.beta(a, b).ppf(u) for a, b in zip(arrays.alpha, arrays.beta, strict=True)]
    log_z = np.zeros(len(arrays.hypothesis_ids))
    # The components are independent given h: integrate each over its own reliabilities.
    from forecast.model.exact import components
    from forecast.model.likelihood import hypothesis_log_likelihood, subset

    for mask, members in components(arrays):
        if not mask.any():
            continue
        part = subset(arrays, mask, members)
        if len(members) == 0:
            log_z += claim_log_likelihood(part).sum(0)
            continue
        grid = np.stack(np.meshgrid(*[axes[m] for m in members], indexing="ij"), -1)
        grid = grid.reshape(-1, len(members))
        log_z += special.logsumexp(hypothesis_log_likelihood(part, grid), axis=0) - math.log(
            len(grid)
        )
    brute = np.exp(arrays.log_prior + log_z - special.logsumexp(arrays.log_prior + log_z))
    np.testing.assert_allclose(exact.posterior, brute, atol=2e-4)


def test_contradicts_compares_the_theta_a_fact_claim_implies(mini_project, cli):
    edit(
        mini_project / F,
        "      if_true: 0.8\n      if_false: 0.2\n",
        "      if_true: 1\n      if_false: 0.9\n",
    )
    text = (mini_project / F).read_text()
    (mini_project / F).write_text(
        text.replace(
            "    fact: harbour-shut\n",
            "    fact: harbour-shut\n    contradicts: [departures-held]\n",
            1,
        )
    )
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == (
        "evidence/harbour.yaml:17: claims[0].contradicts[0]: judgments of 'customs-closed' and "
        "'departures-held' sum above 1 for storm, strike, other"
    )


def test_fact_fields_change_the_spec_hash(mini_project):
    base = spec(mini_project).sha256
    for old, new in [
        ("      storm: likely\n", "      storm: very likely\n"),
        ("      if_true: 0.8\n", "      if_true: 0.7\n"),
        ("      if_false: [0.2, 0.4]\n", "      if_false: [0.2, 0.5]\n"),
    ]:
        edit(mini_project / F, old, new)
        changed = spec(mini_project).sha256
        assert changed != base
        base = changed


REFUSED = {
    "unknown_fact": (
        [("    fact: harbour-shut\n", "    fact: harbor-shut\n")],
        "evidence/harbour.yaml:16: claims[0].fact: unknown fact 'harbor-shut' (did you mean "
        "'harbour-shut'?)",
    ),
    "fact_without_claims": (
        [
            ("    fact: harbour-shut\n", ""),
            ("    fact: harbour-shut\n", ""),
            ("      if_true: 0.8\n      if_false: 0.2\n", "      otherwise: 0.5\n"),
            ("      if_true: very likely\n      if_false: [0.2, 0.4]\n", "      otherwise: 0.5\n"),
        ],
        "evidence/harbour.yaml:6: facts[0].id: fact 'harbour-shut' has no claims (name it with "
        "'fact:')",
    ),
    "per_hypothesis_judgments_in_a_fact": (
        [("      if_true: 0.8\n      if_false: 0.2\n", "      storm: 0.8\n      otherwise: 0.2\n")],
        "evidence/harbour.yaml:17: claims[0].judgments: a claim in a fact needs 'if_true' and "
        "'if_false' (missing: if_true, if_false)\n"
        "evidence/harbour.yaml:18: claims[0].judgments.storm: a claim in a fact gives 'if_true' "
        "and 'if_false', not judgments per hypothesis",
    ),
    "missing_if_false": (
        [("      if_true: 0.8\n      if_false: 0.2\n", "      if_true: 0.8\n")],
        "evidence/harbour.yaml:17: claims[0].judgments: a claim in a fact needs 'if_true' and "
        "'if_false' (missing: if_false)",
    ),
    "opinion_in_a_fact": (
        [
            (
                "  - id: customs-closed\n    kind: act\n",
                "  - id: customs-closed\n    kind: opinion\n",
            )
        ],
        "evidence/harbour.yaml:16: claims[0].fact: an opinion claim cannot be a sign of a fact "
        "(only acts and statements)",
    ),
    "if_true_without_a_fact": (
        [("    fact: harbour-shut\n", "")],
        "evidence/harbour.yaml:17: claims[0].judgments.if_true: 'if_true' is only for a claim in "
        "a fact (name it with 'fact:')",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_facts_are_one_located_line(mini_project, cli, case):
    edits, expected = REFUSED[case]
    for old, new in edits:
        edit(mini_project / F, old, new)
    before = tree_hash(mini_project)
    result = cli("check")
    assert result.exit_code == 2, result.output
    assert result.stderr.rstrip("\n") == expected
    assert tree_hash(mini_project) == before


def test_claims_csv_has_a_fact_column_and_a_row_per_fact(mini_project, cli):
    import pandas as pd

    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    table = pd.read_csv(mini_project / "results/mini/claims.csv", index_col="claim")
    assert table.loc["harbour-shut", "kind"] == "fact"
    assert table.loc["harbour-shut", "witnesses"] == 2
    assert table.loc["customs-closed", "fact"] == "harbour-shut"
    assert table.loc["harbour-shut", "lbf_storm"] > table.loc["customs-closed", "lbf_storm"] > 0


def test_a_new_claim_in_a_fact_moves_the_update_by_the_change_in_the_facts_term(exact_project):
    from forecast import Project
    from forecast.analysis.influence import log_bayes_factors

    fact_claim = (
        "model: mini\njudged_by: B\njudged_on: 2025-03-06\nclaims:\n"
        "  - id: quay-empty\n    kind: act\n    text: The quay was empty at dawn.\n"
        "    fact: harbour-shut\n    judgments: {if_true: 0.9, if_false: 0.4}\n"
        "    attestations:\n      - id: a-quay-dockers\n        source: dockers\n"
        "        document: harbour-report\n        quote: left the harbour at dawn\n"
    )
    (exact_project / "incoming" / "quay.yaml").write_text(fact_claim)
    project = Project.open(exact_project)
    before = evidence_arrays(spec(exact_project))
    report = project.update("incoming/quay.yaml", dry_run=True, plots=False)
    after = report.result.arrays
    row = report.movers().loc["quay-empty"]
    assert row["status"] == "new claim in fact harbour-shut"

    def fact_term(arrays):
        return claim_log_likelihood(arrays)[arrays.unit_ids.index("harbour-shut")]

    # The change in the fact's term, against the alternatives weighted by P(h) before.
    weights = np.log([report.before[h]["mean"] for h in after.hypothesis_ids])
    change = fact_term(after) - fact_term(before)
    expected = log_bayes_factors(change[None, :], weights)[0]
    for h, value in zip(after.hypothesis_ids, expected, strict=True):
        assert row[h] == pytest.approx(value, rel=1e-10, abs=1e-12)
