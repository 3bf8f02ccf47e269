"""Evidence arrays to a ``pymc.Model``: the only module that loads PyMC when it is imported.

The discrete hypothesis H is marginalized out: NUTS samples only the sources' reporting
reliabilities, and ``p_H`` holds P(H | evidence, reliabilities), whose posterior mean is
P(H | evidence). The marginal sits in a ``CustomDist`` observed at 0 so that ArviZ gets a
``log_likelihood`` group holding log p(E | reliabilities) and nothing else.
"""

from __future__ import annotations

import numpy as np

from forecast.compat import import_pymc, import_pytensor_tensor
from forecast.model.likelihood import EvidenceArrays, claim_log_likelihood, subset, unit_terms
from forecast.witness import witness_sums

pm = import_pymc()
pt = import_pytensor_tensor()


def hypothesis_log_likelihood_graph(arrays: EvidenceArrays, reliability: pt.TensorVariable):
    """Symbolic log P(E | h, r) over hypotheses (shape (H,)) for a reliability vector r.

    Claims that touch no sampled reliability are summed once, in NumPy, into a constant.
    """
    touched = arrays.sampled_claims
    constant = np.zeros(len(arrays.hypothesis_ids))
    if (~touched).any():
        fixed_part = subset(arrays, ~touched, np.arange(arrays.n_sampled))
        constant = claim_log_likelihood(fixed_part, np.zeros(arrays.n_sampled)).sum(0)
    if not touched.any():
        return pt.as_tensor_variable(constant)
    part = subset(arrays, touched, np.arange(arrays.n_sampled))
    is_sampled = part.pair_slot >= 0
    fixed_values = part.pair_fixed[~is_sampled]
    index = np.where(is_sampled, part.pair_slot, 0)
    index[~is_sampled] = arrays.n_sampled + np.arange(len(fixed_values))
    all_reliability = pt.concatenate([reliability, pt.as_tensor_variable(fixed_values)])
    n_claims = len(part.claim_ids)
    in_fact = np.flatnonzero(part.facts >= 0)

    def claim_sum(values):
        return pt.inc_subtensor(pt.zeros(n_claims)[part.pair_claim], values)

    def fact_sum(values):
        return pt.inc_subtensor(pt.zeros(len(part.fact_ids))[part.facts[in_fact]], values[in_fact])

    noise, gap = witness_sums(
        all_reliability[index], pt.as_tensor_variable(part.say_anyway), claim_sum, xp=pt
    )
    plain, facts = unit_terms(part, noise, gap, fact_sum, xp=pt)
    total = plain.sum(axis=0)
    if facts is not None:
        total = total + facts.sum(axis=0)
    return constant + total


def build_model(arrays: EvidenceArrays) -> pm.Model:
    """The marginalized unreliable-witness model; needs at least one sampled reliability."""
    if arrays.n_sampled == 0:
        raise ValueError("no sampled reliability: use the exact engine")
    coords = {"hypothesis": list(arrays.hypothesis_ids), "source": list(arrays.sampled_sources)}
    log_prior = pt.as_tensor_variable(arrays.log_prior)
    with pm.Model(coords=coords) as model:
        reliability = pm.Beta("reliability", alpha=arrays.alpha, beta=arrays.beta, dims="source")
        log_joint = log_prior + hypothesis_log_likelihood_graph(arrays, reliability)
        pm.Deterministic("p_H", pt.special.softmax(log_joint), dims="hypothesis")

        def evidence_logp(value, r):
            return pt.logsumexp(log_prior + hypothesis_log_likelihood_graph(arrays, r))

        pm.CustomDist(
            "evidence",
            reliability,
            logp=evidence_logp,
            signature="(s)->()",
            observed=np.float64(0.0),
        )
    return model
