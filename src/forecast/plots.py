"""Posterior figures for briefings, written as PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forecast.constants import HDI_PROB, ICD203_BANDS
from forecast.report import PosteriorReport
from forecast.sample import FitResult, import_arviz


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def hypothesis_figure(result: FitResult):
    """P(H | E) per hypothesis with its 94 % HDI, the prior and the uniform-prior posterior."""
    plt = _pyplot()
    table = PosteriorReport(result).table()
    labels = [f"{row.label}\n({hid})" for hid, row in table.iterrows()]
    y = np.arange(len(table))[::-1]
    fig, ax = plt.subplots(figsize=(8.5, 0.6 * len(table) + 1.8), layout="constrained")
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
    _pyplot()
    az = import_arviz()
    axes = az.plot_forest(
        result.idata,
        var_names=["reliability"],
        combined=True,
        hdi_prob=HDI_PROB,
        figsize=(7, 0.5 * result.arrays.n_sampled + 1.5),
    )
    fig = axes[0].figure
    axes[0].set_title("Source reporting reliability (posterior)")
    return fig


def write_plots(result: FitResult, folder: Path) -> list[Path]:
    """Write ``p_H.png`` (and ``reliability.png`` for NUTS fits) into ``folder``."""
    plt = _pyplot()
    written = []
    fig = hypothesis_figure(result)
    path = folder / "p_H.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)
    if result.idata is not None:
        fig = reliability_figure(result)
        path = folder / "reliability.png"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
