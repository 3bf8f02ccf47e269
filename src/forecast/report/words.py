"""Probabilities in the words analysts use: ICD-203 likelihood words and percentages.

Kept free of NumPy and pandas so that ``forecast check`` can use it and still start at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from forecast.constants import ICD203_BANDS


def icd203_word(probability: float) -> str:
    """ICD-203 word for p (<1 %: almost no chance; >99 %: almost certain)."""
    for band in ICD203_BANDS:
        if probability < band.high:
            return band.word
    return ICD203_BANDS[-1].word


def percent(probability: float) -> str:
    """A probability as a percentage, keeping small tails visible."""
    if math.isnan(probability):
        return "—"
    value = 100 * probability
    if 0 < value < 0.1:
        return "<0.1 %"
    if 99.9 < value < 100:
        return ">99.9 %"
    if 0 < value < 1 or 99 < value < 100:
        return f"{value:.1f} %"
    return f"{value:.0f} %"


def percent_range(low: float, high: float) -> str:
    """A range of probabilities as "19–39 %", with a decimal when its ends round alike."""
    left, right = percent(low), percent(high)
    if left == right and low != high:
        left, right = f"{100 * low:.1f} %", f"{100 * high:.1f} %"
    return f"{left.removesuffix(' %')}–{right}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, plural unless n is 1: ``1 source``, ``3 hypotheses``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def analyst_rows(
    hypothesis_ids: Sequence[str],
    analysts: Sequence[Any],
    posteriors: Sequence[Sequence[float]],
    pooled: Sequence[float],
) -> list[str]:
    """Each analyst's P(h | E) and their pool as aligned rows under a hypothesis header.

    ``analysts`` have an ``id`` and a ``coverage`` (e.g. "32/32").
    """
    columns = " ".join(f"{h[:10]:>10}" for h in hypothesis_ids)
    lines = [f"  {'analyst':<14} {'judged':>7}  {columns}"]
    for analyst, posterior in zip(analysts, posteriors, strict=True):
        values = " ".join(f"{percent(p):>10}" for p in posterior)
        lines.append(f"  {analyst.id:<14} {analyst.coverage:>7}  {values}")
    values = " ".join(f"{percent(p):>10}" for p in pooled)
    lines.append(f"  {'pooled':<14} {'':>7}  {values}")
    return lines
