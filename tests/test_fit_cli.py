"""`forecast fit`: output files, atomic publication, strict diagnostics, exact-only models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import edit, fix_reliabilities, tree_hash
from forecast.compat import import_arviz, import_pymc
from forecast.model.sample import FitOptions, fit
from forecast.spec.rules import load_spec

SMALL = ["--draws", "300", "--tune", "300", "--chains", "2", "--no-plots"]


@pytest.mark.slow
def test_fit_writes_results_that_arviz_reads(mini_project, cli):
    result = cli("fit", *SMALL)
    assert result.exit_code == 0, result.stderr
    out = mini_project / "results" / "mini"
    assert {p.name for p in out.iterdir()} == {
        "posterior.nc",
        "summary.csv",
        "sources.csv",
        "claims.csv",
        "summary.json",
        "report.txt",
        "sensitivity.csv",
    }
    az = import_arviz()
    idata = az.from_netcdf(out / "posterior.nc")
    assert {
        "posterior",
        "log_likelihood",
        "log_prior",
        "sample_stats",
        "claim_log_likelihood",
    } <= set(idata.groups())
    assert list(idata.log_likelihood.data_vars) == ["evidence"]
    assert set(idata.posterior.data_vars) == {"p_H", "reliability"}
    assert list(idata.posterior.p_H.hypothesis.values) == ["storm", "strike", "other"]
    assert (
        idata.posterior.attrs["spec_sha256"] == load_spec(mini_project / "models/mini.yaml").sha256
    )
    terms = idata.claim_log_likelihood.claim_log_likelihood
    assert terms.dims == ("chain", "draw", "claim", "hypothesis")
    summary = pd.read_csv(out / "summary.csv", index_col="hypothesis")
    for column in ["mean", "sd", "hdi_low", "hdi_high", "word", "uniform_prior_mean", "exact"]:
        assert column in summary.columns
    assert np.all(summary.hdi_low <= summary["mean"]) and np.all(
        summary["mean"] <= summary.hdi_high
    )
    data = json.loads((out / "summary.json").read_text())
    assert data["agreement"]["within_tolerance"] is True
    assert data["diagnostics"]["divergences"] == 0
    assert {s["source"] for s in data["sources"]} == {
        "correspondent",
        "officials",
        "dockers",
        "wire",
        "port-authority",
        "duty-officer",
        "spokesperson",
    }
    assert "Exact cross-check" in result.stdout and "94% HDI" in result.stdout


@pytest.mark.slow
def test_fit_writes_briefing_plots(mini_project, cli):
    result = cli("fit", "--draws", "100", "--tune", "100", "--chains", "2")
    assert result.exit_code == 0, result.stderr
    out = mini_project / "results" / "mini"
    for name in ("p_H.png", "reliability.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_failed_fit_leaves_previous_results_untouched(mini_project, cli, monkeypatch):
    assert cli("fit", *SMALL).exit_code == 0
    before = tree_hash(mini_project / "results")

    import forecast.store.results

    real_write = forecast.store.results._write_run

    def crash(report, run_dir, *, plots):
        (run_dir / "summary.csv").write_text("partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(forecast.store.results, "_write_run", crash)
    result = cli("fit", *SMALL, "--seed", "2")
    assert result.exit_code == 130
    assert tree_hash(mini_project / "results") == before
    monkeypatch.setattr(forecast.store.results, "_write_run", real_write)


@pytest.mark.slow
def test_strict_fit_with_poor_diagnostics_exits_3_and_writes_nothing(mini_project, cli):
    result = cli("fit", "--draws", "8", "--tune", "2", "--chains", "2", "--strict", "--no-plots")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: diagnostics outside thresholds (")
    assert result.stderr.rstrip().endswith("results not written")
    assert not (mini_project / "results").exists()


@pytest.mark.slow
def test_fit_with_poor_diagnostics_warns_visibly(mini_project, cli):
    result = cli("fit", "--draws", "8", "--tune", "2", "--chains", "2", "--no-plots")
    assert result.exit_code == 0
    assert "WARNING: " in result.stdout and "min bulk ESS" in result.stdout


def test_fit_rejects_bad_spec_before_writing(mini_project, cli):
    edit(mini_project / "models/mini.yaml", "    prior: 0.2\n", "    prior: 0.25\n")
    before = tree_hash(mini_project)
    result = cli("fit", *SMALL)
    assert result.exit_code == 2
    assert result.stderr == "models/mini.yaml:5: hypotheses: priors sum to 1.05, not 1\n"
    assert tree_hash(mini_project) == before


def test_model_with_no_free_parameter_uses_exact_engine(mini_project, cli):
    fix_reliabilities(mini_project)
    result = cli("fit", "--no-plots")
    assert result.exit_code == 0, result.stderr
    assert (
        "Method: exact engine (every reliability is fixed: the model has no free parameter)."
        in result.stdout
    )
    assert not (mini_project / "results/mini/posterior.nc").exists()
    summary = pd.read_csv(mini_project / "results/mini/summary.csv", index_col="hypothesis")
    np.testing.assert_allclose(summary["sd"], 0.0)
    np.testing.assert_allclose(summary["mean"], summary["exact"])


def test_exact_method_reports_without_sampling(mini_project, cli):
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    assert "Method: exact engine only (closed form + quadrature); no draws." in result.stdout


@pytest.mark.slow
def test_log_density_groups_match_pymc(mini_project):
    pm = import_pymc()
    from forecast.model.build import build_model

    result = fit(
        load_spec(mini_project / "models/mini.yaml"),
        FitOptions(draws=50, tune=50, chains=2, cores=1),
    )
    model = build_model(result.arrays)
    idata = result.idata
    expected_lik = pm.compute_log_likelihood(
        idata.copy(), model=model, extend_inferencedata=False, progressbar=False
    )
    np.testing.assert_allclose(
        idata.log_likelihood["evidence"].values, expected_lik["evidence"].values, rtol=1e-10
    )
    expected_prior = pm.compute_log_prior(
        idata.copy(), model=model, extend_inferencedata=False, progressbar=False
    )
    np.testing.assert_allclose(
        idata.log_prior["reliability"].values, expected_prior["reliability"].values, rtol=1e-10
    )
    # p_H is P(H | E, r): softmax of log prior plus the per-claim terms summed over claims.
    terms = (
        result.arrays.log_prior
        + idata.claim_log_likelihood.claim_log_likelihood.sum("claim").values
    )
    p = np.exp(terms - np.logaddexp.reduce(terms, axis=-1, keepdims=True))
    np.testing.assert_allclose(idata.posterior["p_H"].values, p, rtol=1e-10)


@pytest.mark.parametrize("dense_cells", [100_000, 0], ids=["dense sums", "scatter sums"])
@pytest.mark.parametrize(
    "model", ["tests/fixtures/mini/models/mini.yaml", "models/azerbaijan-2025.yaml"]
)
def test_sampled_graph_matches_numpy_for_every_hypothesis(model, dense_cells):
    # NUTS follows the PyTensor graph and its gradient; p_H, the exact engine and the reports
    # use NumPy. Both must give the same log P(E | h, r) for every hypothesis, with
    # organisations and facts, whichever way the graph sums into claims and facts.
    import pytensor

    from conftest import REPO
    from forecast.compat import import_pytensor_tensor
    from forecast.model.build import hypothesis_log_likelihood_graph
    from forecast.model.likelihood import evidence_arrays, hypothesis_log_likelihood

    pt = import_pytensor_tensor()
    arrays = evidence_arrays(load_spec(REPO / model))
    assert arrays.fact_ids and arrays.n_sampled
    r = pt.vector("r")
    log_lik = hypothesis_log_likelihood_graph(arrays, r, dense_cells=dense_cells)
    weights = np.linspace(1.0, 2.0, len(arrays.hypothesis_ids))
    graph = pytensor.function([r], [log_lik, pytensor.grad((log_lik * weights).sum(), r)])
    draws = np.random.default_rng(3).beta(2.0, 2.0, size=(20, arrays.n_sampled))
    expected = hypothesis_log_likelihood(arrays, draws)
    values = [graph(d) for d in draws]
    np.testing.assert_allclose([v[0] for v in values], expected, rtol=1e-10, atol=1e-10)
    step = 1e-6 * np.eye(arrays.n_sampled)
    for draw, (_, gradient) in zip(draws[:3], values[:3], strict=True):
        ahead = hypothesis_log_likelihood(arrays, draw + step) @ weights
        behind = hypothesis_log_likelihood(arrays, draw - step) @ weights
        np.testing.assert_allclose(gradient, (ahead - behind) / 2e-6, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_psens_runs_on_saved_posterior(mini_project, cli):
    assert cli("fit", *SMALL).exit_code == 0
    az = import_arviz()
    idata = az.from_netcdf(mini_project / "results/mini/posterior.nc")
    sensitivity = az.psens(idata, component="prior")
    assert np.all(np.isfinite(sensitivity["p_H"].values))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_gives_identical_draws(mini_project, seed):
    spec = load_spec(mini_project / "models/mini.yaml")
    one = fit(spec, FitOptions(draws=100, tune=100, chains=2, cores=1, seed=seed))
    two = fit(spec, FitOptions(draws=100, tune=100, chains=2, cores=2, seed=seed))
    np.testing.assert_array_equal(
        one.idata.posterior["reliability"].values, two.idata.posterior["reliability"].values
    )
