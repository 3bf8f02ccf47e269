"""Golden fixed-seed posteriors: exact figures to 1e-9, NUTS figures within their Monte Carlo error.

How the goldens and their MCSEs are made, and why this comparison: ``tests/golden/regenerate.py``.
Bit-identity of draws under one seed is a property of the pinned environment, checked by
``test_same_seed_gives_identical_draws`` in ``test_fit_cli.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
from regenerate import (
    CASES,
    EXACT_COLUMNS,
    EXACT_RTOL,
    HERE,
    MCSE_FLOOR,
    MCSE_MULTIPLE,
    golden_summary,
)


def nuts_figures(summary: dict) -> dict[str, float]:
    """Every NUTS figure in a summary (or its MCSE block), keyed ``hypothesis.column``."""
    out = {
        f"{h}.{column}": value
        for h, row in summary["hypotheses"].items()
        for column, value in row.items()
        if column not in EXACT_COLUMNS
    }
    out |= {f"reliability_mean.{s}": v for s, v in summary["reliability_mean"].items()}
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_fixed_seed_summary_matches_golden(name):
    golden = json.loads((HERE / f"{name}.json").read_text())
    actual = golden_summary(CASES[name])
    assert actual["options"] == golden["options"]
    assert actual["hypotheses"].keys() == golden["hypotheses"].keys()
    assert actual["reliability_mean"].keys() == golden["reliability_mean"].keys()
    for h, row in golden["hypotheses"].items():
        for column in EXACT_COLUMNS:
            assert actual["hypotheses"][h][column] == pytest.approx(row[column], rel=EXACT_RTOL), (
                h,
                column,
            )
    assert actual.keys() == golden.keys()
    for analyst, row in golden.get("analysts", {}).items():
        assert actual["analysts"][analyst] == pytest.approx(row, rel=EXACT_RTOL), analyst
    expected, errors = nuts_figures(golden), nuts_figures(golden["mcse"])
    assert expected.keys() == errors.keys()
    outside = {
        key: (value, expected[key], errors[key])
        for key, value in nuts_figures(actual).items()
        if abs(value - expected[key]) > max(MCSE_MULTIPLE * errors[key], MCSE_FLOOR)
    }
    assert outside == {}
