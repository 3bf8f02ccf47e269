"""The figures of an analyst's one-page briefing, drawn from plain tables.

Every function takes pandas DataFrames (and strings) and returns a
``matplotlib.figure.Figure`` drawn without pyplot, so drawing never selects a backend nor
touches a notebook's figures; style goes through ``matplotlib.rc_context`` around the drawing
only. Figures are :data:`WIDTH` inches wide, readable on A4 when saved at :data:`DPI`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.constants import HDI_PROB, ICD203_BANDS
from forecast.report.words import icd203_word, percent

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Width of every figure in inches: an A4 page's text width.
WIDTH = 7.2
#: Resolution the figures are saved at (7.2 in x 150 dpi = 1080 px).
DPI = 150
#: Font sizes in points: body text, and the smallest used (captions, annotations).
FONT = 8.0
SMALL = 7.0
#: Rows drawn at most; beyond, the figure says how many it left out.
MAX_HYPOTHESES = 30
MAX_MATRIX_ROWS = 60
MAX_SOURCES = 40
MAX_QUESTIONS = 40
#: Width of a 0-1 axis in inches (at least), and of one character of small text in points:
#: enough to tell whether a note fits beside its marks.
AXES_INCHES = 4.5
CHAR_POINTS = 4.2
#: Characters of a claim's label in the evidence matrix before an ellipsis.
CLAIM_LABEL_CHARS = 45
#: Columns (hypotheses and the two numbers) a full-width evidence matrix holds; fewer keep
#: their width and leave the rest of the figure empty.
MATRIX_FULL_COLUMNS = 11.5
#: Lines of the timeline drawn bold and coloured: those with the largest final value.
TIMELINE_EMPHASIS = 3

STYLE = {
    "font.size": FONT,
    "axes.titlesize": FONT,
    "axes.labelsize": FONT,
    "figure.titlesize": 9.5,
    "legend.fontsize": SMALL,
    "axes.linewidth": 0.6,
}
BAND_SHADE = "0.93"
MEAN_COLOUR = "#08306b"
HDI_COLOUR = "#4292c6"
ROBUST_COLOUR = "#9ecae1"
UNIFORM_COLOUR = "#cb181d"
PRIOR_COLOUR = "0.55"
JUDGMENT_COLOUR = "#6a51a3"
NOTE_COLOUR = "0.3"
#: The timeline's leading lines, first to third.
EMPHASIS_COLOURS = ("#1f77b4", "#d95f02", "#7570b3")


@contextmanager
def _style() -> Iterator[None]:
    """The figures' style, for the drawing only: no global setting changes."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def _new_figure(height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, height), layout="constrained")


def _shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _wrap(text: str, width: int, lines: int = 3) -> str:
    """``text`` wrapped to ``width`` characters on at most ``lines`` lines."""
    wrapped = textwrap.wrap(str(text), width) or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], _shorten(" ".join(wrapped[lines - 1 :]), width)]
    return "\n".join(wrapped)


def _band_edges() -> list[tuple[float, float]]:
    """ICD-203 bands stretched to 0 and 1: below 1 % still reads "almost no chance"."""
    edges = [(band.low, band.high) for band in ICD203_BANDS]
    edges[0] = (0.0, edges[0][1])
    edges[-1] = (edges[-1][0], 1.0)
    return edges


def _shade_bands(ax: Axes, *, vertical: bool = True) -> None:
    """Shade every other ICD-203 band behind the data (on x, or on y when not vertical)."""
    span = ax.axvspan if vertical else ax.axhspan
    for i, (low, high) in enumerate(_band_edges()):
        if i % 2 == 0:
            span(low, high, color=BAND_SHADE, zorder=0, lw=0)


def _band_words_on_top(ax: Axes) -> None:
    """Name the ICD-203 bands along the top axis, slanted so that narrow bands stay legible."""
    words = ax.secondary_xaxis("top")
    words.set_xticks(
        [(low + high) / 2 for low, high in _band_edges()], [b.word for b in ICD203_BANDS]
    )
    words.tick_params(labelsize=SMALL, colors=NOTE_COLOUR, length=0, pad=1)
    for label in words.get_xticklabels():
        label.set(rotation=30, ha="left", rotation_mode="anchor")


def _probability_axis(ax: Axes, label: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_xticks(np.linspace(0, 1, 11), [percent(x) for x in np.linspace(0, 1, 11)])
    ax.set_xlabel(label)
    ax.tick_params(labelsize=SMALL)


def _caption(ax: Axes, text: str, width: int = 115) -> None:
    """A caption centred on the figure under the x-axis label, inside the constrained layout."""
    ax.annotate(
        _wrap(text, width, lines=6), xy=(0.5, 0), xycoords=("figure fraction", ax.xaxis.label),
        xytext=(0, -4),
        textcoords="offset points", ha="center", va="top", fontsize=SMALL, color=NOTE_COLOUR,
    )  # fmt: skip


def _beside(ax: Axes, y: float, low: float, high: float, text: str, **kwargs: Any) -> None:
    """Print ``text`` on row ``y`` of a 0-1 axis: right of ``high``, else left of ``low``.

    When it fits on neither side, it goes just above the marks' middle.
    """
    width = len(text) * CHAR_POINTS / (AXES_INCHES * 72)  # as a share of the axis
    if high + width <= 0.98:
        at, offset, align, valign = (high, y), (6, 0), "left", "center"
    elif low - width >= 0.02:
        at, offset, align, valign = (low, y), (-6, 0), "right", "center"
    else:
        at, offset, align, valign = ((low + high) / 2, y), (0, 7), "center", "bottom"
    ax.annotate(
        text, at, xytext=offset, textcoords="offset points", ha=align, va=valign,
        fontsize=SMALL, **kwargs,
    )  # fmt: skip


def _legend(fig: Figure, ax: Axes, ncols: int = 3, handles: list[Any] | None = None) -> None:
    """The legend under the figure, clear of the data; ``handles`` default to the axes'."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    if handles:
        fig.legend(
            handles=handles, loc="outside lower center", ncols=min(ncols, len(handles)),
            frameon=False, fontsize=SMALL, handlelength=1.6, columnspacing=1.5,
        )  # fmt: skip


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and np.isfinite(v)]


def posterior_figure(table: pd.DataFrame, *, title: str, as_of: str) -> Figure:
    """P(h | E) per hypothesis: mean, HDI, robust range, prior and uniform-prior result.

    Parameters
    ----------
    table
        Index hypothesis id; columns ``label``, ``mean``, ``hdi_low``, ``hdi_high`` (NaN
        without draws), ``robust_low``, ``robust_high`` (NaN without robustness), ``prior``,
        ``uniform_prior_mean``.
    title
        The figure's title (the model's).
    as_of
        The date the evidence is current to, printed in the caption.
    """
    ranked = table.sort_values("mean", ascending=False, kind="stable")
    shown = ranked.iloc[:MAX_HYPOTHESES]
    n = len(shown)
    y = np.arange(n)[::-1].astype(float)
    with _style():
        fig = _new_figure(2.9 + 0.36 * n)
        ax = fig.subplots()
        _shade_bands(ax)
        robust = shown["robust_low"].notna().to_numpy()
        if robust.any():
            ax.hlines(
                y[robust], shown["robust_low"][robust], shown["robust_high"][robust],
                color=ROBUST_COLOUR, lw=2.5, zorder=2,
                label="robust range (single removals, one claim at a band corner)",
            )  # fmt: skip
        hdi = shown["hdi_low"].notna().to_numpy()
        if hdi.any():
            ax.hlines(
                y[hdi], shown["hdi_low"][hdi], shown["hdi_high"][hdi], color=HDI_COLOUR,
                lw=6, zorder=3, label=f"{HDI_PROB:.0%} HDI".replace("%", " %"),
            )  # fmt: skip
        ax.plot(
            shown["prior"], y, "|", color="k", ms=13, mew=1.6, zorder=4, label="prior",
            ls="none",
        )  # fmt: skip
        ax.plot(
            shown["uniform_prior_mean"], y, "x", color=UNIFORM_COLOUR, ms=6, mew=1.4, zorder=5,
            ls="none", label="posterior under a uniform prior",
        )  # fmt: skip
        ax.plot(
            shown["mean"], y, "o", color=MEAN_COLOUR, mec="white", mew=0.8, ms=7.5, zorder=6,
            ls="none", label="posterior mean P(h | E)",
        )  # fmt: skip
        columns = ["mean", "hdi_low", "hdi_high", "robust_low", "robust_high", "prior"]
        columns.append("uniform_prior_mean")
        for yi, (_, row) in zip(y, shown.iterrows(), strict=True):
            marks = _finite([row[c] for c in columns])
            text = f"{percent(row['mean'])} {icd203_word(row['mean'])}"
            _beside(ax, yi, min(marks), max(marks), text, color=MEAN_COLOUR, weight="bold")
        labels = [_wrap(f"{row.label} ({hid})", 34) for hid, row in shown.iterrows()]
        ax.set_yticks(y, labels)
        ax.tick_params(axis="y", labelsize=FONT, length=0)
        ax.set_ylim(-0.6, n - 0.4)
        _probability_axis(ax, "P(hypothesis | evidence)")
        _band_words_on_top(ax)
        meaning = ["Dot: posterior mean P(h | E), printed with its ICD-203 word"]
        meaning.append(
            f"thick bar: its {HDI_PROB:.0%} HDI".replace("%", " %")
            if hdi.any()
            else "no HDI (the exact engine gives no draws)"
        )
        meaning.append(
            "thin light bar: the robust range" if robust.any() else "no robust range computed"
        )
        meaning += ["|: the prior", "×: the posterior under a uniform prior"]
        notes = [
            f"As of {as_of}.",
            "; ".join(meaning) + ".",
            "Shaded: ICD-203 likelihood bands, named on top.",
        ]
        if len(ranked) > n:
            notes.append(f"{len(ranked) - n} less probable hypotheses not shown.")
        _caption(ax, " ".join(notes))
        fig.suptitle(_wrap(title, 90, lines=2))
        _legend(fig, ax, ncols=3)
    return fig


def _matrix_order(claims: pd.DataFrame) -> tuple[list[str], list[int], set[str]]:
    """Row order of the evidence matrix, where to draw group lines, and the facts' claims.

    Each fact, followed by its claims, by diagnosticity; then the standalone claims.
    """
    kind = claims["kind"].astype(str)
    fact = (
        claims["fact"].fillna("").astype(str)
        if "fact" in claims
        else claims.index.to_series().map(lambda _: "")
    )
    by_diagnosticity = claims.sort_values("diagnosticity", ascending=False, kind="stable").index
    facts = [c for c in by_diagnosticity if kind[c] == "fact"]
    order: list[str] = []
    breaks: list[int] = []
    members: set[str] = set()
    for f in facts:
        claims_of_f = [c for c in by_diagnosticity if kind[c] != "fact" and fact[c] == f]
        order += [f, *claims_of_f]
        members.update(claims_of_f)
        breaks.append(len(order))
    grouped = set(order)
    order += [c for c in by_diagnosticity if c not in grouped]
    return order, [b for b in breaks if b < len(order)], members


def evidence_matrix_figure(claims: pd.DataFrame, hypotheses: pd.DataFrame) -> Figure:
    """The ACH matrix: each claim's log Bayes factor per hypothesis, facts grouped.

    Parameters
    ----------
    claims
        Index claim (or fact) id; columns ``label``, ``kind``, ``fact``, ``witnesses``,
        ``diagnosticity`` and ``lbf_<hypothesis id>`` per hypothesis (natural log, at the
        posterior-mean reliabilities).
    hypotheses
        Index hypothesis id in display order; column ``label``.
    """
    from matplotlib.colors import Normalize

    order, breaks, members = _matrix_order(claims)
    hidden = max(0, len(order) - MAX_MATRIX_ROWS)
    order = order[:MAX_MATRIX_ROWS]
    breaks = [b for b in breaks if b < len(order)]
    ids = list(hypotheses.index)
    rows = claims.loc[order]
    lbf = rows[[f"lbf_{h}" for h in ids]].to_numpy(float)
    limit = max(0.1, float(np.nanmax(np.abs(lbf))) if lbf.size else 0.1)
    n, k = len(order), len(ids)
    labels = []
    for cid, row in rows.iterrows():
        if row["kind"] == "fact":
            labels.append(_shorten(f"fact: {row['label']}", CLAIM_LABEL_CHARS))
        elif cid in members:
            labels.append("   ↳ " + _shorten(row["label"], CLAIM_LABEL_CHARS - 5))
        else:
            labels.append(_shorten(row["label"], CLAIM_LABEL_CHARS))
    header = max((len(str(h)) for h in ids), default=8)
    with _style():
        fig = _new_figure(1.9 + 0.055 * header + 0.19 * max(n, 3))
        columns = k + 2.3
        if columns < MATRIX_FULL_COLUMNS:  # keep cells narrow: leave the rest of the row empty
            grid = fig.add_gridspec(1, 2, width_ratios=[columns, MATRIX_FULL_COLUMNS - columns])
            ax = fig.add_subplot(grid[0, 0])
        else:
            ax = fig.subplots()
        mesh = ax.pcolormesh(
            np.arange(k + 1), np.arange(n + 1), lbf, cmap="RdBu",
            norm=Normalize(-limit, limit), edgecolors="white", linewidth=0.6,
        )  # fmt: skip
        numbers_fit = k <= 10  # a cell's number needs about a tenth of the matrix's width
        for i in range(n):
            for j in range(k):
                value = lbf[i, j]
                if numbers_fit and np.isfinite(value) and abs(value) >= 0.005:
                    ax.text(
                        j + 0.5, i + 0.5, f"{value:+.2f}".replace("-", "−"), ha="center",
                        va="center", fontsize=SMALL,
                        color="white" if abs(value) > 0.6 * limit else "0.15",
                    )  # fmt: skip
            ax.text(k + 0.75, i + 0.5, f"{rows['diagnosticity'].iloc[i]:.2f}", ha="center",
                    va="center", fontsize=SMALL)  # fmt: skip
            ax.text(k + 1.75, i + 0.5, f"{int(rows['witnesses'].iloc[i])}", ha="center",
                    va="center", fontsize=SMALL)  # fmt: skip
        ax.axvline(k, color="0.4", lw=0.8)
        for b in breaks:
            ax.axhline(b, color="0.25", lw=0.8)
        ax.set_xlim(0, k + 2.3)
        ax.set_ylim(n, 0)
        ax.xaxis.tick_top()
        ax.set_xticks(
            [*(np.arange(k) + 0.5), k + 0.75, k + 1.75], [*ids, "diagnosticity", "witnesses"]
        )
        for label in ax.get_xticklabels():
            label.set(rotation=60, ha="left", rotation_mode="anchor")
        ax.set_yticks(np.arange(n) + 0.5, labels)
        ax.tick_params(labelsize=SMALL, length=0)
        for label, (_, row) in zip(ax.get_yticklabels(), rows.iterrows(), strict=True):
            if row["kind"] == "fact":
                label.set_fontweight("bold")
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(mesh, ax=ax, location="bottom", shrink=0.7, aspect=45, pad=0.02)
        bar.set_label(
            "log Bayes factor at posterior-mean reliabilities (natural log):\n"
            "blue for the hypothesis, red against it; 0 moves nothing",
            fontsize=SMALL,
        )
        bar.ax.tick_params(labelsize=SMALL)
        note = (
            "Facts (bold), each followed by its claims (↳, each showing what it adds to the "
            "fact's factor: the fact's factor minus the factor without it), then claims; by "
            "diagnosticity (max minus min over hypotheses of log P(claim | h)). witnesses: "
            "counted witnesses. A blank cell is under ±0.005."
        )
        if hidden:
            note += f" {hidden} less diagnostic rows not shown."
        ax.set_title(_wrap(note, 75, lines=5), fontsize=SMALL, color=NOTE_COLOUR, loc="left")
        fig.suptitle("Evidence against hypotheses (analysis of competing hypotheses)")
    return fig


def reliability_figure(sources: pd.DataFrame) -> Figure:
    """Each source's reliability: the grade's prior against the posterior, or its fixed value.

    Parameters
    ----------
    sources
        Index source id; columns ``name``, ``grade``, ``grade_label``, ``status``,
        ``judgment_reliability``, ``prior_mean``, ``prior_hdi_low``, ``prior_hdi_high`` and
        ``posterior_mean``, ``posterior_hdi_low``, ``posterior_hdi_high`` (NaN without draws).
    """
    from matplotlib.lines import Line2D

    shown = sources.iloc[:MAX_SOURCES]
    n = len(shown)
    y = np.arange(n)[::-1].astype(float)
    hdi = f"{HDI_PROB:.0%}".replace("%", " %")
    legend = {
        "prior": Line2D(
            [], [], color="0.78", lw=7, marker="|", ms=13, mew=2, mec=PRIOR_COLOUR,
            label=f"prior from the grade: {hdi} interval and mean",
        ),
        "posterior": Line2D(
            [], [], color=HDI_COLOUR, lw=2.5, marker="o", ms=6.5, mfc=MEAN_COLOUR,
            mec=MEAN_COLOUR, label=f"posterior: mean and {hdi} HDI",
        ),
        "fixed": Line2D([], [], ls="none", marker="D", color="k", ms=6, label="fixed reliability"),
        "judgment": Line2D(
            [], [], ls="none", marker="D", color=JUDGMENT_COLOUR, ms=6,
            label="fixed judgment reliability (opinions only)",
        ),
    }  # fmt: skip
    drawn: set[str] = set()
    with _style():
        fig = _new_figure(2.2 + 0.34 * max(n, 2))
        ax = fig.subplots()
        for yi, (_, row) in zip(y, shown.iterrows(), strict=True):
            status = str(row["status"])
            if status == "fixed":
                drawn.add("fixed")
                ax.plot(row["prior_mean"], yi, "D", color="k", ms=6)
                _beside(ax, yi, row["prior_mean"], row["prior_mean"], "fixed", color=NOTE_COLOUR)
                continue
            if status.startswith("opinions only"):
                drawn.add("judgment")
                value = row["judgment_reliability"]
                ax.plot(value, yi, "D", color=JUDGMENT_COLOUR, ms=6)
                _beside(
                    ax, yi, value, value, "fixed judgment reliability (opinions only)",
                    color=NOTE_COLOUR,
                )  # fmt: skip
                continue
            drawn.add("prior")
            ax.hlines(yi, row["prior_hdi_low"], row["prior_hdi_high"], color="0.78", lw=7,
                      zorder=2)  # fmt: skip
            ax.plot(row["prior_mean"], yi, "|", color=PRIOR_COLOUR, ms=13, mew=2, zorder=3)
            if np.isfinite(row["posterior_mean"]):
                drawn.add("posterior")
                ax.hlines(yi, row["posterior_hdi_low"], row["posterior_hdi_high"],
                          color=HDI_COLOUR, lw=2.5, zorder=4)  # fmt: skip
                ax.plot(row["posterior_mean"], yi, "o", color=MEAN_COLOUR, ms=6.5, zorder=5)
            else:
                _beside(
                    ax, yi, row["prior_hdi_low"], row["prior_hdi_high"],
                    "no draws (exact engine)", color=NOTE_COLOUR,
                )  # fmt: skip
        labels = [
            _wrap(f"{row['name']} (grade {row['grade']}, {row['grade_label']})", 38)
            for _, row in shown.iterrows()
        ]
        ax.set_yticks(y, labels)
        ax.tick_params(axis="y", labelsize=SMALL, length=0)
        ax.set_ylim(-0.6, n - 0.4)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_xlim(0, 1)
        ax.set_xlabel("reliability: probability the source reports what it saw truly")
        ax.tick_params(axis="x", labelsize=SMALL)
        if len(sources) > n:
            _caption(ax, f"{len(sources) - n} more sources not shown.")
        fig.suptitle("Source reliability: the grade's prior against what the evidence taught")
        _legend(fig, ax, ncols=2, handles=[h for key, h in legend.items() if key in drawn])
    return fig


def _spread_labels(values: np.ndarray, gap: float, low: float, high: float) -> np.ndarray:
    """Label heights near ``values``, at least ``gap`` apart, within [low, high]."""
    order = np.argsort(values, kind="stable")
    placed = values[order].astype(float).copy()
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    if len(placed) and placed[-1] > high:
        placed[-1] = high
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    out = np.empty_like(placed)
    out[order] = np.maximum(placed, low)
    return out


def timeline_figure(steps: pd.DataFrame, hypotheses: pd.DataFrame, *, caption: str) -> Figure:
    """P(h) after each step (prior, dated evidence, fit, updates): one line per hypothesis.

    Parameters
    ----------
    steps
        Index the ordered step labels; one column per hypothesis id, P(h) in [0, 1].
    hypotheses
        Index hypothesis id in display order; column ``label``.
    caption
        Printed under the plot: what the steps are.
    """
    if steps.empty:
        raise ValueError("a timeline needs at least one step")
    ids = [h for h in hypotheses.index if h in steps.columns]
    values = steps[ids].to_numpy(float)
    n = len(steps)
    x = np.arange(n, dtype=float)
    top = float(np.nanmax(values)) if values.size else 0.1
    ymax = 1.0 if top > 0.9 else min(1.0, np.ceil(top * 10 - 1e-9) / 10 + 0.05)
    final = values[-1]
    leaders = np.argsort(-np.nan_to_num(final), kind="stable")[:TIMELINE_EMPHASIS]
    emphasised = {int(j): EMPHASIS_COLOURS[rank] for rank, j in enumerate(leaders)}
    height = 4.4
    axes_points = (height - 1.9) * 72
    gap = ymax * 10 / axes_points  # 10 points between two labels
    label_all = len(ids) * gap <= ymax
    longest = max((len(f"{h} {percent(v)}") for h, v in zip(ids, final, strict=True)), default=8)
    room = 0.9 + longest * 0.055  # inches of labels right of the last step
    axes_inches = WIDTH - 1.4
    right = (n - 1) + max(0.5, (n - 1 + 0.3) * room / max(axes_inches - room, 1.0))
    label_x = (n - 1) + 0.15 * (right - (n - 1))
    with _style():
        fig = _new_figure(height)
        ax = fig.subplots()
        _shade_bands(ax, vertical=False)
        ends, texts, colours = [], [], []
        for j, h in enumerate(ids):
            bold = j in emphasised
            colour = emphasised.get(j, "0.6")
            ax.plot(
                x, values[:, j], marker="o", ms=4 if bold else 2.5, lw=2.2 if bold else 0.9,
                color=colour, zorder=3 if bold else 2,
            )  # fmt: skip
            if (bold or label_all) and np.isfinite(final[j]):
                ends.append(final[j])
                texts.append((f"{h} {percent(final[j])}", bold))
                colours.append(colour if bold else "0.35")
        heights = _spread_labels(np.array(ends, float), gap, 0.0, ymax - gap / 2)
        for end, at, (text, bold), colour in zip(ends, heights, texts, colours, strict=True):
            ax.annotate(
                text, (x[-1], end), xytext=(label_x, at),
                textcoords="data", va="center", fontsize=SMALL, color=colour,
                weight="bold" if bold else "normal",
                arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5, "shrinkA": 0,
                            "shrinkB": 2},
            )  # fmt: skip
        ax.set_xlim(-0.3, right)
        ax.set_ylim(0, ymax)
        ax.set_xticks(x, [str(s) for s in steps.index])
        if any(len(str(s)) > 10 for s in steps.index) or n > 6:
            for label in ax.get_xticklabels():
                label.set(rotation=30, ha="right", rotation_mode="anchor")
        ticks = np.arange(0, ymax + 1e-9, 0.1 if ymax > 0.5 else 0.05)
        ax.set_yticks(ticks, [percent(t) for t in ticks])
        ax.tick_params(labelsize=SMALL)
        ax.set_ylabel("P(hypothesis | evidence so far)")
        words = ax.secondary_yaxis("right")
        visible = [
            ((low + min(high, ymax)) / 2, band.word)
            for (low, high), band in zip(_band_edges(), ICD203_BANDS, strict=True)
            if (min(high, ymax) - low) * axes_points / ymax >= 9
        ]
        words.set_yticks([mid for mid, _ in visible], [word for _, word in visible])
        words.tick_params(labelsize=SMALL, colors=NOTE_COLOUR, length=0)
        note = caption
        if not label_all:
            note += f" Thin grey lines: the other {len(ids) - len(ends)} hypotheses."
        ax.set_xlabel("")
        _caption(ax, note)
        fig.suptitle("P(hypothesis) step by step")
    return fig


def questions_figure(questions: pd.DataFrame) -> Figure:
    """Each forecast question's P(yes) with its three bands, and the outcome once resolved.

    Parameters
    ----------
    questions
        Index question id; columns ``text``, ``p_yes``, ``spread_low``, ``spread_high``,
        ``evidence_low``, ``evidence_high`` (NaN possible), ``judgment_low``,
        ``judgment_high``, ``retrospective``, ``resolution`` ("yes", "no" or missing) and
        ``resolve_by``.
    """
    from forecast.report.questions import SPREAD_LABEL

    shown = questions.iloc[:MAX_QUESTIONS]
    n = len(shown)
    y = np.arange(n)[::-1].astype(float)
    with _style():
        fig = _new_figure(2.3 + 0.38 * max(n, 2))
        ax = fig.subplots()
        _shade_bands(ax)
        seen: set[str] = set()

        def once(label: str, low: float = 0.0, high: float = 1.0) -> str:
            # A band of no width is not drawn to be seen: it gets no legend entry.
            if label in seen or not high > low:
                return "_nolegend_"
            seen.add(label)
            return label

        labels = []
        for yi, (qid, row) in zip(y, shown.iterrows(), strict=True):
            ax.hlines(yi, row["judgment_low"], row["judgment_high"], color="#c7e9c0", lw=10,
                      zorder=2, label=once("band from the question's own judgment ranges",
                                          row["judgment_low"], row["judgment_high"]))  # fmt: skip
            if np.isfinite(row["spread_low"]):
                ax.hlines(yi, row["spread_low"], row["spread_high"], color=HDI_COLOUR, lw=5,
                          zorder=3, label=once(SPREAD_LABEL, row["spread_low"],
                                               row["spread_high"]))  # fmt: skip
            if np.isfinite(row["evidence_low"]):
                ax.hlines(
                    yi, row["evidence_low"], row["evidence_high"], color="k", lw=1, zorder=4,
                    label=once("band from the evidence's judgment ranges"),
                )  # fmt: skip
            ax.plot(row["p_yes"], yi, "o", color=MEAN_COLOUR, mec="white", mew=0.8, ms=7,
                    zorder=5, label=once("P(yes)"))  # fmt: skip
            marks = _finite([row[c] for c in ("p_yes", "spread_low", "spread_high",
                                              "evidence_low", "evidence_high",
                                              "judgment_low", "judgment_high")])  # fmt: skip
            _beside(ax, yi, min(marks), max(marks), percent(row["p_yes"]), color=MEAN_COLOUR,
                    weight="bold")  # fmt: skip
            tags = [f"by {row['resolve_by']}"] if isinstance(row["resolve_by"], str) else []
            if bool(row["retrospective"]):
                tags.append("retrospective")
            resolution = row["resolution"] if isinstance(row["resolution"], str) else None
            if resolution in ("yes", "no"):
                tags.append(f"resolved {resolution}")
                ax.plot(
                    1.0 if resolution == "yes" else 0.0, yi, "s", ms=8, clip_on=False, zorder=6,
                    color="#238b45" if resolution == "yes" else UNIFORM_COLOUR,
                    label=once(f"outcome: resolved {resolution}"),
                )  # fmt: skip
            name = textwrap.fill(str(qid), 42, break_on_hyphens=True)
            labels.append(name + (f"\n({', '.join(tags)})" if tags else ""))
        ax.set_yticks(y, labels)
        ax.tick_params(axis="y", labelsize=SMALL, length=0)
        ax.set_ylim(-0.6, n - 0.4)
        _probability_axis(ax, "P(yes)")
        ax.set_xlim(-0.025, 1.025)  # room for the outcome marks at 0 and 1
        _band_words_on_top(ax)
        if len(questions) > n:
            _caption(ax, f"{len(questions) - n} more questions not shown.")
        fig.suptitle("Forecast questions: P(yes) and how far it could move")
        _legend(fig, ax, ncols=2)
    return fig
