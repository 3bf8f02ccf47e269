"""Posterior figures for briefings, written as PNG files.

Figures are ``matplotlib.figure.Figure`` objects drawn without pyplot, so drawing never
selects a backend or registers a figure with pyplot: a notebook's inline figures keep working.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forecast.compat import plot_forest
from forecast.constants import HDI_PROB, ICD203_BANDS
from forecast.model.sample import FitResult
from forecast.report.posterior import FitReport


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def hypothesis_figure(result: FitResult):
    """P(H | E) per hypothesis with its 94 % HDI, the prior and the uniform-prior posterior."""
    table = FitReport(result).table()
    labels = [f"{row.label}\n({hid})" for hid, row in table.iterrows()]
    y = np.arange(len(table))[::-1]
    fig = _figure(figsize=(8.5, 0.6 * len(table) + 1.8), layout="constrained")
    ax = fig.subplots()
    for i, band in enumerate(ICD203_BANDS):
        if i % 2 == 0:
            ax.axvspan(band.low, band.high, color="0.93", zorder=0)
    words = ax.secondary_xaxis("top")
    words.set_xticks([(b.low + b.high) / 2 for b in ICD203_BANDS], [b.word for b in ICD203_BANDS])
    words.tick_params(labelsize=7, colors="0.35", length=0, labelrotation=30)
    has_hdi = not table["hdi_low"].isna().any()
    if has_hdi:
        ax.hlines(
            y, table["hdi_low"], table["hdi_high"], color="C0", lw=3, label=f"{HDI_PROB:.0%} HDI"
        )
    ax.plot(table["mean"], y, "o", color="C0", ms=8, label="posterior mean")
    ax.plot(table["prior"], y, "|", color="k", ms=14, mew=2, label="prior")
    ax.plot(table["uniform_prior_mean"], y, "x", color="C3", ms=7, label="posterior, uniform prior")
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(hypothesis | evidence); shaded: ICD-203 bands")
    fig.suptitle(result.spec.title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def reliability_figure(result: FitResult):
    """Forest plot of sampled source reliabilities (ArviZ)."""
    fig = _figure(figsize=(7, 0.5 * result.arrays.n_sampled + 1.5))
    ax = fig.subplots()
    plot_forest(result.idata, "reliability", HDI_PROB, ax)
    ax.set_title("Source reporting reliability (posterior)")
    return fig


def write_plots(result: FitResult, folder: Path) -> list[Path]:
    """Write ``p_H.png`` (and ``reliability.png`` for NUTS fits) into ``folder``."""
    written = []
    path = folder / "p_H.png"
    hypothesis_figure(result).savefig(path, dpi=120)
    written.append(path)
    if result.idata is not None:
        path = folder / "reliability.png"
        reliability_figure(result).savefig(path, dpi=120, bbox_inches="tight")
        written.append(path)
    return written
