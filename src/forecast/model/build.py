"""Evidence arrays to a ``pymc.Model``: the only module that loads PyMC when it is imported.

The discrete hypothesis H is marginalized out: NUTS samples only the sources' reporting
reliabilities. The marginal sits in a ``CustomDist`` observed at 0 so that ArviZ gets a
``log_likelihood`` group holding log p(E | reliabilities) and nothing else. P(H | evidence,
reliabilities) is not a node of the model: :mod:`forecast.model.sample` computes it for every
draw in NumPy, from the same formula, which spares a second compiled function and its cost
at every draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from forecast.compat import import_pymc, import_pytensor_tensor
from forecast.constants import DENSE_SUM_CELLS
from forecast.model.likelihood import (
    EvidenceArrays,
    claim_log_likelihood,
    fact_mixture,
    segment_sum,
    subset,
)
from forecast.witness import claim_terms, witness_sums

pm = import_pymc()
pt = import_pytensor_tensor()


def _summer(
    row: np.ndarray,
    column: np.ndarray,
    weight: np.ndarray,
    shape: tuple[int, int],
    dense_cells: int,
) -> Callable[[Any], Any]:
    """A function v -> M @ v (v of shape (n,) or (n, k)) for M[row, column] = weight.

    M written out densely, multiplied and summed, when it has at most ``dense_cells`` cells
    (two elementwise operations and their gradients; no BLAS, which PyTensor may lack), else
    a scatter-add.
    """
    if shape[0] * shape[1] <= dense_cells:
        matrix = np.zeros(shape)
        np.add.at(matrix, (row, column), weight)

        def dense(values):
            extra = values.ndim - 1
            spread = matrix.reshape(*shape, *[1] * extra)
            return (pt.as_tensor_variable(spread) * values[None]).sum(axis=1)

        return dense

    def scatter(values):
        trailing = [values.shape[i] for i in range(1, values.ndim)]
        weights = weight.reshape(-1, *[1] * len(trailing))
        return pt.inc_subtensor(pt.zeros((shape[0], *trailing))[row], values[column] * weights)

    return scatter


def hypothesis_log_likelihood_graph(
    arrays: EvidenceArrays, reliability: pt.TensorVariable, dense_cells: int = DENSE_SUM_CELLS
):
    """Symbolic log P(E | h, r) over hypotheses (shape (H,)) for a reliability vector r.

    The same formula as :func:`forecast.model.likelihood.hypothesis_log_likelihood`, arranged
    for a small graph, which NUTS evaluates thousands of times: claims that touch no sampled
    reliability are summed once, in NumPy, into a constant; so are the pairs of a touched claim
    whose reliability is fixed. The sampled pairs enter through their distinct (source, "say it
    anyway") combinations, summed into claims by one product.
    """
    touched = arrays.sampled_claims
    constant = np.zeros(len(arrays.hypothesis_ids))
    if (~touched).any():
        fixed_part = subset(arrays, ~touched, np.arange(arrays.n_sampled))
        constant = claim_log_likelihood(fixed_part, np.zeros(arrays.n_sampled)).sum(0)
    if not touched.any():
        return pt.as_tensor_variable(constant)
    part = subset(arrays, touched, np.arange(arrays.n_sampled))
    n_claims = len(part.claim_ids)
    is_sampled = part.pair_slot >= 0

    fixed_noise, fixed_gap = witness_sums(
        part.pair_fixed[~is_sampled],
        part.say_anyway[~is_sampled],
        lambda values: segment_sum(values, part.pair_claim[~is_sampled], n_claims),
    )
    combos, pair_combo = np.unique(
        np.stack([part.pair_slot[is_sampled], part.say_anyway[is_sampled]], axis=1),
        axis=0,
        return_inverse=True,
    )
    slots = combos[:, 0].astype(int)
    counts = np.zeros((n_claims, len(combos)))
    np.add.at(counts, (part.pair_claim[is_sampled], pair_combo.ravel()), 1.0)
    every_slot_once = np.array_equal(slots, np.arange(arrays.n_sampled))
    combo_reliability = reliability if every_slot_once else reliability[slots]

    def sums(claims: np.ndarray) -> tuple[Any, Any]:
        """S_noise and the gap of some claims, each summed straight from the combinations."""
        rows, columns = np.nonzero(counts[claims])
        claim_sum = _summer(
            rows, columns, counts[claims][rows, columns], (len(claims), len(combos)), dense_cells
        )
        noise, gap = witness_sums(combo_reliability, combos[:, 1], claim_sum, xp=pt)
        return noise + fixed_noise[claims], gap + fixed_gap[claims]

    # Plain claims and claims in a fact are summed apart, so that no graph node selects rows.
    plain = np.flatnonzero(part.facts < 0)
    total = constant + claim_terms(part.theta[plain], *sums(plain), pt).sum(axis=0)
    in_fact = np.flatnonzero(part.facts >= 0)
    if not len(in_fact):
        return total
    fact_sum = _summer(
        part.facts[in_fact],
        np.arange(len(in_fact)),
        np.ones(len(in_fact)),
        (len(part.fact_ids), len(in_fact)),
        dense_cells,
    )
    noise, gap = sums(in_fact)
    if_fact = part.fact_constants["if_fact"][in_fact]
    if_holds = fact_sum(claim_terms(if_fact[:, :1], noise, gap, pt))
    if_fails = fact_sum(claim_terms(if_fact[:, 1:], noise, gap, pt))
    return total + fact_mixture(part, if_holds, if_fails, pt).sum(axis=0)


def build_model(arrays: EvidenceArrays) -> pm.Model:
    """The marginalized unreliable-witness model; needs at least one sampled reliability."""
    if arrays.n_sampled == 0:
        raise ValueError("no sampled reliability: use the exact engine")
    coords = {"source": list(arrays.sampled_sources)}
    log_prior = pt.as_tensor_variable(arrays.log_prior)
    with pm.Model(coords=coords) as model:
        reliability = pm.Beta("reliability", alpha=arrays.alpha, beta=arrays.beta, dims="source")

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
