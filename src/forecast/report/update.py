"""An update as a report: posteriors before and after, the claims that moved them, and why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from forecast.analysis.influence import fixed_reliability_posterior, log_bayes_factors, logit
from forecast.constants import HDI_PROB, ROBUSTNESS_REPORT_ROWS, UPDATE_REPORT_MOVERS
from forecast.model.likelihood import EvidenceArrays, claim_log_likelihood, log_softmax
from forecast.model.sample import FitResult
from forecast.report.base import Report
from forecast.report.posterior import FitReport
from forecast.report.words import percent, percent_range


@dataclass(frozen=True)
class UpdateReport(Report):
    """Before and after an update: posteriors, the claims that moved them, and why.

    ``update_id`` and ``written`` are set once the update is recorded; a dry run has neither.
    """

    before: dict[str, Any]
    before_arrays: EvidenceArrays
    before_as_of: dt.date | None
    result: FitResult
    items: dict[str, list[str]]
    source_file: str
    source_sha256: str
    dry_run: bool = False
    update_id: int | None = None
    written: tuple[str, ...] = ()
    recovered: tuple[str, ...] = ()
    #: The robustness after the update, or None (``--no-robustness``).
    sensitivity: Any = None
    #: The exact engine's P(h | E) before the update, for the whole update's odds ratios.
    before_exact: np.ndarray | None = None
    #: The analysts' pool after the update, or None with one analyst.
    analysts: Any = None

    def recorded(self, update_id: int, written: tuple[str, ...]) -> UpdateReport:
        """The same report, saying which update it was recorded as and what it wrote."""
        return replace(self, update_id=update_id, written=written)

    @cached_property
    def _after(self) -> FitReport:
        return FitReport(self.result, sensitivity=self.sensitivity, analysts=self.analysts)

    @cached_property
    def _reliability(self) -> dict[str, float]:
        arrays = self.result.arrays
        return dict(
            zip(arrays.sampled_sources, self.result.posterior_mean_reliability, strict=True)
        )

    def table(self) -> pd.DataFrame:
        """Per hypothesis: posterior mean and HDI before and after, words, change."""
        after = self._after.table()
        rows = []
        for hid, row in after.iterrows():
            b = self.before[str(hid)]
            rows.append(
                {
                    "hypothesis": hid,
                    "before_mean": b["mean"],
                    "before_hdi_low": np.nan if b["hdi_low"] is None else b["hdi_low"],
                    "before_hdi_high": np.nan if b["hdi_high"] is None else b["hdi_high"],
                    "before_word": b["word"],
                    "after_mean": row["mean"],
                    "after_hdi_low": row["hdi_low"],
                    "after_hdi_high": row["hdi_high"],
                    "after_word": row["word"],
                    "change": row["mean"] - b["mean"],
                }
            )
        frame = pd.DataFrame(rows).set_index("hypothesis")
        if self.before_exact is not None:
            before, after = self.before_exact, self.result.exact.posterior
            frame["exact_before"] = before
            frame["exact_after"] = after
            frame["odds_ratio"] = np.exp(logit(after) - logit(before))
            frame["points"] = 100 * (after - before)
        return frame

    def movers(self) -> pd.DataFrame:
        """New and newly attested claims, each with what it alone did to P(h) (docs/model.md).

        At the posterior-mean reliabilities r*, a claim's term l_c (for a claim that existed
        before, the change in its term; for a claim in a fact, the change in the fact's term)
        gives, for each hypothesis h:

        - its log Bayes factor against the others weighted by the posterior before the update,
          LBF = l_c(h) - log sum_{g != h} w_g exp(l_c(g)) with w_g proportional to
          P(g | E_before): the factor ("odds x1.9") by which it multiplies h's odds;
        - ``<h> points``: the change in P(h), in percentage points, that this factor makes
          from P(h | E_before).
        """
        after = self.result.arrays
        r_after = np.array([self._reliability[s] for s in after.sampled_sources])
        terms_after = claim_log_likelihood(after, r_after)
        before = self.before_arrays
        r_before = np.array([self._reliability[s] for s in before.sampled_sources])
        terms_before = claim_log_likelihood(before, r_before)
        before_index = {c: i for i, c in enumerate(before.claim_ids)}
        before_facts = {f: len(before.claim_ids) + i for i, f in enumerate(before.fact_ids)}
        prior = np.array([self.before[h]["mean"] for h in after.hypothesis_ids])
        log_prior = np.log(np.clip(prior, 1e-300, None))
        attested = {
            a.claim_id
            for a in self.result.spec.attestations
            if a.id in set(self.items["attestations"])
        }
        rows = []
        for i, claim_id in enumerate(after.claim_ids):
            if claim_id not in attested and claim_id not in self.items["claims"]:
                continue
            status = "new claim" if claim_id not in before_index else "new attestation"
            row_after, row_before = i, before_index.get(claim_id)
            if after.facts[i] >= 0:  # its effect is the change in its fact's term
                fact = after.fact_ids[after.facts[i]]
                status += f" in fact {fact}"
                row_after = len(after.claim_ids) + after.facts[i]
                row_before = before_facts.get(fact)
            term = terms_after[row_after].copy()
            if row_before is not None:
                term -= terms_before[row_before]
            lbf = log_bayes_factors(term[None, :], log_prior)[0]
            points = 100 * (np.exp(log_softmax(log_prior + term)) - prior)
            row: dict[str, Any] = {"claim": claim_id, "status": status}
            row |= {h: float(v) for h, v in zip(after.hypothesis_ids, lbf, strict=True)}
            row |= {
                f"{h} points": float(v) for h, v in zip(after.hypothesis_ids, points, strict=True)
            }
            row["largest"] = float(np.max(np.abs(lbf)))
            rows.append(row)
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        return frame.set_index("claim").sort_values("largest", ascending=False)

    def decomposition(self) -> pd.DataFrame:
        """Change in each hypothesis' log-odds: at fixed reliabilities r*, and through them."""
        after_table = self._after.table()
        before_mean = np.array([self.before[str(h)]["mean"] for h in after_table.index])
        total = logit(after_table["mean"].to_numpy()) - logit(before_mean)
        fixed = logit(fixed_reliability_posterior(self.result.arrays, self._reliability)) - logit(
            fixed_reliability_posterior(self.before_arrays, self._reliability)
        )
        return pd.DataFrame(
            {
                "total": total,
                "at_fixed_reliabilities": fixed,
                "through_shared_reliabilities": total - fixed,
            },
            index=after_table.index,
        )

    def text(self) -> str:
        """The before/after report printed by ``forecast update``."""
        counts = ", ".join(
            f"{len(v)} {k if len(v) != 1 else k.removesuffix('s')}"
            for k, v in self.items.items()
            if v
        )
        spec = self.result.spec
        lines = [
            f"Update of {spec.name} with {self.source_file} (sha256 {self.source_sha256[:12]}…): "
            f"{counts or 'nothing new'}",
            f"As of: {spec.as_of() or 'undated'} (was {self.before_as_of or 'undated'})",
            "",
        ]
        hdi_title = f"{HDI_PROB:.0%} HDI"
        header = (
            f"{'hypothesis':<18} {'before':>7} {hdi_title:>13}    "
            f"{'after':>7} {hdi_title:>13}  ICD-203"
        )
        lines += [header, "-" * (len(header) + 20)]

        def hdi(low: float, high: float) -> str:
            return "—" if np.isnan(low) else percent_range(low, high)

        for hid, row in self.table().iterrows():
            word = row.after_word
            if row.before_word != row.after_word:
                word = f"{row.before_word} -> {row.after_word}"
            before = hdi(row.before_hdi_low, row.before_hdi_high)
            after = hdi(row.after_hdi_low, row.after_hdi_high)
            lines.append(
                f"{hid:<18} {row.before_mean:>7.3f} {before:>13} -> "
                f"{row.after_mean:>7.3f} {after:>13}  {word}"
            )
        movers = self.movers()
        shown = movers.head(UPDATE_REPORT_MOVERS)
        count = "" if len(shown) == len(movers) else f"; {len(shown)} of {len(movers)} shown"
        lines += [
            "",
            f"Claims that moved it most{count}, each alone from the posterior before the update",
            "(its factor on the odds of h against the others, and the change in P(h), at the "
            "posterior-mean reliabilities):",
        ]
        if movers.empty:
            lines.append("  (none)")
        hypotheses = list(self.result.arrays.hypothesis_ids)
        for claim_id, row in shown.iterrows():
            change = row[[f"{h} points" for h in hypotheses]].astype(float).to_numpy()
            top = np.argsort(-np.abs(change), kind="stable")[:2]
            detail = "; ".join(
                f"{hypotheses[h]} odds {odds_factor(float(row[hypotheses[h]]))} "
                f"({points(change[h])})"
                for h in top
            )
            lines.append(f"  {claim_id} ({row.status}): {detail}")
        if self.before_exact is not None:
            lines += ["", "The whole update, exact engine (P(h) before -> after, odds, change):"]
            for hid, row in self.table().iterrows():
                lines.append(
                    f"  {hid:<18} {percent(row.exact_before):>5} -> {percent(row.exact_after):>5}"
                    f"   odds {odds_factor(float(np.log(row.odds_ratio))):<7} {points(row.points)}"
                )
        lines += [
            "",
            "Change in log-odds: total = at fixed reliabilities + through shared reliabilities",
        ]
        for hid, row in self.decomposition().iterrows():
            lines.append(
                f"  {hid:<18} {row.total:+.3f} = {row.at_fixed_reliabilities:+.3f} "
                f"{row.through_shared_reliabilities:+.3f}"
            )
        lines += ["", *self._after.checks()]
        if self.sensitivity is not None:
            after = self._after.sensitivity_report()
            lines += ["", f"After the update: {self.sensitivity.assessment()}."]
            lines += ["", *after.effects(ROBUSTNESS_REPORT_ROWS)]
        if self.dry_run:
            lines += ["", "Dry run: nothing was written."]
        elif self.update_id is not None:
            lines += [
                "",
                f"Recorded as update {self.update_id} in ledger.sqlite; "
                f"wrote {', '.join(self.written)}.",
            ]
        return "\n".join([*(f"Recovered: {a}" for a in self.recovered), *lines])

    def to_dict(self) -> dict[str, Any]:
        """The update as data: what it added, P(H) before and after, movers, decomposition."""
        return {
            "model": self.result.spec.name,
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "items": self.items,
            "as_of": str(self.result.spec.as_of()),
            "as_of_before": str(self.before_as_of),
            "hypotheses": self.table().reset_index().to_dict("records"),
            "movers": self.movers().reset_index().to_dict("records"),
            "decomposition": self.decomposition().reset_index().to_dict("records"),
            "dry_run": self.dry_run,
            "update_id": self.update_id,
            "written": list(self.written),
            "robustness": None
            if self.sensitivity is None
            else self._after.sensitivity_report().to_dict(),
        }


def odds_factor(log_factor: float) -> str:
    """A factor on the odds in plain units: x1.40, x0.99, x24, x0.012."""
    factor = float(np.exp(log_factor))
    if factor >= 10:
        return f"×{factor:.0f}"
    if factor >= 0.1:
        return f"×{factor:.2f}"
    return f"×{factor:.2g}"


def points(change: float) -> str:
    """A change in percentage points: +8, -2, +0.3 (small ones keep a decimal)."""
    if abs(change) >= 1:
        return f"{change:+.0f} percentage points"
    return f"{change:+.1f} percentage points"
