"""The report's numbers against hand computation on a toy model small enough to check by hand.

Every expected value is computed here from the definitions in ``docs/model.md`` with plain
``math`` (and SciPy's Beta law for intervals), never by calling the function under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from scipy import optimize, stats

from forecast import Project
from forecast.analysis.influence import uniform_prior_reweighting
from forecast.analysis.intervals import beta_hdi, weighted_hdi
from forecast.compat import import_arviz
from forecast.constants import HDI_PROB
from forecast.model.exact import exact_posterior
from forecast.model.likelihood import evidence_arrays
from forecast.model.sample import FitOptions, FitResult, fit
from forecast.report.posterior import FitReport, claim_table
from forecast.report.update import UpdateReport
from forecast.spec.rules import EvidenceInput, load_spec
from forecast.store.update import posterior_summary

# --- the toy model: three hypotheses, two sources, two claims, one more claim as an update ---

PRIOR = {"red": 0.5, "green": 0.3, "blue": 0.2}
#: Fixed reliabilities: the model has no free parameter, so every figure is closed form.
RELIABILITY = {"clerk": 0.7, "porter": 0.4}
#: claim id -> (theta by hypothesis, "would say it anyway" rate by witness)
CLAIMS = {
    "bell-rang": ({"red": 0.9, "green": 0.3, "blue": 0.1}, {"clerk": 0.2, "porter": 0.3}),
    "door-open": ({"red": 0.2, "green": 0.7, "blue": 0.5}, {"porter": 0.25}),
}
NEW_CLAIM = {"gate-locked": ({"red": 0.4, "green": 0.1, "blue": 0.8}, {"clerk": 0.15})}
#: The clerk's Beta prior when its reliability is sampled instead of fixed.
CLERK_BETA = (7.0, 3.0)


def quote(claim_id: str, source_id: str) -> str:
    return f"The {source_id} reports that the {claim_id.replace('-', ' ')}."


def claim_entry(claim_id: str, theta: dict, witnesses: dict, document: str) -> dict:
    return {
        "id": claim_id,
        "kind": "act",
        "text": f"The {claim_id.replace('-', ' ')}.",
        "judgments": dict(theta),
        "attestations": [
            {
                "id": f"a-{claim_id}-{source_id}",
                "source": source_id,
                "document": document,
                "quote": quote(claim_id, source_id),
                "say_anyway": rate,
            }
            for source_id, rate in witnesses.items()
        ],
    }


def write_toy(root, reliability: dict) -> None:
    """The toy project; a reliability is a number (fixed) or (alpha, beta) (sampled)."""
    for part in ("models", "evidence", "seeds", "incoming"):
        (root / part).mkdir(parents=True)
    model = {
        "name": "toy",
        "title": "Toy",
        "explanandum": "Which colour was flown.",
        "background": "A model small enough to compute by hand.",
        "hypotheses": [
            {
                "id": h,
                "label": h.title(),
                "description": f"The {h} flag was flown.",
                "prior": p,
                "prior_rationale": "Chosen for the test.",
            }
            for h, p in PRIOR.items()
        ],
        "documents": [
            {"id": "note", "path": "seeds/note.txt", "title": "Note", "author": "A clerk"}
        ],
        "sources": [
            {
                "id": s,
                "name": s.title(),
                "grade": "C",
                "grade_rationale": "Chosen for the test.",
                "reliability": r if isinstance(r, float) else {"alpha": r[0], "beta": r[1]},
            }
            for s, r in reliability.items()
        ],
    }
    (root / "models/toy.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    quotes = [quote(c, s) for c, (_, witnesses) in CLAIMS.items() for s in witnesses]
    (root / "seeds/note.txt").write_text("\n".join(quotes) + "\n")
    evidence = {
        "model": "toy",
        "judged_by": "Test",
        "judged_on": "2025-01-01",
        "claims": [claim_entry(c, *spec, "note") for c, spec in CLAIMS.items()],
    }
    (root / "evidence/toy.yaml").write_text(yaml.safe_dump(evidence, sort_keys=False))
    [(claim_id, (_, witnesses))] = NEW_CLAIM.items()
    update = {
        "model": "toy",
        "judged_by": "Test",
        "judged_on": "2025-01-02",
        "documents": [
            {
                "id": "log",
                "title": "Log",
                "author": "The clerk",
                "text": " ".join(quote(claim_id, s) for s in witnesses),
            }
        ],
        "claims": [claim_entry(c, *spec, "log") for c, spec in NEW_CLAIM.items()],
    }
    (root / "incoming/gate.yaml").write_text(yaml.safe_dump(update, sort_keys=False))


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "toy"
    write_toy(root, RELIABILITY)
    return root


# --- the definitions, by hand ----------------------------------------------------------------


def attestation_probability(claim: tuple, h: str, reliability: dict) -> float:
    """Unreliable witness: theta prod(r + (1 - r) a) + (1 - theta) prod((1 - r) a)."""
    theta, witnesses = claim
    track = math.prod(reliability[s] + (1 - reliability[s]) * a for s, a in witnesses.items())
    noise = math.prod((1 - reliability[s]) * a for s, a in witnesses.items())
    return theta[h] * track + (1 - theta[h]) * noise


def claim_terms(claim: tuple, reliability: dict) -> dict:
    return {h: math.log(attestation_probability(claim, h, reliability)) for h in PRIOR}


def log_bayes_factor(terms: dict, h: str, weights: dict = PRIOR) -> float:
    """l_c(h) - log sum_{g != h} w_g exp(l_c(g)), w (the prior) renormalized over g != h."""
    others = [g for g in PRIOR if g != h]
    mass = sum(weights[g] for g in others)
    return terms[h] - math.log(sum(weights[g] / mass * math.exp(terms[g]) for g in others))


def posterior(claims: dict, reliability: dict, prior: dict = PRIOR) -> dict:
    joint = {
        h: prior[h] * math.prod(attestation_probability(c, h, reliability) for c in claims.values())
        for h in PRIOR
    }
    total = sum(joint.values())
    return {h: joint[h] / total for h in PRIOR}


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def by_hypothesis(values) -> dict:
    return {str(h): float(v) for h, v in values.items()}


# --- claim table: log Bayes factors and diagnosticity ------------------------------------------


def test_claim_table_lbf_and_diagnosticity_match_hand_computation(toy):
    table = claim_table(Project.open(toy).fit(method="exact", publish=False).result)
    assert list(table.index) == sorted(CLAIMS)
    for claim_id, claim in CLAIMS.items():
        terms = claim_terms(claim, RELIABILITY)
        row = table.loc[claim_id]
        assert row["witnesses"] == len(claim[1])
        assert row["diagnosticity"] == pytest.approx(
            max(terms.values()) - min(terms.values()), abs=1e-12, rel=0
        )
        for h in PRIOR:
            assert row[f"lbf_{h}"] == pytest.approx(log_bayes_factor(terms, h), abs=1e-12, rel=0)
    # The toy is not degenerate: the prior weights change the LBFs and every claim tells.
    bell = claim_terms(CLAIMS["bell-rang"], RELIABILITY)
    plain_mean = bell["red"] - math.log((math.exp(bell["green"]) + math.exp(bell["blue"])) / 2)
    assert abs(table.loc["bell-rang", "lbf_red"] - plain_mean) > 1e-3
    assert (table["diagnosticity"] > 0.1).all()


def test_fixed_reliability_fit_gives_hand_computed_posterior_and_uniform_prior_column(toy):
    # Asked for NUTS, a model without a free parameter is computed by the exact engine.
    table = Project.open(toy).fit(method="nuts", publish=False).table()
    expected = posterior(CLAIMS, RELIABILITY)
    uniform = posterior(CLAIMS, RELIABILITY, dict.fromkeys(PRIOR, 1 / 3))
    for column, values in [("mean", expected), ("exact", expected)]:
        assert by_hypothesis(table[column]) == pytest.approx(values, abs=1e-12, rel=0)
    assert by_hypothesis(table["uniform_prior_mean"]) == pytest.approx(uniform, abs=1e-12, rel=0)
    # No free parameter: no spread, and the interval is the point.
    assert (table["sd"] == 0).all() and (table["uniform_prior_sd"] == 0).all()
    assert (table["hdi_low"] == table["mean"]).all() and (table["hdi_high"] == table["mean"]).all()


# --- update report: movers and the decomposition of the change in log-odds ---------------------


def test_update_at_fixed_reliabilities_moves_log_odds_only_at_fixed_reliabilities(toy):
    report = Project.open(toy).update(toy / "incoming/gate.yaml", dry_run=True)
    before = posterior(CLAIMS, RELIABILITY)
    after = posterior(CLAIMS | NEW_CLAIM, RELIABILITY)
    change = {h: logit(after[h]) - logit(before[h]) for h in PRIOR}
    parts = report.decomposition()
    assert by_hypothesis(parts["total"]) == pytest.approx(change, abs=1e-12, rel=0)
    assert by_hypothesis(parts["at_fixed_reliabilities"]) == pytest.approx(change, abs=1e-12, rel=0)
    assert by_hypothesis(parts["through_shared_reliabilities"]) == pytest.approx(
        dict.fromkeys(PRIOR, 0.0), abs=1e-12, rel=0
    )
    table = report.table()
    assert by_hypothesis(table["before_mean"]) == pytest.approx(before, abs=1e-12, rel=0)
    assert by_hypothesis(table["after_mean"]) == pytest.approx(after, abs=1e-12, rel=0)
    movers = report.movers()
    [(claim_id, claim)] = NEW_CLAIM.items()
    assert list(movers.index) == [claim_id] and movers.loc[claim_id, "status"] == "new claim"
    terms = claim_terms(claim, RELIABILITY)
    # An update's factor weighs the alternatives by the posterior before the update.
    expected_lbf = {h: log_bayes_factor(terms, h, weights=before) for h in PRIOR}
    assert {h: movers.loc[claim_id, h] for h in PRIOR} == pytest.approx(
        expected_lbf, abs=1e-12, rel=0
    )
    assert movers.loc[claim_id, "largest"] == pytest.approx(
        max(abs(v) for v in expected_lbf.values()), abs=1e-12, rel=0
    )


def beta_moments(alpha: float, beta: float) -> tuple[float, float]:
    """E[r] and E[r^2] under Beta(alpha, beta)."""
    mean = alpha / (alpha + beta)
    return mean, mean * (alpha + 1) / (alpha + beta + 1)


def exact_with_sampled_clerk(claims: dict) -> dict:
    """P(H | E) when the clerk's r ~ Beta and the porter's is fixed, integrated by hand.

    Each claim's likelihood is linear in the clerk's r, P_c = A_c + B_c r, so the marginal
    likelihood of claims the clerk attests is a polynomial in r integrated with Beta moments.
    """
    mean, second = beta_moments(*CLERK_BETA)
    joint = {}
    for h in PRIOR:
        polynomial = [1.0]  # coefficients of r^0, r^1, ...
        for claim in claims.values():
            at0 = attestation_probability(claim, h, RELIABILITY | {"clerk": 0.0})
            at1 = attestation_probability(claim, h, RELIABILITY | {"clerk": 1.0})
            linear = [at0, at1 - at0] if "clerk" in claim[1] else [at0]
            polynomial = list(np.convolve(polynomial, linear))
        assert len(polynomial) <= 3
        moments = [1.0, mean, second]
        joint[h] = PRIOR[h] * sum(c * m for c, m in zip(polynomial, moments, strict=False))
    total = sum(joint.values())
    return {h: joint[h] / total for h in PRIOR}


def test_update_through_a_shared_sampled_reliability_splits_as_computed_by_hand(tmp_path):
    """The clerk attests the old and the new claim: the new one also moves P(H) through r."""
    root = tmp_path / "toy"
    write_toy(root, RELIABILITY | {"clerk": CLERK_BETA})
    project = Project.open(root)
    before_spec = project.load()
    update = root / "incoming/gate.yaml"
    after_spec = load_spec(project.model_path, [EvidenceInput(update, update.parent.resolve())])
    options = FitOptions(method="exact")
    before_fit, after_fit = fit(before_spec, options), fit(after_spec, options)
    assert after_fit.exact.method == "closed form + quadrature"
    report = UpdateReport(
        before=posterior_summary(FitReport(before_fit).table()),
        before_arrays=evidence_arrays(before_spec),
        before_as_of=before_spec.as_of(),
        result=after_fit,
        items={"claims": list(NEW_CLAIM), "attestations": [], "documents": [], "sources": []},
        source_file="incoming/gate.yaml",
        source_sha256="0" * 64,
        dry_run=True,
    )
    before = exact_with_sampled_clerk(CLAIMS)
    after = exact_with_sampled_clerk(CLAIMS | NEW_CLAIM)
    # r* of an exact-only fit is the prior mean.
    at_prior_mean = RELIABILITY | {"clerk": beta_moments(*CLERK_BETA)[0]}
    fixed_before = posterior(CLAIMS, at_prior_mean)
    fixed_after = posterior(CLAIMS | NEW_CLAIM, at_prior_mean)
    total = {h: logit(after[h]) - logit(before[h]) for h in PRIOR}
    fixed = {h: logit(fixed_after[h]) - logit(fixed_before[h]) for h in PRIOR}
    through = {h: total[h] - fixed[h] for h in PRIOR}
    parts = report.decomposition()
    assert by_hypothesis(parts["total"]) == pytest.approx(total, abs=1e-12, rel=0)
    assert by_hypothesis(parts["at_fixed_reliabilities"]) == pytest.approx(fixed, abs=1e-12, rel=0)
    assert by_hypothesis(parts["through_shared_reliabilities"]) == pytest.approx(
        through, abs=1e-12, rel=0
    )
    # The shared reliability really carries part of the change.
    assert max(abs(v) for v in through.values()) > 1e-3


# --- uniform-prior reweighting -----------------------------------------------------------------


def test_uniform_prior_reweighting_recovers_the_uniform_prior_posterior(tmp_path):
    """Draws from the posterior under the analyst's prior, reweighted, give the uniform one.

    The clerk's r takes three values with prior masses chosen so that its posterior masses
    (under the analyst's prior) are 1/6, 2/6, 3/6: the draws below are then an exact sample
    of that posterior, and the reweighted mean must equal the uniform-prior posterior under
    the same three-point prior on r, computed by hand.
    """
    root = tmp_path / "toy"
    write_toy(root, RELIABILITY | {"clerk": CLERK_BETA})
    spec = load_spec(root / "models/toy.yaml")
    arrays = evidence_arrays(spec)
    assert arrays.sampled_sources == ("clerk",)
    atoms, counts = [0.02, 0.5, 0.98], [1, 2, 3]

    def evidence(r: float, prior: dict) -> float:
        reliability = RELIABILITY | {"clerk": r}
        return sum(
            prior[h]
            * math.prod(attestation_probability(c, h, reliability) for c in CLAIMS.values())
            for h in PRIOR
        )

    # prior mass of each atom, proportional to count / p(E | r) so the posterior is counts / 6
    rho = [n / evidence(r, PRIOR) for r, n in zip(atoms, counts, strict=True)]
    uniform = dict.fromkeys(PRIOR, 1 / 3)
    joint = {
        h: sum(
            m
            * uniform[h]
            * math.prod(
                attestation_probability(c, h, RELIABILITY | {"clerk": r}) for c in CLAIMS.values()
            )
            for r, m in zip(atoms, rho, strict=True)
        )
        for h in PRIOR
    }
    expected = {h: joint[h] / sum(joint.values()) for h in PRIOR}

    draws = np.repeat(atoms, counts).reshape(1, -1, 1)
    idata = import_arviz().from_dict(posterior={"reliability": draws})
    result = FitResult(spec, arrays, FitOptions(), exact_posterior(arrays), idata=idata)
    up, weights = uniform_prior_reweighting(result)
    reweighted = weights @ up
    assert dict(zip(PRIOR, reweighted, strict=True)) == pytest.approx(expected, abs=1e-12, rel=0)
    # Control: the weights matter far beyond the tolerance; the unweighted mean is off.
    assert np.max(np.abs(up.mean(0) - reweighted)) > 1e-4


# --- intervals ---------------------------------------------------------------------------------


def test_weighted_hdi_on_a_hand_checkable_set():
    # Sorted: 0 (0.05), 1 (0.3), 1.5 (0.4), 2 (0.2), 5 (0.05); unsorted and unnormalized here.
    values = np.array([5.0, 1.0, 2.0, 0.0, 1.5])
    weights = 3 * np.array([0.05, 0.3, 0.2, 0.05, 0.4])
    # 85 %: [1, 2] holds 0.9 (width 1); [0, 2] holds 0.95 but is twice as wide.
    assert weighted_hdi(values, weights, 0.85) == (1.0, 2.0)
    # 90 %: [1, 2] holds exactly 0.9 and still counts, rounding notwithstanding.
    assert weighted_hdi(values, weights, 0.9) == (1.0, 2.0)
    # 91 %: [0, 2] (width 2) beats [1, 5] (width 4), both holding 0.95.
    assert weighted_hdi(values, weights, 0.91) == (0.0, 2.0)


def test_weighted_hdi_is_the_shortest_interval_with_the_mass():
    rng = np.random.default_rng(4)
    for _ in range(20):
        n = int(rng.integers(5, 40))
        values = rng.gamma(2.0, size=n)
        weights = rng.random(n)
        order = np.argsort(values)
        sorted_values, share = values[order], weights[order] / weights.sum()
        best = None
        for i in range(n):
            for j in range(i, n):
                if share[i : j + 1].sum() >= HDI_PROB - 1e-12:
                    width = sorted_values[j] - sorted_values[i]
                    if best is None or width < best[0]:
                        best = (width, sorted_values[i], sorted_values[j])
                    break
        assert weighted_hdi(values, weights) == (best[1], best[2])


def optimizer_tolerance(law, low: float, high: float) -> float:
    """beta_hdi's optimizer finds the lower tail probability to 1e-5; ends move by 1e-5 / pdf."""
    return 1e-5 / min(law.pdf(low), law.pdf(high))


def test_beta_hdi_of_a_symmetric_law_is_central():
    law = stats.beta(2, 2)
    low, high = beta_hdi(2, 2)
    expected_low = optimize.brentq(lambda x: law.cdf(x) - (1 - HDI_PROB) / 2, 0, 0.5, xtol=1e-15)
    tolerance = optimizer_tolerance(law, low, high)
    assert low == pytest.approx(expected_low, abs=tolerance, rel=0)
    assert low + high == pytest.approx(1.0, abs=tolerance, rel=0)
    assert law.cdf(high) - law.cdf(low) == pytest.approx(HDI_PROB, abs=1e-12, rel=0)


@pytest.mark.parametrize("alpha, beta", [(2, 5), (6, 4), (18, 2), (3, 5)])
def test_beta_hdi_of_a_skewed_law_has_equal_density_at_both_ends(alpha, beta):
    law = stats.beta(alpha, beta)
    mode = (alpha - 1) / (alpha + beta - 2)

    def upper_of(lower: float) -> float:
        """The point above the mode with the same density as ``lower``."""
        return optimize.brentq(lambda x: law.pdf(x) - law.pdf(lower), mode, 1, xtol=1e-15)

    expected_low = optimize.brentq(
        lambda x: law.cdf(upper_of(x)) - law.cdf(x) - HDI_PROB, 1e-6, 0.9 * mode, xtol=1e-15
    )
    expected_high = upper_of(expected_low)
    low, high = beta_hdi(alpha, beta)
    tolerance = optimizer_tolerance(law, expected_low, expected_high)
    assert low == pytest.approx(expected_low, abs=tolerance, rel=0)
    assert high == pytest.approx(expected_high, abs=tolerance, rel=0)
    assert law.cdf(high) - law.cdf(low) == pytest.approx(HDI_PROB, abs=1e-12, rel=0)
    assert law.pdf(low) == pytest.approx(law.pdf(high), rel=1e-3)


def test_beta_hdi_of_a_decreasing_density_starts_at_zero():
    law = stats.beta(1, 9)  # grade E
    low, high = beta_hdi(1, 9)
    tolerance = optimizer_tolerance(law, low, high)
    assert low == pytest.approx(0.0, abs=tolerance)
    assert high == pytest.approx(law.ppf(HDI_PROB), abs=tolerance, rel=0)


# --- several analysts: the linear pool, by hand -----------------------------------------------


#: A second analyst's judgments of one toy claim, and its own priors.
SECOND_THETA = {"red": 0.3, "green": 0.6, "blue": 0.2}
SECOND_PRIOR = {"red": 0.2, "green": 0.5, "blue": 0.3}


def test_two_analysts_give_the_linear_pool_of_their_posteriors(toy):
    (toy / "judgments").mkdir()
    second = {
        "model": "toy",
        "judged_by": "Second",
        "judged_on": "2025-01-03",
        "blind": True,
        "claims": {"bell-rang": SECOND_THETA},
        "priors": {
            h: {"prior": p, "rationale": "Chosen for the test."} for h, p in SECOND_PRIOR.items()
        },
    }
    (toy / "judgments/second.yaml").write_text(yaml.safe_dump(second, sort_keys=False))
    first = posterior(CLAIMS, RELIABILITY)
    claims = dict(CLAIMS) | {"bell-rang": (SECOND_THETA, CLAIMS["bell-rang"][1])}
    other = posterior(claims, RELIABILITY, prior=SECOND_PRIOR)
    pooled = {h: (first[h] + other[h]) / 2 for h in PRIOR}
    report = Project.open(toy).fit(method="exact", publish=False)
    table = report.table()
    assert by_hypothesis(table["mean"]) == pytest.approx(pooled, abs=1e-12, rel=0)
    assert by_hypothesis(table["exact"]) == pytest.approx(pooled, abs=1e-12, rel=0)
    records = {r["id"]: r for r in report.to_dict()["analysts"]}
    assert records["evidence"]["posterior"] == pytest.approx(first, abs=1e-12, rel=0)
    assert records["second"]["posterior"] == pytest.approx(other, abs=1e-12, rel=0)
    assert records["second"]["coverage"] == "1/2" and records["second"]["blind"] is True
    # The robustness is pooled the same way: its base is the pool, and a change the second
    # analyst's judgments do not touch is the mean of the two analysts' changed posteriors.
    robustness = report.sensitivity
    assert dict(zip(PRIOR, robustness.posterior, strict=True)) == pytest.approx(pooled, abs=1e-12)
    [without] = [c for c in robustness.changes if (c.kind, c.id) == ("claim", "door-open")]
    alone = {"bell-rang": claims["bell-rang"]}
    expected = {
        h: (posterior({"bell-rang": CLAIMS["bell-rang"]}, RELIABILITY)[h]
            + posterior(alone, RELIABILITY, prior=SECOND_PRIOR)[h]) / 2
        for h in PRIOR
    }  # fmt: skip
    assert dict(zip(PRIOR, without.posterior, strict=True)) == pytest.approx(expected, abs=1e-12)


def test_an_analyst_who_agrees_with_the_evidence_leaves_the_answer_as_it_was(toy):
    before = Project.open(toy).fit(method="exact", publish=False)
    (toy / "judgments").mkdir()
    same = {
        "model": "toy",
        "judged_by": "Echo",
        "judged_on": "2025-01-03",
        "blind": False,
        "claims": {c: theta for c, (theta, _) in CLAIMS.items()},
    }
    (toy / "judgments/echo.yaml").write_text(yaml.safe_dump(same, sort_keys=False))
    after = Project.open(toy).fit(method="exact", publish=False)
    np.testing.assert_allclose(after.table()["mean"], before.table()["mean"], rtol=1e-12)
    np.testing.assert_allclose(
        after.sensitivity.robust_range(), before.sensitivity.robust_range(), rtol=1e-12
    )
    assert after.sensitivity.confidence == before.sensitivity.confidence
