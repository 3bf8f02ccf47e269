"""Golden fixed-seed posteriors: the same seed gives the same draws, bit for bit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
from regenerate import CASES, HERE, golden_summary


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixed_seed_summary_matches_golden(name):
    expected = json.loads((HERE / f"{name}.json").read_text())
    actual = json.loads(json.dumps(golden_summary(CASES[name]), sort_keys=True))
    # Exact equality: the pinned versions make draws bit-identical across runs and processes.
    assert actual == expected
