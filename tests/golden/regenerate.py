"""Regenerate the golden fixed-seed summaries, deliberately, after an intended change.

    python tests/golden/regenerate.py

The golden test compares a fresh fit with these files exactly (bit-identical under the
pinned versions in constraints.txt); a difference means the draws changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CASES = {
    "mini": REPO / "tests" / "fixtures" / "mini" / "models" / "mini.yaml",
    "azerbaijan-2025": REPO / "models" / "azerbaijan-2025.yaml",
}
COLUMNS = ["mean", "sd", "hdi_low", "hdi_high", "uniform_prior_mean", "exact"]


def golden_summary(model_path: Path) -> dict:
    """Fixed-seed, small-draw fit summarised to the numbers the golden files hold."""
    from forecast.model.sample import FitOptions, fit
    from forecast.report.posterior import FitReport
    from forecast.spec.rules import load_spec

    options = FitOptions(draws=200, tune=200, chains=2, cores=1, seed=20250705)
    result = fit(load_spec(model_path), options)
    table = FitReport(result).table()
    reliability = result.idata.posterior["reliability"]
    return {
        "options": {"draws": 200, "tune": 200, "chains": 2, "seed": 20250705},
        "hypotheses": {str(h): {c: float(row[c]) for c in COLUMNS} for h, row in table.iterrows()},
        "reliability_mean": {
            str(s): float(v)
            for s, v in zip(
                reliability.source.values, reliability.mean(("chain", "draw")).values, strict=True
            )
        },
    }


def main() -> None:
    for name, path in CASES.items():
        out = HERE / f"{name}.json"
        out.write_text(json.dumps(golden_summary(path), indent=2, sort_keys=True) + "\n")
        print(f"wrote {out.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
