"""Forecast questions and indicators: predictive P(yes), its spreads, and what to watch next.

For a question with P(yes | h) = q_h, the forecast is P(yes | E) = sum_h P(h | E) q_h. Three
spreads stand beside it, each answering a different question (docs/model.md):

- over the posterior draws of p_H: how far the forecast moves with how far the sources are
  trusted (none for an exact-only fit, which has no draws);
- holding P(h | E) fixed, the question's own judgment ranges: [sum P(h) lo_h, sum P(h) hi_h];
- the evidence's judgment bands, all at once at the ends that raise or lower the forecast
  (:func:`forecast.analysis.robustness.forecast_ranges`).

An indicator's (or an open question's) value as something to watch is the expected
information gain about H from observing it, in bits:
I = H_b(sum_h p_h q_h) - sum_h p_h H_b(q_h).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from forecast.analysis.intervals import weighted_hdi
from forecast.constants import GREEDY_INDICATORS_MAX, HDI_PROB

if TYPE_CHECKING:
    from forecast.spec.schema import QuestionRecord, Spec


@dataclass(frozen=True)
class Forecast:
    """One question's forecast with its spreads and the hypotheses that drive it."""

    question: QuestionRecord
    p_yes: float
    #: HDI of P(yes) over the posterior draws of p_H; None without draws.
    spread: tuple[float, float] | None
    #: [sum P(h) lo_h, sum P(h) hi_h] from the question's own judgment ranges.
    judgment_band: tuple[float, float]
    #: [min, max] of P(yes) with the evidence's judgments at the ends of their bands.
    evidence_band: tuple[float, float] | None
    #: (hypothesis, P(h | E) (q_h - P(yes))), largest in size first.
    drivers: tuple[tuple[str, float], ...]

    @property
    def retrospective(self) -> bool:
        """Written after the date it is asked as of: shown, never scored as skill."""
        return self.question.retrospective


def thetas(items: tuple[QuestionRecord, ...]) -> np.ndarray:
    """P(yes | h) of each item, (K, H)."""
    return np.array([item.theta for item in items], dtype=float).reshape(len(items), -1)


def forecasts(
    spec: Spec,
    posterior: np.ndarray,
    *,
    draws: tuple[np.ndarray, np.ndarray] | None = None,
    evidence_bands: np.ndarray | None = None,
) -> tuple[Forecast, ...]:
    """Every question's forecast from P(h | E) (``posterior``, (H,)).

    ``draws`` are posterior draws of p_H, (M, H), with their weights, (M,) (the pool's, with
    several analysts); ``evidence_bands`` is (Q, 2) from ``forecast_ranges``.
    """
    questions = spec.questions
    q = thetas(questions)
    low = np.array([x.theta_low for x in questions], dtype=float).reshape(q.shape)
    high = np.array([x.theta_high for x in questions], dtype=float).reshape(q.shape)
    p_yes = q @ posterior
    per_draw = None if draws is None else draws[0] @ q.T  # (M, Q)
    out = []
    for k, question in enumerate(questions):
        terms = posterior * (q[k] - p_yes[k])
        order = np.argsort(-np.abs(terms), kind="stable")
        spread = None
        if per_draw is not None and draws is not None:
            spread = weighted_hdi(per_draw[:, k], draws[1], HDI_PROB)
        out.append(
            Forecast(
                question=question,
                p_yes=float(p_yes[k]),
                spread=None if spread is None else (float(spread[0]), float(spread[1])),
                judgment_band=(float(low[k] @ posterior), float(high[k] @ posterior)),
                evidence_band=(
                    None
                    if evidence_bands is None
                    else (float(evidence_bands[k, 0]), float(evidence_bands[k, 1]))
                ),
                drivers=tuple((spec.hypothesis_ids[h], float(terms[h])) for h in order),
            )
        )
    return tuple(out)


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """H_b(p) in bits, 0 at p = 0 and p = 1."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(p * np.log2(p)) - (1 - p) * np.log2(1 - p)
    return np.nan_to_num(terms, nan=0.0)


def information_gain(posterior: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Expected information about H from observing each item, (K,) bits.

    I = H_b(sum_h p_h q_h) - sum_h p_h H_b(q_h): the mutual information of H and the item's
    outcome, observed without error.
    """
    q = np.atleast_2d(q)
    return binary_entropy(q @ posterior) - binary_entropy(q) @ posterior


def greedy_information(
    posterior: np.ndarray, q: np.ndarray, limit: int = GREEDY_INDICATORS_MAX
) -> list[tuple[int, float]]:
    """Items in the order a greedy watcher would pick them, each with its conditional gain.

    At each step the item with the largest I(H; X | the items already picked), the outcomes
    of the picked items summed over exactly (items independent given H); up to ``limit``
    items, since the outcomes double at each pick.
    """
    q = np.atleast_2d(q)
    # Each row: P(h, outcomes so far) for one combination of the picked items' outcomes.
    joint = posterior[None, :].copy()
    own = binary_entropy(q) @ posterior  # sum_h p_h H_b(q_h), the same at every step
    picked: list[tuple[int, float]] = []
    remaining = list(range(len(q)))
    while remaining and len(picked) < limit:
        mass = joint.sum(axis=1)  # P(combination)
        gains = []
        for k in remaining:
            p_yes = (joint @ q[k]) / np.where(mass > 0, mass, 1.0)
            gains.append(float(mass @ binary_entropy(p_yes) - own[k]))
        best = int(np.argmax(gains))
        k = remaining.pop(best)
        picked.append((k, max(gains[best], 0.0)))
        joint = np.concatenate([joint * q[k], joint * (1 - q[k])])
    return picked
