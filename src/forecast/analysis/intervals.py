"""Highest-density intervals: of weighted draws, and of a Beta law."""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from forecast.constants import HDI_PROB


def weighted_hdi(
    values: np.ndarray, weights: np.ndarray, prob: float = HDI_PROB
) -> tuple[float, float]:
    """Shortest interval holding ``prob`` of the weighted draws."""
    order = np.argsort(values)
    sorted_values = values[order]
    cumulative = np.cumsum(weights[order]) / np.sum(weights)
    best = (sorted_values[0], sorted_values[-1])
    start_mass = np.concatenate([[0.0], cumulative[:-1]])
    ends = np.searchsorted(cumulative, start_mass + prob - 1e-12)
    valid = ends < len(values)
    if valid.any():
        starts = np.nonzero(valid)[0]
        widths = sorted_values[ends[valid]] - sorted_values[starts]
        i = int(np.argmin(widths))
        best = (sorted_values[starts[i]], sorted_values[ends[valid][i]])
    return float(best[0]), float(best[1])


def beta_hdi(alpha: float, beta: float, prob: float = HDI_PROB) -> tuple[float, float]:
    """Highest-density interval of a Beta law."""
    law = stats.beta(alpha, beta)
    result = optimize.minimize_scalar(
        lambda lower: law.ppf(lower + prob) - law.ppf(lower),
        bounds=(0.0, 1.0 - prob),
        method="bounded",
    )
    lower = float(result.x)
    return float(law.ppf(lower)), float(law.ppf(lower + prob))
