"""``forecast sensitivity``: how far the answer moves under single changes, and which do most."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forecast.analysis.robustness import Change, Sensitivity
from forecast.report.base import Report
from forecast.report.words import icd203_word, percent

if TYPE_CHECKING:
    import pandas as pd

#: Changes the text lists when ``--top`` is not given.
DEFAULT_TEXT_ROWS = 10


@dataclass(frozen=True)
class SensitivityReport(Report):
    """Every single change, ranked by how far it moves the leader; ``top`` limits the rows."""

    sensitivity: Sensitivity
    model: str
    top: int | None = None

    def _rows(self, default: int | None) -> tuple[Change, ...]:
        ranked = self.sensitivity.ranked()
        limit = self.top if self.top is not None else default
        return ranked if limit is None else ranked[:limit]

    def _p(self, change: Change | None, h: int) -> float:
        s = self.sensitivity
        return float((s.posterior if change is None else change.posterior)[h])

    def text(self) -> str:
        """The leader, its robust range, the prior's share, the flips and the largest effects."""
        s = self.sensitivity
        ids = s.hypothesis_ids
        lead, second = s.leader, s.runner_up
        p_lead = self._p(None, lead)
        lines = [
            f"Sensitivity of {self.model}: {len(s.changes)} single changes, each integrated "
            "exactly",
        ]
        if s.analyst_leaders:
            each = ", ".join(f"{a} (leader {leader})" for a, leader in s.analyst_leaders)
            lines.append(
                f"Every change applied to every analyst's model and pooled (equal-weight linear "
                f"pool): {each}"
            )
        lines += [
            "",
            s.assessment() + ".",
            f"Runner-up: {ids[second]} ({percent(self._p(None, second))}).",
        ]
        confidence = s.confidence
        if len(confidence.reasons) > 1:
            lines.append(f"Computed confidence {confidence.level} also because:")
            lines += [f"  {reason}" for reason in confidence.reasons[1 : 1 + DEFAULT_TEXT_ROWS]]
        low, high = s.robust_range()[lead]
        lines += [
            "",
            f"Ranges of P({ids[lead]}) ({percent(p_lead)}):",
            f"  robust range (single removals, one claim at a band corner): "
            f"{percent(low)} to {percent(high)}",
        ]
        if s.typical_spread is not None:
            low, high = s.typical_spread[lead]
            lines.append(
                f"  typical spread if judgment errors are independent (5-95 %): "
                f"{percent(low)} to {percent(high)}"
            )
        if s.joint_range is not None:
            low, high = s.joint_range[lead]
            searched = " (a search over the facts' values: it may be wider)"
            lines.append(
                f"  worst case if every judgment erred the same way: {percent(low)} to "
                f"{percent(high)}{searched if s.joint_method == 'search' else ''}"
            )
        split = s.prior_split
        lines += [
            "",
            f"Prior: {s.prior_verdict}. log posterior odds {split.leader} : {split.runner_up} "
            f"= {split.log_posterior_odds:+.2f} = log prior odds {split.log_prior_odds:+.2f} "
            f"+ log Bayes factor {split.log_bayes_factor:+.2f}.",
        ]
        flips = s.flips
        lines += ["", f"Flips ({len(flips)}): single changes that alter the leader or a word."]
        for change in flips[: self.top or DEFAULT_TEXT_ROWS]:
            lines.append(f"  {self._describe(change)}")
        if not flips:
            lines.append("  none")
        lines += ["", *self.effects(self.top or DEFAULT_TEXT_ROWS)]
        return "\n".join(lines) + "\n"

    def effects(self, rows: int) -> list[str]:
        """The ``rows`` changes that move the leader most, one line each."""
        s = self.sensitivity
        ranked = s.ranked()[:rows]
        lines = [f"Largest effects on P({s.hypothesis_ids[s.leader]}):"]
        lines += [f"  {self._describe(change)}" for change in ranked]
        if len(ranked) < len(s.changes):
            lines.append(f"  … and {len(s.changes) - len(ranked)} more (forecast sensitivity)")
        return lines

    def _describe(self, change: Change) -> str:
        s = self.sensitivity
        lead = s.leader
        after = self._p(change, lead)
        new_leader = int(change.posterior.argmax())
        line = (
            f"{change.label}: {s.hypothesis_ids[lead]} {percent(self._p(None, lead))} -> "
            f"{percent(after)} ({icd203_word(after)})"
        )
        if new_leader != lead:
            line += (
                f"; {s.hypothesis_ids[new_leader]} leads with "
                f"{percent(self._p(change, new_leader))}"
            )
        return line

    def table(self) -> pd.DataFrame:
        """One row per change: kind, change, id, P(h) for every hypothesis, leader, flip."""
        import pandas as pd

        s = self.sensitivity
        records = []
        for change in self._rows(None):
            record: dict[str, Any] = {"kind": change.kind, "change": change.change, "id": change.id}
            record |= {h: float(p) for h, p in zip(s.hypothesis_ids, change.posterior, strict=True)}
            record["leader"] = s.hypothesis_ids[int(change.posterior.argmax())]
            record["flip"] = s.is_flip(change)
            records.append(record)
        columns = ["kind", "change", "id", *s.hypothesis_ids, "leader", "flip"]
        return pd.DataFrame.from_records(records, columns=columns).set_index("kind")

    def to_dict(self) -> dict[str, Any]:
        """Base posterior, robust ranges, the prior's split and verdict, flips and changes."""
        s = self.sensitivity
        ids = s.hypothesis_ids
        split = s.prior_split
        ranges = s.robust_range()

        def per_hypothesis(values: Any) -> Any:
            if values is None:
                return None
            return {
                h: {"low": float(low), "high": float(high)}
                for h, (low, high) in zip(ids, values, strict=True)
            }

        return {
            "model": self.model,
            "assessment": s.assessment(),
            "confidence": {"level": s.confidence.level, "reasons": list(s.confidence.reasons)},
            "posterior": dict(zip(ids, s.posterior.tolist(), strict=True)),
            "leader": ids[s.leader],
            "runner_up": ids[s.runner_up],
            "typical_spread": per_hypothesis(s.typical_spread),
            "joint_range": per_hypothesis(s.joint_range),
            "joint_range_method": s.joint_method,
            "analyst_leaders": dict(s.analyst_leaders),
            "robust_range": {
                h: {"low": float(low), "high": float(high)}
                for h, (low, high) in zip(ids, ranges, strict=True)
            },
            "prior": {
                "verdict": s.prior_verdict,
                "leader": split.leader,
                "runner_up": split.runner_up,
                "log_prior_odds": split.log_prior_odds,
                "log_bayes_factor": split.log_bayes_factor,
                "log_posterior_odds": split.log_posterior_odds,
            },
            "flips": [self._change_dict(c) for c in s.flips],
            "changes": [self._change_dict(c) for c in self._rows(None)],
        }

    def _change_dict(self, change: Change) -> dict[str, Any]:
        s = self.sensitivity
        return {
            "kind": change.kind,
            "change": change.change,
            "id": change.id,
            "label": change.label,
            "posterior": dict(zip(s.hypothesis_ids, change.posterior.tolist(), strict=True)),
            "standard_error": dict(
                zip(s.hypothesis_ids, change.standard_error.tolist(), strict=True)
            ),
            "leader": s.hypothesis_ids[int(change.posterior.argmax())],
            "flip": s.is_flip(change),
        }
