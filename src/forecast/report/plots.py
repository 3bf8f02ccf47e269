"""Posterior figures for briefings, written as PNG files.

Figures are ``matplotlib.figure.Figure`` objects drawn without pyplot, so drawing never
selects a backend or registers a figure with pyplot: a notebook's inline figures keep working.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from forecast.constants import ICD203_BANDS

if TYPE_CHECKING:  # the calibration figure needs none of the model's weight
    import pandas as pd

    from forecast.report.posterior import FitReport
    from forecast.report.score import ScoreReport


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _posterior_table(report: FitReport) -> pd.DataFrame:
    """The fit's hypotheses table with the robust range beside it (NaN without robustness)."""
    table = report.table()
    table["robust_low"] = table["robust_high"] = np.nan
    if report.sensitivity is not None:
        ranges = report.sensitivity.robust_range()
        for i, h in enumerate(report.sensitivity.hypothesis_ids):
            table.loc[h, ["robust_low", "robust_high"]] = ranges[i]
    return table


def _sources_table(report: FitReport) -> pd.DataFrame:
    """The fit's sources table with each source's name."""
    sources = report.sources()
    spec_sources = report.result.spec.sources
    sources["name"] = [spec_sources[s].source.name for s in sources.index]
    return sources


def calibration_figure(report: ScoreReport):
    """Observed frequency against mean forecast per ICD-203 band, with Jeffreys intervals.

    Each scored forecast is also marked at its outcome (0 or 1), so a bin of one is seen as
    one. The caption says why one case cannot show calibration.
    """
    from forecast.report.score import BACKTEST, JEFFREYS_PROB, ONE_CASE

    rows = report.calibration()
    fig = _figure(figsize=(6.5, 6.2), layout="constrained")
    ax = fig.subplots()
    for i, band in enumerate(ICD203_BANDS):
        if i % 2 == 0:
            ax.axvspan(band.low, band.high, color="0.93", zorder=0)
    words = ax.secondary_xaxis("top")
    words.set_xticks([(b.low + b.high) / 2 for b in ICD203_BANDS], [b.word for b in ICD203_BANDS])
    words.tick_params(labelsize=7, colors="0.35", length=0, labelrotation=30)
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="perfect calibration")
    forecasts = np.array([r.p_yes for r in report.scored])
    outcomes = np.array([r.outcome for r in report.scored], dtype=float)
    ax.plot(forecasts, outcomes, "|", color="k", ms=12, mew=1.2, label="one scored forecast")
    if rows:
        x = np.array([r["mean_forecast"] for r in rows])
        y = np.array([r["observed"] for r in rows])
        low = np.array([r["jeffreys_low"] for r in rows])
        high = np.array([r["jeffreys_high"] for r in rows])
        ax.errorbar(
            x, y, yerr=[y - low, high - y], fmt="o", color="C0", ms=7, capsize=4,
            label=f"observed frequency, Jeffreys {JEFFREYS_PROB:.0%} interval",
        )  # fmt: skip
        for row, xi, yi in zip(rows, x, y, strict=True):
            ax.annotate(
                f"n={row['count']}", (xi, yi), xytext=(6, -10), textcoords="offset points",
                fontsize=8,
            )  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.04, 1.04)
    ax.set_xlabel("forecast P(yes), mean in each ICD-203 band (shaded)")
    ax.set_ylabel("observed frequency of yes")
    fig.legend(loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    title = f"Calibration of {report.model}: {len(report.scored)} scored forecasts"
    if report.retrospective:
        title += f"\n(backtest, {BACKTEST})"
    fig.suptitle(title, fontsize=10)
    ax.set_title(textwrap.fill(ONE_CASE, 100), fontsize=7, color="0.25")
    return fig


def figure_png(fig, dpi: int = 120) -> bytes:
    """A figure as PNG bytes, for a file written atomically or a page that embeds it."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def write_plots(report: FitReport, folder: Path) -> list[Path]:
    """Write ``p_H.png`` and ``reliability.png`` (the briefing's figures) into ``folder``."""
    from forecast.report.figures import DPI, posterior_figure, reliability_figure

    spec = report.result.spec
    figures = {
        "p_H.png": posterior_figure(
            _posterior_table(report), title=spec.title, as_of=str(spec.as_of() or "undated")
        ),
        "reliability.png": reliability_figure(_sources_table(report)),
    }
    written = []
    for name, fig in figures.items():
        path = folder / name
        fig.savefig(path, dpi=DPI)
        written.append(path)
    return written
