"""A fresh machine shows no banner, and the library leaves the process as it found it."""

from __future__ import annotations

import ast
import gc
import logging
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import FIXTURES, REPO, copy_project
from forecast.compat import ARVIZ_BANNER, import_arviz, import_pymc

HEAVY = ("arviz", "pymc", "pytensor")


def test_only_compat_imports_arviz_pymc_and_pytensor():
    offenders = []
    for path in sorted((REPO / "src" / "forecast").rglob("*.py")):
        if path.name == "compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offenders += [
                f"{path.relative_to(REPO)}:{node.lineno}: {name}"
                for name in names
                if name.split(".")[0] in HEAVY
            ]
    assert offenders == []


@pytest.mark.slow
def test_sampling_fit_on_a_fresh_machine_shows_no_banner(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    project = copy_project(FIXTURES / "mini", tmp_path / "mini")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTENSOR", "MPL"))}
    env |= {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    command = [sys.executable, "-m", "forecast", "fit", "--draws", "50", "--tune", "50"]
    run = subprocess.run(
        [*command, "--chains", "1"], cwd=project, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert ARVIZ_BANNER not in run.stderr
    # Nothing else either: no warning, no log line (stderr is not a terminal: no progress).
    assert run.stderr == ""
    # The fit really ran in the empty home: PyTensor compiled its cache there.
    assert (home / ".pytensor").is_dir()
    assert (project / "results" / "mini" / "p_H.png").is_file()


def _process_state() -> dict:
    import matplotlib
    import pytensor

    az = import_arviz()
    loggers = {"": logging.getLogger().level}
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            loggers[name] = logger.level
    pytensor_config = {
        name: param.val
        for name, param in pytensor.config._config_var_dict.items()
        if hasattr(param, "val")
    }
    return {
        # The backend as set, read without resolving it (get_backend() would pick one).
        "matplotlib_backend": dict.__getitem__(matplotlib.rcParams, "backend"),
        "matplotlib_rc": {k: str(v) for k, v in matplotlib.rcParams.items() if k != "backend"},
        "pyplot_figures": len(sys.modules["matplotlib.pyplot"].get_fignums()),
        "arviz_rc": {k: str(v) for k, v in az.rcParams.items()},
        "arviz_numba": az.Numba.numba_flag,
        "arviz_own_logger": az._log.level,
        "pytensor_config": pytensor_config,
        "loggers": loggers,
        "warnings_filters": list(warnings.filters),
        "numpy_errors": np.geterr(),
        "cycle_collector": gc.isenabled(),
    }


@pytest.mark.slow
def test_fit_and_plots_leave_process_wide_state_unchanged(mini_project, tmp_path):
    import matplotlib

    from forecast.model.sample import FitOptions, fit
    from forecast.spec.layout import Layout
    from forecast.spec.rules import load_spec
    from forecast.store.results import write_results

    import_pymc()
    import matplotlib.pyplot  # what a notebook has loaded

    previous_backend = dict.__getitem__(matplotlib.rcParams, "backend")
    matplotlib.use("svg")
    logging.getLogger("pymc").setLevel(logging.DEBUG)
    try:
        before = _process_state()
        result = fit(
            load_spec(mini_project / "models/mini.yaml"),
            FitOptions(draws=50, tune=50, chains=2, cores=1),
        )
        write_results(result, Layout(tmp_path), plots=True)
        after = _process_state()
    finally:
        logging.getLogger("pymc").setLevel(logging.NOTSET)
        matplotlib.use(previous_backend)
    assert (tmp_path / "results" / "mini" / "reliability.png").is_file()
    new_loggers = set(after["loggers"]) - set(before["loggers"])
    assert {name: after["loggers"][name] for name in new_loggers} == dict.fromkeys(
        new_loggers, logging.NOTSET
    )
    after["loggers"] = {k: v for k, v in after["loggers"].items() if k in before["loggers"]}
    # A lazily computed PyTensor default that the fit first read is not a change of setting.
    after["pytensor_config"] = {
        k: v for k, v in after["pytensor_config"].items() if k in before["pytensor_config"]
    }
    for key in before:
        assert after[key] == before[key], key
