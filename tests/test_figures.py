"""The briefing's figures: drawn from plain tables without pyplot, readable at A4 width."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import png_size
from forecast.report import figures

HYPOTHESES = pd.DataFrame(
    {"label": ["A storm closed the port", "A strike held the crew", "Something else"]},
    index=["storm", "strike", "other"],
)


def _saved(fig, path) -> tuple[int, int]:
    """Save at the briefing's resolution; the size must suit an A4 page."""
    fig.savefig(path, dpi=figures.DPI)
    width, height = png_size(path)
    assert 700 <= width <= 1200 and 300 <= height <= 3000, (width, height)
    return width, height


def _rows_top_down(ax) -> list[str]:
    """The y tick labels from the top row down, each on one line."""
    ticks = sorted(zip(ax.get_yticks(), ax.get_yticklabels(), strict=True), key=lambda t: t[0])
    if not ax.yaxis_inverted():
        ticks.reverse()
    return [label.get_text().replace("\n", " ") for _, label in ticks]


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text)]


def _posterior_table(robust: bool = True, hdi: bool = True) -> pd.DataFrame:
    table = HYPOTHESES.assign(
        mean=[0.41, 0.52, 0.07],
        hdi_low=[0.35, 0.45, 0.04],
        hdi_high=[0.47, 0.6, 0.1],
        robust_low=[0.28, 0.24, 0.06],
        robust_high=[0.65, 0.65, 0.17],
        prior=[0.5, 0.3, 0.2],
        uniform_prior_mean=[0.28, 0.6, 0.12],
    )
    if not robust:
        table[["robust_low", "robust_high"]] = np.nan
    if not hdi:
        table[["hdi_low", "hdi_high"]] = np.nan
    return table


def test_posterior_figure_ranks_hypotheses_by_mean_and_names_each(tmp_path):
    fig = figures.posterior_figure(_posterior_table(), title="Why was the ferry late?",
                                   as_of="2025-03-03")  # fmt: skip
    _saved(fig, tmp_path / "p_H.png")
    rows = _rows_top_down(fig.axes[0])
    assert rows == [
        "A strike held the crew (strike)",
        "A storm closed the port (storm)",
        "Something else (other)",
    ]
    texts = _texts(fig)
    assert fig.get_suptitle() == "Why was the ferry late?"
    assert any(t.startswith("As of 2025-03-03.") for t in texts)
    assert "52 % roughly even chance" in texts and "7 % very unlikely" in texts
    labels = fig.legends[0].get_texts()
    assert {t.get_text() for t in labels} >= {"94 % HDI", "prior", "posterior mean P(h | E)"}


def test_posterior_figure_says_when_there_are_no_draws_and_no_robustness(tmp_path):
    table = _posterior_table(robust=False, hdi=False)
    fig = figures.posterior_figure(table, title="t", as_of="undated")
    _saved(fig, tmp_path / "p_H.png")
    caption = next(t for t in _texts(fig) if t.startswith("As of undated."))
    assert "no HDI" in caption and "no robust range" in caption.replace("\n", " ")
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert "94 % HDI" not in legend and not any("robust" in t for t in legend)


def _claims() -> pd.DataFrame:
    rows = [
        ("quiet-harbour", "The harbour was quiet all morning", "act", "", 1, 0.9),
        ("strike-fact", "The crew was on strike", "fact", "strike-fact", 3, 1.3),
        ("union-notice", "The union posted a strike notice", "statement", "strike-fact", 2, 0.4),
        ("crew-absent", "No crew member came to work that day", "act", "strike-fact", 1, 0.8),
        ("storm-fact", "A storm passed over the port", "fact", "storm-fact", 1, 0.2),
        ("gale-log", "The log records a gale " + "at sea " * 12, "act", "storm-fact", 1, 0.2),
        ("owner-view", "The owners blame the weather", "opinion", "", 1, 0.1),
    ]
    frame = pd.DataFrame(
        rows, columns=["claim", "label", "kind", "fact", "witnesses", "diagnosticity"]
    ).set_index("claim")
    rng = np.random.default_rng(3)
    for h in HYPOTHESES.index:
        frame[f"lbf_{h}"] = rng.normal(0, 0.5, len(frame))
    return frame


def test_evidence_matrix_puts_each_fact_s_claims_right_after_it(tmp_path):
    claims = _claims()
    fig = figures.evidence_matrix_figure(claims, HYPOTHESES)
    _saved(fig, tmp_path / "evidence.png")
    ax = fig.axes[0]
    rows = _rows_top_down(ax)
    assert rows[:3] == [
        "fact: The crew was on strike",
        "   ↳ No crew member came to work that day",
        "   ↳ The union posted a strike notice",
    ]
    assert rows[3:5] == [
        "fact: A storm passed over the port",
        "   ↳ The log records a gale at sea at sea at…",
    ]
    assert rows[5:] == ["The harbour was quiet all morning", "The owners blame the weather"]
    assert max(len(r.strip()) for r in rows) <= figures.CLAIM_LABEL_CHARS
    [mesh] = ax.collections
    assert mesh.norm.vmax > 0 and mesh.norm.vmin == -mesh.norm.vmax  # diverging, centred on 0
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns == ["storm", "strike", "other", "diagnosticity", "witnesses"]
    colour_bar = fig.axes[1]
    assert "log Bayes factor" in colour_bar.get_xlabel()


def test_evidence_matrix_stays_sane_with_two_hypotheses_and_three_claims(tmp_path):
    claims = _claims().loc[["quiet-harbour", "owner-view", "strike-fact"]]
    fig = figures.evidence_matrix_figure(claims, HYPOTHESES.loc[["storm", "strike"]])
    _, height = _saved(fig, tmp_path / "evidence.png")
    assert height < 800
    assert len(_rows_top_down(fig.axes[0])) == 3


def _sources() -> pd.DataFrame:
    nan = np.nan
    rows = [
        ("correspondent", "The correspondent", "C", "fairly reliable", "sampled", 0.2, 0.6,
         0.33, 0.87, 0.72, 0.5, 0.9),
        ("officials", "Harbour officials", "D", "not usually reliable",
         "sampled (exact engine: no draws)", 0.1, 0.375, 0.09, 0.67, nan, nan, nan),
        ("log", "The ship's log", "B", "usually reliable", "fixed", 0.3, 0.9, nan, nan, nan,
         nan, nan),
        ("pundit", "A pundit with a very long name that must be wrapped", "F",
         "reliability cannot be judged", "opinions only (judgment reliability)", 0.1, 0.5,
         0.1, 0.9, nan, nan, nan),
    ]  # fmt: skip
    columns = [
        "source", "name", "grade", "grade_label", "status", "judgment_reliability",
        "prior_mean", "prior_hdi_low", "prior_hdi_high", "posterior_mean",
        "posterior_hdi_low", "posterior_hdi_high",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).set_index("source")


def test_reliability_figure_has_a_row_per_source_opinion_only_ones_too(tmp_path):
    fig = figures.reliability_figure(_sources())
    _saved(fig, tmp_path / "reliability.png")
    ax = fig.axes[0]
    rows = _rows_top_down(ax)
    assert len(rows) == 4
    assert rows[0] == "The correspondent (grade C, fairly reliable)"
    assert rows[3].startswith("A pundit") and rows[3].endswith("cannot be judged)")
    assert ax.get_xlabel() == "reliability: probability the source reports what it saw truly"
    assert ax.get_xlim() == (0, 1)
    texts = _texts(fig)
    for note in ("fixed", "fixed judgment reliability (opinions only)", "no draws (exact engine)"):
        assert note in texts
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert "posterior: mean and 94 % HDI" in legend


def _steps() -> pd.DataFrame:
    labels = ["prior", "undated", "2025-03-01", "2025-03-03", "fit", "update 1 (2025-04-01)"]
    values = [
        [0.5, 0.3, 0.2],
        [0.45, 0.35, 0.2],
        [0.4, 0.45, 0.15],
        [0.35, 0.55, 0.1],
        [0.41, 0.52, 0.07],
        [0.3, 0.66, 0.04],
    ]
    return pd.DataFrame(values, index=labels, columns=["storm", "strike", "other"])


def test_timeline_draws_one_line_per_hypothesis_labelled_at_its_end(tmp_path):
    steps = _steps()
    fig = figures.timeline_figure(steps, HYPOTHESES, caption="P(H) after each update.")
    _saved(fig, tmp_path / "timeline.png")
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == len(steps)]
    assert len(lines) == 3
    assert [tuple(line.get_ydata()) for line in lines] == [
        tuple(steps[h]) for h in HYPOTHESES.index
    ]
    texts = _texts(fig)
    assert {"strike 66 %", "storm 30 %", "other 4 %"} <= set(texts)
    assert "P(H) after each update." in texts
    assert [t.get_text() for t in ax.get_xticklabels()] == list(steps.index)


def test_timeline_labels_only_the_leaders_when_too_many_lines_crowd(tmp_path):
    ids = [f"h{i:02d}" for i in range(30)]
    rng = np.random.default_rng(0)
    values = rng.dirichlet(np.ones(30), size=4)
    steps = pd.DataFrame(values, index=["prior", "a", "b", "fit"], columns=ids)
    hypotheses = pd.DataFrame({"label": ids}, index=ids)
    fig = figures.timeline_figure(steps, hypotheses, caption="Many.")
    _saved(fig, tmp_path / "timeline.png")
    labelled = [t for t in _texts(fig) if t.startswith("h") and t.endswith("%")]
    assert len(labelled) == figures.TIMELINE_EMPHASIS
    assert any("the other 27 hypotheses" in t for t in _texts(fig))


def _questions(n: int = 3) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "question": f"will-the-ferry-sail-again-before-the-end-of-the-month-{i}",
                "text": "Will the ferry sail again?",
                "p_yes": 0.15 + 0.7 * i / max(n - 1, 1),
                "spread_low": 0.1 + 0.7 * i / max(n - 1, 1),
                "spread_high": 0.2 + 0.7 * i / max(n - 1, 1),
                "evidence_low": np.nan if i == 0 else 0.05,
                "evidence_high": np.nan if i == 0 else 0.95,
                "judgment_low": 0.1,
                "judgment_high": 0.3,
                "retrospective": i == 1,
                "resolution": {1: "yes", 2: "no"}.get(i),
                "resolve_by": "2025-12-31",
            }
        )
    return pd.DataFrame(rows).set_index("question")


def test_questions_figure_marks_resolved_questions_and_retrospective_ones(tmp_path):
    fig = figures.questions_figure(_questions())
    _saved(fig, tmp_path / "questions.png")
    ax = fig.axes[0]
    rows = _rows_top_down(ax)
    assert rows[0].endswith("(by 2025-12-31)")
    assert rows[1].endswith("(by 2025-12-31, retrospective, resolved yes)")
    assert rows[2].endswith("(by 2025-12-31, resolved no)")
    outcomes = {
        (float(line.get_xdata()[0]), float(line.get_ydata()[0]))
        for line in ax.get_lines()
        if line.get_marker() == "s"
    }
    assert outcomes == {(1.0, 1.0), (0.0, 0.0)}  # yes at 1 on row 2, no at 0 on row 3
    assert ax.get_xlabel() == "P(yes)"
    assert {"15 %", "50 %", "85 %"} <= set(_texts(fig))


def test_questions_figure_fits_twenty_five_questions(tmp_path):
    fig = figures.questions_figure(_questions(25))
    _, height = _saved(fig, tmp_path / "questions.png")
    assert height <= 2000
    assert len(_rows_top_down(fig.axes[0])) == 25


def test_drawing_figures_changes_neither_rc_params_nor_the_backend(tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    before = dict(matplotlib.rcParams)
    drawn = [
        figures.posterior_figure(_posterior_table(), title="t", as_of="2025-03-03"),
        figures.evidence_matrix_figure(_claims(), HYPOTHESES),
        figures.reliability_figure(_sources()),
        figures.timeline_figure(_steps(), HYPOTHESES, caption="c"),
        figures.questions_figure(_questions()),
    ]
    for i, fig in enumerate(drawn):
        fig.savefig(tmp_path / f"{i}.png", dpi=figures.DPI)
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == before


def test_an_exact_fit_writes_both_figures_and_its_tables_draw_every_one(mini_project, cli):
    result = cli("fit", "--method", "exact")
    assert result.exit_code == 0, result.stderr
    out = mini_project / "results" / "mini"
    for name in ("p_H.png", "reliability.png"):  # reliability too: priors and fixed values
        width, height = png_size(out / name)
        assert 700 <= width <= 1200 and 300 <= height <= 3000, (name, width, height)
    summary = json.loads((out / "summary.json").read_text())
    table = pd.read_csv(out / "summary.csv", index_col="hypothesis")
    robust = summary["robustness"]["robust_range"]
    table["robust_low"] = [robust[h]["low"] for h in table.index]
    table["robust_high"] = [robust[h]["high"] for h in table.index]
    fig = figures.posterior_figure(table, title="Ferry", as_of=summary["as_of"])
    _saved(fig, mini_project / "p.png")
    means = table["mean"].sort_values(ascending=False)
    assert [r.rsplit("(", 1)[1].rstrip(")") for r in _rows_top_down(fig.axes[0])] == list(
        means.index
    )
    hypotheses = table[["label"]]
    claims = pd.read_csv(out / "claims.csv", index_col="claim", keep_default_na=False)
    claims["label"] = claims.index
    fig = figures.evidence_matrix_figure(claims, hypotheses)
    _saved(fig, mini_project / "evidence.png")
    rows = _rows_top_down(fig.axes[0])
    for fact in claims.index[claims["kind"] == "fact"]:
        members = set(claims.index[(claims["fact"] == fact) & (claims["kind"] != "fact")])
        start = rows.index(f"fact: {fact}")
        assert {r.removeprefix("   ↳ ") for r in rows[start + 1 : start + 1 + len(members)]} == (
            members
        )
    sources = pd.read_csv(out / "sources.csv", index_col="source")
    sources["name"] = sources.index
    fig = figures.reliability_figure(sources)
    _saved(fig, mini_project / "reliability.png")
    assert len(_rows_top_down(fig.axes[0])) == len(sources)
    assert "opinions only (judgment reliability)" in set(sources["status"])
    steps = pd.DataFrame([table["prior"], table["mean"]], index=["prior", "fit"])
    _saved(figures.timeline_figure(steps, hypotheses, caption="c"), mini_project / "t.png")


@pytest.mark.parametrize("text, width", [("short", 10), ("a much longer text here", 10)])
def test_shortened_labels_end_in_an_ellipsis_within_their_width(text, width):
    short = figures._shorten(text, width)
    assert len(short) <= width
    assert short == text or short.endswith("…")
