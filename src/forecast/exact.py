"""P(H | E) without MCMC: the cross-check for every NUTS fit.

Given h, claims that share no sampled reliability are independent, so the evidence splits into
connected components of the source-claim graph. For each component and hypothesis the marginal
likelihood Z[h] = E_prior[prod_c P(attestations of c | h, r)] is computed

- in closed form when the component has no sampled reliability,
- by tensor Gauss-Jacobi quadrature, exact for this polynomial integrand, when it has at most
  ``MAX_QUADRATURE_DIM`` sampled reliabilities or its exact grid is small,
- by importance sampling otherwise, from a defensive mixture of the prior and Beta laws fitted
  to a pilot run. Uniforms come from streams keyed by source id (common random numbers), so a
  change elsewhere in the model leaves a component's draws unchanged. The standard error is
  propagated by the delta method; below ``MIN_IMPORTANCE_ESS`` effective draws the result is
  not certified.

Then P(h | E) = softmax(log prior[h] + sum over components of log Z[h]).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np
from scipy import special, stats

from forecast.constants import (
    DEFAULT_SEED,
    IMPORTANCE_DRAWS,
    MAX_QUADRATURE_DIM,
    MAX_QUADRATURE_POINTS,
    MIN_IMPORTANCE_ESS,
)
from forecast.likelihood import EvidenceArrays, claim_log_likelihood, log_softmax

_PILOT_FRACTION = 0.1
_DEFENSIVE_WEIGHT = 0.2
_CHUNK = 4096


@dataclass(frozen=True)
class ComponentResult:
    """How one connected component of the evidence was integrated."""

    sources: tuple[str, ...]
    claims: tuple[str, ...]
    method: str
    effective_sample_size: float | None = None


@dataclass(frozen=True)
class ExactResult:
    """P(H | E) by enumeration, quadrature and importance sampling, with its standard error."""

    hypothesis_ids: tuple[str, ...]
    posterior: np.ndarray
    standard_error: np.ndarray
    uniform_posterior: np.ndarray
    log_evidence: np.ndarray
    components: tuple[ComponentResult, ...]
    certified: bool

    @property
    def method(self) -> str:
        """The methods used, e.g. ``"closed form + quadrature"``."""
        methods = dict.fromkeys(c.method for c in self.components)
        return " + ".join(methods) or "closed form"

    @property
    def min_effective_sample_size(self) -> float | None:
        """Smallest importance-sampling ESS over components (None if none was sampled)."""
        values = [c.effective_sample_size for c in self.components if c.effective_sample_size]
        return min(values) if values else None


def components(arrays: EvidenceArrays) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components as (claim mask, sampled-source indices); closed-form claims first."""
    n_claims = len(arrays.claim_ids)
    parent = list(range(arrays.n_sampled))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sampled_pairs = arrays.pair_slot >= 0
    for c in range(n_claims):
        slots = arrays.pair_slot[(arrays.pair_claim == c) & sampled_pairs]
        for s in slots[1:]:
            parent[find(int(s))] = find(int(slots[0]))
    roots = sorted({find(s) for s in range(arrays.n_sampled)})
    out = [(~arrays.sampled_claims, np.array([], dtype=int))]
    for root in roots:
        members = np.array([s for s in range(arrays.n_sampled) if find(s) == root])
        mask = np.zeros(n_claims, dtype=bool)
        in_component = sampled_pairs & np.isin(arrays.pair_slot, members)
        mask[arrays.pair_claim[in_component]] = True
        out.append((mask, members))
    return out


def subset(arrays: EvidenceArrays, claim_mask: np.ndarray, members: np.ndarray) -> EvidenceArrays:
    """The arrays restricted to some claims, with sampled sources renumbered to ``members``."""
    pairs = claim_mask[arrays.pair_claim]
    claim_index = np.cumsum(claim_mask) - 1
    remap = np.full(arrays.n_sampled, -1)
    remap[members] = np.arange(len(members))
    slots = arrays.pair_slot[pairs]
    return replace(
        arrays,
        claim_ids=tuple(np.asarray(arrays.claim_ids)[claim_mask]),
        theta=arrays.theta[claim_mask],
        pair_claim=claim_index[arrays.pair_claim[pairs]],
        pair_source=tuple(np.asarray(arrays.pair_source, dtype=object)[pairs]),
        pair_slot=np.array([remap[s] if s >= 0 else -1 for s in slots], dtype=int),
        pair_fixed=arrays.pair_fixed[pairs],
        say_anyway=arrays.say_anyway[pairs],
        direct=arrays.direct[claim_mask],
        sampled_sources=tuple(arrays.sampled_sources[i] for i in members),
        alpha=arrays.alpha[members],
        beta=arrays.beta[members],
    )


def _component_log_likelihood(part: EvidenceArrays, r: np.ndarray) -> np.ndarray:
    out = np.empty((r.shape[0], len(part.hypothesis_ids)))
    for start in range(0, r.shape[0], _CHUNK):
        out[start : start + _CHUNK] = claim_log_likelihood(part, r[start : start + _CHUNK]).sum(-2)
    return out


def quadrature_nodes(part: EvidenceArrays) -> np.ndarray:
    """Gauss-Jacobi nodes per reliability that make the quadrature exact.

    Given h, the component's likelihood is a polynomial in each r_s of degree d_s, the number
    of claims s attests in it (each claim's term is linear in each of its witnesses'
    reliabilities). An n-node Gauss-Jacobi rule integrates degree 2n - 1 exactly against the
    Beta weight, so n_s = floor(d_s / 2) + 1 nodes leave only rounding error.
    """
    sampled = part.pair_slot[part.pair_slot >= 0]
    degree = np.bincount(sampled, minlength=part.n_sampled)
    return degree // 2 + 1


def _quadrature(part: EvidenceArrays, nodes: np.ndarray) -> np.ndarray:
    """log Z[h] by tensor Gauss-Jacobi quadrature over the component's reliabilities."""
    axes_r, axes_w = [], []
    for a, b, n in zip(part.alpha, part.beta, nodes, strict=True):
        x, w = special.roots_jacobi(int(n), b - 1.0, a - 1.0)
        axes_r.append((1.0 + x) / 2.0)
        axes_w.append(np.log(w / w.sum()))
    grid_r = np.stack(np.meshgrid(*axes_r, indexing="ij"), -1).reshape(-1, part.n_sampled)
    grid_w = sum(np.meshgrid(*axes_w, indexing="ij")).reshape(-1)
    log_lik = _component_log_likelihood(part, grid_r)
    return special.logsumexp(log_lik + grid_w[:, None], axis=0)


def _uniforms(sources: tuple[str, ...], n: int, seed: int, stream: str) -> np.ndarray:
    """Uniform draws, one column per source, each from a stream keyed by the source id."""
    columns = [
        np.random.default_rng([seed, zlib.crc32(f"{stream}:{s}".encode())]).random(n)
        for s in sources
    ]
    return np.stack(columns, -1)


def _importance(
    part: EvidenceArrays, log_prior: np.ndarray, draws: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """(Z[h] scaled, covariance of the Z estimate, ESS) by defensive importance sampling."""
    prior = stats.beta(part.alpha, part.beta)
    pilot_n = max(int(draws * _PILOT_FRACTION), 1000)
    pilot = prior.ppf(_uniforms(part.sampled_sources, pilot_n, seed, "pilot"))
    pilot_log_lik = _component_log_likelihood(part, pilot)
    weight = special.logsumexp(pilot_log_lik + log_prior, axis=1)
    weight = np.exp(weight - weight.max())
    weight /= weight.sum()
    mean = weight @ pilot
    var = weight @ (pilot - mean) ** 2 * 2.0 + 1e-6
    common = np.maximum(mean * (1.0 - mean) / var - 1.0, 0.5)
    fitted = stats.beta(np.maximum(mean * common, 0.3), np.maximum((1.0 - mean) * common, 0.3))

    u = _uniforms(part.sampled_sources, draws, seed, "draw")
    choose = _uniforms(("|".join(part.sampled_sources),), draws, seed, "mixture")[:, 0]
    r = np.where((choose < _DEFENSIVE_WEIGHT)[:, None], prior.ppf(u), fitted.ppf(u))
    log_p = prior.logpdf(r).sum(-1)
    log_f = fitted.logpdf(r).sum(-1)
    log_q = np.logaddexp(np.log(_DEFENSIVE_WEIGHT) + log_p, np.log1p(-_DEFENSIVE_WEIGHT) + log_f)
    log_values = _component_log_likelihood(part, r) + (log_p - log_q)[:, None]
    shift = log_values.max()
    values = np.exp(log_values - shift)
    z = values.mean(0)
    covariance = np.atleast_2d(np.cov(values, rowvar=False)) / draws
    mixture = values @ np.exp(log_prior - log_prior.max())
    ess = float(mixture.sum() ** 2 / np.sum(mixture**2))
    return np.log(z) + shift, covariance / np.outer(z, z), ess


def exact_posterior(
    arrays: EvidenceArrays,
    *,
    seed: int = DEFAULT_SEED,
    draws: int = IMPORTANCE_DRAWS,
    max_grid: int = MAX_QUADRATURE_POINTS,
    max_dim: int = MAX_QUADRATURE_DIM,
) -> ExactResult:
    """P(H | E) and its standard error, integrating each component of the evidence.

    A component is integrated by exact quadrature when it has at most ``max_dim`` sampled
    reliabilities or its exact grid has at most ``max_grid`` points; otherwise by
    importance sampling with ``draws`` draws.
    """
    n_hyp = len(arrays.hypothesis_ids)
    log_z = np.zeros(n_hyp)
    relative_covariances = []
    results = []
    certified = True
    for mask, members in components(arrays):
        if not mask.any():
            continue
        part = subset(arrays, mask, members)
        sources, claims = part.sampled_sources, part.claim_ids
        if len(members) == 0:
            log_z += claim_log_likelihood(part).sum(0)
            results.append(ComponentResult(sources, claims, "closed form"))
        elif len(members) <= max_dim or np.prod(quadrature_nodes(part), dtype=float) <= max_grid:
            log_z += _quadrature(part, quadrature_nodes(part))
            results.append(ComponentResult(sources, claims, "quadrature"))
        else:
            part_log_z, rel_cov, ess = _importance(part, arrays.log_prior, draws, seed)
            log_z += part_log_z
            relative_covariances.append(rel_cov)
            certified &= ess >= MIN_IMPORTANCE_ESS
            results.append(ComponentResult(sources, claims, "importance sampling", ess))
    posterior = np.exp(log_softmax(arrays.log_prior + log_z))
    variance = np.zeros(n_hyp)
    for rel_cov in relative_covariances:
        # d p_h / d log Z_j = p_h (delta_hj - p_j); Cov(log Z) ~ relative covariance of Z.
        jacobian = np.diag(posterior) - np.outer(posterior, posterior)
        variance += np.einsum("hj,jk,hk->h", jacobian, rel_cov, jacobian)
    return ExactResult(
        hypothesis_ids=arrays.hypothesis_ids,
        posterior=posterior,
        standard_error=np.sqrt(np.maximum(variance, 0.0)),
        uniform_posterior=np.exp(log_softmax(log_z)),
        log_evidence=log_z,
        components=tuple(results),
        certified=certified,
    )
