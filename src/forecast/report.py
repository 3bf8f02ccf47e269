"""Fit results as pandas tables and ICD-203 words: a report with ``.table()`` and ``.text()``.

Definitions used here, in the update report and in the briefing (see ``docs/model.md``):

- claim term: l_c(h) = log P(attestations of c | h, r*) at the posterior-mean reliabilities r*;
- diagnosticity: D_c = max_h l_c(h) - min_h l_c(h), the log of the largest likelihood ratio
  the claim offers between two hypotheses (0: the claim moves nothing by itself);
- log Bayes factor of c for h: LBF_c(h) = l_c(h) - log sum_{g != h} w_g exp(l_c(g)), with w the
  prior renormalized over the other hypotheses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from forecast.compat import constant_draws_quiet, import_arviz, library_settings
from forecast.constants import ADMIRALTY_GRADES, HDI_PROB, ICD203_BANDS
from forecast.likelihood import claim_log_likelihood, log_softmax
from forecast.sample import FitResult


def icd203_word(probability: float) -> str:
    """ICD-203 word for p (<1 %: almost no chance; >99 %: almost certain)."""
    for band in ICD203_BANDS:
        if probability < band.high:
            return band.word
    return ICD203_BANDS[-1].word


def percent(probability: float) -> str:
    """A probability as a percentage, keeping small tails visible."""
    if np.isnan(probability):
        return "—"
    value = 100 * probability
    if 0 < value < 0.1:
        return "<0.1 %"
    if 99.9 < value < 100:
        return ">99.9 %"
    if 0 < value < 1 or 99 < value < 100:
        return f"{value:.1f} %"
    return f"{value:.0f} %"


def weighted_hdi(
    values: np.ndarray, weights: np.ndarray, prob: float = HDI_PROB
) -> tuple[float, float]:
    """Shortest interval holding ``prob`` of the weighted draws."""
    order = np.argsort(values)
    sorted_values = values[order]
    cumulative = np.cumsum(weights[order]) / np.sum(weights)
    best = (sorted_values[0], sorted_values[-1])
    start_mass = np.concatenate([[0.0], cumulative[:-1]])
    ends = np.searchsorted(cumulative, start_mass + prob - 1e-12)
    valid = ends < len(values)
    if valid.any():
        starts = np.nonzero(valid)[0]
        widths = sorted_values[ends[valid]] - sorted_values[starts]
        i = int(np.argmin(widths))
        best = (sorted_values[starts[i]], sorted_values[ends[valid][i]])
    return float(best[0]), float(best[1])


def beta_hdi(alpha: float, beta: float, prob: float = HDI_PROB) -> tuple[float, float]:
    """Highest-density interval of a Beta law."""
    law = stats.beta(alpha, beta)
    result = optimize.minimize_scalar(
        lambda lower: law.ppf(lower + prob) - law.ppf(lower),
        bounds=(0.0, 1.0 - prob),
        method="bounded",
    )
    lower = float(result.x)
    return float(law.ppf(lower)), float(law.ppf(lower + prob))


def log_bayes_factors(terms: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """LBF_c(h) for claim terms of shape (C, H): each hypothesis against the others."""
    n = terms.shape[-1]
    out = np.empty_like(terms)
    for h in range(n):
        others = np.arange(n) != h
        weights = log_prior[others] - np.logaddexp.reduce(log_prior[others])
        out[:, h] = terms[:, h] - np.logaddexp.reduce(terms[:, others] + weights, axis=-1)
    return out


def claim_table(result: FitResult) -> pd.DataFrame:
    """Per claim: kind, witnesses counted, diagnosticity and LBF per hypothesis at r*."""
    arrays = result.arrays
    terms = claim_log_likelihood(arrays, result.posterior_mean_reliability)
    lbf = log_bayes_factors(terms, arrays.log_prior)
    claims = {c.id: c for c in result.spec.claims}
    rows = []
    for i, claim_id in enumerate(arrays.claim_ids):
        claim = claims[claim_id]
        row: dict[str, Any] = {
            "claim": claim_id,
            "kind": "opinion" if claim.is_opinion and claim.kind != "opinion" else claim.kind,
            "witnesses": len(claim.counted_attestations),
            "diagnosticity": float(terms[i].max() - terms[i].min()),
        }
        row |= {f"lbf_{h}": float(v) for h, v in zip(arrays.hypothesis_ids, lbf[i], strict=True)}
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim")


def _uniform_reweighting(result: FitResult) -> tuple[np.ndarray, np.ndarray]:
    """Draws of P(H | E, r) under a uniform prior and their importance weights."""
    arrays = result.arrays
    log_lik = result.draw_log_likelihood
    n = log_lik.shape[1]
    uniform = np.full(n, -np.log(n))
    log_weight = np.logaddexp.reduce(log_lik + uniform, axis=1) - np.logaddexp.reduce(
        log_lik + arrays.log_prior, axis=1
    )
    weights = np.exp(log_weight - log_weight.max())
    return np.exp(log_softmax(log_lik + uniform)), weights / weights.sum()


@dataclass(frozen=True)
class PosteriorReport:
    """Posterior over hypotheses and sources for one fit."""

    result: FitResult

    def table(self) -> pd.DataFrame:
        """Per hypothesis: prior, posterior mean, sd, HDI, word; the same under a uniform prior."""
        return self._table.copy()

    @cached_property
    def _table(self) -> pd.DataFrame:
        result, spec = self.result, self.result.spec
        exact = result.exact
        n = len(spec.hypotheses)
        if result.idata is not None:
            az = import_arviz()
            p = result.idata.posterior["p_H"].values.reshape(-1, n)
            mean, sd = p.mean(0), p.std(0, ddof=1)
            with library_settings(), constant_draws_quiet():
                hdi = az.hdi(result.idata, var_names=["p_H"], hdi_prob=HDI_PROB)["p_H"].values
                mcse = np.nan_to_num(az.mcse(result.idata, var_names=["p_H"])["p_H"].values)
            up, weights = _uniform_reweighting(result)
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
                    "exact": exact.posterior[i],
                    "exact_se": exact.standard_error[i],
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

    def summary_dict(self) -> dict[str, Any]:
        """Everything in summary.json: hypotheses, sources, checks, provenance."""
        result = self.result
        out: dict[str, Any] = {
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
        return out

    def text(self) -> str:
        """The console report: hypotheses with uncertainty, checks, and a sentence in words."""
        result = self.result
        table = self.table()
        lines = [f"{result.spec.name}: {result.spec.explanandum}", ""]
        header = (
            f"{'hypothesis':<18} {'prior':>6} {'P(H|E)':>7} {'sd':>6} {'94% HDI':>15} "
            f"{'ICD-203':<20} {'uniform prior':>14}"
        )
        lines += [header, "-" * len(header)]
        for hid, row in table.iterrows():
            hdi = (
                "—"
                if np.isnan(row.hdi_low)
                else f"{percent(row.hdi_low)}–{percent(row.hdi_high)}".replace(" %", "") + " %"
            )
            sd = "—" if np.isnan(row.sd) else f"{row.sd:.3f}"
            lines.append(
                f"{hid:<18} {row.prior:>6.3f} {row['mean']:>7.3f} {sd:>6} {hdi:>15} "
                f"{row.word:<20} {row.uniform_prior_mean:>14.3f}"
            )
        lines.append("")
        lines += self.checks()
        ranked = table.sort_values("mean", ascending=False)
        top, row = ranked.index[0], ranked.iloc[0]
        interval = (
            ""
            if np.isnan(row.hdi_low)
            else f"; {HDI_PROB:.0%} HDI {percent(row.hdi_low)} to {percent(row.hdi_high)}"
        )
        lines += [
            "",
            f"Assessment: the most probable answer is {row.label} ({top}): {row.word} "
            f"({percent(row['mean'])}{interval}). Next: {ranked.iloc[1].label} "
            f"({ranked.index[1]}), {ranked.iloc[1].word} ({percent(ranked.iloc[1]['mean'])}).",
        ]
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
                f"{a.max_abs_difference:.4f}, {verdict} 3 combined standard errors (floor 0.002)"
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


def _fixed_reliability_posterior(arrays: Any, reliability: dict[str, float]) -> np.ndarray:
    """P(H | E, r) at given reliabilities (by source id)."""
    r = np.array([reliability[s] for s in arrays.sampled_sources])
    log_joint = arrays.log_prior + claim_log_likelihood(arrays, r).sum(axis=0)
    return np.exp(log_softmax(log_joint))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-300, 1.0 - 1e-16)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class UpdateReport:
    """Before and after an update: posteriors, the claims that moved them, and why."""

    before: dict[str, Any]
    before_arrays: Any
    before_as_of: Any
    result: FitResult
    items: dict[str, list[str]]
    source_file: str
    source_sha256: str

    @cached_property
    def _after(self) -> PosteriorReport:
        return PosteriorReport(self.result)

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
        return pd.DataFrame(rows).set_index("hypothesis")

    def movers(self) -> pd.DataFrame:
        """New and newly attested claims with their log Bayes factors at r* (docs/model.md).

        For a claim that existed before, the figure is the change in its LBF.
        """
        after = self.result.arrays
        r_after = np.array([self._reliability[s] for s in after.sampled_sources])
        lbf_after = log_bayes_factors(claim_log_likelihood(after, r_after), after.log_prior)
        before = self.before_arrays
        r_before = np.array([self._reliability[s] for s in before.sampled_sources])
        lbf_before = log_bayes_factors(claim_log_likelihood(before, r_before), before.log_prior)
        before_index = {c: i for i, c in enumerate(before.claim_ids)}
        attested = {
            a.claim_id
            for a in self.result.spec.attestations
            if a.id in set(self.items["attestations"])
        }
        rows = []
        for i, claim_id in enumerate(after.claim_ids):
            if claim_id not in attested and claim_id not in self.items["claims"]:
                continue
            lbf = lbf_after[i].copy()
            status = "new claim"
            if claim_id in before_index:
                lbf -= lbf_before[before_index[claim_id]]
                status = "new attestation"
            row: dict[str, Any] = {"claim": claim_id, "status": status}
            row |= {h: float(v) for h, v in zip(after.hypothesis_ids, lbf, strict=True)}
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
        total = _logit(after_table["mean"].to_numpy()) - _logit(before_mean)
        fixed = _logit(
            _fixed_reliability_posterior(self.result.arrays, self._reliability)
        ) - _logit(_fixed_reliability_posterior(self.before_arrays, self._reliability))
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
        header = (
            f"{'hypothesis':<18} {'before':>7} {'94% HDI':>13}    "
            f"{'after':>7} {'94% HDI':>13}  ICD-203"
        )
        lines += [header, "-" * (len(header) + 20)]

        def hdi(low: float, high: float) -> str:
            if np.isnan(low):
                return "—"
            return f"{100 * low:.0f}–{100 * high:.0f} %"

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
        lines += [
            "",
            "Claims that moved it most (log Bayes factor at the posterior-mean reliabilities):",
        ]
        if movers.empty:
            lines.append("  (none)")
        for claim_id, row in movers.head(5).iterrows():
            values = row.drop(["status", "largest"]).astype(float)
            top = values.abs().sort_values(ascending=False).index[:3]
            detail = ", ".join(f"{h} {values[h]:+.2f}" for h in top)
            lines.append(f"  {claim_id:<36} {row.status:<16} {detail}")
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
        return "\n".join(lines)
