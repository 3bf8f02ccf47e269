"""P(H | E) without MCMC: the cross-check for every NUTS fit.

Given h, claims that share no sampled reliability are independent, so the evidence splits into
connected components of the source-claim graph. For each component and hypothesis the marginal
likelihood Z[h] = E_prior[prod_c P(attestations of c | h, r)] is computed

- in closed form when the component has no sampled reliability,
- by tensor Gauss-Jacobi quadrature, exact for this polynomial integrand, when it has at most
  ``MAX_QUADRATURE_DIM`` sampled reliabilities or its exact grid is small,
- by importance sampling otherwise, from a multivariate t around the Laplace approximation of
  the reliabilities' posterior (logit scale), re-centred twice on importance-weighted moments
  and mixed with the prior. Uniforms come from streams keyed by source id (common random
  numbers), so a change elsewhere in the model leaves a component's draws unchanged. The
  standard error is propagated by the delta method; below ``MIN_IMPORTANCE_ESS`` effective
  draws the result is not certified.

Then P(h | E) = softmax(log prior[h] + sum over components of log Z[h]).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from forecast.constants import (
    DEFAULT_SEED,
    IMPORTANCE_DRAWS,
    MAX_QUADRATURE_DIM,
    MAX_QUADRATURE_POINTS,
    MIN_IMPORTANCE_ESS,
)
from forecast.model.likelihood import (
    EvidenceArrays,
    claim_log_likelihood,
    hypothesis_log_likelihood,
    log_softmax,
    subset,
)

_DEFENSIVE_WEIGHT = 0.1
_T_DOF = 5.0
_SCALE_INFLATION = 1.1
_FIRST_DRAWS = 10_000
_PILOT_DRAWS = 5_000
_ADAPTATIONS = 2


def log_sum_exp(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``, shifted by the maximum (NumPy only: called often)."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x - top), axis=axis)) + np.squeeze(top, axis=axis)


@dataclass(frozen=True)
class Integrator:
    """One component's integral as a weighted sum: Z[h] = sum_n exp(log_weights[n]) L(h, r_n).

    ``nodes`` (N, S) are reliabilities of ``sources`` (the component's sampled sources):
    Gauss-Jacobi nodes with normalized weights (exact for the component's likelihood and for
    any with fewer claims or sources), importance draws with weights p / (N q) (unbiased for
    any likelihood of these reliabilities), or one empty node for a closed form. Keeping them
    lets a perturbed model be integrated without new nodes or draws.
    """

    method: str
    sources: tuple[str, ...]
    claims: frozenset[str]
    nodes: np.ndarray
    log_weights: np.ndarray

    def reweighted(self, source: str, old: tuple[float, float], new: tuple[float, float]):
        """The same draws, reweighted from one source's Beta prior ``old`` to ``new``.

        Unbiased for importance sampling; for quadrature use :func:`quadrature` on the new
        prior instead, since the density ratio is not a polynomial.
        """
        r = self.nodes[:, self.sources.index(source)]
        shift = stats.beta(*new).logpdf(r) - stats.beta(*old).logpdf(r)
        return replace(self, log_weights=self.log_weights + shift)

    def integrate(self, part: EvidenceArrays) -> tuple[np.ndarray, np.ndarray | None, float | None]:
        """(log Z[h], relative covariance of Z or None, ESS or None) for ``part``.

        ``part`` holds some of this component's claims; its sampled sources must be among the
        component's. Quadrature and closed forms are exact; importance sampling carries its
        error and effective sample size.
        """
        log_likelihood = hypothesis_log_likelihood(part, self.reliabilities(part))
        return self.weighted_sum(log_likelihood, part.log_prior)

    def reliabilities(self, part: EvidenceArrays) -> np.ndarray:
        """The nodes' reliabilities of ``part``'s sampled sources: (N, S_part)."""
        return self.nodes[:, [self.sources.index(s) for s in part.sampled_sources]]

    def weighted_sum(
        self, log_likelihood: np.ndarray, log_prior: np.ndarray, error: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, float | None]:
        """:meth:`integrate` from log P(E | h, r_n) at the nodes, shape (N, H).

        Without ``error``, only log Z (the covariance costs O(N H^2)).
        """
        log_values = log_likelihood + self.log_weights[:, None]
        if self.method != "importance sampling" or not error:
            return log_sum_exp(log_values, axis=0), None, None
        draws = len(self.log_weights)
        shift = log_values.max()
        values = np.exp(log_values - shift) * draws
        z_hat = values.mean(0)
        covariance_z = np.atleast_2d(np.cov(values, rowvar=False)) / draws
        mixture = values @ np.exp(log_prior - log_prior.max())
        ess = float(mixture.sum() ** 2 / np.sum(mixture**2)) if mixture.any() else 0.0
        scale_z = np.outer(z_hat, z_hat)
        # A hypothesis whose Z underflows has posterior 0 and contributes nothing to the error.
        relative = np.divide(covariance_z, scale_z, out=np.zeros_like(scale_z), where=scale_z > 0)
        with np.errstate(divide="ignore"):
            return np.log(z_hat) + shift, relative, ess


@dataclass(frozen=True)
class ComponentResult:
    """How one connected component of the evidence was integrated."""

    sources: tuple[str, ...]
    claims: tuple[str, ...]
    method: str
    effective_sample_size: float | None = None
    integrator: Integrator | None = None


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

    # The claims of one fact enter the likelihood together: their reliabilities join one
    # component even when they share no source.
    facts = arrays.facts
    group = np.where(facts >= 0, n_claims + facts, np.arange(n_claims))
    sampled_pairs = arrays.pair_slot >= 0
    pair_group = group[arrays.pair_claim]
    for g in np.unique(pair_group[sampled_pairs]):
        slots = arrays.pair_slot[(pair_group == g) & sampled_pairs]
        for s in slots[1:]:
            parent[find(int(s))] = find(int(slots[0]))
    roots = sorted({find(s) for s in range(arrays.n_sampled)})
    out = [(~arrays.sampled_claims, np.array([], dtype=int))]
    for root in roots:
        members = np.array([s for s in range(arrays.n_sampled) if find(s) == root])
        in_component = sampled_pairs & np.isin(arrays.pair_slot, members)
        mask = np.isin(group, pair_group[in_component])
        out.append((mask, members))
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


def quadrature(part: EvidenceArrays, nodes: np.ndarray) -> Integrator:
    """Tensor Gauss-Jacobi quadrature over the component's reliabilities."""
    axes_r, axes_w = [], []
    for a, b, n in zip(part.alpha, part.beta, nodes, strict=True):
        x, w = special.roots_jacobi(int(n), b - 1.0, a - 1.0)
        axes_r.append((1.0 + x) / 2.0)
        axes_w.append(np.log(w / w.sum()))
    grid_r = np.stack(np.meshgrid(*axes_r, indexing="ij"), -1).reshape(-1, part.n_sampled)
    grid_w = sum(np.meshgrid(*axes_w, indexing="ij")).reshape(-1)
    return Integrator("quadrature", part.sampled_sources, frozenset(part.claim_ids), grid_r, grid_w)


def _uniforms(sources: tuple[str, ...], n: int, seed: int, stream: str) -> np.ndarray:
    """Uniform draws, one column per source, each from a stream keyed by the source id."""
    columns = [
        np.random.default_rng([seed, zlib.crc32(f"{stream}:{s}".encode())]).random(n)
        for s in sources
    ]
    return np.stack(columns, -1)


def _log_prior_logit(part: EvidenceArrays, z: np.ndarray) -> np.ndarray:
    """log density of the Beta priors in logit space (Jacobian included), summed: shape (N,)."""
    log_r, log_1mr = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
    return (part.alpha * log_r + part.beta * log_1mr - special.betaln(part.alpha, part.beta)).sum(
        -1
    )


def _log_target(part: EvidenceArrays, log_prior: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Unnormalized log posterior of logit reliabilities, H marginalized: shape (N,)."""
    log_lik = hypothesis_log_likelihood(part, special.expit(z))
    return _log_prior_logit(part, z) + special.logsumexp(log_lik + log_prior, axis=1)


def _laplace(part: EvidenceArrays, log_prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mode and covariance of the logit-reliability posterior (finite differences, batched)."""
    n = part.n_sampled
    step = 1e-4

    def negative(z: np.ndarray) -> float:
        return -float(_log_target(part, log_prior, z[None, :])[0])

    def gradient(z: np.ndarray) -> np.ndarray:
        points = np.concatenate([z + step * np.eye(n), z - step * np.eye(n)])
        values = -_log_target(part, log_prior, points)
        return (values[:n] - values[n:]) / (2 * step)

    start = special.logit(part.alpha / (part.alpha + part.beta))
    mode = optimize.minimize(negative, start, jac=gradient, method="L-BFGS-B").x
    h = 1e-3
    eye = np.eye(n)
    i, j = np.triu_indices(n)
    shifts = [(+1, +1), (+1, -1), (-1, +1), (-1, -1)]
    points = np.concatenate([mode + h * (a * eye[i] + b * eye[j]) for a, b in shifts])
    values = _log_target(part, log_prior, points).reshape(4, -1)
    upper = (values[0] - values[1] - values[2] + values[3]) / (4 * h * h)
    hessian = np.zeros((n, n))
    hessian[i, j] = upper
    hessian[j, i] = upper
    eigenvalues, vectors = np.linalg.eigh(-hessian)
    eigenvalues = np.clip(eigenvalues, 1e-2, None)
    covariance = (vectors / eigenvalues) @ vectors.T
    return mode, covariance


def _importance_once(
    part: EvidenceArrays,
    log_prior: np.ndarray,
    mode: np.ndarray,
    covariance: np.ndarray,
    draws: int,
    seed: int,
    moments: bool = False,
) -> Any:
    """One importance-sampling pass; with ``moments``, the weighted mean and covariance of z."""
    sources = part.sampled_sources
    scale = _SCALE_INFLATION**2 * covariance
    chol = np.linalg.cholesky(scale)
    normal = special.ndtri(_uniforms(sources, draws, seed, "normal"))
    key = ("|".join(sources),)
    chi2 = stats.chi2.ppf(_uniforms(key, draws, seed, "chi2")[:, 0], _T_DOF)
    from_t = mode + (normal @ chol.T) * np.sqrt(_T_DOF / chi2)[:, None]
    prior = stats.beta(part.alpha, part.beta)
    from_prior = special.logit(prior.ppf(_uniforms(sources, draws, seed, "prior")))
    defensive = _uniforms(key, draws, seed, "mixture")[:, 0] < _DEFENSIVE_WEIGHT
    z = np.where(defensive[:, None], from_prior, from_t)
    log_p = _log_prior_logit(part, z)
    log_t = stats.multivariate_t(loc=mode, shape=scale, df=_T_DOF).logpdf(z)
    log_q = np.logaddexp(np.log(_DEFENSIVE_WEIGHT) + log_p, np.log1p(-_DEFENSIVE_WEIGHT) + log_t)
    if not moments:
        return Integrator(
            "importance sampling",
            sources,
            frozenset(part.claim_ids),
            special.expit(z),
            log_p - log_q - np.log(draws),
        )
    log_values = hypothesis_log_likelihood(part, special.expit(z)) + (log_p - log_q)[:, None]
    values = np.exp(log_values - log_values.max())
    weight = values @ np.exp(log_prior - log_prior.max())
    weight /= weight.sum()
    mean = weight @ z
    centred = z - mean
    return mean, (centred * weight[:, None]).T @ centred + 1e-9 * np.eye(len(mean))


def _importance(
    part: EvidenceArrays, log_prior: np.ndarray, draws: int, seed: int
) -> tuple[Integrator, tuple[np.ndarray, np.ndarray, float]]:
    """The importance-sampling integrator and its (log Z[h], relative covariance, ESS).

    The proposal is a multivariate t around the Laplace approximation of the reliabilities'
    posterior (in logit space), mixed with the prior so that weights stay bounded. Draws
    double from ``_FIRST_DRAWS`` until the effective sample size is comfortably above the
    certification floor, or ``draws`` is reached.
    """
    center, covariance = _laplace(part, log_prior)
    for _ in range(_ADAPTATIONS):
        # Re-centre on the importance-weighted moments: the posterior is skewed on the logit
        # scale, so its mean and spread fit better than the mode and curvature do.
        pilot = _importance_once(part, log_prior, center, covariance, _PILOT_DRAWS, seed, True)
        center, covariance = pilot
    n = min(draws, _FIRST_DRAWS)
    while True:
        integrator = _importance_once(part, log_prior, center, covariance, n, seed)
        result = integrator.integrate(part)
        if result[2] >= 2 * MIN_IMPORTANCE_ESS or n >= draws:
            return integrator, result
        n = min(2 * n, draws)


def posterior_standard_error(
    posterior: np.ndarray, relative_covariances: list[np.ndarray]
) -> np.ndarray:
    """Delta-method standard error of P(h | E) from the components' relative covariances.

    d p_h / d log Z_j = p_h (delta_hj - p_j), and Cov(log Z) is about the relative covariance
    of the Z estimate.
    """
    variance = np.zeros(len(posterior))
    jacobian = np.diag(posterior) - np.outer(posterior, posterior)
    for relative in relative_covariances:
        variance += np.einsum("hj,jk,hk->h", jacobian, relative, jacobian)
    return np.sqrt(np.maximum(variance, 0.0))


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
            closed = Integrator("closed form", (), frozenset(claims), np.zeros((1, 0)), np.zeros(1))
            results.append(ComponentResult(sources, claims, "closed form", integrator=closed))
        elif len(members) <= max_dim or np.prod(quadrature_nodes(part), dtype=float) <= max_grid:
            integrator = quadrature(part, quadrature_nodes(part))
            log_z += integrator.integrate(part)[0]
            results.append(ComponentResult(sources, claims, "quadrature", integrator=integrator))
        else:
            integrator, (part_log_z, rel_cov, ess) = _importance(
                part, arrays.log_prior, draws, seed
            )
            log_z += part_log_z
            relative_covariances.append(rel_cov)
            certified &= ess >= MIN_IMPORTANCE_ESS
            results.append(ComponentResult(sources, claims, "importance sampling", ess, integrator))
    posterior = np.exp(log_softmax(arrays.log_prior + log_z))
    return ExactResult(
        hypothesis_ids=arrays.hypothesis_ids,
        posterior=posterior,
        standard_error=posterior_standard_error(posterior, relative_covariances),
        uniform_posterior=np.exp(log_softmax(log_z)),
        log_evidence=log_z,
        components=tuple(results),
        certified=certified,
    )
