"""``forecast history``: the ledger's timeline of updates, as a report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from forecast.report.base import Report
from forecast.spec.layout import Layout
from forecast.store.ledger import Ledger, UpdateRecord

if TYPE_CHECKING:
    import pandas as pd

FIELDS = [
    "update", "time", "model", "file", "sha256", "claims", "attestations",
    "leader_before", "p_before", "leader_after", "p_after", "seed",
]  # fmt: skip


def _leader(summary: dict) -> tuple[str, float]:
    hid = max(summary, key=lambda h: summary[h]["mean"])
    return hid, summary[hid]["mean"]


@dataclass(frozen=True)
class HistoryReport(Report):
    """Every committed update, oldest first."""

    records: tuple[UpdateRecord, ...]

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per update: when, what file, what it added, how the leader moved."""
        rows = []
        for record in self.records:
            before, after = _leader(record.before), _leader(record.after)
            rows.append(
                {
                    "update": record.id,
                    "time": record.time,
                    "model": record.model,
                    "file": record.source_file,
                    "sha256": record.source_sha256,
                    "claims": len(record.items.get("claims", [])),
                    "attestations": len(record.items.get("attestations", [])),
                    "leader_before": before[0],
                    "p_before": round(before[1], 4),
                    "leader_after": after[0],
                    "p_after": round(after[1], 4),
                    "seed": record.seed,
                }
            )
        return rows

    def table(self) -> pd.DataFrame:
        """One row per update, indexed by update number."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=FIELDS).set_index("update")

    def to_dict(self) -> dict[str, Any]:
        """Every update with all it recorded: files, ids, posteriors, hashes, versions."""
        return {"updates": [asdict(r) for r in self.records]}

    def text(self) -> str:
        """The timeline as a table a person reads."""
        rows = self.rows()
        if not rows:
            return "No updates recorded."
        lines = [f"{'#':>3}  {'time (UTC)':<25} {'file':<40} {'+claims':>7} {'+att.':>5}  leader"]
        for row in rows:
            lines.append(
                f"{row['update']:>3}  {row['time']:<25} {row['file'][-40:]:<40} "
                f"{row['claims']:>7} {row['attestations']:>5}  {row['leader_before']} "
                f"{row['p_before']:.3f} -> {row['leader_after']} {row['p_after']:.3f}"
            )
        return "\n".join(lines)


def read_history(layout: Layout) -> HistoryReport:
    """The timeline of updates; a project without a ledger has none (and none is created)."""
    if not layout.ledger.exists():
        return HistoryReport(())
    with Ledger.open(layout) as ledger:
        return HistoryReport(tuple(ledger.updates()))
