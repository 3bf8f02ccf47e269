"""``forecast history``: the ledger's timeline as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

from forecast.ledger import LEDGER_NAME, Ledger, UpdateRecord

FIELDS = [
    "update", "time", "model", "file", "sha256", "claims", "attestations",
    "leader_before", "p_before", "leader_after", "p_after", "seed",
]  # fmt: skip


def _leader(summary: dict) -> tuple[str, float]:
    hid = max(summary, key=lambda h: summary[h]["mean"])
    return hid, summary[hid]["mean"]


def history_rows(records: list[UpdateRecord]) -> list[dict]:
    """One flat row per update: when, what file, what it added, how the leader moved."""
    rows = []
    for record in records:
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


def render_history(root: Path, fmt: str) -> str:
    """The timeline of updates in ``fmt`` (table, csv or json); no ledger means no updates."""
    records: list[UpdateRecord] = []
    if (root / LEDGER_NAME).exists():
        with Ledger.open(root) as ledger:
            records = ledger.updates()
    if fmt == "json":
        return json.dumps([asdict(r) for r in records], indent=2) + "\n"
    rows = history_rows(records)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if not rows:
        return "No updates recorded.\n"
    lines = [f"{'#':>3}  {'time (UTC)':<25} {'file':<40} {'+claims':>7} {'+att.':>5}  leader"]
    for row in rows:
        lines.append(
            f"{row['update']:>3}  {row['time']:<25} {row['file'][-40:]:<40} {row['claims']:>7} "
            f"{row['attestations']:>5}  {row['leader_before']} {row['p_before']:.3f} -> "
            f"{row['leader_after']} {row['p_after']:.3f}"
        )
    return "\n".join(lines) + "\n"
