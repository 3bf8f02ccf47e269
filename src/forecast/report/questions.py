"""``forecast questions`` and ``forecast indicators``: forecasts, their spreads, what to watch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.analysis.questions import (
    Forecast,
    binary_entropy,
    greedy_information,
    information_gain,
    thetas,
)
from forecast.constants import HDI_PROB
from forecast.report.base import Report, plain
from forecast.report.words import icd203_word, percent

if TYPE_CHECKING:
    import pandas as pd

    from forecast.spec.schema import QuestionRecord, Spec

#: Hypotheses named as a question's drivers in the text.
DRIVERS_SHOWN = 3

SPREAD_LABEL = "spread from how far the sources are trusted"


def _range(pair: tuple[float, float] | None) -> str:
    return "—" if pair is None else f"{percent(pair[0])} to {percent(pair[1])}"


@dataclass(frozen=True)
class QuestionsReport(Report):
    """Every forecast question: P(yes) with its word, spreads, drivers and resolution."""

    model: str
    forecasts: tuple[Forecast, ...]
    #: Where P(h | E) came from: the published fit, or an exact pass computed for this report.
    basis: str
    #: The evidence band's method: "exact" (every vertex) or "search" (may be narrower).
    band_method: str
    pooled: bool = False

    @classmethod
    def from_summary(cls, spec: Spec, summary: dict[str, Any]) -> QuestionsReport:
        """The report a fit published in summary.json, for the same spec and questions."""
        stored = summary["questions"]

        def pair(row: dict[str, Any], name: str) -> tuple[float, float] | None:
            low, high = row[f"{name}_low"], row[f"{name}_high"]
            return None if low is None else (float(low), float(high))

        forecasts = []
        for question, row in zip(spec.questions, stored["questions"], strict=True):
            judgment = pair(row, "judgment")
            assert judgment is not None
            forecasts.append(
                Forecast(
                    question=question,
                    p_yes=float(row["p_yes"]),
                    spread=pair(row, "spread"),
                    judgment_band=judgment,
                    evidence_band=pair(row, "evidence"),
                    drivers=tuple((h, float(v)) for h, v in row["drivers"].items()),
                )
            )
        return cls(
            spec.name,
            tuple(forecasts),
            basis=f"{stored['basis']}; published in results/{spec.name}/",
            band_method=stored["evidence_band_method"],
            pooled="analysts" in summary,
        )

    def text(self) -> str:
        """Each question with its forecast, spreads and drivers."""
        if not self.forecasts:
            return f"{self.model} has no forecast questions (models/{self.model}.yaml, questions:)."
        pool = ", pooled over the analysts" if self.pooled else ""
        lines = [
            f"Forecast questions of {self.model} ({len(self.forecasts)}): P(yes) = sum_h "
            f"P(h | E) P(yes | h){pool}; {self.basis}.",
        ]
        for f in self.forecasts:
            q = f.question
            tags = []
            if f.retrospective:
                tags.append("retrospective: written after it could be asked, never scored as skill")
            if q.resolution is not None:
                tags.append(f"resolved {q.resolution} on {q.resolved_on}")
            lines += ["", f"{q.id}" + (f" [{'; '.join(tags)}]" if tags else "")]
            when = f"resolve by {q.resolve_by}" + (f"; opened {q.opened}" if q.opened else "")
            lines.append(f"  {q.text} ({when})")
            lines.append(f"  P(yes) {percent(f.p_yes)} ({icd203_word(f.p_yes)})")
            spread = (
                _range(f.spread) + f" ({HDI_PROB:.0%} HDI over the posterior draws)"
                if f.spread is not None
                else "none: an exact fit has no draws"
            )
            lines.append(f"  {SPREAD_LABEL}: {spread}")
            lines.append(
                f"  from the question's own judgment ranges, P(h | E) held: "
                f"{_range(f.judgment_band)}"
            )
            note = "" if self.band_method == "exact" else " (a search: it may be wider)"
            lines.append(
                f"  with the evidence's judgments at the ends of their bands: "
                f"{_range(f.evidence_band)}{note}"
            )
            drivers = ", ".join(
                f"{h} {100 * term:+.1f} points" for h, term in f.drivers[:DRIVERS_SHOWN]
            )
            lines.append(f"  driven by (P(h | E) (P(yes | h) - P(yes))): {drivers}")
        return "\n".join(lines)

    def table(self) -> pd.DataFrame:
        """One row per question."""
        import pandas as pd

        rows = [self._row(f) for f in self.forecasts]
        frame = pd.DataFrame(rows)
        return frame.set_index("question") if rows else frame

    @staticmethod
    def _row(f: Forecast) -> dict[str, Any]:
        q = f.question
        spread = f.spread or (np.nan, np.nan)
        band = f.evidence_band or (np.nan, np.nan)
        return {
            "question": q.id,
            "text": q.text,
            "opened": q.opened,
            "written_on": q.written_on,
            "resolve_by": q.resolve_by,
            "retrospective": f.retrospective,
            "version": q.version,
            "p_yes": f.p_yes,
            "word": icd203_word(f.p_yes),
            "spread_low": spread[0],
            "spread_high": spread[1],
            "judgment_low": f.judgment_band[0],
            "judgment_high": f.judgment_band[1],
            "evidence_low": band[0],
            "evidence_high": band[1],
            "resolution": q.resolution,
            "resolved_on": q.resolved_on,
            "top_driver": f.drivers[0][0] if f.drivers else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything: the basis, and per question its forecast, spreads and drivers."""
        return {
            "model": self.model,
            "basis": self.basis,
            "evidence_band_method": self.band_method,
            "spread_label": SPREAD_LABEL,
            "questions": [
                {
                    **plain(self._row(f)),
                    "criteria": f.question.criteria,
                    "drivers": dict(f.drivers),
                }
                for f in self.forecasts
            ],
        }


@dataclass(frozen=True)
class IndicatorsReport(Report):
    """Indicators and open questions ranked by the information they would give about H."""

    model: str
    hypothesis_ids: tuple[str, ...]
    posterior: np.ndarray
    items: tuple[QuestionRecord, ...]
    basis: str

    def _gains(self) -> np.ndarray:
        return information_gain(self.posterior, thetas(self.items))

    def _greedy(self) -> list[tuple[int, float]]:
        return greedy_information(self.posterior, thetas(self.items))

    def entropy(self) -> float:
        """The posterior entropy of H in bits: no single item can give more (nor over 1 bit)."""
        p = self.posterior[self.posterior > 0]
        return float(-(p * np.log2(p)).sum())

    def text(self) -> str:
        """The ranking, the greedy order, and what the measure assumes."""
        if not self.items:
            return f"{self.model} has no indicators and no open questions to rank."
        gains = self._gains()
        q = thetas(self.items)
        width = max(len(item.id) for item in self.items)
        lines = [
            f"What to watch or collect next in {self.model}: expected information about the "
            f"answer from observing each item, in bits ({self.basis}).",
            f"  {'rank':>4}  {'item':<{width}}  {'kind':<9} {'bits':>6}  {'P(yes)':>7}",
        ]
        for rank, k in enumerate(np.argsort(-gains, kind="stable"), 1):
            item = self.items[k]
            lines.append(
                f"  {rank:>4}  {item.id:<{width}}  {item.kind:<9} {gains[k]:>6.3f}  "
                f"{percent(float(q[k] @ self.posterior)):>7}"
            )
        greedy = ", ".join(f"{self.items[k].id} {gain:.3f}" for k, gain in self._greedy())
        lines += [
            "",
            f"Greedy order (each item's gain given those before it): {greedy}.",
            f"Posterior entropy of the answer: {self.entropy():.2f} bits; no one item can give "
            "more than this or 1 bit.",
            "The gain assumes the outcome is observed without error. Ranked alone, two "
            "near-duplicate items both rank high; the greedy order counts what they share once.",
        ]
        return "\n".join(lines)

    def table(self) -> pd.DataFrame:
        """One row per item: its gain, its greedy rank and conditional gain, P(yes)."""
        import pandas as pd

        gains = self._gains()
        greedy = {k: (rank, gain) for rank, (k, gain) in enumerate(self._greedy(), 1)}
        q = thetas(self.items)
        rows = [
            {
                "item": item.id,
                "kind": item.kind,
                "bits": gains[k],
                "greedy_rank": greedy.get(k, (None, None))[0],
                "greedy_bits": greedy.get(k, (None, None))[1],
                "p_yes": float(q[k] @ self.posterior),
                "own_entropy_bits": float(binary_entropy(q[k]) @ self.posterior),
            }
            for k, item in enumerate(self.items)
        ]
        frame = pd.DataFrame(rows)
        return frame.set_index("item") if rows else frame

    def to_dict(self) -> dict[str, Any]:
        """The ranking and the greedy order, with the posterior they come from."""
        return {
            "model": self.model,
            "basis": self.basis,
            "posterior": dict(zip(self.hypothesis_ids, self.posterior.tolist(), strict=True)),
            "entropy_bits": self.entropy(),
            "items": plain(self.table().reset_index().to_dict(orient="records")),
            "assumes": "outcomes observed without error; items independent given H",
        }
