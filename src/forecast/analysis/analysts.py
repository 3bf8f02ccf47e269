"""Several analysts: each analyst's posterior, and their equal-weight linear pool.

The evidence files' judgments are one analyst (``evidence``); each ``judgments/<id>.yaml``
is another, whose judgments replace the evidence's for the claims and facts it judges (and
whose priors replace the model's, if it gives them). Each analyst's posterior is one exact
pass. The pool is the equal-weight mean of the analysts' posteriors, always recomputed from
them (``docs/model.md`` says why linear and why equal).

With NUTS draws, each analyst's posterior over p_H comes from the same draws of the
reliabilities, reweighted by Z_k(r) / Z_evidence(r), with Z_k(r) = sum_h pi_k,h P_k(E | h, r):
the draws target the evidence analyst's posterior of r, and an analyst's judgments change
only the likelihood. The pool is the mixture of these weighted draws, one equal share each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from forecast.constants import EVIDENCE_ANALYST, HDI_PROB
from forecast.model.exact import ExactResult, exact_posterior
from forecast.model.likelihood import EvidenceArrays, hypothesis_log_likelihood, log_softmax
from forecast.spec.schema import AnalystRecord, Spec


def analyst_arrays(arrays: EvidenceArrays, analyst: AnalystRecord) -> EvidenceArrays:
    """The evidence arrays with one analyst's judgments (and priors) in place of the evidence's.

    A claim or fact the analyst does not judge keeps the evidence judgment; the kind of a
    claim, and so the reliability that applies, stays the evidence file's.
    """
    theta = arrays.theta.copy()
    row = {c: i for i, c in enumerate(arrays.claim_ids)}
    for claim_id, vectors in analyst.theta.items():
        if claim_id in row:  # a perturbed spec may have lost it
            theta[row[claim_id]] = vectors[0]
    changes: dict[str, np.ndarray] = {"theta": theta}
    signs = {c: v for c, v in analyst.signs.items() if c in row and arrays.facts[row[c]] >= 0}
    if signs and arrays.if_true is not None and arrays.if_false is not None:
        if_true, if_false = arrays.if_true.copy(), arrays.if_false.copy()
        for claim_id, (p1, p0) in signs.items():
            if_true[row[claim_id]], if_false[row[claim_id]] = p1[0], p0[0]
        changes |= {"if_true": if_true, "if_false": if_false}
    phis = {f: v for f, v in analyst.phi.items() if f in arrays.fact_ids}
    if phis and arrays.fact_phi is not None:
        phi = arrays.fact_phi.copy()
        for fact_id, vectors in phis.items():
            phi[arrays.fact_ids.index(fact_id)] = vectors[0]
        changes["fact_phi"] = phi
    if analyst.prior is not None:
        with np.errstate(divide="ignore"):
            changes["log_prior"] = np.log(np.asarray(analyst.prior))
    return replace(arrays, **changes)


@dataclass(frozen=True)
class Analyst:
    """One analyst as the engines see it: who, how much they judged, their arrays."""

    id: str
    names: str
    blind: bool | None
    judged: int
    judgeable: int
    arrays: EvidenceArrays

    @property
    def coverage(self) -> str:
        """``judged / total`` claims and facts (the evidence analyst judges all)."""
        return f"{self.judged}/{self.judgeable}"


def analysts_of(spec: Spec, arrays: EvidenceArrays) -> list[Analyst]:
    """The evidence analyst, then one per judgment file, in id order."""
    total = len(spec.judgeable)
    out = [
        Analyst(EVIDENCE_ANALYST, ", ".join(spec.evidence_judged_by), None, total, total, arrays)
    ]
    for record in sorted(spec.analysts, key=lambda a: a.id):
        out.append(
            Analyst(
                record.id,
                record.judged_by,
                record.blind,
                len(record.judged),
                total,
                analyst_arrays(arrays, record),
            )
        )
    return out


@dataclass(frozen=True)
class AnalystsResult:
    """Each analyst's posterior and the pool, with the draws behind the pool's interval."""

    hypothesis_ids: tuple[str, ...]
    analysts: tuple[Analyst, ...]
    #: Exact P(h | E) per analyst, (K, H), its standard error, and P(h | E) under a
    #: uniform prior.
    posteriors: np.ndarray
    standard_errors: np.ndarray
    uniform_posteriors: np.ndarray
    #: Per analyst, the draws' p_H (M, H) and their normalized weights (M,); None without draws.
    draws: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    #: Per analyst, the exact engine's result (its nodes serve the robustness and the judges).
    exacts: tuple[ExactResult, ...] = ()

    def exact_by_analyst(self) -> dict[str, ExactResult]:
        """Each analyst's exact result, by analyst id."""
        return {a.id: e for a, e in zip(self.analysts, self.exacts, strict=True)}

    @property
    def pooled(self) -> np.ndarray:
        """The equal-weight linear pool of the analysts' exact posteriors."""
        return self.posteriors.mean(axis=0)

    @property
    def pooled_standard_error(self) -> np.ndarray:
        """Monte Carlo standard error of the pool (the analysts' errors are independent)."""
        return np.sqrt((self.standard_errors**2).sum(axis=0)) / len(self.analysts)

    @property
    def leaders(self) -> tuple[str, ...]:
        """Each analyst's leading hypothesis."""
        return tuple(self.hypothesis_ids[int(np.argmax(p))] for p in self.posteriors)

    @property
    def leaders_differ(self) -> bool:
        """Whether the analysts' leading hypotheses differ."""
        return len(set(self.leaders)) > 1

    def pooled_draws(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The pool's draws of p_H and their weights (each analyst an equal share)."""
        if self.draws is None:
            return None
        values = np.concatenate([p for p, _ in self.draws])
        weights = np.concatenate([w / len(self.draws) for _, w in self.draws])
        return values, weights

    def pooled_mcse(self, evidence_mcse: np.ndarray) -> np.ndarray:
        """Monte Carlo standard error of the pool's mean over the reweighted draws.

        All analysts share the evidence analyst's draws, so their autocorrelation too: each
        analyst's error is sqrt(var_k / ESS_k) with ESS_k the Kish size of its weights,
        scaled by the evidence analyst's MCSE against its own sqrt(var / N).
        """
        assert self.draws is not None
        values, weights = self.draws[0]
        mean = weights @ values
        naive = np.sqrt(weights @ (values - mean) ** 2 / len(weights))
        scale = np.divide(evidence_mcse, naive, out=np.ones_like(naive), where=naive > 0)
        errors = []
        for values, weights in self.draws:
            mean = weights @ values
            variance = weights @ (values - mean) ** 2
            errors.append(scale * np.sqrt(variance * np.sum(weights**2)))
        return np.sqrt(np.sum(np.square(errors), axis=0)) / len(self.draws)

    def effective_sample_sizes(self) -> np.ndarray | None:
        """Per analyst, the effective number of the reweighted draws (Kish)."""
        if self.draws is None:
            return None
        return np.array([1.0 / np.sum(w**2) for _, w in self.draws])

    def pooled_interval(self, prob: float = HDI_PROB) -> np.ndarray | None:
        """Per hypothesis, the pool's HDI over the reweighted draws: (H, 2), or None."""
        from forecast.analysis.intervals import weighted_hdi

        pooled = self.pooled_draws()
        if pooled is None:
            return None
        values, weights = pooled
        return np.array([weighted_hdi(values[:, h], weights, prob) for h in range(values.shape[1])])


def analyst_posteriors(
    spec: Spec,
    arrays: EvidenceArrays,
    evidence_exact: ExactResult,
    *,
    seed: int,
    reliability_draws: np.ndarray | None = None,
    evidence_log_lik: np.ndarray | None = None,
) -> AnalystsResult:
    """Every analyst's exact posterior (the evidence analyst's is ``evidence_exact``).

    With ``reliability_draws`` (and the evidence analyst's log P(E | h, r) at them), each
    analyst's draws of p_H and their weights, for the pool's interval.
    """
    analysts = analysts_of(spec, arrays)
    results = [evidence_exact]
    results += [exact_posterior(analyst.arrays, seed=seed) for analyst in analysts[1:]]
    draws = None
    if reliability_draws is not None and len(reliability_draws):
        assert evidence_log_lik is not None
        base = np.logaddexp.reduce(evidence_log_lik + arrays.log_prior, axis=1)
        draws = []
        for analyst in analysts:
            log_lik = (
                evidence_log_lik
                if analyst.arrays is arrays
                else hypothesis_log_likelihood(analyst.arrays, reliability_draws)
            )
            log_joint = log_lik + analyst.arrays.log_prior
            log_z = np.logaddexp.reduce(log_joint, axis=1)
            log_weight = log_z - base
            weights = np.exp(log_weight - log_weight.max())
            draws.append((np.exp(log_softmax(log_joint)), weights / weights.sum()))
        draws = tuple(draws)
    return AnalystsResult(
        spec.hypothesis_ids,
        tuple(analysts),
        np.stack([r.posterior for r in results]),
        np.stack([r.standard_error for r in results]),
        np.stack([r.uniform_posterior for r in results]),
        draws,
        tuple(results),
    )


def analyst_spec(spec: Spec, analyst_id: str) -> Spec:
    """The spec as one analyst judges it, named ``<model>--<analyst>``, with no other analyst.

    What ``forecast fit --judge`` fits: the analyst's judgments (and priors) in place of the
    evidence's, the evidence's where it gives none. Raises UsageError for an unknown analyst.
    """
    import dataclasses
    import hashlib

    from forecast.errors import UsageError

    records = {a.id: a for a in spec.analysts}
    if analyst_id not in records:
        held = ", ".join(sorted(records)) or "none"
        raise UsageError(f"--judge: no analyst {analyst_id!r} (judgments/ holds: {held})")
    record = records[analyst_id]
    phis = {f.id: f.phi for f in spec.facts} | {f: v[0] for f, v in record.phi.items()}
    claims = []
    for claim in spec.claims:
        if claim.id in record.theta:
            points, lows, highs = record.theta[claim.id]
            claim = dataclasses.replace(
                claim, theta=points, theta_low=lows, theta_high=highs, theta_ties=()
            )
        elif claim.fact is not None:
            p1, p0 = claim.if_true, claim.if_false
            ranges = claim.if_true_range, claim.if_false_range
            if claim.id in record.signs:
                (p1, *r1), (p0, *r0) = record.signs[claim.id]
                ranges = (tuple(r1), tuple(r0))
            assert p1 is not None and p0 is not None
            theta = tuple(f * p1 + (1 - f) * p0 for f in phis[claim.fact])
            claim = dataclasses.replace(
                claim,
                theta=theta,
                theta_low=theta,
                theta_high=theta,
                if_true=p1,
                if_false=p0,
                if_true_range=ranges[0],
                if_false_range=ranges[1],
            )
        claims.append(claim)
    facts = tuple(
        dataclasses.replace(
            f,
            phi=record.phi[f.id][0],
            phi_low=record.phi[f.id][1],
            phi_high=record.phi[f.id][2],
            phi_ties=(),
        )
        if f.id in record.phi
        else f
        for f in spec.facts
    )
    hypotheses = spec.hypotheses
    if record.prior is not None:
        hypotheses = tuple(
            h.model_copy(update={"prior": p, "prior_rationale": record.prior_rationale[h.id]})
            for h, p in zip(spec.hypotheses, record.prior, strict=True)
        )
    digest = hashlib.sha256(f"{spec.sha256}|judge:{analyst_id}".encode()).hexdigest()
    return dataclasses.replace(
        spec,
        name=f"{spec.name}--{analyst_id}",
        claims=tuple(claims),
        facts=facts,
        hypotheses=hypotheses,
        analysts=(),
        evidence_judged_by=(record.judged_by,),
        sha256=digest,
    )


def pooled_exact_posterior(
    spec: Spec, seed: int
) -> tuple[np.ndarray, dict[str, ExactResult], bool]:
    """P(h | E) from the exact engine, pooled over the analysts; their exact results by id.

    The third value says whether there was a pool (several analysts) at all.
    """
    from forecast.model.likelihood import evidence_arrays

    arrays = evidence_arrays(spec)
    exact = exact_posterior(arrays, seed=seed)
    if not spec.analysts:
        return exact.posterior, {EVIDENCE_ANALYST: exact}, False
    pooled = analyst_posteriors(spec, arrays, exact, seed=seed)
    return pooled.pooled, pooled.exact_by_analyst(), True
