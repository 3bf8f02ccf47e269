"""How much each piece of evidence, the prior and the reliabilities move the posterior.

Definitions (see ``docs/model.md``), used by the fit and update reports and the briefing:

- claim term: l_c(h) = log P(attestations of c | h, r*) at the posterior-mean reliabilities r*;
- diagnosticity: D_c = max_h l_c(h) - min_h l_c(h), the log of the largest likelihood ratio
  the claim offers between two hypotheses (0: the claim moves nothing by itself);
- log Bayes factor of c for h: LBF_c(h) = l_c(h) - log sum_{g != h} w_g exp(l_c(g)), with w the
  prior renormalized over the other hypotheses.
"""

from __future__ import annotations

import numpy as np

from forecast.model.likelihood import EvidenceArrays, claim_log_likelihood, log_softmax, subset
from forecast.model.sample import FitResult


def log_bayes_factors(terms: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """LBF_c(h) for claim terms of shape (C, H): each hypothesis against the others."""
    n = terms.shape[-1]
    out = np.empty_like(terms)
    for h in range(n):
        others = np.arange(n) != h
        weights = log_prior[others] - np.logaddexp.reduce(log_prior[others])
        out[:, h] = terms[:, h] - np.logaddexp.reduce(terms[:, others] + weights, axis=-1)
    return out


def uniform_prior_reweighting(result: FitResult) -> tuple[np.ndarray, np.ndarray]:
    """Draws of P(H | E, r) under a uniform prior and their importance weights."""
    arrays = result.arrays
    log_lik = result.draw_log_likelihood
    n = log_lik.shape[1]
    uniform = np.full(n, -np.log(n))
    log_weight = np.logaddexp.reduce(log_lik + uniform, axis=1) - np.logaddexp.reduce(
        log_lik + arrays.log_prior, axis=1
    )
    weights = np.exp(log_weight - log_weight.max())
    return np.exp(log_softmax(log_lik + uniform)), weights / weights.sum()


def fixed_reliability_posterior(
    arrays: EvidenceArrays, reliability: dict[str, float]
) -> np.ndarray:
    """P(H | E, r) at given reliabilities (by source id)."""
    r = np.array([reliability[s] for s in arrays.sampled_sources])
    log_joint = arrays.log_prior + claim_log_likelihood(arrays, r).sum(axis=0)
    return np.exp(log_softmax(log_joint))


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), with p clipped so that 0 and 1 stay finite."""
    p = np.clip(p, 1e-300, 1.0 - 1e-16)
    return np.log(p) - np.log1p(-p)


def fact_claim_shares(arrays: EvidenceArrays, reliability: np.ndarray) -> dict[str, np.ndarray]:
    """Per claim in a fact: its share of the fact's log Bayes factors at given reliabilities.

    The share is the fact's LBF minus the fact's LBF without that claim (a fact whose only
    claim is left out has LBF 0). The shares of a fact's claims need not add up to the fact's
    LBF: the claims enter together, not one by one.
    """
    terms = claim_log_likelihood(arrays, reliability)
    lbf = log_bayes_factors(terms, arrays.log_prior)
    n_claims = len(arrays.claim_ids)
    everyone = np.arange(arrays.n_sampled)
    shares = {}
    for i in np.flatnonzero(arrays.facts >= 0):
        fact = arrays.facts[i]
        keep = np.ones(n_claims, dtype=bool)
        keep[i] = False
        rest = subset(arrays, keep, everyone)
        without = np.zeros(len(arrays.hypothesis_ids))
        if arrays.fact_ids[fact] in rest.fact_ids:
            rest_terms = claim_log_likelihood(rest, reliability)
            row = len(rest.claim_ids) + rest.fact_ids.index(arrays.fact_ids[fact])
            without = log_bayes_factors(rest_terms[row : row + 1], arrays.log_prior)[0]
        shares[arrays.claim_ids[i]] = lbf[n_claims + fact] - without
    return shares
