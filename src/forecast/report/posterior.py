"""A fit as a report: P(H | E) per hypothesis with its uncertainty, sources, claims, checks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.analysis.influence import (
    fact_claim_shares,
    log_bayes_factors,
    uniform_prior_reweighting,
)
from forecast.analysis.intervals import beta_hdi, weighted_hdi
from forecast.compat import hdi_of, mcse_of_mean
from forecast.constants import (
    ADMIRALTY_GRADES,
    AGREEMENT_FLOOR,
    AGREEMENT_SIGMAS,
    HDI_PROB,
    ROBUSTNESS_REPORT_ROWS,
    SUMMARY_SCHEMA_VERSION,
)
from forecast.model.likelihood import claim_log_likelihood
from forecast.model.sample import FitResult
from forecast.report.base import Report
from forecast.report.words import analyst_rows, icd203_word, percent, percent_range
from forecast.spec.layout import display_path


def claim_table(result: FitResult) -> pd.DataFrame:
    """Per claim and per fact: kind, witnesses counted, diagnosticity and LBF per hypothesis at r*.

    A claim in a fact shows its share of the fact's log Bayes factor (see ``docs/model.md``);
    the fact has a row of its own, of kind ``fact``.
    """
    arrays = result.arrays
    reliability = result.posterior_mean_reliability
    terms = claim_log_likelihood(arrays, reliability)
    lbf = log_bayes_factors(terms, arrays.log_prior)
    shares = fact_claim_shares(arrays, reliability)
    claims = {c.id: c for c in result.spec.claims}
    rows = []
    for i, unit in enumerate(arrays.unit_ids):
        if i < len(arrays.claim_ids):
            claim = claims[unit]
            values = shares.get(unit, lbf[i])
            row: dict[str, Any] = {
                "claim": unit,
                "kind": "opinion" if claim.is_opinion and claim.kind != "opinion" else claim.kind,
                "fact": claim.fact or "",
                "witnesses": len(claim.counted_attestations),
                "diagnosticity": float(values.max() - values.min())
                if unit in shares
                else float(terms[i].max() - terms[i].min()),
            }
        else:
            members = [c for c in result.spec.claims if c.fact == unit]
            values = lbf[i]
            row = {
                "claim": unit,
                "kind": "fact",
                "fact": unit,
                "witnesses": sum(len(c.counted_attestations) for c in members),
                "diagnosticity": float(terms[i].max() - terms[i].min()),
            }
        row |= {f"lbf_{h}": float(v) for h, v in zip(arrays.hypothesis_ids, values, strict=True)}
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim")


@dataclass(frozen=True)
class FitReport(Report):
    """Posterior over hypotheses and sources for one fit.

    ``published`` is the results folder when the fit was published; ``recovered`` lists what
    recovery repaired before the fit (see ``docs/updates.md``).
    """

    result: FitResult
    published: Path | None = None
    recovered: tuple[str, ...] = field(default=())
    #: The robustness of the answer (:func:`forecast.analysis.robustness.sensitivity`), or
    #: None when it was not computed (``--no-robustness``).
    sensitivity: Any = None
    #: Each analyst's posterior and their pool
    #: (:class:`~forecast.analysis.analysts.AnalystsResult`), or None with one analyst.
    analysts: Any = None
    #: Where the analysts disagree (:class:`~forecast.report.judges.JudgesReport`), or None.
    judges: Any = None
    #: The forecast questions' forecasts (:class:`~forecast.report.questions.QuestionsReport`),
    #: or None when the model has none.
    questions: Any = None

    def with_outcome(self, *, published: Path, recovered: tuple[str, ...]) -> FitReport:
        """The same report, saying where it was published and what recovery repaired."""
        return replace(self, published=published, recovered=recovered)

    def table(self) -> pd.DataFrame:
        """Per hypothesis: prior, posterior mean, sd, HDI, word; the same under a uniform prior."""
        return self._table.copy()

    @cached_property
    def _table(self) -> pd.DataFrame:
        result, spec = self.result, self.result.spec
        exact = result.exact
        n = len(spec.hypotheses)
        if result.idata is not None:
            p = result.idata.posterior["p_H"].values.reshape(-1, n)
            mean, sd = p.mean(0), p.std(0, ddof=1)
            hdi = hdi_of(result.idata, "p_H", HDI_PROB)
            mcse = np.nan_to_num(mcse_of_mean(result.idata, "p_H"))
            up, weights = uniform_prior_reweighting(result)
            u_mean = weights @ up
            u_sd = np.sqrt(weights @ (up - u_mean) ** 2)
            u_hdi = np.array([weighted_hdi(up[:, h], weights) for h in range(n)])
        else:
            mean, mcse = exact.posterior, exact.standard_error
            fixed = result.arrays.n_sampled == 0
            sd = np.zeros(n) if fixed else np.full(n, np.nan)
            hdi = np.stack([mean, mean], 1) if fixed else np.full((n, 2), np.nan)
            u_mean = exact.uniform_posterior
            u_sd = sd
            u_hdi = np.stack([u_mean, u_mean], 1) if fixed else np.full((n, 2), np.nan)
        exact_posterior, exact_se = exact.posterior, exact.standard_error
        if self.analysts is not None:  # the headline is the analysts' pool
            pooled = self.analysts
            exact_posterior, exact_se = pooled.pooled, pooled.pooled_standard_error
            u_mean = pooled.uniform_posteriors.mean(axis=0)
            u_sd, u_hdi = np.full(n, np.nan), np.full((n, 2), np.nan)
            draws = pooled.pooled_draws()
            if draws is None:
                mean, mcse = exact_posterior, exact_se
            else:
                values, weights = draws
                mean = weights @ values
                sd = np.sqrt(weights @ (values - mean) ** 2)
                hdi = pooled.pooled_interval()
                mcse = pooled.pooled_mcse(mcse)
        rows = []
        for i, h in enumerate(spec.hypotheses):
            rows.append(
                {
                    "hypothesis": h.id,
                    "label": h.label,
                    "prior": h.prior,
                    "mean": mean[i],
                    "sd": sd[i],
                    "hdi_low": hdi[i, 0],
                    "hdi_high": hdi[i, 1],
                    "mcse": mcse[i],
                    "word": icd203_word(mean[i]),
                    "exact": exact_posterior[i],
                    "exact_se": exact_se[i],
                    "uniform_prior_mean": u_mean[i],
                    "uniform_prior_sd": u_sd[i],
                    "uniform_prior_hdi_low": u_hdi[i, 0],
                    "uniform_prior_hdi_high": u_hdi[i, 1],
                    "uniform_prior_word": icd203_word(u_mean[i]),
                }
            )
        return pd.DataFrame(rows).set_index("hypothesis")

    def sources(self) -> pd.DataFrame:
        """Per source: reliability prior against posterior (fixed or judgment-only sources too)."""
        result, spec = self.result, self.result.spec
        draws = result.reliability_draws
        slot = {s: i for i, s in enumerate(result.arrays.sampled_sources)}
        rows = []
        for source in spec.sources.values():
            low, high = beta_hdi(source.alpha, source.beta)
            row: dict[str, Any] = {
                "source": source.id,
                "grade": source.source.grade,
                "grade_label": ADMIRALTY_GRADES[source.source.grade].label,
                "judgment_reliability": source.judgment_reliability,
                "prior_mean": source.prior_mean,
                "prior_hdi_low": np.nan if not source.sampled else low,
                "prior_hdi_high": np.nan if not source.sampled else high,
                "posterior_mean": np.nan,
                "posterior_sd": np.nan,
                "posterior_hdi_low": np.nan,
                "posterior_hdi_high": np.nan,
                "status": "sampled",
            }
            if source.id in slot and len(draws):
                values = draws[:, slot[source.id]]
                lo, hi = weighted_hdi(values, np.ones_like(values))
                row |= {
                    "posterior_mean": values.mean(),
                    "posterior_sd": values.std(ddof=1),
                    "posterior_hdi_low": lo,
                    "posterior_hdi_high": hi,
                }
            elif source.id in slot:
                row["status"] = "sampled (exact engine: no draws)"
            elif not source.sampled:
                row["status"] = "fixed"
            else:
                row["status"] = "opinions only (judgment reliability)"
            rows.append(row)
        return pd.DataFrame(rows).set_index("source")

    def to_dict(self) -> dict[str, Any]:
        """Everything in summary.json: hypotheses, sources, checks, provenance."""
        result = self.result
        out: dict[str, Any] = {
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "model": result.spec.name,
            "spec_sha256": result.spec.sha256,
            "as_of": str(result.spec.as_of()),
            "explanandum": result.spec.explanandum,
            "method": result.method,
            "seed": result.options.seed,
            "hdi_prob": HDI_PROB,
            "hypotheses": _records(self.table()),
            "sources": _records(self.sources()),
            "exact": {
                "method": result.exact.method,
                "certified": result.exact.certified,
                "min_effective_sample_size": result.exact.min_effective_sample_size,
            },
        }
        if result.idata is not None:
            out["draws"] = result.options.draws
            out["tune"] = result.options.tune
            out["chains"] = result.options.chains
        if result.diagnostics is not None:
            d = result.diagnostics
            out["diagnostics"] = {
                "max_rhat": d.max_rhat,
                "min_ess_bulk": d.min_ess_bulk,
                "divergences": d.divergences,
                "ok": d.ok,
            }
        if result.agreement is not None:
            a = result.agreement
            out["agreement"] = {
                "max_abs_difference": a.max_abs_difference,
                "within_tolerance": a.within,
                "certified": a.certified,
            }
        if self.analysts is not None:
            out["pool"] = "equal-weight linear pool of the analysts' posteriors"
            out["analysts"] = self.analyst_records()
        if self.judges is not None:
            out["judges"] = self.judges.to_dict()
        if self.questions is not None:
            out["questions"] = self.questions.to_dict()
        if self.sensitivity is not None:
            out["robustness"] = self.sensitivity_report().to_dict()
        return out

    def analyst_records(self) -> list[dict[str, Any]]:
        """Per analyst: who, blind or not, coverage, exact P(h | E) and leader."""
        pooled = self.analysts
        if pooled is None:
            return []
        ids = pooled.hypothesis_ids
        out = []
        for k, analyst in enumerate(pooled.analysts):
            out.append(
                {
                    "id": analyst.id,
                    "judged_by": analyst.names,
                    "blind": analyst.blind,
                    "coverage": analyst.coverage,
                    "posterior": dict(zip(ids, pooled.posteriors[k].tolist(), strict=True)),
                    "leader": pooled.leaders[k],
                }
            )
        return out

    def analyst_lines(self) -> list[str]:
        """Who the pool is made of, and each analyst's P(h | E)."""
        pooled = self.analysts
        if pooled is None:
            return []
        ids = pooled.hypothesis_ids
        lines = [
            f"Pooled over {len(pooled.analysts)} analysts (equal-weight linear pool of their "
            "posteriors; exact engine):"
        ]
        lines += analyst_rows(ids, pooled.analysts, pooled.posteriors, pooled.pooled)
        names = "; ".join(
            f"{a.id}: {a.names}"
            + ("" if a.blind is None else (", blind" if a.blind else ", not blind"))
            for a in pooled.analysts
        )
        lines.append(f"  ({names})")
        return lines

    def _leaders_differ(self) -> str | None:
        """The line saying the analysts' leaders differ, or None when they agree."""
        pooled = self.analysts
        if pooled is None or not pooled.leaders_differ:
            return None
        ids = list(pooled.hypothesis_ids)
        each = "; ".join(
            f"{a.id} -> {leader} ({percent(pooled.posteriors[k][ids.index(leader)])})"
            for k, (a, leader) in enumerate(zip(pooled.analysts, pooled.leaders, strict=True))
        )
        lead = int(np.argmax(pooled.pooled))
        return (
            f"the analysts' leading answers differ ({each}); pooled, {ids[lead]} leads with "
            f"{percent(pooled.pooled[lead])}"
        )

    def sensitivity_report(self) -> Any:
        """The robustness as a :class:`~forecast.report.sensitivity.SensitivityReport`."""
        from forecast.report.sensitivity import SensitivityReport

        return SensitivityReport(self.sensitivity, self.result.spec.name)

    def text(self) -> str:
        """The console report: hypotheses with uncertainty, checks, and a sentence in words."""
        result = self.result
        table = self.table()
        lines = [f"Recovered: {action}" for action in self.recovered]
        lines += [f"{result.spec.name}: {result.spec.explanandum}", ""]
        hdi_title = f"{HDI_PROB:.0%} HDI"
        header = (
            f"{'hypothesis':<18} {'prior':>6} {'P(H|E)':>7} {'sd':>6} {hdi_title:>15} "
            f"{'ICD-203':<20} {'uniform prior':>14}"
        )
        lines += [header, "-" * len(header)]
        for hid, row in table.iterrows():
            hdi = "—" if np.isnan(row.hdi_low) else percent_range(row.hdi_low, row.hdi_high)
            sd = "—" if np.isnan(row.sd) else f"{row.sd:.3f}"
            lines.append(
                f"{hid:<18} {row.prior:>6.3f} {row['mean']:>7.3f} {sd:>6} {hdi:>15} "
                f"{row.word:<20} {row.uniform_prior_mean:>14.3f}"
            )
        lines.append("")
        if self.analysts is not None:
            lines += [*self.analyst_lines(), ""]
        lines += self.checks()
        ranked = table.sort_values("mean", ascending=False)
        top, row = ranked.index[0], ranked.iloc[0]
        interval = (
            ""
            if np.isnan(row.hdi_low)
            else f"; {HDI_PROB:.0%} HDI {percent(row.hdi_low)} to {percent(row.hdi_high)}"
        )
        next_line = (
            f"Next: {ranked.iloc[1].label} ({ranked.index[1]}), {ranked.iloc[1].word} "
            f"({percent(ranked.iloc[1]['mean'])})."
        )
        differ = self._leaders_differ()
        heading = "Assessment"
        if self.analysts is not None:
            heading += " (pooled over " + ", ".join(a.id for a in self.analysts.analysts) + ")"
        if differ is not None:
            # The pooled word alone would hide the disagreement: give each analyst's leader.
            lines += ["", f"{heading}: {differ}. {next_line}"]
            if self.sensitivity is not None:
                lines += ["", *self.sensitivity_report().effects(ROBUSTNESS_REPORT_ROWS)]
        elif self.sensitivity is None:
            lines += [
                "",
                f"{heading}: the most probable answer is {row.label} ({top}): {row.word} "
                f"({percent(row['mean'])}{interval}). {next_line}",
            ]
        else:
            lines += ["", f"{heading}: {self.sensitivity.assessment()}. {next_line}"]
            lines += ["", *self.sensitivity_report().effects(ROBUSTNESS_REPORT_ROWS)]
        if self.published is not None:
            files = ", ".join(sorted(p.name for p in self.published.iterdir()))
            lines += ["", f"Wrote {display_path(self.published)}/ ({files})"]
        return "\n".join(lines)

    def checks(self) -> list[str]:
        """Lines on the method, diagnostics and the exact cross-check."""
        result = self.result
        lines = []
        if result.idata is None:
            if result.arrays.n_sampled == 0:
                lines.append(
                    "Method: exact engine (every reliability is fixed: the model has no free "
                    "parameter)."
                )
            else:
                lines.append(f"Method: exact engine only ({result.exact.method}); no draws.")
        else:
            d = result.diagnostics
            assert d is not None
            status = "ok" if d.ok else "WARNING: " + "; ".join(d.problems())
            lines.append(
                f"Diagnostics: max r-hat {d.max_rhat:.3f}, min bulk ESS {d.min_ess_bulk:.0f}, "
                f"divergences {d.divergences} — {status}"
            )
            a = result.agreement
            assert a is not None
            verdict = "within" if a.within else "OUTSIDE"
            lines.append(
                f"Exact cross-check ({result.exact.method}): max |sampled - exact| = "
                f"{a.max_abs_difference:.4f}, {verdict} {AGREEMENT_SIGMAS:g} combined standard "
                f"errors (floor {AGREEMENT_FLOOR:g})"
            )
        if not result.exact.certified:
            ess = result.exact.min_effective_sample_size
            lines.append(
                f"WARNING: the exact engine cannot certify this result (importance-sampling ESS "
                f"{ess:.0f} below the floor)."
            )
        return lines


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for index, row in frame.iterrows():
        record = {frame.index.name: index}
        for key, value in row.items():
            if isinstance(value, float | np.floating):
                record[key] = None if np.isnan(value) else float(value)
            else:
                record[key] = value
        out.append(record)
    return out
