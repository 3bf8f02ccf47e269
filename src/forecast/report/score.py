"""``forecast score``: Brier and log scores of the forecasts the firewall lets be scored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.constants import ICD203_BANDS
from forecast.report.base import Report, plain
from forecast.report.words import percent
from forecast.spec.layout import display_path

if TYPE_CHECKING:
    import pandas as pd

    from forecast.store.forecasts import Scored

#: Central probability of the Jeffreys interval for a bin's observed frequency.
JEFFREYS_PROB = 0.95

ONE_CASE = (
    "The outcomes of one case all depend on the same unknown answer, so one case is close to a "
    "single draw: calibration needs many cases."
)
BACKTEST = "written after the outcomes: not evidence of skill"
#: The calibration figure in ``results/<model>/``; a backtest's has its own name, so it is
#: never taken for a figure of skill.
CALIBRATION_FIGURE = "calibration.png"
BACKTEST_FIGURE = "calibration-retrospective.png"


@dataclass(frozen=True)
class ScoreReport(Report):
    """Every resolved question: its scored forecast, or why none could be scored."""

    model: str
    results: tuple[Scored, ...]
    retrospective: bool = False
    #: The calibration figure written, or None with ``figure_note`` saying why not.
    figure: Path | None = None
    figure_note: str | None = None
    recovered: tuple[str, ...] = ()
    #: Resolved retrospective questions left out of a score of skill.
    left_out: int = 0

    @property
    def scored(self) -> tuple[Scored, ...]:
        """The resolved questions with a forecast the firewall admits."""
        return tuple(r for r in self.results if r.forecast is not None)

    def summary(self) -> dict[str, Any]:
        """Mean scores and skill against the uniform and the prior-only forecasts."""
        rows = self.scored
        if not rows:
            return {"scored": 0}
        brier = float(np.mean([r.brier for r in rows]))
        log = float(np.mean([r.log_score for r in rows]))
        prior_brier = float(np.mean([r.prior_brier for r in rows]))
        prior_log = float(np.mean([r.prior_log_score for r in rows]))
        hypotheses = sorted(rows[0].hypothesis_log_scores())
        return {
            "scored": len(rows),
            "brier": brier,
            "log_score_bits": log,
            "brier_skill_vs_uniform": 1.0 - brier / 0.25,
            "log_skill_vs_uniform_bits": log + 1.0,
            "brier_skill_vs_prior": (None if prior_brier == 0 else 1.0 - brier / prior_brier),
            "log_skill_vs_prior_bits": log - prior_log,
            "hypothesis_log_scores_bits": {
                h: float(sum(r.hypothesis_log_scores()[h] for r in rows)) for h in hypotheses
            },
        }

    def calibration(self) -> list[dict[str, Any]]:
        """Per ICD-203 band: count, mean forecast, observed frequency, Jeffreys interval."""
        from scipy.special import betaincinv  # the Beta quantile, without scipy.stats' import

        out = []
        for band in ICD203_BANDS:
            last = band is ICD203_BANDS[-1]
            rows = [
                r
                for r in self.scored
                if band.low <= r.p_yes < band.high or (last and r.p_yes == band.high)
            ]
            if not rows:
                continue
            n, k = len(rows), sum(r.outcome for r in rows)
            tail = (1 - JEFFREYS_PROB) / 2
            out.append(
                {
                    "band": band.word,
                    "count": n,
                    "mean_forecast": float(np.mean([r.p_yes for r in rows])),
                    "observed": k / n,
                    # Brown, Cai and DasGupta (2001): the interval reaches 0 when nothing
                    # happened and 1 when everything did, so it always holds k / n.
                    "jeffreys_low": 0.0
                    if k == 0
                    else float(betaincinv(k + 0.5, n - k + 0.5, tail)),
                    "jeffreys_high": (
                        1.0 if k == n else float(betaincinv(k + 0.5, n - k + 0.5, 1 - tail))
                    ),
                }
            )
        return out

    def text(self) -> str:
        """Per question, then the summary, the calibration table and what it can show."""
        label = f" ({BACKTEST})" if self.retrospective else ""
        lines = [f"Recovered: {action}" for action in self.recovered]
        lines.append(f"Scores of {self.model}{label}:")
        if not self.results and not self.left_out:
            lines.append("  no resolved question (forecast resolve QID --outcome yes|no --date D)")
        if self.left_out:
            lines.append(
                f"  {self.left_out} resolved retrospective question"
                f"{'s are' if self.left_out > 1 else ' is'} left out: "
                f"{BACKTEST} (forecast score --retrospective scores them as a backtest)"
            )
        for r in self.results:
            outcome = "yes" if r.outcome else "no"
            if r.forecast is None:
                lines.append(f"  {r.question}: {outcome} on {r.date}; not scorable: {r.reason}")
                continue
            lines.append(
                f"  {r.question}: {outcome} on {r.date}; forecast {percent(r.p_yes)} recorded "
                f"{r.forecast['recorded_at']} (evidence to {r.forecast['evidence_cutoff']}); "
                f"Brier {r.brier:.3f}, log score {r.log_score:+.2f} bits"
            )
        summary = self.summary()
        if summary["scored"]:
            prior_skill = summary["brier_skill_vs_prior"]
            lines += [
                "",
                f"Over {summary['scored']} scored: Brier {summary['brier']:.3f} (uniform 0.25; "
                f"skill {summary['brier_skill_vs_uniform']:+.2f}), log score "
                f"{summary['log_score_bits']:+.2f} bits (uniform -1; skill "
                f"{summary['log_skill_vs_uniform_bits']:+.2f} bits).",
                "Against the prior-only forecast sum_h pi_h P(yes | h): Brier skill "
                + ("—" if prior_skill is None else f"{prior_skill:+.2f}")
                + f", log skill {summary['log_skill_vs_prior_bits']:+.2f} bits.",
                "Each hypothesis' own forecasts, summed log score: "
                + ", ".join(
                    f"{h} {v:+.2f}" for h, v in summary["hypothesis_log_scores_bits"].items()
                )
                + " bits.",
                "",
                "Calibration (ICD-203 bands as bins; Jeffreys 95 % interval of the observed "
                "frequency):",
            ]
            for row in self.calibration():
                lines.append(
                    f"  {row['band']:<22} n {row['count']:>3}  forecast "
                    f"{percent(row['mean_forecast']):>6}  observed {percent(row['observed']):>6} "
                    f"({percent(row['jeffreys_low'])} to {percent(row['jeffreys_high'])})"
                )
        lines.append(ONE_CASE)
        if self.figure is not None:
            lines.append(f"Calibration figure: {display_path(self.figure)}")
        elif self.figure_note:
            lines.append(f"No calibration figure: {self.figure_note}")
        return "\n".join(lines)

    def table(self) -> pd.DataFrame:
        """One row per resolved question."""
        import pandas as pd

        rows = []
        for r in self.results:
            row: dict[str, Any] = {
                "question": r.question,
                "outcome": r.outcome,
                "date": r.date.isoformat(),
                "scored": r.forecast is not None,
                "reason": r.reason,
            }
            if r.forecast is not None:
                row |= {
                    "p_yes": r.p_yes,
                    "recorded_at": r.forecast["recorded_at"],
                    "evidence_cutoff": r.forecast["evidence_cutoff"],
                    "brier": r.brier,
                    "log_score_bits": r.log_score,
                }
            rows.append(row)
        frame = pd.DataFrame(rows)
        return frame.set_index("question") if rows else frame

    def to_dict(self) -> dict[str, Any]:
        """Every resolved question, the summary and the calibration table."""
        return {
            "model": self.model,
            "retrospective": self.retrospective,
            "retrospective_left_out": self.left_out,
            "label": BACKTEST if self.retrospective else None,
            "questions": plain(self.table().reset_index().to_dict(orient="records")),
            "summary": self.summary(),
            "calibration": self.calibration(),
            "caution": ONE_CASE,
            "figure": self.figure,
            "figure_note": self.figure_note,
        }
