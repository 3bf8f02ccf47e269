"""Probabilities in the words analysts use: ICD-203 likelihood words and percentages.

Kept free of NumPy and pandas so that ``forecast check`` can use it and still start at once.
"""

from __future__ import annotations

import math

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


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, plural unless n is 1: ``1 source``, ``3 hypotheses``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
