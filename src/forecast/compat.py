"""The one door to ArviZ, PyMC and PyTensor: quiet imports and settings scoped to a ``with``.

Every import of these libraries in the package goes through here (a test checks it), so:

- ArviZ 0.23's once-a-day ``FutureWarning`` banner is filtered on every path. Shown under
  ``filterwarnings = error`` it would fail the first import of the day, and the stamp that
  silences it would never be written;
- nothing process-wide is changed for good: a setting the package needs (ArviZ's Numba
  kernels off, quieter library loggers) is set inside :func:`library_settings` and restored
  when the block ends;
- the next ArviZ major version is a change to this one file.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

#: The start of ArviZ's migration banner (``arviz/__init__.py``, 0.23).
ARVIZ_BANNER = "ArviZ is undergoing"
#: PyTensor's warning when it finds no BLAS; the model's arrays are too small to need one.
PYTENSOR_NO_BLAS = "PyTensor could not link to a BLAS"
#: Loggers whose INFO and WARNING chatter is not for the analyst (diagnostics are reported).
_CHATTY_LOGGERS = ("pymc", "pymc.sampling", "arviz", "pytensor")


@contextmanager
def _banner_filtered() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=f"\\s*{ARVIZ_BANNER}", category=FutureWarning)
        yield


def import_arviz() -> Any:
    """Import ArviZ (0.2x API) without its migration banner."""
    with _banner_filtered():
        import arviz

    return arviz


def import_pymc() -> Any:
    """Import PyMC (which imports ArviZ) without ArviZ's migration banner."""
    with _banner_filtered():
        import pymc

    return pymc


def import_pytensor_tensor() -> Any:
    """Import ``pytensor.tensor``, PyMC's array language."""
    import_pymc()
    import pytensor.tensor

    return pytensor.tensor


@contextmanager
def constant_draws_quiet() -> Iterator[None]:
    """Silence ArviZ's divide-by-zero warnings for draws with no spread (a constant p_H).

    Such components are excluded from diagnostics and get a zero Monte Carlo error.
    """
    with warnings.catch_warnings(), _numpy_errors_ignored():
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="arviz")
        yield


@contextmanager
def _numpy_errors_ignored() -> Iterator[None]:
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        yield


@contextmanager
def _numba_kernels_off(arviz: Any) -> Iterator[None]:
    # ArviZ's optional Numba kernels cost a JIT compile in every process; the arrays here are
    # small enough that NumPy is faster end to end.
    previous = arviz.Numba.numba_flag
    arviz.Numba.numba_flag = False
    try:
        yield
    finally:
        arviz.Numba.numba_flag = previous


@contextmanager
def _loggers_at(level: int, loggers: list[logging.Logger]) -> Iterator[None]:
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, previous, strict=True):
            logger.setLevel(old)


@contextmanager
def library_settings() -> Iterator[None]:
    """The settings a fit needs, restored on exit: nothing is left changed for the caller.

    Inside the block ArviZ's Numba kernels are off, the libraries' loggers show only errors,
    and the warnings PyMC and PyTensor give about things the report already covers (or that
    do not apply to a model this small) are not shown.
    """
    arviz = import_arviz()
    with ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message=f"\\s*{ARVIZ_BANNER}", category=FutureWarning)
        warnings.filterwarnings("ignore", message=PYTENSOR_NO_BLAS, category=UserWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module="pymc")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="pymc")
        stack.enter_context(_numba_kernels_off(arviz))
        loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
        # ArviZ 0.23 logs its warnings through its own Logger instance, which logging's
        # registry does not know, so getLogger("arviz") does not reach it.
        own = getattr(arviz, "_log", None)
        if isinstance(own, logging.Logger):
            loggers.append(own)
        stack.enter_context(_loggers_at(logging.ERROR, loggers))
        yield


# --- the ArviZ functions the package uses (0.2x API) ----------------------------------------


def diagnostics_table(idata: Any, var_names: list[str]) -> Any:
    """``az.summary`` diagnostics (r-hat, ESS) and stats (sd) of ``var_names``, side by side."""
    az = import_arviz()
    with library_settings(), constant_draws_quiet():
        diagnostics = az.summary(idata, var_names=var_names, kind="diagnostics")
        stats = az.summary(idata, var_names=var_names, kind="stats")
    return diagnostics.join(stats[["sd"]])


def mcse_of_mean(idata: Any, var_name: str) -> Any:
    """Monte Carlo standard error of the posterior mean of one variable (NumPy array)."""
    az = import_arviz()
    with library_settings(), constant_draws_quiet():
        return az.mcse(idata, var_names=[var_name])[var_name].values


def hdi_of(idata: Any, var_name: str, prob: float) -> Any:
    """Highest-density interval of one variable: array of shape (..., 2)."""
    az = import_arviz()
    with library_settings(), constant_draws_quiet():
        return az.hdi(idata, var_names=[var_name], hdi_prob=prob)[var_name].values
