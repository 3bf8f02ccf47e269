"""Run NUTS on the marginalized model, check diagnostics, cross-check with the exact engine."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from forecast.compat import diagnostics_table, import_pymc, library_settings, mcse_of_mean
from forecast.constants import (
    AGREEMENT_FLOOR,
    AGREEMENT_SIGMAS,
    CHAINS_PER_CORE,
    COLD_COMPILE_SECONDS,
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    DEFAULT_TUNE,
    FIT_METHODS,
    HDI_PROB,
    MAX_CLAIM_TERMS_CELLS,
    MAX_RHAT,
    MIN_ESS_BULK,
    TARGET_ACCEPT,
)
from forecast.errors import FitError
from forecast.model.exact import ExactResult, exact_posterior
from forecast.model.likelihood import (
    EvidenceArrays,
    claim_log_likelihood,
    evidence_arrays,
    hypothesis_log_likelihood,
)
from forecast.progress import Progress, silent
from forecast.spec.schema import Spec

#: PyMC's one-line progress bar (timing only): it fits an 80-column terminal.
PROGRESS_BAR = "combined"


@dataclass(frozen=True)
class FitOptions:
    """Sampler settings; the defaults are the documented ones."""

    draws: int = DEFAULT_DRAWS
    tune: int = DEFAULT_TUNE
    chains: int = DEFAULT_CHAINS
    seed: int = DEFAULT_SEED
    method: str = "nuts"
    progressbar: bool = False
    cores: int | None = None


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of a NUTS fit."""

    max_rhat: float
    min_ess_bulk: float
    divergences: int

    @property
    def ok(self) -> bool:
        """Whether every diagnostic is within its threshold."""
        return (
            self.max_rhat <= MAX_RHAT and self.min_ess_bulk >= MIN_ESS_BULK and not self.divergences
        )

    def problems(self) -> list[str]:
        """One sentence per diagnostic outside its threshold."""
        out = []
        if self.max_rhat > MAX_RHAT:
            out.append(f"max r-hat {self.max_rhat:.3f} > {MAX_RHAT}")
        if self.min_ess_bulk < MIN_ESS_BULK:
            out.append(f"min bulk ESS {self.min_ess_bulk:.0f} < {MIN_ESS_BULK}")
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        return out


@dataclass(frozen=True)
class Agreement:
    """How far the sampled posterior means lie from the exact engine's."""

    max_abs_difference: float
    tolerance: np.ndarray
    difference: np.ndarray
    certified: bool

    @property
    def within(self) -> bool:
        """Whether every hypothesis agrees within AGREEMENT_SIGMAS combined SEs or the floor."""
        return bool(np.all(np.abs(self.difference) <= self.tolerance))


@dataclass(frozen=True)
class FitResult:
    """A fitted model: the InferenceData (None for exact-only fits), exact result, checks."""

    spec: Spec
    arrays: EvidenceArrays
    options: FitOptions
    exact: ExactResult
    idata: Any = None
    diagnostics: Diagnostics | None = None
    agreement: Agreement | None = None

    @property
    def method(self) -> str:
        """``nuts`` or ``exact``."""
        return "nuts" if self.idata is not None else "exact"

    @cached_property
    def draw_log_likelihood(self) -> np.ndarray:
        """log P(E | h, r) for every posterior draw: shape (chains * draws, H)."""
        return hypothesis_log_likelihood(self.arrays, self.reliability_draws)

    @property
    def reliability_draws(self) -> np.ndarray:
        """Posterior draws of the sampled reliabilities, shape (chains * draws, S)."""
        if self.idata is None:
            return np.zeros((0, self.arrays.n_sampled))
        r = self.idata.posterior["reliability"].values
        return r.reshape(-1, r.shape[-1])

    @property
    def posterior_mean_reliability(self) -> np.ndarray:
        """Posterior-mean reliabilities (prior means when nothing was sampled)."""
        if self.idata is None:
            return self.arrays.alpha / (self.arrays.alpha + self.arrays.beta)
        return self.reliability_draws.mean(axis=0)


def _refuse_non_finite(hypothesis_ids: tuple[str, ...], posterior: np.ndarray) -> None:
    """Stop before a NaN or infinite posterior can be reported or published."""
    bad = [h for h, p in zip(hypothesis_ids, posterior, strict=True) if not np.isfinite(p)]
    if bad:
        raise FitError(
            f"the posterior of {', '.join(bad)} is not a finite number; nothing was written "
            "(look for extreme reliabilities or rates in the spec)"
        )


def diagnostics_of(idata: Any) -> Diagnostics:
    """Max r-hat and min bulk ESS over reliabilities and p_H, and the number of divergences."""
    summary = diagnostics_table(idata, ["reliability", "p_H"])
    varying = summary["sd"] > 1e-12
    rhat = summary.loc[varying, "r_hat"]
    ess = summary.loc[varying, "ess_bulk"]
    divergences = int(idata.sample_stats["diverging"].sum())
    max_rhat = float(rhat.max()) if len(rhat) else 1.0
    min_ess = float(ess.min()) if len(ess) else math.inf
    return Diagnostics(max_rhat, min_ess, divergences)


def agreement_of(idata: Any, exact: ExactResult) -> Agreement:
    """Compare posterior means of p_H with the exact engine: AGREEMENT_SIGMAS SEs or the floor."""
    mcse = mcse_of_mean(idata, "p_H")
    sampled = idata.posterior["p_H"].mean(("chain", "draw")).values
    difference = sampled - exact.posterior
    combined = np.sqrt(np.nan_to_num(mcse) ** 2 + np.nan_to_num(exact.standard_error) ** 2)
    tolerance = np.maximum(AGREEMENT_SIGMAS * combined, AGREEMENT_FLOOR)
    return Agreement(float(np.max(np.abs(difference))), tolerance, difference, exact.certified)


def _claim_terms(arrays: EvidenceArrays, idata: Any) -> Any:
    """log P(attestations of c | h, r) as a Dataset: every draw, or the posterior mean if large."""
    import xarray as xr

    r = idata.posterior["reliability"].values
    chains, draws = r.shape[:2]
    cells = chains * draws * len(arrays.unit_ids) * len(arrays.hypothesis_ids)
    coords = {"claim": list(arrays.unit_ids), "hypothesis": list(arrays.hypothesis_ids)}
    if cells <= MAX_CLAIM_TERMS_CELLS:
        values = claim_log_likelihood(arrays, r)
        dims = ["chain", "draw", "claim", "hypothesis"]
        coords |= {"chain": idata.posterior.chain.values, "draw": idata.posterior.draw.values}
        at = "every draw"
    else:
        values = claim_log_likelihood(arrays, r.reshape(-1, r.shape[-1]).mean(0))
        dims = ["claim", "hypothesis"]
        at = "posterior-mean reliabilities"
    data = xr.DataArray(values, dims=dims, coords=coords, name="claim_log_likelihood")
    return xr.Dataset({"claim_log_likelihood": data}, attrs={"evaluated_at": at})


def add_hypothesis_posterior(arrays: EvidenceArrays, idata: Any) -> np.ndarray:
    """Add ``p_H`` = P(H | evidence, r) for every draw to ``idata.posterior``, in place.

    Returns log P(E | h, r) for every draw, shape (chains * draws, H), from which it is made.
    """
    import xarray as xr

    posterior = idata.posterior
    r = posterior["reliability"].values
    log_lik = hypothesis_log_likelihood(arrays, r.reshape(-1, r.shape[-1]))
    log_joint = log_lik + arrays.log_prior
    p = np.exp(log_joint - np.logaddexp.reduce(log_joint, axis=1, keepdims=True))
    coords = {
        "chain": posterior.chain.values,
        "draw": posterior.draw.values,
        "hypothesis": list(arrays.hypothesis_ids),
    }
    posterior["p_H"] = xr.DataArray(p.reshape(*r.shape[:2], -1), coords=coords)
    return log_lik


def _log_density_groups(arrays: EvidenceArrays, idata: Any, log_lik: np.ndarray) -> dict[str, Any]:
    """``log_likelihood`` (log p(E | r) per draw), ``log_prior`` and per-claim terms.

    Computed in NumPy from the same formula the model uses (a test checks them against
    ``pm.compute_log_likelihood`` and ``pm.compute_log_prior``), which avoids compiling two
    more PyTensor functions after sampling.
    """
    import xarray as xr
    from scipy import stats

    posterior = idata.posterior
    r = posterior["reliability"].values
    chains, draws = r.shape[:2]
    evidence = np.logaddexp.reduce(log_lik + arrays.log_prior, axis=1).reshape(chains, draws)
    log_prior = stats.beta(arrays.alpha, arrays.beta).logpdf(r)
    dims = {"chain": posterior.chain.values, "draw": posterior.draw.values}
    source = {"source": list(arrays.sampled_sources)}
    return {
        "log_likelihood": xr.Dataset({"evidence": xr.DataArray(evidence, coords=dims)}),
        "log_prior": xr.Dataset({"reliability": xr.DataArray(log_prior, coords=dims | source)}),
        "claim_log_likelihood": _claim_terms(arrays, idata),
    }


def fit(
    spec: Spec, options: FitOptions = FitOptions(), progress: Progress | None = None
) -> FitResult:
    """Fit the spec: NUTS plus the exact cross-check, or the exact engine alone.

    A model without a sampled reliability has no free parameter; it is always computed by
    the exact engine. ``progress`` is told, in a few words, what is being done.
    """
    say = progress or silent
    arrays = evidence_arrays(spec)
    if options.method not in FIT_METHODS:
        raise FitError(f"unknown method {options.method!r} ({' or '.join(FIT_METHODS)})")
    if options.method == "exact" or arrays.n_sampled == 0:
        say("Computing the exact posterior…")
        exact = exact_posterior(arrays, seed=options.seed)
        _refuse_non_finite(arrays.hypothesis_ids, exact.posterior)
        return FitResult(spec, arrays, options, exact)

    pm = import_pymc()
    from forecast.model.build import build_model

    # All chains at once, up to CHAINS_PER_CORE per core: a chain waits for the main process
    # to take each draw before it goes on, and other chains fill that wait.
    cores = options.cores or min(options.chains, CHAINS_PER_CORE * (os.cpu_count() or 1))
    say(f"Compiling the model (can take about {COLD_COMPILE_SECONDS} s the first time)…")
    started = []

    def on_draw(**_: Any) -> None:
        if not started:
            started.append(True)
            say(f"Sampling {options.chains} chain{'s' * (options.chains != 1)}…")

    with library_settings():
        model = build_model(arrays)
        try:
            with model:
                idata = pm.sample(
                    draws=options.draws,
                    tune=options.tune,
                    chains=options.chains,
                    cores=cores,
                    random_seed=options.seed,
                    target_accept=TARGET_ACCEPT,
                    progressbar=PROGRESS_BAR if options.progressbar else False,
                    compute_convergence_checks=False,
                    callback=on_draw,
                )
        except (RuntimeError, ValueError, FloatingPointError) as exc:
            raise FitError(f"sampling failed: {exc}") from exc
    # PyMC ends sampling early on Ctrl-C and returns the draws it has: never report those.
    got = (idata.posterior.sizes["chain"], idata.posterior.sizes["draw"])
    if got != (options.chains, options.draws):
        raise FitError(
            f"sampling stopped early ({got[0]} chains x {got[1]} draws of {options.chains} x "
            f"{options.draws}); nothing was written"
        )
    log_lik = add_hypothesis_posterior(arrays, idata)
    say("Exact cross-check…")
    exact = exact_posterior(arrays, seed=options.seed)
    idata.posterior.attrs.update(
        {"spec_sha256": spec.sha256, "model": spec.name, "seed": options.seed, "hdi_prob": HDI_PROB}
    )
    _refuse_non_finite(arrays.hypothesis_ids, exact.posterior)
    draws = idata.posterior["p_H"].values.reshape(-1, len(arrays.hypothesis_ids))
    _refuse_non_finite(arrays.hypothesis_ids, draws.mean(axis=0))
    result = FitResult(
        spec,
        arrays,
        options,
        exact,
        idata=idata,
        diagnostics=diagnostics_of(idata),
        agreement=agreement_of(idata, exact),
    )
    result.__dict__["draw_log_likelihood"] = log_lik  # the cached property, already computed
    idata.add_groups(_log_density_groups(arrays, idata, log_lik))
    return result
