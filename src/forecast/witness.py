"""The unreliable-witness formula, on the ground floor: validation and the model both need it.

For a claim c with judgments theta[c, h] = P(c true | h), attested by distinct, non-derived
sources i with reliability r_i and "would say it anyway" rate a_i:

    P(attestations of c | h) = theta[c, h] * prod_i (r_i + (1 - r_i) a_i)
                             + (1 - theta[c, h]) * prod_i ((1 - r_i) a_i)

It is written once, over an array namespace ``xp`` (NumPy or PyTensor), so the opinion caps
that ``forecast check`` enforces and the likelihood that the engines integrate cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: Reliabilities are clipped below 1 so that log(1 - r) stays finite.
R_MAX = 1.0 - 1e-12


def witness_log_likelihood(
    theta: Any,
    pair_reliability: Any,
    say_anyway: Any,
    claim_sum: Callable[[Any], Any],
    xp: Any = np,
) -> Any:
    """log P(attestations of c | h) for every claim and hypothesis: shape (..., C, H).

    ``pair_reliability`` has shape (..., K); ``claim_sum`` sums pair values into claims.
    """
    noise, gap = witness_sums(pair_reliability, say_anyway, claim_sum, xp)
    return claim_terms(theta, noise, gap, xp)


def witness_sums(
    pair_reliability: Any, say_anyway: Any, claim_sum: Callable[[Any], Any], xp: Any = np
) -> tuple[Any, Any]:
    """Per claim: S_noise = sum_i log((1 - r_i) a_i) and the gap S_track - S_noise, (..., C).

    S_track = sum_i log(r_i + (1 - r_i) a_i) is the log-probability of the attestations when the
    claim is true, S_noise when it is false.
    """
    r = xp.clip(pair_reliability, 0.0, R_MAX)
    log_track = xp.log(r + (1.0 - r) * say_anyway)
    log_noise = xp.log1p(-r) + xp.log(say_anyway)
    noise = claim_sum(log_noise)
    return noise, claim_sum(log_track) - noise


def claim_terms(theta: Any, noise: Any, gap: Any, xp: Any = np) -> Any:
    """log(theta * exp(S_track) + (1 - theta) * exp(S_noise)): shape (..., C, H).

    Written as S_noise + log1p(theta * expm1(gap)), which stays finite when theta is 0 or 1.
    """
    return noise[..., None] + xp.log1p(theta * xp.expm1(gap)[..., None])


def one_claim_log_likelihood(
    theta: np.ndarray, reliability: np.ndarray, say_anyway: np.ndarray
) -> np.ndarray:
    """log P(attestations of one claim | h) for its witnesses at fixed reliabilities: (H,)."""
    return witness_log_likelihood(
        np.asarray(theta, dtype=float)[None, :],
        np.atleast_1d(np.asarray(reliability, dtype=float)),
        np.atleast_1d(np.asarray(say_anyway, dtype=float)),
        sum_into_one_claim,
    )[0]


def sum_into_one_claim(values: np.ndarray) -> np.ndarray:
    """Sum all pairs into a single claim: shape (..., K) -> (..., 1)."""
    return values.sum(axis=-1, keepdims=True)
