"""Typed errors; each carries where it happened so the CLI can print one line per problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one place: ``path:line: field: message``."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


#: The ledger's file name, as messages show it (the layout module owns the project's layout).
LEDGER_FILE = "ledger.sqlite"


class ForecastError(Exception):
    """Base class of every error the library raises on purpose."""


class SpecError(ForecastError):
    """The model or evidence spec is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(ForecastError):
    """The command was asked for something that cannot be: no project here, an unknown model."""


class EvidenceError(SpecError):
    """A new evidence file is invalid against the current model."""


class FitError(ForecastError):
    """Sampling failed or produced results that cannot be reported."""


class DiagnosticsError(FitError):
    """Diagnostics are outside their thresholds and strict mode is on; nothing was written.

    ``report`` is the fit's report, so the caller can still show what was found.
    """

    def __init__(self, message: str, report: Any = None):
        self.report = report
        super().__init__(message)


class LedgerError(ForecastError):
    """The ledger is unreadable, locked, or inconsistent with the files it records."""

    def __init__(self, path: Path | str, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


class UnsafePathError(LedgerError):
    """A stored path names something outside the folders forecast manages; nothing was done."""

    def __init__(self, where: str, path: str, why: str):
        self.where = where
        super().__init__(
            LEDGER_FILE,
            f"{where}: {path!r} {why}; refused, nothing was changed. Inspect the row with: "
            f'sqlite3 {LEDGER_FILE} "SELECT * FROM journal; SELECT * FROM events"',
        )


class Interrupted(KeyboardInterrupt):
    """An interrupt (Ctrl-C) that was handled; ``message`` says what is true afterwards."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class ResultsError(ForecastError):
    """Saved results are missing or do not belong to the current spec."""
