"""The model: invariants that make a witness count once, the cab problem, NUTS against exact."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FIXTURES, drop_claim, edit, fix_reliabilities, make_judgments_uniform
from forecast.constants import AGREEMENT_FLOOR
from forecast.model.exact import exact_posterior
from forecast.model.likelihood import evidence_arrays
from forecast.model.sample import FitOptions, fit
from forecast.spec.rules import load_spec

QUICK = FitOptions(draws=300, tune=300, chains=2, cores=1, seed=11)


def posterior(root, name):
    return exact_posterior(evidence_arrays(load_spec(root / "models" / f"{name}.yaml")))


def assert_agrees(result, tolerance_floor=AGREEMENT_FLOOR):
    """NUTS posterior means within 3 combined standard errors (or the floor) of exact."""
    assert result.agreement is not None
    assert result.agreement.within, (result.agreement.difference, result.agreement.tolerance)


# --- the cab problem ---------------------------------------------------------------------


def test_cab_problem_exact_gives_textbook_answer():
    result = posterior(FIXTURES / "cab", "cab")
    assert result.posterior[0] == pytest.approx(0.12 / 0.29, abs=1e-12)
    assert result.posterior[0] == pytest.approx(0.414, abs=5e-4)


@pytest.mark.slow
def test_cab_problem_nuts_gives_textbook_answer():
    spec = load_spec(FIXTURES / "cab" / "models" / "cab.yaml")
    result = fit(spec, FitOptions(draws=2000, tune=500, chains=2, cores=1, seed=3))
    from forecast.compat import import_arviz

    mean = result.idata.posterior["p_H"].mean(("chain", "draw")).values[0]
    mcse = import_arviz().mcse(result.idata, var_names=["p_H"])["p_H"].values[0]
    assert result.diagnostics.divergences == 0
    assert_agrees(result)
    # A Monte Carlo estimate: within 3 of its standard errors of 0.12 / 0.29 = 0.4138.
    assert mcse < 0.005
    assert abs(mean - 0.12 / 0.29) < 3 * mcse


# --- invariants in the exact engine (reliabilities fixed: closed form, 1e-12) -----------


def test_claims_uniform_over_hypotheses_leave_the_prior(mini_project):
    fix_reliabilities(mini_project)
    make_judgments_uniform(mini_project)
    result = posterior(mini_project, "mini")
    assert result.components[0].method == "closed form"
    np.testing.assert_allclose(result.posterior, [0.5, 0.3, 0.2], atol=1e-12, rtol=0)


def test_new_claim_favouring_a_hypothesis_raises_it(mini_project):
    fix_reliabilities(mini_project)
    before = posterior(mini_project, "mini").posterior
    edit(
        mini_project / "evidence/mini.yaml",
        "        quote: Dock workers said the crew had been on strike.\n",
        "        quote: Dock workers said the crew had been on strike.\n"
        "  - id: customs-office\n    kind: act\n    text: The customs office was closed.\n"
        "    judgments: {storm: 0.9, otherwise: 0.3}\n    attestations:\n"
        "      - id: a-customs-officials\n        source: officials\n"
        "        document: harbour-report\n        quote: the customs office was closed\n",
    )
    after = posterior(mini_project, "mini").posterior
    assert after[0] > before[0] + 0.01
    assert np.all(after[1:] < before[1:])


def repeat_witness(root):
    edit(
        root / "evidence/mini.yaml",
        "        quote: Dock workers said the crew had been on strike.\n",
        "        quote: Dock workers said the crew had been on strike.\n"
        "      - id: a-strike-dockers-again\n        source: dockers\n        document: harbour-report\n"
        "        quote: the crew had been on strike\n",
    )


def test_repeated_witness_changes_nothing(mini_project):
    before = evidence_arrays(load_spec(mini_project / "models/mini.yaml"))
    repeat_witness(mini_project)
    spec = load_spec(mini_project / "models/mini.yaml")
    repeated = next(a for a in spec.attestations if a.id == "a-strike-dockers-again")
    assert not repeated.counted
    after = evidence_arrays(spec)
    np.testing.assert_array_equal(before.pair_claim, after.pair_claim)
    assert before.pair_source == after.pair_source
    np.testing.assert_array_equal(
        exact_posterior(before).posterior, exact_posterior(after).posterior
    )


@pytest.mark.slow
def test_repeated_witness_gives_identical_draws(mini_project):
    first = fit(load_spec(mini_project / "models/mini.yaml"), QUICK)
    repeat_witness(mini_project)
    second = fit(load_spec(mini_project / "models/mini.yaml"), QUICK)
    np.testing.assert_array_equal(
        first.idata.posterior["p_H"].values, second.idata.posterior["p_H"].values
    )


def drop_copy(root):
    """Remove every attestation from the 004 copy that restates 001."""
    import yaml

    for path in (root / "evidence").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for claim in data.get("claims", []):
            claim["attestations"] = [a for a in claim["attestations"] if "restates" not in a]
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_syndicated_copy_changes_nothing(seed_project):
    with_copy = evidence_arrays(load_spec(seed_project / "models/azerbaijan-2025.yaml"))
    drop_copy(seed_project)
    without_copy = evidence_arrays(load_spec(seed_project / "models/azerbaijan-2025.yaml"))
    np.testing.assert_array_equal(with_copy.pair_claim, without_copy.pair_claim)
    assert with_copy.pair_source == without_copy.pair_source
    np.testing.assert_allclose(
        exact_posterior(with_copy).posterior,
        exact_posterior(without_copy).posterior,
        atol=1e-12,
        rtol=0,
    )


def test_copy_attributed_to_an_independent_source_does_move_the_posterior(seed_project):
    """Control: the same quotes from a non-derived document and its own source count."""
    import yaml

    base = exact_posterior(evidence_arrays(load_spec(seed_project / "models/azerbaijan-2025.yaml")))
    model = seed_project / "models/azerbaijan-2025.yaml"
    data = yaml.safe_load(model.read_text())
    for document in data["documents"]:
        document.pop("derived_from", None)
    data["sources"].append(
        {
            "id": "independent",
            "name": "An independent reporter",
            "grade": "D",
            "grade_rationale": "Control for the copy test.",
        }
    )
    model.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    restating = 0
    for path in (seed_project / "evidence").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for claim in data.get("claims", []):
            for attestation in claim["attestations"]:
                if attestation.pop("restates", None):
                    attestation["source"] = "independent"
                    restating += 1
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    assert restating >= 5
    moved = exact_posterior(evidence_arrays(load_spec(model)))
    assert np.max(np.abs(moved.posterior - base.posterior)) > 0.01


@pytest.mark.slow
def test_evidence_order_changes_nothing(mini_project):
    import yaml

    first = load_spec(mini_project / "models/mini.yaml")
    path = mini_project / "evidence/mini.yaml"
    data = yaml.safe_load(path.read_text())
    claims = data["claims"][::-1]
    for claim in claims:
        claim["attestations"] = claim["attestations"][::-1]
    data["claims"] = claims[:2]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    extra = dict(data, claims=claims[2:])
    (mini_project / "evidence/0-first.yaml").write_text(yaml.safe_dump(extra, sort_keys=False))
    second = load_spec(mini_project / "models/mini.yaml")
    a, b = evidence_arrays(first), evidence_arrays(second)
    assert a.claim_ids == b.claim_ids
    np.testing.assert_array_equal(exact_posterior(a).posterior, exact_posterior(b).posterior)
    draws_a = fit(first, QUICK).idata.posterior["p_H"].values
    draws_b = fit(second, QUICK).idata.posterior["p_H"].values
    np.testing.assert_array_equal(draws_a, draws_b)


def test_source_of_reliability_zero_equals_source_absent(mini_project):
    # The dockers are the crew-strike claim's only witness: at r = 0 the claim says nothing.
    edit(
        mini_project / "models/mini.yaml",
        "    grade_rationale: Cannot be judged.\n",
        "    grade_rationale: Cannot be judged.\n    reliability: 0\n",
    )
    with_zero = posterior(mini_project, "mini")
    drop_claim(mini_project, "crew-strike")
    absent = posterior(mini_project, "mini")
    np.testing.assert_allclose(with_zero.posterior, absent.posterior, atol=1e-12, rtol=0)


@pytest.mark.slow
def test_source_of_reliability_zero_equals_source_absent_with_nuts(mini_project):
    edit(
        mini_project / "models/mini.yaml",
        "    grade_rationale: Cannot be judged.\n",
        "    grade_rationale: Cannot be judged.\n    reliability: 0\n",
    )
    zero = fit(load_spec(mini_project / "models/mini.yaml"), QUICK)
    drop_claim(mini_project, "crew-strike")
    absent = exact_posterior(evidence_arrays(load_spec(mini_project / "models/mini.yaml")))
    assert_agrees(zero)
    sampled = zero.idata.posterior["p_H"].mean(("chain", "draw")).values
    np.testing.assert_array_less(
        np.abs(sampled - absent.posterior), np.maximum(zero.agreement.tolerance, AGREEMENT_FLOOR)
    )


@pytest.mark.slow
def test_uniform_claims_leave_the_prior_with_nuts(mini_project):
    make_judgments_uniform(mini_project)
    result = fit(load_spec(mini_project / "models/mini.yaml"), QUICK)
    p = result.idata.posterior["p_H"].values
    np.testing.assert_allclose(
        p.reshape(-1, 3), np.tile([0.5, 0.3, 0.2], (p.shape[0] * p.shape[1], 1)), atol=1e-12
    )


# --- NUTS against exact on the seed model ------------------------------------------------


@pytest.mark.slow
def test_seed_model_nuts_agrees_with_exact(seed_project):
    spec = load_spec(seed_project / "models/azerbaijan-2025.yaml")
    result = fit(spec, FitOptions(draws=500, tune=500, chains=2, cores=1, seed=5))
    assert_agrees(result)
    assert result.agreement.max_abs_difference < 0.005
    assert result.diagnostics.divergences == 0


def test_importance_sampling_agrees_with_quadrature(seed_project):
    arrays = evidence_arrays(load_spec(seed_project / "models/azerbaijan-2025.yaml"))
    quadrature = exact_posterior(arrays)
    sampled = exact_posterior(arrays, max_dim=0, max_grid=0, draws=50_000)
    assert (
        "importance sampling" in sampled.method and "importance sampling" not in quadrature.method
    )
    assert sampled.certified
    assert np.all(sampled.standard_error > 0)
    np.testing.assert_array_less(
        np.abs(sampled.posterior - quadrature.posterior),
        np.maximum(3 * sampled.standard_error, 1e-4),
    )
