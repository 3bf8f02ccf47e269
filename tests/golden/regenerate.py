"""Regenerate the golden fixed-seed summaries, deliberately, after an intended change.

    python tests/golden/regenerate.py

Each file holds a fixed-seed, small-draw fit of one model: per hypothesis the columns in
``COLUMNS``, the posterior mean of every sampled reliability, and under ``mcse`` the Monte
Carlo standard error of every NUTS figure. The golden test compares what is meaningful:

- ``exact`` (the exact engine, no draws) to 1e-9 relative: it is deterministic; so is
  ``analysts``, with several analysts each one's exact P(h | E) and their pool, the headline;
- every NUTS figure within ``MCSE_MULTIPLE`` of its golden MCSE (or ``MCSE_FLOOR``): a
  change of library version that changes the draws but not the posterior still passes,
  a change of the posterior does not.

How each MCSE is computed (ArviZ, over the fit's chains and draws):

- ``mean``, ``reliability_mean``: ``az.mcse(method="mean")``;
- ``sd``: ``az.mcse(method="sd")``;
- ``hdi_low``, ``hdi_high``: an HDI end is a draw, the k-th smallest of n, so a sample
  quantile at tail probability (k - 1/2) / n; its error is taken as
  ``az.mcse(method="quantile")`` at that probability (never 0 or 1, even when the end is the
  smallest draw). This leaves out the small shift of the HDI's position between runs, which
  the multiple and the floor cover;
- ``uniform_prior_mean``: a self-normalized importance-weighted mean sum w p / sum w. To
  first order its error is that of the plain mean of w (p - mean) / mean(w), whose MCSE
  ``az.mcse(method="mean")`` gives with the draws' autocorrelation taken into account.

Under the pinned versions in constraints.txt the same seed gives bit-identical draws (a slow
test checks that in one process), so regenerating leaves the figures unchanged; review the
diff all the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CASES = {
    "mini": REPO / "tests" / "fixtures" / "mini" / "models" / "mini.yaml",
    "azerbaijan-2025": REPO / "models" / "azerbaijan-2025.yaml",
}
COLUMNS = ["mean", "sd", "hdi_low", "hdi_high", "uniform_prior_mean", "exact"]
#: Columns computed by the exact engine without draws: compared to ``EXACT_RTOL``.
EXACT_COLUMNS = ["exact"]
EXACT_RTOL = 1e-9
#: NUTS figures must lie within this many golden MCSEs, or within the floor.
MCSE_MULTIPLE = 4.0
MCSE_FLOOR = 1e-3
OPTIONS = {"draws": 200, "tune": 200, "chains": 2, "seed": 20250705}


def golden_summary(model_path: Path) -> dict:
    """Fixed-seed, small-draw fit summarised to the numbers the golden files hold."""
    from forecast.model.sample import FitOptions, fit
    from forecast.report.posterior import FitReport
    from forecast.spec.rules import load_spec

    result = fit(load_spec(model_path), FitOptions(**OPTIONS, cores=1))
    table = FitReport(result).table()
    reliability = result.idata.posterior["reliability"]
    summary = {
        "options": OPTIONS,
        "hypotheses": {str(h): {c: float(row[c]) for c in COLUMNS} for h, row in table.iterrows()},
        "reliability_mean": {
            str(s): float(v)
            for s, v in zip(
                reliability.source.values, reliability.mean(("chain", "draw")).values, strict=True
            )
        },
        "mcse": monte_carlo_errors(result, table),
    }
    if result.spec.analysts:
        summary["analysts"] = analysts_exact(result)
    return summary


def analysts_exact(result) -> dict:
    """Each analyst's exact P(h | E) and their equal-weight pool (the headline): no draws."""
    from forecast.analysis.analysts import analyst_posteriors

    analysts = analyst_posteriors(result.spec, result.arrays, result.exact, seed=OPTIONS["seed"])
    rows = {
        a.id: dict(zip(analysts.hypothesis_ids, map(float, p), strict=True))
        for a, p in zip(analysts.analysts, analysts.posteriors, strict=True)
    }
    rows["pooled"] = dict(zip(analysts.hypothesis_ids, map(float, analysts.pooled), strict=True))
    return rows


def monte_carlo_errors(result, table) -> dict:
    """MCSE of every NUTS figure in the summary, as described in the module docstring."""
    from forecast.analysis.influence import uniform_prior_reweighting
    from forecast.compat import constant_draws_quiet, import_arviz, library_settings

    az = import_arviz()
    posterior = result.idata.posterior
    p = posterior["p_H"].values  # (chain, draw, hypothesis)
    chains, draws = p.shape[:2]
    up, weights = uniform_prior_reweighting(result)
    weights = weights / weights.mean()
    hypotheses = {}
    with library_settings(), constant_draws_quiet():
        mean = az.mcse(result.idata, var_names=["p_H"], method="mean")["p_H"].values
        sd = az.mcse(result.idata, var_names=["p_H"], method="sd")["p_H"].values
        for i, (h, row) in enumerate(table.iterrows()):
            x = p[..., i]
            n = x.size
            tails = {
                "hdi_low": (np.sum(x < row["hdi_low"]) + 0.5) / n,
                "hdi_high": (np.sum(x <= row["hdi_high"]) - 0.5) / n,
            }
            linearized = weights * (up[:, i] - row["uniform_prior_mean"])
            errors = {
                "mean": mean[i],
                "sd": sd[i],
                **{
                    end: az.mcse(x, method="quantile", prob=float(tail))
                    for end, tail in tails.items()
                },
                "uniform_prior_mean": az.mcse(linearized.reshape(chains, draws)),
            }
            # ArviZ gives a float or a one-element array for a (chain, draw) array.
            hypotheses[str(h)] = {k: float(np.nan_to_num(np.squeeze(v))) for k, v in errors.items()}
        reliability = az.mcse(result.idata, var_names=["reliability"])["reliability"]
    return {
        "hypotheses": hypotheses,
        "reliability_mean": {
            str(s): float(np.nan_to_num(v))
            for s, v in zip(reliability.source.values, reliability.values, strict=True)
        },
    }


def main() -> None:
    for name, path in CASES.items():
        out = HERE / f"{name}.json"
        out.write_text(json.dumps(golden_summary(path), indent=2, sort_keys=True) + "\n")
        print(f"wrote {out.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
