"""``forecast judges``: every analyst's judgments, where they disagree, and their agreement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.constants import ALPHA_INTERVAL, IF_FALSE_KEY, IF_TRUE_KEY
from forecast.report.base import Report
from forecast.report.words import analyst_rows, percent

if TYPE_CHECKING:
    import pandas as pd

    from forecast.analysis.judges import Agreement, Item, JudgesResult

#: Items listed in the text, most consequential disagreement first.
TEXT_ROWS = 10


def _alpha(agreement: Agreement) -> str:
    if np.isnan(agreement.alpha):
        return f"not defined (cells judged by two or more analysts: {agreement.cells})"
    return (
        f"{agreement.alpha:.2f} ({ALPHA_INTERVAL:.0%} bootstrap over claims "
        f"{agreement.low:.2f} to {agreement.high:.2f}; {agreement.cells} cells)"
    )


@dataclass(frozen=True)
class JudgesReport(Report):
    """The analysts side by side: who, how much they judged, where they differ, alpha."""

    result: JudgesResult
    model: str

    def _columns(self, item: Item) -> tuple[str, ...]:
        if item.kind == "sign":
            return (IF_TRUE_KEY, IF_FALSE_KEY)
        return self.result.hypothesis_ids

    def table(self) -> pd.DataFrame:
        """One row per judged value: item, kind, column, each analyst's value, spread, swing."""
        import pandas as pd

        analysts = [a.id for a in self.result.analysts]
        rows = []
        for item in self.result.items:
            for j, column in enumerate(self._columns(item)):
                row: dict[str, Any] = {"item": item.id, "kind": item.kind, "of": column}
                row |= {a: item.values[k, j] for k, a in enumerate(analysts)}
                row |= {
                    "lbf_spread": item.lbf_spread,
                    "pooled_leader_low": item.swing[0],
                    "pooled_leader_high": item.swing[1],
                }
                rows.append(row)
        return pd.DataFrame(rows).set_index(["item", "of"])

    def to_dict(self) -> dict[str, Any]:
        """Everything: analysts, every item's values, spreads and swings, and alpha."""
        r = self.result
        return {
            "model": self.model,
            "leader": r.leader,
            "pooled": dict(zip(r.hypothesis_ids, r.pooled.tolist(), strict=True)),
            "analysts": [
                {
                    "id": a.id,
                    "judged_by": a.names,
                    "blind": a.blind,
                    "coverage": a.coverage,
                    "posterior": dict(zip(r.hypothesis_ids, p.tolist(), strict=True)),
                }
                for a, p in zip(r.analysts, r.posteriors, strict=True)
            ],
            "items": [
                {
                    "id": item.id,
                    "kind": item.kind,
                    "values": {
                        a.id: dict(zip(self._columns(item), item.values[k].tolist(), strict=True))
                        for k, a in enumerate(r.analysts)
                    },
                    "lbf_spread": item.lbf_spread,
                    "pooled_leader": {"low": item.swing[0], "high": item.swing[1]},
                    "pooled_leader_by": {"low": item.swing_by[0], "high": item.swing_by[1]},
                }
                for item in r.ranked()
            ],
            "alpha": {
                "judgments": vars(r.alpha),
                "centred_log_judgments": vars(r.alpha_direction),
                "not_blind": list(r.not_blind),
            },
        }

    def text(self) -> str:
        """Analysts, the items whose disagreement moves the answer most, and alpha."""
        r = self.result
        lines = [f"Analysts of {self.model} ({len(r.analysts)}):"]
        for a in r.analysts:
            blind = "" if a.blind is None else ("; blind" if a.blind else "; NOT blind")
            lines.append(f"  {a.id:<14} {a.names}; judged {a.coverage}{blind}")
        pooled = percent(float(r.pooled[list(r.hypothesis_ids).index(r.leader)]))
        lines += [
            "",
            "Each analyst's P(h | E) and their equal-weight pool (exact engine):",
            *analyst_rows(r.hypothesis_ids, r.analysts, r.posteriors, r.pooled),
            "",
            f"Pooled leader: {r.leader} ({pooled}). Where the analysts disagree most, and what "
            "it does to the answer",
            f"(the pooled P({r.leader}) with every analyst's row for the item replaced by each "
            "analyst's in turn; log Bayes factor spread across analysts, model prior weights):",
        ]
        shown = [i for i in r.ranked() if not np.isnan(i.swing[0])][:TEXT_ROWS]
        if not shown:
            lines.append("  (no item is judged by two analysts)")
        for item in shown:
            low, high = item.swing
            lines.append(
                f"  {item.id} ({item.kind}): {percent(low)} ({item.swing_by[0]}) to "
                f"{percent(high)} ({item.swing_by[1]}); LBF spread {item.lbf_spread:.2f}"
            )
            analysts = [a.id for a in r.analysts]
            for j, column in enumerate(self._columns(item)):
                values = item.values[:, j]
                if np.nanmax(values) - np.nanmin(values) > 0:
                    each = ", ".join(
                        f"{a} {v:g}"
                        for a, v in zip(analysts, values, strict=True)
                        if not np.isnan(v)
                    )
                    lines.append(f"      {column}: {each}")
        lines += [
            "",
            "Krippendorff's alpha (interval metric; definitional 0/1 cells left out):",
            f"  on the judgments: {_alpha(r.alpha)}",
            f"  on within-claim centred log judgments (direction, not level): "
            f"{_alpha(r.alpha_direction)}",
        ]
        if r.not_blind:
            lines.append(
                f"  Not blind: {', '.join(r.not_blind)} saw others' numbers, so this is not an "
                "agreement of independent readings."
            )
        return "\n".join(lines)
