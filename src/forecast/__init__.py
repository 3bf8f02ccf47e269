"""Rival hypotheses, quote-verified evidence and Bayesian posteriors for political events.

Open a project folder and call its methods; each returns a report with ``.text()``,
``.table()`` and ``.to_dict()``, or raises one of the errors below::

    >>> from forecast import Project
    >>> project = Project.open("tests/fixtures/mini")
    >>> project.check().text().splitlines()[-1].startswith("OK: mini passes every check")
    True
"""

from forecast.api import Project
from forecast.errors import (
    DiagnosticsError,
    EvidenceError,
    FitError,
    ForecastError,
    Interrupted,
    LedgerError,
    Problem,
    ResultsError,
    SpecError,
    UnsafePathError,
    UsageError,
)

__all__ = [
    "DiagnosticsError",
    "EvidenceError",
    "FitError",
    "ForecastError",
    "Interrupted",
    "LedgerError",
    "Problem",
    "Project",
    "ResultsError",
    "SpecError",
    "UnsafePathError",
    "UsageError",
]
