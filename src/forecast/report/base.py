"""The one shape every report takes: ``.text()``, ``.table()`` and ``.to_dict()``.

The command line maps ``--format table|csv|json`` onto them with :func:`render`; a notebook
calls them directly. Reports never print.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from forecast.constants import REPORT_FORMATS
from forecast.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd


class Report(ABC):
    """A result to read (``text``), to analyse (``table``) or to store (``to_dict``)."""

    @abstractmethod
    def text(self) -> str:
        """The report as a person reads it on a terminal."""

    @abstractmethod
    def table(self) -> pd.DataFrame:
        """The report's main table, one row per item."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Everything in the report as plain data (JSON-ready)."""


def render(report: Report, fmt: str) -> str:
    """The report in ``fmt``: ``table`` (the text), ``csv`` (the table) or ``json``."""
    if fmt == "table":
        return report.text().rstrip("\n") + "\n"
    if fmt == "csv":
        return report.table().to_csv(float_format="%.6g")
    if fmt == "json":
        return json.dumps(plain(report.to_dict()), indent=2, ensure_ascii=False) + "\n"
    raise UsageError(f"--format: choose {', '.join(REPORT_FORMATS[:-1])} or {REPORT_FORMATS[-1]}")


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars, NaN, dates and paths made JSON-ready (NaN becomes null)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        return plain(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return str(value)
